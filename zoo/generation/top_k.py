"""An exact top-k for wide rows: it looks closely only at the chunks that can hold an answer."""

import tensorflow as tf

# The widest chunk a row is cut into (the largest divisor of its width up to this).
MAX_CHUNK = 64


def wide_top_k(values, k):
    """`tf.math.top_k(values, k)`, the same to the bit, for rows much wider than `k`.

    TensorFlow's CPU top-k passes every entry through a heap one at a time.
    Beam search asks for the best `2 * beam_width` of `beam_width *
    vocabulary_size` continuations, so nearly all of that work is on
    entries that cannot make it. Here each row is cut into `k` or more
    chunks of equal width (the largest divisor of the width up to
    `MAX_CHUNK` that makes `k` chunks), and one vectorized pass takes each
    chunk's maximum. The `k`-th best of those maxima is a threshold that at
    least `k` entries reach, so every answer lies in a chunk whose maximum
    reaches it. Those chunks, usually a few more than `k`, make a narrow
    matrix for `tf.math.top_k`.

    Chunks keep their order and their entries, so among equal values the
    lower index still comes first. A row of ties keeps all its chunks: the
    answer is still exact, only slower.

    Args:
        values: float `(rows, width)`.
        k: int, at most `width`.

    Returns:
        `(top_values, top_indices)`: `(rows, k)` each, best first; among
        equal values the lower index comes first, as in `tf.math.top_k`.
    """
    rows, width = tf.shape(values)[0], tf.shape(values)[1]
    sizes = tf.range(MAX_CHUNK, 0, -1)
    fits = tf.logical_and(tf.equal(width % sizes, 0), sizes * k <= width)  # k chunks at least
    size = sizes[tf.argmax(tf.cast(fits, tf.int32))]  # the largest that fits
    chunks = tf.reshape(values, [rows, width // size, size])
    maxima = tf.reduce_max(chunks, axis=2)  # (rows, chunks)
    threshold = tf.math.top_k(maxima, k=k).values[:, -1:]  # k chunks' maxima reach it
    at = tf.where(maxima >= threshold)  # (kept, 2): by row, then chunk, ascending
    kept_rows = tf.cast(at[:, 0], tf.int32)
    counts = tf.math.bincount(kept_rows, minlength=rows, maxlength=rows)
    # Each kept chunk's slot among its row's, in chunk order.
    slot = tf.range(tf.shape(at)[0]) - tf.gather(tf.cumsum(counts, exclusive=True), kept_rows)
    slots = tf.stack([kept_rows, slot], axis=1)
    # (rows, slots); k slots at least, so that a batch of no rows has a shape too.
    shape = tf.stack([rows, tf.reduce_max(tf.concat([counts, [k]], axis=0))])
    # The kept chunks side by side, padded with -inf chunks after them (so
    # never before an entry of equal value).
    narrow = tf.tensor_scatter_nd_update(
        tf.fill(tf.concat([shape, [size]], axis=0), tf.constant(-float("inf"), values.dtype)),
        slots,
        tf.gather_nd(chunks, at),
    )
    top_values, places = tf.math.top_k(tf.reshape(narrow, [rows, -1]), k=k)
    chunk_of_slot = tf.scatter_nd(slots, tf.cast(at[:, 1], tf.int32), shape)
    chunk = tf.gather(chunk_of_slot, places // size, batch_dims=1)
    return top_values, chunk * size + places % size
