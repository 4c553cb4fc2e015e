import numpy as np
import pytest
import tensorflow as tf

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


# Rows out of length order, an empty row and rows with no padding.
PACKED_LENGTHS = np.array([3, 7, 0, 1, 7, 4])


def _packed_inputs(dim=5, seed=0):
    x = np.random.default_rng(seed).normal(size=(len(PACKED_LENGTHS), 7, dim)).astype("float32")
    return x, np.arange(7)[None, :] < PACKED_LENGTHS[:, None]


def _assert_same_encoding(actual, expected, atol=1e-5):
    (outputs, states), (expected_outputs, expected_states) = actual, expected
    np.testing.assert_allclose(outputs, expected_outputs, atol=atol)  # padded steps included
    for layer, expected_layer in zip(states, expected_states, strict=True):
        for state, expected_state in zip(layer, expected_layer, strict=True):
            np.testing.assert_allclose(state, expected_state, atol=atol)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("bidirectional, merge_mode", [(False, "concat"), (True, "concat"), (True, "sum")])
@pytest.mark.parametrize("residual", [False, True])
def test_packed_gives_the_masked_outputs_and_states(cell, bidirectional, merge_mode, residual):
    x, mask = _packed_inputs()
    encoder = RecurrentEncoder(
        cell, units=8, num_layers=2, bidirectional=bidirectional, merge_mode=merge_mode, residual=residual
    )
    _assert_same_encoding(encoder(x, mask=mask, packed=True), encoder(x, mask=mask))


def test_packed_runs_in_a_graph_of_unknown_batch_and_length():
    x, mask = _packed_inputs()
    encoder = RecurrentEncoder("lstm", units=8, num_layers=2, bidirectional=True)
    expected = encoder(x, mask=mask)
    packed = tf.function(
        lambda x, mask: encoder(x, mask=mask, packed=True),
        input_signature=[tf.TensorSpec([None, None, 5], tf.float32), tf.TensorSpec([None, None], tf.bool)],
    )
    _assert_same_encoding(packed(x, mask), expected)
    # A batch of one row, and a batch of empty rows.
    _assert_same_encoding(packed(x[1:2], mask[1:2]), encoder(x[1:2], mask=mask[1:2]))
    _assert_same_encoding(packed(x[2:3], mask[2:3]), encoder(x[2:3], mask=mask[2:3]))


def test_packed_without_a_mask_reads_every_step():
    x, _ = _packed_inputs()
    encoder = RecurrentEncoder("gru", units=8, bidirectional=True)
    _assert_same_encoding(encoder(x, packed=True), encoder(x))


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
    x = np.ones((2, 5, 4), "float32")
    for packed in (False, True):
        with pytest.raises(
            ValueError, match=r"`mask` must be `\(batch_size, T\)` = \(2, 5\).*received shape \(2, 4\)"
        ):
            RecurrentEncoder("gru", units=6)(x, mask=np.ones((2, 4), bool), packed=packed)
