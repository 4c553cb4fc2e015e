"""Text as `fit`, `evaluate`, `translate` and `zoo.load` take it: recognized, checked, read.

Strings, lists of them, text pairs in every form (`(sources, targets)`, a
list of `(source, target)` tuples, `training.TextPairs`, a `tf.data.Dataset`
of string pairs), each with an error that says what was expected.
"""

import collections.abc
import math
import os

import numpy as np
import tensorflow as tf


def is_text(x):
    """Whether `x` holds strings (text, text pairs, or a dataset of them) rather than token ids."""
    if isinstance(x, (str, bytes)) or hasattr(x, "to_tf_dataset"):
        return True
    if isinstance(x, tf.data.Dataset):
        specs = tf.nest.flatten(x.element_spec)
        return any(getattr(spec, "dtype", None) == tf.string for spec in specs)
    if tf.is_tensor(x):
        return x.dtype == tf.string
    if isinstance(x, (list, tuple)):
        return any(is_text(item) for item in x)
    if hasattr(x, "__array__") and not isinstance(x, dict):  # NumPy arrays, pandas Series
        try:
            return np.asarray(x).dtype.kind in "USO"
        except (TypeError, ValueError):
            return False
    return False


def pair_up(x, y):
    """Keras' `x` and `y` as text pairs: the source sentences and the target sentences."""
    for data in (x, y):
        if hasattr(data, "to_tf_dataset") or isinstance(data, tf.data.Dataset):
            raise TypeError(
                f"A {type(data).__name__} holds its targets: pass it as `x` alone, without `y`. "
                "`x` and `y` are for a list of source sentences and a list of target sentences."
            )
    for data, other, name, other_name in ((x, y, "x", "y"), (y, x, "y", "x")):
        if is_text(data) and not is_text(other):
            raise TypeError(
                f"`{name}` holds sentences but `{other_name}` does not ({type(other).__name__}): "
                "pass source sentences as `x` and target sentences as `y`, or token ids as both."
            )
    return x, y


def check_not_text(x, method):
    if is_text(x):
        raise TypeError(
            f"`{method}` takes token ids (a dict of `encoder_token_ids` and `decoder_token_ids`) and "
            "returns next-token logits; to translate sentences, call `translate(sentences)`."
        )


def check_no_weights(x, kwargs):
    """Refuse `sample_weight` and `class_weight` with text pairs, which weigh every real token alike."""
    given = [name for name in ("sample_weight", "class_weight") if kwargs.get(name) is not None]
    if given and is_text(x):
        raise ValueError(
            f"`{given[0]}` is not taken with text pairs: the loss and metrics weigh every real target "
            "token alike, and padding 0. To weigh pairs, repeat them in the data, or pass a "
            "tf.data.Dataset of token batches `(x, y, sample_weight)`, which goes to Keras untouched."
        )


def split_off_validation(x, validation_split):
    """`(train, validation)` from text pairs: Keras' `validation_split`, the last pairs as given.

    As in Keras, the split is taken before any shuffling. A
    `training.TextPairs` stays one on both sides (its `split` is the
    leak-free way: pairs that share a source land on one side).
    """
    if isinstance(validation_split, bool) or not 0.0 < validation_split < 1.0:
        raise ValueError(
            f"`validation_split` must be between 0 and 1 (exclusive), received {validation_split!r}."
        )
    if isinstance(x, tf.data.Dataset) or not (hasattr(x, "sources") or isinstance(x, (tuple, list))):
        raise ValueError(
            "`validation_split` needs the text pairs in memory (a (sources, targets) pair of lists or a "
            f"training.TextPairs); for a {type(x).__name__}, pass `validation_data` instead."
        )
    sources, targets = check_text_pairs(x, "x")
    split_at = math.floor(len(sources) * (1.0 - validation_split))
    if not 0 < split_at < len(sources):
        raise ValueError(
            f"`validation_split={validation_split}` of {len(sources)} pairs leaves one side empty."
        )
    parts = (sources[:split_at], targets[:split_at]), (sources[split_at:], targets[split_at:])
    if hasattr(x, "to_tf_dataset"):
        return tuple(type(x)(*part) for part in parts)
    return parts


