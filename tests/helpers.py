"""Shared round trips: config, `.keras` save/load, padding invariance."""

import keras
import numpy as np
from keras import ops


def assert_config_round_trip(layer):
    """`from_config(get_config())` rebuilds a layer with the same config."""
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config


def assert_keras_round_trip(model, inputs, tmp_path):
    """A `.keras` save and load, without custom_objects, gives identical outputs."""
    path = str(tmp_path / "model.keras")
    expected = ops.convert_to_numpy(model(inputs))
    model.save(path)
    restored = keras.saving.load_model(path)
    np.testing.assert_array_equal(ops.convert_to_numpy(restored(inputs)), expected)
    return restored


def pad_right(array, extra, value=0):
    """`array` with `extra` more positions of `value` on axis 1."""
    widths = [(0, 0)] * array.ndim
    widths[1] = (0, extra)
    return np.pad(array, widths, constant_values=value)
