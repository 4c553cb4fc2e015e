"""`keras_attention.GRU`'s training loop on TensorFlow, with a gradient that batches the weight gradients.

Keras runs a GRU as its generic `RNN` loop over `GRUCell.call`, and
TensorFlow differentiates that loop op by op. Its backward loop then pays,
at every step, for the gradients of the gate slices (each scattered back
into a zero tensor), for two weight-gradient matmuls, and for summing them
into accumulators, on top of the one matmul that is truly sequential. This
module runs Keras' forward step unchanged (`reset_after=True`, the
default) and writes the gradient by hand:

- the backward loop keeps only what is sequential: each step's gate
  gradients (one multiply by factors computed for all steps before the
  loop) and one matmul, `d_gates @ recurrent_kernel.T`;
- the weight gradients `x.T @ d_gates` and `h.T @ d_gates`, the bias
  gradients and the input gradient are one op each after the loop, over
  every step at once, the way cuDNN does.

`keras_attention` is written with `keras.ops` only, so this loop lives here
and `zoo` registers it with `keras_attention.register_gru_training_loop`:
`keras_attention.GRU` then calls it when training on the TensorFlow backend,
the way Keras' GRU calls cuDNN on a GPU.
"""

import tensorflow as tf

from zoo.tensorflow_recurrence import all_steps, batch_major, require_cpu, time_major


def gru(
    inputs,
    initial_state,
    mask,
    kernel,
    recurrent_kernel,
    bias,
    go_backwards=False,
    zero_output_for_mask=False,
):
    """One GRU layer over a sequence, with `keras.src.backend.rnn`'s results.

    Raises `NotImplementedError` where a GPU is visible: there Keras' GRU
    runs cuDNN, which is faster still.

    Args:
        inputs: float `(batch_size, T, input_dim)`.
        initial_state: float `(batch_size, units)`.
        mask: optional bool `(batch_size, T)`; at a masked step the state is
            carried over unchanged and the output is zeros (with
            `zero_output_for_mask`) or the previous step's output.
        kernel: `(input_dim, 3 * units)`, the gates in Keras' order z, r, h.
        recurrent_kernel: `(units, 3 * units)`.
        bias: `(2, 3 * units)`: the input bias, then the recurrent bias.
        go_backwards: read the sequence last step first; the outputs are then
            in that reversed order, as Keras returns them.
        zero_output_for_mask: see `mask`.

    Returns:
        `(last_output, outputs, [state])`: `(batch_size, units)`,
        `(batch_size, T, units)` and the final state `(batch_size, units)`.
    """
    require_cpu("GRU")
    keep = None
    if mask is not None:
        keep = time_major(tf.cast(mask, tf.bool)[:, :, None], go_backwards)  # (T, batch, 1)

    @tf.custom_gradient
    def run(inputs, initial_state, kernel, recurrent_kernel, bias):
        x = time_major(inputs, go_backwards)  # (T, batch, input_dim)
        state, outputs, saved = _forward(
            x, keep, initial_state, kernel, recurrent_kernel, bias, zero_output_for_mask
        )

        def grad(d_outputs, d_state):
            d_outputs = tf.zeros_like(outputs) if d_outputs is None else d_outputs
            d_state = tf.zeros_like(state) if d_state is None else d_state
            d_h0, d_recurrent, d_projected = _backward(
                time_major(d_outputs, False), d_state, keep, saved, recurrent_kernel, zero_output_for_mask
            )
            d_recurrent = all_steps(d_recurrent)  # (T * batch, 3 * units)
            d_projected = all_steps(d_projected)
            h_previous = all_steps(saved["h_previous"])
            d_x = tf.reshape(tf.matmul(d_projected, kernel, transpose_b=True), tf.shape(x))
            return (
                batch_major(d_x, go_backwards),
                d_h0,
                tf.matmul(all_steps(x), d_projected, transpose_a=True),
                tf.matmul(h_previous, d_recurrent, transpose_a=True),
                tf.stack([tf.reduce_sum(d_projected, 0), tf.reduce_sum(d_recurrent, 0)]),
            )

        return (outputs, state), grad

    outputs, state = run(inputs, initial_state, kernel, recurrent_kernel, bias)
    return outputs[:, -1], outputs, [state]


