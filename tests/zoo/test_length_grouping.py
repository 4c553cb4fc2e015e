import collections
import random

import numpy as np
import pytest
import tensorflow as tf

import zoo
from tests.conftest import TINY
from zoo.length_grouping import length_grouped_batches, length_grouped_stream
from zoo.seq2seq_preprocessor import Seq2SeqPreprocessor
from zoo.tokenizer import PAD_ID

WORDS = [f"w{i}" for i in range(30)]


def random_pairs(count, seed=0):
    """Pairs of 1-16 words a side, the lengths independent of the order."""
    rng = random.Random(seed)

    def sentence():
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 16)))

    return [sentence() for _ in range(count)], [sentence() for _ in range(count)]


@pytest.fixture(scope="module")
def preprocessor():
    tokenizer = zoo.WordTokenizer.from_texts(WORDS)
    return Seq2SeqPreprocessor(tokenizer, tokenizer)


def batches_of(sources, targets, preprocessor, batch_size, shuffle):
    pairs = tf.data.Dataset.from_tensor_slices((sources, targets))
    return list(length_grouped_batches(pairs, preprocessor, batch_size, shuffle))


def real_rows(x, y):
    """The batch's pairs as (source ids, target ids) tuples without padding."""
    sources = x["encoder_token_ids"].numpy()
    targets = np.concatenate([x["decoder_token_ids"].numpy()[:, :1], y.numpy()], axis=1)
    return [(tuple(s[s != PAD_ID]), tuple(t[t != PAD_ID])) for s, t in zip(sources, targets)]


@pytest.mark.parametrize("shuffle", [False, True])
def test_every_pair_comes_once_in_batches_of_one_length(preprocessor, shuffle):
    sources, targets = random_pairs(300)
    batches = batches_of(sources, targets, preprocessor, 8, shuffle)
    assert len(batches) == 38  # ceil(300 / 8), as `batch(8)` gives
    # The same pairs as the preprocessor makes of them in one batch, each once.
    x, y, _ = preprocessor(tf.constant(sources), tf.constant(targets))
    expected = collections.Counter(real_rows(x, y))
    assert collections.Counter(row for x, y, _ in batches for row in real_rows(x, y)) == expected
    # One window holds all 300 pairs: the batches are slices of them sorted by target
    # length (random batches of 8 span most of the 16 lengths).
    everything = sorted(len(target) for _, target in expected.elements())
    slices = collections.Counter(tuple(everything[i : i + 8]) for i in range(0, 300, 8))
    assert (
        collections.Counter(tuple(sorted(len(t) for _, t in real_rows(x, y))) for x, y, _ in batches)
        == slices
    )
    # The weights mark the real tokens, as the preprocessor's own batches do.
    for _, y, w in batches:
        np.testing.assert_array_equal(w.numpy(), (y.numpy() != PAD_ID).astype(np.float32))


def test_the_order_is_kept_or_shuffled(preprocessor):
    sources, targets = random_pairs(300)
    pairs = tf.data.Dataset.from_tensor_slices((sources, targets))

    def lengths(dataset):  # each batch's longest target, in the order the batches come
        return [int(w.numpy().sum(axis=1).max()) for _, _, w in dataset]

    kept = length_grouped_batches(pairs, preprocessor, 8, shuffle=False)
    assert lengths(kept) == lengths(kept) == sorted(lengths(kept))  # shortest first, every epoch
    shuffled = length_grouped_batches(pairs, preprocessor, 8, shuffle=True)
    first, second = lengths(shuffled), lengths(shuffled)
    assert first != second and sorted(first) == sorted(second) == sorted(lengths(kept))
    assert int(shuffled.cardinality()) == 38


def test_windows_are_sorted_each_on_its_own(preprocessor, monkeypatch):
    from zoo import length_grouping

    monkeypatch.setattr(length_grouping, "WINDOW_BATCHES", 2)  # windows of 16 pairs
    sources, targets = random_pairs(40)
    batches = batches_of(sources, targets, preprocessor, 8, shuffle=False)
    assert [len(w) for _, _, w in batches] == [8, 8, 8, 8, 8]  # whole batches: 16, 16 and 8
    for window in (batches[0:2], batches[2:4]):
        low, high = (w.numpy().sum(axis=1) for _, _, w in window)
        assert low.max() <= high.min()
    x, y, _ = preprocessor(tf.constant(sources[:16]), tf.constant(targets[:16]))
    assert sorted(real_rows(*batches[0][:2]) + real_rows(*batches[1][:2])) == sorted(real_rows(x, y))


