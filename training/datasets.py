"""Where text pairs come from: files, lists and the built-in corpora."""

from training.corpora import CORPORA, dates, load_corpus
from training.readers import from_lists, load_aligned, load_csv, load_tsv
from training.text_pairs import TextPairs

__all__ = [
    "CORPORA",
    "TextPairs",
    "dates",
    "from_lists",
    "load_aligned",
    "load_corpus",
    "load_csv",
    "load_tsv",
]
