"""Greedy decoding over the `next(tokens, cache, step)` interface."""

import tensorflow as tf

from zoo.tokenizer import PAD_ID


def greedy_search(next_fn, cache, start_tokens, end_id, max_length, done=None):
    """Pick the most likely token at every step until all rows end.

    Runs as one `tf.while_loop`; inside a `tf.function` it is traced once per
    input signature. A row stops at `end_id` (which is kept in its output)
    and emits `PAD_ID` afterwards; the loop stops when every row has ended or
    after `max_length` steps.

    Args:
        next_fn: `next(tokens, cache, step) -> (logits, cache)`, logits
            `(batch_size, vocabulary_size)`; the cache holds the last step's
            `attention` `(batch_size, Ts)`.
        cache: the initial cache (any nested structure of tensors).
        start_tokens: int32 `(batch_size,)`.
        end_id: int, the token that ends a row.
        max_length: int32 scalar, the most steps taken.
        done: optional bool `(batch_size,)`, rows that are finished before
            the first step (they output nothing and score 0).

    Returns:
        `(tokens, scores, attention)`: int32 `(batch_size, steps)`, the sum of
        the chosen tokens' log-probabilities `(batch_size,)` and the attention
        weights `(batch_size, steps, Ts)`.
    """
    batch_size = tf.shape(start_tokens)[0]
    if done is None:
        done = tf.zeros([batch_size], tf.bool)
    max_length = tf.cast(max_length, tf.int32)
    tokens_ta = tf.TensorArray(tf.int32, size=0, dynamic_size=True, element_shape=[None])
    attention_ta = tf.TensorArray(
        cache["attention"].dtype, size=0, dynamic_size=True, element_shape=[None, None]
    )

    def cond(step, previous, cache, done, scores, tokens_ta, attention_ta):
        # At least one step, so the outputs have a time axis even when every
        # row is done from the start; done rows emit padding only.
        running = tf.logical_or(tf.equal(step, 0), tf.logical_not(tf.reduce_all(done)))
        return tf.logical_and(step < max_length, running)

    def body(step, previous, cache, done, scores, tokens_ta, attention_ta):
        logits, cache = next_fn(previous, cache, step)
        log_probs = tf.nn.log_softmax(tf.cast(logits, tf.float32), axis=-1)
        chosen = tf.argmax(log_probs, axis=-1, output_type=tf.int32)
        chosen = tf.where(done, PAD_ID, chosen)
        chosen_log_prob = tf.gather(log_probs, chosen, batch_dims=1)
        scores += tf.where(done, 0.0, chosen_log_prob)
        attention = tf.where(done[:, None], tf.zeros_like(cache["attention"]), cache["attention"])
        tokens_ta = tokens_ta.write(step, chosen)
        attention_ta = attention_ta.write(step, attention)
        done = tf.logical_or(done, tf.equal(chosen, end_id))
        return step + 1, chosen, cache, done, scores, tokens_ta, attention_ta

    loop_vars = (
        tf.constant(0),
        start_tokens,
        cache,
        done,
        tf.zeros([batch_size], tf.float32),
        tokens_ta,
        attention_ta,
    )
    _, _, _, _, scores, tokens_ta, attention_ta = tf.while_loop(
        cond, body, loop_vars, maximum_iterations=max_length
    )
    tokens = tf.transpose(tokens_ta.stack(), [1, 0])  # (batch, steps)
    attention = tf.transpose(attention_ta.stack(), [1, 0, 2])  # (batch, steps, Ts)
    return tokens, scores, attention
