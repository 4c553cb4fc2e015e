import numpy as np
import pytest
import tensorflow as tf

from zoo.generation.beam_search import best_continuations
from zoo.generation.log_probs import token_log_probs, top_log_probs
from zoo.tokenizer import PAD_ID, START_ID


def _numpy_log_probs(logits):
    """float64 log-softmax over the tokens a model may output, -inf at [PAD] and [START]."""
    logits = np.asarray(logits, "float64").copy()
    logits[:, [PAD_ID, START_ID]] = -np.inf
    top = logits.max(axis=1, keepdims=True)
    return logits - top - np.log(np.exp(logits - top).sum(axis=1, keepdims=True))


def _logits(shape, seed, scale=4.0):
    logits = np.random.default_rng(seed).normal(scale=scale, size=shape).astype("float32")
    logits[min(2, shape[0] - 1), PAD_ID] = 50.0  # a banned token with the highest logit still gets nothing
    return logits


def test_token_log_probs_ban_pad_and_start_and_match_a_numpy_log_softmax_over_the_rest():
    logits = _logits((5, 11), seed=0)
    got = token_log_probs(tf.constant(logits)).numpy()
    allowed = np.setdiff1d(np.arange(11), [PAD_ID, START_ID])
    np.testing.assert_allclose(got[:, allowed], _numpy_log_probs(logits)[:, allowed], rtol=1e-6, atol=1e-6)
    assert np.all(got[:, [PAD_ID, START_ID]] < -1e8)
    # A batch with no rows (every sentence ended) is fine too.
    assert token_log_probs(tf.zeros([0, 11])).shape == (0, 11)


@pytest.mark.parametrize("k", [1, 3, 8])
def test_top_log_probs_are_the_best_of_a_numpy_log_softmax(k):
    logits = _logits((6, 500), seed=k)
    logits[4] = np.round(logits[4])  # many equal logits: the lower id first
    log_probs, ids = (x.numpy() for x in top_log_probs(tf.constant(logits), k))
    expected = _numpy_log_probs(logits)
    order = np.argsort(-expected, axis=1, kind="stable")[:, :k]
    np.testing.assert_array_equal(ids, order)
    np.testing.assert_allclose(log_probs, np.take_along_axis(expected, order, axis=1), rtol=1e-6, atol=1e-6)
    # And they agree with the full log-softmax that sampling uses.
    full = tf.math.top_k(token_log_probs(tf.constant(logits)), k=k)
    np.testing.assert_array_equal(ids, full.indices.numpy())
    np.testing.assert_allclose(log_probs, full.values.numpy(), rtol=1e-6, atol=1e-6)


def test_top_log_probs_of_a_peaked_or_flat_row_and_of_no_rows():
    logits = np.zeros((3, 40), "float32")
    logits[0, 7] = 80.0  # all the mass on one token: log-probability 0, the rest about -80
    logits[1, :] = -30.0  # flat: every allowed token has log(1 / 38)
    log_probs, ids = (x.numpy() for x in top_log_probs(tf.constant(logits), 2))
    first, second = np.setdiff1d(np.arange(40), [PAD_ID, START_ID])[:2]  # the lowest allowed ids
    np.testing.assert_array_equal(ids[:2], [[7, first], [first, second]])
    np.testing.assert_allclose(log_probs[0], [0.0, -80.0], atol=1e-5)
    np.testing.assert_allclose(log_probs[1], [np.log(1 / 38)] * 2, rtol=1e-6)
    log_probs, ids = top_log_probs(tf.zeros([0, 40]), 2)
    assert log_probs.shape == ids.shape == (0, 2)


@pytest.mark.parametrize("vocabulary_size", [5, 300])  # 5: fewer tokens than continuations asked for
def test_best_continuations_are_the_best_of_all_of_a_sentences_continuations(vocabulary_size):
    sentences, k, n = 5, 4, 8
    logits = _logits((sentences * k, vocabulary_size), seed=vocabulary_size)
    hypotheses = np.random.default_rng(1).normal(size=(sentences, k)).astype("float32") - 3
    hypotheses[0, 1:] = -1e9  # a first step: one live hypothesis
    got = [x.numpy() for x in best_continuations(tf.constant(logits), tf.constant(hypotheses), n)]
    # Brute force: every hypothesis extended by every token, ranked by score,
    # then by hypothesis, then by token.
    every = hypotheses[:, :, None] + _numpy_log_probs(logits).reshape(sentences, k, vocabulary_size)
    flat = every.reshape(sentences, -1)
    order = np.argsort(-flat, axis=1, kind="stable")[:, :n]
    expected = np.take_along_axis(flat, order, axis=1)
    live = expected > -1e8  # continuations of live hypotheses by allowed tokens
    assert live[1:].all() and live[0].sum() == min(n, vocabulary_size - 2)
    np.testing.assert_allclose(got[0][live], expected[live], rtol=1e-5)
    np.testing.assert_array_equal(got[1][live], (order // vocabulary_size)[live])
    np.testing.assert_array_equal(got[2][live], (order % vocabulary_size)[live])
    assert np.all(got[0][~live] < -1e8)
