import numpy as np
import pytest
import tensorflow as tf

from tests.zoo.generation.toy_decoder import ToyDecoder, search
from zoo.generation import GreedySearch, RandomSampling
from zoo.tokenizer import START_ID


def _first_token_distribution(decoder):
    log_probs, _, _ = decoder.step_numpy(0, START_ID, 0)
    return np.exp(log_probs)


def _frequencies(strategy, decoder, seed=(7, 0)):
    result = search(strategy, decoder, max_length=1, seed=tf.constant(seed, tf.int32))
    tokens = result["tokens"][:, 0, 0]
    return np.bincount(tokens, minlength=decoder.token_logits.shape[-1]) / len(tokens), result, tokens


def _same_rows(batch_size, seed):
    # One distribution copied to every row: each row is one draw from it.
    decoder = ToyDecoder(batch_size=1, sharpness=1.0, seed=seed)
    for name in ("token_logits", "state_logits", "attention_logits", "source_mask"):
        setattr(decoder, name, np.repeat(getattr(decoder, name), batch_size, axis=0))
    return decoder


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"temperature": 0.5},
        {"temperature": 2.0},
        {"top_k": 2},
        {"top_p": 0.6},
        {"top_k": 3, "top_p": 0.5},
    ],
)
def test_draws_follow_the_reshaped_distribution(settings):
    decoder = _same_rows(20000, seed=11)
    probs = _first_token_distribution(decoder)
    expected = np.exp(np.log(np.maximum(probs, 1e-30)) / settings.get("temperature", 1.0))
    expected /= expected.sum()
    order = np.argsort(-expected)
    if "top_k" in settings:
        expected[order[settings["top_k"] :]] = 0.0
        expected /= expected.sum()
    if "top_p" in settings:
        mass_before = np.cumsum(expected[order]) - expected[order]
        expected[order[mass_before >= settings["top_p"]]] = 0.0
        expected /= expected.sum()
    frequencies, result, tokens = _frequencies(RandomSampling(**settings), decoder)
    np.testing.assert_allclose(frequencies, expected, atol=0.015)
    assert not frequencies[expected == 0].any()
    # The score is the model's own log-probability, whatever reshaped the draw.
    np.testing.assert_allclose(result["scores"][:, 0], np.log(probs[tokens]), rtol=1e-4)


def test_seeded_draws_repeat():
    decoder = ToyDecoder(batch_size=64, sharpness=0.5, seed=12)
    first = search(RandomSampling(), decoder, 8, seed=tf.constant([3, 0]))["tokens"]
    again = search(RandomSampling(), decoder, 8, seed=tf.constant([3, 0]))["tokens"]
    other = search(RandomSampling(), decoder, 8, seed=tf.constant([4, 0]))["tokens"]
    np.testing.assert_array_equal(first, again)
    assert (first != other).any()
    assert RandomSampling(seed=3).call_seed() == RandomSampling(seed=3).call_seed()


@pytest.mark.parametrize("settings", [{"top_k": 1}, {"top_p": 1e-6}, {"temperature": 1e-4}])
def test_the_narrowest_settings_are_greedy(settings):
    decoder = ToyDecoder(batch_size=64, seed=13)
    greedy = search(GreedySearch(), decoder, 10)
    sampled = search(RandomSampling(**settings), decoder, 10, seed=tf.constant([5, 0]))
    np.testing.assert_array_equal(sampled["tokens"], greedy["tokens"])
    np.testing.assert_allclose(sampled["scores"], greedy["scores"], rtol=1e-5, atol=2e-6)


def test_bad_settings():
    with pytest.raises(ValueError, match="temperature"):
        RandomSampling(temperature=0.0)
    with pytest.raises(ValueError, match="top_k"):
        RandomSampling(top_k=0)
    with pytest.raises(ValueError, match="top_p"):
        RandomSampling(top_p=1.5)
    with pytest.raises(ValueError, match="seed"):
        RandomSampling(seed=-1)
