"""Metrics on decoded text."""

import tensorflow as tf

from zoo.tokenizer import standardize


def exact_match(hypotheses, references, lowercase=True):
    """Fraction of hypotheses equal to their reference (or to any of theirs) after standardization.

    Both sides are standardized the way the model's tokenizer reads text
    (NFKC, collapsed whitespace, and lowercase unless `lowercase=False`, for
    a model that keeps case), so a translation is not marked wrong for
    spacing alone, nor for case when its model lowercases. Each reference
    is a string, or a list of strings for a sentence with several.
    """
    hypotheses = list(hypotheses)
    references = [[r] if isinstance(r, (str, bytes)) else list(r) for r in references]
    if len(hypotheses) != len(references):
        raise ValueError(f"Got {len(hypotheses)} hypotheses but {len(references)} references.")
    if not references:
        raise ValueError("exact_match needs at least one reference.")
    normalized_hypotheses = standardize(tf.constant(hypotheses, dtype=tf.string), lowercase).numpy()
    flat = [r for refs in references for r in refs]
    normalized = iter(standardize(tf.constant(flat, dtype=tf.string), lowercase).numpy())
    normalized_references = [{next(normalized) for _ in refs} for refs in references]
    hits = sum(h in refs for h, refs in zip(normalized_hypotheses, normalized_references))
    return hits / len(references)
