"""Attention layers and the one table that maps a name to one of them."""

from keras_attention.attention.bahdanau_attention import SCORE_MODES as BAHDANAU_SCORE_MODES
from keras_attention.attention.bahdanau_attention import BahdanauAttention
from keras_attention.attention.base_attention import BaseAttention, attention_mask, masked_softmax
from keras_attention.attention.luong_attention import SCORE_MODES as LUONG_SCORE_MODES
from keras_attention.attention.luong_attention import LuongAttention
from keras_attention.attention.multi_head_attention import MultiHeadAttention
from keras_attention.attention.scaled_dot_product_attention import ScaledDotProductAttention

# The attention a recurrent decoder can name in its config, each taking
# `score_mode` from its own `SCORE_MODES` (the first is the default). Nothing
# else turns an attention name into a layer. Multi-head attention serves the
# Transformer blocks, which build it directly.
ATTENTION_TYPES = {
    "luong": LuongAttention,
    "bahdanau": BahdanauAttention,
    "scaled_dot_product": ScaledDotProductAttention,
}


def get_attention_class(name: str) -> type[BaseAttention]:
    """The attention class registered as `name`; `ValueError` for others."""
    if name not in ATTENTION_TYPES:
        raise ValueError(
            f"Unknown attention: {name!r}. Expected one of "
            f"{', '.join(map(repr, ATTENTION_TYPES))}, or None for no attention."
        )
    return ATTENTION_TYPES[name]


__all__ = [
    "ATTENTION_TYPES",
    "BAHDANAU_SCORE_MODES",
    "LUONG_SCORE_MODES",
    "BahdanauAttention",
    "BaseAttention",
    "LuongAttention",
    "MultiHeadAttention",
    "ScaledDotProductAttention",
    "attention_mask",
    "get_attention_class",
    "masked_softmax",
]
