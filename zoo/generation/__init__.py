"""Decoding strategies that drive a model's `next(tokens, cache, step)`."""

from zoo.generation.greedy_search import greedy_search

__all__ = ["greedy_search"]
