"""Where text pairs come from: files, lists and the built-in corpora."""

from training.corpora import CORPORA, copy, dates, load_corpus, numbers, reverse
from training.readers import from_lists, load_aligned, load_csv, load_tsv
from training.text_pairs import TextPairs

__all__ = [
    "CORPORA",
    "TextPairs",
    "copy",
    "dates",
    "from_lists",
    "load_aligned",
    "load_corpus",
    "load_csv",
    "load_tsv",
    "numbers",
    "reverse",
]
