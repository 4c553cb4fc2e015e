"""The one table that maps a cell-type name to a Keras recurrent layer."""

import keras

from keras_attention.checks import check_dropout, check_int
from keras_attention.recurrent.gru import GRU
from keras_attention.recurrent.lstm import LSTM

# Keras' own layers: they run the fused (cuDNN) kernel on a GPU and keep the
# state of padded steps unchanged when given a mask. The GRU and the LSTM
# are Keras' with a faster training loop where a backend registers one (see
# `GRU` and `LSTM`).
RNN_TYPES = {
    "rnn": keras.layers.SimpleRNN,
    "lstm": LSTM,
    "gru": GRU,
}


def get_rnn_class(cell_type: str) -> type[keras.layers.RNN]:
    """The Keras recurrent layer class for `cell_type`; `ValueError` for others."""
    if cell_type not in RNN_TYPES:
        raise ValueError(
            f"Unknown `cell_type`: {cell_type!r}. Expected one of {', '.join(map(repr, RNN_TYPES))}."
        )
    return RNN_TYPES[cell_type]


def num_states(cell_type: str) -> int:
    """How many state tensors one layer of `cell_type` carries (LSTM: h and c)."""
    return 2 if issubclass(get_rnn_class(cell_type), keras.layers.LSTM) else 1


# How a bidirectional layer merges its two directions (outputs and final
# states alike): "concat" gives each direction `units // 2` and concatenates
# them (OpenNMT's `brnn`), "sum" gives each `units` and adds them (the
# TensorFlow NMT tutorial). Either way the merged size is `units`, the size
# of a decoder layer.
MERGE_MODES = ("concat", "sum")


def check_stack_args(cell_type, units, num_layers, dropout, bidirectional=False, merge_mode="concat"):
    """Validate the arguments every recurrent stack takes; `ValueError` naming the bad one."""
    get_rnn_class(cell_type)
    check_int("units", units, 1)
    check_int("num_layers", num_layers, 1)
    if merge_mode not in MERGE_MODES:
        raise ValueError(
            f"Unknown `merge_mode`: {merge_mode!r}. Expected one of {', '.join(map(repr, MERGE_MODES))}."
        )
    if bidirectional and merge_mode == "concat" and units % 2:
        raise ValueError(
            f"A bidirectional stack with merge_mode='concat' gives each direction units // 2, "
            f"so `units` must be even; received units={units}."
        )
    check_dropout(dropout)


def build_rnn_stack(
    cell_type, units, num_layers, inputs_shape, bidirectional=False, merge_mode="concat", dtype=None
):
    """`num_layers` built recurrent layers returning sequences and states.

    With `bidirectional=True` each layer is a `keras.layers.Bidirectional`
    whose merged output has `units` features (see `MERGE_MODES`).

    Returns the layers and the output shape of the top one.
    """
    rnn_class = get_rnn_class(cell_type)
    direction_units = units // 2 if bidirectional and merge_mode == "concat" else units
    layers = []
    shape = tuple(inputs_shape)
    for i in range(num_layers):
        layer = rnn_class(
            direction_units, return_sequences=True, return_state=True, dtype=dtype, name=f"{cell_type}_{i}"
        )
        if bidirectional:
            layer = keras.layers.Bidirectional(
                layer, merge_mode=merge_mode, dtype=dtype, name=f"bidirectional_{cell_type}_{i}"
            )
        layer.build(shape)
        layers.append(layer)
        shape = shape[:-1] + (units,)
    return layers, shape
