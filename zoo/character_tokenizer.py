"""Character-level tokenizer that runs inside the TensorFlow graph."""

import tensorflow as tf

from zoo.tokenizer import Tokenizer, standardize

# Spaces become this visible token (as in SentencePiece), because vocabulary
# files hold one token per line and no token may be whitespace.
SPACE = "\u2581"


class CharacterTokenizer(Tokenizer):
    """One token per Unicode character of the standardized text.

    For inputs where words are not the unit: digit strings, codes, symbol
    sequences, or languages without spaces. Text is NFKC-normalized,
    lowercased (unless `lowercase=False`) and its whitespace collapsed;
    each space becomes the token `▁`. Characters outside the vocabulary map
    to `[UNK]`.

    Args:
        vocabulary: list of tokens. The first four must be
            `RESERVED_TOKENS`; ids follow list order.
        lowercase: bool, whether text is lowercased (the default) or keeps
            its case.

    Example:

    >>> tokenizer = CharacterTokenizer.from_texts(["1 234", "56"])
    >>> tokenizer.detokenize(tokenizer.tokenize(["65 4"]))
    <tf.Tensor: ... numpy=array([b'65 4'], dtype=object)>
    """

    @staticmethod
    def split_text(texts: tf.Tensor, lowercase: bool = True) -> tf.RaggedTensor:
        """Characters of the standardized `tf.string` texts `(batch,)`: ragged strings."""
        texts = tf.strings.regex_replace(standardize(texts, lowercase), " ", SPACE)
        return tf.strings.unicode_split(texts, "UTF-8")

    separator = ""

    @staticmethod
    def finish_join(texts: tf.Tensor) -> tf.Tensor:
        return tf.strings.regex_replace(texts, SPACE, " ")
