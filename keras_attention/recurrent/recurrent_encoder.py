"""A stack of recurrent layers of any cell type, for encoding a sequence."""

import keras

from keras_attention.api_export import keras_attention_export
from keras_attention.recurrent.rnn_types import build_rnn_stack, check_stack_args, num_states


@keras_attention_export("RecurrentEncoder")
class RecurrentEncoder(keras.layers.Layer):
    """Stacked recurrent encoder for any cell type.

    Runs `num_layers` recurrent layers of `cell_type` over an embedded
    sequence and returns the top layer's outputs together with every layer's
    final state, ready to initialize a `RecurrentDecoder` of the same shape.

    Args:
        cell_type: `"rnn"`, `"lstm"` or `"gru"` (see `RNN_TYPES`).
        units: int, the hidden size of every layer.
        num_layers: int, how many layers are stacked.
        dropout: float in `[0, 1)`, dropout between stacked layers.
        **kwargs: passed on to `keras.layers.Layer`.

    Call arguments:
        inputs: `(batch_size, T, dim)`.
        mask: optional boolean `(batch_size, T)`, `False` at padding. Padding
            must be on the right; a padded step leaves the state unchanged,
            so the final state is the one after the last real token.
        training: whether dropout is active.

    Returns:
        `(outputs, states)`: outputs `(batch_size, T, units)` and a list with
        one list of state tensors `(batch_size, units)` per layer (`[h]`, or
        `[h, c]` for LSTM).
    """

    def __init__(self, cell_type="gru", units=256, num_layers=1, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        check_stack_args(cell_type, units, num_layers, dropout)
        self.cell_type = cell_type
        self.units = units
        self.num_layers = num_layers
        self.dropout = dropout
        self.supports_masking = True

    def build(self, inputs_shape):
        self.dropout_layer = keras.layers.Dropout(self.dropout)
        self.rnn_layers, _ = build_rnn_stack(
            self.cell_type, self.units, self.num_layers, inputs_shape, dtype=self.dtype_policy
        )
        self.built = True

    def call(self, inputs, mask=None, training=None):
        x = inputs
        states = []
        for i, layer in enumerate(self.rnn_layers):
            if i > 0:
                x = self.dropout_layer(x, training=training)
            x, *layer_states = layer(x, mask=mask, training=training)
            states.append(layer_states)
        return x, states

    def compute_mask(self, inputs, mask=None):
        return mask, None

    def compute_output_shape(self, inputs_shape):
        batch, time = inputs_shape[0], inputs_shape[1]
        layer_states = [(batch, self.units)] * num_states(self.cell_type)
        return (batch, time, self.units), [list(layer_states) for _ in range(self.num_layers)]

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "cell_type": self.cell_type,
                "units": self.units,
                "num_layers": self.num_layers,
                "dropout": self.dropout,
            }
        )
        return config
