"""Decoding strategies that drive a model's `next(tokens, cache, step)`."""

from typing import Any

from zoo.generation.beam_search import BeamSearch
from zoo.generation.decoding_strategy import DecodingStrategy
from zoo.generation.greedy_search import GreedySearch
from zoo.generation.random_sampling import RandomSampling

# A strategy by name, for the CLI and `Translator.translate(strategy="beam")`.
STRATEGIES = {
    "greedy": GreedySearch,
    "beam": BeamSearch,
    "sample": RandomSampling,
}


def get_strategy(strategy: DecodingStrategy | str | None = None, **options: Any) -> DecodingStrategy:
    """A `DecodingStrategy` from a name in `STRATEGIES` (with `options`), an instance, or `None` (greedy)."""
    if isinstance(strategy, DecodingStrategy):
        if options:
            raise ValueError(f"Options {sorted(options)} apply to a strategy name, not to {strategy!r}.")
        return strategy
    if strategy is None:
        strategy = "greedy"
    if strategy not in STRATEGIES:
        raise ValueError(
            f"Unknown decoding strategy {strategy!r}; expected one of {sorted(STRATEGIES)} "
            "or a zoo.generation.DecodingStrategy instance."
        )
    return STRATEGIES[strategy](**options)


__all__ = ["STRATEGIES", "BeamSearch", "DecodingStrategy", "GreedySearch", "RandomSampling", "get_strategy"]
