import warnings

import numpy as np
import pytest

from keras_attention import BahdanauAttention, LuongAttention, ScaledDotProductAttention
from tests.helpers import check_layer, numpy_attention


def test_matches_numpy():
    rng = np.random.default_rng(0)
    query = rng.normal(size=(2, 4, 8)).astype("float32")
    value = rng.normal(size=(2, 4, 8)).astype("float32")
    output, weights = ScaledDotProductAttention()(
        query, value, use_causal_mask=True, return_attention_scores=True
    )
    scores = np.einsum("bqd,bkd->bqk", query, value) / np.sqrt(8.0)  # Vaswani et al. eq. 1
    causal = np.tril(np.ones((4, 4), bool))[None]
    expected_output, expected_weights = numpy_attention(scores, value, causal)
    np.testing.assert_allclose(weights, expected_weights, atol=1e-6)
    np.testing.assert_allclose(output, expected_output, atol=1e-5)


def test_shared_round_trips(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 5, 4)).astype("float32")
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=bool)
    check_layer(
        ScaledDotProductAttention,
        {"query": x, "value": x, "query_mask": mask, "value_mask": mask},
        tmp_path,
        padded=("query", "value", "query_mask", "value_mask"),
        call_kwargs={"use_causal_mask": True},
    )


def test_errors():
    with pytest.raises(ValueError, match="same size.*4.*6"):
        ScaledDotProductAttention()(np.ones((1, 2, 4), "float32"), np.ones((1, 3, 6), "float32"))
    with pytest.raises(ValueError, match="score_mode.*'dot'"):
        ScaledDotProductAttention(score_mode="dot")
    x = np.ones((1, 3, 4), "float32")
    with pytest.raises(ValueError, match=r"takes 3-D .*received `key` of shape \(1, 1, 3, 4\)"):
        ScaledDotProductAttention()(x, x, key=x[None])


@pytest.mark.parametrize(
    "make",
    [
        lambda: ScaledDotProductAttention(),
        lambda: LuongAttention(),
        lambda: LuongAttention(score_mode="concat"),
        lambda: BahdanauAttention(units=4),
    ],
    ids=["scaled_dot_product", "luong_dot", "luong_concat", "bahdanau"],
)
def test_a_single_key_takes_all_the_weight_without_a_warning(make):
    rng = np.random.default_rng(0)
    query = rng.normal(size=(2, 3, 4)).astype("float32")
    value = rng.normal(size=(2, 1, 4)).astype("float32")  # a one-word source
    mask = np.array([[True], [False]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Keras' softmax warns on an axis of size 1
        output, weights = make()(query, value, value_mask=mask, return_attention_scores=True)
    np.testing.assert_array_equal(np.asarray(weights)[:, :, 0], [[1, 1, 1], [0, 0, 0]])
    np.testing.assert_allclose(np.asarray(output)[0], np.repeat(value[0], 3, axis=0))
    np.testing.assert_array_equal(np.asarray(output)[1], 0.0)
