"""Scaled dot-product attention (Vaswani et al. 2017), single head."""

from keras import ops

from keras_attention.annotations import Tensor
from keras_attention.api_export import keras_attention_export
from keras_attention.attention.base_attention import BaseAttention

SCORE_MODES = ("scaled_dot",)


@keras_attention_export("ScaledDotProductAttention")
class ScaledDotProductAttention(BaseAttention):
    """Single-head scaled dot-product attention.

    `score(q, k) = q . k / sqrt(d_k)` (Vaswani et al. 2017, eq. 1): Luong's
    dot score, scaled so that the softmax does not saturate as `d_k` grows.
    Masking, softmax, dropout and returning the weights come from
    `BaseAttention`. For several heads with learned projections use
    `MultiHeadAttention`.

    Args:
        score_mode: `"scaled_dot"`, the only score; accepted so that every
            entry of `ATTENTION_TYPES` takes the same arguments.
        dropout: float in `[0, 1)`, dropout on the attention weights.
        **kwargs: passed on to `keras.layers.Layer`.

    Example:

    >>> layer = ScaledDotProductAttention()
    >>> x = np.ones((2, 4, 8), "float32")        # (batch, T, d_k)
    >>> layer(x, x, use_causal_mask=True).shape
    (2, 4, 8)

    Reference:
        Vaswani et al. "Attention Is All You Need", NeurIPS 2017.
    """

    SCORE_MODES = SCORE_MODES  # the first is the default

    def __init__(self, score_mode="scaled_dot", dropout=0.0, **kwargs):
        super().__init__(dropout=dropout, **kwargs)
        self.check_score_mode(score_mode)
        self.score_mode = score_mode

    def build(self, query_shape, value_shape, key_shape=None):
        key_shape = value_shape if key_shape is None else key_shape
        if None not in (query_shape[-1], key_shape[-1]) and query_shape[-1] != key_shape[-1]:
            raise ValueError(
                "Scaled dot-product attention needs queries and keys of the same size; "
                f"received query dim {query_shape[-1]} and key dim {key_shape[-1]}."
            )
        self.built = True

    def score(self, query: Tensor, keys: Tensor) -> Tensor:
        scale = ops.cast(ops.shape(keys)[-1], query.dtype) ** -0.5
        return ops.matmul(query * scale, ops.transpose(keys, (0, 2, 1)))  # (batch, Tq, Tk)

    def get_config(self):
        config = super().get_config()
        config.update({"score_mode": self.score_mode})
        return config
