import json
import os
import pathlib
import re

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from tests.conftest import TINY, tiny
from tests.helpers import assert_keras_round_trip, check_preset, pad_right


def test_trained_model_translates(trained_translator, toy_pairs):
    sources, targets = toy_pairs
    assert trained_translator.translate(sources) == targets
    assert trained_translator.translate("hola") == "hello"


def test_loss_and_accuracy_ignore_padding(trained_translator, toy_pairs):
    x, y, weights = trained_translator.preprocessor(
        tf.constant(toy_pairs[0][:4]), tf.constant(toy_pairs[1][:4])
    )
    logits = np.asarray(trained_translator(x), "float64")
    y, weights = y.numpy(), weights.numpy()
    log_probs = (
        logits
        - np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1, keepdims=True))
        - logits.max(-1, keepdims=True)
    )
    token_loss = -np.take_along_axis(log_probs, y[..., None], -1)[..., 0]
    expected_loss = (token_loss * weights).sum() / weights.sum()
    expected_accuracy = ((logits.argmax(-1) == y) * weights).sum() / weights.sum()
    dataset = tf.data.Dataset.from_tensors((x, y, weights))
    metrics = trained_translator.evaluate(dataset, verbose=0, return_dict=True)
    # This model is near-certain (about 0.001 a token), where float32 holds a
    # probability near 1 to about 1e-7: hence the absolute tolerance.
    assert metrics["loss"] == pytest.approx(expected_loss, rel=1e-4, abs=1e-6)
    assert metrics["accuracy"] == pytest.approx(expected_accuracy, rel=1e-6)
    assert weights.min() == 0.0  # the batch really has padding


def test_padding_changes_no_logits(trained_translator, toy_pairs):
    x, _, _ = trained_translator.preprocessor(tf.constant(toy_pairs[0][:4]), tf.constant(toy_pairs[1][:4]))
    x = {k: v.numpy() for k, v in x.items()}
    logits = np.asarray(trained_translator(x))
    padded = {k: pad_right(v, 3) for k, v in x.items()}
    padded_logits = np.asarray(trained_translator(padded))[:, : logits.shape[1]]
    real = x["decoder_token_ids"] != 0
    np.testing.assert_allclose(padded_logits[real], logits[real], atol=1e-5)


def test_backbone_keras_round_trip(trained_translator, toy_pairs, tmp_path):
    x, _, _ = trained_translator.preprocessor(tf.constant(toy_pairs[0][:3]), tf.constant(toy_pairs[1][:3]))
    assert_keras_round_trip(trained_translator.backbone, x, tmp_path)


def test_translator_keras_round_trip(trained_translator, toy_pairs, tmp_path):
    path = str(tmp_path / "translator.keras")
    trained_translator.save(path)
    restored = keras.saving.load_model(path)
    assert restored.translate(toy_pairs[0]) == trained_translator.translate(toy_pairs[0])


def test_translate_details(trained_translator):
    result = trained_translator.translate("el gato come", return_attention=True)
    assert result.text == "the cat eats"
    assert result.source_tokens == ["el", "gato", "come"]
    assert result.output_tokens == ["the", "cat", "eats", "[END]"]
    assert result.attention.shape == (4, 3)
    np.testing.assert_allclose(result.attention.sum(-1), 1.0, atol=1e-5)
    alignment = result.alignment()
    assert [out for out, _ in alignment] == ["the", "cat", "eats", "[END]"]
    assert all(src in result.source_tokens for _, src in alignment)
    assert [src for _, src in alignment] == [result.source_tokens[j] for j in result.attention.argmax(-1)]
    # Tokens read as words: the mark joining "?" to its word is left out.
    asked = trained_translator.translate("¿dónde está el gato?", return_attention=True)
    assert "￭?" in asked.output_tokens and "￭?" in asked.source_tokens
    assert [out for out, _ in asked.alignment()][-2:] == ["?", "[END]"]
    assert not any("￭" in (out + (src or "")) for out, src in asked.alignment())
    assert result.score < 0.0


