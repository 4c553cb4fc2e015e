import collections
import random

import numpy as np
import pytest
import tensorflow as tf

import zoo
from tests.conftest import TINY
from zoo.length_grouping import length_grouped_batches
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
        given["x"] = x
        return keras_fit(self, x, **kwargs)

    monkeypatch.setattr(keras.Model, "fit", fit)
    history = model.fit((sources, targets), batch_size=8, epochs=1, verbose=0).history
    assert np.isfinite(history["loss"][0])
    real = [float(w.numpy().mean()) for _, _, w in given["x"]]  # each batch's share of real targets
    assert len(real) == 32 and min(real) > 0.85  # random batches of 8: about 0.6
