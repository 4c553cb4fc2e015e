import numpy as np
import pytest

from keras_attention import BahdanauAttention
from tests.helpers import check_layer, numpy_attention


def numpy_bahdanau_scores(layer, query, key):
    """Bahdanau et al. (2014) appendix A.1.2: v_a^T tanh(W_a s + U_a h_j)."""
    w_a, u_a, v_a = (np.asarray(w) for w in (layer.query_kernel, layer.key_kernel, layer.v))
    hidden = (query @ w_a)[:, :, None, :] + (key @ u_a)[:, None, :, :]  # (batch, Tq, Tk, units)
    if layer.score_mode == "normalized":
        hidden = hidden + np.asarray(layer.bias)
        v_a = float(layer.g) * v_a / np.linalg.norm(v_a)
    return np.tanh(hidden) @ v_a


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    query = rng.normal(size=(2, 3, 4)).astype("float32")
    value = rng.normal(size=(2, 5, 6)).astype("float32")
    mask = np.array([[1, 1, 0, 0, 0], [1, 1, 1, 1, 1]], dtype=bool)
    return query, value, mask


@pytest.mark.parametrize("score_mode", BahdanauAttention.SCORE_MODES)
def test_matches_numpy(score_mode, data):
    query, value, mask = data
    layer = BahdanauAttention(units=7, score_mode=score_mode)
    output, weights = layer(query, value, value_mask=mask, return_attention_scores=True)
    expected_output, expected_weights = numpy_attention(
        numpy_bahdanau_scores(layer, query, value), value, mask[:, None, :]
    )
    np.testing.assert_allclose(weights, expected_weights, atol=1e-6)
    np.testing.assert_allclose(output, expected_output, atol=1e-5)
    assert np.all(np.asarray(weights)[0, :, 2:] == 0.0)


@pytest.mark.parametrize("score_mode", BahdanauAttention.SCORE_MODES)
def test_shared_round_trips(score_mode, data, tmp_path):
    query, value, mask = data
    check_layer(
        lambda: BahdanauAttention(units=5, score_mode=score_mode),
        {"query": query, "value": value, "value_mask": mask},
        tmp_path,
        padded=("value", "value_mask"),
        call_kwargs={"return_attention_scores": True},
    )


def test_separate_key_and_causal_mask(data):
    query, value, _ = data
    key = np.random.default_rng(2).normal(size=(2, 5, 3)).astype("float32")
    x = np.concatenate([query, query[:, :2]], axis=1)  # (2, 5, 4)
    output, weights = BahdanauAttention()(
        x, value, key=key, use_causal_mask=True, return_attention_scores=True
    )
    assert output.shape == (2, 5, 6)
    assert np.all(np.triu(np.asarray(weights), k=1) == 0.0)


def test_units_default_to_the_query_size(data):
    query, value, _ = data
    layer = BahdanauAttention()
    layer(query, value)
    assert layer.v.shape == (4,)


def test_errors():
    with pytest.raises(ValueError, match="score_mode.*'dot'.*'additive', 'normalized'"):
        BahdanauAttention(score_mode="dot")
    with pytest.raises(ValueError, match="units"):
        BahdanauAttention(units=0)
    with pytest.raises(ValueError, match=r"takes 3-D .*received `value` of shape \(3, 4\)"):
        BahdanauAttention()(np.ones((1, 2, 4), "float32"), np.ones((3, 4), "float32"))