def test_translate_edge_cases(trained_translator):
    assert trained_translator.translate("") == ""
    assert trained_translator.translate(["", "   "]) == ["", ""]
    assert trained_translator.translate([]) == []
    assert isinstance(trained_translator.translate("zebra xylophone"), str)  # all unknown words
    assert len(trained_translator.translate("hola", max_length=1).split()) <= 1


def test_translate_takes_strings_as_tensorflow_and_numpy_give_them(trained_translator, toy_pairs):
    sentences = list(toy_pairs[0][:3]) + ["¿qué?"]
    expected = trained_translator.translate(sentences)
    assert trained_translator.translate(tf.constant(sentences)) == expected
    assert trained_translator.translate([s.encode() for s in sentences]) == expected
    assert trained_translator.translate(np.array([s.encode() for s in sentences])) == expected
    assert trained_translator.translate(np.array(sentences)) == expected
    assert trained_translator.translate(tf.constant(sentences[3])) == expected[3]
    assert trained_translator.translate(sentences[3].encode()) == expected[3]
    assert trained_translator.translate(np.array(sentences[3])) == expected[3]  # 0-d: one sentence
    assert trained_translator.translate(np.array(sentences[3].encode())) == expected[3]
    dataset = tf.data.Dataset.from_tensor_slices(sentences)
    assert trained_translator.translate(dataset.as_numpy_iterator()) == expected
    assert trained_translator.translate(dataset) == expected
    assert trained_translator.translate(dataset.batch(3)) == expected
    assert trained_translator.translate(dataset.take(1)) == expected[:1]  # a list, as for a list of one


def test_text_pairs_as_a_list_of_tuples(trained_translator, toy_pairs):
    from zoo.text_inputs import check_text_pairs

    sources, targets = list(toy_pairs[0][:2]), list(toy_pairs[1][:2])
    expected = (sources, targets)
    # Two pairs as a list of tuples were read as (sources, targets): the first pair
    # became the sources. The containers now tell the two forms apart.
    assert check_text_pairs(list(zip(sources, targets)), "x") == expected
    assert check_text_pairs((sources, targets), "x") == expected
    assert check_text_pairs([sources, targets], "x") == expected
    pairs = list(zip(toy_pairs[0], toy_pairs[1]))
    as_tuples = trained_translator.evaluate(pairs, verbose=0, return_dict=True)
    as_lists = trained_translator.evaluate(
        (list(toy_pairs[0]), list(toy_pairs[1])), verbose=0, return_dict=True
    )
    assert as_tuples == pytest.approx(as_lists)
    from_tuples = zoo.load("gru_luong_small", train_data=pairs, **TINY).preprocessor
    from_lists = zoo.load("gru_luong_small", train_data=toy_pairs, **TINY).preprocessor
    for side in ("source_tokenizer", "target_tokenizer"):
        assert getattr(from_tuples, side).vocabulary == getattr(from_lists, side).vocabulary
    with pytest.raises(TypeError, match="a list of \\(source, target\\) tuples.*received list of 3 items"):
        check_text_pairs([("a", "b", "c")] * 3, "x")


def test_truncate_cuts_over_long_sentences_as_the_export_does(trained_translator):
    """`truncate=True` reads the first `max_source_length` tokens of an over-long sentence, as the export does."""
    long_sentence = " ".join(["el gato come"] * 50)  # 150 tokens
    cut = " ".join(long_sentence.split()[:100])
    sentences = ["hola", long_sentence, "el gato", " ".join(["gato"] * 101)]
    expected = trained_translator.translate(["hola", cut, "el gato", " ".join(["gato"] * 100)], batch_size=4)
    for batch_size in (4, 1):  # one batch, and the path that groups by length first
        assert trained_translator.translate(sentences, batch_size=batch_size, truncate=True) == expected
    result = trained_translator.translate(long_sentence, truncate=True, return_attention=True)
    assert result.source_tokens == cut.split() and result.attention.shape[1] == 100
    with pytest.raises(ValueError, match="`truncate` must be True or False, received 'yes'"):
        trained_translator.translate("hola", truncate="yes")


