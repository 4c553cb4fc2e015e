"""What every tokenizer shares: reserved ids, standardization, the vocabulary table."""

import collections
from collections.abc import Iterable, Sequence
from typing import Self

import tensorflow as tf
import tensorflow_text as tf_text

from keras_attention.checks import check_bool
from zoo.annotations import PathLike, Tensor
from zoo.atomic import atomic_file

PAD, UNK, START, END = "[PAD]", "[UNK]", "[START]", "[END]"
# Ids 0-3, in every vocabulary: padding must be 0 (masks are `ids != 0`).
RESERVED_TOKENS = (PAD, UNK, START, END)
PAD_ID, UNK_ID, START_ID, END_ID = range(4)

# Marks the side on which a punctuation token was attached to its neighbour
# (OpenNMT's "joiner"), so that detokenization restores "2021-03-04" and
# "¿qué?" exactly instead of "2021 - 03 - 04".
JOINER = "\uffed"
_SEP = "\x01"  # temporary separator, never in standardized text
_PUNCTUATION = r"[\pP\pS]"
# Python's whitespace (`str.isspace`): Unicode's, as ICU's word splitting
# reads it, and the ASCII separators \x1c-\x1f. A token then never holds
# what a vocabulary's check of its tokens calls whitespace.
_WHITESPACE = r"[\s\v\x{1c}-\x{1f}\x{85}\p{Z}]+"


def standardize(texts, lowercase=True):
    """`tf.string` texts in NFKC, lowercased, with NULs and Unicode whitespace runs made one space.

    `lowercase=False` keeps the case. Joiner marks are stripped, so they
    cannot pass for the tokenizer's own.
    """
    texts = tf_text.normalize_utf8(texts, "NFKC")
    # A NUL would end the text: `tf.strings.lower` reads its input up to the first one.
    texts = tf.strings.regex_replace(texts, "\x00", " ")
    if lowercase:
        texts = tf.strings.lower(texts, encoding="utf-8")
    texts = tf.strings.regex_replace(texts, f"[{JOINER}{_SEP}]", "")
    # Not RE2's `\s`, ASCII only: a line separator is a space to every tokenizer.
    texts = tf.strings.regex_replace(texts, _WHITESPACE, " ")
    return tf.strings.strip(texts)


def split_punctuation(texts):
    """Put each punctuation mark in a token of its own, with joiner marks.

    "¿qué?" -> "¿￭ qué ￭?": a joiner stays on a side where the mark touched
    a word and is dropped where there was a space or the end of the text.
    """
    texts = tf.strings.regex_replace(texts, f"({_PUNCTUATION})", f"{_SEP}{JOINER}\\1{JOINER}{_SEP}")
    texts = tf.strings.regex_replace(texts, f"{JOINER}{_SEP} ", " ")
    texts = tf.strings.regex_replace(texts, f" {_SEP}{JOINER}", " ")
    texts = tf.strings.regex_replace(texts, f"^{_SEP}{JOINER}", "")
    texts = tf.strings.regex_replace(texts, f"{JOINER}{_SEP}$", "")
    return tf.strings.regex_replace(texts, _SEP, " ")


def split_words(texts, lowercase=True):
    """Standardized words and punctuation marks of `tf.string` texts `(batch,)`: ragged strings."""
    # `standardize` leaves no whitespace but ASCII spaces, so TensorFlow's own
    # split on runs of whitespace gives what tensorflow-text's ICU
    # `WhitespaceTokenizer` gave (checked over every code point and the
    # spa-eng corpus) in 35 ops instead of 204: a tenth of the tracing, paid
    # by every `fit`, `evaluate`, translation graph and export.
    return tf.strings.split(split_punctuation(standardize(texts, lowercase)))


def resolve_joiners(texts: tf.Tensor) -> tf.Tensor:
    """Glue punctuation marks back to the words their joiners point at."""
    return tf.strings.regex_replace(texts, f" ?{JOINER} ?", "")