def check_text_pairs(pairs, name):
    """`(sources, targets)` lists from text pairs, or an error that says what is wrong with them.

    Args:
        pairs: a `(sources, targets)` pair of string lists, a list of
            `(source, target)` tuples (as `list(zip(sources, targets))`
            gives), an object with `sources` and `targets`
            (`training.TextPairs`), or a finite `tf.data.Dataset` of
            `(source, target)` strings, batched or not (read whole).
        name: what the pairs are, for messages (`"train_data"`).
    """
    if hasattr(pairs, "sources") and hasattr(pairs, "targets"):
        sources, targets = pairs.sources, pairs.targets
    elif isinstance(pairs, tf.data.Dataset):
        sources, targets = _dataset_text_pairs(pairs, name)
    elif _is_list_of_pairs(pairs):
        sources, targets = [pair[0] for pair in pairs], [pair[1] for pair in pairs]
    elif isinstance(pairs, (tuple, list)) and len(pairs) == 2:
        sources, targets = pairs
    else:
        raise TypeError(
            f"`{name}` must be a (sources, targets) pair of string lists, a list of (source, target) "
            f"tuples, a training.TextPairs or a tf.data.Dataset of (source, target) strings; received "
            f"{type(pairs).__name__}"
            + (f" of {len(pairs)} items." if isinstance(pairs, (tuple, list)) else ".")
            + (
                " For a table, pass its two columns: `(df['source'], df['target'])`."
                if hasattr(pairs, "columns")
                else ""
            )
            + (
                f" For a file, read it first: `training.datasets.load_tsv({os.fspath(pairs)!r}, "
                "source=..., target=...)` (or `load_csv`, or `load_aligned` for two aligned files)."
                if isinstance(pairs, (str, os.PathLike))
                else ""
            )
        )
    sources, targets = check_texts(sources, "source"), check_texts(targets, "target")
    if len(sources) != len(targets):
        raise ValueError(f"Got {len(sources)} source sentences but {len(targets)} target sentences.")
    if not sources:
        raise ValueError(f"`{name}` is empty: the source and target lists hold no text pairs.")
    empty = [
        i for i, (source, target) in enumerate(zip(sources, targets)) if is_blank(source) or is_blank(target)
    ]
    if empty:
        raise empty_pairs_error(f"`{name}`", len(empty), empty[0], sources[empty[0]], targets[empty[0]])
    return sources, targets


# What `zoo.tokenizer.standardize` deletes or makes a space: a side of these
# and whitespace alone has no tokens (`training.readers` keeps the same set).
_NO_TOKENS = dict.fromkeys(map(ord, "\x00\x01"))


def is_blank(text):
    """Whether `text` is empty, or whitespace and characters that tokenize to nothing (a NUL)."""
    return not text.translate(_NO_TOKENS).strip()


def empty_pairs_error(what, count, index, source, target):
    """The error for `count` text pairs with a side that holds no words; `index` is the first's."""
    return ValueError(
        f"{what}: {count} pair(s) have an empty side, which nothing can be learned from or scored "
        f"against; the first is pair {index}: ({source!r}, {target!r}). Leave such pairs out first, "
        'as `training.datasets.from_lists(sources, targets, errors="skip")` does.'
    )


def is_string_pair_spec(spec):
    """Whether a dataset's `element_spec` is `(source, target)` strings, one pair or a batch of them."""
    return (
        isinstance(spec, tuple)
        and len(spec) == 2
        and all(getattr(s, "dtype", None) == tf.string and s.shape.rank in (0, 1) for s in spec)
    )


def not_string_pairs(what, spec):
    return (
        f"{what} must yield (source, target) pairs of strings; this one yields {spec}. "
        "Map it to pairs first, such as `dataset.map(lambda d: (d['es'], d['en']))`."
    )


def _dataset_text_pairs(dataset, name):
    """`(sources, targets)` of a finite dataset of `(source, target)` strings, batched or not."""
    if not is_string_pair_spec(dataset.element_spec):
        raise TypeError(not_string_pairs(f"`{name}`", dataset.element_spec))
    sources, targets = [], []
    for batch_sources, batch_targets in _batches(dataset, f"`{name}`"):
        sources.extend(batch_sources)
        targets.extend(batch_targets)
    return sources, targets


def _dataset_texts(dataset, side):
    """The strings of a finite dataset of strings, batched or not, as bytes."""
    spec = dataset.element_spec
    if getattr(spec, "dtype", None) != tf.string or spec.shape.rank not in (0, 1):
        raise TypeError(
            f"A dataset of {side} sentences must yield strings, one or a batch at a time; this one "
            f"yields {spec}. Map it to strings first, such as `dataset.map(lambda d: d['es'])`."
        )
    texts = []
    for batch in _batches(dataset, f"The dataset of {side} sentences"):
        texts.extend(batch)
    return texts