def test_from_preset_is_zoo_load_under_keras_hubs_name(trained_translator, toy_pairs, tmp_path):
    path = tmp_path / "preset"
    trained_translator.save_to_preset(path)
    loaded = zoo.Translator.from_preset(str(path), max_source_length=150)
    assert loaded.preprocessor.max_source_length == 150
    for got, want in zip(loaded.get_weights(), trained_translator.get_weights()):
        np.testing.assert_array_equal(got, want)
    built = zoo.Translator.from_preset("gru_luong_small", train_data=toy_pairs, hidden_dim=8)
    assert built.backbone.hidden_dim == 8
    assert (
        built.get_config()["source_vocabulary"]
        == zoo.load("gru_luong_small", train_data=toy_pairs).get_config()["source_vocabulary"]
    )
    with pytest.raises(ValueError, match="Unknown preset: 'gru_loung'. Did you mean 'gru_luong'"):
        zoo.Translator.from_preset("gru_loung", train_data=toy_pairs)


def test_a_saved_preset_takes_new_length_limits_and_nothing_else(trained_translator, tmp_path):
    """No weight depends on `max_source_length`: a saved model may read longer sentences, or be held to shorter."""
    path = tmp_path / "preset"
    trained_translator.save_to_preset(path)
    long_sentence = " ".join(["el gato come"] * 40)  # 120 tokens: over the saved 100
    with pytest.raises(ValueError, match="this model reads at most 100"):
        zoo.load(str(path)).translate(long_sentence)
    longer = zoo.load(str(path), max_source_length=150)
    assert (longer.preprocessor.max_source_length, longer.preprocessor.max_target_length) == (150, 100)
    assert isinstance(longer.translate(long_sentence), str)  # all 120 tokens read
    assert longer.translate(["hola", "el gato"]) == trained_translator.translate(["hola", "el gato"])
    shorter = zoo.load(str(path), max_source_length=2, max_target_length=5)
    with pytest.raises(ValueError, match="this model reads at most 2"):
        shorter.translate("el gato come")
    with pytest.raises(
        ValueError, match="hidden_dim cannot change. Of a saved preset only max_source_length"
    ):
        zoo.load(str(path), hidden_dim=8, max_source_length=150)
    with pytest.raises(ValueError, match="`max_source_length` must be a positive int, received 0"):
        zoo.load(str(path), max_source_length=0)
    with pytest.raises(ValueError, match="saved preset with its own vocabularies; `train_data` applies only"):
        zoo.load(str(path), train_data=(["a"], ["b"]))


def test_translate_bad_input(trained_translator):
    with pytest.raises(TypeError, match="Source sentence 1 is not a str but int: 3\\.$"):
        trained_translator.translate(["hola", 3])
    with pytest.raises(
        TypeError, match="sentence 0 is not a str but list: \\['el', 'gato'\\]. A sentence is one"
    ):
        trained_translator.translate([["el", "gato"]])
    with pytest.raises(ValueError, match="Source sentence 1 is bytes that are not UTF-8 .*at byte 1"):
        trained_translator.translate([b"hola", b"c\xe9sped"])
    with pytest.raises(TypeError, match="a tensor of int32 and shape \\(2,\\), where a 1-D tf.string"):
        trained_translator.translate(tf.constant([1, 2]))
    with pytest.raises(TypeError, match="a tensor of string and shape \\(1, 1\\)"):
        trained_translator.translate(tf.constant([["hola"]]))
    with pytest.raises(ValueError, match="Sentence 0 has 101 tokens.*at most 100"):
        trained_translator.translate(" ".join(["gato"] * 101))
    # One batch is checked by the decoding call itself, more by a pass before.
    sentences = ["hola", "el gato", " ".join(["gato"] * 120), " ".join(["gato"] * 101)]
    for batch_size in (4, 1):
        with pytest.raises(
            ValueError, match="Sentence 2 has 120 tokens.*2 sentence\\(s\\) are too long"
        ) as error:
            trained_translator.translate(sentences, batch_size=batch_size)
        # The figures, for a caller that names the sentence its own way (`zoo translate`: by line).
        assert (error.value.index, error.value.length, error.value.limit, error.value.count) == (
            2,
            120,
            100,
            2,
        )
    with pytest.raises(ValueError, match="max_length"):
        trained_translator.translate("hola", max_length=0)
    # Containers whose order is not the caller's, or that are not a list of sentences.
    with pytest.raises(TypeError, match="received a set, whose order is arbitrary: pass a list"):
        trained_translator.translate({"hola", "el gato"})
    with pytest.raises(TypeError, match="received a dict; pass a list of its values or keys"):
        trained_translator.translate({"hola": "hello"})

    class Table(list):  # iterates as a pandas DataFrame does: over its column names
        columns = ["es", "en"]

    with pytest.raises(TypeError, match="received a Table; pass one of its columns, such as `df\\['es'\\]`"):
        trained_translator.translate(Table(["es", "en"]))
    with pytest.raises(TypeError, match="must yield strings, one or a batch at a time; this one yields"):
        trained_translator.translate(tf.data.Dataset.from_tensor_slices({"es": ["hola"]}))
    with pytest.raises(TypeError, match="must yield strings"):
        trained_translator.translate(tf.data.Dataset.from_tensor_slices([[1, 2]]))
    with pytest.raises(
        ValueError, match="sentences is an endless dataset \\(it repeats\\); give a finite one"
    ):
        trained_translator.translate(tf.data.Dataset.from_tensor_slices(["hola"]).repeat())


