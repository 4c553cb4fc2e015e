"""`zoo.tensorflow_gru.gru`, the GRU's training loop on TensorFlow, against Keras' own loop."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo  # noqa: F401  (registers the loop)
from keras_attention import GRU
from keras_attention.recurrent import gru as gru_module
from zoo import tensorflow_gru

MASKS = {
    "none": None,
    "right_padded": [[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0], [1, 0, 0, 0, 0, 0]],
    "holes": [[1, 1, 1, 1, 1, 1], [0, 1, 1, 0, 1, 0], [1, 0, 1, 1, 0, 1]],
}


@pytest.fixture
def calls(monkeypatch):
    """How many times the registered loop ran."""
    count = []

    def counted(*args, **kwargs):
        count.append(1)
        return tensorflow_gru.gru(*args, **kwargs)

    monkeypatch.setitem(gru_module.TRAINING_LOOPS, "tensorflow", counted)
    return count


def _outputs_and_gradients(layer, x, h0, mask, weights):
    """Outputs, final state and the gradients of a loss that reads all of them, in one graph."""
    out_weights, state_weights = weights

    @tf.function
    def run():
        with tf.GradientTape() as tape:
            tape.watch([x, h0])
            outputs, state = layer(x, initial_state=h0, mask=mask, training=True)
            loss = (
                tf.reduce_sum(outputs * out_weights)
                + tf.reduce_sum(state * state_weights)
                + tf.reduce_sum(outputs[:, -1] ** 2)  # the last output, which Keras also returns
            )
        return [outputs, state, *tape.gradient(loss, [x, h0, *layer.trainable_variables])]

    return [t.numpy() for t in run()]


@pytest.mark.parametrize("mask_name", sorted(MASKS))
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("zero_output_for_mask", [False, True])
def test_outputs_and_every_gradient_match_keras_gru(calls, mask_name, go_backwards, zero_output_for_mask):
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(3, 6, 4)), tf.float32)
    h0 = tf.constant(rng.normal(size=(3, 5)), tf.float32)
    mask = None if MASKS[mask_name] is None else tf.constant(np.array(MASKS[mask_name], bool))
    weights = (
        tf.constant(rng.normal(size=(3, 6, 5)), tf.float32),
        tf.constant(rng.normal(size=(3, 5)), tf.float32),
    )
    reference = keras.layers.GRU(5, return_sequences=True, return_state=True, go_backwards=go_backwards)
    ours = GRU(5, return_sequences=True, return_state=True, go_backwards=go_backwards)
    for layer in (reference, ours):
        layer.zero_output_for_mask = zero_output_for_mask  # as `Bidirectional` sets it
        layer.build(x.shape)
    reference.set_weights([rng.normal(size=w.shape) * 0.5 for w in reference.get_weights()])
    ours.set_weights(reference.get_weights())
    results = [_outputs_and_gradients(layer, x, h0, mask, weights) for layer in (reference, ours)]
    assert calls, "the registered loop did not run"
    names = ["outputs", "state", "d_inputs", "d_initial_state", "d_kernel", "d_recurrent_kernel", "d_bias"]
    for name, want, got in zip(names, *results):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=2e-6, err_msg=name)


def test_a_padded_batch_trains_as_its_sentences_alone(calls):
    # A bidirectional layer over three sentences padded with junk: outputs at
    # real positions, final states and the weight gradients equal those of
    # each sentence run alone, unpadded, with the gradients summed.
    rng = np.random.default_rng(2)
    lengths = [5, 2, 3]
    sentences = [rng.normal(size=(n, 4)).astype("float32") for n in lengths]
    layer = keras.layers.Bidirectional(GRU(3, return_sequences=True, return_state=True), merge_mode="sum")
    layer.build((None, None, 4))

    def run(x, mask):
        with tf.GradientTape() as tape:
            outputs, forward, backward = layer(x, mask=mask, training=True)
            valid = tf.cast(mask, tf.float32)[:, :, None]
            loss = tf.reduce_sum(tf.sin(outputs) * valid) + tf.reduce_sum(forward * backward)
        return outputs, forward, backward, tape.gradient(loss, layer.trainable_variables)

    padded = np.full((3, 5, 4), 7.0, "float32")
    for i, s in enumerate(sentences):
        padded[i, : len(s)] = s
    mask = np.arange(5)[None, :] < np.array(lengths)[:, None]
    outputs, forward, backward, gradients = run(tf.constant(padded), tf.constant(mask))
    alone = [run(tf.constant(s[None]), tf.ones((1, len(s)), bool)) for s in sentences]
    for i, (o, f, b, _) in enumerate(alone):
        np.testing.assert_allclose(outputs[i, : lengths[i]], o[0], atol=1e-6)
        np.testing.assert_allclose(forward[i], f[0], atol=1e-6)
        np.testing.assert_allclose(backward[i], b[0], atol=1e-6)
    for i, gradient in enumerate(gradients):
        np.testing.assert_allclose(gradient, sum(a[3][i] for a in alone), rtol=1e-5, atol=1e-6)
    assert calls


def test_on_a_gpu_the_call_is_left_to_keras(monkeypatch):
    monkeypatch.setattr(
        tf.config, "list_logical_devices", lambda kind=None: ["/GPU:0"] if kind == "GPU" else []
    )
    x = tf.zeros((1, 2, 3))
    with pytest.raises(NotImplementedError, match="cuDNN"):
        tensorflow_gru.gru(x, tf.zeros((1, 4)), None, tf.zeros((3, 12)), tf.zeros((4, 12)), tf.zeros((2, 12)))
    layer = GRU(4)
    layer.build(x.shape)
    assert layer(x, training=True).shape == (1, 4)  # Keras' loop
