"""Keras' GRU layer, with a faster training loop where a backend provides one."""

from collections.abc import Callable

import keras

from keras_attention.api_export import keras_attention_export
from keras_attention.recurrent.training_loops import run_registered_loop

# Backend name -> the function `GRU` trains with on that backend; see
# `register_gru_training_loop`.
TRAINING_LOOPS: dict[str, Callable[..., tuple]] = {}


def register_gru_training_loop(backend: str, loop: Callable[..., tuple]) -> None:
    """Make `GRU` train with `loop` on `backend` (a `keras.backend.backend()` name).

    `keras_attention` is written with `keras.ops` only; a package that may
    use one backend's own ops registers a loop for it. `zoo` registers
    `zoo.tensorflow_gru.gru` for `"tensorflow"`.

    Args:
        backend: `"tensorflow"`, `"jax"` or `"torch"`.
        loop: `loop(inputs, initial_state, mask, kernel, recurrent_kernel,
            bias, go_backwards, zero_output_for_mask) -> (last_output,
            outputs, [state])`, the same results (and gradients) as Keras'
            loop for a GRU with `reset_after=True`, tanh and sigmoid. It may
            raise `NotImplementedError` to leave a call to Keras' loop.
    """
    TRAINING_LOOPS[backend] = loop


@keras_attention_export("GRU")
class GRU(keras.layers.GRU):
    """`keras.layers.GRU`, trained with a faster loop where one is registered.

    Keras differentiates its GRU loop op by op, so every step of the
    backward pass multiplies and accumulates the weight gradients. When
    training, this layer runs the loop registered for the current backend
    by `register_gru_training_loop` instead. Importing `zoo` registers one
    for TensorFlow on a CPU: Keras' forward step, a backward loop with one
    matmul per step, and the weight gradients computed once over all steps
    afterwards, as cuDNN does. Training `gru_luong` at the TensorFlow
    tutorial's size takes 1.12-1.19x the steps per second with it on 2 CPU cores
    (see `training/benchmarks/NOTES.md`).

    Everything else is Keras' GRU unchanged: inference, a backend with no
    loop registered, a GPU (where Keras runs cuDNN), and settings a loop
    does not cover (`reset_after=False`, other activations, no bias, dropout
    inside the layer, `unroll`, `stateful`, `use_cudnn=True`). The
    arguments, weights, masking, `go_backwards` and config are Keras', so
    weights saved from either layer load into the other.
    """

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if self.cell.reset_after:
            state = initial_state[0] if isinstance(initial_state, (list, tuple)) else initial_state
            results = run_registered_loop(self, TRAINING_LOOPS, sequences, state, mask, training)
            if results is not None:
                return results
        return super().inner_loop(sequences, initial_state, mask, training=training)
