"""The tf.data pipeline from text pairs to padded, length-bucketed batches.

Training batches form one endless, deterministic stream: epoch `k` is the
pairs in the order `stateless_shuffle(seed=[seed, k])`, bucketed by length,
each pair exactly once. Where the stream starts is read from `start_step`
(the optimizer's step counter) when an iterator makes its first batch, so a
run restored from a checkpoint reads exactly the batches that the
interrupted run would have read next (`zoo.batch_stream`).
"""

import dataclasses

import numpy as np
import tensorflow as tf

from keras_attention.checks import check_int
from training.text_pairs import TextPairs
from zoo.batch_stream import stream_from_step
from zoo.seq2seq_preprocessor import Seq2SeqPreprocessor
from zoo.text_inputs import empty_pairs_error
from zoo.tokenizer import PAD_ID, UNK_ID

TOKENIZE_CHUNK = 4096  # sentences tokenized per call when the data is prepared


@dataclasses.dataclass
class BatchReport:
    """What batching did to a set of pairs (`describe_batches`)."""

    pairs: int  # pairs batched
    batches_per_epoch: int
    truncated_sources: int  # sources over max_source_length, cut to it
    truncated_targets: int  # targets over max_target_length, cut to it
    source_padding: float  # share of source positions that are padding, with bucketing
    target_padding: float  # the same for the target positions the loss reads
    source_padding_unbucketed: float  # the source share if batches were drawn at random
    target_padding_unbucketed: float  # the target share if batches were drawn at random

    def summary(self) -> str:
        return (
            f"{self.pairs} pairs in {self.batches_per_epoch} batches per epoch; padding "
            f"{self.source_padding:.1%} of source and {self.target_padding:.1%} of target positions "
            f"(random batches: {self.source_padding_unbucketed:.1%} and {self.target_padding_unbucketed:.1%}); "
            "truncated: "
            f"{self.truncated_sources} sources, {self.truncated_targets} targets"
        )


@dataclasses.dataclass
class _Columns:
    sources: np.ndarray  # int32 (pairs, Ts), padded
    source_lengths: np.ndarray  # int64 (pairs,), after truncation
    targets: np.ndarray  # int32 (pairs, Tt), [START] ... [END], padded
    target_lengths: np.ndarray
    truncated_sources: int
    truncated_targets: int


