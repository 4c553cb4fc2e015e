"""An exact top-k for wide rows: it looks closely only at the chunks that can hold an answer."""

import tensorflow as tf

# The widest chunk a row is cut into (the largest divisor of its width up to this).
MAX_CHUNK = 64


def wide_top_k(values: tf.Tensor, k: int) -> tuple[tf.Tensor, tf.Tensor]:
    """`tf.math.top_k(values, k)`, the same to the bit, for rows much wider than `k`.

    TensorFlow's CPU top-k passes every entry through a heap one at a time,
    and beam search asks for a few of thousands. Here each row is cut into
    `k` or more chunks of equal width (the largest divisor of the width up
    to `MAX_CHUNK` that makes `k` chunks), one vectorized pass takes each
    chunk's maximum, and only the `k` chunks with the best maxima go to
    `tf.math.top_k`, side by side in their order in the row.

    Exact, ties included: an entry outside those chunks is beaten by each
    of their maxima, which are at least as large, and from an earlier chunk
    where equal (`tf.math.top_k` keeps the earlier of equal maxima). So at
    least `k` entries rank ahead of it.

    Args:
        values: float `(rows, width)`.
        k: int (or int32 scalar), at most `width`.

    Returns:
        `(top_values, top_indices)`: `(rows, k)` each, best first; among
        equal values the lower index comes first, as in `tf.math.top_k`.
    """
    rows, width = tf.shape(values)[0], tf.shape(values)[1]
    sizes = tf.range(MAX_CHUNK, 0, -1)
    fits = tf.logical_and(tf.equal(width % sizes, 0), sizes * k <= width)  # k chunks at least
    size = sizes[tf.argmax(tf.cast(fits, tf.int32))]  # the largest that fits
    chunks = tf.reshape(values, [rows, width // size, size])
    best_chunks = tf.sort(tf.math.top_k(tf.reduce_max(chunks, axis=2), k=k).indices, axis=1)  # (rows, k)
    narrow = tf.reshape(tf.gather(chunks, best_chunks, batch_dims=1), [rows, k * size])
    top_values, places = tf.math.top_k(narrow, k=k)
    chunk = tf.gather(best_chunks, places // size, batch_dims=1)
    return top_values, chunk * size + places % size
