"""Keras' LSTM layer, with a faster training loop where a backend provides one."""

from collections.abc import Callable

import keras

from keras_attention.api_export import keras_attention_export
from keras_attention.recurrent.training_loops import run_registered_loop

# Backend name -> the function `LSTM` trains with on that backend; see
# `register_lstm_training_loop`.
TRAINING_LOOPS: dict[str, Callable[..., tuple]] = {}


def register_lstm_training_loop(backend: str, loop: Callable[..., tuple]) -> None:
    """Make `LSTM` train with `loop` on `backend` (a `keras.backend.backend()` name).

    `keras_attention` is written with `keras.ops` only; a package that may
    use one backend's own ops registers a loop for it. `zoo` registers
    `zoo.tensorflow_lstm.lstm` for `"tensorflow"`.

    Args:
        backend: `"tensorflow"`, `"jax"` or `"torch"`.
        loop: `loop(inputs, [h0, c0], mask, kernel, recurrent_kernel, bias,
            go_backwards, zero_output_for_mask) -> (last_output, outputs,
            [h, c])`, the same results (and gradients) as Keras' loop for an
            LSTM with tanh and sigmoid. It may raise `NotImplementedError` to
            leave a call to Keras' loop.
    """
    TRAINING_LOOPS[backend] = loop


@keras_attention_export("LSTM")
class LSTM(keras.layers.LSTM):
    """`keras.layers.LSTM`, trained with a faster loop where one is registered.

    The LSTM counterpart of `keras_attention.GRU`: when training, it runs
    the loop registered for the current backend by
    `register_lstm_training_loop`. Importing `zoo` registers one for
    TensorFlow on a CPU, with Keras' forward step and a backward loop of one
    matmul per step; the weight gradients are computed once over all steps
    afterwards, as cuDNN does. Training `lstm_luong` at the TensorFlow
    tutorial's size takes 1.09-1.16x the steps per second with it on 2 CPU
    cores (see `training/benchmarks/NOTES.md`).

    Everything else is Keras' LSTM unchanged: inference, a backend with no
    loop registered, a GPU (where Keras runs cuDNN), and settings a loop
    does not cover (other activations, no bias, dropout inside the layer,
    `implementation=1`, `unroll`, `stateful`, `use_cudnn=True`). The
    arguments, weights, masking, `go_backwards` and config are Keras', so
    weights saved from either layer load into the other.
    """

    def inner_loop(self, sequences, initial_state, mask, training=False):
        # Keras' `implementation=1` computes the gates with separate matmuls,
        # which rounds differently from the registered loops' one.
        if self.cell.implementation == 2:
            results = run_registered_loop(
                self, TRAINING_LOOPS, sequences, list(initial_state), mask, training
            )
            if results is not None:
                return results
        return super().inner_loop(sequences, initial_state, mask, training=training)
