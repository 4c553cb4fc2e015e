"""The fit/evaluate pipeline shared by every zoo model: data, metrics, the CLI.

Importing the package is light (no TensorFlow): the CLI sets logging first.
`training.evaluate` (decoding evaluation) imports TensorFlow when first used.
"""

from training.datasets import TextPairs, dates, from_lists, load_corpus, load_tsv

__all__ = ["TextPairs", "dates", "evaluate", "from_lists", "load_corpus", "load_tsv"]


def __getattr__(name):
    if name == "evaluate":
        from training.evaluation import evaluate

        return evaluate
    raise AttributeError(f"module 'training' has no attribute {name!r}")
