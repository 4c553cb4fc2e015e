import datetime

import numpy as np
import pytest
import tensorflow as tf

import zoo
from tests.conftest import TINY
from training import TextPairs, dates, load_tsv
from training.datasets import copy
from training.pipeline import batches_per_epoch, describe_batches, make_dataset


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


def test_text_pairs_add_up_in_order():
    a, b = TextPairs(["a", "b"], ["x", "y"]), TextPairs(["c"], ["z"])
    assert a + b == TextPairs(["a", "b", "c"], ["x", "y", "z"])
    assert sum([a, b], TextPairs([], [])) == a + b
    with pytest.raises(TypeError, match="unsupported operand"):
        a + (["c"], ["z"])


def test_split_is_reproducible_and_keeps_sources_together():
    pairs = TextPairs(["a", "a", "b", "c", "d", "e", "e", "f"] * 3, [str(i) for i in range(24)])
    first, second = pairs.split(0.5, seed=3)
    assert len(first) + len(second) == len(pairs)
    assert not set(first.sources) & set(second.sources)
    again, _ = pairs.split(0.5, seed=3)
    assert again == first
    with pytest.raises(ValueError, match="fraction"):
        pairs.split(1.0)
    # Six distinct sources: 0.95 of them rounds to all six.
    with pytest.raises(
        ValueError, match=r"`split\(0.95\)` of 6 distinct source sentence\(s\) leaves one part"
    ):
        pairs.split(0.95)


def test_dates_corpus_is_deterministic_and_correct():
    pairs = dates(500, seed=7)
    assert pairs == dates(500, seed=7)
    assert pairs != dates(500, seed=8)
    for target in pairs.targets:
        datetime.date.fromisoformat(target)
    assert len(set(pairs.sources)) > 400


def _source_rows(batches):
    return [
        tuple(int(i) for i in row if i != 0) for x, _, _ in batches for row in x["encoder_token_ids"].numpy()
    ]


def test_bucketing_keeps_every_pair_once_and_pads_little():
    pairs = copy(300, seed=1, min_length=1, max_length=30)
    model = zoo.load("gru_luong_small", train_data=pairs, **TINY)
    sources, _ = model.preprocessor.tokenize(np.array(pairs.sources), np.array(pairs.targets))
    expected = sorted(tuple(row) for row in sources.to_list())
    batches = list(make_dataset(pairs, model.preprocessor, batch_size=16, shuffle=False))
    for _, y, weights in batches:
        assert weights.numpy().sum() == (y.numpy() != 0).sum()
    assert sorted(_source_rows(batches)) == expected
    per_epoch = batches_per_epoch(pairs, model.preprocessor, batch_size=16)
    assert len(batches) == per_epoch
    # The training stream: every epoch holds every pair exactly once, in a new order.
    stream = make_dataset(pairs, model.preprocessor, batch_size=16, shuffle=True, seed=3)
    iterator = iter(stream)
    first = [next(iterator) for _ in range(per_epoch)]
    second = [next(iterator) for _ in range(per_epoch)]
    assert sorted(_source_rows(first)) == expected and sorted(_source_rows(second)) == expected
    assert _source_rows(first) != _source_rows(second)
    report = describe_batches(pairs, model.preprocessor, batch_size=16, seed=3)
    assert report.batches_per_epoch == per_epoch
    real = sum(float(w.numpy().sum()) for _, _, w in first)
    positions = sum(w.numpy().size for _, _, w in first)
    assert report.target_padding == pytest.approx(1 - real / positions)
    ids = [x["encoder_token_ids"].numpy() for x, _, _ in first]
    real = sum(int((i != 0).sum()) for i in ids)
    assert report.source_padding == pytest.approx(1 - real / sum(i.size for i in ids))
    # Buckets key on both lengths, so neither side is left with much padding.
    assert report.source_padding < report.source_padding_unbucketed / 2
    assert report.target_padding < report.target_padding_unbucketed / 2


def test_stream_starts_at_a_given_step_and_repeats_for_a_seed():
    pairs = dates(100, seed=2)
    model = zoo.load("gru_luong_small", train_data=pairs, **TINY)
    per_epoch = batches_per_epoch(pairs, model.preprocessor, batch_size=8)
    whole = list(make_dataset(pairs, model.preprocessor, batch_size=8, seed=5).take(2 * per_epoch + 3))
    again = list(make_dataset(pairs, model.preprocessor, batch_size=8, seed=5).take(2 * per_epoch + 3))
    assert _source_rows(whole) == _source_rows(again)
    step = tf.Variable(per_epoch + 2, dtype=tf.int64)  # read when the first batch is made
    resumed = make_dataset(pairs, model.preprocessor, batch_size=8, seed=5, start_step=step)
    step.assign(per_epoch + 5)
    tail = list(resumed.take(len(whole) - per_epoch - 5))
    assert _source_rows(tail) == _source_rows(whole[per_epoch + 5 :])


