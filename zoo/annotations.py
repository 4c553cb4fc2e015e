"""Type aliases for the public signatures of `zoo` and `training`."""

import os
from collections.abc import Iterable, Sequence
from typing import TypedDict

import numpy as np
import tensorflow as tf

from keras_attention.annotations import Tensor

PathLike = str | os.PathLike
# One sentence or several: `translate("...")` returns a string, `translate([...])` a list.
# Strings may be UTF-8 bytes (as `tf.data` and NumPy give them); a `tf.string` tensor or
# NumPy array of rank 0 is one sentence, of rank 1 several; a `tf.data.Dataset` of strings
# (batched or not) is several.
Texts = str | bytes | Iterable[str | bytes] | np.ndarray | tf.Tensor | tf.data.Dataset
# Text pairs in every form that `fit`, `zoo.load(train_data=)` and `training.evaluate`
# take: `training.TextPairs` (an iterable of pairs), `(sources, targets)`, a list of
# `(source, target)` tuples, or a `tf.data.Dataset` of string pairs.
TextPairsLike = Iterable[tuple[str, str]] | tuple[Sequence[str], Sequence[str]] | tf.data.Dataset


class TranslateOptions(TypedDict, total=False):
    """The keywords of `Translator.translate` that do not change its result's type."""

    beam_width: int | None
    max_length: int | None
    max_length_factor: float | None
    batch_size: int
    truncate: bool
    replace_unknown: bool


__all__ = ["PathLike", "Tensor", "TextPairsLike", "Texts", "TranslateOptions"]
