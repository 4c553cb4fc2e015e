"""The attention base layer: everything but the score function."""

import keras
from keras import ops

from keras_attention.api_export import keras_attention_export


def _large_negative(dtype):
    # Large enough that exp() underflows to exactly 0 after the max is
    # subtracted, small enough not to overflow float16.
    return -3e4 if dtype in ("float16",) else -1e9


@keras_attention_export("BaseAttention")
class BaseAttention(keras.layers.Layer):
    """Attention with the score function left to subclasses.

    This layer owns what every attention shares: masking of padded keys and
    queries, an optional causal mask, the softmax, dropout on the weights,
    the weighted sum of values and returning the weights. A subclass
    overrides `score(query, key)` (and `build` when the score has weights).

    Args:
        dropout: float in `[0, 1)`, the fraction of attention weights dropped
            during training.
        **kwargs: passed on to `keras.layers.Layer`.

    Call arguments:
        query: `(batch_size, Tq, dim_q)`.
        value: `(batch_size, Tk, dim_v)`.
        key: optional `(batch_size, Tk, dim_k)`; `value` when omitted.
        query_mask: optional boolean `(batch_size, Tq)`, `False` at padding.
            Outputs and weights at padded queries are 0.
        value_mask: optional boolean `(batch_size, Tk)`, `False` at padding.
            Padded keys get a weight of exactly 0. A query whose keys are all
            padded gets all-zero weights and a zero output.
        use_causal_mask: if `True`, query `i` attends only to keys `<= i`.
        return_attention_scores: if `True`, also return the weights.
        training: whether dropout is active.

    Returns:
        The attended values `(batch_size, Tq, dim_v)`, and with
        `return_attention_scores=True` also the weights
        `(batch_size, Tq, Tk)`, each unmasked row summing to 1.
    """

    def __init__(self, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"`dropout` must be in [0, 1), received dropout={dropout}")
        self.dropout = dropout
        self.dropout_layer = keras.layers.Dropout(dropout)
        self.supports_masking = True

    def build(self, query_shape, value_shape, key_shape=None):
        self.built = True

    def score(self, query, key):
        """Unnormalized scores `(batch_size, Tq, Tk)`; subclasses override."""
        raise NotImplementedError(f"{type(self).__name__} must implement `score(query, key)`.")

    def call(
        self,
        query,
        value,
        key=None,
        query_mask=None,
        value_mask=None,
        use_causal_mask=False,
        return_attention_scores=False,
        training=None,
    ):
        key = value if key is None else key
        scores = self.score(query, key)  # (batch, Tq, Tk)
        weights = self._masked_softmax(scores, query_mask, value_mask, use_causal_mask)
        dropped = self.dropout_layer(weights, training=training)
        output = ops.matmul(dropped, ops.cast(value, dropped.dtype))  # (batch, Tq, dim_v)
        if return_attention_scores:
            return output, weights
        return output

    def _masked_softmax(self, scores, query_mask, value_mask, use_causal_mask):
        allowed = None  # boolean, broadcastable to (batch, Tq, Tk)
        if value_mask is not None:
            allowed = ops.expand_dims(ops.cast(value_mask, "bool"), axis=1)  # (batch, 1, Tk)
        if use_causal_mask:
            q_len, k_len = ops.shape(scores)[1], ops.shape(scores)[2]
            rows = ops.expand_dims(ops.arange(q_len), 1)
            cols = ops.expand_dims(ops.arange(k_len), 0)
            causal = ops.expand_dims(cols <= rows, 0)  # (1, Tq, Tk)
            allowed = causal if allowed is None else ops.logical_and(allowed, causal)
        if query_mask is not None:
            q_allowed = ops.expand_dims(ops.cast(query_mask, "bool"), axis=2)  # (batch, Tq, 1)
            allowed = q_allowed if allowed is None else ops.logical_and(allowed, q_allowed)
        if allowed is None:
            return ops.softmax(scores, axis=-1)
        scores = ops.where(allowed, scores, _large_negative(scores.dtype))
        weights = ops.softmax(scores, axis=-1)
        # Exact zeros, also for rows whose keys are all masked.
        return weights * ops.cast(allowed, weights.dtype)

    def compute_mask(self, query, mask=None):
        return mask

    def compute_output_shape(self, query_shape, value_shape, key_shape=None):
        return tuple(query_shape[:-1]) + (value_shape[-1],)

    def compute_output_spec(self, query, value, key=None, return_attention_scores=False, **kwargs):
        output = keras.KerasTensor(
            self.compute_output_shape(query.shape, value.shape), dtype=self.compute_dtype
        )
        if not return_attention_scores:
            return output
        weights_shape = tuple(query.shape[:-1]) + (value.shape[1],)
        return output, keras.KerasTensor(weights_shape, dtype=self.compute_dtype)

    def get_config(self):
        config = super().get_config()
        config.update({"dropout": self.dropout})
        return config
