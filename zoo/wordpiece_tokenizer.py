"""WordPiece subword tokenizer that runs inside the TensorFlow graph."""

from collections.abc import Sequence

import tensorflow as tf
import tensorflow_text as tf_text
from tensorflow_text.tools.wordpiece_vocab import wordpiece_tokenizer_learner_lib

from zoo.tokenizer import RESERVED_TOKENS, UNK, Tokenizer, count_tokens, resolve_joiners, split_words

SUFFIX = "##"  # marks a piece that continues a word


class WordPieceTokenizer(Tokenizer):
    """Words and punctuation as `WordTokenizer` splits them, then WordPiece subwords.

    A rare word becomes known pieces ("sleeping" -> "sleep", "##ing")
    instead of `[UNK]`; a word with a character the vocabulary lacks maps
    to `[UNK]`. Tokenizing uses tensorflow-text's `FastWordpieceTokenizer`
    (linear-time longest match), and vocabularies are learned with
    tensorflow-text's WordPiece vocabulary learner, the tool behind BERT's
    vocabularies.

    Args:
        vocabulary: list of tokens. The first four must be
            `RESERVED_TOKENS`; pieces that continue a word start with `##`.
        lowercase: bool, whether text is lowercased (the default) or keeps
            its case.

    Example:

    >>> tokenizer = WordPieceTokenizer.from_texts(texts, max_size=4000)
    >>> tokenizer.detokenize(tokenizer.tokenize(["Sleeping cats."]))
    <tf.Tensor: ... numpy=array([b'sleeping cats.'], dtype=object)>
    """

    def __init__(self, vocabulary: Sequence[str], lowercase: bool = True, name: str | None = None):
        super().__init__(vocabulary, lowercase=lowercase, name=name)
        self._wordpiece = tf_text.FastWordpieceTokenizer(
            list(self.vocabulary),
            suffix_indicator=SUFFIX,
            token_out_type=tf.int64,
            unknown_token=UNK,
            no_pretokenization=True,
        )

    @classmethod
    def learn_vocabulary(
        cls, texts: list[str], max_size: int, min_frequency: int, lowercase: bool = True
    ) -> list[str]:
        """About `max_size` tokens (the learner searches for a count threshold that gives that size).

        Pieces seen fewer than `min_frequency` times are left out; every
        character of the texts stays, so that few words become `[UNK]`.
        """
        counts = count_tokens(lambda batch: split_words(batch, lowercase), texts)
        if not counts:
            return []  # the learner's threshold search fails on no words at all
        vocabulary = wordpiece_tokenizer_learner_lib.learn(
            sorted(counts.items()),
            vocab_size=max_size,
            reserved_tokens=list(RESERVED_TOKENS),
            lower_thresh=min_frequency,
            joiner=SUFFIX,
        )
        return [token for token in vocabulary if token not in RESERVED_TOKENS]

    @staticmethod
    def split_text(texts: tf.Tensor, lowercase: bool = True) -> tf.RaggedTensor:
        """The words of `texts` `(batch,)` before WordPiece (see `WordTokenizer.split_text`)."""
        return split_words(texts, lowercase)

    def tokens_to_ids(self, tokens: tf.RaggedTensor) -> tf.RaggedTensor:
        pieces = self._wordpiece.tokenize(tokens)  # (batch, words, pieces)
        return pieces.merge_dims(1, 2)

    @staticmethod
    def finish_join(texts: tf.Tensor) -> tf.Tensor:
        return resolve_joiners(tf.strings.regex_replace(texts, f" {SUFFIX}", ""))
