import numpy as np
import pytest

from keras_attention import MultiHeadAttention
from tests.helpers import check_layer, numpy_attention


def numpy_multi_head(layer, query, value, value_mask):
    """Vaswani et al. (2017) eq. 4-5 with the layer's projections."""

    def project(dense, x):
        return np.einsum("btd,dnh->btnh", x, np.asarray(dense.kernel)) + np.asarray(dense.bias)

    q, k, v = (
        project(layer.query_dense, query),
        project(layer.key_dense, value),
        project(layer.value_dense, value),
    )
    scores = np.einsum("btnh,bsnh->bnts", q, k) / np.sqrt(layer.key_dim)
    context, weights = numpy_attention(scores, np.transpose(v, (0, 2, 1, 3)), value_mask[:, None, None, :])
    context = np.transpose(context, (0, 2, 1, 3))  # (batch, T, heads, head_dim)
    output = np.einsum("btnh,nhd->btd", context, np.asarray(layer.output_dense.kernel))
    return output + np.asarray(layer.output_dense.bias), weights


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    query = rng.normal(size=(2, 3, 8)).astype("float32")
    value = rng.normal(size=(2, 5, 8)).astype("float32")
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=bool)
    return query, value, mask


def test_matches_numpy_and_returns_weights_per_head(data):
    query, value, mask = data
    layer = MultiHeadAttention(num_heads=2, key_dim=4)
    output, weights = layer(query, value, value_mask=mask, return_attention_scores=True)
    expected_output, expected_weights = numpy_multi_head(layer, query, value, mask)
    assert weights.shape == (2, 2, 3, 5)  # (batch, heads, Tq, Tk)
    np.testing.assert_allclose(weights, expected_weights, atol=1e-6)
    np.testing.assert_allclose(output, expected_output, atol=1e-5)
    assert np.all(np.asarray(weights)[0, :, :, 3:] == 0.0)


def test_shared_round_trips(data, tmp_path):
    query, value, mask = data
    check_layer(
        lambda: MultiHeadAttention(num_heads=2, key_dim=4, dropout=0.1),
        {"query": query, "value": value, "value_mask": mask},
        tmp_path,
        padded=("value", "value_mask"),
        call_kwargs={"return_attention_scores": True},
    )


def test_padded_queries_and_empty_sources_give_zeros(data):
    query, value, _ = data
    query_mask = np.array([[1, 1, 0], [1, 1, 1]], dtype=bool)
    value_mask = np.array([[1, 1, 1, 1, 1], [0, 0, 0, 0, 0]], dtype=bool)
    output, weights = MultiHeadAttention(2, 4)(
        query, value, query_mask=query_mask, value_mask=value_mask, return_attention_scores=True
    )
    assert np.all(np.asarray(output)[0, 2] == 0.0)
    assert np.all(np.asarray(weights)[0, :, 2] == 0.0)
    assert np.all(np.asarray(weights)[1] == 0.0)  # nothing to attend to: no weight anywhere
    assert np.all(np.isfinite(np.asarray(output)))


def test_causal_mask_hides_the_future():
    x = np.random.default_rng(1).normal(size=(1, 4, 8)).astype("float32")
    layer = MultiHeadAttention(2, 4)
    output, weights = layer(x, x, use_causal_mask=True, return_attention_scores=True)
    assert np.all(np.triu(np.asarray(weights)[0, 0], k=1) == 0.0)
    changed = x.copy()
    changed[:, 3] += 1.0
    np.testing.assert_allclose(layer(changed, changed, use_causal_mask=True)[:, :3], output[:, :3], atol=1e-6)


def test_projected_keys_and_values_give_the_same_result(data):
    query, value, mask = data
    layer = MultiHeadAttention(2, 4)
    expected = layer(query, value, value_mask=mask)
    keys, values = layer.project_key_value(value, value)
    np.testing.assert_allclose(layer.attend(query, keys, values, value_mask=mask), expected, atol=1e-6)
