"""Text pairs: the one in-memory form every reader and corpus returns."""

import dataclasses
import random
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the package imports without TensorFlow
    import tensorflow as tf

    from zoo.seq2seq_preprocessor import Seq2SeqPreprocessor


@dataclasses.dataclass(frozen=True)
class TextPairs:
    """Aligned source and target sentences.

    `zoo.load(..., train_data=pairs)`, `model.fit(pairs)` and
    `model.evaluate(pairs)` take it directly; `to_tf_dataset` is the
    pipeline they use (length bucketing, caching, prefetching).

    Attributes:
        sources: tuple of source sentences.
        targets: tuple of target sentences, as many as `sources`.
    """

    sources: Sequence[str]  # stored as a tuple
    targets: Sequence[str]

    def __post_init__(self):
        object.__setattr__(self, "sources", tuple(self.sources))
        object.__setattr__(self, "targets", tuple(self.targets))
        if len(self.sources) != len(self.targets):
            raise ValueError(
                f"Got {len(self.sources)} source sentences but {len(self.targets)} target sentences."
            )
        for side, texts in (("source", self.sources), ("target", self.targets)):
            for i, text in enumerate(texts):
                if not isinstance(text, str):
                    raise TypeError(
                        f"{side.capitalize()} sentence {i} is a {type(text).__name__}, not a str."
                    )

    def __len__(self):
        return len(self.sources)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return zip(self.sources, self.targets)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return TextPairs(self.sources[index], self.targets[index])
        return self.sources[index], self.targets[index]

    def __add__(self, other):
        """The pairs of both, `self`'s first: `europarl + news` trains on two corpora."""
        if not isinstance(other, TextPairs):
            return NotImplemented
        return TextPairs(
            tuple(self.sources) + tuple(other.sources), tuple(self.targets) + tuple(other.targets)
        )

    def split(self, fraction: float, seed: int = 0) -> tuple["TextPairs", "TextPairs"]:
        """Split into `(first, second)` with about `fraction` of the pairs in `first`.

        Pairs that share a source sentence always land in the same part, so
        nothing leaks from training into evaluation. The same `seed` gives
        the same split.
        """
        if not 0.0 < fraction < 1.0:
            raise ValueError(f"`fraction` must be between 0 and 1 (exclusive), received {fraction}.")
        groups = sorted(set(self.sources))
        random.Random(seed).shuffle(groups)
        first_sources = set(groups[: round(fraction * len(groups))])
        if not 0 < len(first_sources) < len(groups):
            raise ValueError(
                f"`split({fraction})` of {len(groups)} distinct source sentence(s) leaves one part empty; "
                "give more pairs or a fraction nearer 0.5."
            )
        first = [i for i, s in enumerate(self.sources) if s in first_sources]
        second = [i for i, s in enumerate(self.sources) if s not in first_sources]
        return self._select(first), self._select(second)

    def _select(self, indices):
        return TextPairs([self.sources[i] for i in indices], [self.targets[i] for i in indices])

    def to_tf_dataset(
        self,
        preprocessor: "Seq2SeqPreprocessor",
        batch_size: int = 64,
        shuffle: bool = True,
        seed: int = 0,
        start_step: int = 0,
    ) -> "tf.data.Dataset":
        """Batches for `fit`; see `training.pipeline.make_dataset`."""
        from training.pipeline import make_dataset

        return make_dataset(
            self, preprocessor, batch_size=batch_size, shuffle=shuffle, seed=seed, start_step=start_step
        )

    def batches_per_epoch(self, preprocessor: "Seq2SeqPreprocessor", batch_size: int = 64) -> int:
        """Batches in one epoch of `to_tf_dataset`: `fit`'s default `steps_per_epoch`."""
        from training.pipeline import batches_per_epoch

        return batches_per_epoch(self, preprocessor, batch_size=batch_size)
