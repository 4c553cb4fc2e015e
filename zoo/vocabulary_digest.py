"""Digests that tell two vocabularies of the same size apart."""

import hashlib
import json
from collections.abc import Iterable
from typing import Any


def vocabulary_digest(tokens: Iterable[str], lowercase: bool = True) -> str:
    """The digest of a vocabulary's `tokens` in id order; with its case setting when it keeps case.

    Shapes do not tell vocabularies apart: weights learned with one load into
    a model of another of the same size, every embedding row then standing
    for another token. The same tokens can be read with or without
    lowercasing (a character vocabulary of lowercase text), and the model
    would then see other ids. A lowercasing vocabulary's digest is its
    tokens' alone, as before the setting existed, so earlier checkpoints
    still resume.
    """
    tokens = list(tokens)
    return digest(tokens if lowercase else [tokens, "keeps case"])


def digest(value: Any) -> str:
    """SHA-256 of `value` as JSON with sorted keys (`str` of what JSON cannot hold), in hex."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode("utf-8")).hexdigest()
