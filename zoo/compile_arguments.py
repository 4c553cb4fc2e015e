"""What `Translator.compile` makes of the loss and metrics it is given: logits in, padding out."""

import inspect

import keras

from zoo.per_token_metric import PerTokenMetric
from zoo.token_accuracy import TokenAccuracy


def _reads_probabilities(resolved):
    """Whether a Keras loss or metric (an object or a function) takes `from_logits=False`."""
    if isinstance(resolved, (keras.losses.Loss, keras.metrics.Metric)):
        return getattr(resolved, "from_logits", None) is False
    try:
        parameter = inspect.signature(resolved).parameters.get("from_logits")
    except (TypeError, ValueError):  # a callable without a signature: the user's to know
        return False
    return parameter is not None and parameter.default is False


def check_loss_takes_logits(loss):
    """`ValueError` for a Keras loss that reads probabilities: a Translator outputs logits.

    `compile(loss="sparse_categorical_crossentropy")`, Keras' usual string,
    means `from_logits=False`: on logits it trains on a wrong objective
    without an error.
    """
    if _reads_probabilities(keras.losses.get(loss) if isinstance(loss, str) else loss):
        name = loss if isinstance(loss, str) else getattr(loss, "__name__", type(loss).__name__)
        raise ValueError(
            f"`loss={name!r}` reads probabilities, but a Translator outputs logits (no softmax). Leave "
            "loss='auto' (`zoo.SequenceCrossEntropy`, the mean over real target tokens, with "
            "`label_smoothing`), or pass `keras.losses.SparseCategoricalCrossentropy(from_logits=True, "
            "reduction='mean_with_sample_weight')`, the same mean (Keras' default reduction also counts "
            "the padding, weighted 0)."
        )


def with_token_metrics(weighted_metrics, metrics):
    """`weighted_metrics` with the user's `metrics` added, each read over real target tokens only.

    Keras gives its `metrics` no sample weights, so to them padding is a
    target like any other: `metrics=["accuracy"]`, as Keras' examples write
    it, counted every correctly predicted pad. Here `"accuracy"` (or `"acc"`)
    is `TokenAccuracy`, the default accuracy, kept once; a Keras mean metric
    or a function is read one token per row (`PerTokenMetric`), so every
    real token counts once; other `keras.metrics.Metric`s get the padding
    weights as they are.
    """
    if metrics is None:
        return weighted_metrics
    if isinstance(metrics, dict) or isinstance(weighted_metrics, dict):
        raise ValueError(
            "A Translator has one output: pass `metrics` and `weighted_metrics` as lists, not dicts by output name."
        )
    metrics = list(metrics) if isinstance(metrics, (list, tuple)) else [metrics]
    weighted_metrics = list(weighted_metrics or [])
    for metric in metrics:
        if isinstance(metric, str) and metric.lower() in ("accuracy", "acc"):
            if not any(isinstance(known, TokenAccuracy) for known in weighted_metrics):
                weighted_metrics.append(TokenAccuracy())
            continue
        resolved = keras.metrics.get(metric) if isinstance(metric, str) else metric
        if _reads_probabilities(resolved):
            name = metric if isinstance(metric, str) else getattr(metric, "name", type(metric).__name__)
            raise ValueError(
                f"Metric {name!r} reads probabilities, but a Translator outputs logits (no softmax): "
                "pass it with `from_logits=True`, as "
                "`keras.metrics.SparseCategoricalCrossentropy(from_logits=True)`. (The default "
                "metrics already include the perplexity, its exponential.)"
            )
        if callable(resolved) and not isinstance(resolved, keras.metrics.Metric):
            resolved = keras.metrics.MeanMetricWrapper(resolved, name=getattr(resolved, "__name__", None))
        if isinstance(resolved, keras.metrics.MeanMetricWrapper):
            resolved = PerTokenMetric(resolved)
        weighted_metrics.append(resolved)
    return weighted_metrics
