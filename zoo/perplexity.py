"""Perplexity of the reference target tokens."""

from keras import ops

from zoo.annotations import Tensor
from zoo.api_export import zoo_export
from zoo.sequence_cross_entropy import SequenceCrossEntropy
from zoo.token_mean import TokenMean


@zoo_export("Perplexity")
class Perplexity(TokenMean):
    """`exp` of the mean cross-entropy per real target token, over all batches (`TokenMean`).

    Always the plain (unsmoothed) cross-entropy, so the figure is comparable
    across runs whatever label smoothing the loss uses. Padding is left out
    through `sample_weight` (0 for padding).

    Call arguments (`update_state`):
        y_true: int `(batch_size, T)` reference token ids.
        y_pred: float `(batch_size, T, vocabulary_size)` logits.
        sample_weight: float `(batch_size, T)`, 0 for padding.
    """

    def __init__(self, loss=None, name="perplexity", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self._loss = loss if loss is not None else SequenceCrossEntropy()

    def update_state(self, y_true, y_pred, sample_weight=None):
        super().update_state(self._loss.token_nll(y_true, y_pred), sample_weight=sample_weight)

    def result(self):
        return ops.exp(super().result())

    def cross_entropy(self) -> Tensor:
        """The mean cross-entropy behind `result()`: its log, also where float32's `exp` is inf (past 88.7)."""
        return super().result()
