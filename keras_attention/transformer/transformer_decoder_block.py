"""One Transformer decoder block: causal self-attention, cross-attention, feed-forward."""

import keras
from keras import ops

from keras_attention.annotations import Tensor
from keras_attention.api_export import keras_attention_export
from keras_attention.attention import MultiHeadAttention
from keras_attention.transformer.transformer_encoder_block import TransformerEncoderBlock


@keras_attention_export("TransformerDecoderBlock")
class TransformerDecoderBlock(TransformerEncoderBlock):
    """Causal self-attention, cross-attention over the encoder, then feed-forward.

    The encoder block with a cross-attention sublayer between its two
    sublayers (it shares their arguments). `call` runs a whole target
    sequence with a causal mask, for training; `step` runs one position
    against a cache of the keys and values of the positions before it, for
    generation, and computes what `call` computes at that position.

    Args:
        See `TransformerEncoderBlock`.

    Call arguments:
        inputs: `(batch_size, Tt, dim)`.
        memory: encoder outputs `(batch_size, Ts, dim_m)`.
        padding_mask: optional boolean `(batch_size, Tt)`, `False` at padding.
        memory_mask: optional boolean `(batch_size, Ts)`, `False` at padding.
        training: whether dropout is active.

    Returns:
        `(batch_size, Tt, dim)`.

    Example:

    >>> block = TransformerDecoderBlock(num_heads=2, intermediate_dim=32)
    >>> block(np.ones((2, 3, 8), "float32"), np.ones((2, 5, 8), "float32")).shape
    (2, 3, 8)
    """

    def build(self, inputs_shape, memory_shape=None):
        if memory_shape is None:
            raise ValueError("A Transformer decoder block needs `memory`, the encoder outputs.")
        super().build(inputs_shape)
        self.cross_attention = MultiHeadAttention(
            self.num_heads,
            self.self_attention.key_dim,
            dropout=self.dropout,
            dtype=self.dtype_policy,
            name="cross_attention",
        )
        self.cross_attention.build(inputs_shape, tuple(memory_shape))
        self.cross_attention_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy, name="cross_attention_norm"
        )
        self.cross_attention_norm.build(inputs_shape)
        self.built = True

    def call(self, inputs, memory, padding_mask=None, memory_mask=None, training=None):
        def self_attend(x):
            return self.self_attention(
                x,
                x,
                query_mask=padding_mask,
                value_mask=padding_mask,
                use_causal_mask=True,
                training=training,
            )

        def cross_attend(x):
            return self.cross_attention(
                x, memory, query_mask=padding_mask, value_mask=memory_mask, training=training
            )

        x = self._residual(inputs, self_attend, self.self_attention_norm, training)
        x = self._residual(x, cross_attend, self.cross_attention_norm, training)
        return self._residual(
            x, lambda h: self.feed_forward(h, training=training), self.feed_forward_norm, training
        )

    def project_memory(self, memory: Tensor) -> tuple[Tensor, Tensor]:
        """Cross-attention keys and values `(batch_size, Ts, num_heads, key_dim)`, once per source."""
        return self.cross_attention.project_key_value(memory, memory)

    def step(
        self,
        inputs: Tensor,
        cache_keys: Tensor,
        cache_values: Tensor,
        index: int | Tensor,
        memory_keys: Tensor,
        memory_values: Tensor,
        memory_mask: Tensor | None = None,
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """One position of `call`, against cached self-attention keys and values.

        Args:
            inputs: `(batch_size, 1, dim)`, the input at position `index`.
            cache_keys, cache_values: `(batch_size, max_length, num_heads,
                key_dim)`, this block's keys and values at positions
                `< index` (the rest are ignored).
            index: int scalar, the position being computed.
            memory_keys, memory_values: `project_memory(memory)`, `(sources,
                Ts, num_heads, key_dim)`. `sources` may be fewer than
                `batch_size` if it divides it: each source then serves
                `batch_size / sources` consecutive rows (the hypotheses of
                one sentence in beam search), which attend to it together.
            memory_mask: optional boolean `(sources, Ts)`.

        Returns:
            `(output, cache_keys, cache_values, weights)`: output
            `(batch_size, 1, dim)`, the caches with position `index` filled
            in, and the cross-attention weights `(batch_size, num_heads, 1, Ts)`.
        """
        max_length = ops.shape(cache_keys)[1]
        positions = ops.arange(max_length)
        updated = {}

        def self_attend(x):
            keys, values = self.self_attention.project_key_value(x, x)  # (batch, 1, heads, key_dim)
            at_index = ops.reshape(positions == index, (1, max_length, 1, 1))
            updated["keys"] = ops.where(at_index, keys, cache_keys)
            updated["values"] = ops.where(at_index, values, cache_values)
            visible = ops.expand_dims(positions <= index, 0)  # (1, max_length)
            return self.self_attention.attend(x, updated["keys"], updated["values"], value_mask=visible)

        def cross_attend(x):
            # A source's rows are its queries: (sources, rows per source, dim).
            by_source = ops.reshape(x, (ops.shape(memory_keys)[0], -1, x.shape[-1]))
            output, weights = self.cross_attention.attend(
                by_source, memory_keys, memory_values, value_mask=memory_mask, return_attention_scores=True
            )
            weights = ops.transpose(weights, (0, 2, 1, 3))  # (sources, rows per source, heads, Ts)
            updated["weights"] = ops.reshape(weights, (-1, self.num_heads, 1, ops.shape(weights)[-1]))
            return ops.reshape(output, ops.shape(x))

        x = self._residual(inputs, self_attend, self.self_attention_norm, False)
        x = self._residual(x, cross_attend, self.cross_attention_norm, False)
        x = self._residual(x, self.feed_forward, self.feed_forward_norm, False)
        return x, updated["keys"], updated["values"], updated["weights"]

    def compute_output_shape(self, inputs_shape, memory_shape=None):
        return tuple(inputs_shape)
