import keras
import numpy as np
import pytest

from keras_attention import LuongAttention
from tests.helpers import assert_config_round_trip, assert_keras_round_trip


def numpy_attention(query, value, value_mask=None):
    """Luong et al. eq. 7-8 (dot score) in NumPy: weights and context."""
    scores = np.einsum("bqd,bkd->bqk", query, value)
    if value_mask is not None:
        scores = np.where(value_mask[:, None, :], scores, -np.inf)
    scores = scores - scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores)
    weights = weights / weights.sum(axis=-1, keepdims=True)
    return weights @ value, weights


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    query = rng.normal(size=(2, 3, 4)).astype("float32")
    value = rng.normal(size=(2, 5, 4)).astype("float32")
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=bool)
    return query, value, mask


def test_matches_numpy(data):
    query, value, mask = data
    output, weights = LuongAttention()(query, value, value_mask=mask, return_attention_scores=True)
    expected_output, expected_weights = numpy_attention(query, value, mask)
    np.testing.assert_allclose(weights, expected_weights, atol=1e-6)
    np.testing.assert_allclose(output, expected_output, atol=1e-5)


def test_hand_checkable_weights():
    # Scores are 0 and ln(3) -> softmax weights 1/4 and 3/4.
    query = np.array([[[1.0]]], "float32")
    value = np.array([[[0.0], [np.log(3.0)]]], "float32")
    output, weights = LuongAttention()(query, value, return_attention_scores=True)
    np.testing.assert_allclose(weights, [[[0.25, 0.75]]], atol=1e-6)
    np.testing.assert_allclose(output, [[[0.75 * np.log(3.0)]]], atol=1e-6)


def test_masked_keys_get_exactly_zero_and_rows_sum_to_one(data):
    query, value, mask = data
    _, weights = LuongAttention()(query, value, value_mask=mask, return_attention_scores=True)
    weights = np.asarray(weights)
    assert np.all(weights[0, :, 3:] == 0.0)
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, atol=1e-6)


def test_padding_keys_changes_nothing(data):
    query, value, mask = data
    layer = LuongAttention()
    output = layer(query, value, value_mask=mask)
    padded_value = np.concatenate([value, np.full((2, 3, 4), 9.0, "float32")], axis=1)
    padded_mask = np.concatenate([mask, np.zeros((2, 3), bool)], axis=1)
    np.testing.assert_allclose(layer(query, padded_value, value_mask=padded_mask), output, atol=1e-6)


def test_query_mask_zeroes_padded_queries(data):
    query, value, mask = data
    query_mask = np.array([[1, 1, 0], [1, 0, 0]], dtype=bool)
    output, weights = LuongAttention()(
        query, value, query_mask=query_mask, value_mask=mask, return_attention_scores=True
    )
    assert np.all(np.asarray(output)[~query_mask] == 0.0)
    assert np.all(np.asarray(weights)[~query_mask] == 0.0)


def test_all_keys_masked_gives_zero_weights(data):
    query, value, _ = data
    mask = np.zeros((2, 5), dtype=bool)
    output, weights = LuongAttention()(query, value, value_mask=mask, return_attention_scores=True)
    assert np.all(np.asarray(weights) == 0.0)
    assert np.all(np.asarray(output) == 0.0)


def test_causal_mask():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(1, 4, 3)).astype("float32")
    _, weights = LuongAttention()(x, x, use_causal_mask=True, return_attention_scores=True)
    assert np.all(np.triu(np.asarray(weights)[0], k=1) == 0.0)
    np.testing.assert_allclose(np.asarray(weights).sum(-1), 1.0, atol=1e-6)


def test_dropout_only_in_training(data):
    query, value, mask = data
    layer = LuongAttention(dropout=0.5)
    np.testing.assert_array_equal(layer(query, value, training=False), LuongAttention()(query, value))
    assert not np.allclose(layer(query, value, training=True), layer(query, value, training=False))


def test_errors():
    with pytest.raises(ValueError, match="score_mode.*'cosine'.*'dot'"):
        LuongAttention(score_mode="cosine")
    with pytest.raises(ValueError, match="dropout"):
        LuongAttention(dropout=1.5)
    with pytest.raises(ValueError, match="same size.*4.*6"):
        LuongAttention()(np.ones((1, 2, 4), "float32"), np.ones((1, 3, 6), "float32"))


def test_round_trips(data, tmp_path):
    query, value, mask = data
    assert_config_round_trip(LuongAttention(dropout=0.1, name="luong"))
    q = keras.Input((None, 4))
    v = keras.Input((None, 4))
    model = keras.Model([q, v], LuongAttention()(q, v))
    assert_keras_round_trip(model, [query, value], tmp_path)
