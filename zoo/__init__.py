"""Preset sequence models built from `keras_attention` layers.

`zoo.load(name_or_directory)` is the entry point. Imports `keras_attention`,
never `training`.
"""

from zoo.export import export_translator
from zoo.preset_io import load, save_to_preset
from zoo.presets import PRESETS, get_preset
from zoo.recurrent_seq2seq import RecurrentSeq2Seq
from zoo.seq2seq_preprocessor import Seq2SeqPreprocessor
from zoo.translation import Translation
from zoo.translator import Translator
from zoo.word_tokenizer import WordTokenizer

__all__ = [
    "PRESETS",
    "RecurrentSeq2Seq",
    "Seq2SeqPreprocessor",
    "Translation",
    "Translator",
    "WordTokenizer",
    "export_translator",
    "get_preset",
    "load",
    "save_to_preset",
]
