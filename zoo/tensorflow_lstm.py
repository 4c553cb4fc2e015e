"""`keras_attention.LSTM`'s training loop on TensorFlow, with a gradient that batches the weight gradients.

The LSTM counterpart of `zoo.tensorflow_gru`, for the same reason: Keras
runs an LSTM as its generic `RNN` loop over `LSTMCell.call`, and TensorFlow
differentiates that loop op by op, paying at every step of the backward
loop for the gradients of the gate slices and for two weight-gradient
matmuls and their accumulation. This module runs Keras' forward step
unchanged (`implementation=2`, the default) and writes the gradient by hand:

- the backward loop keeps only what is sequential: each step's gate
  gradients, from factors computed for all steps before the loop, and one
  matmul, `d_gates @ recurrent_kernel.T`;
- the weight and bias gradients and the input gradient are one op each
  after the loop, over every step at once, the way cuDNN does.

`zoo` registers it with `keras_attention.register_lstm_training_loop`, and
`keras_attention.LSTM` calls it when training on the TensorFlow backend.
"""

import tensorflow as tf

from zoo.tensorflow_recurrence import all_steps, batch_major, require_cpu, time_major


def lstm(
    inputs,
    initial_state,
    mask,
    kernel,
    recurrent_kernel,
    bias,
    go_backwards=False,
    zero_output_for_mask=False,
):
    """One LSTM layer over a sequence, with `keras.src.backend.rnn`'s results.

    Raises `NotImplementedError` where a GPU is visible: there Keras' LSTM
    runs cuDNN, which is faster still.

    Args:
        inputs: float `(batch_size, T, input_dim)`.
        initial_state: `[h0, c0]`, each float `(batch_size, units)`.
        mask: optional bool `(batch_size, T)`; at a masked step both states
            are carried over unchanged and the output is zeros (with
            `zero_output_for_mask`) or the previous step's output.
        kernel: `(input_dim, 4 * units)`, the gates in Keras' order i, f, c, o.
        recurrent_kernel: `(units, 4 * units)`.
        bias: `(4 * units,)`.
        go_backwards: read the sequence last step first; the outputs are then
            in that reversed order, as Keras returns them.
        zero_output_for_mask: see `mask`.

    Returns:
        `(last_output, outputs, [h, c])`: `(batch_size, units)`,
        `(batch_size, T, units)` and the final states, each `(batch_size, units)`.
    """
    require_cpu("LSTM")
    h0, c0 = initial_state
    keep = None
    if mask is not None:
        keep = time_major(tf.cast(mask, tf.bool)[:, :, None], go_backwards)  # (T, batch, 1)

    @tf.custom_gradient
    def run(inputs, h0, c0, kernel, recurrent_kernel, bias):
        x = time_major(inputs, go_backwards)  # (T, batch, input_dim)
        h, c, outputs, saved = _forward(x, keep, h0, c0, kernel, recurrent_kernel, bias, zero_output_for_mask)

        def grad(d_outputs, d_h, d_c):
            d_outputs = tf.zeros_like(outputs) if d_outputs is None else d_outputs
            d_h = tf.zeros_like(h) if d_h is None else d_h
            d_c = tf.zeros_like(c) if d_c is None else d_c
            d_h0, d_c0, d_gates = _backward(
                time_major(d_outputs, False), d_h, d_c, keep, saved, recurrent_kernel, zero_output_for_mask
            )
            d_gates = all_steps(d_gates)  # (T * batch, 4 * units)
            h_previous = all_steps(saved["h_previous"])
            d_x = tf.reshape(tf.matmul(d_gates, kernel, transpose_b=True), tf.shape(x))
            return (
                batch_major(d_x, go_backwards),
                d_h0,
                d_c0,
                tf.matmul(all_steps(x), d_gates, transpose_a=True),
                tf.matmul(h_previous, d_gates, transpose_a=True),
                tf.reduce_sum(d_gates, 0),
            )

        return (outputs, h, c), grad

    outputs, h, c = run(inputs, h0, c0, kernel, recurrent_kernel, bias)
    return outputs[:, -1], outputs, [h, c]


