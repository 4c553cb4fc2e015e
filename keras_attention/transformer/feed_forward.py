"""The position-wise feed-forward sublayer and the residual wrapper of both blocks."""

import keras

from keras_attention.api_export import keras_attention_export
from keras_attention.checks import check_dropout


def residual_sublayer(inputs, sublayer, norm, dropout_layer, normalize_first, training=None):
    """`x + dropout(sublayer(norm(x)))` (pre-norm) or `norm(x + dropout(sublayer(x)))`.

    Pre-norm (Xiong et al. 2020) trains without a learning-rate warm-up;
    post-norm is the original Transformer's order.
    """
    x = norm(inputs) if normalize_first else inputs
    x = inputs + dropout_layer(sublayer(x), training=training)
    return x if normalize_first else norm(x)


def check_block_args(num_heads, intermediate_dim, dropout):
    """`ValueError` naming a bad argument of a Transformer block."""
    if num_heads < 1 or intermediate_dim < 1:
        raise ValueError(
            "`num_heads` and `intermediate_dim` must be >= 1; received "
            f"num_heads={num_heads}, intermediate_dim={intermediate_dim}."
        )
    check_dropout(dropout)


def check_heads(dim, num_heads):
    """The per-head size, or a `ValueError` when `dim` does not split evenly."""
    if dim % num_heads:
        raise ValueError(
            f"The model size {dim} must be divisible by num_heads={num_heads}, "
            "so that every head gets the same share."
        )
    return dim // num_heads


@keras_attention_export("FeedForward")
class FeedForward(keras.layers.Layer):
    """`W_2 act(W_1 x + b_1) + b_2` at every position (Vaswani et al. 2017, eq. 2).

    Args:
        intermediate_dim: int, the width of the hidden layer.
        activation: the hidden activation (`"relu"`, `"gelu"`, ...).
        dropout: float in `[0, 1)`, dropout after the activation.
        **kwargs: passed on to `keras.layers.Layer`.

    Call arguments:
        inputs: `(batch_size, T, dim)`.

    Returns:
        `(batch_size, T, dim)`.
    """

    def __init__(self, intermediate_dim, activation="relu", dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        check_block_args(1, intermediate_dim, dropout)
        keras.activations.get(activation)  # an unknown name fails here, not when the layer is first called
        self.intermediate_dim = intermediate_dim
        self.activation = activation
        self.dropout = dropout

    def build(self, inputs_shape):
        self.intermediate = keras.layers.Dense(
            self.intermediate_dim, activation=self.activation, dtype=self.dtype_policy, name="intermediate"
        )
        self.intermediate.build(inputs_shape)
        self.dropout_layer = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)
        self.output_dense = keras.layers.Dense(inputs_shape[-1], dtype=self.dtype_policy, name="output")
        self.output_dense.build(tuple(inputs_shape[:-1]) + (self.intermediate_dim,))
        self.built = True

    def call(self, inputs, training=None):
        return self.output_dense(self.dropout_layer(self.intermediate(inputs), training=training))

    def compute_output_shape(self, inputs_shape):
        return tuple(inputs_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "intermediate_dim": self.intermediate_dim,
                "activation": self.activation,
                "dropout": self.dropout,
            }
        )
        return config
