import numpy as np
import pytest
import tensorflow as tf

from zoo.tokenizer import END_ID, PAD_ID, RESERVED_TOKENS, START_ID, UNK_ID
from zoo.word_tokenizer import WordTokenizer

TEXTS = ["¿Todavía está en casa?", "It is 2021-03-04.", 'He\'s "lying"... ok!', "Straße  5"]


def test_round_trip_restores_standardized_text():
    tokenizer = WordTokenizer.from_texts(TEXTS)
    ids = tokenizer.tokenize(tf.constant(TEXTS))
    expected = ["¿todavía está en casa?", "it is 2021-03-04.", 'he\'s "lying"... ok!', "straße 5"]
    assert [t.decode() for t in tokenizer.detokenize(ids).numpy()] == expected


def test_punctuation_is_split_and_reserved_ids_are_fixed():
    tokenizer = WordTokenizer.from_texts(["a, b"])
    assert tokenizer.vocabulary[:4] == RESERVED_TOKENS
    assert (PAD_ID, UNK_ID, START_ID, END_ID) == (0, 1, 2, 3)
    assert len(tokenizer.tokenize(tf.constant(["a, b"]))[0]) == 3


def test_unknown_words_map_to_unk():
    tokenizer = WordTokenizer.from_texts(["the cat"])
    ids = tokenizer.tokenize(tf.constant(["the zebra"])).to_list()
    assert ids[0][1] == UNK_ID
    assert tokenizer.detokenize(tf.ragged.constant(ids)).numpy()[0] == b"the [UNK]"


def test_detokenize_stops_at_end_and_drops_padding():
    tokenizer = WordTokenizer.from_texts(["a b c"])
    a, b, c = (tokenizer.vocabulary.index(w) for w in "abc")
    ids = np.array([[START_ID, a, b, END_ID, c, PAD_ID], [c, PAD_ID, PAD_ID, PAD_ID, PAD_ID, PAD_ID]])
    assert tokenizer.detokenize(ids).numpy().tolist() == [b"a b", b"c"]


def test_vocabulary_is_deterministic_and_limited():
    texts = ["b b b a a c", "d"]
    tokenizer = WordTokenizer.from_texts(texts, max_size=6)
    assert tokenizer.vocabulary[4:] == ("b", "a")
    assert WordTokenizer.from_texts(texts, min_frequency=2).vocabulary[4:] == ("b", "a")
    assert WordTokenizer.from_texts(texts).vocabulary == WordTokenizer.from_texts(list(texts)).vocabulary


def test_vocabulary_file_round_trip(tmp_path):
    tokenizer = WordTokenizer.from_texts(TEXTS)
    path = tmp_path / "vocabulary.txt"
    tokenizer.save_vocabulary(path)
    assert WordTokenizer.load_vocabulary(path).vocabulary == tokenizer.vocabulary


def test_bad_vocabularies(tmp_path):
    with pytest.raises(ValueError, match="must start with the reserved tokens"):
        WordTokenizer(["a", "b"])
    with pytest.raises(ValueError, match="duplicate"):
        WordTokenizer([*RESERVED_TOKENS, "a", "a"])
    path = tmp_path / "vocabulary.txt"
    path.write_text("[PAD]\n[UNK]\n\n[END]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 3"):
        WordTokenizer.load_vocabulary(path)
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        WordTokenizer.load_vocabulary(tmp_path / "missing.txt")
