"""Word-level tokenizer that runs inside the TensorFlow graph."""

import tensorflow as tf

from zoo.tokenizer import Tokenizer, resolve_joiners, split_words


class WordTokenizer(Tokenizer):
    """Standardize, split into words and punctuation, map to ids; and back.

    Text is NFKC-normalized and lowercased (unless `lowercase=False`); each punctuation mark becomes a
    token of its own, marked with a joiner where it touched a word, so
    detokenization restores "2021-03-04" and "¿qué?". Words outside the
    vocabulary map to `[UNK]`.

    Args:
        vocabulary: list of tokens. The first four must be
            `RESERVED_TOKENS`; ids follow list order.
        lowercase: bool, whether text is lowercased (the default) or keeps
            its case.

    Example:

    >>> tokenizer = WordTokenizer.from_texts(["Hello, world!"])
    >>> ids = tokenizer.tokenize(["hello world"])        # tf.RaggedTensor
    >>> tokenizer.detokenize(ids)
    <tf.Tensor: ... numpy=array([b'hello world'], dtype=object)>
    """

    @staticmethod
    def split_text(texts: tf.Tensor, lowercase: bool = True) -> tf.RaggedTensor:
        """Standardized words and punctuation of `tf.string` texts `(batch,)`: ragged strings."""
        return split_words(texts, lowercase)

    finish_join = staticmethod(resolve_joiners)
