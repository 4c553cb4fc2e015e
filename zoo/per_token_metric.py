"""A Keras mean metric that counts every real target token once."""

import keras
from keras import ops

from zoo.api_export import zoo_export


@zoo_export("PerTokenMetric")
class PerTokenMetric(keras.metrics.Metric):
    """A Keras mean metric read with one row per target token, so that every real token counts once.

    Keras' `MeanMetricWrapper` metrics (`SparseTopKCategoricalAccuracy`, a
    function given to `compile`) average a `(batch_size, T)` batch's values
    per row first, and across batches count each token `1 / T` (see
    `TokenMean`). Here the batch is read as `batch_size * T` rows of one
    token each, with the token's weight (0 for padding), so the figure is
    the weighted mean over every real token. `Translator.compile` wraps the
    `metrics` it is given in this.

    Args:
        metric: a `keras.metrics.MeanMetricWrapper` whose function gives one
            value per token from `y_true` `(rows,)` and `y_pred`
            `(rows, vocabulary_size)`.
    """

    def __init__(self, metric, name=None, dtype=None):
        if isinstance(metric, dict):  # from `get_config`
            metric = keras.saving.deserialize_keras_object(metric)
        if not isinstance(metric, keras.metrics.MeanMetricWrapper):
            raise TypeError(
                "PerTokenMetric reads a keras.metrics.MeanMetricWrapper (a mean of one value per "
                f"token), not {type(metric).__name__}."
            )
        super().__init__(name=name or metric.name, dtype=dtype or metric.dtype)
        self.metric = metric
        if hasattr(metric, "_direction"):  # what callbacks in mode "auto" read: whether lower is better
            self._direction = metric._direction

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.reshape(y_true, (-1,))
        y_pred = ops.reshape(y_pred, (-1, ops.shape(y_pred)[-1]))
        if sample_weight is not None:
            sample_weight = ops.reshape(sample_weight, (-1,))
        self.metric.update_state(y_true, y_pred, sample_weight=sample_weight)

    def result(self):
        return self.metric.result()

    def reset_state(self):
        self.metric.reset_state()

    def get_config(self):
        return {**super().get_config(), "metric": keras.saving.serialize_keras_object(self.metric)}
