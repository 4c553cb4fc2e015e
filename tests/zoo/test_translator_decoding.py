"""`Translator.translate` with each decoding strategy, on real backbones."""

import math

import numpy as np
import pytest

from tests.conftest import tiny
from zoo.generation import BeamSearch, GreedySearch, RandomSampling

WORDS = "el la gato perro casa come duerme es grande pequeña hola adiós dónde está buenos días".split()


def _random_sentences(count, seed=0):
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, size=rng.integers(1, 7))) for _ in range(count)]


@pytest.mark.parametrize(
    "strategy", [GreedySearch(), BeamSearch(3, num_hypotheses=2), RandomSampling(top_k=5, seed=1)]
)
@pytest.mark.parametrize("return_attention", [False, True])
def test_decoding_is_traced_once(trained_translator, strategy, return_attention):
    function = trained_translator.translate_function(strategy, return_attention)
    for batch in (["hola", "el gato come"], ["adiós", "buenos días"], ["la casa es grande", "hola", "el"]):
        trained_translator.translate(batch, strategy=strategy, return_attention=return_attention)
    assert function.experimental_get_tracing_count() == 1


def test_many_decoding_settings_and_threads_trace_each_function_once(toy_pairs):
    """Six settings in a row raise no retracing warning; threads that start at once share one trace."""
    import concurrent.futures
    import logging

    import tensorflow as tf

    import zoo

    model = zoo.load("gru_luong_small", train_data=toy_pairs, **tiny("gru_luong_small"))
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    tf.get_logger().addHandler(handler)
    try:
        sentences = _random_sentences(70)  # two batches, decoded side by side
        for width in (None, 2, 3, 4, 5, 6):
            model.translate(sentences, beam_width=width)
        strategies = [BeamSearch(7)] * 4 + [RandomSampling(seed=3)] * 4
        with concurrent.futures.ThreadPoolExecutor(len(strategies)) as pool:
            results = list(pool.map(lambda s: model.translate(sentences, strategy=s), strategies))
    finally:
        tf.get_logger().removeHandler(handler)
    assert not [r.getMessage() for r in records if "retracing" in r.getMessage()]
    assert results[0] == results[3] == model.translate(sentences, strategy=BeamSearch(7))
    for strategy in (BeamSearch(7), RandomSampling(seed=3)):
        assert model.translate_function(strategy, False).experimental_get_tracing_count() == 1
    assert model._source_lengths.experimental_get_tracing_count() == 1


@pytest.mark.parametrize(
    "preset",
    [
        "gru_luong_small",
        "gru_seq2seq_small",
        "lstm_luong_input_feeding",
        "gru_bahdanau_small",
        "transformer_small",
    ],
)
def test_beam_width_one_is_greedy(preset, toy_pairs, trained_translator):
    # Untrained models wander to max_length, which exercises every step of
    # the cache (RNN states, input feeding, Transformer keys and values).
    import zoo

    if preset == "gru_luong_small":
        model = trained_translator
    else:
        model = zoo.load(preset, train_data=toy_pairs, **tiny(preset))
    sentences = toy_pairs[0] + _random_sentences(20)
    greedy = model.translate(sentences, max_length=12, return_attention=True)
    for strategy in (BeamSearch(1), BeamSearch(1, length_penalty=0.0)):
        beam = model.translate(sentences, strategy=strategy, max_length=12, return_attention=True)
        assert [b.output_tokens for b in beam] == [g.output_tokens for g in greedy]
        assert [b.text for b in beam] == [g.text for g in greedy]
        for b, g in zip(beam, greedy):
            np.testing.assert_allclose(b.attention, g.attention, atol=1e-5)
    # Greedy takes its log-probability from the softmax, beam search from a
    # log-softmax. They round differently, by about 1e-7 a token here,
    # which scores near 0 (a trained model's near-certain tokens) show.
    np.testing.assert_allclose([b.score for b in beam], [g.score for g in greedy], rtol=1e-5, atol=2e-6)


def test_beam_never_scores_worse_than_greedy(trained_translator):
    sentences = _random_sentences(300, seed=1)
    greedy = trained_translator.translate(sentences, return_attention=True)
    for width in (2, 4):
        beam = trained_translator.translate(
            sentences, strategy=BeamSearch(width, length_penalty=0.0), return_attention=True
        )
        for b, g in zip(beam, greedy):
            if g.output_tokens[-1] == "[END]":  # a complete greedy output
                assert b.score >= g.score - 1e-5, (g, b)


def test_n_best_with_scores_and_attention(trained_translator):
    strategy = BeamSearch(4, num_hypotheses=3, coverage_penalty=0.2)
    results = trained_translator.translate(["el gato come", ""], strategy=strategy, return_attention=True)
    best = results[0]
    assert len(best) == 3 and best[0].text == "the cat eats"
    assert len({r.text for r in best}) == 3
    assert best[0].score >= best[1].score >= best[2].score
    for result in best:
        assert result.source_tokens == ["el", "gato", "come"]
        assert result.attention.shape == (len(result.output_tokens), 3)
        np.testing.assert_allclose(result.attention.sum(-1), 1.0, atol=1e-5)
    assert [(r.text, r.score, r.output_tokens) for r in results[1]] == [("", 0.0, [])] * 3
    texts = trained_translator.translate(["el gato come"], strategy=strategy)
    assert texts == [[r.text for r in best]]
    assert trained_translator.translate("el gato come", beam_width=4) == "the cat eats"
    assert trained_translator.translate("el gato come", strategy="beam") == "the cat eats"


