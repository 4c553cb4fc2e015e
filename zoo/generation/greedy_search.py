"""Greedy decoding: the most likely token at every step."""

import dataclasses

import tensorflow as tf

from zoo.generation.single_path_search import SinglePathSearch


@dataclasses.dataclass(frozen=True)
class GreedySearch(SinglePathSearch):
    """Pick the most likely token at every step until `[END]`.

    The fastest strategy; its score is the sum of the chosen tokens'
    log-probabilities. `BeamSearch(beam_width=1)` returns the same tokens.

    Example:

    >>> model.translate("hola", strategy=zoo.generation.GreedySearch())
    """

    def choose(self, log_probs, step, seed):
        return tf.argmax(log_probs, axis=-1, output_type=tf.int32)
