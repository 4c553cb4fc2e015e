import numpy as np
import pytest

from tests.zoo.generation.toy_decoder import (
    RowCountingDecoder,
    SourceSharingDecoder,
    ToyDecoder,
    search,
    trim,
)
from zoo.generation import BeamSearch, GreedySearch
from zoo.tokenizer import END_ID


@pytest.mark.parametrize("length_penalty, coverage_penalty", [(0.0, 0.0), (0.6, 0.0), (1.0, 0.4)])
def test_wide_beam_finds_the_brute_force_n_best(length_penalty, coverage_penalty):
    # 100 beams hold every 3-token prefix of a 5-token vocabulary, so the
    # n-best must be exactly the best of every finished output, scored by
    # a NumPy reference of the penalties.
    decoder = ToyDecoder(batch_size=4, seed=1)
    strategy = BeamSearch(100, length_penalty, coverage_penalty, num_hypotheses=5)
    result = search(strategy, decoder, max_length=3)
    for row in range(4):
        expected = decoder.brute_force(row, 3, length_penalty, coverage_penalty)[:5]
        assert [trim(t) for t in result["tokens"][row]] == [tokens for _, tokens in expected]
        np.testing.assert_allclose(result["scores"][row], [score for score, _ in expected], rtol=1e-5)


def test_width_one_is_greedy():
    # Including the default length penalty: a single beam stops when its
    # hypothesis ends, as greedy does.
    decoder = ToyDecoder(batch_size=64, sharpness=1.0, seed=2)
    done = np.arange(64) % 9 == 0
    greedy = search(GreedySearch(), decoder, max_length=12, done=done)
    for strategy in (BeamSearch(1, length_penalty=0.0), BeamSearch(1)):
        beam = search(strategy, decoder, max_length=12, done=done)
        np.testing.assert_array_equal(beam["tokens"], greedy["tokens"])
        np.testing.assert_allclose(beam["attention"], greedy["attention"], atol=1e-6)
    np.testing.assert_allclose(
        search(BeamSearch(1, length_penalty=0.0), decoder, 12, done)["scores"],
        greedy["scores"],
        rtol=1e-6,
        atol=2e-6,  # greedy's log-probabilities come from the softmax, beam's from a log-softmax
    )


def test_wider_beams_never_score_worse_than_greedy():
    # On the model's own score (no penalties), over complete outputs: a
    # greedy output cut by max_length has no [END] yet, and beam search
    # rightly prefers finished hypotheses to it.
    decoder = ToyDecoder(batch_size=500, sharpness=1.5, seed=3)
    decoder.token_logits[:, :, END_ID] += 1.0
    greedy = search(GreedySearch(), decoder, max_length=10)
    complete = np.array([END_ID in tokens for tokens in greedy["tokens"][:, 0]])
    assert complete.sum() > 300
    for width in (2, 4, 8):
        beam = search(BeamSearch(width, length_penalty=0.0), decoder, max_length=10)["scores"][:, 0]
        worse = beam < greedy["scores"][:, 0] - 1e-5
        assert not np.any(worse & complete), np.flatnonzero(worse & complete)
        assert np.mean(beam > greedy["scores"][:, 0] + 1e-5) > 0.05  # and it does find better outputs


def test_finished_rows_and_early_stop():
    decoder = ToyDecoder(batch_size=3, seed=4)
    decoder.token_logits[:, :, END_ID] += 30.0  # every hypothesis ends at once
    result = search(BeamSearch(4, num_hypotheses=2), decoder, max_length=50, done=[False, True, False])
    assert result["tokens"].shape[-1] <= 2  # not 50 steps
    assert [trim(t) for t in result["tokens"][0]][0] == (END_ID,)
    assert (
        not result["tokens"][1].any() and not result["scores"][1].any() and not result["attention"][1].any()
    )


def test_unfinished_hypotheses_fill_the_n_best():
    decoder = ToyDecoder(batch_size=2, seed=5)
    decoder.token_logits[:, :, END_ID] -= 30.0  # nothing ends within 4 steps
    result = search(BeamSearch(3, num_hypotheses=3), decoder, max_length=4)
    assert result["tokens"].shape == (2, 3, 4)
    assert (result["tokens"] != END_ID).all() and (result["tokens"] != 0).all()
    assert np.all(np.diff(result["scores"], axis=1) <= 1e-6)  # best first


def test_attention_follows_the_chosen_hypothesis():
    decoder = ToyDecoder(batch_size=8, seed=6)
    result = search(BeamSearch(4, num_hypotheses=2), decoder, max_length=6)
    for row in range(8):
        for tokens, attention in zip(result["tokens"][row], result["attention"][row]):
            # Replay the hypothesis through the NumPy decoder.
            previous, state = 2, 0
            for step, token in enumerate(trim(tokens)):
                _, expected, state = decoder.step_numpy(row, previous, state)
                np.testing.assert_allclose(attention[step], expected, atol=1e-5)
                previous = token
    without = search(BeamSearch(4, num_hypotheses=2), decoder, max_length=6, return_attention=False)
    np.testing.assert_array_equal(without["tokens"], result["tokens"])
    assert not without["attention"].any()


