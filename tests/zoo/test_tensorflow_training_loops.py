"""`zoo.tensorflow_gru.gru` and `zoo.tensorflow_lstm.lstm`, the training loops on TensorFlow, against Keras' own loop."""

import collections

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo  # noqa: F401  (registers the loops)
from keras_attention import GRU, LSTM
from keras_attention.recurrent import gru as gru_module
from keras_attention.recurrent import lstm as lstm_module
from zoo import tensorflow_gru, tensorflow_lstm

Kind = collections.namedtuple("Kind", "keras_layer layer loop registry num_states")
KINDS = {
    "gru": Kind(keras.layers.GRU, GRU, tensorflow_gru.gru, gru_module.TRAINING_LOOPS, 1),
    "lstm": Kind(keras.layers.LSTM, LSTM, tensorflow_lstm.lstm, lstm_module.TRAINING_LOOPS, 2),
}

MASKS = {
    "none": None,
    "right_padded": [[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0], [1, 0, 0, 0, 0, 0]],
    "holes": [[1, 1, 1, 1, 1, 1], [0, 1, 1, 0, 1, 0], [1, 0, 1, 1, 0, 1]],
}


@pytest.fixture(params=sorted(KINDS))
def kind(request):
    return KINDS[request.param]


@pytest.fixture
def calls(monkeypatch, kind):
    """How many times the registered loop ran."""
    count = []

    def counted(*args, **kwargs):
        count.append(1)
        return kind.loop(*args, **kwargs)

    monkeypatch.setitem(kind.registry, "tensorflow", counted)
    return count


def _outputs_and_gradients(layer, x, initial_state, mask, weights):
    """Outputs, final states and the gradients of a loss that reads all of them, in one graph."""

    @tf.function
    def run():
        with tf.GradientTape() as tape:
            tape.watch([x, *initial_state])
            outputs, *states = layer(x, initial_state=initial_state, mask=mask, training=True)
            loss = tf.reduce_sum(outputs[:, -1] ** 2)  # the last output, which Keras also returns
            for tensor, weight in zip([outputs, *states], weights):
                loss += tf.reduce_sum(tensor * weight)
        return [outputs, *states, *tape.gradient(loss, [x, *initial_state, *layer.trainable_variables])]

    return [t.numpy() for t in run()]


@pytest.mark.parametrize("mask_name", sorted(MASKS))
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("zero_output_for_mask", [False, True])
def test_outputs_and_every_gradient_match_keras(kind, calls, mask_name, go_backwards, zero_output_for_mask):
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(3, 6, 4)), tf.float32)
    initial_state = [tf.constant(rng.normal(size=(3, 5)), tf.float32) for _ in range(kind.num_states)]
    mask = None if MASKS[mask_name] is None else tf.constant(np.array(MASKS[mask_name], bool))
    weights = [tf.constant(rng.normal(size=(3, 6, 5)), tf.float32)]
    weights += [tf.constant(rng.normal(size=(3, 5)), tf.float32) for _ in range(kind.num_states)]
    reference = kind.keras_layer(5, return_sequences=True, return_state=True, go_backwards=go_backwards)
    ours = kind.layer(5, return_sequences=True, return_state=True, go_backwards=go_backwards)
    for layer in (reference, ours):
        layer.zero_output_for_mask = zero_output_for_mask  # as `Bidirectional` sets it
        layer.build(x.shape)
    reference.set_weights([rng.normal(size=w.shape) * 0.5 for w in reference.get_weights()])
    ours.set_weights(reference.get_weights())
    results = [_outputs_and_gradients(layer, x, initial_state, mask, weights) for layer in (reference, ours)]
    assert calls, "the registered loop did not run"
    states = [f"state_{i}" for i in range(kind.num_states)]
    names = ["outputs", *states, "d_inputs", *[f"d_initial_{s}" for s in states]]
    names += ["d_kernel", "d_recurrent_kernel", "d_bias"]
    assert len(names) == len(results[0])
    for name, want, got in zip(names, *results):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=2e-6, err_msg=name)


def test_a_padded_batch_trains_as_its_sentences_alone(kind, calls):
    # A bidirectional layer over three sentences padded with junk: outputs at
    # real positions, final states and the weight gradients equal those of
    # each sentence run alone, unpadded, with the gradients summed.
    rng = np.random.default_rng(2)
    lengths = [5, 2, 3]
    sentences = [rng.normal(size=(n, 4)).astype("float32") for n in lengths]
    layer = keras.layers.Bidirectional(
        kind.layer(3, return_sequences=True, return_state=True), merge_mode="sum"
    )
    layer.build((None, None, 4))

    def run(x, mask):
        with tf.GradientTape() as tape:
            outputs, *states = layer(x, mask=mask, training=True)
            valid = tf.cast(mask, tf.float32)[:, :, None]
            forward, backward = states[: len(states) // 2], states[len(states) // 2 :]
            loss = tf.reduce_sum(tf.sin(outputs) * valid)
            loss += sum(tf.reduce_sum(f * b) for f, b in zip(forward, backward))
        return outputs, states, tape.gradient(loss, layer.trainable_variables)

    padded = np.full((3, 5, 4), 7.0, "float32")
    for i, s in enumerate(sentences):
        padded[i, : len(s)] = s
    mask = np.arange(5)[None, :] < np.array(lengths)[:, None]
    outputs, states, gradients = run(tf.constant(padded), tf.constant(mask))
    alone = [run(tf.constant(s[None]), tf.ones((1, len(s)), bool)) for s in sentences]
    for i, (o, s, _) in enumerate(alone):
        np.testing.assert_allclose(outputs[i, : lengths[i]], o[0], atol=1e-6)
        for batched, single in zip(states, s):
            np.testing.assert_allclose(batched[i], single[0], atol=1e-6)
    for i, gradient in enumerate(gradients):
        np.testing.assert_allclose(gradient, sum(a[2][i] for a in alone), rtol=1e-5, atol=1e-6)
    assert calls


def test_on_a_gpu_the_call_is_left_to_keras(kind, monkeypatch):
    monkeypatch.setattr(
        tf.config, "list_logical_devices", lambda kind=None: ["/GPU:0"] if kind == "GPU" else []
    )
    x = tf.zeros((1, 2, 3))
    layer = kind.layer(4)
    layer.build(x.shape)
    cell = layer.cell
    states = [tf.zeros((1, 4))] * kind.num_states
    with pytest.raises(NotImplementedError, match="cuDNN"):
        kind.loop(
            x,
            states[0] if kind.num_states == 1 else states,
            None,
            cell.kernel,
            cell.recurrent_kernel,
            cell.bias,
        )
    assert layer(x, training=True).shape == (1, 4)  # Keras' loop
