"""The attention base layer: everything but the score function."""

import keras
from keras import ops

from keras_attention.annotations import Tensor
from keras_attention.api_export import keras_attention_export
from keras_attention.checks import check_dropout


def _large_negative(dtype):
    # Large enough that exp() underflows to exactly 0 after the max is
    # subtracted, small enough not to overflow float16.
    return -3e4 if dtype in ("float16",) else -1e9


def attention_mask(
    query_length: int | Tensor,
    key_length: int | Tensor,
    query_mask: Tensor | None = None,
    value_mask: Tensor | None = None,
    use_causal_mask: bool = False,
) -> Tensor | None:
    """Which keys each query may attend to, or `None` when all may.

    Args:
        query_length, key_length: ints or scalar tensors, `Tq` and `Tk`.
        query_mask: optional boolean `(batch_size, Tq)`, `False` at padding.
        value_mask: optional boolean `(batch_size, Tk)` (or `(1, Tk)`),
            `False` at keys that may not be attended to.
        use_causal_mask: if `True`, query `i` may see keys `<= i` only.

    Returns:
        A boolean tensor broadcastable to `(batch_size, Tq, Tk)`, or `None`.
    """
    allowed = None
    if value_mask is not None:
        allowed = ops.expand_dims(ops.cast(value_mask, "bool"), axis=1)  # (batch, 1, Tk)
    if use_causal_mask:
        rows = ops.expand_dims(ops.arange(query_length), 1)
        cols = ops.expand_dims(ops.arange(key_length), 0)
        causal = ops.expand_dims(cols <= rows, 0)  # (1, Tq, Tk)
        allowed = causal if allowed is None else ops.logical_and(allowed, causal)
    if query_mask is not None:
        query_allowed = ops.expand_dims(ops.cast(query_mask, "bool"), axis=2)  # (batch, Tq, 1)
        allowed = query_allowed if allowed is None else ops.logical_and(allowed, query_allowed)
    return allowed


def _compatible(a, b):
    return a is None or b is None or a == b


def masked_softmax(scores: Tensor, allowed: Tensor | None = None) -> Tensor:
    """Softmax over the last axis with disallowed entries exactly 0.

    A row with no allowed entry (a padded query, or a source that is all
    padding) gets all-zero weights rather than a uniform distribution.
    """
    if allowed is None:
        return _softmax(scores)
    scores = ops.where(allowed, scores, _large_negative(scores.dtype))
    weights = _softmax(scores)
    return weights * ops.cast(allowed, weights.dtype)


def _softmax(scores):
    if scores.shape[-1] == 1:
        # One key (a one-word source): every weight is 1. Keras' softmax
        # would warn, at every trace, that its axis has size 1.
        return ops.ones_like(scores)
    return ops.softmax(scores, axis=-1)


