import numpy as np

from tests.zoo.generation.toy_decoder import RowCountingDecoder, ToyDecoder, search, trim
from zoo.generation import BeamSearch, GreedySearch
from zoo.tokenizer import END_ID


def _ending_often(decoder_class):
    decoder = decoder_class(batch_size=24, sharpness=1.0, seed=5)
    decoder.token_logits[:, :, END_ID] += 1.0  # so rows end at many lengths
    return decoder


def test_rows_leave_the_batch_when_they_end():
    decoder = _ending_often(RowCountingDecoder)
    done = np.arange(24) % 7 == 0
    result = search(GreedySearch(), decoder, max_length=12, done=done)
    lengths = np.array([len(trim(row)) for row in result["tokens"][:, 0]])
    assert len(set(lengths[~done])) > 3
    # Step t runs the rows whose output is longer than t tokens, no others.
    expected = [int(np.sum(lengths > t)) for t in range(len(decoder.rows_per_step))]
    assert decoder.rows_per_step == expected
    assert expected[0] == np.sum(~done) and expected[-1] < expected[0]
    # And what a row gets does not depend on who shared its batch: beam
    # search of width 1, which drops whole sentences, gives the same.
    full = search(BeamSearch(1, length_penalty=0.0), _ending_often(ToyDecoder), 12, done)
    np.testing.assert_array_equal(result["tokens"], full["tokens"])
    np.testing.assert_allclose(result["scores"], full["scores"], rtol=1e-6, atol=2e-6)
    np.testing.assert_allclose(result["attention"], full["attention"], atol=1e-6)
    assert not result["tokens"][done].any() and not result["scores"][done].any()


def test_every_row_done_from_the_start_gives_one_step_of_padding():
    decoder = RowCountingDecoder(batch_size=3, seed=6)
    result = search(GreedySearch(), decoder, max_length=5, done=[True, True, True])
    assert result["tokens"].shape == (3, 1, 1) and not result["tokens"].any()
    assert decoder.rows_per_step == [0]


def test_a_row_stops_at_its_own_length_limit():
    decoder = RowCountingDecoder(batch_size=12, sharpness=1.0, seed=9)
    decoder.token_logits[:, :, END_ID] -= 3.0  # so rows run into their limits
    done = np.arange(12) % 5 == 0
    limits = np.array([1, 2, 3, 4, 5, 6, 8, 10, 12, 3, 2, 7], np.int32)
    result = search(GreedySearch(), decoder, max_length=limits, done=done)
    lengths = np.array([len(trim(row)) for row in result["tokens"][:, 0]])
    assert (lengths[~done] <= limits[~done]).all() and (lengths[~done] == limits[~done]).sum() > 3
    # Each row is what a scalar max_length of its own limit gives it alone.
    for i in np.flatnonzero(~done):
        alone = search(GreedySearch(), decoder.row(i), max_length=int(limits[i]))
        steps = alone["tokens"].shape[-1]
        np.testing.assert_array_equal(result["tokens"][i, :, :steps], alone["tokens"][0])
        assert not result["tokens"][i, :, steps:].any()
        np.testing.assert_allclose(result["scores"][i], alone["scores"][0], rtol=1e-6, atol=2e-6)
    # A row cut by its limit leaves the batch at once.
    expected = [int(np.sum(lengths > t)) for t in range(len(decoder.rows_per_step))]
    assert decoder.rows_per_step == expected
