import keras
import numpy as np
import pytest

from keras_attention import RNN_TYPES, RecurrentDecoder, RecurrentEncoder
from tests.helpers import assert_config_round_trip, assert_keras_round_trip, pad_right

CELLS = sorted(RNN_TYPES)


def _inputs(batch=2, time=5, dim=6, seed=0):
    x = np.random.default_rng(seed).normal(size=(batch, time, dim)).astype("float32")
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)[:batch, :time]
    return x, mask


@pytest.mark.parametrize("cell", CELLS)
def test_encoder_padding_changes_nothing(cell):
    x, mask = _inputs()
    encoder = RecurrentEncoder(cell, units=8, num_layers=2)
    outputs, states = encoder(x, mask=mask)
    padded_outputs, padded_states = encoder(pad_right(x, 3, 7.0), mask=pad_right(mask, 3, False))
    np.testing.assert_allclose(np.asarray(padded_outputs)[:, :5][mask], np.asarray(outputs)[mask], atol=1e-6)
    for layer_states, padded_layer_states in zip(states, padded_states):
        for s, p in zip(layer_states, padded_layer_states):
            np.testing.assert_allclose(p, s, atol=1e-6)


@pytest.mark.parametrize("cell", CELLS)
def test_encoder_final_state_is_after_last_real_token(cell):
    x, mask = _inputs()
    encoder = RecurrentEncoder(cell, units=8)
    _, states = encoder(x, mask=mask)
    _, short_states = encoder(x[:1, :3])  # the first row without its padding
    np.testing.assert_allclose(states[0][0][:1], short_states[0][0], atol=1e-6)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("attention", [None, "luong"])
def test_decoder_step_matches_whole_sequence(cell, attention):
    memory, mask = _inputs(dim=8)
    encoder_states = [[np.full((2, 8), 0.1 * (i + 1), "float32") for i in range(2 if cell == "lstm" else 1)]]
    targets = np.random.default_rng(3).normal(size=(2, 4, 6)).astype("float32")
    decoder = RecurrentDecoder(cell, units=8, attention=attention)
    outputs, _ = decoder(targets, initial_state=encoder_states, memory=memory, memory_mask=mask)
    states = encoder_states
    for t in range(4):
        output, states, weights = decoder.step(targets[:, t], states, memory, mask)
        np.testing.assert_allclose(output, np.asarray(outputs)[:, t], atol=1e-5)
        if attention:
            assert np.all(np.asarray(weights)[0, 3:] == 0.0)
            np.testing.assert_allclose(np.asarray(weights).sum(-1), 1.0, atol=1e-6)
        else:
            assert weights is None


def test_decoder_memory_padding_changes_nothing():
    memory, mask = _inputs(dim=8)
    targets = np.ones((2, 3, 6), "float32")
    decoder = RecurrentDecoder("gru", units=8, attention="luong")
    outputs, _ = decoder(targets, memory=memory, memory_mask=mask)
    padded, _ = decoder(targets, memory=pad_right(memory, 4, 5.0), memory_mask=pad_right(mask, 4, False))
    np.testing.assert_allclose(padded, outputs, atol=1e-6)


def test_errors():
    with pytest.raises(ValueError, match="Unknown `cell_type`: 'transformer'.*'gru'"):
        RecurrentEncoder("transformer")
    with pytest.raises(ValueError, match="Unknown attention: 'bahdanau2'"):
        RecurrentDecoder("gru", attention="bahdanau2")
    with pytest.raises(ValueError, match="num_layers"):
        RecurrentEncoder("gru", num_layers=0)
    with pytest.raises(ValueError, match="needs `memory`"):
        RecurrentDecoder("gru", units=4, attention="luong")(np.ones((1, 2, 3), "float32"))


@pytest.mark.parametrize("cell", CELLS)
def test_round_trips(cell, tmp_path):
    assert_config_round_trip(RecurrentEncoder(cell, units=4, num_layers=2, dropout=0.1))
    assert_config_round_trip(RecurrentDecoder(cell, units=4, attention="luong"))
    source = keras.Input((None, 6))
    target = keras.Input((None, 6))
    memory, states = RecurrentEncoder(cell, units=8)(source)
    outputs, _ = RecurrentDecoder(cell, units=8, attention="luong")(
        target, initial_state=states, memory=memory
    )
    model = keras.Model([source, target], outputs)
    x, _ = _inputs()
    assert_keras_round_trip(model, [x, x[:, :3]], tmp_path)
