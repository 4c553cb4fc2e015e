"""The tokenizer table: the one place a tokenizer name becomes a class."""

from zoo.character_tokenizer import CharacterTokenizer
from zoo.tokenizer import RESERVED_TOKENS
from zoo.word_tokenizer import WordTokenizer
from zoo.wordpiece_tokenizer import WordPieceTokenizer

TOKENIZERS = {"word": WordTokenizer, "wordpiece": WordPieceTokenizer, "character": CharacterTokenizer}


def get_tokenizer_class(name):
    """The tokenizer class for `name`; `ValueError` listing the valid names otherwise."""
    if name not in TOKENIZERS:
        raise ValueError(f"Unknown tokenizer {name!r}. Expected one of {', '.join(TOKENIZERS)}.")
    return TOKENIZERS[name]


def tokenizer_name(tokenizer):
    """The table name of a tokenizer instance (the inverse of `get_tokenizer_class`)."""
    for name, cls in TOKENIZERS.items():
        if type(tokenizer) is cls:
            return name
    raise ValueError(
        f"{type(tokenizer).__name__} is not a zoo tokenizer; expected one of {list(TOKENIZERS)}."
    )


def learn_tokenizers(
    sources,
    targets,
    tokenizer="word",
    shared_vocabulary=False,
    max_size=8000,
    min_frequency=1,
    lowercase=True,
):
    """`(source_tokenizer, target_tokenizer)` learned from the training texts.

    With `shared_vocabulary`, one vocabulary is learned from both sides and
    the same tokenizer serves both (useful when source and target share a
    script, and needed to tie embeddings); otherwise each side gets its own,
    of up to `max_size` tokens. `lowercase=False` keeps the case of both
    sides (see `zoo.Tokenizer`).
    """
    cls = get_tokenizer_class(tokenizer)

    def learn(texts, side):
        learned = cls.from_texts(texts, max_size=max_size, min_frequency=min_frequency, lowercase=lowercase)
        if learned.vocabulary_size == len(RESERVED_TOKENS):
            # Every sentence maps to [UNK]: a model of it can learn nothing.
            reason = (
                "every sentence is empty. Check the columns or files it was read from."
                if min_frequency == 1
                else f"no token occurs {min_frequency} times (min_frequency). Lower `min_frequency`, "
                "or check the columns or files it was read from."
            )
            raise ValueError(
                f"The {side} side of the training data gives no tokens to learn a vocabulary from: {reason}"
            )
        return learned

    if shared_vocabulary:
        shared = learn(list(sources) + list(targets), "source and target")
        return shared, shared
    return learn(sources, "source"), learn(targets, "target")
