"""Learning-rate schedules, by name: constant, cosine and inverse square root, with warm-up."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="training")
class InverseSquareRoot(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up to `peak`, then decay with `1 / sqrt(step)`.

    The Transformer schedule of Vaswani et al. 2017 (eq. 3), written with
    the peak rate instead of `d_model ** -0.5`:
    `peak * min(step / warmup, sqrt(warmup / step))`, for steps from 1.

    Args:
        peak: float, the rate reached at the end of warm-up.
        warmup_steps: int >= 1.
    """

    def __init__(self, peak, warmup_steps):
        if warmup_steps < 1:
            raise ValueError(f"`warmup_steps` must be >= 1 for inverse_sqrt, received {warmup_steps}.")
        self.peak = float(peak)
        self.warmup_steps = int(warmup_steps)

    def __call__(self, step):
        step = ops.cast(step, "float32") + 1.0
        warmup = float(self.warmup_steps)
        return self.peak * ops.minimum(step / warmup, ops.sqrt(warmup / step))

    def get_config(self):
        return {"peak": self.peak, "warmup_steps": self.warmup_steps}


def _constant(peak, warmup_steps, total_steps):
    if warmup_steps == 0:
        return peak
    # A cosine "decay" to the same rate is a constant after warm-up.
    return keras.optimizers.schedules.CosineDecay(
        0.0, decay_steps=1, alpha=1.0, warmup_target=peak, warmup_steps=warmup_steps
    )


def _cosine(peak, warmup_steps, total_steps):
    # Decaying the rate avoids the late loss spikes of a constant 1e-3.
    decay_steps = max(1, total_steps - warmup_steps)
    if warmup_steps == 0:
        return keras.optimizers.schedules.CosineDecay(peak, decay_steps=decay_steps, alpha=0.05)
    return keras.optimizers.schedules.CosineDecay(
        0.0, decay_steps=decay_steps, alpha=0.05, warmup_target=peak, warmup_steps=warmup_steps
    )


def _inverse_sqrt(peak, warmup_steps, total_steps):
    return InverseSquareRoot(peak, max(1, warmup_steps))


SCHEDULES = {"constant": _constant, "cosine": _cosine, "inverse_sqrt": _inverse_sqrt}


def learning_rate_schedule(
    name: str, peak: float, warmup_steps: int = 0, total_steps: int = 1
) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """The schedule `name` (a key of `SCHEDULES`) rising linearly to `peak` over `warmup_steps`.

    Args:
        name: "constant", "cosine" (to 5% of `peak` at `total_steps`) or
            "inverse_sqrt" (the Transformer schedule).
        peak: float > 0, the highest learning rate.
        warmup_steps: int >= 0, optimizer steps of linear warm-up from 0.
        total_steps: int, the steps of the whole run (for "cosine").

    Returns:
        A float or a `keras.optimizers.schedules.LearningRateSchedule`.
    """
    if name not in SCHEDULES:
        raise ValueError(f"Unknown learning-rate schedule {name!r}. Expected one of {', '.join(SCHEDULES)}.")
    if not peak > 0:
        raise ValueError(f"The learning rate must be > 0, received {peak!r}.")
    if not isinstance(warmup_steps, int) or warmup_steps < 0:
        raise ValueError(f"`warmup_steps` must be an int >= 0, received {warmup_steps!r}.")
    return SCHEDULES[name](float(peak), warmup_steps, total_steps)
