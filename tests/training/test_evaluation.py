import math
import warnings

import pytest
import sacrebleu

from training.datasets import TextPairs
from training.evaluation import evaluate, score_translations

SOURCES = ["uno", "dos tres cuatro cinco seis siete", "a b c d e f g h i j k l"]
REFERENCES = ["The cat sat on the mat.", "It is raining today.", "Where is the station?"]
HYPOTHESES = ["the cat is on the mat.", "it is raining today.", "where is station?"]


def test_bleu_and_chrf_are_sacrebleus_own_figures():
    report = score_translations(HYPOTHESES, REFERENCES, SOURCES)
    expected_bleu = sacrebleu.corpus_bleu(HYPOTHESES, [REFERENCES], lowercase=True).score
    # Lowercased, both: a model whose tokenizers lowercase has no case to be scored on.
    expected_chrf = sacrebleu.CHRF(lowercase=True).corpus_score(HYPOTHESES, [REFERENCES]).score
    assert report.bleu == pytest.approx(expected_bleu)
    assert report.chrf == pytest.approx(expected_chrf)
    assert report.exact_match == pytest.approx(1 / 3)  # case is standardized away, wording is not
    assert "13a" in report.signature and "lc" in report.signature


def test_a_model_that_keeps_case_is_scored_on_case():
    report = score_translations(HYPOTHESES, REFERENCES, SOURCES, lowercase=False)
    assert report.bleu == pytest.approx(sacrebleu.corpus_bleu(HYPOTHESES, [REFERENCES]).score)
    assert report.chrf == pytest.approx(sacrebleu.corpus_chrf(HYPOTHESES, [REFERENCES]).score)
    assert report.bleu < score_translations(HYPOTHESES, REFERENCES, SOURCES).bleu
    assert report.exact_match == 0.0  # "it is raining today." is not "It is raining today."
    assert "case:mixed" in report.signature
    with pytest.raises(ValueError, match="lowercase"):
        score_translations(HYPOTHESES, REFERENCES, SOURCES, lowercase="yes")


def test_a_perfect_translation_scores_100():
    report = score_translations(REFERENCES, REFERENCES, SOURCES)
    assert report.bleu == pytest.approx(100.0) and report.exact_match == 1.0


def test_length_buckets_split_by_source_words():
    report = score_translations(HYPOTHESES, REFERENCES, SOURCES)
    counts = {bucket.label: bucket.count for bucket in report.by_length}
    assert counts == {"1-5": 1, "6-10": 1, "11-15": 1, "16-20": 0, "21+": 0}
    middle = report.by_length[1]
    assert middle.bleu == pytest.approx(
        sacrebleu.corpus_bleu(HYPOTHESES[1:2], [REFERENCES[1:2]], lowercase=True).score
    )
    assert report.by_length[3].bleu is None and report.by_length[3].exact_match is None
    assert "16-20" in report.summary()


def test_a_sentence_with_several_references_is_scored_against_all_of_them():
    references = [[REFERENCES[0], "A cat is on the mat."], REFERENCES[1], (REFERENCES[2],)]
    report = score_translations(HYPOTHESES, references, SOURCES)
    # sacrebleu's multi-reference scoring, with None where a sentence has fewer references.
    streams = [[references[0][0], REFERENCES[1], REFERENCES[2]], ["A cat is on the mat.", None, None]]
    assert report.bleu == pytest.approx(sacrebleu.corpus_bleu(HYPOTHESES, streams, lowercase=True).score)
    assert report.chrf == pytest.approx(
        sacrebleu.CHRF(lowercase=True).corpus_score(HYPOTHESES, streams).score
    )
    assert report.bleu > score_translations(HYPOTHESES, REFERENCES, SOURCES).bleu
    assert "nrefs:var" in report.signature
    assert (report.count, report.reference_count) == (
        3,
        4,
    ) and "(3 sentences, 4 references)" in report.summary()
    # Exact if it equals any of its references.
    assert score_translations(["a cat is on the  MAT."], [references[0]], SOURCES[:1]).exact_match == 1.0
    assert score_translations(["a dog is on the mat."], [references[0]], SOURCES[:1]).exact_match == 0.0
    with pytest.raises(
        ValueError, match=r"Reference 1 must be a string or a non-empty list of strings; received \[\]"
    ):
        score_translations(HYPOTHESES[:2], [REFERENCES[0], []], SOURCES[:2])
    with pytest.raises(TypeError, match="Reference 0 holds a NoneType, not a string"):
        score_translations(HYPOTHESES[:1], [[None]], SOURCES[:1])


