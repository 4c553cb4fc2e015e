"""Throughput in the progress bar: target tokens per second."""

import time

import keras


class TokensPerSecond(keras.callbacks.Callback):
    """Add `tokens_per_second` to the logs: real target tokens trained per second.

    Reads the `target_tokens` metric that `Translator.compile` adds by
    default (the epoch's count of non-padding target tokens so far) and
    replaces it in the logs by the rate since the epoch began, so Keras'
    progress bar, `History` and TensorBoard show tokens/s. Put it before
    other callbacks that read the logs.
    """

    def __init__(self):
        super().__init__()
        self._started = None

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self._replace(logs)

    def on_epoch_end(self, epoch, logs=None):
        self._replace(logs)
        if logs is not None:
            logs.pop("val_target_tokens", None)

    def _replace(self, logs):
        if logs is None or "target_tokens" not in logs or self._started is None:
            return
        elapsed = max(time.perf_counter() - self._started, 1e-9)
        logs["tokens_per_second"] = float(logs.pop("target_tokens")) / elapsed
