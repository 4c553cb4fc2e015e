"""Recurrent encoder and decoder stacks, written once for every cell type."""

from keras_attention.recurrent.gru import GRU, register_gru_training_loop
from keras_attention.recurrent.lstm import LSTM, register_lstm_training_loop
from keras_attention.recurrent.recurrent_decoder import RecurrentDecoder
from keras_attention.recurrent.recurrent_encoder import RecurrentEncoder
from keras_attention.recurrent.rnn_types import MERGE_MODES, RNN_TYPES, get_rnn_class, num_states

__all__ = [
    "GRU",
    "LSTM",
    "MERGE_MODES",
    "RNN_TYPES",
    "RecurrentDecoder",
    "RecurrentEncoder",
    "get_rnn_class",
    "num_states",
    "register_gru_training_loop",
    "register_lstm_training_loop",
]
