import numpy as np
import pytest

from keras_attention import LuongAttention
from tests.helpers import check_layer, numpy_attention


def numpy_luong_scores(layer, query, key):
    """Luong et al. (2015) eq. 8, written as in the paper, with the layer's weights."""
    if layer.score_mode == "dot":
        return np.einsum("bqd,bkd->bqk", query, key)
    kernel = np.asarray(layer.kernel)
    if layer.score_mode == "general":
        w_a = kernel.T  # (dim_q, dim_k): h_t^T W_a h_s
        return np.einsum("bqi,ij,bkj->bqk", query, w_a, key)
    # concat: v_a^T tanh(W_a [h_t; h_s])
    batch, tq, tk = query.shape[0], query.shape[1], key.shape[1]
    pairs = np.concatenate(
        [
            np.broadcast_to(query[:, :, None], (batch, tq, tk, query.shape[-1])),
            np.broadcast_to(key[:, None], (batch, tq, tk, key.shape[-1])),
        ],
        axis=-1,
    )
    return np.tanh(pairs @ kernel) @ np.asarray(layer.v)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    query = rng.normal(size=(2, 3, 4)).astype("float32")
    value = rng.normal(size=(2, 5, 4)).astype("float32")
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=bool)
    return query, value, mask


@pytest.mark.parametrize("score_mode", LuongAttention.SCORE_MODES)
def test_matches_numpy(score_mode, data):
    query, value, mask = data
    layer = LuongAttention(score_mode)
    output, weights = layer(query, value, value_mask=mask, return_attention_scores=True)
    expected_output, expected_weights = numpy_attention(
        numpy_luong_scores(layer, query, value), value, mask[:, None, :]
    )
    np.testing.assert_allclose(weights, expected_weights, atol=1e-6)
    np.testing.assert_allclose(output, expected_output, atol=1e-5)


@pytest.mark.parametrize("score_mode", LuongAttention.SCORE_MODES)
def test_shared_round_trips(score_mode, data, tmp_path):
    query, value, mask = data
    check_layer(
        lambda: LuongAttention(score_mode, dropout=0.1),
        {"query": query, "value": value, "value_mask": mask},
        tmp_path,
        padded=("value", "value_mask"),
        call_kwargs={"return_attention_scores": True},
    )


def test_general_and_concat_take_different_sizes():
    query = np.ones((1, 2, 4), "float32")
    value = np.ones((1, 3, 6), "float32")
    for mode in ("general", "concat"):
        assert LuongAttention(mode)(query, value).shape == (1, 2, 6)


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


def test_projected_keys_give_the_same_result(data):
    query, value, mask = data
    layer = LuongAttention("concat")
    expected = layer(query, value, value_mask=mask)
    output = layer.attend(query, value, layer.project_keys(value), value_mask=mask)
    np.testing.assert_allclose(output, expected, atol=1e-6)


def test_errors():
    with pytest.raises(ValueError, match="score_mode.*'cosine'.*'dot', 'general', 'concat'"):
        LuongAttention(score_mode="cosine")
    with pytest.raises(ValueError, match="dropout"):
        LuongAttention(dropout=1.5)
    with pytest.raises(ValueError, match="same size.*4.*6.*general"):
        LuongAttention()(np.ones((1, 2, 4), "float32"), np.ones((1, 3, 6), "float32"))
    with pytest.raises(ValueError, match=r"takes 3-D .*received `query` of shape \(2, 4\).*expand_dims"):
        LuongAttention("general")(np.ones((2, 4), "float32"), np.ones((1, 3, 6), "float32"))


def test_shapes_that_disagree_are_named(data):
    query, value, mask = data  # (2, 3, 4), (2, 5, 4), (2, 5)
    layer = LuongAttention()
    with pytest.raises(
        ValueError,
        match=r"`key` must be `\(batch_size, Tk, dim\)`, as `value`, \(2, 5\) here; received shape \(2, 4, 4\)",
    ):
        layer(query, value, key=value[:, :4])
    with pytest.raises(
        ValueError,
        match=r"`value_mask` must be `\(batch_size, Tk\)` or `\(1, Tk\)`, \(2, 5\) here; received shape \(2, 4\)",
    ):
        layer(query, value, value_mask=mask[:, :4])
    with pytest.raises(ValueError, match=r"`query_mask` must be `\(batch_size, Tq\)`, \(2, 3\) here"):
        layer(query, value, query_mask=mask)
    # One mask for every row broadcasts, as `attention_mask` documents.
    shared = layer(query, value, value_mask=mask[1:] & [[True, True, True, False, False]])
    np.testing.assert_allclose(
        shared, layer(query, value, value_mask=np.repeat(mask[:1], 2, axis=0)), atol=1e-6
    )