@keras_attention_export("BaseAttention")
class BaseAttention(keras.layers.Layer):
    """Attention with the score function left to subclasses.

    This layer owns what every attention shares: masking of padded keys and
    queries, an optional causal mask, the softmax, dropout on the weights,
    the weighted sum of values and returning the weights. A subclass
    overrides `score(query, keys)`, and `project_keys(key)` (with `build`)
    when part of its score depends on the keys alone: a decoder calls
    `project_keys` once per source and `attend` at every step, so that work
    is not repeated per output token.

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

    `keras.layers.Attention`'s form is taken too, so a model written for it
    can swap layers: `layer([query, value])` or `layer([query, value, key])`,
    and `mask=[query_mask, value_mask]` (with either form).

    Returns:
        The attended values `(batch_size, Tq, dim_v)`, and with
        `return_attention_scores=True` also the weights
        `(batch_size, Tq, Tk)`, each unmasked row summing to 1.
    """

    # The score functions a subclass offers; the first is its default.
    SCORE_MODES: tuple[str, ...] = ()

    @classmethod
    def check_score_mode(cls, score_mode: str) -> None:
        """`ValueError` naming the valid modes unless `score_mode` is one of `SCORE_MODES`."""
        if score_mode not in cls.SCORE_MODES:
            name = cls.__name__.removesuffix("Attention")
            raise ValueError(
                f"Unknown {name} `score_mode`: {score_mode!r}. "
                f"Expected one of {', '.join(map(repr, cls.SCORE_MODES))}."
            )

    def __init__(self, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        check_dropout(dropout)
        self.dropout = dropout
        self.dropout_layer = keras.layers.Dropout(dropout, dtype=self.dtype_policy)
        self.supports_masking = True

    def __call__(self, query, value=None, key=None, **kwargs):
        if value is None:
            query, value, key = self._from_keras_attention_form(query, key)
        if "mask" in kwargs:
            kwargs = self._masks_from_keras_attention_form(kwargs)
        return super().__call__(query, value, key, **kwargs)

    def _from_keras_attention_form(self, inputs, key):
        """`(query, value, key)` from `keras.layers.Attention`'s `[query, value]` or `[query, value, key]`."""
        name = type(self).__name__
        if not isinstance(inputs, (list, tuple)):
            raise TypeError(
                f"{name} takes `query` and `value`: `layer(query, value)`, or `layer([query, value])` as "
                "keras.layers.Attention takes them; `value` is missing."
            )
        if len(inputs) not in (2, 3) or key is not None:
            given = f"a list of {len(inputs)}" + (" and a `key`" if key is not None else "")
            raise ValueError(
                f"{name} takes a list of `[query, value]` or `[query, value, key]` (the key inside the "
                f"list); received {given}."
            )
        return (*inputs, None)[:3]

    def _masks_from_keras_attention_form(self, kwargs):
        """`kwargs` with `mask=[query_mask, value_mask]` (`keras.layers.Attention`'s) given by name."""
        name = type(self).__name__
        kwargs = dict(kwargs)
        mask = kwargs.pop("mask")
        if mask is None:
            return kwargs
        if not isinstance(mask, (list, tuple)) or len(mask) != 2:
            raise ValueError(f"{name}: `mask` must be `[query_mask, value_mask]` (either may be None).")
        for argument, given in zip(("query_mask", "value_mask"), mask):
            if given is None:
                continue
            if kwargs.get(argument) is not None:
                raise ValueError(f"{name}: `{argument}` is given twice, in `mask` and by name.")
            kwargs[argument] = given
        return kwargs

    def build(self, query_shape, value_shape, key_shape=None):
        self.built = True

    def project_keys(self, key: Tensor) -> Tensor:
        """The part of the score that depends on the keys alone; identity here.

        Args:
            key: `(batch_size, Tk, dim_k)`.

        Returns:
            What `score` takes as its `keys` argument.
        """
        return key

    def score(self, query: Tensor, keys: Tensor) -> Tensor:
        """Unnormalized scores `(batch_size, Tq, Tk)` of `query` against `project_keys(key)`."""
        raise NotImplementedError(f"{type(self).__name__} must implement `score(query, keys)`.")

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
        for name, tensor in (("query", query), ("value", value), ("key", key)):
            if tensor is not None and len(tensor.shape) != 3:
                raise ValueError(
                    f"{type(self).__name__} takes 3-D `query` `(batch_size, Tq, dim)`, `value` and `key` "
                    f"`(batch_size, Tk, dim)`; received `{name}` of shape {tuple(tensor.shape)}. For one "
                    "query or key per row, add a time axis: `keras.ops.expand_dims(x, 1)`."
                )
        self._check_shapes(query, value, key, query_mask, value_mask)
        keys = self.project_keys(value if key is None else key)
        return self.attend(
            query,
            value,
            keys,
            query_mask=query_mask,
            value_mask=value_mask,
            use_causal_mask=use_causal_mask,
            return_attention_scores=return_attention_scores,
            training=training,
        )

    def _check_shapes(self, query, value, key, query_mask, value_mask):
        """`ValueError` where static shapes disagree, before a kernel fails on them less clearly."""
        value_batch, tk = value.shape[0], value.shape[1]
        checks = (
            ("key", key, (value_batch, tk), "`(batch_size, Tk, dim)`, as `value`"),
            ("query_mask", query_mask, (query.shape[0], query.shape[1]), "`(batch_size, Tq)`"),
            ("value_mask", value_mask, (value_batch, tk), "`(batch_size, Tk)` or `(1, Tk)`"),
        )
        for name, tensor, expected, form in checks:
            shape = getattr(tensor, "shape", None)
            if shape is None:
                continue
            if name == "value_mask" and len(shape) == 2 and shape[0] == 1:
                expected = (1, tk)  # one mask for every row
            if len(shape) < 2 or not all(_compatible(a, b) for a, b in zip(shape[:2], expected)):
                raise ValueError(
                    f"{type(self).__name__}: `{name}` must be {form}, {expected} here; "
                    f"received shape {tuple(shape)}."
                )

    def attend(
        self,
        query: Tensor,
        value: Tensor,
        keys: Tensor,
        query_mask: Tensor | None = None,
        value_mask: Tensor | None = None,
        use_causal_mask: bool = False,
        return_attention_scores: bool = False,
        training: bool | None = None,
    ) -> Tensor | tuple[Tensor, Tensor]:
        """`call` with the keys already projected by `project_keys`."""
        scores = self.score(query, keys)  # (batch, Tq, Tk)
        allowed = attention_mask(
            ops.shape(scores)[1], ops.shape(scores)[2], query_mask, value_mask, use_causal_mask
        )
        weights = masked_softmax(scores, allowed)
        dropped = self.dropout_layer(weights, training=training)
        output = ops.matmul(dropped, ops.cast(value, dropped.dtype))  # (batch, Tq, dim_v)
        if return_attention_scores:
            return output, weights
        return output

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