def make_dataset(
    pairs: TextPairs,
    preprocessor: Seq2SeqPreprocessor,
    batch_size: int = 64,
    shuffle: bool = True,
    seed: int = 0,
    start_step: int = 0,
) -> tf.data.Dataset:
    """Tokenize once, then shuffle, bucket by length, pad and prefetch.

    The pairs are tokenized when the dataset is made, not once per epoch.
    Pairs of similar source and target lengths are batched together, so
    batches carry little padding on either side.

    Args:
        pairs: `TextPairs`.
        preprocessor: the model's `Seq2SeqPreprocessor`.
        batch_size: int, pairs per batch (the last batch of each length
            bucket in an epoch may be smaller).
        shuffle: `True` for training: an endless stream of reshuffled
            epochs (`batches_per_epoch` batches each; pass that as
            `steps_per_epoch`). `False`: every pair exactly once, in bucket
            order, with a known length.
        seed: int, the shuffle seed.
        start_step: int or scalar integer variable: the batch of the stream
            to start at, read when an iterator makes its first batch.
            `Translator.fit` passes the optimizer's step counter.

    Returns:
        A `tf.data.Dataset` of `(x, y, sample_weight)` batches.
    """
    check_int("batch_size", batch_size, 1)
    if len(pairs) == 0:
        raise ValueError("No text pairs to make batches from.")
    columns = _tokenize(pairs, preprocessor)
    keys = _bucket_keys(columns, preprocessor)
    per_epoch = _count_batches(keys, batch_size)
    sources, targets = tf.constant(columns.sources), tf.constant(columns.targets)
    source_lengths, target_lengths = tf.constant(columns.source_lengths), tf.constant(columns.target_lengths)
    keys = tf.constant(keys)

    def batch(members):  # the padded ids of the pairs `members`, as wide as the longest
        source_width = tf.reduce_max(tf.gather(source_lengths, members))
        target_width = tf.reduce_max(tf.gather(target_lengths, members))
        return tf.gather(sources, members)[:, :source_width], tf.gather(targets, members)[:, :target_width]

    def epoch(order):
        # The whole epoch's batches at once, then one gather per batch: a
        # per-pair `group_by_window` cost about 6% of training throughput in
        # CPU time on 2 cores.
        return tf.data.Dataset.from_tensor_slices(bucketed_batches(order, keys, batch_size)).map(batch)

    if not shuffle:
        dataset = epoch(tf.range(len(pairs), dtype=tf.int64))
        # Knowing the count lets Keras show progress and not warn that the data ran out.
        dataset = dataset.apply(tf.data.experimental.assert_cardinality(per_epoch))
    else:
        size = len(pairs)

        def shuffled_epoch(k):
            order = tf.random.experimental.stateless_shuffle(
                tf.range(size, dtype=tf.int64), seed=tf.stack([tf.constant(seed, tf.int64), k])
            )
            return epoch(order)

        dataset = stream_from_step(shuffled_epoch, per_epoch, start_step)
    return dataset.map(preprocessor.pack, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def bucketed_batches(order: tf.Tensor, keys: tf.Tensor, batch_size: int) -> tf.RaggedTensor:
    """The batches of pairs arriving in `order`, each from one bucket: int64 RaggedTensor `(batches, None)`.

    What `tf.data`'s `group_by_window` makes of the stream, computed for a
    whole epoch with a few vectorized ops: each bucket collects its pairs in
    the order they arrive; its batch is complete, and comes, when its
    `batch_size`-th pair arrives; at the end each bucket's partial batch
    comes, in the order their first pairs arrived. `epoch_batches` replays
    the same rule one pair at a time in NumPy.

    Args:
        order: int64 `(pairs,)`, pair ids in the order they arrive.
        keys: int64 `(all pairs,)`, every pair's bucket.
        batch_size: int.

    Returns:
        The pair ids of each batch, in arrival order, batches in the order
        they come.
    """
    count = tf.size(order, out_type=tf.int64)
    buckets = tf.gather(keys, order)  # (pairs,) each arrival's bucket
    by_bucket = tf.argsort(buckets, stable=True)  # arrivals grouped by bucket, in arrival order
    grouped = tf.gather(buckets, by_bucket)
    opens = tf.concat([[True], tf.not_equal(grouped[1:], grouped[:-1])], axis=0)
    bucket_start = tf.gather(tf.where(opens)[:, 0], tf.cumsum(tf.cast(opens, tf.int64)) - 1)
    place = tf.range(count) - bucket_start  # the pair's place in its bucket
    starts = tf.where(place % batch_size == 0)[:, 0]  # each batch's first position in `grouped`
    ends = tf.concat([starts[1:], [count]], axis=0)
    arrival_of_last = tf.cast(tf.gather(by_bucket, ends - 1), tf.int64)
    arrival_of_first = tf.cast(tf.gather(by_bucket, starts), tf.int64)
    comes = tf.where(tf.equal(ends - starts, batch_size), arrival_of_last, count + arrival_of_first)
    members = tf.RaggedTensor.from_row_starts(tf.gather(order, by_bucket), starts)
    return tf.gather(members, tf.argsort(comes))


def batches_per_epoch(pairs: TextPairs, preprocessor: Seq2SeqPreprocessor, batch_size: int = 64) -> int:
    """How many batches one epoch of `pairs` makes: each length bucket ends in a partial batch."""
    check_int("batch_size", batch_size, 1)
    return _count_batches(_bucket_keys(_tokenize(pairs, preprocessor), preprocessor), batch_size)


def describe_batches(
    pairs: TextPairs, preprocessor: Seq2SeqPreprocessor, batch_size: int = 64, seed: int = 0
) -> "BatchReport":
    """A `BatchReport`: truncation counts and the padding share of the first training epoch.

    The padding shares are exact for epoch 0 of `make_dataset(..., seed=seed)`
    (the same shuffle and bucketing, replayed in NumPy); other epochs differ
    only by the order of the shuffle.
    """
    columns = _tokenize(pairs, preprocessor)
    sources, targets, batches = epoch_batches(pairs, preprocessor, batch_size, seed)
    unbucketed = [
        np.arange(start, min(start + batch_size, len(sources)))
        for start in range(0, len(sources), batch_size)
    ]
    return BatchReport(
        pairs=len(pairs),
        batches_per_epoch=len(batches),
        truncated_sources=columns.truncated_sources,
        truncated_targets=columns.truncated_targets,
        source_padding=_padding(sources, batches),
        target_padding=_padding(targets, batches),
        source_padding_unbucketed=_padding(sources, unbucketed),
        target_padding_unbucketed=_padding(targets, unbucketed),
    )


# Above this share of [UNK] tokens on either side, the data is not what the
# vocabularies were learned from: swapped columns, another language, another task.
MAX_UNKNOWN_SHARE = 0.5


def unknown_shares(
    pairs: TextPairs, preprocessor: Seq2SeqPreprocessor, cache: bool = True
) -> tuple[float, float]:
    """`(source, target)`: the share of each side's real tokens that the vocabularies read as `[UNK]`.

    `[START]` and `[END]` are not counted; sentences are counted as the
    model reads them, cut to the maximum lengths. `cache=False` keeps the
    tokenized pairs out of the cache that `fit` reads its training data
    from, for pairs read once (an evaluation's).
    """
    columns = _tokenize(pairs, preprocessor, cache=cache)
    shares = []
    for ids, lengths, specials in (
        (columns.sources, columns.source_lengths, 0),
        (columns.targets, columns.target_lengths, 2),  # [START] and [END] are never [UNK]
    ):
        real = int(lengths.sum()) - specials * len(lengths)
        shares.append(int(np.sum(ids == UNK_ID)) / real if real > 0 else 0.0)
    return shares[0], shares[1]


def epoch_batches(
    pairs: TextPairs, preprocessor: Seq2SeqPreprocessor, batch_size: int = 64, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Epoch 0 of `make_dataset(..., seed=seed)`, replayed in NumPy: which pairs share a batch.

    Returns:
        `(source_lengths, target_lengths, batches)`: the real lengths of the
        pairs in shuffled order (sources after truncation; targets as the
        positions the loss reads, `[END]` included, `[START]` not), and one
        index array into them per batch, in the order the batches come.
    """
    columns = _tokenize(pairs, preprocessor)
    keys = _bucket_keys(columns, preprocessor)
    order = tf.random.experimental.stateless_shuffle(
        tf.range(len(pairs), dtype=tf.int64), seed=tf.constant([seed, 0], tf.int64)
    ).numpy()
    sources, targets = columns.source_lengths[order], columns.target_lengths[order] - 1  # y = target[1:]
    open_buckets: dict[int, list[int]] = {}
    batches = []
    for i, bucket in enumerate(keys[order]):
        members = open_buckets.setdefault(bucket, [])
        members.append(i)
        if len(members) == batch_size:
            batches.append(np.array(open_buckets.pop(bucket)))
    batches.extend(np.array(members) for members in open_buckets.values())
    return sources, targets, batches


def _padding(lengths, batches):
    real = sum(int(lengths[b].sum()) for b in batches)
    padded = sum(int(lengths[b].max()) * len(b) for b in batches)
    return 1.0 - real / padded if padded else 0.0


_CACHE: list = []  # [(pairs, preprocessor, columns)]: fit asks for the count and the dataset of the same pairs


def _tokenize(pairs, preprocessor, cache=True):
    for cached_pairs, cached_preprocessor, columns in _CACHE:
        if cached_pairs is pairs and cached_preprocessor is preprocessor:
            return columns
    parts = [[], [], [], []]
    truncated = [0, 0]
    empty = []  # pairs with a side of no tokens: "", "  ", "\x00"
    for start in range(0, len(pairs), TOKENIZE_CHUNK):
        chunk = pairs[start : start + TOKENIZE_CHUNK]
        source_ids = preprocessor.source_tokenizer.tokenize(tf.constant(chunk.sources, tf.string))
        target_ids = preprocessor.target_tokenizer.tokenize(tf.constant(chunk.targets, tf.string))
        lengths = source_ids.row_lengths().numpy(), target_ids.row_lengths().numpy()
        empty.extend(start + np.flatnonzero((lengths[0] == 0) | (lengths[1] == 0)))
        truncated[0] += int(np.sum(lengths[0] > preprocessor.max_source_length))
        truncated[1] += int(np.sum(lengths[1] > preprocessor.max_target_length))
        source_ids, target_ids = preprocessor.truncate_and_wrap(source_ids, target_ids)
        for i, ragged in ((0, source_ids), (2, target_ids)):
            parts[i].append(ragged.to_tensor(PAD_ID).numpy())
            parts[i + 1].append(ragged.row_lengths().numpy())
    if empty:
        raise empty_pairs_error("The text pairs", len(empty), int(empty[0]), *pairs[int(empty[0])])
    width = [max(a.shape[1] for a in parts[i]) for i in (0, 2)]
    columns = _Columns(
        sources=np.concatenate([np.pad(a, [(0, 0), (0, width[0] - a.shape[1])]) for a in parts[0]]),
        source_lengths=np.concatenate(parts[1]),
        targets=np.concatenate([np.pad(a, [(0, 0), (0, width[1] - a.shape[1])]) for a in parts[2]]),
        target_lengths=np.concatenate(parts[3]),
        truncated_sources=truncated[0],
        truncated_targets=truncated[1],
    )
    if cache:
        _CACHE[:] = [*_CACHE[-1:], (pairs, preprocessor, columns)]
    return columns


def _bucket_keys(columns, preprocessor):
    """Each pair's bucket, int64 `(pairs,)`: its source length's bucket and its target length's together.

    Keying on both sides keeps the source padding low as well as the
    target's (keying on the longer side left 30% of source positions as
    padding on English-Spanish); the cost is one partial batch per bucket
    per epoch, about 5% more batches there.
    """
    boundaries = _bucket_boundaries(preprocessor)
    width = len(boundaries) + 1
    return np.digitize(columns.target_lengths, boundaries) * width + np.digitize(
        columns.source_lengths, boundaries
    )


def _count_batches(keys, batch_size):
    per_bucket = np.unique(keys, return_counts=True)[1]
    return int(np.sum(np.ceil(per_bucket / batch_size)))


def _bucket_boundaries(preprocessor):
    longest = max(preprocessor.max_source_length, preprocessor.max_target_length + 2)
    # Narrow buckets for the common short sentences, wider ones beyond.
    bounds = list(range(4, 32, 2)) + list(range(32, 64, 4)) + list(range(64, longest + 1, 16))
    return [int(b) for b in np.unique(bounds) if b <= longest]