def _forward(x, keep, h0, c0, kernel, recurrent_kernel, bias, zero_output_for_mask):
    """Keras' loop and step; also returns what the gradient reads, each `(T, batch, units)`.

    The outputs are batch-major, in the order the steps were read.
    """
    steps = tf.shape(x)[0]
    names = ["h", "c", "i", "f", "g", "o"] + (["outputs"] if keep is not None else [])

    def body(t, h, c, previous_output, arrays):
        # Keras' `LSTMCell.call` (implementation 2), expression for
        # expression, for the same rounding.
        z = tf.matmul(x[t], kernel)
        z = z + tf.matmul(h, recurrent_kernel)
        z = z + bias
        z_i, z_f, z_g, z_o = tf.split(z, 4, axis=-1)
        i = tf.sigmoid(z_i)
        f = tf.sigmoid(z_f)
        g = tf.tanh(z_g)
        new_c = f * c + i * g
        o = tf.sigmoid(z_o)
        new_h = o * tf.tanh(new_c)
        step = {"i": i, "f": f, "g": g, "o": o}
        if keep is not None:
            previous_output = tf.where(
                keep[t], new_h, tf.zeros_like(new_h) if zero_output_for_mask else previous_output
            )
            new_h = tf.where(keep[t], new_h, h)
            new_c = tf.where(keep[t], new_c, c)
            step["outputs"] = previous_output
        step["h"], step["c"] = new_h, new_c
        return (
            t + 1,
            new_h,
            new_c,
            previous_output,
            [array.write(t, step[name]) for array, name in zip(arrays, names)],
        )

    _, h, c, _, arrays = tf.while_loop(
        lambda t, *_: t < steps,
        body,
        (
            tf.constant(0),
            h0,
            c0,
            tf.zeros_like(h0) if keep is not None else tf.zeros_like(h0[:0]),  # carried with a mask
            [tf.TensorArray(x.dtype, size=steps) for _ in names],
        ),
        parallel_iterations=32,
    )
    saved = {name: array.stack() for name, array in zip(names, arrays)}  # each (T, batch, units)
    hs, cs = saved.pop("h"), saved.pop("c")
    saved["h_previous"] = tf.concat([h0[None], hs[:-1]], axis=0)
    saved["c_previous"] = tf.concat([c0[None], cs[:-1]], axis=0)
    # At a step that ran, the saved cell state is the new one; at a masked
    # step its gradient factors are never used.
    saved["tanh_c"] = tf.tanh(cs)
    outputs = saved.pop("outputs", hs)
    return h, c, batch_major(outputs, False), saved


def _backward(d_outputs, d_h, d_c, keep, saved, recurrent_kernel, zero_output_for_mask):
    """The loop backwards: per step a few multiplies for the gates' gradients and one matmul.

    Args:
        d_outputs: `(T, batch, units)`, in the order the steps were read.
        d_h, d_c: `(batch, units)`, the final states' gradients.

    Returns:
        The initial states' gradients, each `(batch, units)`, and per step
        the gradient of `x @ kernel + h @ recurrent_kernel + bias`, `(T,
        batch, 4 * units)`.
    """
    steps, batch, units = tf.shape(d_outputs)[0], tf.shape(d_outputs)[1], tf.shape(d_outputs)[2]
    static_units = d_h.shape[-1]
    gates_shape = [d_h.shape[0], None if static_units is None else 4 * static_units]
    i, f, g, o, tanh_c = saved["i"], saved["f"], saved["g"], saved["o"], saved["tanh_c"]
    zeros = tf.zeros_like(i)
    # With `d_cell` a step's gradient of its new cell state (through the
    # next step and through `h = o * tanh(c)`, `d_h * to_cell`), the gates'
    # pre-activations have gradients `d_cell * from_cell + d_h * from_h`.
    to_cell = o * (1 - tanh_c * tanh_c)
    from_cell = tf.stack(
        [g * i * (1 - i), saved["c_previous"] * f * (1 - f), i * (1 - g * g), zeros], axis=2
    )  # (T, batch, 4, units)
    from_h = tf.stack([zeros, zeros, zeros, tanh_c * o * (1 - o)], axis=2)
    # A masked step outputs the previous step's output unless it outputs
    # zeros; that output's gradient then goes on to the step before.
    carries = keep is not None and not zero_output_for_mask

    def body(t, d_h, d_c, d_carried, d_gates_array):
        d_output = d_outputs[t] + d_carried if carries else d_outputs[t]
        d_new_h, d_new_c = d_h + d_output, d_c
        if keep is not None:
            if carries:
                d_carried = tf.where(keep[t], tf.zeros_like(d_output), d_output)
            d_new_h = tf.where(keep[t], d_new_h, tf.zeros_like(d_new_h))
            d_new_c = tf.where(keep[t], d_new_c, tf.zeros_like(d_new_c))
        d_cell = d_new_c + d_new_h * to_cell[t]
        d_gates = tf.reshape(
            d_cell[:, None, :] * from_cell[t] + d_new_h[:, None, :] * from_h[t], [batch, 4 * units]
        )
        d_gates.set_shape(gates_shape)  # the reshape's sizes are tensors; the loop needs static ones
        d_h_previous = tf.matmul(d_gates, recurrent_kernel, transpose_b=True)
        d_c_previous = d_cell * f[t]
        if keep is not None:  # a masked step held both states
            d_h_previous = tf.where(keep[t], d_h_previous, d_h)
            d_c_previous = tf.where(keep[t], d_c_previous, d_c)
        return t - 1, d_h_previous, d_c_previous, d_carried, d_gates_array.write(t, d_gates)

    _, d_h0, d_c0, _, d_gates = tf.while_loop(
        lambda t, *_: t >= 0,
        body,
        (
            steps - 1,
            d_h,
            d_c,
            tf.zeros_like(d_h) if carries else tf.zeros_like(d_h[:0]),
            tf.TensorArray(d_outputs.dtype, size=steps),
        ),
        parallel_iterations=32,
    )
    return d_h0, d_c0, d_gates.stack()
