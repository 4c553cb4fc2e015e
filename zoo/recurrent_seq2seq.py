"""Recurrent encoder-decoder backbone: token ids in, logits out."""

import keras
from keras import ops

from keras_attention import RecurrentDecoder, RecurrentEncoder
from keras_attention.annotations import Tensor
from keras_attention.checks import check_bool, check_dropout, check_int
from zoo.api_export import zoo_export
from zoo.seq2seq_backbone import Seq2SeqBackbone

# With layer norm before it, the vocabulary projection's kernel starts with
# standard deviation INITIAL_LOGIT_SCALE / sqrt(hidden_dim): unit-variance
# features would give logits of standard deviation INITIAL_LOGIT_SCALE, for
# any vocabulary size (see `output_norm`).
INITIAL_LOGIT_SCALE = 0.3


@zoo_export("RecurrentSeq2Seq")
class RecurrentSeq2Seq(Seq2SeqBackbone):
    """An RNN/LSTM/GRU encoder-decoder, with or without attention.

    A functional model inside a subclass (the KerasHub backbone layout). The
    encoder's final states (both directions merged when bidirectional)
    initialize the decoder layer by layer; with `attention=None` they are the
    only context the decoder gets (a fixed context vector), otherwise the
    decoder also attends over every encoder output (see `RecurrentDecoder`
    for where each attention sits and which run in parallel).

    Args:
        source_vocabulary_size: int, rows of the source embedding.
        target_vocabulary_size: int, rows of the target embedding and width
            of the output logits.
        cell_type: `"rnn"`, `"lstm"` or `"gru"`.
        embedding_dim: int, size of both embeddings.
        hidden_dim: int, hidden size of every recurrent layer.
        num_layers: int, layers in the encoder and in the decoder.
        dropout: float in `[0, 1)`, on embeddings and between layers.
        bidirectional: bool, whether the encoder reads both ways.
        merge_mode: `"concat"` or `"sum"`, how a bidirectional encoder
            merges its directions (see `RecurrentEncoder`).
        residual: bool, residual connections between stacked layers.
        attention: `None`, `"luong"`, `"bahdanau"` or `"scaled_dot_product"`.
        attention_score: the attention's score function (Luong: `"dot"`,
            `"general"`, `"concat"`; Bahdanau: `"additive"`, `"normalized"`).
        input_feeding: bool, Luong's input feeding.
        output_norm: bool, layer normalization of the decoder's output
            before the vocabulary projection. A recurrent or `tanh` output
            starts small, so without it the logits start near the bias and
            training is slow to leave the unigram plateau: at the
            TensorFlow tutorial's size it halves the loss after 400 steps
            (see `training/benchmarks/NOTES.md`). The presets turn it on.
            The projection then reads normalized features, and its kernel
            starts with standard deviation
            `INITIAL_LOGIT_SCALE / sqrt(hidden_dim)`, so the initial logits
            have one scale whatever the vocabulary size. Keras' Glorot
            default ties that scale to the vocabulary (4.4 times larger with
            20 symbols than with 5,000 at `hidden_dim=256`), and at the larger
            scale, copying up to 60 symbols took about 3 times the steps to
            find its alignment.

    Inputs (a dict):
        encoder_token_ids: int `(batch_size, Ts)`, 0 is padding.
        decoder_token_ids: int `(batch_size, Tt)`, `[START]` first.

    Returns:
        logits `(batch_size, Tt, target_vocabulary_size)`.
    """

    def __init__(
        self,
        source_vocabulary_size,
        target_vocabulary_size,
        cell_type="gru",
        embedding_dim=128,
        hidden_dim=256,
        num_layers=1,
        dropout=0.0,
        bidirectional=False,
        merge_mode="concat",
        residual=False,
        attention=None,
        attention_score=None,
        input_feeding=False,
        output_norm=False,
        dtype=None,
        **kwargs,
    ):
        kwargs.setdefault("name", "recurrent_seq2seq")
        self.check_keras_arguments(kwargs)
        for name, value in (
            ("source_vocabulary_size", source_vocabulary_size),
            ("target_vocabulary_size", target_vocabulary_size),
            ("embedding_dim", embedding_dim),
            ("hidden_dim", hidden_dim),
            ("num_layers", num_layers),
        ):
            check_int(name, value, 1)
        for name, value in (
            ("bidirectional", bidirectional),
            ("residual", residual),
            ("input_feeding", input_feeding),
            ("output_norm", output_norm),
        ):
            check_bool(name, value)
        check_dropout(dropout)
        # === Layers ===
        self.source_embedding = keras.layers.Embedding(
            source_vocabulary_size, embedding_dim, dtype=dtype, name="source_embedding"
        )
        self.target_embedding = keras.layers.Embedding(
            target_vocabulary_size, embedding_dim, dtype=dtype, name="target_embedding"
        )
        self.embedding_dropout = keras.layers.Dropout(dropout, dtype=dtype, name="embedding_dropout")
        self.encoder = RecurrentEncoder(
            cell_type,
            hidden_dim,
            num_layers,
            dropout,
            bidirectional=bidirectional,
            merge_mode=merge_mode,
            residual=residual,
            dtype=dtype,
            name="encoder",
        )
        self.decoder = RecurrentDecoder(
            cell_type,
            hidden_dim,
            num_layers,
            dropout,
            residual=residual,
            attention=attention,
            attention_score=attention_score,
            input_feeding=input_feeding,
            dtype=dtype,
            name="decoder",
        )
        self.output_norm_layer = (
            keras.layers.LayerNormalization(dtype=dtype, name="output_norm") if output_norm else None
        )
        self.output_projection = keras.layers.Dense(
            target_vocabulary_size,
            kernel_initializer=(
                keras.initializers.VarianceScaling(INITIAL_LOGIT_SCALE**2, mode="fan_in")
                if output_norm
                else "glorot_uniform"
            ),
            dtype=dtype,
            name="output_projection",
        )

        # === Functional Model ===
        encoder_token_ids = keras.Input(shape=(None,), dtype="int32", name="encoder_token_ids")
        decoder_token_ids = keras.Input(shape=(None,), dtype="int32", name="decoder_token_ids")
        encoder_padding_mask = ops.not_equal(encoder_token_ids, 0)
        x = self.embedding_dropout(self.source_embedding(encoder_token_ids))
        memory, states = self.encoder(x, mask=encoder_padding_mask)
        y = self.embedding_dropout(self.target_embedding(decoder_token_ids))
        y, _ = self.decoder(y, initial_state=states, memory=memory, memory_mask=encoder_padding_mask)
        logits = self._logits(y)
        super().__init__(
            inputs={
                "encoder_token_ids": encoder_token_ids,
                "decoder_token_ids": decoder_token_ids,
            },
            outputs=logits,
            dtype=dtype,
            **kwargs,
        )

        # === Config ===
        self.source_vocabulary_size = source_vocabulary_size
        self.target_vocabulary_size = target_vocabulary_size
        self.cell_type = cell_type
        self.embedding_dim = embedding_dim
        self.hidden_dim = hidden_dim
        self.num_layers = num_layers
        self.dropout = dropout
        self.bidirectional = bidirectional
        self.merge_mode = merge_mode
        self.residual = residual
        self.attention = attention
        self.attention_score = self.decoder.attention_score  # the default resolved
        self.input_feeding = input_feeding
        self.output_norm = output_norm

    @property
    def has_attention(self):
        return self.attention is not None

    def encode(self, encoder_token_ids: Tensor, max_length: int | Tensor | None = None) -> dict:
        """Run the encoder once and return the decoding cache.

        Args:
            encoder_token_ids: int `(batch_size, Ts)`, 0 is padding.
            max_length: unused; an RNN's cache does not grow with the output.

        Returns:
            The cache for `next`: a dict with the decoder `states` (one list
            per layer), the last `output` `(batch_size, hidden_dim)` (for
            input feeding), the last step's `attention` `(batch_size, Ts)`,
            and with attention a `source` dict: the encoder outputs
            `memory`, their `memory_keys` (projected once here, not at
            every step) and `memory_mask` `(batch_size, Ts)`.
        """
        del max_length
        mask = ops.not_equal(encoder_token_ids, 0)
        # Packed: a batch of sentences in any order costs its real tokens,
        # not its longest sentence times its size.
        memory, states = self.encoder(self.source_embedding(encoder_token_ids), mask=mask, packed=True)
        batch_size = ops.shape(encoder_token_ids)[0]
        cache = {
            "states": states,
            "output": ops.zeros((batch_size, self.hidden_dim), dtype=memory.dtype),
            "attention": ops.zeros(ops.shape(mask), dtype=memory.dtype),
        }
        if self.attention is not None:
            cache["source"] = {
                "memory": memory,
                "memory_keys": self.decoder.project_memory(memory),
                "memory_mask": mask,
            }
        return cache

    def next(self, tokens: Tensor, cache: dict, step: int | Tensor) -> tuple[Tensor, dict]:
        """One decoding step: the interface every generation strategy drives.

        Args:
            tokens: int `(batch_size,)`, the previous output token.
            cache: the structure `encode` returned (or the last `next` did).
            step: int scalar, the position being generated (unused by an RNN,
                which keeps its position in its state).

        Returns:
            `(logits, cache)`: logits `(batch_size, target_vocabulary_size)`
            and the updated cache, whose `attention` holds this step's
            weights over the source (zeros without attention).
        """
        del step
        x = self.target_embedding(tokens)  # (batch, embedding_dim)
        source = cache.get("source", {})
        output, states, weights = self.decoder.step(
            x,
            cache["states"],
            cache["output"],
            source.get("memory"),
            source.get("memory_keys"),
            source.get("memory_mask"),
        )
        cache = dict(cache, states=states, output=output)
        if weights is not None:
            cache["attention"] = weights
        return self._logits(output), cache

    def _logits(self, outputs):
        if self.output_norm_layer is not None:
            outputs = self.output_norm_layer(outputs)
        return self.output_projection(outputs)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "cell_type": self.cell_type,
                "embedding_dim": self.embedding_dim,
                "hidden_dim": self.hidden_dim,
                "num_layers": self.num_layers,
                "dropout": self.dropout,
                "bidirectional": self.bidirectional,
                "merge_mode": self.merge_mode,
                "residual": self.residual,
                "attention": self.attention,
                "attention_score": self.attention_score,
                "input_feeding": self.input_feeding,
                "output_norm": self.output_norm,
            }
        )
        return config
