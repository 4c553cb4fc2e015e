import keras
import numpy as np
import pytest

from keras_attention import RNN_TYPES, BahdanauAttention, RecurrentDecoder
from tests.helpers import check_layer

CELLS = sorted(RNN_TYPES)
# (attention, attention_score, input_feeding): every way a decoder uses the encoder.
VARIANTS = [
    (None, None, False),
    ("luong", "dot", False),
    ("luong", "general", True),
    ("luong", "concat", False),
    ("bahdanau", "additive", False),
    ("bahdanau", "normalized", False),
    ("scaled_dot_product", None, False),
]


def _data(cell, num_layers=2, units=8, seed=0):
    rng = np.random.default_rng(seed)
    memory = rng.normal(size=(2, 5, units)).astype("float32")
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    states = [
        [rng.normal(size=(2, units)).astype("float32") * 0.5 for _ in range(2 if cell == "lstm" else 1)]
        for _ in range(num_layers)
    ]
    targets = rng.normal(size=(2, 4, 6)).astype("float32")
    return targets, states, memory, mask


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("attention,score,feeding", VARIANTS)
def test_step_matches_whole_sequence(cell, attention, score, feeding):
    targets, states, memory, mask = _data(cell)
    decoder = RecurrentDecoder(
        cell,
        units=8,
        num_layers=2,
        residual=True,
        attention=attention,
        attention_score=score,
        input_feeding=feeding,
    )
    outputs, final_states = decoder(targets, initial_state=states, memory=memory, memory_mask=mask)
    assert decoder.stepwise == (feeding or attention == "bahdanau")
    previous = np.zeros((2, 8), "float32")
    for t in range(4):
        previous, states, weights = decoder.step(targets[:, t], states, previous, memory, None, mask)
        np.testing.assert_allclose(previous, np.asarray(outputs)[:, t], atol=1e-5)
        if attention:
            assert np.all(np.asarray(weights)[0, 3:] == 0.0)
            np.testing.assert_allclose(np.asarray(weights).sum(-1), 1.0, atol=1e-6)
        else:
            assert weights is None
    for layer_states, final in zip(states, final_states):
        for s, f in zip(layer_states, final):
            np.testing.assert_allclose(s, f, atol=1e-5)


@pytest.mark.parametrize("attention,score,feeding", [v for v in VARIANTS if v[0]])
def test_rows_sharing_a_source_attend_to_it_as_if_it_were_repeated(attention, score, feeding):
    # Beam search keeps a sentence's encoder outputs once for its k hypotheses.
    k = 3
    targets, states, memory, mask = _data("gru")
    decoder = RecurrentDecoder(
        "gru", units=8, num_layers=2, attention=attention, attention_score=score, input_feeding=feeding
    )
    decoder(targets, initial_state=states, memory=memory, memory_mask=mask)  # builds it
    rng = np.random.default_rng(1)
    inputs = rng.normal(size=(2 * k, 6)).astype("float32")  # rows 0-2 read source 0, rows 3-5 source 1
    rows = [[rng.normal(size=(2 * k, 8)).astype("float32")] for _ in range(2)]
    previous = rng.normal(size=(2 * k, 8)).astype("float32")
    shared = decoder.step(inputs, rows, previous, memory, None, mask)
    repeated = decoder.step(inputs, rows, previous, np.repeat(memory, k, 0), None, np.repeat(mask, k, 0))
    for got, expected in zip(keras.tree.flatten(shared), keras.tree.flatten(repeated)):
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    assert np.asarray(shared[2]).shape == (2 * k, 5) and np.all(np.asarray(shared[2])[:k, 3:] == 0.0)


@pytest.mark.parametrize("attention,score,feeding", VARIANTS)
def test_shared_round_trips(attention, score, feeding, tmp_path):
    targets, states, memory, mask = _data("gru", num_layers=1)
    inputs = {"inputs": targets, "initial_state": states, "memory": memory, "memory_mask": mask}
    if attention is None:
        inputs = {"inputs": targets, "initial_state": states}
    check_layer(
        lambda: RecurrentDecoder(
            "gru", units=8, attention=attention, attention_score=score, input_feeding=feeding
        ),
        inputs,
        tmp_path,
        padded=("memory", "memory_mask"),
    )


def test_bahdanau_attends_with_the_previous_state():
    targets, states, memory, mask = _data("gru", num_layers=1)
    decoder = RecurrentDecoder("gru", units=8, attention="bahdanau")
    decoder(targets, initial_state=states, memory=memory, memory_mask=mask)
    _, _, weights = decoder.step(targets[:, 0], states, None, memory, None, mask)
    attention = decoder.attention_layer
    assert isinstance(attention, BahdanauAttention)
    _, expected = attention(states[0][0][:, None], memory, value_mask=mask, return_attention_scores=True)
    np.testing.assert_allclose(weights, np.asarray(expected)[:, 0], atol=1e-6)


def test_input_feeding_uses_the_previous_output():
    targets, states, memory, mask = _data("lstm", num_layers=1)
    decoder = RecurrentDecoder("lstm", units=8, attention="luong", input_feeding=True)
    decoder(targets, initial_state=states, memory=memory, memory_mask=mask)
    zeros = np.zeros((2, 8), "float32")
    a, _, _ = decoder.step(targets[:, 0], states, zeros, memory, None, mask)
    b, _, _ = decoder.step(targets[:, 0], states, zeros + 1.0, memory, None, mask)
    assert not np.allclose(a, b)


def test_memory_padding_changes_nothing():
    targets, states, memory, mask = _data("gru", num_layers=1)
    decoder = RecurrentDecoder("gru", units=8, attention="bahdanau")
    outputs, _ = decoder(targets, initial_state=states, memory=memory, memory_mask=mask)
    padded_memory = np.concatenate([memory, np.full((2, 4, 8), 5.0, "float32")], axis=1)
    padded_mask = np.concatenate([mask, np.zeros((2, 4), bool)], axis=1)
    padded, _ = decoder(targets, initial_state=states, memory=padded_memory, memory_mask=padded_mask)
    np.testing.assert_allclose(padded, outputs, atol=1e-6)


def test_errors():
    with pytest.raises(ValueError, match="Unknown attention: 'bahdanau2'.*'luong', 'bahdanau'"):
        RecurrentDecoder("gru", attention="bahdanau2")
    with pytest.raises(ValueError, match="Luong `score_mode`: 'additive'"):
        RecurrentDecoder("gru", attention="luong", attention_score="additive")
    with pytest.raises(ValueError, match="input_feeding.*Luong"):
        RecurrentDecoder("gru", attention="bahdanau", input_feeding=True)
    with pytest.raises(ValueError, match="apply to a decoder with attention"):
        RecurrentDecoder("gru", attention_score="dot")
    with pytest.raises(ValueError, match="needs `memory`"):
        RecurrentDecoder("gru", units=4, attention="luong")(np.ones((1, 2, 3), "float32"))
    with pytest.raises(ValueError, match="same size.*6.*4"):
        RecurrentDecoder("gru", units=6, attention="luong")(
            np.ones((1, 2, 3), "float32"), memory=np.ones((1, 3, 4), "float32")
        )
