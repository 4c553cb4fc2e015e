"""Multi-head attention: Keras' layer with this package's masking contract."""

import keras
from keras import ops

from keras_attention.annotations import Tensor
from keras_attention.api_export import keras_attention_export
from keras_attention.attention.base_attention import attention_mask


@keras_attention_export("MultiHeadAttention")
class MultiHeadAttention(keras.layers.MultiHeadAttention):
    """`keras.layers.MultiHeadAttention` with the call arguments of `BaseAttention`.

    The projections, the per-head scaled dot product, dropout and the output
    projection are Keras' own. This subclass adds what a decoder needs:

    - the masks of `BaseAttention`: `query_mask`, `value_mask` and
      `use_causal_mask`; masked keys get a weight of exactly 0, and outputs
      and weights at padded queries are 0;
    - `project_key_value` and `attend`, so that a decoder projects the
      encoder outputs once per source and its own past keys and values once
      per step (the cache of incremental decoding).

    Args:
        num_heads: int, the number of heads.
        key_dim: int, the size of each head's queries and keys.
        **kwargs: the other arguments of `keras.layers.MultiHeadAttention`
            (`value_dim`, `dropout`, `use_bias`, ...).

    Call arguments:
        query: `(batch_size, Tq, dim)`.
        value: `(batch_size, Tk, dim_v)`.
        key: optional `(batch_size, Tk, dim_k)`; `value` when omitted.
        query_mask: optional boolean `(batch_size, Tq)`, `False` at padding.
        value_mask: optional boolean `(batch_size, Tk)`, `False` at padding.
        use_causal_mask: if `True`, query `i` attends only to keys `<= i`.
        return_attention_scores: if `True`, also return the weights.
        training: whether dropout is active.

    Returns:
        `(batch_size, Tq, dim)`, and with `return_attention_scores=True` the
        weights `(batch_size, num_heads, Tq, Tk)` too.

    Reference:
        Vaswani et al. "Attention Is All You Need", NeurIPS 2017.
    """

    def build(self, query_shape, value_shape, key_shape=None):
        super().build(query_shape, value_shape, key_shape)
        # The masks travel as `query_mask` and `value_mask`; a Keras mask on an
        # input (from `Embedding(mask_zero=True)`) fills them in. The projections
        # pass it through rather than warn, at every call, that they drop it.
        for dense in (self._query_dense, self._key_dense, self._value_dense, self._output_dense):
            dense.supports_masking = True

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
        keys, values = self.project_key_value(value if key is None else key, value)
        return self.attend(
            query,
            keys,
            values,
            query_mask=query_mask,
            value_mask=value_mask,
            use_causal_mask=use_causal_mask,
            return_attention_scores=return_attention_scores,
            training=training,
        )

    def project_key_value(self, key: Tensor, value: Tensor) -> tuple[Tensor, Tensor]:
        """Per-head keys and values `(batch_size, Tk, num_heads, key_dim)`."""
        return self._key_dense(key), self._value_dense(value)

    def attend(
        self,
        query: Tensor,
        keys: Tensor,
        values: Tensor,
        query_mask: Tensor | None = None,
        value_mask: Tensor | None = None,
        use_causal_mask: bool = False,
        return_attention_scores: bool = False,
        training: bool | None = None,
    ) -> Tensor | tuple[Tensor, Tensor]:
        """`call` with keys and values already from `project_key_value`."""
        projected_query = self._query_dense(query)  # (batch, Tq, heads, key_dim)
        allowed = attention_mask(
            ops.shape(query)[1], ops.shape(keys)[1], query_mask, value_mask, use_causal_mask
        )
        if allowed is not None:
            # Keras' masked softmax zeroes disallowed keys exactly, and rows
            # with no allowed key entirely; it needs a full (batch, Tq, Tk) mask.
            allowed = ops.broadcast_to(
                allowed, (ops.shape(query)[0], ops.shape(query)[1], ops.shape(keys)[1])
            )
        # Always the explicit path: it returns the weights and applies the
        # masked softmax above, whatever the dropout.
        output, weights = self._compute_attention(
            projected_query, keys, values, allowed, training, return_attention_scores=True
        )
        output = self._output_dense(output)  # (batch, Tq, dim)
        if query_mask is not None:
            output = output * ops.expand_dims(ops.cast(query_mask, output.dtype), -1)
        if return_attention_scores:
            return output, weights  # weights: (batch, heads, Tq, Tk)
        return output

    def compute_output_spec(self, query, value, key=None, return_attention_scores=False, **kwargs):
        return super().compute_output_spec(
            query, value, key=key, return_attention_scores=return_attention_scores
        )
