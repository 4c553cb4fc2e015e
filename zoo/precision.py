"""The precision a model computes in: float32, or one of Keras' mixed-precision policies."""

import contextlib

import keras

# What `zoo.load(dtype=...)` accepts: float32 and Keras' two mixed-precision policies.
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")


def check_precision(dtype):
    """Raise `ValueError` unless `dtype` is one of `PRECISIONS`."""
    if dtype not in PRECISIONS:
        raise ValueError(f"Unknown `dtype` {dtype!r}. Expected one of {', '.join(map(repr, PRECISIONS))}.")


@contextlib.contextmanager
def computing_in(policy):
    """Build the layers made inside the block in the dtype policy named `policy`.

    Keras gives a layer the global dtype policy when it is made, so the
    policy is set for the block and put back after it.
    """
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
