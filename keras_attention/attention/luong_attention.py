"""Luong et al. (2015) global attention scores."""

from keras import ops

from keras_attention.api_export import keras_attention_export
from keras_attention.attention.base_attention import BaseAttention

# The score functions of Luong et al. (2015), eq. 8. `general` and `concat`
# join in a later change; the name is checked against this tuple.
SCORE_MODES = ("dot",)


@keras_attention_export("LuongAttention")
class LuongAttention(BaseAttention):
    """Luong global attention.

    `score(h_t, h_s) = h_t . h_s` for `score_mode="dot"` (Luong et al. 2015,
    eq. 8). Masking, softmax, dropout and returning the weights come from
    `BaseAttention`; see it for the call arguments.

    Args:
        score_mode: one of `SCORE_MODES`.
        dropout: float in `[0, 1)`, dropout on the attention weights.
        **kwargs: passed on to `keras.layers.Layer`.

    Example:

    >>> layer = LuongAttention()
    >>> query = np.ones((2, 3, 8), "float32")   # (batch, Tq, dim)
    >>> value = np.ones((2, 5, 8), "float32")   # (batch, Tk, dim)
    >>> layer(query, value).shape
    (2, 3, 8)

    Reference:
        Luong, Pham, Manning. "Effective Approaches to Attention-based
        Neural Machine Translation", EMNLP 2015.
    """

    def __init__(self, score_mode="dot", dropout=0.0, **kwargs):
        super().__init__(dropout=dropout, **kwargs)
        if score_mode not in SCORE_MODES:
            raise ValueError(
                f"Unknown Luong `score_mode`: {score_mode!r}. "
                f"Expected one of {', '.join(map(repr, SCORE_MODES))}."
            )
        self.score_mode = score_mode

    def build(self, query_shape, value_shape, key_shape=None):
        key_shape = value_shape if key_shape is None else key_shape
        if query_shape[-1] is not None and key_shape[-1] is not None:
            if query_shape[-1] != key_shape[-1]:
                raise ValueError(
                    "Luong `dot` attention needs queries and keys of the same "
                    f"size; received query dim {query_shape[-1]} and key dim "
                    f"{key_shape[-1]}."
                )
        self.built = True

    def score(self, query, key):
        return ops.matmul(query, ops.transpose(key, (0, 2, 1)))  # (batch, Tq, Tk)

    def get_config(self):
        config = super().get_config()
        config.update({"score_mode": self.score_mode})
        return config
