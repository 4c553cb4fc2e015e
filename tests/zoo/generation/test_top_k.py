import numpy as np
import pytest
import tensorflow as tf

from zoo.generation.top_k import wide_top_k


def _assert_same_as_tensorflow(values, k):
    values = tf.constant(values, tf.float32)
    expected_values, expected_indices = tf.math.top_k(values, k=k)
    got_values, got_indices = wide_top_k(values, k)
    np.testing.assert_array_equal(got_values.numpy(), expected_values.numpy())
    np.testing.assert_array_equal(got_indices.numpy(), expected_indices.numpy())


@pytest.mark.parametrize("k", [1, 2, 8])
def test_wide_top_k_matches_tensorflow_on_beam_like_rows(k):
    # Beam search's candidates: hypotheses' scores plus log-probabilities, a
    # few near the top and most far below, one hypothesis dead (-1e9).
    rng = np.random.default_rng(k)
    values = rng.normal(size=(16, 4, 500)).astype("float32") * 3 - 8
    values[:, :, :3] += 9  # a few good tokens per hypothesis
    values[5, 2] = -1e9
    _assert_same_as_tensorflow(values.reshape(16, -1), k)


def test_wide_top_k_breaks_ties_by_the_lower_index_as_tensorflow_does():
    rng = np.random.default_rng(1)
    values = np.round(rng.normal(size=(12, 800)), 1)  # many exact ties
    values[3, :] = 0.0  # a row of ties: every chunk is kept
    values[7, [10, 400, 790]] = 9.0
    _assert_same_as_tensorflow(values, 8)


def test_wide_top_k_is_exact_where_it_cannot_prune():
    rng = np.random.default_rng(2)
    _assert_same_as_tensorflow(rng.normal(size=(4, 503)), 8)  # a prime width: chunks of one entry
    _assert_same_as_tensorflow(rng.normal(size=(4, 8)), 8)  # as wide as k
    first_step = np.full((3, 4 * 100), -1e9, "float32")
    first_step[:, :100] = rng.normal(size=(3, 100))  # one live hypothesis per sentence
    _assert_same_as_tensorflow(first_step, 8)
    _assert_same_as_tensorflow(np.zeros((0, 80)), 8)  # no rows left


def test_wide_top_k_traces_once_for_any_rows_and_width():
    traced = tf.function(lambda values: wide_top_k(values, 4), reduce_retracing=True)
    spec = tf.TensorSpec([None, None], tf.float32)
    function = traced.get_concrete_function(spec)
    rng = np.random.default_rng(3)
    for shape in [(2, 40), (9, 44), (1, 4000)]:
        values = tf.constant(rng.normal(size=shape), tf.float32)
        got_values, got_indices = function(values)
        expected = tf.math.top_k(values, k=4)
        np.testing.assert_array_equal(got_values.numpy(), expected.values.numpy())
        np.testing.assert_array_equal(got_indices.numpy(), expected.indices.numpy())
