import numpy as np
import pytest

from keras_attention import TokenAndPositionEmbedding, sinusoidal_positions
from tests.helpers import check_layer


def test_sinusoidal_matches_the_formula():
    # Vaswani et al. section 3.5, with the sines in the first half of the features.
    dim, positions = 6, np.arange(4)
    angles = positions[:, None] / 10000 ** (2 * np.arange(dim // 2) / dim)
    expected = np.concatenate([np.sin(angles), np.cos(angles)], axis=-1)
    np.testing.assert_allclose(sinusoidal_positions(positions, dim), expected, atol=1e-6)


@pytest.mark.parametrize("kind", ["sinusoidal", "learned"])
def test_start_index_continues_the_positions(kind):
    layer = TokenAndPositionEmbedding(10, 8, position_embedding=kind, max_length=6)
    ids = np.array([[1, 2, 3, 4]])
    whole = np.asarray(layer(ids))
    for i in range(4):
        np.testing.assert_allclose(layer(ids[:, i : i + 1], start_index=i)[:, 0], whole[:, i], atol=1e-6)
    token = np.asarray(layer.token_embedding.embeddings)[2] * np.sqrt(8)
    assert not np.allclose(whole[0, 1], token)  # a position was added


@pytest.mark.parametrize("kind", ["sinusoidal", "learned"])
def test_shared_round_trips(kind, tmp_path):
    ids = np.array([[1, 2, 3, 0, 0], [4, 5, 6, 7, 8]], "int32")
    check_layer(
        lambda: TokenAndPositionEmbedding(10, 8, position_embedding=kind, max_length=16),
        {"token_ids": ids},
        tmp_path,
        padded=("token_ids",),
    )


def test_errors():
    with pytest.raises(ValueError, match="position_embedding.*'rotary'.*'sinusoidal', 'learned'"):
        TokenAndPositionEmbedding(10, 8, position_embedding="rotary")
    with pytest.raises(ValueError, match="even `embedding_dim`; received 7"):
        TokenAndPositionEmbedding(10, 7)
    with pytest.raises(ValueError, match="must be >= 1"):
        TokenAndPositionEmbedding(0, 8)


def test_learned_positions_past_max_length_are_an_error_not_zeros():
    layer = TokenAndPositionEmbedding(10, 8, position_embedding="learned", max_length=4)
    assert layer(np.array([[1, 2, 3, 4]])).shape == (1, 4, 8)
    assert layer(np.array([[1]]), start_index=3).shape == (1, 1, 8)
    with pytest.raises(ValueError, match="max_length=4; received 5 tokens. Build the layer with a larger"):
        layer(np.array([[1, 2, 3, 4, 5]]))
    with pytest.raises(ValueError, match="received 2 tokens from position 3"):
        layer(np.array([[1, 2]]), start_index=3)
    # Sinusoidal positions have no end.
    assert TokenAndPositionEmbedding(10, 8, max_length=4)(np.array([[1, 2, 3, 4, 5]])).shape == (1, 5, 8)
