"""Where a recurrent layer trains with a loop that a backend-specific package registered."""

import keras


def run_registered_loop(layer, loops, sequences, initial_state, mask, training):
    """The results of the loop registered in `loops` for the current backend, or `None`.

    `None` leaves the call to Keras' own loop: when not training, when no
    loop is registered for the backend, when `layer` has settings a loop
    does not compute (`uses_registered_loop`), and when the loop itself
    raises `NotImplementedError` (on a GPU, where Keras runs cuDNN).

    Args:
        layer: a Keras recurrent layer (`keras_attention.GRU` or `LSTM`).
        loops: backend name -> loop, the layer class's registry.
        sequences: `(batch_size, T, input_dim)`.
        initial_state: the state as the loop takes it (one tensor, or a list).
        mask: optional bool `(batch_size, T)`, or a list holding it.
        training: whether this is a training call.
    """
    loop = loops.get(keras.backend.backend())
    if not (training and loop is not None and uses_registered_loop(layer)):
        return None
    if isinstance(mask, (list, tuple)):
        mask = mask[0]
    cell, dtype = layer.cell, sequences.dtype
    try:
        return loop(
            sequences,
            initial_state,
            mask,
            keras.ops.cast(cell.kernel, dtype),
            keras.ops.cast(cell.recurrent_kernel, dtype),
            keras.ops.cast(cell.bias, dtype),
            go_backwards=layer.go_backwards,
            zero_output_for_mask=layer.zero_output_for_mask,
        )
    except NotImplementedError:
        return None


def uses_registered_loop(layer):
    """Whether `layer` has the settings every registered loop computes.

    Those are Keras' defaults: tanh and sigmoid, a bias, no dropout inside
    the layer, not unrolled, not stateful, and cuDNN not demanded
    (`use_cudnn=True` is Keras' to honour or refuse).
    """
    cell = layer.cell
    return (
        not (layer.unroll or layer.stateful or cell.dropout or cell.recurrent_dropout)
        and layer.use_cudnn is not True
        and cell.use_bias
        and cell.activation is keras.activations.tanh
        and cell.recurrent_activation is keras.activations.sigmoid
    )