def test_evaluate_with_multi_reference_decodes_each_source_once(trained_translator, toy_pairs):
    sources, targets = list(toy_pairs[0][:4]), list(toy_pairs[1][:4])
    # The first source again with another target, as a corpus with two translations of it holds.
    pairs = TextPairs([*sources, sources[0]], [*targets, "otra traducción"])
    per_pair = evaluate(trained_translator, pairs)
    grouped = evaluate(trained_translator, pairs, multi_reference=True)
    assert (per_pair.count, per_pair.reference_count) == (5, 5)
    assert (grouped.count, grouped.reference_count) == (4, 5)
    assert grouped.sources == sources and grouped.translations == trained_translator.translate(sources)
    assert grouped.references == [[targets[0], "otra traducción"], *([t] for t in targets[1:])]
    assert grouped.exact_match == 1.0 and per_pair.exact_match == pytest.approx(4 / 5)
    expected = score_translations(
        grouped.translations, [[targets[0], "otra traducción"], *targets[1:]], sources
    )
    assert grouped.bleu == pytest.approx(expected.bleu)
    assert grouped.loss == pytest.approx(per_pair.loss)  # teacher-forced over every pair either way
    with pytest.raises(ValueError, match="`multi_reference` must be True or False, received 'yes'"):
        evaluate(trained_translator, pairs, multi_reference="yes")


def test_misaligned_input_is_an_error():
    with pytest.raises(ValueError, match="2 hypotheses, 3 references and 3 sources"):
        score_translations(HYPOTHESES[:2], REFERENCES, SOURCES)
    with pytest.raises(ValueError, match="no sentences"):
        score_translations([], [], [])


def test_evaluate_decodes_and_scores(trained_translator, toy_pairs):
    sources, targets = toy_pairs
    long_source = " ".join(["gato"] * 101)  # over max_source_length: left out and counted
    report = evaluate(trained_translator, TextPairs([*sources, long_source], [*targets, "x"]), batch_size=5)
    assert report.count == len(sources) and report.skipped == 1
    assert report.translations == targets
    assert report.sources == list(sources)  # what the translations translate: the long source left out
    assert report.bleu == pytest.approx(100.0) and report.exact_match == 1.0
    assert report.perplexity == pytest.approx(math.exp(report.loss))
    assert report.to_dict()["skipped"] == 1
    assert report.references == [[target] for target in targets]
    assert not {"translations", "sources", "references"} & set(report.to_dict())
    # How it decoded is recorded, for telling two runs' figures apart.
    assert report.to_dict()["decoding"] == {
        "strategy": "GreedySearch()",
        "replace_unknown": False,
        "max_length_factor": None,
        "truncate": False,
    }
    assert "decoded with GreedySearch()\n" in report.summary()
    # A per-sentence length limit is scored as it decodes: 0.3 of 3 words leaves 2.
    limited = evaluate(trained_translator, TextPairs(sources, targets), batch_size=5, max_length_factor=0.3)
    assert limited.decoding["max_length_factor"] == 0.3
    assert limited.translations == trained_translator.translate(sources, max_length_factor=0.3)
    assert limited.translations != targets and limited.bleu < report.bleu
    # A (sources, targets) pair of lists, as `fit` takes, scores the same.
    as_lists = evaluate(trained_translator, (sources, targets), batch_size=5)
    assert as_lists.translations == targets and as_lists.bleu == report.bleu
    with pytest.raises(ValueError, match="`max_sentences` must be an int >= 1, received 0"):
        evaluate(trained_translator, (sources, targets), max_sentences=0)
    with pytest.raises(ValueError, match="`pairs` is empty"):
        evaluate(trained_translator, ([], []))
    with pytest.raises(ValueError, match="2 source sentences but 1 target"):
        evaluate(trained_translator, (sources[:2], targets[:1]))
    with pytest.raises(TypeError, match="`pairs` must be a .sources, targets. pair"):
        evaluate(trained_translator, sources)
    with pytest.raises(
        ValueError, match="Every source of the 2 pair.s. is longer than the model reads .100.*truncate=True"
    ):
        evaluate(trained_translator, ([long_source, long_source], ["x", "y"]))


