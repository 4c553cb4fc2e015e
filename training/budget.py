"""Train for a wall-clock budget instead of a number of epochs."""

import math
import time

import keras


class TimeBudget(keras.callbacks.Callback):
    """Stop training once `seconds` of wall-clock time have passed; anneal the learning rate over them.

    The clock starts when `fit` starts training (after the data is
    prepared) and is read after every step, so training stops within one
    step of the budget. With `peak_learning_rate`, the rate follows a cosine
    from the peak to 0 over the budget's time, not over a step count that
    would have to be guessed in advance: a run given 15 minutes anneals
    fully in 15 minutes on any machine. The optimizer must then have been
    built with a plain float learning rate, which this callback overwrites
    before every step.

    Args:
        seconds: float > 0, the budget.
        peak_learning_rate: float, or None to leave the learning rate alone.
        warmup_steps: int, steps of linear warm-up from 0 to the peak.
        min_steps: int, steps trained even past the budget: a measurement
            needs a few, however slow the machine. `elapsed` then says by
            how much the budget was overrun, and with annealing those extra
            steps run at the cosine's end, a learning rate of 0.

    Attributes:
        steps: int, steps trained when the budget ran out (or `fit` ended).
        elapsed: float, seconds trained.
    """

    def __init__(self, seconds, peak_learning_rate=None, warmup_steps=0, min_steps=0):
        super().__init__()
        if not seconds > 0:
            raise ValueError(f"`seconds` must be > 0, received {seconds}.")
        if peak_learning_rate is not None and not peak_learning_rate > 0:
            raise ValueError(f"`peak_learning_rate` must be > 0, received {peak_learning_rate}.")
        if warmup_steps < 0:
            raise ValueError(f"`warmup_steps` must be >= 0, received {warmup_steps}.")
        if min_steps < 0:
            raise ValueError(f"`min_steps` must be >= 0, received {min_steps}.")
        self.seconds = float(seconds)
        self.warmup_steps = int(warmup_steps)
        self.min_steps = int(min_steps)
        self.peak_learning_rate = peak_learning_rate
        self.steps = 0
        self.elapsed = 0.0
        self._start = None

    def on_train_begin(self, logs=None):
        self._start = time.perf_counter()
        self.steps, self.elapsed = 0, 0.0
        if self.peak_learning_rate is not None and not isinstance(
            self.model.optimizer.learning_rate, keras.Variable
        ):
            raise ValueError(
                "TimeBudget anneals the learning rate itself: compile with a float learning rate, "
                "not a schedule."
            )

    def on_train_batch_begin(self, batch, logs=None):
        if self.peak_learning_rate is not None:
            fraction = min(self._elapsed() / self.seconds, 1.0)
            warmup = min(1.0, (self.steps + 1) / self.warmup_steps) if self.warmup_steps else 1.0
            cosine = 0.5 * (1.0 + math.cos(math.pi * fraction))
            self.model.optimizer.learning_rate = self.peak_learning_rate * warmup * cosine

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        self.elapsed = self._elapsed()
        if self.elapsed >= self.seconds and self.steps >= self.min_steps:
            self.model.stop_training = True

    def _elapsed(self):
        return time.perf_counter() - self._start
