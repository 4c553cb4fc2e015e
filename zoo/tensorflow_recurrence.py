"""What the hand-written TensorFlow training loops of the GRU and the LSTM share."""

import tensorflow as tf


def require_cpu(layer_name):
    """`NotImplementedError` where a GPU is visible: there Keras' layer runs cuDNN, which is faster still."""
    if tf.config.list_logical_devices("GPU"):
        raise NotImplementedError(f"On a GPU, Keras' {layer_name} runs cuDNN.")


def time_major(x, reverse):
    """`(batch, T, dim)` -> `(T, batch, dim)`, last step first if `reverse`."""
    x = tf.transpose(x, [1, 0, 2])
    return tf.reverse(x, [0]) if reverse else x


def batch_major(x, reverse):
    """The inverse of `time_major`."""
    if reverse:
        x = tf.reverse(x, [0])
    return tf.transpose(x, [1, 0, 2])


def all_steps(x):
    """`(T, batch, d)` as `(T * batch, d)`, the rows of every step, for one matmul over all of them.

    The width is given, not inferred: a reshape cannot infer it for an empty
    batch, which a replica gets under `tf.distribute` when a batch has fewer
    rows than there are replicas.
    """
    width = x.shape[-1] if x.shape[-1] is not None else tf.shape(x)[-1]
    return tf.reshape(x, [-1, width])
