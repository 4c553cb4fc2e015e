"""Sampling: draw each token from the model's (reshaped) distribution."""

import dataclasses
import random

import tensorflow as tf

from keras_attention.checks import check_float, check_int
from zoo.generation.log_probs import NEVER, token_log_probs
from zoo.generation.single_path_search import SinglePathSearch


@dataclasses.dataclass(frozen=True)
class RandomSampling(SinglePathSearch):
    """Draw every token at random from the model's next-token distribution.

    The distribution is sharpened or flattened by `temperature`, then cut to
    the `top_k` most likely tokens and to the smallest set whose probability
    reaches `top_p` (nucleus sampling), in that order. The score is the sum of
    the drawn tokens' log-probabilities under the model's own distribution
    (temperature 1, nothing cut).

    Args:
        temperature: divides the log-probabilities; below 1 is closer to
            greedy, above 1 more varied.
        top_k: draw from the `top_k` most likely tokens only; `None` for all.
        top_p: draw from the most likely tokens whose probabilities sum to
            at least `top_p` (Holtzman et al. 2019); `None` (or 1) for all.
        seed: an int makes the draws repeatable: the same seed and
            sentences (and `batch_size`) give the same output. `None` draws a new seed per call
            from Python's `random` (which `keras.utils.set_random_seed` seeds).

    Example:

    >>> model.translate("hola", strategy=zoo.generation.RandomSampling(temperature=0.8, top_p=0.9, seed=1))
    """

    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None
    seed: int | None = None

    def __post_init__(self):
        check_float("temperature", self.temperature, 0.0, minimum_allowed=False)
        if self.top_k is not None:
            check_int("top_k", self.top_k, 1)
        if self.top_p is not None:
            check_float("top_p", self.top_p, 0.0, 1.0, minimum_allowed=False)
        if self.seed is not None:
            check_int("seed", self.seed, 0, 2**31 - 1)

    @property
    def deterministic(self):
        return self.seed is not None

    def call_seed(self) -> list[int]:
        """The `(2,)` seed for one call: fixed by `seed`, or drawn anew."""
        return [self.seed if self.seed is not None else random.getrandbits(31), 0]

    def choose(
        self, logits: tf.Tensor, step: tf.Tensor, seed: tf.Tensor | None
    ) -> tuple[tf.Tensor, tf.Tensor]:
        log_probs = token_log_probs(logits)
        logits = log_probs / self.temperature
        if self.top_k is not None:
            k = tf.minimum(self.top_k, tf.shape(logits)[-1])
            kth = tf.math.top_k(logits, k=k).values[:, -1:]  # (batch, 1)
            logits = tf.where(logits < kth, NEVER, logits)
        if self.top_p is not None and self.top_p < 1.0:
            ranked = tf.sort(logits, axis=-1, direction="DESCENDING")
            mass_before = tf.cumsum(tf.nn.softmax(ranked, axis=-1), axis=-1, exclusive=True)
            # The smallest kept logit: the token whose mass reaches top_p
            # is kept, and the most likely token always is.
            kept = tf.where(mass_before < self.top_p, ranked, -NEVER)
            logits = tf.where(logits < tf.reduce_min(kept, axis=-1, keepdims=True), NEVER, logits)
        step_seed = tf.random.experimental.stateless_fold_in(seed, step)
        tokens = tf.random.stateless_categorical(logits, 1, seed=step_seed, dtype=tf.int32)[:, 0]
        return tokens, tf.gather(log_probs, tokens, batch_dims=1)
