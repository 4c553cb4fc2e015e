"""The one table that maps a cell-type name to a Keras recurrent layer."""

import keras

# Keras' own layers: they run the fused (cuDNN) kernel on a GPU and keep the
# state of padded steps unchanged when given a mask.
RNN_TYPES = {
    "rnn": keras.layers.SimpleRNN,
    "lstm": keras.layers.LSTM,
    "gru": keras.layers.GRU,
}


def get_rnn_class(cell_type):
    """The Keras recurrent layer class for `cell_type`; `ValueError` for others."""
    if cell_type not in RNN_TYPES:
        raise ValueError(
            f"Unknown `cell_type`: {cell_type!r}. Expected one of {', '.join(map(repr, RNN_TYPES))}."
        )
    return RNN_TYPES[cell_type]


def num_states(cell_type):
    """How many state tensors one layer of `cell_type` carries (LSTM: h and c)."""
    return 2 if get_rnn_class(cell_type) is keras.layers.LSTM else 1


def check_stack_args(cell_type, units, num_layers, dropout):
    """Validate the arguments every recurrent stack takes; `ValueError` naming the bad one."""
    get_rnn_class(cell_type)
    if units < 1 or num_layers < 1:
        raise ValueError(
            f"`units` and `num_layers` must be >= 1; received units={units}, num_layers={num_layers}."
        )
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"`dropout` must be in [0, 1), received dropout={dropout}")


def build_rnn_stack(cell_type, units, num_layers, inputs_shape, dtype=None):
    """`num_layers` built recurrent layers returning sequences and states.

    Returns the layers and the output shape of the top one.
    """
    rnn_class = get_rnn_class(cell_type)
    layers = []
    shape = tuple(inputs_shape)
    for i in range(num_layers):
        layer = rnn_class(
            units, return_sequences=True, return_state=True, dtype=dtype, name=f"{cell_type}_{i}"
        )
        layer.build(shape)
        layers.append(layer)
        shape = shape[:-1] + (units,)
    return layers, shape
