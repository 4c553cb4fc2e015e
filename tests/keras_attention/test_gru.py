"""`keras_attention.GRU` is Keras' GRU, trained with a registered loop where one applies."""

import keras
import numpy as np
import pytest

from keras_attention import GRU
from keras_attention.recurrent import gru as gru_module
from tests.helpers import check_layer


def _inputs(seed=0):
    x = np.random.default_rng(seed).normal(size=(2, 5, 3)).astype("float32")
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    return x, mask


def test_shared_round_trips(tmp_path):
    x, mask = _inputs()
    check_layer(
        lambda: GRU(4, return_sequences=True, return_state=True),
        {"sequences": x, "mask": mask},
        tmp_path,
        padded=("sequences", "mask"),
    )


def test_weights_from_keras_gru_give_the_same_outputs():
    x, mask = _inputs()
    reference = keras.layers.GRU(4, return_sequences=True, return_state=True, go_backwards=True)
    ours = GRU(4, return_sequences=True, return_state=True, go_backwards=True)
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


@pytest.fixture
def loop(monkeypatch):
    recording = _RecordingLoop()
    monkeypatch.setitem(gru_module.TRAINING_LOOPS, keras.backend.backend(), recording)
    return recording


@pytest.mark.parametrize(
    "settings, training, used",
    [
        ({}, True, True),
        ({}, False, False),  # inference is Keras' own loop
        ({"reset_after": False}, True, False),
        ({"dropout": 0.1}, True, False),
        ({"recurrent_dropout": 0.1}, True, False),
        ({"activation": "relu"}, True, False),
        ({"use_bias": False}, True, False),
    ],
)
def test_the_registered_loop_runs_only_for_the_settings_it_computes(loop, settings, training, used):
    x, mask = _inputs()
    layer = GRU(4, return_sequences=True, **settings)
    reference = keras.layers.GRU(4, return_sequences=True, **settings)
    reference.build(x.shape)
    layer.build(x.shape)
    layer.set_weights(reference.get_weights())
    got = layer(x, mask=mask, training=training)
    assert loop.calls == int(used)
    if not (training and (settings.get("dropout") or settings.get("recurrent_dropout"))):
        # A loop that declines (NotImplementedError) leaves the call to Keras.
        np.testing.assert_array_equal(np.asarray(got), np.asarray(reference(x, mask=mask, training=training)))
