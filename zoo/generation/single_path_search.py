"""The loop shared by greedy search and sampling: one hypothesis per row."""

import tensorflow as tf

from zoo.generation.decoding_strategy import DecodingStrategy, NextFunction
from zoo.tokenizer import PAD_ID


def single_path_search(next_fn, cache, start_tokens, end_id, max_length, choose, done=None):
    """Extend one hypothesis per row with `choose` until every row ends.

    Runs as one `tf.while_loop`, so inside a `tf.function` it is traced once
    per input signature. A row stops at `end_id` (which is kept in its
    output) and emits `PAD_ID` afterwards; the loop stops when every row has
    ended or after `max_length` steps (a row's own, when `max_length` gives
    one per row: a row cut by its limit leaves the batch without `[END]`).

    Only the rows still running go through the model: when rows end, the
    cache keeps only the others, so a batch whose sentences end at different
    lengths costs what its running rows do, not what its longest row does
    times its size. The model sees a smaller batch at later steps, so
    `next_fn` must treat rows independently (every model does) and the
    cache must hold the batch first.

    Args:
        next_fn: `next(tokens, cache, step) -> (logits, cache)`, logits
            `(rows, vocabulary_size)`; the cache holds the last step's
            `attention` `(rows, Ts)`.
        cache: the initial cache (any nested structure of tensors, the batch
            first).
        start_tokens: int32 `(batch_size,)`.
        end_id: int, the token that ends a row.
        max_length: int32 scalar, the most steps taken, or `(batch_size,)`,
            the most for each row.
        choose: `choose(logits, step) -> (tokens, log_probs)`: the model's
            logits `(rows, vocabulary_size)` in; the chosen tokens, int32
            `(rows,)`, and their log-probabilities under
            `zoo.generation.log_probs.token_log_probs` out.
        done: optional bool `(batch_size,)`, rows that are finished before
            the first step (they output nothing and score 0).

    Returns:
        `(tokens, scores, attention)`: int32 `(batch_size, steps)`, the sum of
        the chosen tokens' log-probabilities `(batch_size,)` and the attention
        weights `(batch_size, steps, Ts)`.
    """
    batch_size = tf.shape(start_tokens)[0]
    source_length = tf.shape(cache["attention"])[-1]
    if done is None:
        done = tf.zeros([batch_size], tf.bool)
    limits, max_length = length_limits(max_length)
    tokens_ta = tf.TensorArray(tf.int32, size=0, dynamic_size=True, element_shape=[None])
    attention_ta = tf.TensorArray(tf.float32, size=0, dynamic_size=True, element_shape=[None, None])
    # `rows[i]` is the batch row that running row i belongs to.
    rows = row_indices(tf.logical_not(done))

    def cond(step, rows, previous, cache, scores, tokens_ta, attention_ta):
        # At least one step, so the outputs have a time axis even when every
        # row is done from the start; done rows emit padding only.
        running = tf.logical_or(tf.equal(step, 0), tf.size(rows) > 0)
        return tf.logical_and(step < max_length, running)

    def body(step, rows, previous, cache, scores, tokens_ta, attention_ta):
        logits, cache = next_fn(previous, cache, step)
        chosen, log_probs = choose(logits, step)
        at = rows[:, None]
        scores = tf.tensor_scatter_nd_add(scores, at, log_probs)
        tokens_ta = tokens_ta.write(
            step, tf.tensor_scatter_nd_update(tf.fill([batch_size], PAD_ID), at, chosen)
        )
        attention = tf.cast(cache["attention"], tf.float32)
        attention_ta = attention_ta.write(step, tf.scatter_nd(at, attention, [batch_size, source_length]))
        ended = tf.equal(chosen, end_id)
        if limits is not None:
            ended |= step + 1 >= tf.gather(limits, rows)
        keep = row_indices(tf.logical_not(ended))
        rows, chosen, cache = tf.cond(
            tf.reduce_any(ended),
            lambda: tf.nest.map_structure(lambda x: tf.gather(x, keep), (rows, chosen, cache)),
            lambda: (rows, chosen, cache),
        )
        return step + 1, rows, chosen, cache, scores, tokens_ta, attention_ta

    loop_vars = (
        tf.constant(0),
        rows,
        tf.gather(start_tokens, rows),
        tf.nest.map_structure(lambda x: tf.gather(x, rows), cache),
        tf.zeros([batch_size], tf.float32),
        tokens_ta,
        attention_ta,
    )
    _, _, _, _, scores, tokens_ta, attention_ta = tf.while_loop(
        cond,
        body,
        loop_vars,
        shape_invariants=tf.nest.map_structure(any_rows_shape, loop_vars),
        maximum_iterations=max_length,
    )
    tokens = tf.transpose(tokens_ta.stack(), [1, 0])  # (batch, steps)
    attention = tf.transpose(attention_ta.stack(), [1, 0, 2])  # (batch, steps, Ts)
    return tokens, scores, attention


def length_limits(max_length):
    """`(limits, bound)` for a `max_length` that is one int32 for the batch or one per row.

    `limits` is the `(batch_size,)` per-row tensor, or `None` for one limit
    for all (so the loop adds no per-row test); `bound` is the scalar that
    stops the loop: the largest limit, 1 for an empty batch.
    """
    max_length = tf.cast(max_length, tf.int32)
    if max_length.shape.rank == 0:
        return None, max_length
    return max_length, tf.maximum(tf.reduce_max(max_length), 1)


def row_indices(mask):
    """int32 positions of the `True` entries of a bool vector."""
    return tf.cast(tf.where(mask)[:, 0], tf.int32)


def any_rows_shape(x):
    """`x`'s shape in the loop, with the first axis open: rows leave the batch as they end."""
    if isinstance(x, tf.TensorArray):
        return None  # a TensorArray keeps its element shape
    if x.shape.rank == 0:
        return x.shape
    return tf.TensorShape([None]).concatenate(x.shape[1:])


class SinglePathSearch(DecodingStrategy):
    """A strategy that extends one hypothesis per sentence: subclasses say how a token is chosen."""

    def choose(
        self, logits: tf.Tensor, step: tf.Tensor, seed: tf.Tensor | None
    ) -> tuple[tf.Tensor, tf.Tensor]:
        """The next tokens and their log-probabilities from the model's logits.

        Args:
            logits: float `(rows, vocabulary_size)`, as the model gives them;
                `zoo.generation.log_probs` turns them into the distribution
                over the tokens a model may output.
            step: int32 scalar, the position being generated.
            seed: int32 `(2,)`, the call's seed.

        Returns:
            `(tokens, log_probs)`: int32 and float32 `(rows,)`.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement `choose`.")

    def search(
        self,
        next_fn: NextFunction,
        cache: dict,
        start_tokens: tf.Tensor,
        end_id: int,
        max_length: int | tf.Tensor,
        done: tf.Tensor | None = None,
        source_mask: tf.Tensor | None = None,
        seed: tf.Tensor | None = None,
        return_attention: bool = True,
    ) -> dict[str, tf.Tensor]:
        del source_mask, return_attention  # the attention costs nothing extra here
        if seed is None:
            seed = tf.constant(self.call_seed(), tf.int32)
        tokens, scores, attention = single_path_search(
            next_fn,
            cache,
            start_tokens,
            end_id,
            max_length,
            lambda logits, step: self.choose(logits, step, seed),
            done,
        )
        return {
            "tokens": tokens[:, None],  # (batch, 1, steps)
            "scores": scores[:, None],  # (batch, 1)
            "attention": attention[:, None],  # (batch, 1, steps, Ts)
        }