def test_seeded_sampling_repeats(trained_translator):
    sentences = _random_sentences(16, seed=2)
    strategy = RandomSampling(temperature=3.0, seed=7)
    first = trained_translator.translate(sentences, strategy=strategy)
    assert trained_translator.translate(sentences, strategy=strategy) == first
    assert trained_translator.translate(sentences, strategy=RandomSampling(temperature=3.0, seed=8)) != first


def test_decoding_errors(trained_translator, toy_pairs):
    import zoo

    with pytest.raises(ValueError, match="either `beam_width` or `strategy`"):
        trained_translator.translate("hola", strategy="beam", beam_width=2)
    with pytest.raises(ValueError, match="Unknown decoding strategy 'viterbi'.*'beam', 'greedy', 'sample'"):
        trained_translator.translate("hola", strategy="viterbi")
    with pytest.raises(ValueError, match="beam_width"):
        trained_translator.translate("hola", beam_width=0)
    fixed = zoo.load("gru_seq2seq_small", train_data=toy_pairs, **tiny("gru_seq2seq_small"))
    with pytest.raises(ValueError, match="coverage_penalty.*no attention"):
        fixed.translate("hola", strategy=BeamSearch(2, coverage_penalty=0.2))


def test_batches_are_grouped_by_length_and_returned_in_order(trained_translator, toy_pairs):
    sentences = toy_pairs[0] + [""] + _random_sentences(9, seed=3)
    expected = [trained_translator.translate(s) for s in sentences]
    for batch_size in (1, 3, 64):
        assert trained_translator.translate(sentences, batch_size=batch_size) == expected
    details = trained_translator.translate(sentences, batch_size=4, return_attention=True)
    assert [d.text for d in details] == expected
    assert details[0].source_tokens == ["el", "gato", "come"]
    with pytest.raises(ValueError, match="batch_size"):
        trained_translator.translate(sentences, batch_size=0)


def test_batches_in_flight_change_no_output(trained_translator, monkeypatch):
    """Batches decode concurrently; each seeded sampling batch still draws its own stream."""
    from zoo import translator

    sentences = _random_sentences(20, seed=4)
    strategies = [GreedySearch(), BeamSearch(3, num_hypotheses=2), RandomSampling(temperature=3.0, seed=5)]
    concurrent = [trained_translator.translate(sentences, strategy=s, batch_size=3) for s in strategies]
    monkeypatch.setattr(translator, "BATCHES_IN_FLIGHT", 1)
    one_at_a_time = [trained_translator.translate(sentences, strategy=s, batch_size=3) for s in strategies]
    assert concurrent == one_at_a_time