def test_preset_round_trip(trained_translator, toy_pairs, tmp_path):
    path = tmp_path / "preset"
    trained_translator.save_to_preset(path)
    assert sorted(p.name for p in path.iterdir()) == [
        "assets",
        "config.json",
        "metadata.json",
        "model.weights.h5",
    ]
    metadata = json.loads((path / "metadata.json").read_text())
    assert metadata["parameter_count"] == trained_translator.backbone.count_params()
    restored = zoo.load(str(path))
    x, _, _ = trained_translator.preprocessor(tf.constant(toy_pairs[0]), tf.constant(toy_pairs[1]))
    np.testing.assert_array_equal(restored(x), trained_translator(x))
    assert restored.translate(toy_pairs[0]) == trained_translator.translate(toy_pairs[0])
    trained_translator.save_to_preset(path)  # overwriting an existing preset works
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left behind
    # Anything but an earlier preset is refused and left as it was: a user's
    # file beside the preset, an export.
    (path / "README.md").write_text("mine")
    with pytest.raises(FileExistsError, match="is not a preset directory: it holds README.md"):
        trained_translator.save_to_preset(path)
    assert (path / "README.md").read_text() == "mine"
    assert zoo.load(str(path)).translate(toy_pairs[0]) == trained_translator.translate(toy_pairs[0])


def test_a_path_from_home_is_read_as_a_shell_reads_it(trained_translator, toy_pairs, tmp_path, monkeypatch):
    """`~/x` in `save_to_preset`, `zoo.load`, `export` and the plots is the home folder's x, not `./~/x`."""
    from training.plots import plot_attention

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    trained_translator.save_to_preset("~/preset")
    trained_translator.export("~/exported")
    plot_attention(trained_translator.translate(toy_pairs[0][0], return_attention=True), "~/a.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "exported", "preset"]
    assert zoo.load("~/preset").translate(toy_pairs[0]) == trained_translator.translate(toy_pairs[0])


def test_broken_preset_directories(trained_translator, tmp_path):
    path = tmp_path / "preset"
    trained_translator.save_to_preset(path)
    (path / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="config.json: not valid JSON"):
        zoo.load(str(path))
    trained_translator.save_to_preset(path)
    config = json.loads((path / "config.json").read_text())
    config["config"]["backbone"]["class_name"] = "os.system"
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="config.json: malformed or unknown entry"):
        zoo.load(str(path))
    trained_translator.save_to_preset(path)
    metadata = json.loads((path / "metadata.json").read_text())
    (path / "metadata.json").write_text(json.dumps(dict(metadata, format_version=99)))
    with pytest.raises(ValueError, match="format_version 99"):
        zoo.load(str(path))
    trained_translator.save_to_preset(path)
    with open(path / "assets" / "target_vocabulary.txt", "a", encoding="utf-8") as f:
        f.write("extra\n")
    with pytest.raises(ValueError, match="vocabulary mismatch"):
        zoo.load(str(path))
    trained_translator.save_to_preset(path)
    (path / "model.weights.h5").unlink()
    with pytest.raises(ValueError, match="model.weights.h5 is missing"):
        zoo.load(str(path))