def test_sentences_leave_the_batch_when_their_search_ends():
    k, max_length = 3, 12
    decoder = RowCountingDecoder(batch_size=16, sharpness=1.0, seed=7)
    decoder.token_logits[:, :, END_ID] += 1.0  # so searches end at many lengths
    done = np.arange(16) % 5 == 0
    strategy = BeamSearch(k, num_hypotheses=2)
    result = search(strategy, decoder, max_length, done=done)
    # Each sentence alone: its own result, and how many steps its search ran.
    alone = {i: search(strategy, decoder.row(i), max_length) for i in np.flatnonzero(~done)}
    steps = {i: r["tokens"].shape[-1] for i, r in alone.items()}
    assert len(set(steps.values())) > 3
    # Step t runs the k hypotheses of every sentence still searching, no
    # others; the first step, from [START], runs each sentence once.
    expected = [
        (1 if t == 0 else k) * sum(n > t for n in steps.values()) for t in range(len(decoder.rows_per_step))
    ]
    assert decoder.rows_per_step == expected
    assert expected[0] == np.sum(~done) and expected[1] == k * np.sum(~done) and expected[-1] < expected[1]
    # What a sentence gets does not depend on who shared its batch, or when they left.
    for i, own in alone.items():
        assert [trim(t) for t in result["tokens"][i]] == [trim(t) for t in own["tokens"][0]]
        np.testing.assert_allclose(result["scores"][i], own["scores"][0], rtol=1e-6)
        np.testing.assert_allclose(result["attention"][i][..., : steps[i], :], own["attention"][0], atol=1e-6)
    assert not result["tokens"][done].any() and not result["scores"][done].any()


def test_a_sentence_stops_at_its_own_length_limit():
    k = 3
    decoder = RowCountingDecoder(batch_size=12, sharpness=1.0, seed=10)
    decoder.token_logits[:, :, END_ID] -= 2.0  # so some searches run into their limits
    done = np.arange(12) % 5 == 0
    limits = np.array([1, 2, 3, 4, 5, 6, 8, 10, 12, 3, 2, 7], np.int32)
    strategy = BeamSearch(k, num_hypotheses=2)
    result = search(strategy, decoder, max_length=limits, done=done)
    cut = 0
    for i in np.flatnonzero(~done):
        alone = search(strategy, decoder.row(i), max_length=int(limits[i]))
        steps = alone["tokens"].shape[-1]
        assert steps <= limits[i]
        cut += steps == limits[i] and END_ID not in alone["tokens"][0, 0]
        np.testing.assert_array_equal(result["tokens"][i, :, :steps], alone["tokens"][0])
        assert not result["tokens"][i, :, steps:].any()
        # Scored at its own length, not the batch's longest.
        np.testing.assert_allclose(result["scores"][i], alone["scores"][0], rtol=1e-6)
        np.testing.assert_allclose(result["attention"][i][..., :steps, :], alone["attention"][0], atol=1e-6)
    assert cut >= 2  # some sentences were cut with no finished hypothesis
    assert len(decoder.rows_per_step) <= limits.max()


def test_a_sentences_hypotheses_share_its_source():
    k = 4
    decoder = SourceSharingDecoder(batch_size=16, sharpness=1.0, seed=8)
    decoder.token_logits[:, :, END_ID] += 1.0  # sentences leave the batch at many steps
    done = np.arange(16) % 5 == 0
    strategy = BeamSearch(k, num_hypotheses=2)
    shared = search(strategy, decoder, 10, done=done)
    # Each step's source has one row per sentence still searching, for its
    # k hypotheses (one at the first step, from [START]).
    assert decoder.rows_per_source[0] == 1 and set(decoder.rows_per_source[1:]) == {k}
    # The same search over the source repeated for every hypothesis.
    plain = ToyDecoder(batch_size=16, sharpness=1.0, seed=8)
    plain.token_logits[:, :, END_ID] += 1.0
    repeated = search(strategy, plain, 10, done=done)
    for key in ("tokens", "scores", "attention"):
        np.testing.assert_array_equal(shared[key], repeated[key])


def test_bad_settings():
    with pytest.raises(ValueError, match="beam_width"):
        BeamSearch(0)
    with pytest.raises(ValueError, match="length_penalty"):
        BeamSearch(4, length_penalty=-1.0)
    with pytest.raises(ValueError, match=r"`num_hypotheses` must be at most `beam_width` \(2\), received 3"):
        BeamSearch(2, num_hypotheses=3)
    with pytest.raises(ValueError, match=r"`num_hypotheses` must be an int >= 1, received 0"):
        BeamSearch(2, num_hypotheses=0)
    with pytest.raises(ValueError, match="coverage_penalty"):
        BeamSearch(2, coverage_penalty="high")
