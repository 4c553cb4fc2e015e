"""Greedy decoding: the most likely token at every step."""

import dataclasses

import tensorflow as tf

from zoo.generation.log_probs import top_log_probs
from zoo.generation.single_path_search import SinglePathSearch


@dataclasses.dataclass(frozen=True)
class GreedySearch(SinglePathSearch):
    """Pick the most likely token at every step until `[END]`.

    The fastest strategy; its score is the sum of the chosen tokens'
    log-probabilities. `BeamSearch(beam_width=1)` returns the same tokens.

    Example:

    >>> model.translate("hola", strategy=zoo.generation.GreedySearch())
    """

    def choose(
        self, logits: tf.Tensor, step: tf.Tensor, seed: tf.Tensor | None
    ) -> tuple[tf.Tensor, tf.Tensor]:
        log_probs, tokens = top_log_probs(logits, 1)
        return tokens[:, 0], log_probs[:, 0]
