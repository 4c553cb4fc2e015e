"""Metrics on decoded text."""

import tensorflow as tf

from zoo.tokenizer import standardize


def exact_match(hypotheses, references):
    """Fraction of hypotheses equal to their reference after standardization.

    Both sides are standardized the way the model's tokenizer reads text
    (NFKC, lowercase, collapsed whitespace), so a translation is not marked
    wrong for case or spacing alone.
    """
    hypotheses, references = list(hypotheses), list(references)
    if len(hypotheses) != len(references):
        raise ValueError(f"Got {len(hypotheses)} hypotheses but {len(references)} references.")
    if not references:
        raise ValueError("exact_match needs at least one reference.")
    normalized_hypotheses = standardize(tf.constant(hypotheses, dtype=tf.string)).numpy()
    normalized_references = standardize(tf.constant(references, dtype=tf.string)).numpy()
    hits = sum(h == r for h, r in zip(normalized_hypotheses, normalized_references))
    return hits / len(references)