def test_fit_on_lists_trains_on_batches_of_one_length(monkeypatch):
    """`fit` on lists padded each batch to its longest pair: about half of every batch was padding."""
    import keras

    sources, targets = random_pairs(256)
    model = zoo.load("gru_luong", train_data=(sources, targets), **TINY)
    given = {}
    keras_fit = keras.Model.fit

    def fit(self, x, **kwargs):
        given["x"], given["steps"] = x, kwargs["steps_per_epoch"]
        return keras_fit(self, x, **kwargs)

    monkeypatch.setattr(keras.Model, "fit", fit)
    history = model.fit((sources, targets), batch_size=8, epochs=1, verbose=0).history
    assert np.isfinite(history["loss"][0])
    assert given["steps"] == 32
    real = [float(w.numpy().mean()) for _, _, w in given["x"].take(32)]  # each batch's share of real targets
    assert min(real) > 0.85  # random batches of 8: about 0.6


def rows_of(batches):
    return collections.Counter(row for x, y, _ in batches for row in real_rows(x, y))


def test_a_stream_of_pairs_in_memory_gives_each_pair_once_an_epoch_and_resumes_anywhere(preprocessor):
    sources, targets = random_pairs(300)
    stream, per_epoch = length_grouped_stream(sources, targets, preprocessor, 8, shuffle=True)
    assert per_epoch == 38
    batches = list(stream.take(3 * per_epoch))
    epochs = [batches[k * per_epoch : (k + 1) * per_epoch] for k in range(3)]
    x, y, _ = preprocessor(tf.constant(sources), tf.constant(targets))
    everything = sorted(len(target) for _, target in real_rows(x, y))
    slices = collections.Counter(tuple(everything[i : i + 8]) for i in range(0, 300, 8))
    for epoch in epochs:
        assert rows_of(epoch) == collections.Counter(real_rows(x, y))
        # One window holds all 300 pairs: the batches are slices of them sorted by length.
        assert (
            collections.Counter(tuple(sorted(len(t) for _, t in real_rows(x, y))) for x, y, _ in epoch)
            == slices
        )
    orders = [[real_rows(x, y) for x, y, _ in epoch] for epoch in epochs]
    assert orders[0] != orders[1] != orders[2]  # a new order every epoch
    # Started at any step, the stream goes on with the batches the whole stream has there.
    for start in (0, 5, per_epoch, 2 * per_epoch - 1):
        resumed, _ = length_grouped_stream(sources, targets, preprocessor, 8, shuffle=True, start_step=start)
        expected = batches[start : start + per_epoch]
        assert [real_rows(x, y) for x, y, _ in resumed.take(len(expected))] == [
            real_rows(x, y) for x, y, _ in expected
        ]
    # The start is read from a variable when the stream is iterated, as `fit` passes the optimizer's step.
    step = tf.Variable(0, dtype=tf.int64)
    resumed, _ = length_grouped_stream(sources, targets, preprocessor, 8, shuffle=True, start_step=step)
    step.assign(per_epoch + 7)
    assert real_rows(*next(iter(resumed))[:2]) == real_rows(*batches[per_epoch + 7][:2])


def test_a_stream_in_the_given_order_repeats_it_and_windows_batch_their_own_pairs(preprocessor, monkeypatch):
    from zoo import length_grouping

    monkeypatch.setattr(length_grouping, "WINDOW_BATCHES", 2)  # windows of 16 pairs
    sources, targets = random_pairs(40)
    stream, per_epoch = length_grouped_stream(sources, targets, preprocessor, 8, shuffle=False)
    batches = list(stream.take(2 * per_epoch))
    assert per_epoch == 5 and [len(w) for _, _, w in batches] == [8] * 10
    first, second = ([real_rows(x, y) for x, y, _ in batches[k * 5 : (k + 1) * 5]] for k in range(2))
    assert first == second
    x, y, _ = preprocessor(tf.constant(sources[:16]), tf.constant(targets[:16]))
    assert sorted(first[0] + first[1]) == sorted(real_rows(x, y))  # the first window: the first 16 pairs
    low, high = (w.numpy().sum(axis=1) for _, _, w in batches[:2])
    assert low.max() <= high.min()  # sorted within it
    shuffled, _ = length_grouped_stream(sources, targets, preprocessor, 8, shuffle=True)
    window = rows_of(list(shuffled.take(2)))  # with a shuffle, the first window's pairs are 16 of the 40
    assert sum(window.values()) == 16


def test_a_stream_refuses_what_it_cannot_batch(preprocessor):
    with pytest.raises(ValueError, match="No text pairs"):
        length_grouped_stream([], [], preprocessor, 8, shuffle=True)
    with pytest.raises(ValueError, match="2 sources and 1 targets"):
        length_grouped_stream(["a", "b"], ["c"], preprocessor, 8, shuffle=True)
    with pytest.raises(ValueError, match="batch_size"):
        length_grouped_stream(["a"], ["c"], preprocessor, 0, shuffle=True)