@pytest.mark.parametrize(
    "section, key, value, message",
    [
        (
            "backbone",
            "hiden_dim",
            64,
            r"unexpected keyword argument 'hiden_dim' \(did you mean 'hidden_dim'\?\)",
        ),
        ("backbone", "hidden_dim", "16", r"`hidden_dim` must be an int >= 1, received '16'"),
        ("backbone", "num_layers", 1.0, r"`num_layers` must be an int >= 1, received 1.0"),
        ("backbone", "output_norm", "false", r"`output_norm` must be True or False, received 'false'"),
        ("backbone", "dropout", None, r"`dropout` must be in \[0, 1\), received dropout=None"),
        (
            "preprocessor",
            "max_source_length",
            True,
            r"`max_source_length` must be a positive int, received True",
        ),
    ],
)
def test_a_hand_edited_config_names_the_setting(trained_translator, tmp_path, section, key, value, message):
    """A typo or a quoted number in config.json is an error naming it, not a default or a model of another size."""
    path = tmp_path / "preset"
    trained_translator.save_to_preset(path)
    config = json.loads((path / "config.json").read_text())
    settings = config["config"][section]
    settings = settings["config"] if section == "backbone" else settings
    assert key.startswith("hiden") or key in settings  # the saved form, edited
    settings[key] = value
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=f"config.json: invalid settings: .*{message}"):
        zoo.load(str(path))


def test_a_folder_that_holds_a_model_of_another_form_says_where_the_preset_is(trained_translator, tmp_path):
    # A training run's folder, its checkpoint folder and its export, as `zoo train` writes them.
    run = tmp_path / "run"
    trained_translator.save_to_preset(run / "preset")
    trained_translator.save_to_preset(run / "checkpoint" / "best")
    trained_translator.export(run / "exported")
    (run / "logs").mkdir()
    with pytest.raises(ValueError, match=f"It holds the preset directory {run}/preset: load that instead"):
        zoo.load(run)
    with pytest.raises(ValueError, match=f"holds the preset directory {run}/checkpoint/best: load that"):
        zoo.load(run / "checkpoint")
    with pytest.raises(ValueError, match="It is a SavedModel .*`tf.saved_model.load`; load the preset"):
        zoo.load(run / "exported")
    with pytest.raises(ValueError, match=r"config.json is missing\.$"):
        zoo.load(run / "logs")
    trained_translator.save_to_preset(run / "other")
    with pytest.raises(ValueError, match=f"directories {run}/other, {run}/preset: load one of those"):
        zoo.load(run)


def test_a_dataset_of_string_pairs_is_text_pairs_everywhere(toy_pairs):
    """A tf.data (or TFDS) dataset of `(source, target)` strings learns vocabularies and is scored like lists."""
    from training import evaluate
    from training.validation_bleu import ValidationBleu

    sources, targets = toy_pairs
    dataset = tf.data.Dataset.from_tensor_slices((sources, targets))
    expected = zoo.load("gru_luong", train_data=toy_pairs, **TINY)
    for data in (dataset, dataset.batch(5)):
        model = zoo.load("gru_luong", train_data=data, **TINY)
        for side in ("source_tokenizer", "target_tokenizer"):
            vocabulary = getattr(model.preprocessor, side).vocabulary
            assert list(vocabulary) == list(getattr(expected.preprocessor, side).vocabulary)
        assert evaluate(expected, data).translations == evaluate(expected, toy_pairs).translations
    callback = ValidationBleu(dataset.batch(3))
    assert callback.pairs == (list(sources), list(targets))
    with pytest.raises(ValueError, match="`train_data` is an endless dataset .*`dataset.take\\(n\\)`"):
        zoo.load("gru_luong", train_data=dataset.repeat(), **TINY)
    records = tf.data.Dataset.from_tensor_slices({"es": sources, "en": targets})
    with pytest.raises(
        TypeError, match="`pairs` must yield \\(source, target\\) pairs of strings; this one yields {"
    ):
        evaluate(expected, records)
    with pytest.raises(ValueError, match="`train_data` is empty"):
        zoo.load("gru_luong", train_data=dataset.take(0), **TINY)