@pytest.mark.parametrize("preset", ["gru_luong_small", "transformer_small"])
def test_beam_search_shares_the_source_and_changes_nothing(preset, toy_pairs, trained_translator):
    # Each backbone puts its encoder outputs under the cache's `source`, which
    # beam search keeps once per sentence; the same search with the source
    # moved elsewhere in the cache (repeated for each hypothesis) must agree.
    import tensorflow as tf

    import zoo
    from zoo.tokenizer import END_ID, START_ID

    if preset == "gru_luong_small":
        model = trained_translator
    else:
        model = zoo.load(preset, train_data=toy_pairs, **tiny(preset))
    backbone = model.backbone
    source_ids = model.preprocessor.source_tokenizer.tokenize(tf.constant(_random_sentences(12, seed=3)))
    source_ids = source_ids.to_tensor(0)
    k = 3
    sources_seen = []

    def shared_next(tokens, cache, step):
        sources_seen.append(int(tf.shape(cache["source"]["memory_mask"])[0]))
        return backbone.next(tokens, cache, step)

    def repeated_next(tokens, cache, step):
        cache = dict(cache)
        cache["source"] = cache.pop("repeated")
        logits, cache = backbone.next(tokens, cache, step)
        cache["repeated"] = cache.pop("source")
        return logits, cache

    def search(next_fn, cache):
        return BeamSearch(k, num_hypotheses=2).search(
            next_fn, cache, tf.fill([12], START_ID), END_ID, tf.constant(8)
        )

    shared = search(shared_next, backbone.encode(source_ids, 8))
    cache = backbone.encode(source_ids, 8)
    cache["repeated"] = cache.pop("source")
    repeated = search(repeated_next, cache)
    assert sources_seen[0] == 12  # one row per sentence, not one per hypothesis
    np.testing.assert_array_equal(shared["tokens"], repeated["tokens"])
    np.testing.assert_allclose(shared["scores"], repeated["scores"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(shared["attention"], repeated["attention"], atol=1e-5)
    # Traced, with the source length known statically: the loop's shapes must hold.
    traced = tf.function(lambda: search(backbone.next, backbone.encode(source_ids, 8)), autograph=False)()
    np.testing.assert_array_equal(traced["tokens"], shared["tokens"])


def _n_best(result):
    return result if isinstance(result, list) else [result]


@pytest.mark.parametrize("strategy", [GreedySearch(), BeamSearch(3, num_hypotheses=2)])
def test_max_length_factor_limits_each_sentence_by_its_source(trained_translator, toy_pairs, strategy):
    model, factor = trained_translator, 0.4
    sentences = toy_pairs[0] + _random_sentences(20, seed=2) + [""]
    limited = model.translate(sentences, strategy=strategy, max_length_factor=factor, return_attention=True)
    full = model.translate(sentences, strategy=strategy, return_attention=True)
    cut = 0
    for sentence, n, own, whole in zip(sentences, model.source_lengths(sentences), limited, full):
        limit = math.ceil(factor * n) + 1
        assert all(len(r.output_tokens) <= limit for r in _n_best(own))
        # What the sentence gets with a max_length of its own limit, alone.
        alone = model.translate([sentence], strategy=strategy, max_length=limit, return_attention=True)[0]
        assert [r.output_tokens for r in _n_best(own)] == [r.output_tokens for r in _n_best(alone)]
        cut += len(_n_best(whole)[0].output_tokens) > limit
    assert cut > 5
    assert [r.text for r in _n_best(limited[-1])] == [""] * strategy.num_hypotheses


def test_max_length_factor_is_checked(trained_translator):
    for bad in (0, -1.0, float("nan"), float("inf"), "2", True):
        with pytest.raises(ValueError, match="max_length_factor"):
            trained_translator.translate("hola", max_length_factor=bad)
    # A factor too large for any limit leaves max_length the only one.
    assert trained_translator.translate("el gato come", max_length_factor=1e12) == "the cat eats"


def _model_that_says_unknown(toy_pairs, **overrides):
    """A tiny model whose output layer favours [UNK] above every other token, [END] included."""
    import zoo
    from zoo.tokenizer import UNK_ID

    model = zoo.load("gru_luong", train_data=toy_pairs, **{**tiny("gru_luong"), **overrides})
    bias = model.backbone.output_projection.bias
    bias.assign(bias.numpy() + 20.0 * np.eye(bias.shape[0])[UNK_ID])
    return model


@pytest.mark.parametrize("strategy", [GreedySearch(), BeamSearch(3)])
def test_replace_unknown_writes_the_most_attended_source_word(toy_pairs, strategy, tmp_path):
    import tensorflow as tf

    model = _model_that_says_unknown(toy_pairs)
    # "zorro" and "lobo" are unknown to the source vocabulary too: copied as written.
    sources = ["el gato come", "zorro lobo come", "dónde está el perro"]
    plain = model.translate(sources, strategy, max_length=4)
    assert plain == ["[UNK] [UNK] [UNK] [UNK]"] * 3
    details = model.translate(sources, strategy, max_length=4, return_attention=True, replace_unknown=True)
    for source, result in zip(sources, details, strict=True):
        assert result.output_tokens == ["[UNK]"] * 4  # the tokens stay the model's
        words = source.split()
        assert result.text == " ".join(words[j] for j in result.attention.argmax(-1))
    replaced = model.translate(sources, strategy, max_length=4, replace_unknown=True)
    assert replaced == [result.text for result in details]
    assert set(replaced[1].split()) <= {"zorro", "lobo", "come"}
    # The export serves the same strings.
    model.export(tmp_path / "exported", max_length=4, strategy=strategy, replace_unknown=True)
    served = tf.saved_model.load(str(tmp_path / "exported")).signatures["serving_default"](
        tf.constant(sources)
    )
    assert [t.decode() for t in served["translation"].numpy()] == replaced


def test_replace_unknown_needs_attention_and_words_to_copy(toy_pairs, trained_translator):
    import tensorflow as tf

    import zoo

    # A model that outputs no [UNK] translates as without the option.
    sentences = ["el gato come", "la casa es grande"]
    assert trained_translator.translate(sentences, replace_unknown=True) == trained_translator.translate(
        sentences
    )
    with pytest.raises(ValueError, match=r"`replace_unknown` must be True or False, received 'yes'"):
        trained_translator.translate("el gato", replace_unknown="yes")
    fixed_context = zoo.load("gru_seq2seq", train_data=toy_pairs, **tiny("gru_seq2seq"))
    with pytest.raises(ValueError, match="has no attention"):
        fixed_context.translate("el gato", replace_unknown=True)
    with pytest.raises(ValueError, match="has no attention"):
        fixed_context.export("unused", replace_unknown=True)
    with pytest.raises(ValueError, match="has no attention"):  # the graph, traced by a caller of its own
        tf.function(lambda texts: fixed_context.translate_graph(texts, 5, replace_unknown=True))(
            tf.constant(["el gato"])
        )
    pieces = zoo.load("gru_luong", train_data=toy_pairs, tokenizer="wordpiece", **tiny("gru_luong"))
    with pytest.raises(ValueError, match="needs a word or character tokenizer"):
        pieces.translate("el gato", replace_unknown=True)
