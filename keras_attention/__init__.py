"""Reusable Keras 3 attention layers, recurrent stacks and Transformer blocks.

Written with `keras.ops` only; importing this package imports nothing from
`zoo` or `training`.
"""

from keras_attention.attention import (
    ATTENTION_TYPES,
    BAHDANAU_SCORE_MODES,
    LUONG_SCORE_MODES,
    BahdanauAttention,
    BaseAttention,
    LuongAttention,
    MultiHeadAttention,
    ScaledDotProductAttention,
    attention_mask,
    get_attention_class,
    masked_softmax,
)
from keras_attention.recurrent import (
    GRU,
    LSTM,
    MERGE_MODES,
    RNN_TYPES,
    RecurrentDecoder,
    RecurrentEncoder,
    get_rnn_class,
    num_states,
    register_gru_training_loop,
    register_lstm_training_loop,
)
from keras_attention.transformer import (
    POSITION_EMBEDDINGS,
    FeedForward,
    TokenAndPositionEmbedding,
    TransformerDecoderBlock,
    TransformerEncoderBlock,
    sinusoidal_positions,
)
from keras_attention.version import __version__

__all__ = [
    "ATTENTION_TYPES",
    "BAHDANAU_SCORE_MODES",
    "LUONG_SCORE_MODES",
    "MERGE_MODES",
    "POSITION_EMBEDDINGS",
    "RNN_TYPES",
    "BahdanauAttention",
    "BaseAttention",
    "GRU",
    "FeedForward",
    "LSTM",
    "LuongAttention",
    "MultiHeadAttention",
    "RecurrentDecoder",
    "RecurrentEncoder",
    "ScaledDotProductAttention",
    "TokenAndPositionEmbedding",
    "TransformerDecoderBlock",
    "TransformerEncoderBlock",
    "__version__",
    "attention_mask",
    "get_attention_class",
    "get_rnn_class",
    "masked_softmax",
    "num_states",
    "register_gru_training_loop",
    "register_lstm_training_loop",
    "sinusoidal_positions",
]
