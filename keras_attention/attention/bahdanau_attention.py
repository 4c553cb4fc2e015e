"""Bahdanau et al. (2014) additive attention."""

import keras
from keras import ops

from keras_attention.annotations import Tensor
from keras_attention.api_export import keras_attention_export
from keras_attention.attention.base_attention import BaseAttention

# "normalized" is the weight-normalized form (Salimans & Kingma 2016) that
# tensorflow-addons offered as `normalize=True`.
SCORE_MODES = ("additive", "normalized")


def additive_score(projected_query, projected_keys, v, bias=None):
    """`v . tanh(q + k [+ b])` for every query/key pair.

    Args:
        projected_query: `(batch_size, Tq, units)`.
        projected_keys: `(batch_size, Tk, units)`.
        v: `(units,)`.
        bias: optional `(units,)`, added inside the tanh.

    Returns:
        Scores `(batch_size, Tq, Tk)`.
    """
    hidden = ops.expand_dims(projected_query, 2) + ops.expand_dims(
        projected_keys, 1
    )  # (batch, Tq, Tk, units)
    if bias is not None:
        hidden = hidden + bias
    return ops.einsum("bqku,u->bqk", ops.tanh(hidden), v)


@keras_attention_export("BahdanauAttention")
class BahdanauAttention(BaseAttention):
    """Bahdanau additive attention.

    `score(s, h_j) = v_a . tanh(W_a s + U_a h_j)` (Bahdanau et al. 2014,
    appendix A.1.2), where `s` is the decoder state that asks (the query)
    and `h_j` an encoder annotation (the key). With
    `score_mode="normalized"`, `v_a` is replaced by `g * v_a / ||v_a||` and a
    bias `b` is added inside the tanh (weight normalization, as in
    tensorflow-addons' `normalize=True`). `U_a h_j` depends on the keys only:
    `project_keys` computes it once per source. Masking, softmax, dropout and
    returning the weights come from `BaseAttention`.

    Args:
        units: int, the size of the hidden layer of the score; the query's
            size when `None`.
        score_mode: `"additive"` or `"normalized"`.
        dropout: float in `[0, 1)`, dropout on the attention weights.
        **kwargs: passed on to `keras.layers.Layer`.

    Example:

    >>> layer = BahdanauAttention(units=16)
    >>> query = np.ones((2, 3, 8), "float32")   # (batch, Tq, dim_q)
    >>> value = np.ones((2, 5, 6), "float32")   # (batch, Tk, dim_v)
    >>> layer(query, value).shape
    (2, 3, 6)

    Reference:
        Bahdanau, Cho, Bengio. "Neural Machine Translation by Jointly
        Learning to Align and Translate", ICLR 2015 (arXiv:1409.0473).
    """

    SCORE_MODES = SCORE_MODES  # the first is the default

    def __init__(self, units=None, score_mode="additive", dropout=0.0, **kwargs):
        super().__init__(dropout=dropout, **kwargs)
        self.check_score_mode(score_mode)
        if units is not None and units < 1:
            raise ValueError(f"`units` must be >= 1 or None, received units={units}")
        self.units = units
        self.score_mode = score_mode

    def build(self, query_shape, value_shape, key_shape=None):
        key_shape = value_shape if key_shape is None else key_shape
        units = self.units or query_shape[-1]
        self.query_kernel = self.add_weight(name="query_kernel", shape=(query_shape[-1], units))  # W_a
        self.key_kernel = self.add_weight(name="key_kernel", shape=(key_shape[-1], units))  # U_a
        self.v = self.add_weight(name="v", shape=(units,))
        if self.score_mode == "normalized":
            self.g = self.add_weight(
                name="g", shape=(), initializer=keras.initializers.Constant((1.0 / units) ** 0.5)
            )
            self.bias = self.add_weight(name="bias", shape=(units,), initializer="zeros")
        self.built = True

    def project_keys(self, key: Tensor) -> Tensor:
        return ops.matmul(key, self.key_kernel)  # (batch, Tk, units)

    def score(self, query: Tensor, keys: Tensor) -> Tensor:
        v, bias = self.v, None
        if self.score_mode == "normalized":
            v = self.g * v / ops.sqrt(ops.sum(ops.square(v)))
            bias = self.bias
        return additive_score(ops.matmul(query, self.query_kernel), keys, v, bias)

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units, "score_mode": self.score_mode})
        return config
