"""How many real target tokens the model has read: the basis of tokens/s."""

import keras
from keras import ops

from zoo.api_export import zoo_export


@zoo_export("TargetTokens")
class TargetTokens(keras.metrics.Sum):
    """The number of non-padding target tokens seen since the last reset.

    Keras resets metrics at the start of every epoch, so during `fit` this
    is the epoch's token count so far; `training.progress.TokensPerSecond`
    turns it into a rate for the progress bar.

    Call arguments (`update_state`):
        y_true: int `(batch_size, T)` reference token ids (unused).
        y_pred: logits (unused).
        sample_weight: float `(batch_size, T)`, 1 for real tokens and 0 for
            padding.
    """

    def __init__(self, name="target_tokens", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        if sample_weight is None:
            count = ops.cast(ops.size(y_true), self.dtype)
        else:
            count = ops.sum(ops.cast(sample_weight, self.dtype))
        super().update_state(count)
