"""Preset sequence models built from `keras_attention` layers.

`zoo.load(name_or_directory)` is the entry point. Imports `keras_attention`,
never `training`.
"""

from zoo.backend import require_tensorflow_backend

require_tensorflow_backend()  # before anything imports Keras, which fails on a backend not installed

from keras_attention import __version__, register_gru_training_loop, register_lstm_training_loop
from zoo import tensorflow_gru, tensorflow_lstm
from zoo.character_tokenizer import CharacterTokenizer
from zoo.export import export_translator
from zoo.fused_adam import FusedAdam
from zoo.per_token_metric import PerTokenMetric
from zoo.perplexity import Perplexity
from zoo.precision import PRECISIONS
from zoo.preset_io import architecture, load, parameter_count, save_to_preset
from zoo.presets import PRESETS, TRAINING_DEFAULTS, get_preset
from zoo.recurrent_seq2seq import RecurrentSeq2Seq
from zoo.seq2seq_backbone import Seq2SeqBackbone
from zoo.seq2seq_preprocessor import Seq2SeqPreprocessor
from zoo.sequence_cross_entropy import SequenceCrossEntropy
from zoo.source_too_long_error import SourceTooLongError
from zoo.target_tokens import TargetTokens
from zoo.token_accuracy import TokenAccuracy
from zoo.tokenizer import Tokenizer
from zoo.tokenizers import TOKENIZERS
from zoo.transformer_seq2seq import TransformerSeq2Seq
from zoo.translation import Translation
from zoo.translator import Translator
from zoo.word_tokenizer import WordTokenizer
from zoo.wordpiece_tokenizer import WordPieceTokenizer

register_gru_training_loop("tensorflow", tensorflow_gru.gru)
register_lstm_training_loop("tensorflow", tensorflow_lstm.lstm)

__all__ = [
    "PRECISIONS",
    "PRESETS",
    "TRAINING_DEFAULTS",
    "TOKENIZERS",
    "CharacterTokenizer",
    "FusedAdam",
    "PerTokenMetric",
    "Perplexity",
    "RecurrentSeq2Seq",
    "Seq2SeqBackbone",
    "Seq2SeqPreprocessor",
    "SequenceCrossEntropy",
    "SourceTooLongError",
    "TargetTokens",
    "TokenAccuracy",
    "TransformerSeq2Seq",
    "Tokenizer",
    "Translation",
    "Translator",
    "WordPieceTokenizer",
    "WordTokenizer",
    "__version__",
    "architecture",
    "export_translator",
    "get_preset",
    "load",
    "parameter_count",
    "save_to_preset",
]
