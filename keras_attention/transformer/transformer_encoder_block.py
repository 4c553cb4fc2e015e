"""One Transformer encoder block: self-attention and feed-forward."""

import keras

from keras_attention.api_export import keras_attention_export
from keras_attention.attention import MultiHeadAttention
from keras_attention.transformer.feed_forward import (
    FeedForward,
    check_block_args,
    check_heads,
    residual_sublayer,
)


@keras_attention_export("TransformerEncoderBlock")
class TransformerEncoderBlock(keras.layers.Layer):
    """Self-attention then a feed-forward layer, each with a residual and layer norm.

    Args:
        num_heads: int; the input size must be divisible by it.
        intermediate_dim: int, the feed-forward width.
        dropout: float in `[0, 1)`, on attention weights, sublayer outputs
            and the feed-forward hidden layer.
        activation: the feed-forward activation.
        normalize_first: `True` for pre-norm (norm inside the residual, then
            a final norm after the stack, which the model adds), `False` for
            the original post-norm.
        layer_norm_epsilon: float.
        **kwargs: passed on to `keras.layers.Layer`.

    Call arguments:
        inputs: `(batch_size, T, dim)`.
        padding_mask: optional boolean `(batch_size, T)`, `False` at padding:
            padded positions are never attended to.
        training: whether dropout is active.

    Returns:
        `(batch_size, T, dim)`.

    Example:

    >>> block = TransformerEncoderBlock(num_heads=2, intermediate_dim=32)
    >>> block(np.ones((2, 5, 8), "float32")).shape
    (2, 5, 8)

    Reference:
        Vaswani et al. "Attention Is All You Need", NeurIPS 2017.
    """

    def __init__(
        self,
        num_heads,
        intermediate_dim,
        dropout=0.0,
        activation="relu",
        normalize_first=True,
        layer_norm_epsilon=1e-5,
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_block_args(num_heads, intermediate_dim, dropout)
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.activation = activation
        self.normalize_first = normalize_first
        self.layer_norm_epsilon = layer_norm_epsilon
        self.supports_masking = True

    def build(self, inputs_shape):
        dim = inputs_shape[-1]
        self.self_attention = MultiHeadAttention(
            self.num_heads,
            check_heads(dim, self.num_heads),
            dropout=self.dropout,
            dtype=self.dtype_policy,
            name="self_attention",
        )
        self.self_attention.build(inputs_shape, inputs_shape)
        self.self_attention_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy, name="self_attention_norm"
        )
        self.self_attention_norm.build(inputs_shape)
        self.feed_forward = FeedForward(
            self.intermediate_dim, self.activation, self.dropout, dtype=self.dtype_policy, name="feed_forward"
        )
        self.feed_forward.build(inputs_shape)
        self.feed_forward_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy, name="feed_forward_norm"
        )
        self.feed_forward_norm.build(inputs_shape)
        self.dropout_layer = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)
        self.built = True

    def call(self, inputs, padding_mask=None, training=None):
        def attend(x):
            return self.self_attention(
                x, x, query_mask=padding_mask, value_mask=padding_mask, training=training
            )

        x = self._residual(inputs, attend, self.self_attention_norm, training)
        return self._residual(
            x, lambda h: self.feed_forward(h, training=training), self.feed_forward_norm, training
        )

    def _residual(self, inputs, sublayer, norm, training):
        return residual_sublayer(inputs, sublayer, norm, self.dropout_layer, self.normalize_first, training)

    def compute_output_shape(self, inputs_shape):
        return tuple(inputs_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "intermediate_dim": self.intermediate_dim,
                "dropout": self.dropout,
                "activation": self.activation,
                "normalize_first": self.normalize_first,
                "layer_norm_epsilon": self.layer_norm_epsilon,
            }
        )
        return config
