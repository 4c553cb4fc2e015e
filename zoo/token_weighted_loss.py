"""The loss a `Translator` reports: a mean over real target tokens."""

from zoo.per_thread import PerThread
from zoo.token_mean import TokenMean


class TokenWeightedLoss(TokenMean):
    """Keras' loss tracker, each batch weighed by its real target tokens instead of its rows.

    Keras averages the batches' losses weighted by their number of pairs.
    A batch's loss is already a mean over its tokens, so that average leans
    toward batches of short sentences; this one is the mean over every
    token, the figure `Perplexity` exponentiates (the same, without label
    smoothing). `Translator` sets `batch_tokens` around each step.
    """

    batch_tokens = PerThread()  # per thread: `tf.distribute` traces each replica's step in its own

    def update_state(self, values, sample_weight=None):
        super().update_state(values, self.batch_tokens if self.batch_tokens is not None else sample_weight)
