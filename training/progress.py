"""Throughput in the progress bar: target tokens per second."""

import time

import keras


class TokensPerSecond(keras.callbacks.Callback):
    """Add `tokens_per_second` to the logs: real target tokens trained per second.

    Reads the `target_tokens` metric that `Translator.compile` adds by
    default (the epoch's count of non-padding target tokens so far) and
    replaces it in the logs by a rate, so Keras' progress bar, `History` and
    TensorBoard show tokens/s. The clock starts after each epoch's first
    step, so the rate leaves out graph tracing (seconds in the first epoch)
    and shows the steady speed. Put it before other callbacks that read the
    logs.
    """

    def __init__(self):
        super().__init__()
        self._start = None  # (time, tokens) after the epoch's first step
        self._last = None  # (time, tokens) after its latest step: validation is not counted

    def on_epoch_begin(self, epoch, logs=None):
        self._start = self._last = None

    def on_train_batch_end(self, batch, logs=None):
        if logs is None or "target_tokens" not in logs:
            return
        tokens = float(logs.pop("target_tokens"))
        now = time.perf_counter()
        if self._start is None:
            self._start = (now, tokens)
            return
        self._last = (now, tokens)
        logs["tokens_per_second"] = self._rate()

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        logs.pop("target_tokens", None)
        logs.pop("val_target_tokens", None)
        if self._last is not None:
            logs["tokens_per_second"] = self._rate()

    def _rate(self):
        return (self._last[1] - self._start[1]) / max(self._last[0] - self._start[0], 1e-9)
