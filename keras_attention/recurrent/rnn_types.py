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
