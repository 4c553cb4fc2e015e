"""The detailed result of translating one sentence."""

import dataclasses

import numpy as np

from zoo.tokenizer import JOINER


@dataclasses.dataclass(frozen=True)
class Translation:
    """One translation with what produced it.

    Attributes:
        text: the translation.
        score: the decoding strategy's score: the sum of its tokens'
            log-probabilities (`[END]` included), with beam search's
            length and coverage penalties when they are on.
        source_tokens: the source as the model saw it (`[UNK]` for unknown words).
        output_tokens: the generated tokens, `[END]` last when it was reached.
        attention: `(len(output_tokens), len(source_tokens))`: row `i` is how
            much output token `i` attended to each source token (all zeros
            for a model without attention).
    """

    text: str
    score: float
    source_tokens: list
    output_tokens: list
    attention: np.ndarray

    def readable_tokens(self) -> tuple[list[str], list[str]]:
        """`(source, output)` tokens as they read: without the mark that joins punctuation to its word.

        `"?"`, not `"￭?"`; `source_tokens` and `output_tokens` keep the
        tokens as the model saw them.
        """
        return (
            [token.replace(JOINER, "") for token in self.source_tokens],
            [token.replace(JOINER, "") for token in self.output_tokens],
        )

    def alignment(self) -> list[tuple[str, str | None]]:
        """For each output token, the source token it attended to most (`None` without attention).

        Tokens as `readable_tokens` writes them.
        """
        source, output = self.readable_tokens()
        if not source or not np.any(self.attention):
            return [(token, None) for token in output]
        best = self.attention.argmax(axis=-1)
        return [(token, source[j]) for token, j in zip(output, best)]
