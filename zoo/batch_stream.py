"""An endless stream of training epochs that starts where the optimizer's step says: exact resuming."""

from collections.abc import Callable

import tensorflow as tf


def stream_from_step(
    epoch: Callable[[tf.Tensor], tf.data.Dataset], batches_per_epoch: int, start_step: int | tf.Variable = 0
) -> tf.data.Dataset:
    """Epoch after epoch of `epoch(k)`'s batches, endless, from batch `start_step` of the stream.

    `epoch(k)` (`k` an int64 scalar tensor) must give exactly
    `batches_per_epoch` batches, and the same ones whenever it is asked (a
    function of `k` alone, such as a stateless shuffle seeded with `k`). Then
    the stream's batch `n` is always the same batch, so a run restored at
    step `n` reads what the interrupted run would have read next.

    `start_step` is read when an iterator makes its first batch, not when
    the dataset is made: `fit` passes the optimizer's step counter, which a
    checkpoint restores after the dataset exists. That read runs beside the
    training step that asks for the batch, so a step that updates the
    counter must wait for its batch first (`Seq2SeqTask.train_step` does).

    Args:
        epoch: `k -> tf.data.Dataset` of epoch `k`'s batches.
        batches_per_epoch: int, how many batches every epoch gives.
        start_step: int or scalar integer variable: the batch to start at.

    Returns:
        The stream, a `tf.data.Dataset` of unknown (infinite) length; pass
        `batches_per_epoch` to `fit` as `steps_per_epoch`.
    """

    def stream_from(step):
        first = step // batches_per_epoch
        return tf.data.Dataset.range(first, tf.int64.max).flat_map(
            lambda k: epoch(k).skip(tf.where(k == first, step - first * batches_per_epoch, 0))
        )

    position = tf.data.Dataset.from_tensors(0).map(
        lambda _: tf.cast(tf.convert_to_tensor(start_step), tf.int64)
    )
    return position.flat_map(stream_from)
