import numpy as np
import pytest

from keras_attention import ScaledDotProductAttention
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