def test_load_errors(toy_pairs, tmp_path):
    with pytest.raises(ValueError, match="Unknown preset: 'gru_lounge'. Did you mean 'gru_luong'\\?"):
        zoo.load("gru_lounge", train_data=toy_pairs)
    with pytest.raises(ValueError, match="Unknown preset: 'xyz'. Expected one of"):  # nothing close
        zoo.load("xyz", train_data=toy_pairs)
    with pytest.raises(TypeError, match="`preset` must be a built-in preset name or the path .*NoneType"):
        zoo.load(None)
    with pytest.raises(ValueError, match="'hf://a/b' is a remote handle; .*Download the preset first"):
        zoo.load("hf://a/b")
    with pytest.raises(ValueError, match="train_data"):
        zoo.load("gru_luong")
    with pytest.raises(
        ValueError, match="Unknown setting 'hidden_size' for preset 'gru_luong'. Did you mean 'hidden_dim'\\?"
    ):
        zoo.load("gru_luong", train_data=toy_pairs, hidden_size=3)

    class Table:  # as a pandas DataFrame: which column is which is the user's to say
        columns = ["es", "en"]

    with pytest.raises(TypeError, match="received Table. For a table, pass its two columns"):
        zoo.load("gru_luong", train_data=Table())
    for path in ("pairs.tsv", pathlib.Path("pairs.tsv")):  # a path is not read silently as some format
        with pytest.raises(
            TypeError,
            match=r"received (str|\w*Path)\. For a file, read it first: `training.datasets.load_tsv\('pairs.tsv'",
        ):
            zoo.load("gru_luong", train_data=path)
    with pytest.raises(ValueError, match="'num_layers' of preset 'gru_luong' must be an int .*received '2'"):
        zoo.load("gru_luong", train_data=toy_pairs, num_layers="2")
    with pytest.raises(ValueError, match="'residual' of preset 'gru_luong' must be a bool .*received 1"):
        zoo.load("gru_luong", train_data=toy_pairs, residual=1)
    # Keras' Dropout would name its `rate`, and take 1.0 (every value dropped, a model that learns nothing).
    for preset, dropout in (("gru_luong", 2.0), ("gru_luong", 1.0), ("transformer_small", 1.0)):
        with pytest.raises(ValueError, match=f"`dropout` must be in \\[0, 1\\), received dropout={dropout}"):
            zoo.load(preset, train_data=toy_pairs, dropout=dropout)
    # NumPy scalars are numbers like any other, saved as plain JSON.
    model = zoo.load(
        "gru_luong_small", train_data=toy_pairs, hidden_dim=np.int64(8), embedding_dim=np.int64(4)
    )
    assert type(model.backbone.get_config()["hidden_dim"]) is int
    with pytest.raises(FileNotFoundError, match="No preset directory"):
        zoo.load(str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match=f"No preset directory at {os.path.expanduser('~')}"):
        zoo.load("~/nowhere-in-home")  # `~` is the home folder, as in a shell
    with pytest.raises(ValueError, match="3 source sentences but 2 target"):
        zoo.load("gru_luong", train_data=(["a", "b", "c"], ["x", "y"]))


def test_loading_a_file_says_what_it_is_and_what_reads_it(trained_translator, tmp_path):
    trained_translator.save(tmp_path / "model.keras")
    trained_translator.save_weights(tmp_path / "model.weights.h5")
    trained_translator.save_to_preset(tmp_path / "preset")
    (tmp_path / "legacy.h5").write_bytes(b"\x89HDF")
    (tmp_path / "notes.txt").write_text("")
    preset = re.escape(str(tmp_path / "preset"))
    for name, note in (
        (
            "model.keras",
            r"a `\.keras` file .*`keras\.saving\.load_model` reads after `import zoo`.*save_to_preset",
        ),
        ("model.weights.h5", r"weights alone: build the model .*`model\.load_weights\(path\)`"),
        ("legacy.h5", r"legacy Keras model loads with .*custom_objects=\{'Translator': zoo\.Translator\}"),
        ("preset/config.json", rf"a file of the preset directory {preset}: load that directory\.$"),
        (
            "preset/assets/source_vocabulary.txt",
            rf"a file of the preset directory {preset}: load that directory",
        ),
        ("notes.txt", r"is a file; a preset is a directory\.$"),
    ):
        with pytest.raises(
            FileNotFoundError, match=rf"^No preset directory at .*{re.escape(name)}\. It .*{note}"
        ):
            zoo.load(tmp_path / name)


