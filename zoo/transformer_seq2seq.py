"""Transformer encoder-decoder backbone: token ids in, logits out."""

import keras
from keras import ops

from keras_attention import TokenAndPositionEmbedding, TransformerDecoderBlock, TransformerEncoderBlock
from keras_attention.annotations import Tensor
from keras_attention.checks import check_bool, check_dropout, check_int
from zoo.api_export import zoo_export
from zoo.seq2seq_backbone import Seq2SeqBackbone


@zoo_export("TransformerSeq2Seq")
class TransformerSeq2Seq(Seq2SeqBackbone):
    """An attention-only encoder-decoder (Vaswani et al. 2017).

    A functional model inside a subclass, like `RecurrentSeq2Seq`, with the
    same inputs, outputs and decoding interface. Training runs the decoder
    over the whole target with a causal mask; generation runs one position
    at a time against a cache of every block's past keys and values, and the
    cross-attention keys and values are projected once per source.

    Args:
        source_vocabulary_size: int, rows of the source embedding.
        target_vocabulary_size: int, rows of the target embedding and width
            of the output logits.
        num_layers: int, blocks in the encoder and in the decoder.
        hidden_dim: int, the model size (embeddings and block outputs).
        num_heads: int, attention heads; must divide `hidden_dim`.
        intermediate_dim: int, the feed-forward width.
        dropout: float in `[0, 1)`.
        position_embedding: `"sinusoidal"` or `"learned"`.
        max_sequence_length: int, the most positions a sequence may have
            (the size of a learned position embedding; the longest output).
        normalize_first: bool, pre-norm blocks with a final layer norm
            (trains without warm-up) or the original post-norm.

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
        num_layers=2,
        hidden_dim=256,
        num_heads=4,
        intermediate_dim=1024,
        dropout=0.1,
        position_embedding="sinusoidal",
        max_sequence_length=512,
        normalize_first=True,
        dtype=None,
        **kwargs,
    ):
        kwargs.setdefault("name", "transformer_seq2seq")
        self.check_keras_arguments(kwargs)
        for name, value in (
            ("source_vocabulary_size", source_vocabulary_size),
            ("target_vocabulary_size", target_vocabulary_size),
            ("num_layers", num_layers),
            ("hidden_dim", hidden_dim),
            ("num_heads", num_heads),
            ("intermediate_dim", intermediate_dim),
            ("max_sequence_length", max_sequence_length),
        ):
            check_int(name, value, 1)
        check_bool("normalize_first", normalize_first)
        check_dropout(dropout)
        # === Layers ===
        embedding_args = dict(
            position_embedding=position_embedding, max_length=max_sequence_length, dtype=dtype
        )
        self.source_embedding = TokenAndPositionEmbedding(
            source_vocabulary_size, hidden_dim, name="source_embedding", **embedding_args
        )
        self.target_embedding = TokenAndPositionEmbedding(
            target_vocabulary_size, hidden_dim, name="target_embedding", **embedding_args
        )
        self.embedding_dropout = keras.layers.Dropout(dropout, dtype=dtype, name="embedding_dropout")
        block_args = dict(
            num_heads=num_heads,
            intermediate_dim=intermediate_dim,
            dropout=dropout,
            normalize_first=normalize_first,
            dtype=dtype,
        )
        self.encoder_blocks = [
            TransformerEncoderBlock(name=f"encoder_block_{i}", **block_args) for i in range(num_layers)
        ]
        self.decoder_blocks = [
            TransformerDecoderBlock(name=f"decoder_block_{i}", **block_args) for i in range(num_layers)
        ]
        # Pre-norm blocks leave their outputs unnormalized: one norm at the top.
        norm = "layer_norm" if normalize_first else "identity"
        self.encoder_norm = _final_norm(norm, dtype, "encoder_norm")
        self.decoder_norm = _final_norm(norm, dtype, "decoder_norm")
        self.output_projection = keras.layers.Dense(
            target_vocabulary_size, dtype=dtype, name="output_projection"
        )

        # === Functional Model ===
        encoder_token_ids = keras.Input(shape=(None,), dtype="int32", name="encoder_token_ids")
        decoder_token_ids = keras.Input(shape=(None,), dtype="int32", name="decoder_token_ids")
        encoder_padding_mask = ops.not_equal(encoder_token_ids, 0)
        decoder_padding_mask = ops.not_equal(decoder_token_ids, 0)
        x = self.embedding_dropout(self.source_embedding(encoder_token_ids))
        for block in self.encoder_blocks:
            x = block(x, padding_mask=encoder_padding_mask)
        memory = self.encoder_norm(x)
        y = self.embedding_dropout(self.target_embedding(decoder_token_ids))
        for block in self.decoder_blocks:
            y = block(y, memory, padding_mask=decoder_padding_mask, memory_mask=encoder_padding_mask)
        logits = self.output_projection(self.decoder_norm(y))
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
        self.num_layers = num_layers
        self.hidden_dim = hidden_dim
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.position_embedding = position_embedding
        self.max_sequence_length = max_sequence_length
        self.normalize_first = normalize_first

    def encode(self, encoder_token_ids: Tensor, max_length: int | Tensor | None = None) -> dict:
        """Run the encoder once and return the decoding cache.

        Args:
            encoder_token_ids: int `(batch_size, Ts)`, 0 is padding.
            max_length: int scalar, the most positions `next` will be asked
                for; the self-attention caches have this many.

        Returns:
            A dict: per block, empty self-attention caches `self_keys`,
            `self_values` `(batch_size, max_length, num_heads, head_dim)`;
            the last step's `attention` `(batch_size, Ts)`; and a `source`
            dict (one row per sentence, which beam search shares among its
            hypotheses): per block, the cross-attention `memory_keys` and
            `memory_values` `(batch_size, Ts, num_heads, head_dim)`, and the
            `memory_mask` `(batch_size, Ts)`.
        """
        mask = ops.not_equal(encoder_token_ids, 0)
        x = self.source_embedding(encoder_token_ids)
        for block in self.encoder_blocks:
            x = block(x, padding_mask=mask)
        memory = self.encoder_norm(x)
        batch_size = ops.shape(encoder_token_ids)[0]
        head_dim = self.hidden_dim // self.num_heads
        empty = ops.zeros((batch_size, max_length, self.num_heads, head_dim), dtype=memory.dtype)
        projected = [block.project_memory(memory) for block in self.decoder_blocks]
        return {
            "self_keys": [empty] * self.num_layers,
            "self_values": [empty] * self.num_layers,
            "attention": ops.zeros(ops.shape(mask), dtype=memory.dtype),
            "source": {
                "memory_keys": [keys for keys, _ in projected],
                "memory_values": [values for _, values in projected],
                "memory_mask": mask,
            },
        }

    def next(self, tokens: Tensor, cache: dict, step: int | Tensor) -> tuple[Tensor, dict]:
        """One decoding step (see `RecurrentSeq2Seq.next`).

        `step` is the position of `tokens` in the output (`[START]` is 0). The
        cache's `attention` is the top block's cross-attention averaged over
        heads.
        """
        x = self.target_embedding(ops.expand_dims(tokens, 1), start_index=step)  # (batch, 1, dim)
        source = cache["source"]
        self_keys, self_values = [], []
        for i, block in enumerate(self.decoder_blocks):
            x, keys, values, weights = block.step(
                x,
                cache["self_keys"][i],
                cache["self_values"][i],
                step,
                source["memory_keys"][i],
                source["memory_values"][i],
                source["memory_mask"],
            )
            self_keys.append(keys)
            self_values.append(values)
        logits = self.output_projection(self.decoder_norm(x))[:, 0]  # (batch, vocab)
        attention = ops.mean(weights, axis=1)[:, 0]  # (batch, heads, 1, Ts) -> (batch, Ts)
        return logits, dict(cache, self_keys=self_keys, self_values=self_values, attention=attention)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_layers": self.num_layers,
                "hidden_dim": self.hidden_dim,
                "num_heads": self.num_heads,
                "intermediate_dim": self.intermediate_dim,
                "dropout": self.dropout,
                "position_embedding": self.position_embedding,
                "max_sequence_length": self.max_sequence_length,
                "normalize_first": self.normalize_first,
            }
        )
        return config


def _final_norm(kind, dtype, name):
    if kind == "identity":
        return keras.layers.Identity(dtype=dtype, name=name)
    return keras.layers.LayerNormalization(epsilon=1e-5, dtype=dtype, name=name)