def test_evaluate_reports_unknown_tokens_and_warns_of_swapped_columns(trained_translator, toy_pairs):
    from training import pipeline

    sources, targets = toy_pairs
    cached = [id(entry) for entry in pipeline._CACHE]
    report = evaluate(trained_translator, (sources, targets), batch_size=5)
    assert [id(entry) for entry in pipeline._CACHE] == cached  # fit's training data stays cached
    assert (report.unknown_source, report.unknown_target) == (0.0, 0.0)
    assert "unknown to the vocabularies ([UNK]): 0.0% of source and 0.0% of target tokens" in report.summary()
    assert "warning" not in report.summary()
    assert report.to_dict()["unknown_source"] == 0.0
    # One unknown word among the 3 words of "el gato ladra"; none on the target side.
    one = evaluate(trained_translator, (["el gato ladra"], ["the cat eats"]))
    assert one.unknown_source == pytest.approx(1 / 3) and one.unknown_target == 0.0
    # Columns swapped: English sources, Spanish targets, mostly unknown on both sides.
    swapped = evaluate(trained_translator, (targets, sources), batch_size=5)
    assert swapped.unknown_source > 0.5 and swapped.unknown_target > 0.5
    summary = swapped.summary()
    for side in ("source", "target"):
        assert f"of the {side} tokens are unknown to the model's {side} vocabulary" in summary
    assert "are the source and target columns swapped?" in summary


def test_evaluate_with_truncate_scores_the_over_long_source_as_the_export_serves_it(
    trained_translator, toy_pairs
):
    sources, targets = toy_pairs
    long_source = " ".join([sources[0]] * 60)  # over max_source_length (100 tokens)
    report = evaluate(trained_translator, ([*sources, long_source], [*targets, targets[0]]), truncate=True)
    assert report.skipped == 0 and report.count == len(sources) + 1 and report.decoding["truncate"]
    assert report.translations == [*targets, trained_translator.translate(long_source, truncate=True)]
    assert "left out" not in report.summary()
    only_long = evaluate(trained_translator, ([long_source], ["x"]), truncate=True, loss=False)
    assert only_long.count == 1 and only_long.translations == report.translations[-1:]


def test_an_n_best_strategy_scores_the_best_hypothesis(trained_translator, toy_pairs):
    from zoo.generation import BeamSearch

    sources, targets = toy_pairs
    n_best = evaluate(
        trained_translator, (sources, targets), strategy=BeamSearch(beam_width=3, num_hypotheses=2)
    )
    best = evaluate(trained_translator, (sources, targets), strategy=BeamSearch(beam_width=3))
    assert n_best.translations == best.translations == targets
    assert n_best.bleu == best.bleu == pytest.approx(100.0)
    # `beam_width` is the shorthand it is in `translate`.
    shorthand = evaluate(trained_translator, (sources, targets), beam_width=3)
    assert shorthand.translations == best.translations and shorthand.signature == best.signature
    assert shorthand.decoding["strategy"] == best.decoding["strategy"] == repr(BeamSearch(beam_width=3))
    assert "decoded with BeamSearch(beam_width=3, length_penalty=0.6" in best.summary()
    with pytest.raises(ValueError, match="either `beam_width` or `strategy`"):
        evaluate(trained_translator, (sources, targets), strategy="greedy", beam_width=3)


def test_validation_bleu_checks_its_settings_before_training(trained_translator, toy_pairs):
    from training.validation_bleu import ValidationBleu
    from zoo.generation import BeamSearch

    sources, targets = toy_pairs
    with pytest.raises(ValueError, match="`max_sentences` must be an int >= 1, received 0"):
        ValidationBleu((sources, targets), max_sentences=0)
    with pytest.raises(ValueError, match="`batch_size` must be an int >= 1"):
        ValidationBleu((sources, targets), batch_size=0)
    with pytest.raises(ValueError, match="`pairs` is empty"):
        ValidationBleu(([], []))
    with pytest.raises(ValueError, match="Unknown decoding strategy"):
        ValidationBleu((sources, targets), strategy="beams")
    callback = ValidationBleu(TextPairs(sources, targets), max_sentences=5, strategy=BeamSearch(beam_width=2))
    callback.set_model(trained_translator)
    logs = {}
    callback.on_epoch_end(0, logs)
    assert logs == {"val_bleu": pytest.approx(100.0), "val_exact_match": 1.0}
    with pytest.raises(ValueError, match="`multi_reference` must be True or False"):
        ValidationBleu((sources, targets), multi_reference=1)
    # A second target for the first source: wrong on its own, one of two with multi_reference.
    twice = ([*sources[:3], sources[0]], [*targets[:3], "otra"])
    for multi_reference, exact in ((False, 3 / 4), (True, 1.0)):
        callback = ValidationBleu(twice, multi_reference=multi_reference)
        callback.set_model(trained_translator)
        callback.on_epoch_end(0, logs)
        assert logs["val_exact_match"] == pytest.approx(exact)


