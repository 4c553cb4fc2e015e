"""The error `Translator.translate` raises for a sentence longer than the model reads."""


class SourceTooLongError(ValueError):
    """A sentence given to `translate` has more tokens than the model reads (`max_source_length`).

    Attributes:
        index: the first such sentence's place in the list given, from 0.
        length: its tokens.
        limit: `max_source_length`.
        count: how many sentences of the list are too long.
    """

    def __init__(self, index: int, length: int, limit: int, count: int):
        super().__init__(
            f"Sentence {index} has {length} tokens; this model reads at most {limit} "
            f"(max_source_length). {count} sentence(s) are too long."
        )
        self.index, self.length, self.limit, self.count = index, length, limit, count
