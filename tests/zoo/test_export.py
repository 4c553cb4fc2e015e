"""Exported SavedModels, served in a fresh process, against the live models."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import tiny
from zoo.generation import BeamSearch, GreedySearch, RandomSampling

LONG = " ".join(["el gato come"] * 40)  # 120 tokens: over max_source_length (100)
SENTENCES = ["el gato come", "", "¿dónde está el gato?", LONG, "zebra", "la casa es pequeña"]
BATCH_SIZES = (0, 1, 2, 6)  # 0: an empty request gets empty answers, not an error

# Every decoder family and tokenizer: (preset, load options).
FAMILIES = {
    "trained gru_luong": None,  # the session's trained_translator
    "fixed context": ("gru_seq2seq_small", {}),
    "luong input feeding": ("lstm_luong_input_feeding", {}),
    "bahdanau, bidirectional": ("gru_bahdanau_small", {}),
    "transformer": ("transformer_small", {}),
    "wordpiece": ("gru_luong_small", {"tokenizer": "wordpiece", "max_size": 60}),
    "character, shared": ("gru_luong_small", {"tokenizer": "character", "shared_vocabulary": True}),
}
STRATEGIES = {"greedy": GreedySearch(), "beam": BeamSearch(3)}

# Loads each SavedModel with TensorFlow alone, as a server without this
# project, Keras or tensorflow-text's Python package would: those imports
# are made to fail, and only tensorflow-text's compiled ops are loaded (what
# `import tensorflow_text` registers; that import itself needs Keras).
SERVE = textwrap.dedent(
    """
    import glob, importlib.util, json, os, sys

    for name in ("zoo", "keras_attention", "training", "keras", "tf_keras"):
        sys.modules[name] = None  # import fails, as if not installed
    text_ops = importlib.util.find_spec("tensorflow_text").submodule_search_locations[0]
    sys.modules["tensorflow_text"] = None
    import tensorflow as tf

    for library in sorted(glob.glob(os.path.join(text_ops, "python", "ops", "*.so"))):
        tf.load_op_library(library)

    jobs = json.loads(sys.stdin.read())
    out = {}
    for name, (path, sizes) in jobs.items():
        serve = tf.saved_model.load(path).signatures["serving_default"]
        out[name] = {}
        for size in sizes:
            result = serve(text=tf.constant(json.loads(sys.argv[1])[:size], tf.string))
            out[name][size] = {
                key: value.numpy().tolist() for key, value in result.items()
            }
        # Text of another rank is refused, not served (a scalar crashed it).
        out[name]["refused"] = []
        for bad in (tf.constant("a"), tf.constant([["a"]])):
            try:
                serve(text=bad)
                out[name]["refused"].append(None)
            except tf.errors.InvalidArgumentError as e:
                out[name]["refused"].append(type(e).__name__)
    print(json.dumps(out, default=lambda b: b.decode("utf-8")))
    """
)


def serve_in_fresh_process(exports, sentences, sizes=BATCH_SIZES):
    """`{name: {batch size: outputs}}` of each SavedModel in `exports` `{name: path}`."""
    jobs = {name: (str(path), list(sizes)) for name, path in exports.items()}
    result = subprocess.run(
        [sys.executable, "-c", SERVE, json.dumps(sentences)],
        input=json.dumps(jobs),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    served = json.loads(result.stdout.strip().splitlines()[-1])
    for name, sizes in served.items():
        assert sizes.pop("refused") == ["InvalidArgumentError"] * 2, name
    return {name: {int(size): out for size, out in sizes.items()} for name, sizes in served.items()}


# For one test, with a subtest per family and strategy: the items of a
# parametrized test went to both xdist workers, and each built these (about
# 65 s here).
@pytest.fixture
def models(trained_translator, toy_pairs):
    import zoo

    models = {}
    for family, spec in FAMILIES.items():
        if spec is None:
            models[family] = trained_translator
        else:
            preset, options = spec
            models[family] = zoo.load(preset, train_data=toy_pairs, **tiny(preset), **options)
    return models


@pytest.fixture
def served(models, tmp_path):
    exports = {}
    for family, model in models.items():
        for name, strategy in STRATEGIES.items():
            exports[f"{family}/{name}"] = path = tmp_path / f"{len(exports)}"
            model.export(str(path), strategy=strategy)
    return serve_in_fresh_process(exports, SENTENCES)


def _live(model, strategy, size=None, **options):
    """The live results for the first `size` sentences decoded together, as the export served them.

    An over-long sentence is cut to `max_source_length` tokens, as the export
    cuts it. The batch is the served one: the matmul kernels, and so the last
    bits of every score, depend on how many rows they multiply, and an
    untrained model's beams can tie to those bits.
    """
    tokenizer, limit = model.preprocessor.source_tokenizer, model.preprocessor.max_source_length
    ids = tokenizer.tokenize(tf.constant(SENTENCES))
    cut = [t.decode("utf-8") for t in tokenizer.detokenize(ids[:, :limit]).numpy()]
    sentences = [c if n > limit else s for s, c, n in zip(SENTENCES, cut, ids.row_lengths().numpy())]
    assert sentences != SENTENCES
    size = size or len(sentences)
    return model.translate(
        sentences[:size], strategy=strategy, batch_size=size, return_attention=True, **options
    )


@pytest.mark.slow
def test_export_serves_the_live_strings(models, served, subtests):
    for family in FAMILIES:
        for strategy in sorted(STRATEGIES):
            with subtests.test(family=family, strategy=strategy):
                _check_served(family, strategy, models[family], served[f"{family}/{strategy}"])


def _check_served(family, strategy, model, served):
    for size, outputs in served.items():
        if size == 0:
            assert outputs == {"translation": [], "score": []}
            continue
        live = _live(model, STRATEGIES[strategy], size)
        assert outputs["translation"] == [r.text for r in live]
        np.testing.assert_allclose(outputs["score"], [r.score for r in live], rtol=1e-4, atol=1e-4)
    assert live[1].text == "" and live[1].score == 0.0
    if family == "trained gru_luong":
        assert live[0].text == "the cat eats"


@pytest.mark.slow
def test_export_with_attention(trained_translator, tmp_path, capsys):
    strategy = BeamSearch(4, coverage_penalty=0.2)
    # `format` and `verbose` as Keras' `Model.export` takes them.
    trained_translator.export(
        str(tmp_path / "exported"),
        strategy=strategy,
        return_attention=True,
        format="tf_saved_model",
        verbose=True,
    )
    assert capsys.readouterr().out == (
        f"Saved a SavedModel at {tmp_path / 'exported'}: serving_default(text: tf.string[None]) -> "
        "attention, output_tokens, score, source_tokens, translation\n"
    )
    served = serve_in_fresh_process({"m": tmp_path / "exported"}, SENTENCES, sizes=(0, 6))["m"]
    assert {key: np.size(value) for key, value in served[0].items()} == dict.fromkeys(served[6], 0)
    served = served[6]
    live = _live(trained_translator, strategy)
    for i, result in enumerate(live):
        rows, columns = len(result.output_tokens), len(result.source_tokens)
        attention = np.array(served["attention"][i])
        np.testing.assert_allclose(attention[:rows, :columns], result.attention, atol=1e-5)
        assert not attention[rows:].any() and not attention[:, columns:].any()
        assert [t for t in served["source_tokens"][i] if t] == result.source_tokens
        assert [t for t in served["output_tokens"][i] if t] == result.output_tokens


@pytest.mark.slow
def test_export_serves_the_n_best(trained_translator, tmp_path):
    strategy = BeamSearch(4, num_hypotheses=3)
    trained_translator.export(str(tmp_path / "exported"), strategy=strategy)
    served = serve_in_fresh_process({"m": tmp_path / "exported"}, SENTENCES, sizes=(0, 6))["m"]
    assert served[0] == {"translation": [], "score": [], "n_best": [], "n_best_scores": []}
    served, live = served[6], _live(trained_translator, strategy)
    assert served["n_best"] == [[r.text for r in hypotheses] for hypotheses in live]
    np.testing.assert_allclose(
        served["n_best_scores"], [[r.score for r in hypotheses] for hypotheses in live], rtol=1e-4, atol=1e-4
    )
    assert served["translation"] == [row[0] for row in served["n_best"]]
    assert served["n_best"][0][0] == "the cat eats"


@pytest.mark.slow
def test_export_keeps_the_max_length_factor(trained_translator, tmp_path):
    exports = {}
    for name, strategy in STRATEGIES.items():
        exports[name] = tmp_path / name
        trained_translator.export(str(exports[name]), strategy=strategy, max_length_factor=0.3)
    served = serve_in_fresh_process(exports, SENTENCES, sizes=(6,))
    for name, strategy in STRATEGIES.items():
        live = _live(trained_translator, strategy, max_length_factor=0.3)
        assert served[name][6]["translation"] == [r.text for r in live]
        assert _live(trained_translator, strategy)[0].text == "the cat eats"
        # Greedy is cut after 2 tokens; beam search prefers a finished 2-token output to it.
        assert live[0].text == {"greedy": "the cat", "beam": "eats"}[name]


def test_export_options_are_checked(trained_translator, tmp_path):
    with pytest.raises(ValueError, match="deterministically"):
        trained_translator.export(str(tmp_path / "x"), strategy=RandomSampling())
    with pytest.raises(ValueError, match="max_length"):
        trained_translator.export(str(tmp_path / "x"), max_length=0)
    with pytest.raises(ValueError, match="beam_width"):
        trained_translator.export(str(tmp_path / "x"), beam_width=0)
    with pytest.raises(ValueError, match="max_length_factor"):
        trained_translator.export(str(tmp_path / "x"), max_length_factor=0)
    with pytest.raises(ValueError, match="`format` must be 'tf_saved_model', received 'onnx'"):
        trained_translator.export(str(tmp_path / "x"), format="onnx")
    with pytest.raises(TypeError, match="second argument is `max_length`.*format='tf_saved_model'"):
        trained_translator.export(str(tmp_path / "x"), "tf_saved_model")  # Keras' order
    assert not (tmp_path / "x").exists()


def test_export_replaces_an_earlier_export_and_nothing_else(trained_translator, tmp_path):
    preset = tmp_path / "preset"
    trained_translator.save_to_preset(preset)
    before = {p.name: p.read_bytes() for p in preset.rglob("*") if p.is_file()}
    # `zoo export PRESET PRESET`: the export would delete the preset it came from.
    with pytest.raises(FileExistsError, match="preset already exists and is not a SavedModel.*config.json"):
        trained_translator.export(str(preset))
    assert {p.name: p.read_bytes() for p in preset.rglob("*") if p.is_file()} == before
    exported = tmp_path / "exported"
    trained_translator.export(str(exported))
    trained_translator.export(str(exported), beam_width=2)  # an earlier export is replaced
    served = tf.saved_model.load(str(exported)).signatures["serving_default"]
    text = tf.constant(["el gato come"])
    assert served(text=text)["translation"].numpy()[0].decode() == trained_translator.translate(
        "el gato come", beam_width=2
    )