def test_callbacks_listed_before_validation_bleu_see_val_bleu(toy_pairs, tmp_path):
    """`fit` runs ValidationBleu first: EarlyStopping, CSVLogger and the like read `val_bleu` wherever it is listed."""
    import keras

    import zoo
    from tests.conftest import TINY
    from training.validation_bleu import ValidationBleu

    seen = []
    reader = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(dict(logs)))
    callbacks = [
        reader,
        keras.callbacks.CSVLogger(str(tmp_path / "log.csv")),
        keras.callbacks.EarlyStopping(monitor="val_bleu", mode="max", patience=5),
        ValidationBleu(toy_pairs, max_sentences=4),
    ]
    model = zoo.load("gru_luong", train_data=toy_pairs, **TINY)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*val_bleu.*not available")
        model.fit(toy_pairs, validation_data=toy_pairs, epochs=2, callbacks=callbacks, verbose=0)
    assert [sorted(logs).count("val_bleu") for logs in seen] == [1, 1]
    assert (tmp_path / "log.csv").read_text().splitlines()[0].split(",").count("val_bleu") == 1
    assert callbacks[0] is reader  # the user's list is left as it was


def test_the_reported_loss_is_the_plain_cross_entropy_whatever_the_compiled_smoothing(toy_pairs):
    import zoo
    from tests.conftest import TINY

    model = zoo.load("gru_luong", train_data=toy_pairs, **TINY)
    plain = evaluate(model, toy_pairs)
    model.compile(label_smoothing=0.2)  # as zoo train compiles the Transformer presets (0.1)
    smoothed = model.evaluate(toy_pairs, verbose=0, return_dict=True)["loss"]
    report = evaluate(model, toy_pairs)
    assert smoothed != pytest.approx(plain.loss, rel=1e-4)  # what was reported before
    assert report.loss == pytest.approx(plain.loss, rel=1e-5)
    assert report.perplexity == pytest.approx(plain.perplexity, rel=1e-5)


def test_evaluate_reports_the_loss_of_a_model_compiled_without_the_accuracy(toy_pairs):
    import zoo
    from tests.conftest import TINY

    model = zoo.load("gru_luong", train_data=toy_pairs, **TINY)
    model.compile(weighted_metrics=[])
    report = evaluate(model, toy_pairs, batch_size=5)
    assert report.accuracy is None and report.loss == pytest.approx(
        model.evaluate(toy_pairs, verbose=0, return_dict=True)["loss"], rel=1e-5
    )
    assert "token accuracy" not in report.summary() and f"loss {report.loss:.4f}" in report.summary()


def test_the_loss_of_a_diverged_model_is_reported_as_it_is(toy_pairs):
    """The report read the loss as log(perplexity), and float32's exp is inf past 88.7 nats: "loss inf"."""
    import numpy as np

    import zoo
    from tests.conftest import TINY

    model = zoo.load("gru_luong", train_data=toy_pairs, **TINY)
    projection = model.backbone.output_projection
    kernel, bias = projection.get_weights()
    projection.set_weights([kernel, np.where(np.arange(bias.size) == 5, 1e3, 0.0).astype(bias.dtype)])
    keras_loss = model.evaluate(toy_pairs, verbose=0, return_dict=True)["loss"]
    report = evaluate(model, toy_pairs)
    assert keras_loss > 100 and math.isfinite(report.loss)  # one token takes all: a mean over 88.7 nats
    assert report.loss == pytest.approx(keras_loss, rel=1e-5)
    assert f"loss {report.loss:.4f}" in report.summary()
