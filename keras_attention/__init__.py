"""Reusable Keras 3 attention layers and recurrent encoder/decoder stacks.

Written with `keras.ops` only; importing this package imports nothing from
`zoo` or `training`.
"""

from keras_attention.attention import (
    ATTENTION_TYPES,
    LUONG_SCORE_MODES,
    BaseAttention,
    LuongAttention,
    get_attention_class,
)
from keras_attention.recurrent import (
    RNN_TYPES,
    RecurrentDecoder,
    RecurrentEncoder,
    get_rnn_class,
    num_states,
)
from keras_attention.version import __version__

__all__ = [
    "ATTENTION_TYPES",
    "LUONG_SCORE_MODES",
    "RNN_TYPES",
    "BaseAttention",
    "LuongAttention",
    "RecurrentDecoder",
    "RecurrentEncoder",
    "__version__",
    "get_attention_class",
    "get_rnn_class",
    "num_states",
]
