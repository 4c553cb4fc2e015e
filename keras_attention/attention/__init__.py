"""Attention layers and the one table that maps a name to one of them."""

from keras_attention.attention.base_attention import BaseAttention
from keras_attention.attention.luong_attention import SCORE_MODES as LUONG_SCORE_MODES
from keras_attention.attention.luong_attention import LuongAttention

# The attention a decoder can name in its config. Bahdanau and multi-head
# join this table; nothing else turns an attention name into a layer.
ATTENTION_TYPES = {"luong": LuongAttention}


def get_attention_class(name):
    """The attention class registered as `name`; `ValueError` for others."""
    if name not in ATTENTION_TYPES:
        raise ValueError(
            f"Unknown attention: {name!r}. Expected one of "
            f"{', '.join(map(repr, ATTENTION_TYPES))}, or None for no attention."
        )
    return ATTENTION_TYPES[name]


__all__ = [
    "ATTENTION_TYPES",
    "LUONG_SCORE_MODES",
    "BaseAttention",
    "LuongAttention",
    "get_attention_class",
]
