"""A stack of recurrent layers of any cell type, for decoding a sequence."""

import keras
from keras import ops

from keras_attention.annotations import Tensor
from keras_attention.api_export import keras_attention_export
from keras_attention.attention import get_attention_class
from keras_attention.recurrent.rnn_types import build_rnn_stack, check_stack_args, num_states


@keras_attention_export("RecurrentDecoder")
class RecurrentDecoder(keras.layers.Layer):
    """Stacked recurrent decoder, with or without attention, for any cell type.

    Three ways to use the encoder, chosen by `attention` and `input_feeding`:

    - `attention=None`: the decoder of Sutskever et al. (2014) and Cho et
      al. (2014). Its state starts from the encoder's final state, the only
      context it ever sees.
    - `attention="luong"` (or `"scaled_dot_product"`): Luong et al.'s (2015)
      global attention. The top layer's `h_t` attends over the encoder
      outputs and the output is the attentional state
      `h~_t = tanh(W_c [c_t; h_t])` (eq. 5). Without input feeding the stack
      runs over the whole target at once and attends in parallel for every
      step: the fast path for training. With `input_feeding=True`, `h~_{t-1}`
      is concatenated to the next input (section 3.3), so the step loop is
      needed.
    - `attention="bahdanau"`: Bahdanau et al.'s (2014) RNNsearch. The
      previous top state `s_{t-1}` attends, the context `c_t` is concatenated
      to the input of the recurrence, and the output is `tanh(W_c [c_t; s_t])`
      (in place of the paper's maxout layer, as in OpenNMT and
      tensorflow-addons).

    The step-wise variants (`stepwise` is `True`) run `step` in a compiled
    loop over time (`keras.ops.scan`), because Keras 3's `RNN` has no
    `constants` argument to pass the encoder outputs into a cell. Generation
    always runs `step`; it computes exactly what `call` does.

    Args:
        cell_type: `"rnn"`, `"lstm"` or `"gru"`.
        units: int, the hidden size of every layer.
        num_layers: int, how many layers are stacked.
        dropout: float in `[0, 1)`, dropout between stacked layers.
        residual: bool, whether layers after the first add their input to
            their output.
        attention: `None` or a name from `ATTENTION_TYPES`.
        attention_score: that attention's `score_mode` (Luong: `"dot"`,
            `"general"`, `"concat"`; Bahdanau: `"additive"`, `"normalized"`);
            the attention's first mode when `None`.
        input_feeding: bool, Luong's input feeding (not with Bahdanau, which
            feeds its context already).
        **kwargs: passed on to `keras.layers.Layer`.

    Call arguments:
        inputs: embedded targets `(batch_size, Tt, dim)`.
        initial_state: one list of `(batch_size, units)` tensors per layer,
            as `RecurrentEncoder` returns; zeros when omitted.
        memory: encoder outputs `(batch_size, Ts, dim_m)`, required with
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
        residual=False,
        attention=None,
        attention_score=None,
        input_feeding=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_stack_args(cell_type, units, num_layers, dropout)
        if attention is None:
            if attention_score is not None or input_feeding:
                raise ValueError(
                    "`attention_score` and `input_feeding` apply to a decoder with attention; "
                    f"received attention=None, attention_score={attention_score!r}, "
                    f"input_feeding={input_feeding}."
                )
        else:
            attention_class = get_attention_class(attention)
            attention_score = attention_score or attention_class.SCORE_MODES[0]
            attention_class.check_score_mode(attention_score)
            if input_feeding and attention == "bahdanau":
                raise ValueError(
                    "Bahdanau attention already feeds its context into the recurrence; "
                    "`input_feeding` is Luong's and applies to attention='luong'."
                )
        # A Keras mask on `inputs` (target padding) passes on to `outputs`, so a
        # loss after the output layer leaves padded positions out.
        self.supports_masking = True
        self.cell_type = cell_type
        self.units = units
        self.num_layers = num_layers
        self.dropout = dropout
        self.residual = residual
        self.attention = attention
        self.attention_score = attention_score
        self.input_feeding = input_feeding

    @property
    def stepwise(self):
        """Whether attention happens inside the recurrence (no parallel path)."""
        return self.input_feeding or self.attention == "bahdanau"

    def build(self, inputs_shape, initial_state_shape=None, memory_shape=None):
        if self.attention is not None and memory_shape is None:
            raise ValueError(f"A decoder with attention={self.attention!r} needs `memory`.")
        self.dropout_layer = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)
        fed = 0
        if self.attention == "bahdanau":
            fed = memory_shape[-1]  # the context c_t
        elif self.input_feeding:
            fed = self.units  # the attentional state h~_{t-1}
        rnn_inputs_shape = tuple(inputs_shape[:-1]) + (inputs_shape[-1] + fed,)
        self.rnn_layers, shape = build_rnn_stack(
            self.cell_type, self.units, self.num_layers, rnn_inputs_shape, dtype=self.dtype_policy
        )
        if self.attention is not None:
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
        if self.stepwise:
            return self._scan(inputs, initial_state, memory, memory_mask, training)
        x = inputs
        states = []
        for i, layer in enumerate(self.rnn_layers):
            layer_inputs = x
            if i > 0:
                x = self.dropout_layer(x, training=training)
            layer_state = None if initial_state is None else initial_state[i]
            x, *layer_states = layer(x, initial_state=layer_state, training=training)
            if self.residual and i > 0:
                x = x + layer_inputs
            states.append(layer_states)
        if self.attention is not None:
            x, _ = self._attend(x, memory, self.project_memory(memory), memory_mask)
        return x, states

    def _scan(self, inputs, initial_state, memory, memory_mask, training):
        batch_size = ops.shape(inputs)[0]
        if initial_state is None:
            initial_state = self.zero_state(batch_size)
        memory_keys = self.project_memory(memory)

        def step_fn(carry, x_t):
            states, previous_output = carry
            output, states, _ = self.step(
                x_t, states, previous_output, memory, memory_keys, memory_mask, training=training
            )
            # Keras' TensorFlow `scan` stacks outputs of the carry's structure.
            return (states, output), (states, output)

        initial_output = ops.zeros((batch_size, self.units), dtype=inputs.dtype)
        (states, _), (_, outputs) = ops.scan(
            step_fn, (initial_state, initial_output), ops.transpose(inputs, (1, 0, 2))
        )
        return ops.transpose(outputs, (1, 0, 2)), states  # (batch, Tt, units)

    def zero_state(self, batch_size: int | Tensor) -> list[list[Tensor]]:
        """All-zero states, one list of `(batch_size, units)` tensors per layer."""
        zeros = ops.zeros((batch_size, self.units), dtype=self.compute_dtype)
        return [[zeros] * num_states(self.cell_type) for _ in range(self.num_layers)]

    def project_memory(self, memory: Tensor) -> Tensor | None:
        """The attention's keys from the encoder outputs, computed once per source (`None` without)."""
        if self.attention is None:
            return None
        return self.attention_layer.project_keys(memory)

    def step(
        self,
        inputs: Tensor,
        states: list[list[Tensor]],
        previous_output: Tensor | None = None,
        memory: Tensor | None = None,
        memory_keys: Tensor | None = None,
        memory_mask: Tensor | None = None,
        training: bool = False,
    ) -> tuple[Tensor, list[list[Tensor]], Tensor | None]:
        """Advance one step: what `call` does at every position.

        Args:
            inputs: the embedded previous token `(batch_size, dim)`.
            states: one list of `(batch_size, units)` tensors per layer.
            previous_output: the last step's output `(batch_size, units)`
                (zeros at the first step); used by input feeding only.
            memory: encoder outputs `(sources, Ts, dim_m)`. `sources` is
                `batch_size`, or a divisor of it: then each source serves
                `batch_size / sources` consecutive rows (beam search's
                hypotheses of one sentence), which attend to it together.
            memory_keys: `project_memory(memory)`; computed when `None`.
            memory_mask: boolean `(sources, Ts)`.
            training: whether dropout is active.

        Returns:
            `(output, states, weights)`: output `(batch_size, units)`, the new
            states, and the attention weights `(batch_size, Ts)` (`None`
            without attention).
        """
        if self.attention is not None and memory_keys is None:
            memory_keys = self.project_memory(memory)
        x = inputs
        if self.attention is not None:
            batch_size = ops.shape(inputs)[0]

            def by_source(rows):  # (batch, ...) -> (sources, batch / sources, ...)
                return ops.reshape(rows, (ops.shape(memory)[0], -1, rows.shape[-1]))

            def by_row(grouped):  # (sources, batch / sources, n) -> (batch, n)
                width = grouped.shape[-1]
                return ops.reshape(grouped, (batch_size, -1 if width is None else width))

        if self.attention == "bahdanau":
            context, weights = self.attention_layer.attend(
                by_source(states[-1][0]),  # s_{t-1}
                memory,
                memory_keys,
                value_mask=memory_mask,
                return_attention_scores=True,
            )
            context = by_row(context)  # (batch, dim_m)
            x = ops.concatenate([x, context], axis=-1)
        elif self.input_feeding:
            x = ops.concatenate([x, previous_output], axis=-1)
        new_states = []
        for i, (layer, layer_states) in enumerate(zip(self.rnn_layers, states)):
            layer_inputs = x
            if i > 0:
                x = self.dropout_layer(x, training=training)
            x, cell_states = layer.cell(x, list(layer_states), training=training)
            if self.residual and i > 0:
                x = x + layer_inputs
            new_states.append(list(cell_states) if isinstance(cell_states, (list, tuple)) else [cell_states])
        if self.attention is None:
            return x, new_states, None
        if self.attention == "bahdanau":
            output = self.attentional_projection(ops.concatenate([context, x], axis=-1))
            return output, new_states, by_row(weights)
        output, weights = self._attend(by_source(x), memory, memory_keys, memory_mask)
        return by_row(output), new_states, by_row(weights)

    def _attend(self, hidden, memory, memory_keys, memory_mask):
        # hidden: (batch, Tt, units); memory: (batch, Ts, dim_m)
        context, weights = self.attention_layer.attend(
            hidden, memory, memory_keys, value_mask=memory_mask, return_attention_scores=True
        )
        attentional = self.attentional_projection(ops.concatenate([context, hidden], axis=-1))
        return attentional, weights  # (batch, Tt, units), (batch, Tt, Ts)

    def compute_mask(self, inputs, mask=None):
        return mask, None

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
                "residual": self.residual,
                "attention": self.attention,
                "attention_score": self.attention_score,
                "input_feeding": self.input_feeding,
            }
        )
        return config
