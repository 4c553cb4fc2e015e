"""Cross-entropy over target tokens, with optional label smoothing."""

import keras
import tensorflow as tf

from keras_attention.annotations import Tensor
from zoo.api_export import zoo_export
from zoo.per_thread import PerThread


@zoo_export("SequenceCrossEntropy")
class SequenceCrossEntropy(keras.losses.Loss):
    """Sparse categorical cross-entropy from logits, with label smoothing.

    With smoothing `eps` the target distribution puts `1 - eps` on the
    reference token and spreads `eps` evenly over the whole vocabulary
    (Szegedy et al. 2016; the form used by fairseq and OpenNMT):

        loss = (1 - eps) * -log p(y) + eps * mean_v(-log p(v))
             = logsumexp(z) - (1 - eps) * z_y - eps * mean(z)

    for the logits `z`. One softmax of the logits serves the loss and its
    gradient, `softmax(z) - (1 - eps) * one_hot(y) - eps / V`, written
    directly (see `token_losses`): no log-probability tensor is built and no
    second pass recomputes the softmax. Padding is left out by the
    `sample_weight` the preprocessor gives (0 for padding), and the default
    reduction averages over real tokens only.

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

    # This trace's inputs, while Keras runs `call` on them, and its last
    # `(y_true, y_pred, nll)`: per thread, since `tf.distribute` traces each
    # replica's step in its own thread (see `PerThread`).
    _inputs = PerThread()
    _last = PerThread()

    def __init__(
        self, label_smoothing=0.0, reduction="mean_with_sample_weight", name="sequence_cross_entropy"
    ):
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"`label_smoothing` must be in [0, 1), received {label_smoothing!r}.")
        super().__init__(reduction=reduction, name=name)
        self.label_smoothing = float(label_smoothing)

    def token_nll(self, y_true: Tensor, y_pred: Tensor) -> Tensor:
        """`-log p(y_true)` per token `(batch, T)`: computed by the last call on these same tensors, else now."""
        if self._last is not None and self._last[0] is y_true and self._last[1] is y_pred:
            return self._last[2]
        return token_losses(y_true, y_pred)[1]

    def __call__(self, y_true, y_pred, sample_weight=None):
        self._inputs = (y_true, y_pred)  # before Keras converts them, as metrics receive them
        try:
            return super().__call__(y_true, y_pred, sample_weight)
        finally:
            self._inputs = None

    def call(self, y_true, y_pred):
        loss, nll = token_losses(y_true, y_pred, self.label_smoothing)
        if self._inputs is not None:
            # Held for `token_nll` in the same step (the tensors are that step's).
            self._last = (*self._inputs, nll)
        return loss

    def get_config(self):
        return {"label_smoothing": self.label_smoothing, "reduction": self.reduction, "name": self.name}


def token_losses(y_true: Tensor, y_pred: Tensor, label_smoothing: float = 0.0) -> tuple[Tensor, Tensor]:
    """The smoothed cross-entropy and `-log p(y)` per token, from one softmax.

    TensorFlow's fused sparse cross-entropy kernel, with a log-sum-exp
    beside it for the smoothing, took about 17 ms forward and backward over
    `(64, 11, 5,000)` logits on 2 cores; this takes about 7: oneDNN's softmax
    is one vectorized pass, the log-sum-exp comes from it (the largest
    probability is `exp(max(z) - logsumexp(z))`, never below `1 / V`, so
    nothing underflows), and the gradient is written from the same softmax
    instead of being derived through a second one.

    Args:
        y_true: int `(...)` token ids.
        y_pred: float `(..., vocabulary_size)` logits, any float dtype.
        label_smoothing: float in `[0, 1)`.

    Returns:
        `(loss, nll)`: float32, shaped like `y_true`.
    """
    labels = tf.cast(y_true, tf.int32)
    logits = tf.cast(y_pred, tf.float32)
    vocabulary_size = tf.shape(logits)[-1]
    loss, nll = _flat_token_losses(
        tf.reshape(logits, [-1, vocabulary_size]), tf.reshape(labels, [-1]), float(label_smoothing)
    )
    return tf.reshape(loss, tf.shape(labels)), tf.reshape(nll, tf.shape(labels))


def _flat_token_losses(logits, labels, eps):
    @tf.custom_gradient
    def losses(logits):
        vocabulary_size = tf.cast(tf.shape(logits)[-1], tf.float32)
        probabilities = tf.nn.softmax(logits)  # (rows, V)
        log_sum_exp = tf.reduce_max(logits, -1) - tf.math.log(tf.reduce_max(probabilities, -1))
        at_label = tf.stack([tf.range(tf.shape(labels)[0]), labels], axis=1)  # (rows, 2)
        label_logits = tf.gather_nd(logits, at_label)
        nll = log_sum_exp - label_logits
        loss = nll
        if eps:
            loss = log_sum_exp - (1.0 - eps) * label_logits - eps * tf.reduce_mean(logits, -1)

        def gradient(d_loss, d_nll):
            # d loss / dz = p - (1 - eps) one_hot - eps / V; d nll / dz = p - one_hot.
            d_loss = tf.zeros_like(loss) if d_loss is None else d_loss
            d_nll = tf.zeros_like(nll) if d_nll is None else d_nll
            d_logits = probabilities * (d_loss + d_nll)[:, None]
            if eps:
                d_logits -= (eps / vocabulary_size) * d_loss[:, None]
            return tf.tensor_scatter_nd_sub(d_logits, at_label, (1.0 - eps) * d_loss + d_nll)

        return (loss, nll), gradient

    return losses(logits)