def test_fit_trains_on_the_batch_at_the_optimizers_step():
    pairs = dates(100, seed=2)
    model = zoo.load("gru_luong_small", train_data=pairs, **TINY)
    model.fit(pairs, epochs=1, steps_per_epoch=1, batch_size=8, seed=0, verbose=0)  # builds the optimizer
    state = [v.numpy() for v in model.variables + model.optimizer.variables]

    def one_step(step, batch=None):
        for variable, value in zip(model.variables + model.optimizer.variables, state):
            variable.assign(value)
        model.optimizer.iterations.assign(step)
        if batch is None:
            model.fit(pairs, epochs=1, steps_per_epoch=1, batch_size=8, seed=0, verbose=0)
        else:
            model.train_on_batch(*batch)
        return model.get_weights()

    per_epoch = batches_per_epoch(pairs, model.preprocessor, batch_size=8)
    stream = list(make_dataset(pairs, model.preprocessor, batch_size=8, seed=0).take(per_epoch + 4))
    # Each fit makes a new stream, which reads the step on its first batch:
    # before the step waited for its batch, its own increment mostly came
    # first, and the stream started one batch late.
    for step in (0, 3, per_epoch + 2):
        fitted = one_step(step)
        on_its_batch = one_step(step, stream[step])
        on_the_next = one_step(step, stream[step + 1])
        np.testing.assert_allclose(
            np.concatenate([w.ravel() for w in fitted]),
            np.concatenate([w.ravel() for w in on_its_batch]),
            atol=1e-6,
        )
        assert max(np.abs(a - b).max() for a, b in zip(fitted, on_the_next)) > 1e-4


def test_truncation_is_counted():
    pairs = TextPairs(["a b c d e", "a b", "a b c"], ["x y z", "x", "x y z w"])
    model = zoo.load("gru_luong_small", train_data=pairs, max_source_length=2, max_target_length=3, **TINY)
    report = describe_batches(pairs, model.preprocessor, batch_size=2)
    assert (report.truncated_sources, report.truncated_targets) == (2, 1)
    assert "truncated: 2 sources, 1 targets" in report.summary()


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
    # Options are the generator's own, by name, as ints: messages, not TypeError deep in a run.
    with pytest.raises(
        ValueError, match="Unknown option 'max_len' for corpus 'copy'. Expected one of max_length"
    ):
        load_corpus("copy", num_pairs=20, max_len=3)
    with pytest.raises(
        ValueError,
        match="Option 'max_digits' of corpus 'numbers' must be an int, received '9' \\(its default is 9\\)",
    ):
        load_corpus("numbers", num_pairs=20, max_digits="9")
    with pytest.raises(ValueError, match="Unknown option 'max_length' for corpus 'dates'. Expected one of"):
        load_corpus("dates", num_pairs=20, max_length=3)


@pytest.mark.parametrize("batch_size", [1, 5, 16])
def test_an_epoch_is_the_bucketing_replayed_pair_by_pair(batch_size):
    # `make_dataset` batches a whole epoch at once (`bucketed_batches`);
    # `epoch_batches` replays the rule one pair at a time in NumPy. They must
    # give the same batches, of the same pairs, in the same order.
    from training.pipeline import _tokenize, epoch_batches

    pairs = copy(300, seed=1, min_length=1, max_length=30)
    model = zoo.load("gru_luong_small", train_data=pairs, **TINY)
    _, _, replayed = epoch_batches(pairs, model.preprocessor, batch_size=batch_size, seed=3)
    order = tf.random.experimental.stateless_shuffle(
        tf.range(len(pairs), dtype=tf.int64), seed=tf.constant([3, 0], tf.int64)
    ).numpy()
    sources = _tokenize(pairs, model.preprocessor).sources[order]
    stream = make_dataset(pairs, model.preprocessor, batch_size=batch_size, shuffle=True, seed=3)
    batches = list(stream.take(len(replayed)))
    assert any(len(b) == batch_size for b in replayed)
    assert batch_size == 1 or any(len(b) < batch_size for b in replayed)  # buckets end in partial batches
    for (x, _, _), members in zip(batches, replayed):
        ids = x["encoder_token_ids"].numpy()
        expected = sources[members]
        np.testing.assert_array_equal(ids, expected[:, : ids.shape[1]])
        assert not expected[:, ids.shape[1] :].any()  # only padding was cut
        assert (ids[:, -1] != 0).any()  # as wide as its longest source


def test_unknown_shares_count_the_real_tokens_read_as_unk(toy_pairs):
    import zoo
    from tests.conftest import TINY
    from training.pipeline import unknown_shares

    sources, targets = toy_pairs
    model = zoo.load("gru_luong", train_data=toy_pairs, **TINY)
    assert unknown_shares(TextPairs(sources, targets), model.preprocessor) == (0.0, 0.0)
    # Source: 2 of 4 words unknown; target: 1 of 2 ([START] and [END] are not counted).
    mixed = TextPairs(
        [f"{sources[0].split()[0]} zzz qqq {sources[1].split()[0]}"], [f"{targets[0].split()[0]} zzz"]
    )
    source_share, target_share = unknown_shares(mixed, model.preprocessor)
    assert source_share == 0.5 and target_share == 0.5
    assert unknown_shares(TextPairs(["zzz qqq"], ["zzz"]), model.preprocessor) == (1.0, 1.0)
