"""Greedy decoding: the most likely token at every step."""

import dataclasses

import tensorflow as tf

from zoo.generation.decoding_strategy import DecodingStrategy, single_hypothesis
from zoo.generation.single_path_search import single_path_search


@dataclasses.dataclass(frozen=True)
class GreedySearch(DecodingStrategy):
    """Pick the most likely token at every step until `[END]`.

    The fastest strategy; its score is the sum of the chosen tokens'
    log-probabilities. `BeamSearch(beam_width=1)` returns the same tokens.

    Example:

    >>> model.translate("hola", strategy=zoo.GreedySearch())
    """

    def search(
        self,
        next_fn,
        cache,
        start_tokens,
        end_id,
        max_length,
        done=None,
        source_mask=None,
        seed=None,
        return_attention=True,
    ):
        del source_mask, seed, return_attention  # the attention costs nothing extra here

        def choose(log_probs, step):
            return tf.argmax(log_probs, axis=-1, output_type=tf.int32)

        return single_hypothesis(
            *single_path_search(next_fn, cache, start_tokens, end_id, max_length, choose, done)
        )