def _batches(dataset, what):
    """A finite dataset's elements as NumPy batches: elements of rank 0 read in batches, as one is slow."""
    if dataset.cardinality() == tf.data.INFINITE_CARDINALITY:
        raise ValueError(
            f"{what} is an endless dataset (it repeats); give a finite one, such as `dataset.take(n)`."
        )
    if tf.nest.flatten(dataset.element_spec)[0].shape.rank == 0:
        dataset = dataset.batch(4096)
    return dataset.as_numpy_iterator()


def _is_list_of_pairs(pairs):
    """Whether `pairs` is a list of `(source, target)` tuples rather than `(sources, targets)`.

    The two can have the same length (two pairs), so the containers decide:
    a list whose items are all 2-tuples of strings is pairs; `(sources,
    targets)` is two lists.
    """
    return (
        isinstance(pairs, list)
        and len(pairs) > 0
        and all(
            isinstance(pair, tuple) and len(pair) == 2 and all(isinstance(t, (str, bytes)) for t in pair)
            for pair in pairs
        )
    )


def check_texts(texts, side):
    """A list of `str` from `texts`, or an error that names the bad item.

    `texts` is any ordered iterable of `str`, or of UTF-8 `bytes` (as
    `tf.data` and NumPy give strings), a 1-D `tf.string` tensor, or a finite
    `tf.data.Dataset` of strings, batched or not (read whole); bytes are
    decoded. A set, a dict or a table is refused: its iteration order is
    not the caller's, or its items are not the sentences.
    """
    if isinstance(texts, tf.data.Dataset):
        texts = _dataset_texts(texts, side)
    if isinstance(texts, (set, frozenset)):
        raise TypeError(
            f"Expected a list of {side} strings, received a {type(texts).__name__}, whose order is "
            "arbitrary: pass a list, in the order the sentences belong in (such as `sorted(...)` of it)."
        )
    if hasattr(texts, "columns"):  # a table (a pandas DataFrame) iterates over its column names
        raise TypeError(
            f"Expected a list of {side} strings, received a {type(texts).__name__}; pass one of its "
            "columns, such as `df['es']`."
        )
    if isinstance(texts, collections.abc.Mapping):
        raise TypeError(
            f"Expected a list of {side} strings, received a {type(texts).__name__}; pass a list of its "
            "values or keys, such as `list(d.values())`."
        )
    if tf.is_tensor(texts):
        if texts.dtype != tf.string or texts.shape.rank != 1:
            raise TypeError(
                f"Expected {side} strings; received a tensor of {texts.dtype.name} and shape "
                f"{texts.shape}, where a 1-D tf.string tensor would do."
            )
        texts = texts.numpy()
    if isinstance(texts, (str, bytes)) or not hasattr(texts, "__iter__"):
        raise TypeError(f"Expected a list of {side} strings, received {type(texts).__name__}.")
    texts = list(texts)
    for i, text in enumerate(texts):
        if isinstance(text, bytes):
            try:
                texts[i] = text = text.decode("utf-8")
            except UnicodeDecodeError as e:
                raise ValueError(
                    f"{side.capitalize()} sentence {i} is bytes that are not UTF-8 ({e.reason} at byte "
                    f"{e.start}): {text!r}."
                ) from None
        if not isinstance(text, str):
            raise TypeError(
                f"{side.capitalize()} sentence {i} is not a str but {type(text).__name__}: {text!r}."
                + (
                    " A sentence is one string: join words split already, such as `' '.join(words)`."
                    if isinstance(text, list) and all(isinstance(t, (str, bytes)) for t in text)
                    else ""
                )
            )
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as e:
                # Lone surrogates: bytes that were not UTF-8, read with
                # `errors="surrogateescape"` (Python's stdin and argv do so
                # under the C locale). TensorFlow cannot take them.
                raise ValueError(
                    f"{side.capitalize()} sentence {i} is not valid text: character {e.start} stands for "
                    f"a byte that is not UTF-8 ({text!r}). Read the input as UTF-8."
                ) from None
    return [str(text) for text in texts]  # NumPy's str_ as plain str