def test_a_folder_named_like_a_preset_means_it_only_without_train_data(
    trained_translator, toy_pairs, tmp_path, monkeypatch
):
    # A run's output folder named after its preset (`zoo train --out gru_luong_small`)
    # is in the working directory when the same command runs again to resume.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "gru_luong_small" / "checkpoint").mkdir(parents=True)
    fresh = zoo.load("gru_luong_small", train_data=toy_pairs, hidden_dim=8)  # the built-in preset
    assert fresh.backbone.hidden_dim == 8
    with pytest.raises(ValueError, match="not a preset directory.*needs `train_data"):
        zoo.load("gru_luong_small")
    # Saving a preset would delete the run's checkpoints: refused, nothing touched.
    with pytest.raises(
        FileExistsError, match="gru_luong_small already exists and is not a preset.*checkpoint"
    ):
        trained_translator.save_to_preset(tmp_path / "gru_luong_small")
    assert os.listdir(tmp_path / "gru_luong_small") == ["checkpoint"]
    # Once a preset is saved there, the bare name loads it; with train_data, the built-in.
    (tmp_path / "gru_luong_small" / "checkpoint").rmdir()
    trained_translator.save_to_preset(tmp_path / "gru_luong_small")
    restored = zoo.load("gru_luong_small")
    assert restored.translate(toy_pairs[0]) == trained_translator.translate(toy_pairs[0])
    untrained = zoo.load("gru_luong_small", train_data=toy_pairs, **TINY)
    trained_kernel = trained_translator.backbone.output_projection.kernel.numpy()
    assert not np.array_equal(untrained.backbone.output_projection.kernel.numpy(), trained_kernel)
    np.testing.assert_array_equal(restored.backbone.output_projection.kernel.numpy(), trained_kernel)


# A `_small` preset is its namesake at smaller sizes and without dropout, so
# at the tests' tiny sizes the two are one model, checked once (the export
# tests build each `_small` one).
FULL_PRESETS = sorted(name for name in zoo.PRESETS if not name.endswith("_small"))


@pytest.mark.parametrize("preset", FULL_PRESETS)
def test_every_preset(preset, toy_pairs, tmp_path):
    check_preset(zoo.load(preset, train_data=toy_pairs, **tiny(preset)), toy_pairs, tmp_path)


def test_a_small_preset_is_its_namesake_at_smaller_sizes():
    sizes = {"hidden_dim", "embedding_dim", "intermediate_dim", "num_heads", "num_layers", "dropout"}
    small = [name for name in zoo.PRESETS if name.endswith("_small")]
    assert len(small) == 4
    for name in small:
        preset, namesake = zoo.get_preset(name), zoo.get_preset(name.removesuffix("_small"))
        config, namesake_config = preset["backbone"]["config"], namesake["backbone"]["config"]
        assert config.keys() == namesake_config.keys()
        assert {key for key in config if config[key] != namesake_config[key]} <= sizes, name
        assert {**preset, "backbone": None, "description": None} == {
            **namesake,
            "backbone": None,
            "description": None,
        }
        assert preset["backbone"]["class_name"] == namesake["backbone"]["class_name"]


def test_luong_score_is_selectable(toy_pairs):
    for score in ("dot", "general", "concat"):
        model = zoo.load("gru_luong", train_data=toy_pairs, attention_score=score, **TINY)
        assert model.backbone.decoder.attention_layer.score_mode == score
    with pytest.raises(ValueError, match="Luong `score_mode`: 'additive'"):
        zoo.load("gru_luong", train_data=toy_pairs, attention_score="additive")


