"""The fit/evaluate pipeline shared by every zoo model: data, metrics, the CLI.

Importing the package is light (no TensorFlow): the CLI sets logging first.
"""

from training.datasets import TextPairs, dates, from_lists, load_corpus, load_tsv

__all__ = ["TextPairs", "dates", "from_lists", "load_corpus", "load_tsv"]
