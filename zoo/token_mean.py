"""A mean over tokens, whatever the lengths of the batches."""

import keras
from keras import ops


class TokenMean(keras.metrics.Mean):
    """`sum(values * weights) / sum(weights)` over every token of every batch.

    Keras' `Mean` reads a `(batch_size, T)` weight as one weight per row (its
    mean over `T`) and the values as their row means, so within a batch it
    gives the weighted mean, but across batches each token counts `1 / T`:
    tokens of batches padded to short lengths weigh more. With length
    bucketing every batch has its own `T`, so the epoch's figure leaned
    toward short sentences. Here every real token counts once.

    Call arguments (`update_state`):
        values: float `(batch_size, T)`, a value per token.
        sample_weight: float `(batch_size, T)`, 0 for padding; all ones when
            omitted.
    """

    def update_state(self, values, sample_weight=None):
        values = ops.cast(values, self.dtype)
        if sample_weight is None:
            self.total.assign_add(ops.sum(values))
            self.count.assign_add(ops.cast(ops.size(values), self.dtype))
            return
        sample_weight = ops.cast(sample_weight, self.dtype)
        self.total.assign_add(ops.sum(values * sample_weight))
        self.count.assign_add(ops.sum(sample_weight))
