"""Every layer computes in the policy it is given, whatever the global one is.

A layer built with `dtype="mixed_bfloat16"` in a float32 program (or the other
way round) must hand that policy to the layers it makes; a sublayer left on the
global policy casts back, so the layer's output comes out in another dtype.
"""

import keras
import numpy as np
import pytest

from keras_attention import (
    BahdanauAttention,
    FeedForward,
    LuongAttention,
    MultiHeadAttention,
    RecurrentDecoder,
    RecurrentEncoder,
    ScaledDotProductAttention,
    TokenAndPositionEmbedding,
    TransformerDecoderBlock,
    TransformerEncoderBlock,
)

RNG = np.random.default_rng(0)
QUERY = RNG.normal(size=(2, 3, 8)).astype("float32")
VALUE = RNG.normal(size=(2, 5, 8)).astype("float32")
MASK = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)


def _attention(layer_class, **kwargs):
    def run(dtype):
        layer = layer_class(dropout=0.5, dtype=dtype, **kwargs)
        return layer, layer(QUERY, VALUE, value_mask=MASK, return_attention_scores=True, training=True)

    return run


def _layer(make, *inputs, **call_kwargs):
    def run(dtype):
        layer = make(dtype)
        return layer, layer(*inputs, training=True, **call_kwargs)

    return run


LAYERS = {
    "luong_dot": _attention(LuongAttention),
    "luong_general": _attention(LuongAttention, score_mode="general"),
    "luong_concat": _attention(LuongAttention, score_mode="concat"),
    "bahdanau": _attention(BahdanauAttention, units=8),
    "scaled_dot_product": _attention(ScaledDotProductAttention),
    "multi_head": _attention(MultiHeadAttention, num_heads=2, key_dim=4),
    "recurrent_encoder": _layer(
        lambda dtype: RecurrentEncoder(
            "lstm", units=8, num_layers=2, dropout=0.5, bidirectional=True, dtype=dtype
        ),
        VALUE,
        mask=MASK,
    ),
    "recurrent_decoder": _layer(
        lambda dtype: RecurrentDecoder(
            "gru",
            units=8,
            num_layers=2,
            dropout=0.5,
            attention="luong",
            attention_score="general",
            dtype=dtype,
        ),
        QUERY,
        memory=VALUE,
        memory_mask=MASK,
    ),
    "token_and_position_embedding": _layer(
        lambda dtype: TokenAndPositionEmbedding(10, 8, dtype=dtype), np.array([[1, 2, 3, 0]])
    ),
    "feed_forward": _layer(lambda dtype: FeedForward(16, dropout=0.5, dtype=dtype), QUERY),
    "transformer_encoder_block": _layer(
        lambda dtype: TransformerEncoderBlock(num_heads=2, intermediate_dim=16, dropout=0.5, dtype=dtype),
        VALUE,
        padding_mask=MASK,
    ),
    "transformer_decoder_block": _layer(
        lambda dtype: TransformerDecoderBlock(num_heads=2, intermediate_dim=16, dropout=0.5, dtype=dtype),
        QUERY,
        VALUE,
        memory_mask=MASK,
    ),
}


@pytest.fixture(params=["float32", "mixed_bfloat16"])
def global_policy(request):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(request.param)
    yield request.param
    keras.config.set_dtype_policy(previous)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_a_layer_and_its_sublayers_keep_the_policy_given(name, global_policy):
    policy = "float32" if global_policy == "mixed_bfloat16" else "mixed_bfloat16"
    layer, outputs = LAYERS[name](policy)
    compute_dtype = keras.DTypePolicy(policy).compute_dtype
    dtypes = {keras.backend.standardize_dtype(x.dtype) for x in keras.tree.flatten(outputs)}
    assert dtypes == {compute_dtype}, f"{name} returned {dtypes} under {policy}"
    for sublayer in layer._flatten_layers():
        assert sublayer.dtype_policy.name == policy, f"{sublayer.name} of {name}"
    assert {keras.backend.standardize_dtype(w.dtype) for w in layer.weights} <= {"float32"}
