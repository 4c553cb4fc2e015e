"""A stack of recurrent layers of any cell type, for decoding a sequence."""

import keras
from keras import ops

from keras_attention.api_export import keras_attention_export
from keras_attention.attention import get_attention_class
from keras_attention.recurrent.rnn_types import build_rnn_stack, check_stack_args, num_states


@keras_attention_export("RecurrentDecoder")
class RecurrentDecoder(keras.layers.Layer):
    """Stacked recurrent decoder, with or without attention, for any cell type.

    With `attention=None` this is the decoder of Sutskever et al. (2014) and
    Cho et al. (2014): its state starts from the encoder's final state, the
    only context it ever sees. With `attention="luong"` it is Luong et al.'s
    (2015) global attention without input feeding: the recurrent stack runs
    over the whole target at once, its top output `h_t` attends over the
    encoder outputs in parallel for every step, and the output is the
    attentional state `tanh(W_c [c_t; h_t])` (eq. 5).

    Training runs the whole target sequence (`call`); generation runs one
    step at a time (`step`) with the same weights and the same arithmetic.

    Args:
        cell_type: `"rnn"`, `"lstm"` or `"gru"`.
        units: int, the hidden size of every layer.
        num_layers: int, how many layers are stacked.
        dropout: float in `[0, 1)`, dropout between stacked layers.
        attention: `None` or a name from `ATTENTION_TYPES`.
        attention_score: the score function of that attention (`"dot"`).
        **kwargs: passed on to `keras.layers.Layer`.

    Call arguments:
        inputs: embedded targets `(batch_size, Tt, dim)`.
        initial_state: one list of `(batch_size, units)` tensors per layer,
            as `RecurrentEncoder` returns; zeros when omitted.
        memory: encoder outputs `(batch_size, Ts, units)`, required with
            attention and ignored without.
        memory_mask: optional boolean `(batch_size, Ts)`, `False` at padding.
        training: whether dropout is active.

    Returns:
        `(outputs, states)`: outputs `(batch_size, Tt, units)` and the final
        states, one list per layer.
    """

    def __init__(
        self,
        cell_type="gru",
        units=256,
        num_layers=1,
        dropout=0.0,
        attention=None,
        attention_score="dot",
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_stack_args(cell_type, units, num_layers, dropout)
        if attention is not None:
            get_attention_class(attention)(score_mode=attention_score)  # validates both names
        self.cell_type = cell_type
        self.units = units
        self.num_layers = num_layers
        self.dropout = dropout
        self.attention = attention
        self.attention_score = attention_score

    def build(self, inputs_shape, initial_state_shape=None, memory_shape=None):
        self.dropout_layer = keras.layers.Dropout(self.dropout)
        self.rnn_layers, shape = build_rnn_stack(
            self.cell_type, self.units, self.num_layers, inputs_shape, dtype=self.dtype_policy
        )
        if self.attention is not None:
            if memory_shape is None:
                raise ValueError(f"A decoder with attention={self.attention!r} needs `memory`.")
            self.attention_layer = get_attention_class(self.attention)(
                score_mode=self.attention_score, dtype=self.dtype_policy, name="attention"
            )
            self.attention_layer.build(shape, tuple(memory_shape))
            # W_c of Luong et al. eq. 5, applied to [c_t; h_t].
            self.attentional_projection = keras.layers.Dense(
                self.units,
                activation="tanh",
                use_bias=False,
                dtype=self.dtype_policy,
                name="attentional_projection",
            )
            self.attentional_projection.build(shape[:-1] + (memory_shape[-1] + self.units,))
        self.built = True

    def call(self, inputs, initial_state=None, memory=None, memory_mask=None, training=None):
        x = inputs
        states = []
        for i, layer in enumerate(self.rnn_layers):
            if i > 0:
                x = self.dropout_layer(x, training=training)
            layer_state = None if initial_state is None else initial_state[i]
            x, *layer_states = layer(x, initial_state=layer_state, training=training)
            states.append(layer_states)
        if self.attention is not None:
            x, _ = self._attend(x, memory, memory_mask)
        return x, states

    def step(self, inputs, states, memory=None, memory_mask=None):
        """Advance one step, for generation.

        Args:
            inputs: the embedded previous token `(batch_size, dim)`.
            states: one list of `(batch_size, units)` tensors per layer.
            memory: encoder outputs `(batch_size, Ts, units)`.
            memory_mask: boolean `(batch_size, Ts)`.

        Returns:
            `(output, states, weights)`: output `(batch_size, units)`, the new
            states, and the attention weights `(batch_size, Ts)` (`None`
            without attention).
        """
        x = inputs
        new_states = []
        for layer, layer_states in zip(self.rnn_layers, states):
            x, cell_states = layer.cell(x, list(layer_states), training=False)
            new_states.append(list(cell_states) if isinstance(cell_states, (list, tuple)) else [cell_states])
        if self.attention is None:
            return x, new_states, None
        x, weights = self._attend(ops.expand_dims(x, 1), memory, memory_mask)
        return x[:, 0], new_states, weights[:, 0]

    def _attend(self, hidden, memory, memory_mask):
        # hidden: (batch, Tt, units); memory: (batch, Ts, units)
        context, weights = self.attention_layer(
            hidden, memory, value_mask=memory_mask, return_attention_scores=True
        )
        attentional = self.attentional_projection(ops.concatenate([context, hidden], axis=-1))
        return attentional, weights  # (batch, Tt, units), (batch, Tt, Ts)

    def compute_output_shape(self, inputs_shape, initial_state_shape=None, memory_shape=None):
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
                "attention": self.attention,
                "attention_score": self.attention_score,
            }
        )
        return config
