"""How often the most likely token is the reference one."""

import tensorflow as tf

from zoo.api_export import zoo_export
from zoo.token_mean import TokenMean


@zoo_export("TokenAccuracy")
class TokenAccuracy(TokenMean):
    """The share of real target tokens where the logits' argmax is the reference token.

    What `keras.metrics.SparseCategoricalAccuracy` computes within a batch,
    with one argmax over the vocabulary, and over all batches every real
    token counts once (`TokenMean`; Keras' weighs a token by `1 / T`, its
    batch's padded length). Keras' `ops.argmax` on floats first rewrites `-0.0`
    entries (for JAX's flush-to-zero), four more passes over the `(batch, T,
    vocabulary)` logits that cost about 5% of a training step at 5,000
    words; logits never need that. Padding is left out through
    `sample_weight` (0 for padding).

    Call arguments (`update_state`):
        y_true: int `(batch_size, T)` reference token ids.
        y_pred: float `(batch_size, T, vocabulary_size)` logits.
        sample_weight: float `(batch_size, T)`, 0 for padding.
    """

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        predicted = tf.argmax(y_pred, axis=-1, output_type=tf.int32)
        matches = tf.cast(tf.equal(predicted, tf.cast(y_true, tf.int32)), self.dtype)
        super().update_state(matches, sample_weight=sample_weight)
