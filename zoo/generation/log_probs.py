"""The distribution every strategy picks from: the model's logits with `[PAD]` and `[START]` banned."""

import tensorflow as tf

from zoo.generation.top_k import wide_top_k
from zoo.tokenizer import PAD_ID, START_ID

# Logit given to tokens a model must never output: finite, so sums stay finite.
NEVER = -1e9


def allowed_logits(logits):
    """float32 logits `(rows, vocabulary_size)` with `[PAD]` and `[START]` at `NEVER`.

    They are never generated: they get probability 0 and the other tokens
    share the mass, so every strategy picks from the same distribution and
    reports the same scores.
    """
    logits = tf.cast(logits, tf.float32)
    vocabulary_size = tf.shape(logits)[-1]
    banned = tf.reduce_sum(tf.one_hot([PAD_ID, START_ID], vocabulary_size), axis=0)  # (vocabulary_size,)
    return logits + banned * NEVER


def token_log_probs(logits):
    """Log-probabilities `(rows, vocabulary_size)` of every token a model may output."""
    return tf.nn.log_softmax(allowed_logits(logits), axis=-1)


def top_log_probs(logits: tf.Tensor, k: int) -> tuple[tf.Tensor, tf.Tensor]:
    """`tf.math.top_k(token_log_probs(logits), k)`, without a log-softmax of the whole row.

    Greedy search needs the log-probability of a row's best token only, and
    a log-probability is the logit less the row's log-sum-exp, so the
    ranking is the logits'. The log-sum-exp comes from the softmax, which
    oneDNN computes in one pass (TensorFlow's log-softmax takes twice as
    long on a CPU): the best token's probability is
    `1 / sum(exp(logits - best))`.

    Args:
        logits: float `(rows, vocabulary_size)`, as the model gives them.
        k: int, at most `vocabulary_size`.

    Returns:
        `(log_probs, token_ids)`: float32 and int32 `(rows, k)`, best first;
        among equal logits the lower id comes first.
    """
    logits = allowed_logits(logits)
    best_logits, token_ids = wide_top_k(logits, k)
    best_probability = tf.gather(tf.nn.softmax(logits, axis=-1), token_ids[:, :1], batch_dims=1)  # (rows, 1)
    return (best_logits - best_logits[:, :1]) + tf.math.log(best_probability), token_ids