def test_output_norm_normalizes_what_the_vocabulary_projection_reads(toy_pairs):
    model = zoo.load("gru_luong", train_data=toy_pairs, **TINY)
    backbone = model.backbone
    assert backbone.output_norm and backbone.get_config()["output_norm"]
    norm = backbone.output_norm_layer
    norm.gamma.assign(np.linspace(0.5, 1.5, TINY["hidden_dim"]).astype("float32"))
    norm.beta.assign(np.linspace(-0.2, 0.2, TINY["hidden_dim"]).astype("float32"))
    cache = backbone.encode(tf.constant([[5, 6, 7]]))
    logits, cache = backbone.next(tf.constant([2]), cache, 0)
    h = cache["output"].numpy().astype("float64")
    normalized = (h - h.mean(-1, keepdims=True)) / np.sqrt(h.var(-1, keepdims=True) + norm.epsilon)
    kernel, bias = (w.numpy() for w in backbone.output_projection.weights)
    expected = (normalized * norm.gamma.numpy() + norm.beta.numpy()) @ kernel + bias
    np.testing.assert_allclose(logits.numpy(), expected, rtol=1e-4, atol=1e-5)
    # A config saved before the option existed loads as it was saved: without the norm.
    config = backbone.get_config()
    del config["output_norm"]
    old = zoo.RecurrentSeq2Seq.from_config(config)
    assert (
        old.output_norm_layer is None
        and old.count_params() == backbone.count_params() - 2 * TINY["hidden_dim"]
    )
    with_off = zoo.load("gru_luong", train_data=toy_pairs, output_norm=False, **TINY)
    assert with_off.backbone.output_norm_layer is None


def test_initial_logits_have_one_scale_whatever_the_vocabulary():
    def initial_logit_std(vocabulary_size, **settings):
        keras.utils.set_random_seed(0)
        backbone = zoo.RecurrentSeq2Seq(50, vocabulary_size, hidden_dim=64, attention="luong", **settings)
        rng = np.random.default_rng(0)
        ids = {
            "encoder_token_ids": rng.integers(1, 50, size=(32, 12)).astype("int32"),
            "decoder_token_ids": rng.integers(1, vocabulary_size, size=(32, 12)).astype("int32"),
        }
        return np.asarray(backbone(ids)).std(), backbone.output_projection.kernel.numpy().std()

    (small, small_kernel), (large, large_kernel) = (
        initial_logit_std(v, output_norm=True) for v in (20, 5000)
    )
    assert small == pytest.approx(large, rel=0.1)
    for kernel in (small_kernel, large_kernel):
        assert kernel == pytest.approx(zoo.recurrent_seq2seq.INITIAL_LOGIT_SCALE / 8, rel=0.05)  # sqrt(64)
    # Without the norm the projection reads features of unknown scale and keeps
    # Keras' Glorot default, whose scale falls as the vocabulary grows.
    (small, _), (large, _) = (initial_logit_std(v, output_norm=False) for v in (20, 5000))
    assert small > 4 * large


def test_learned_positions_bound_the_lengths(toy_pairs):
    with pytest.raises(ValueError, match="max_sequence_length=50.*allows 101"):
        zoo.load(
            "transformer_small", train_data=toy_pairs, position_embedding="learned", max_sequence_length=50
        )
    model = zoo.load(
        "transformer_small",
        train_data=toy_pairs,
        position_embedding="learned",
        max_sequence_length=20,
        max_source_length=10,
        max_target_length=10,
        **tiny("transformer_small"),
    )
    with pytest.raises(ValueError, match="max_length` is 30.*at most 20"):
        model.translate("hola", max_length=30)
    assert isinstance(model.translate("hola", max_length=20), str)


def test_presets_table_is_complete():
    names = set(zoo.PRESETS)
    assert {"rnn_seq2seq", "lstm_seq2seq", "gru_seq2seq", "gru_luong", "lstm_luong"} <= names
    assert {"gru_bahdanau", "lstm_bahdanau", "transformer"} <= names
    assert all(
        f"{name}_small" in names for name in ("gru_seq2seq", "gru_luong", "gru_bahdanau", "transformer")
    )
    for name, spec in zoo.PRESETS.items():
        assert spec["description"] and zoo.architecture(name)
        assert zoo.parameter_count(name, 100) > 0
    assert zoo.get_preset("gru_bahdanau")["backbone"]["config"]["bidirectional"]
