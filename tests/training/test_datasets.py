import datetime

import numpy as np
import pytest

import zoo
from tests.conftest import TINY
from training import TextPairs, dates, load_tsv
from training.pipeline import make_dataset


def test_load_tsv_columns(tmp_path):
    path = tmp_path / "spa.txt"
    path.write_text("Hello.\tHola.\tCC-BY\n\nGo.\tVe.\tCC-BY\n", encoding="utf-8")
    pairs = load_tsv(path, source=1, target=0)
    assert pairs.sources == ("Hola.", "Ve.") and pairs.targets == ("Hello.", "Go.")


def test_load_tsv_bad_input(tmp_path):
    empty = tmp_path / "empty.tsv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(ValueError, match="empty.tsv: no text pairs"):
        load_tsv(empty)
    ragged = tmp_path / "ragged.tsv"
    ragged.write_text("a\tb\nc\n", encoding="utf-8")
    with pytest.raises(ValueError, match="ragged.tsv, line 2: the line has 1 column"):
        load_tsv(ragged)
    with pytest.warns(UserWarning, match="skipped 1 malformed"):
        assert load_tsv(ragged, errors="skip").sources == ("a",)
    blank_side = tmp_path / "blank.tsv"
    blank_side.write_text("a\t \n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 1: the line has an empty target"):
        load_tsv(blank_side)
    latin1 = tmp_path / "latin1.tsv"
    latin1.write_bytes("a\tb\nñ\tc\n".encode("latin-1"))
    with pytest.raises(ValueError, match="line 2: not valid UTF-8"):
        load_tsv(latin1)
    with pytest.raises(FileNotFoundError, match="missing.tsv"):
        load_tsv(tmp_path / "missing.tsv")
    with pytest.raises(ValueError, match="two different column"):
        load_tsv(ragged, source=0, target=0)


def test_text_pairs_validate():
    with pytest.raises(ValueError, match="2 source sentences but 1 target"):
        TextPairs(["a", "b"], ["x"])
    with pytest.raises(TypeError, match="Target sentence 0 is a NoneType"):
        TextPairs(["a"], [None])


def test_split_is_reproducible_and_keeps_sources_together():
    pairs = TextPairs(["a", "a", "b", "c", "d", "e", "e", "f"] * 3, [str(i) for i in range(24)])
    first, second = pairs.split(0.5, seed=3)
    assert len(first) + len(second) == len(pairs)
    assert not set(first.sources) & set(second.sources)
    again, _ = pairs.split(0.5, seed=3)
    assert again == first
    with pytest.raises(ValueError, match="fraction"):
        pairs.split(1.0)


def test_dates_corpus_is_deterministic_and_correct():
    pairs = dates(500, seed=7)
    assert pairs == dates(500, seed=7)
    assert pairs != dates(500, seed=8)
    for target in pairs.targets:
        datetime.date.fromisoformat(target)
    assert len(set(pairs.sources)) > 400


def test_bucketing_keeps_every_pair_once_and_pads_little(toy_pairs):
    pairs = dates(300, seed=1)
    model = zoo.load("gru_luong_small", train_data=pairs, **TINY)
    sources, targets = model.preprocessor.tokenize(np.array(pairs.sources), np.array(pairs.targets))
    expected = sorted(tuple(row) for row in sources.to_list())
    seen = []
    for x, y, weights in make_dataset(pairs, model.preprocessor, batch_size=16, shuffle=False):
        ids = x["encoder_token_ids"].numpy()
        seen += [tuple(int(i) for i in row if i != 0) for row in ids]
        assert weights.numpy().sum() == (y.numpy() != 0).sum()
    assert sorted(seen) == expected
    shuffled = list(make_dataset(pairs, model.preprocessor, batch_size=16, shuffle=True))
    assert len(shuffled) == -(-300 // 16)  # an epoch knows its length


def test_numbers_corpus():
    from training.corpora import number_to_words, numbers

    assert number_to_words(0) == "zero"
    assert number_to_words(4021) == "four thousand twenty-one"
    assert number_to_words(1_000_001) == "one million one"
    assert number_to_words(110) == "one hundred ten"
    pairs = numbers(200, seed=4, max_digits=7)
    assert pairs == numbers(200, seed=4, max_digits=7) and pairs != numbers(200, seed=5, max_digits=7)
    for source, target in zip(pairs.sources, pairs.targets):
        assert number_to_words(int(source.replace(" ", ""))) == target
        assert all(len(group) <= 3 for group in source.split())
    assert max(len(s.replace(" ", "")) for s in pairs.sources) == 7
    with pytest.raises(ValueError, match="max_digits"):
        numbers(10, max_digits=13)


def test_copy_and_reverse_corpora():
    from training.corpora import copy, load_corpus, reverse

    copied = copy(300, seed=1, min_length=5, max_length=60, num_symbols=10)
    assert copied.sources == copied.targets
    lengths = [len(s.split()) for s in copied.sources]
    assert min(lengths) >= 5 and max(lengths) <= 60 and max(lengths) > 50
    assert len({w for s in copied.sources for w in s.split()}) == 10
    reversed_pairs = reverse(50, seed=1)
    assert all(t.split() == s.split()[::-1] for s, t in zip(reversed_pairs.sources, reversed_pairs.targets))
    assert load_corpus("reverse", num_pairs=50, seed=1) == reversed_pairs
    assert load_corpus("copy", num_pairs=20, max_length=3).sources[0].count(" ") <= 2
    with pytest.raises(ValueError, match="min_length <= max_length"):
        copy(10, min_length=4, max_length=2)
    with pytest.raises(ValueError, match="Unknown corpus: 'dates2'.*'numbers', 'copy', 'reverse'"):
        load_corpus("dates2")
