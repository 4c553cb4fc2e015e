"""Recurrent encoder-decoder backbone: token ids in, logits out."""

import keras
from keras import ops

from keras_attention import RecurrentDecoder, RecurrentEncoder
from zoo.api_export import zoo_export


@zoo_export("RecurrentSeq2Seq")
class RecurrentSeq2Seq(keras.Model):
    """An RNN/LSTM/GRU encoder-decoder, with or without attention.

    A functional model inside a subclass (the KerasHub backbone layout). The
    encoder's final states initialize the decoder layer by layer; with
    `attention=None` they are the only context the decoder gets (a fixed
    context vector), with `attention="luong"` the decoder also attends over
    every encoder output.

    Args:
        source_vocabulary_size: int, rows of the source embedding.
        target_vocabulary_size: int, rows of the target embedding and width
            of the output logits.
        cell_type: `"rnn"`, `"lstm"` or `"gru"`.
        embedding_dim: int, size of both embeddings.
        hidden_dim: int, hidden size of every recurrent layer.
        num_layers: int, layers in the encoder and in the decoder.
        dropout: float in `[0, 1)`, on embeddings and between layers.
        attention: `None` or `"luong"`.
        attention_score: score function of the attention (`"dot"`).

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
        attention=None,
        attention_score="dot",
        dtype=None,
        **kwargs,
    ):
        kwargs.setdefault("name", "recurrent_seq2seq")
        # === Layers ===
        self.source_embedding = keras.layers.Embedding(
            source_vocabulary_size, embedding_dim, dtype=dtype, name="source_embedding"
        )
        self.target_embedding = keras.layers.Embedding(
            target_vocabulary_size, embedding_dim, dtype=dtype, name="target_embedding"
        )
        self.embedding_dropout = keras.layers.Dropout(dropout, dtype=dtype, name="embedding_dropout")
        self.encoder = RecurrentEncoder(
            cell_type, hidden_dim, num_layers, dropout, dtype=dtype, name="encoder"
        )
        self.decoder = RecurrentDecoder(
            cell_type,
            hidden_dim,
            num_layers,
            dropout,
            attention=attention,
            attention_score=attention_score,
            dtype=dtype,
            name="decoder",
        )
        self.output_projection = keras.layers.Dense(
            target_vocabulary_size, dtype=dtype, name="output_projection"
        )

        # === Functional Model ===
        encoder_token_ids = keras.Input(shape=(None,), dtype="int32", name="encoder_token_ids")
        decoder_token_ids = keras.Input(shape=(None,), dtype="int32", name="decoder_token_ids")
        encoder_padding_mask = ops.not_equal(encoder_token_ids, 0)
        x = self.embedding_dropout(self.source_embedding(encoder_token_ids))
        memory, states = self.encoder(x, mask=encoder_padding_mask)
        y = self.embedding_dropout(self.target_embedding(decoder_token_ids))
        y, _ = self.decoder(y, initial_state=states, memory=memory, memory_mask=encoder_padding_mask)
        logits = self.output_projection(y)
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
        self.attention = attention
        self.attention_score = attention_score

    def encode(self, encoder_token_ids):
        """Run the encoder once and return the decoding cache.

        Args:
            encoder_token_ids: int `(batch_size, Ts)`, 0 is padding.

        Returns:
            The cache for `next`: a dict with the decoder `states` (one list
            per layer), the encoder outputs `memory` `(batch_size, Ts,
            hidden_dim)`, its boolean `memory_mask` `(batch_size, Ts)` and the
            last step's `attention` `(batch_size, Ts)`.
        """
        mask = ops.not_equal(encoder_token_ids, 0)
        memory, states = self.encoder(self.source_embedding(encoder_token_ids), mask=mask)
        attention = ops.zeros(ops.shape(mask), dtype=memory.dtype)
        return {"states": states, "memory": memory, "memory_mask": mask, "attention": attention}

    def next(self, tokens, cache, step):
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
        output, states, weights = self.decoder.step(x, cache["states"], cache["memory"], cache["memory_mask"])
        cache = dict(cache, states=states)
        if weights is not None:
            cache["attention"] = weights
        return self.output_projection(output), cache

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "source_vocabulary_size": self.source_vocabulary_size,
            "target_vocabulary_size": self.target_vocabulary_size,
            "cell_type": self.cell_type,
            "embedding_dim": self.embedding_dim,
            "hidden_dim": self.hidden_dim,
            "num_layers": self.num_layers,
            "dropout": self.dropout,
            "attention": self.attention,
            "attention_score": self.attention_score,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
