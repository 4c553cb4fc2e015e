import numpy as np
import pytest

from keras_attention import MERGE_MODES, RNN_TYPES, RecurrentEncoder
from tests.helpers import check_layer

CELLS = sorted(RNN_TYPES)


def _inputs(batch=2, time=5, dim=6, seed=0):
    x = np.random.default_rng(seed).normal(size=(batch, time, dim)).astype("float32")
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)[:batch, :time]
    return x, mask


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_shared_round_trips(cell, bidirectional, tmp_path):
    # Padding invariance covers outputs and every layer's final states.
    x, mask = _inputs()
    check_layer(
        lambda: RecurrentEncoder(cell, units=8, num_layers=2, dropout=0.1, bidirectional=bidirectional),
        {"inputs": x, "mask": mask},
        tmp_path,
        padded=("inputs", "mask"),
    )


@pytest.mark.parametrize("cell", CELLS)
def test_final_state_is_after_last_real_token(cell):
    x, mask = _inputs()
    encoder = RecurrentEncoder(cell, units=8)
    _, states = encoder(x, mask=mask)
    _, short_states = encoder(x[:1, :3])  # the first row without its padding
    np.testing.assert_allclose(states[0][0][:1], short_states[0][0], atol=1e-6)


@pytest.mark.parametrize("cell", CELLS)
def test_bidirectional_states_are_both_directions_concatenated(cell):
    x, mask = _inputs()
    encoder = RecurrentEncoder(cell, units=8, bidirectional=True, merge_mode="concat")
    outputs, states = encoder(x, mask=mask)
    assert outputs.shape == (2, 5, 8)
    layer = encoder.rnn_layers[0]
    # The first row has 3 real tokens: the forward layer reads them in order,
    # the backward layer reads them reversed and ends after the first.
    _, *forward = layer.forward_layer(x[:1, :3])
    _, *backward = layer.backward_layer(x[:1, :3])  # go_backwards=True
    for merged, f, b in zip(states[0], forward, backward):
        np.testing.assert_allclose(merged[:1, :4], f, atol=1e-6)
        np.testing.assert_allclose(merged[:1, 4:], b, atol=1e-6)


def test_sum_merge_adds_the_directions():
    x, mask = _inputs()
    encoder = RecurrentEncoder("gru", units=6, bidirectional=True, merge_mode="sum")
    outputs, states = encoder(x, mask=mask)
    layer = encoder.rnn_layers[0]
    _, forward = layer.forward_layer(x[:1, :3])
    _, backward = layer.backward_layer(x[:1, :3])
    assert outputs.shape == (2, 5, 6)
    np.testing.assert_allclose(states[0][0][:1], np.asarray(forward) + np.asarray(backward), atol=1e-6)


def test_residual_adds_each_layer_input():
    x, _ = _inputs()
    encoder = RecurrentEncoder("gru", units=6, num_layers=3, residual=True)
    outputs, _ = encoder(x)
    first, second, third = encoder.rnn_layers
    h1 = np.asarray(first(x)[0])  # no residual around the first layer
    h2 = np.asarray(second(h1)[0]) + h1
    h3 = np.asarray(third(h2)[0]) + h2
    np.testing.assert_allclose(outputs, h3, atol=1e-5)


def test_errors():
    with pytest.raises(ValueError, match="Unknown `cell_type`: 'transformer'.*'gru'"):
        RecurrentEncoder("transformer")
    with pytest.raises(ValueError, match="num_layers"):
        RecurrentEncoder("gru", num_layers=0)
    with pytest.raises(ValueError, match="dropout"):
        RecurrentEncoder("gru", dropout=1.0)
    with pytest.raises(ValueError, match="units // 2.*even.*units=7"):
        RecurrentEncoder("gru", units=7, bidirectional=True)
    with pytest.raises(ValueError, match=f"merge_mode.*'mul'.*{MERGE_MODES[0]!r}"):
        RecurrentEncoder("gru", bidirectional=True, merge_mode="mul")
