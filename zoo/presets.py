"""The built-in presets: plain data, one entry per architecture.

Each preset names a backbone class and its settings; the vocabulary is
learned from the training data when the preset is loaded. Parameter counts
depend on the vocabulary sizes, so `zoo presets` computes them for a given
size (`--vocabulary-size`, 5,000 by default) instead of storing numbers that
could go stale; the README's table is its output.

Which decoders run in parallel over the target during training (the fast
path) and which step through it: no attention and Luong without input
feeding run in parallel; Luong with input feeding and Bahdanau attend inside
the recurrence and run a compiled step loop (see `RecurrentDecoder`).
"""

import difflib

# tokenizer: "word", "wordpiece" or "character" (see `zoo.tokenizers`).
_VOCABULARY = {
    "tokenizer": "word",
    "shared_vocabulary": False,
    "max_size": 8000,
    "min_frequency": 1,
    "lowercase": True,
}
_LENGTHS = {"max_source_length": 100, "max_target_length": 100}
# What `zoo train` uses unless told otherwise (see `training.train.TrainConfig`).
_RECURRENT_TRAINING = {"learning_rate": 1e-3, "schedule": "cosine", "warmup_steps": 0, "label_smoothing": 0.0}
_TRANSFORMER_TRAINING = {
    "learning_rate": 1e-3,
    "schedule": "cosine",
    "warmup_steps": 400,
    "label_smoothing": 0.1,
}


def _recurrent(
    cell_type,
    attention=None,
    attention_score=None,
    bidirectional=False,
    input_feeding=False,
    hidden_dim=256,
    embedding_dim=128,
    dropout=0.1,
):
    return {
        "class_name": "RecurrentSeq2Seq",
        "config": {
            "cell_type": cell_type,
            "embedding_dim": embedding_dim,
            "hidden_dim": hidden_dim,
            "num_layers": 1,
            "dropout": dropout,
            "bidirectional": bidirectional,
            "merge_mode": "concat",
            "residual": False,
            "attention": attention,
            "attention_score": attention_score,
            "input_feeding": input_feeding,
            "output_norm": True,
        },
    }


def _transformer(num_layers=3, hidden_dim=256, num_heads=4, intermediate_dim=1024, dropout=0.1):
    return {
        "class_name": "TransformerSeq2Seq",
        "config": {
            "num_layers": num_layers,
            "hidden_dim": hidden_dim,
            "num_heads": num_heads,
            "intermediate_dim": intermediate_dim,
            "dropout": dropout,
            "position_embedding": "sinusoidal",
            "max_sequence_length": 512,
            "normalize_first": True,
        },
    }


_SMALL = {"hidden_dim": 64, "embedding_dim": 32, "dropout": 0.0}

PRESETS = {
    # --- A fixed context vector: the encoder's final state is all the decoder sees.
    "rnn_seq2seq": {
        "description": "Simple RNN encoder-decoder without attention.",
        "backbone": _recurrent("rnn"),
    },
    "lstm_seq2seq": {
        "description": "LSTM encoder-decoder without attention (Sutskever et al. 2014).",
        "backbone": _recurrent("lstm"),
    },
    "gru_seq2seq": {
        "description": "GRU encoder-decoder without attention (Cho et al. 2014).",
        "backbone": _recurrent("gru"),
    },
    "gru_seq2seq_small": {
        "description": "A small gru_seq2seq (64 units) for quick experiments.",
        "backbone": _recurrent("gru", **_SMALL),
    },
    # --- Luong global attention after the recurrence; parallel in training.
    "gru_luong": {
        "description": "GRU with Luong attention after the recurrence (attention_score: dot, general, concat).",
        "backbone": _recurrent("gru", "luong", "dot"),
    },
    "lstm_luong": {
        "description": "LSTM with Luong attention after the recurrence (attention_score: dot, general, concat).",
        "backbone": _recurrent("lstm", "luong", "dot"),
    },
    "lstm_luong_input_feeding": {
        "description": "LSTM with Luong general attention and input feeding (Luong et al. 2015); step-wise.",
        "backbone": _recurrent("lstm", "luong", "general", input_feeding=True),
    },
    "gru_luong_small": {
        "description": "A small gru_luong (64 units) for quick experiments.",
        "backbone": _recurrent("gru", "luong", "dot", **_SMALL),
    },
    # --- Bahdanau attention inside the recurrence, bidirectional encoder: RNNsearch.
    "gru_bahdanau": {
        "description": "RNNsearch (Bahdanau et al. 2014): bidirectional GRU encoder, additive attention.",
        "backbone": _recurrent("gru", "bahdanau", "additive", bidirectional=True),
    },
    "lstm_bahdanau": {
        "description": "RNNsearch with LSTMs: bidirectional LSTM encoder, additive attention.",
        "backbone": _recurrent("lstm", "bahdanau", "additive", bidirectional=True),
    },
    "gru_bahdanau_small": {
        "description": "A small gru_bahdanau (64 units) for quick experiments.",
        "backbone": _recurrent("gru", "bahdanau", "additive", bidirectional=True, **_SMALL),
    },
    # --- Attention only.
    "transformer": {
        "description": "Transformer (Vaswani et al. 2017): 3+3 pre-norm blocks, 256 wide, 4 heads.",
        "backbone": _transformer(),
    },
    "transformer_small": {
        "description": "A small transformer (2+2 blocks, 64 wide, 2 heads) for quick experiments.",
        "backbone": _transformer(num_layers=2, hidden_dim=64, num_heads=2, intermediate_dim=128, dropout=0.0),
    },
}
# The training settings of each backbone family, also for saved presets trained on.
TRAINING_DEFAULTS = {"RecurrentSeq2Seq": _RECURRENT_TRAINING, "TransformerSeq2Seq": _TRANSFORMER_TRAINING}
for _preset in PRESETS.values():
    _preset.setdefault("training", dict(TRAINING_DEFAULTS[_preset["backbone"]["class_name"]]))
    _preset.setdefault("vocabulary", dict(_VOCABULARY))
    _preset.setdefault("preprocessor", dict(_LENGTHS))


def get_preset(name: str) -> dict:
    """The preset dict for `name`; `ValueError` listing the valid names otherwise."""
    if name not in PRESETS:
        close = difflib.get_close_matches(str(name), PRESETS, n=1)
        raise ValueError(
            f"Unknown preset: {name!r}.{f' Did you mean {close[0]!r}?' if close else ''} Expected one of "
            f"{', '.join(sorted(PRESETS))}, or the path of a saved preset directory."
        )
    return PRESETS[name]
