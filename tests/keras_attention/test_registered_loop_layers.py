"""`keras_attention.GRU` and `LSTM` are Keras' layers, trained with a registered loop where one applies."""

import keras
import numpy as np
import pytest

from keras_attention import GRU, LSTM
from keras_attention.recurrent import gru as gru_module
from keras_attention.recurrent import lstm as lstm_module
from tests.helpers import check_layer

# Ours, Keras' layer, and our layer's registry of training loops.
LAYERS = {
    "gru": (GRU, keras.layers.GRU, gru_module.TRAINING_LOOPS),
    "lstm": (LSTM, keras.layers.LSTM, lstm_module.TRAINING_LOOPS),
}


def _inputs(seed=0):
    x = np.random.default_rng(seed).normal(size=(2, 5, 3)).astype("float32")
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    return x, mask


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_shared_round_trips(tmp_path, name):
    layer_class = LAYERS[name][0]
    x, mask = _inputs()
    check_layer(
        lambda: layer_class(4, return_sequences=True, return_state=True),
        {"sequences": x, "mask": mask},
        tmp_path,
        padded=("sequences", "mask"),
    )


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_weights_from_keras_give_the_same_outputs(name):
    layer_class, keras_class, _ = LAYERS[name]
    x, mask = _inputs()
    reference = keras_class(4, return_sequences=True, return_state=True, go_backwards=True)
    ours = layer_class(4, return_sequences=True, return_state=True, go_backwards=True)
    reference.build(x.shape)
    ours.build(x.shape)
    ours.set_weights(reference.get_weights())
    for got, want in zip(ours(x, mask=mask), reference(x, mask=mask)):
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


class _RecordingLoop:
    """A registered loop that records its calls and leaves them to Keras' loop."""

    def __init__(self):
        self.calls = 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        raise NotImplementedError("left to Keras")


def _recording_loop(monkeypatch, name):
    recording = _RecordingLoop()
    monkeypatch.setitem(LAYERS[name][2], keras.backend.backend(), recording)
    return recording


SHARED_SETTINGS = [
    ({}, True, True),
    ({}, False, False),  # inference is Keras' own loop
    ({"dropout": 0.1}, True, False),
    ({"recurrent_dropout": 0.1}, True, False),
    ({"activation": "relu"}, True, False),
    ({"use_bias": False}, True, False),
]


@pytest.mark.parametrize(
    "name, settings, training, used",
    [("gru", *case) for case in SHARED_SETTINGS]
    + [("lstm", *case) for case in SHARED_SETTINGS]
    + [("gru", {"reset_after": False}, True, False), ("lstm", {"implementation": 1}, True, False)],
)
def test_the_registered_loop_runs_only_for_the_settings_it_computes(
    monkeypatch, name, settings, training, used
):
    layer_class, keras_class, _ = LAYERS[name]
    loop = _recording_loop(monkeypatch, name)
    x, mask = _inputs()
    layer = layer_class(4, return_sequences=True, **settings)
    reference = keras_class(4, return_sequences=True, **settings)
    reference.build(x.shape)
    layer.build(x.shape)
    layer.set_weights(reference.get_weights())
    got = layer(x, mask=mask, training=training)
    assert loop.calls == int(used)
    if not (training and (settings.get("dropout") or settings.get("recurrent_dropout"))):
        # A loop that declines (NotImplementedError) leaves the call to Keras.
        np.testing.assert_array_equal(np.asarray(got), np.asarray(reference(x, mask=mask, training=training)))


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_use_cudnn_true_is_left_to_keras_to_refuse_on_a_cpu(monkeypatch, name):
    loop = _recording_loop(monkeypatch, name)
    x, mask = _inputs()
    layer = LAYERS[name][0](4, use_cudnn=True)
    with pytest.raises(ValueError, match="cuDNN"):
        layer(x, mask=mask, training=True)
    assert loop.calls == 0
