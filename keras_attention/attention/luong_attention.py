"""Luong et al. (2015) global attention scores."""

from keras import ops

from keras_attention.annotations import Tensor
from keras_attention.api_export import keras_attention_export
from keras_attention.attention.bahdanau_attention import additive_score
from keras_attention.attention.base_attention import BaseAttention

# The score functions of Luong et al. (2015), eq. 8.
SCORE_MODES = ("dot", "general", "concat")


@keras_attention_export("LuongAttention")
class LuongAttention(BaseAttention):
    """Luong global attention.

    The score of a target state `h_t` (the query) against a source state
    `h_s` (the key), Luong et al. (2015), eq. 8:

    - `"dot"`: `h_t . h_s`; queries and keys must have the same size.
    - `"general"`: `h_t . (W_a h_s)`.
    - `"concat"`: `v_a . tanh(W_a [h_t; h_s])`, with `W_a` of shape
      `(dim_q + dim_k, dim_q)`.

    The part of the score that depends on the source alone (`W_a h_s`) is
    computed once per source by `project_keys`. Masking, softmax, dropout and
    returning the weights come from `BaseAttention`; see it for the call
    arguments.

    Args:
        score_mode: one of `SCORE_MODES`.
        dropout: float in `[0, 1)`, dropout on the attention weights.
        **kwargs: passed on to `keras.layers.Layer`.

    Example:

    >>> layer = LuongAttention(score_mode="general")
    >>> query = np.ones((2, 3, 8), "float32")   # (batch, Tq, dim)
    >>> value = np.ones((2, 5, 8), "float32")   # (batch, Tk, dim)
    >>> layer(query, value).shape
    (2, 3, 8)

    Reference:
        Luong, Pham, Manning. "Effective Approaches to Attention-based
        Neural Machine Translation", EMNLP 2015.
    """

    SCORE_MODES = SCORE_MODES  # the first is the default

    def __init__(self, score_mode="dot", dropout=0.0, **kwargs):
        super().__init__(dropout=dropout, **kwargs)
        self.check_score_mode(score_mode)
        self.score_mode = score_mode

    def build(self, query_shape, value_shape, key_shape=None):
        key_shape = value_shape if key_shape is None else key_shape
        query_dim, key_dim = query_shape[-1], key_shape[-1]
        if self.score_mode == "dot" and None not in (query_dim, key_dim) and query_dim != key_dim:
            raise ValueError(
                "Luong `dot` attention needs queries and keys of the same "
                f"size; received query dim {query_dim} and key dim {key_dim}. "
                "Use score_mode='general' or 'concat' for different sizes."
            )
        if self.score_mode == "general":
            self.kernel = self.add_weight(name="kernel", shape=(key_dim, query_dim))  # W_a
        elif self.score_mode == "concat":
            self.kernel = self.add_weight(name="kernel", shape=(query_dim + key_dim, query_dim))  # W_a
            self.v = self.add_weight(name="v", shape=(query_dim,))
        self.built = True

    def project_keys(self, key: Tensor) -> Tensor:
        if self.score_mode == "general":
            return ops.matmul(key, self.kernel)  # (batch, Tk, dim_q)
        if self.score_mode == "concat":
            query_dim = self.kernel.shape[1]
            return ops.matmul(key, self.kernel[query_dim:])  # (batch, Tk, dim_q)
        return key

    def score(self, query: Tensor, keys: Tensor) -> Tensor:
        if self.score_mode == "concat":
            # W_a [h_t; h_s] = W_a[:dim_q] h_t + W_a[dim_q:] h_s
            query_dim = self.kernel.shape[1]
            return additive_score(ops.matmul(query, self.kernel[:query_dim]), keys, self.v)
        return ops.matmul(query, ops.transpose(keys, (0, 2, 1)))  # (batch, Tq, Tk)

    def get_config(self):
        config = super().get_config()
        config.update({"score_mode": self.score_mode})
        return config