class Tokenizer(tf.Module):
    """The base of the zoo's tokenizers: text -> ids -> text as TensorFlow ops.

    Owns the vocabulary (reserved tokens first, ids in list order), its
    lookup table, `id_to_token`, the end-of-sequence and padding handling of
    `detokenize`, and the vocabulary file. A subclass says how text splits
    into tokens (`split_text`), how tokens map to ids if not by table lookup
    (`tokens_to_ids`), how tokens join back into text (`separator` and
    `finish_join`), and how a vocabulary is learned (`learn_vocabulary`).
    Everything runs as TensorFlow ops, so a tokenizer works in `tf.data`,
    in a compiled decode loop and inside an exported SavedModel.

    Args:
        vocabulary: list of tokens. The first four must be
            `RESERVED_TOKENS`; ids follow list order.
        lowercase: bool, whether text is lowercased before it is split
            (the default). With `False` case is kept: "Tom" and "tom" are
            two tokens, and translations come out in the case the model
            learned.
    """

    def __init__(self, vocabulary: Sequence[str], lowercase: bool = True, name: str | None = None):
        super().__init__(name=name)
        self.lowercase = check_bool("lowercase", lowercase)
        vocabulary = list(vocabulary)
        if tuple(vocabulary[:4]) != RESERVED_TOKENS:
            raise ValueError(
                f"A vocabulary must start with the reserved tokens {list(RESERVED_TOKENS)}; "
                f"received {vocabulary[:4]}."
            )
        duplicates = [t for t, n in collections.Counter(vocabulary).items() if n > 1]
        if duplicates:
            raise ValueError(f"The vocabulary has duplicate tokens: {duplicates[:10]}.")
        bad = [t for t in vocabulary if not isinstance(t, str) or not t or t != t.strip() or " " in t]
        if bad:
            raise ValueError(f"Vocabulary tokens must be non-empty strings without whitespace: {bad[:10]!r}.")
        self.vocabulary = tuple(vocabulary)
        self._vocabulary_tensor = tf.constant(vocabulary, dtype=tf.string)
        self._token_to_id = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                self._vocabulary_tensor, tf.range(len(vocabulary), dtype=tf.int64)
            ),
            default_value=UNK_ID,
        )

    @classmethod
    def from_texts(
        cls, texts: Iterable[str], max_size: int = 8000, min_frequency: int = 1, lowercase: bool = True
    ) -> Self:
        """Learn a vocabulary from an iterable of strings (see `learn_vocabulary`)."""
        if not isinstance(max_size, int) or max_size <= len(RESERVED_TOKENS):
            raise ValueError(
                f"`max_size` must be an int above {len(RESERVED_TOKENS)}, received {max_size!r}."
            )
        if not isinstance(min_frequency, int) or min_frequency < 1:
            raise ValueError(f"`min_frequency` must be a positive int, received {min_frequency!r}.")
        texts = list(texts)
        if not texts:
            raise ValueError("A vocabulary needs at least one text to learn from.")
        learned = cls.learn_vocabulary(texts, max_size, min_frequency, check_bool("lowercase", lowercase))
        return cls(list(RESERVED_TOKENS) + learned, lowercase=lowercase)

    @classmethod
    def learn_vocabulary(
        cls, texts: list[str], max_size: int, min_frequency: int, lowercase: bool = True
    ) -> list[str]:
        """The non-reserved tokens for a vocabulary of `texts`.

        By default: the `max_size - 4` most frequent tokens of `split_text`
        seen at least `min_frequency` times, ties broken alphabetically, so
        the same texts always give the same vocabulary.
        """
        counts = count_tokens(lambda batch: cls.split_text(batch, lowercase), texts)
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        tokens = [t for t, n in ranked if n >= min_frequency]
        return tokens[: max_size - len(RESERVED_TOKENS)]

    def split(self, texts: tf.Tensor) -> tf.RaggedTensor:
        """Tokens of `tf.string` texts `(batch,)` as a ragged string tensor."""
        return self.split_text(texts, self.lowercase)

    @staticmethod
    def split_text(texts: tf.Tensor, lowercase: bool = True) -> tf.RaggedTensor:
        """Tokens of `tf.string` texts `(batch,)`, standardized with `lowercase`: a ragged string tensor."""
        raise NotImplementedError

    # How tokens join back into text: `separator` between them, then `finish_join`.
    separator = " "

    @staticmethod
    def finish_join(texts: tf.Tensor) -> tf.Tensor:
        """Texts `(batch,)` from their tokens joined with `separator`."""
        raise NotImplementedError

    def join(self, tokens: tf.RaggedTensor) -> tf.Tensor:
        """Texts `(batch,)` from a ragged string tensor of tokens."""
        return self.finish_join(tf.strings.reduce_join(tokens, axis=-1, separator=self.separator))

    @property
    def vocabulary_size(self):
        return len(self.vocabulary)

    def tokens_to_ids(self, tokens: tf.RaggedTensor) -> tf.RaggedTensor:
        """Ids of ragged string tokens; unknown tokens get `UNK_ID`."""
        return tf.ragged.map_flat_values(self._token_to_id.lookup, tokens)

    def tokenize(self, texts: tf.Tensor | Sequence[str]) -> tf.RaggedTensor:
        """Ids of `texts` `(batch,)` as an int32 `tf.RaggedTensor` `(batch, None)`; unknown tokens get `UNK_ID`."""
        return tf.cast(self.tokens_to_ids(self.split(texts)), tf.int32)

    def id_to_token(self, ids: Tensor) -> tf.Tensor:
        """Token strings for an int tensor of ids (any shape)."""
        return tf.gather(self._vocabulary_tensor, tf.cast(ids, tf.int32))

    def detokenize(self, ids: tf.Tensor | tf.RaggedTensor, tokens: tf.Tensor | None = None) -> tf.Tensor:
        """Texts `(batch,)` from ids `(batch, T)`, dense or ragged.

        Reading stops at the first `END_ID`; padding and `START_ID` are
        dropped, unknown tokens read `[UNK]`. `tokens`, strings of the
        dense ids' shape, are written in place of the ids' own tokens (as
        unknown-word replacement gives them); the ids still say where the
        text ends.
        """
        if isinstance(ids, tf.RaggedTensor):
            ids = ids.to_tensor(default_value=PAD_ID)
        ids = tf.cast(ids, tf.int32)
        ended = tf.cumsum(tf.cast(tf.equal(ids, END_ID), tf.int32), axis=-1) > 0
        keep = tf.logical_not(ended) & tf.not_equal(ids, PAD_ID) & tf.not_equal(ids, START_ID)
        # The kept places' tokens joined by row: `join` of `tf.ragged.boolean_mask`
        # in 32 ops to trace rather than 137, and no slower to run.
        places = tf.where(keep)
        tokens = (
            self.id_to_token(tf.gather_nd(ids, places)) if tokens is None else tf.gather_nd(tokens, places)
        )
        rows = tf.shape(ids, tf.int64)[0]
        return self.finish_join(
            tf.strings.unsorted_segment_join(tokens, places[:, 0], rows, separator=self.separator)
        )

    def save_vocabulary(self, path: PathLike) -> None:
        """Write one token per line, UTF-8, in id order; atomically, so an earlier file is never half-replaced."""
        with atomic_file(path) as staging, open(staging, "w", encoding="utf-8", newline="\n") as f:
            f.write("\n".join(self.vocabulary) + "\n")

    @classmethod
    def load_vocabulary(cls, path: PathLike, lowercase: bool = True) -> Self:
        """Read a vocabulary written by `save_vocabulary`; errors name the file and line.

        The file holds the tokens only: `lowercase` is the setting the
        vocabulary was learned with (a preset keeps it in `config.json`).
        """
        try:
            with open(path, encoding="utf-8", newline="\n") as f:
                lines = f.read().split("\n")
        except FileNotFoundError:
            raise FileNotFoundError(f"Vocabulary file not found: {path}") from None
        except UnicodeDecodeError as e:
            raise ValueError(f"{path}: not valid UTF-8 ({e.reason} at byte {e.start}).") from None
        if lines and lines[-1] == "":
            lines.pop()
        for number, line in enumerate(lines, start=1):
            if not line or line != line.strip():
                raise ValueError(f"{path}, line {number}: empty token or stray whitespace {line!r}.")
        try:
            return cls(lines, lowercase=lowercase)
        except ValueError as e:
            raise ValueError(f"{path}: {e}") from None


def count_tokens(split, texts, batch_size=4096):
    """`collections.Counter` of the tokens `split` makes of `texts`, reserved tokens left out."""
    counts = collections.Counter()
    for start in range(0, len(texts), batch_size):
        tokens = split(tf.constant(texts[start : start + batch_size], dtype=tf.string))
        counts.update(tokens.flat_values.numpy().tolist())
    for token in RESERVED_TOKENS:
        counts.pop(token.encode(), None)
    return {token.decode("utf-8"): n for token, n in counts.items()}
