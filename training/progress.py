"""Throughput: target tokens per second in the progress bar, and a per-step timer."""

import statistics
import time
import warnings

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
        self._warned = False

    def on_epoch_begin(self, epoch, logs=None):
        self._start = self._last = None

    def on_train_batch_end(self, batch, logs=None):
        if logs is None:
            return
        if "target_tokens" not in logs:
            if not self._warned:
                self._warned = True
                warnings.warn(
                    "TokensPerSecond: there is no `target_tokens` metric in the logs to count tokens "
                    "by, so no tokens_per_second is reported. Compile with the default "
                    "`weighted_metrics`, or add `zoo.TargetTokens()` to them.",
                    stacklevel=2,
                )
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


class StepTimer(keras.callbacks.Callback):
    """Time every training step after a warm-up, with the real target tokens it trained.

    For benchmarks: the first `warmup_steps` steps (graph tracing, caches
    filling) are left out, as the peers do. Reads the `target_tokens` metric
    (see `TokensPerSecond`); put it before `TokensPerSecond`, which removes it.
    """

    def __init__(self, warmup_steps=20):
        super().__init__()
        self.warmup_steps = warmup_steps
        self.steps = 0
        self.times, self.tokens = [], []  # per measured step
        self._previous = None
        self._epoch_tokens = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_tokens = 0.0  # the target_tokens metric restarts every epoch
        self._previous = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        now = time.perf_counter()
        tokens = float(logs["target_tokens"])
        step_tokens, self._epoch_tokens = tokens - self._epoch_tokens, tokens
        self.steps += 1
        if self.steps > self.warmup_steps:
            self.times.append(now - self._previous)
            self.tokens.append(step_tokens)
        self._previous = now

    def figures(self) -> dict[str, float]:
        """Steps/s, target tokens/s and the median step time over the measured steps."""
        if not self.times:
            raise ValueError(
                f"Training ran {self.steps} steps, no more than the {self.warmup_steps} warm-up steps; "
                "nothing was measured. Train longer."
            )
        seconds = sum(self.times)
        return {
            "measured_steps": len(self.times),
            "measured_seconds": seconds,
            "steps_per_second": len(self.times) / seconds,
            "target_tokens_per_second": sum(self.tokens) / seconds,
            "step_ms_median": 1000 * statistics.median(self.times),
        }
