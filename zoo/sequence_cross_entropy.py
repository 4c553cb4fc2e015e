"""Cross-entropy over target tokens, with optional label smoothing."""

import keras
from keras import ops

from zoo.api_export import zoo_export


@zoo_export("SequenceCrossEntropy")
class SequenceCrossEntropy(keras.losses.Loss):
    """Sparse categorical cross-entropy from logits, with label smoothing.

    With smoothing `eps` the target distribution puts `1 - eps` on the
    reference token and spreads `eps` evenly over the whole vocabulary
    (Szegedy et al. 2016; the form used by fairseq and OpenNMT):

        loss = (1 - eps) * -log p(y) + eps * mean_v(-log p(v))

    computed with the fused sparse softmax cross-entropy kernel (whose
    gradient is `softmax - one_hot`, with no gather to back-propagate through)
    and, for smoothing, `mean_v(-log p(v)) = logsumexp(z) - mean(z)` of the
    logits `z`; no one-hot or log-probability tensor is built.
    Padding is left out by the `sample_weight` the preprocessor gives (0 for
    padding), and the default reduction averages over real tokens only.

    The plain per-token cross-entropy of the last call is kept (see
    `token_nll`), so that `Perplexity(loss=...)` reads it instead of running
    a second softmax over the vocabulary in the same training step.

    Args:
        label_smoothing: float in `[0, 1)`; 0 is plain cross-entropy.
        reduction: Keras loss reduction; `"mean_with_sample_weight"`
            divides by the number of real target tokens.

    Call arguments:
        y_true: int `(batch_size, T)` reference token ids.
        y_pred: float `(batch_size, T, vocabulary_size)` logits.

    Example:

    >>> model.compile(loss=zoo.SequenceCrossEntropy(label_smoothing=0.1))
    """

    def __init__(
        self, label_smoothing=0.0, reduction="mean_with_sample_weight", name="sequence_cross_entropy"
    ):
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"`label_smoothing` must be in [0, 1), received {label_smoothing!r}.")
        super().__init__(reduction=reduction, name=name)
        self.label_smoothing = float(label_smoothing)
        self._inputs = None
        self._last = None

    def token_nll(self, y_true, y_pred):
        """`-log p(y_true)` per token `(batch, T)`: computed by the last call on these same tensors, else now."""
        if self._last is not None and self._last[0] is y_true and self._last[1] is y_pred:
            return self._last[2]
        return _token_nll(y_true, y_pred)

    def __call__(self, y_true, y_pred, sample_weight=None):
        self._inputs = (y_true, y_pred)  # before Keras converts them, as metrics receive them
        try:
            return super().__call__(y_true, y_pred, sample_weight)
        finally:
            self._inputs = None

    def call(self, y_true, y_pred):
        nll = _token_nll(y_true, y_pred)
        if self._inputs is not None:
            # Held for `token_nll` in the same step (the tensors are that step's).
            self._last = (*self._inputs, nll)
        logits = ops.cast(y_pred, "float32")  # (batch, T, vocab)
        if self.label_smoothing == 0.0:
            return nll
        uniform = ops.logsumexp(logits, axis=-1) - ops.mean(logits, axis=-1)
        return (1.0 - self.label_smoothing) * nll + self.label_smoothing * uniform

    def get_config(self):
        return {"label_smoothing": self.label_smoothing, "reduction": self.reduction, "name": self.name}


def _token_nll(y_true, y_pred):
    logits = ops.cast(y_pred, "float32")
    return ops.sparse_categorical_crossentropy(ops.cast(y_true, "int32"), logits, from_logits=True)