def _forward(x, keep, h0, kernel, recurrent_kernel, bias, zero_output_for_mask):
    """Keras' loop and step; also returns what the gradient reads, each `(T, batch, units)`.

    The outputs are batch-major, in the order the steps were read.
    """
    steps = tf.shape(x)[0]
    names = ["states", "z", "r", "candidate", "recurrent_h"] + (["outputs"] if keep is not None else [])

    def body(t, h, previous_output, arrays):
        x_z, x_r, x_h = tf.split(tf.matmul(x[t], kernel) + bias[0], 3, axis=-1)
        h_z, h_r, h_h = tf.split(tf.matmul(h, recurrent_kernel) + bias[1], 3, axis=-1)
        z = tf.sigmoid(x_z + h_z)
        r = tf.sigmoid(x_r + h_r)
        candidate = tf.tanh(x_h + r * h_h)
        new = z * h + (1 - z) * candidate  # Keras' own expression, for the same rounding
        step = {"z": z, "r": r, "candidate": candidate, "recurrent_h": h_h}
        if keep is not None:
            previous_output = tf.where(
                keep[t], new, tf.zeros_like(new) if zero_output_for_mask else previous_output
            )
            new = tf.where(keep[t], new, h)
            step["outputs"] = previous_output
        step["states"] = new
        # One TensorArray per saved value: writing one stacked row instead
        # costs a copy that waits for the next step's matmul.
        return t + 1, new, previous_output, [array.write(t, step[name]) for array, name in zip(arrays, names)]

    _, state, _, arrays = tf.while_loop(
        lambda t, *_: t < steps,
        body,
        (
            tf.constant(0),
            h0,
            tf.zeros_like(h0)
            if keep is not None
            else tf.zeros_like(h0[:0]),  # the output is carried with a mask
            [tf.TensorArray(x.dtype, size=steps) for _ in names],
        ),
        parallel_iterations=32,
    )
    saved = {name: array.stack() for name, array in zip(names, arrays)}  # each (T, batch, units)
    states = saved.pop("states")
    saved["h_previous"] = tf.concat([h0[None], states[:-1]], axis=0)
    outputs = saved.pop("outputs", states)
    return state, batch_major(outputs, False), saved


def _backward(d_outputs, d_state, keep, saved, recurrent_kernel, zero_output_for_mask):
    """The loop backwards: per step one multiply for the gates' gradients and one matmul.

    Args:
        d_outputs: `(T, batch, units)`, in the order the steps were read.
        d_state: `(batch, units)`, the final state's gradient.

    Returns:
        The initial state's gradient `(batch, units)` and, per step, the
        gradients of `h @ recurrent_kernel + bias[1]` and of
        `x @ kernel + bias[0]`, each `(T, batch, 3 * units)`.
    """
    steps, batch, units = tf.shape(d_outputs)[0], tf.shape(d_outputs)[1], tf.shape(d_outputs)[2]
    z, r, candidate, recurrent_h = saved["z"], saved["r"], saved["candidate"], saved["recurrent_h"]
    # With `d_new` the gradient of a step's new state, `d_new * d_candidate`
    # is the candidate's pre-activation's, and `d_new * factors` holds those
    # of z's, r's and the candidate's parts of `h @ recurrent_kernel + bias[1]`.
    d_candidate = (1 - z) * (1 - candidate * candidate)
    factors = tf.stack(
        [
            (saved["h_previous"] - candidate) * z * (1 - z),
            d_candidate * recurrent_h * r * (1 - r),
            d_candidate * r,
        ],
        axis=2,
    )  # (T, batch, 3, units)
    # A masked step outputs the previous step's output unless it outputs
    # zeros; that output's gradient then goes on to the step before.
    carries = keep is not None and not zero_output_for_mask

    def body(t, d_h, d_carried, d_new_array):
        d_output = d_outputs[t] + d_carried if carries else d_outputs[t]
        d_new = d_h + d_output
        if keep is not None:
            if carries:
                d_carried = tf.where(keep[t], tf.zeros_like(d_output), d_output)
            d_new = tf.where(keep[t], d_new, tf.zeros_like(d_new))
        d_inner = tf.reshape(d_new[:, None, :] * factors[t], [batch, 3 * units])
        d_previous = d_new * z[t] + tf.matmul(d_inner, recurrent_kernel, transpose_b=True)
        if keep is not None:
            d_previous = tf.where(keep[t], d_previous, d_h)  # a masked step held the state
        return t - 1, d_previous, d_carried, d_new_array.write(t, d_new)

    _, d_h0, _, d_new = tf.while_loop(
        lambda t, *_: t >= 0,
        body,
        (
            steps - 1,
            d_state,
            tf.zeros_like(d_state) if carries else tf.zeros_like(d_state[:0]),
            tf.TensorArray(d_outputs.dtype, size=steps),
        ),
        parallel_iterations=32,
    )
    d_new = d_new.stack()  # (T, batch, units)
    d_recurrent = tf.reshape(d_new[:, :, None, :] * factors, [steps, batch, 3 * units])
    # The input projection's gradient shares z's and r's parts; its
    # candidate part is taken before the reset gate.
    d_projected = tf.concat([d_recurrent[:, :, : 2 * units], d_new * d_candidate], axis=-1)
    return d_h0, d_recurrent, d_projected
