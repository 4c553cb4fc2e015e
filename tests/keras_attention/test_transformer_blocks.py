import numpy as np
import pytest

from keras_attention import FeedForward, TransformerDecoderBlock, TransformerEncoderBlock
from tests.helpers import check_layer


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    source = rng.normal(size=(2, 5, 8)).astype("float32")
    source_mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    target = rng.normal(size=(2, 4, 8)).astype("float32")
    target_mask = np.array([[1, 1, 0, 0], [1, 1, 1, 1]], bool)
    return source, source_mask, target, target_mask


def test_feed_forward_matches_numpy():
    x = np.random.default_rng(1).normal(size=(2, 3, 4)).astype("float32")
    layer = FeedForward(6)
    output = layer(x)
    w1, b1 = (np.asarray(w) for w in (layer.intermediate.kernel, layer.intermediate.bias))
    w2, b2 = (np.asarray(w) for w in (layer.output_dense.kernel, layer.output_dense.bias))
    np.testing.assert_allclose(output, np.maximum(x @ w1 + b1, 0.0) @ w2 + b2, atol=1e-5)  # eq. 2


@pytest.mark.parametrize("normalize_first", [True, False])
def test_encoder_block_round_trips(normalize_first, data, tmp_path):
    source, source_mask, _, _ = data
    check_layer(
        lambda: TransformerEncoderBlock(2, 16, dropout=0.1, normalize_first=normalize_first),
        {"inputs": source, "padding_mask": source_mask},
        tmp_path,
        padded=("inputs", "padding_mask"),
    )


@pytest.mark.parametrize("normalize_first", [True, False])
def test_decoder_block_round_trips(normalize_first, data, tmp_path):
    source, source_mask, target, target_mask = data
    check_layer(
        lambda: TransformerDecoderBlock(2, 16, dropout=0.1, normalize_first=normalize_first),
        {"inputs": target, "memory": source, "padding_mask": target_mask, "memory_mask": source_mask},
        tmp_path,
        padded=("inputs", "memory", "padding_mask", "memory_mask"),
    )


def test_encoder_block_matches_numpy_post_norm(data):
    source, _, _, _ = data
    block = TransformerEncoderBlock(2, 16, normalize_first=False)
    output = np.asarray(block(source))
    attention = np.asarray(block.self_attention(source, source))

    def layer_norm(x, norm):
        mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + 1e-5) * np.asarray(norm.gamma) + np.asarray(norm.beta)

    x = layer_norm(source + attention, block.self_attention_norm)
    expected = layer_norm(x + np.asarray(block.feed_forward(x)), block.feed_forward_norm)
    np.testing.assert_allclose(output, expected, atol=1e-4)


def test_decoder_block_is_causal(data):
    source, source_mask, target, _ = data
    block = TransformerDecoderBlock(2, 16)
    output = np.asarray(block(target, source, memory_mask=source_mask))
    changed = target.copy()
    changed[:, 2:] += 3.0
    np.testing.assert_allclose(
        block(changed, source, memory_mask=source_mask)[:, :2], output[:, :2], atol=1e-5
    )


@pytest.mark.parametrize("normalize_first", [True, False])
def test_decoder_step_matches_whole_sequence(normalize_first, data):
    source, source_mask, target, _ = data
    block = TransformerDecoderBlock(2, 16, normalize_first=normalize_first)
    output = np.asarray(block(target, source, memory_mask=source_mask))
    memory_keys, memory_values = block.project_memory(source)
    keys = values = np.zeros((2, 6, 2, 4), "float32")  # room for 6 positions
    for t in range(4):
        step_output, keys, values, weights = block.step(
            target[:, t : t + 1], keys, values, t, memory_keys, memory_values, source_mask
        )
        np.testing.assert_allclose(step_output[:, 0], output[:, t], atol=1e-5)
        assert weights.shape == (2, 2, 1, 5)
        assert np.all(np.asarray(weights)[0, :, :, 3:] == 0.0)


@pytest.mark.parametrize("normalize_first", [True, False])
def test_rows_sharing_a_source_attend_to_it_as_if_it_were_repeated(normalize_first, data):
    # Beam search keeps a sentence's encoder outputs once for its k hypotheses.
    k = 3
    source, source_mask, target, _ = data
    block = TransformerDecoderBlock(2, 16, normalize_first=normalize_first)
    block(target, source, memory_mask=source_mask)  # builds it
    memory_keys, memory_values = block.project_memory(source)
    rng = np.random.default_rng(1)
    inputs = rng.normal(size=(2 * k, 1, 8)).astype("float32")  # rows 0-2 read source 0, rows 3-5 source 1
    keys, values = (rng.normal(size=(2 * k, 4, 2, 4)).astype("float32") for _ in range(2))
    shared = block.step(inputs, keys, values, 2, memory_keys, memory_values, source_mask)
    repeated = block.step(
        inputs,
        keys,
        values,
        2,
        np.repeat(memory_keys, k, 0),
        np.repeat(memory_values, k, 0),
        np.repeat(source_mask, k, 0),
    )
    for got, expected in zip(shared, repeated):
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    assert shared[3].shape == (2 * k, 2, 1, 5)
    assert np.all(np.asarray(shared[3])[:k, :, :, 3:] == 0.0)


def test_errors(data):
    source, _, _, _ = data
    with pytest.raises(ValueError, match="divisible by num_heads=3"):
        TransformerEncoderBlock(3, 16)(source)
    with pytest.raises(ValueError, match="num_heads.*>= 1"):
        TransformerEncoderBlock(0, 16)
    with pytest.raises(ValueError, match="dropout"):
        TransformerDecoderBlock(2, 16, dropout=2.0)
    with pytest.raises(ValueError, match="needs `memory`"):
        TransformerDecoderBlock(2, 16).build((2, 4, 8))
    with pytest.raises(ValueError, match="activation function identifier: relu6x"):
        FeedForward(16, activation="relu6x")  # when made, not when first called
