"""Preset sequence models built from `keras_attention` layers.

`zoo.load(name_or_directory)` is the entry point. Imports `keras_attention`,
never `training`.
"""

from zoo.export import export_translator
from zoo.preset_io import architecture, load, parameter_count, save_to_preset
from zoo.presets import PRESETS, get_preset
from zoo.recurrent_seq2seq import RecurrentSeq2Seq
from zoo.seq2seq_backbone import Seq2SeqBackbone
from zoo.seq2seq_preprocessor import Seq2SeqPreprocessor
from zoo.transformer_seq2seq import TransformerSeq2Seq
from zoo.translation import Translation
from zoo.translator import Translator
from zoo.word_tokenizer import WordTokenizer

__all__ = [
    "PRESETS",
    "RecurrentSeq2Seq",
    "Seq2SeqBackbone",
    "Seq2SeqPreprocessor",
    "TransformerSeq2Seq",
    "Translation",
    "Translator",
    "WordTokenizer",
    "architecture",
    "export_translator",
    "get_preset",
    "load",
    "parameter_count",
    "save_to_preset",
]
