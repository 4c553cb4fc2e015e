"""The built-in presets: plain data, one entry per architecture.

Each preset names a backbone class and its settings; the vocabulary is
learned from the training data when the preset is loaded. Parameter counts
depend on the vocabulary sizes, so `zoo presets` computes them for a given
size instead of storing numbers that could go stale.

Every decoder here attends in parallel over the whole target during
training (Luong global attention without input feeding), the fast path;
step-wise attention (Bahdanau, input feeding) comes with those presets.
"""

_VOCABULARY = {"max_size": 8000, "min_frequency": 1}
_LENGTHS = {"max_source_length": 100, "max_target_length": 100}


def _recurrent(cell_type, attention, hidden_dim=256, embedding_dim=128, dropout=0.1):
    return {
        "class_name": "RecurrentSeq2Seq",
        "config": {
            "cell_type": cell_type,
            "embedding_dim": embedding_dim,
            "hidden_dim": hidden_dim,
            "num_layers": 1,
            "dropout": dropout,
            "attention": attention,
            "attention_score": "dot",
        },
    }


PRESETS = {
    "rnn_seq2seq": {
        "description": "Simple RNN encoder-decoder, no attention: the final encoder state is the only context.",
        "backbone": _recurrent("rnn", None),
    },
    "lstm_seq2seq": {
        "description": "LSTM encoder-decoder, no attention (Sutskever et al. 2014): a fixed context vector.",
        "backbone": _recurrent("lstm", None),
    },
    "gru_seq2seq": {
        "description": "GRU encoder-decoder, no attention (Cho et al. 2014): a fixed context vector.",
        "backbone": _recurrent("gru", None),
    },
    "gru_luong": {
        "description": "GRU encoder-decoder with Luong dot attention over all encoder outputs.",
        "backbone": _recurrent("gru", "luong"),
    },
    "lstm_luong": {
        "description": "LSTM encoder-decoder with Luong dot attention over all encoder outputs.",
        "backbone": _recurrent("lstm", "luong"),
    },
    "gru_luong_small": {
        "description": "A small gru_luong (64 units) for quick experiments and tests.",
        "backbone": _recurrent("gru", "luong", hidden_dim=64, embedding_dim=32, dropout=0.0),
    },
}
for _preset in PRESETS.values():
    _preset.setdefault("vocabulary", dict(_VOCABULARY))
    _preset.setdefault("preprocessor", dict(_LENGTHS))


def get_preset(name):
    """The preset dict for `name`; `ValueError` listing the valid names otherwise."""
    if name not in PRESETS:
        raise ValueError(
            f"Unknown preset: {name!r}. Expected one of {', '.join(sorted(PRESETS))}, "
            "or the path of a saved preset directory."
        )
    return PRESETS[name]
