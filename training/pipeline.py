"""The tf.data pipeline from text pairs to padded, length-bucketed batches."""

import math

import numpy as np
import tensorflow as tf

TOKENIZE_CHUNK = 4096  # sentences tokenized per call when the data is prepared


def make_dataset(pairs, preprocessor, batch_size=64, shuffle=True, seed=0):
    """Tokenize once, then shuffle, bucket by length, pad and prefetch.

    The pairs are tokenized when the dataset is made, not once per epoch.
    Sentences of similar length are batched together, so batches carry
    little padding. An epoch is `ceil(len(pairs) / batch_size)` batches drawn
    from an endless reshuffled stream, so `fit` knows its length.

    Args:
        pairs: `TextPairs`.
        preprocessor: the model's `Seq2SeqPreprocessor`.
        batch_size: int, pairs per batch.
        shuffle: reshuffle the pairs every epoch (seeded); without it every
            pair appears exactly once, in bucket order.
        seed: int, the shuffle seed.

    Returns:
        A `tf.data.Dataset` of `(x, y, sample_weight)` batches.
    """
    if batch_size < 1:
        raise ValueError(f"`batch_size` must be >= 1, received {batch_size}.")
    if len(pairs) == 0:
        raise ValueError("No text pairs to make batches from.")
    columns = tokenize_pairs(pairs, preprocessor)
    dataset = tf.data.Dataset.from_tensor_slices(columns).map(
        lambda s, s_len, t, t_len: (s[:s_len], t[:t_len])  # one 1-D id tensor per side
    )
    if shuffle:
        dataset = dataset.shuffle(len(pairs), seed=seed, reshuffle_each_iteration=True)
    boundaries = _bucket_boundaries(preprocessor)
    dataset = dataset.bucket_by_sequence_length(
        lambda source, target: tf.maximum(tf.shape(source)[0], tf.shape(target)[0]),
        bucket_boundaries=boundaries,
        bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
    )
    if shuffle:
        dataset = dataset.repeat().take(math.ceil(len(pairs) / batch_size))
    else:
        # Each bucket ends in one partial batch; knowing the count lets
        # Keras show progress and not warn that the data ran out.
        lengths = np.maximum(columns[1], columns[3])
        per_bucket = np.bincount(np.digitize(lengths, boundaries), minlength=len(boundaries) + 1)
        num_batches = int(np.sum(np.ceil(per_bucket / batch_size)))
        dataset = dataset.apply(tf.data.experimental.assert_cardinality(num_batches))
    return dataset.map(preprocessor.pack, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def tokenize_pairs(pairs, preprocessor):
    """Padded id arrays and lengths `(sources, source_lengths, targets, target_lengths)`."""
    parts = [[], [], [], []]
    for start in range(0, len(pairs), TOKENIZE_CHUNK):
        chunk = pairs[start : start + TOKENIZE_CHUNK]
        source_ids, target_ids = preprocessor.tokenize(
            tf.constant(chunk.sources, tf.string), tf.constant(chunk.targets, tf.string)
        )
        for i, ragged in ((0, source_ids), (2, target_ids)):
            parts[i].append(ragged.to_tensor().numpy())
            parts[i + 1].append(ragged.row_lengths().numpy())
    width = [max(a.shape[1] for a in parts[i]) for i in (0, 2)]
    sources = np.concatenate([np.pad(a, [(0, 0), (0, width[0] - a.shape[1])]) for a in parts[0]])
    targets = np.concatenate([np.pad(a, [(0, 0), (0, width[1] - a.shape[1])]) for a in parts[2]])
    return sources, np.concatenate(parts[1]), targets, np.concatenate(parts[3])


def _bucket_boundaries(preprocessor):
    longest = max(preprocessor.max_source_length, preprocessor.max_target_length + 2)
    # Narrow buckets for the common short sentences, wider ones beyond.
    bounds = list(range(4, 32, 2)) + list(range(32, 64, 4)) + list(range(64, longest + 1, 16))
    return [int(b) for b in np.unique(bounds) if b <= longest]
