"""Word-level tokenizer that runs inside the TensorFlow graph."""

import collections

import numpy as np
import tensorflow as tf
import tensorflow_text as tf_text

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


def standardize(texts):
    """NFKC, lowercase, joiner marks stripped, whitespace collapsed: `tf.string` in and out."""
    texts = tf_text.normalize_utf8(texts, "NFKC")
    texts = tf.strings.lower(texts, encoding="utf-8")
    texts = tf.strings.regex_replace(texts, f"[{JOINER}{_SEP}]", "")
    texts = tf.strings.regex_replace(texts, r"\s+", " ")
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


class WordTokenizer(tf.Module):
    """Standardize, split into words and punctuation, map to ids; and back.

    Everything runs as TensorFlow ops (tensorflow-text's `normalize_utf8` and
    `WhitespaceTokenizer`, a static hash table), so the tokenizer works in
    `tf.data`, in a compiled decode loop and inside an exported SavedModel.

    Args:
        vocabulary: list of tokens. The first four must be
            `RESERVED_TOKENS`; ids follow list order.

    Example:

    >>> tokenizer = WordTokenizer.from_texts(["Hello, world!"])
    >>> ids = tokenizer.tokenize(["hello world"])        # tf.RaggedTensor
    >>> tokenizer.detokenize(ids)
    <tf.Tensor: ... numpy=array([b'hello world'], dtype=object)>
    """

    def __init__(self, vocabulary, name=None):
        super().__init__(name=name)
        vocabulary = list(vocabulary)
        if tuple(vocabulary[:4]) != RESERVED_TOKENS:
            raise ValueError(
                f"A vocabulary must start with the reserved tokens {list(RESERVED_TOKENS)}; "
                f"received {vocabulary[:4]}."
            )
        duplicates = [t for t, n in collections.Counter(vocabulary).items() if n > 1]
        if duplicates:
            raise ValueError(f"The vocabulary has duplicate tokens: {duplicates[:10]}.")
        if any(not t or t != t.strip() or " " in t for t in vocabulary):
            bad = [t for t in vocabulary if not t or t != t.strip() or " " in t]
            raise ValueError(f"Vocabulary tokens cannot be empty or hold whitespace: {bad[:10]!r}.")
        self.vocabulary = tuple(vocabulary)
        self._whitespace = tf_text.WhitespaceTokenizer()
        self._vocabulary_tensor = tf.constant(vocabulary, dtype=tf.string)
        self._token_to_id = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                self._vocabulary_tensor, tf.range(len(vocabulary), dtype=tf.int64)
            ),
            default_value=UNK_ID,
        )

    @classmethod
    def from_texts(cls, texts, max_size=8000, min_frequency=1, batch_size=4096):
        """Learn a vocabulary from an iterable of strings.

        The `max_size` (reserved tokens included) most frequent tokens seen at
        least `min_frequency` times are kept; ties are broken alphabetically,
        so the same texts always give the same vocabulary.
        """
        if max_size <= len(RESERVED_TOKENS):
            raise ValueError(f"`max_size` must exceed {len(RESERVED_TOKENS)}, received {max_size}.")
        counts = collections.Counter()
        texts = list(texts)
        for start in range(0, len(texts), batch_size):
            tokens = cls.split(tf.constant(texts[start : start + batch_size], dtype=tf.string))
            counts.update(tokens.flat_values.numpy().tolist())
        for token in RESERVED_TOKENS:
            counts.pop(token.encode(), None)
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        words = [t.decode("utf-8") for t, n in ranked if n >= min_frequency]
        return cls(list(RESERVED_TOKENS) + words[: max_size - len(RESERVED_TOKENS)])

    @staticmethod
    def split(texts):
        """Standardized tokens of `tf.string` texts `(batch,)`: `tf.RaggedTensor` of strings."""
        return tf_text.WhitespaceTokenizer().tokenize(split_punctuation(standardize(texts)))

    @property
    def vocabulary_size(self):
        return len(self.vocabulary)

    def tokenize(self, texts):
        """Ids of `texts` `(batch,)` as an int32 `tf.RaggedTensor`; unknown words get `UNK_ID`."""
        tokens = self._whitespace.tokenize(split_punctuation(standardize(texts)))
        return tf.cast(tf.ragged.map_flat_values(self._token_to_id.lookup, tokens), tf.int32)

    def id_to_token(self, ids):
        """Token strings for an int tensor of ids (any shape)."""
        return tf.gather(self._vocabulary_tensor, tf.cast(ids, tf.int32))

    def detokenize(self, ids):
        """Texts `(batch,)` from ids `(batch, T)`, dense or ragged.

        Reading stops at the first `END_ID`; padding and `START_ID` are
        dropped, unknown words read `[UNK]`; joiner marks are resolved.
        """
        if isinstance(ids, tf.RaggedTensor):
            ids = ids.to_tensor(default_value=PAD_ID)
        ids = tf.cast(ids, tf.int32)
        ended = tf.cumsum(tf.cast(tf.equal(ids, END_ID), tf.int32), axis=-1) > 0
        keep = tf.logical_not(ended) & tf.not_equal(ids, PAD_ID) & tf.not_equal(ids, START_ID)
        tokens = tf.ragged.boolean_mask(self.id_to_token(ids), keep)
        texts = tf.strings.reduce_join(tokens, axis=-1, separator=" ")
        texts = tf.strings.regex_replace(texts, f" ?{JOINER} ?", "")
        return texts

    def get_config(self):
        return {"vocabulary_size": self.vocabulary_size}

    def save_vocabulary(self, path):
        """Write one token per line, UTF-8, in id order."""
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write("\n".join(self.vocabulary) + "\n")

    @classmethod
    def load_vocabulary(cls, path):
        """Read a vocabulary written by `save_vocabulary`; errors name the file and line."""
        try:
            with open(path, encoding="utf-8") as f:
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
            return cls(lines)
        except ValueError as e:
            raise ValueError(f"{path}: {e}") from None


def tokens_of(tokenizer, ids):
    """Python token lists for a dense `(batch, T)` id array, without padding."""
    vocab = np.asarray(tokenizer.vocabulary, dtype=object)
    return [[vocab[i] for i in row if i != PAD_ID] for row in np.asarray(ids)]
