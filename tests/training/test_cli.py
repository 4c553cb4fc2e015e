import json
import math
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from training.cli import main


# Session-scoped: built once per xdist worker, however the worker's stretches
# of this module fall (a module fixture is built again for each stretch).
@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    code = main(
        [
            "train",
            "--preset",
            "gru_luong_small",
            "--num-pairs",
            "400",
            "--epochs",
            "1",
            "--steps-per-epoch",
            "3",
            "--out",
            str(out),
            "--monitor",
            "val_bleu",
            "--bleu-samples",
            "8",
            "--patience",
            "2",
            "--label-smoothing",
            "0.1",
            "--warmup-steps",
            "2",
            "--verbose",
            "0",
        ]
    )
    assert code == 0
    return out


@pytest.mark.slow
def test_train_saves_and_exports(trained_run, capsys):
    assert (trained_run / "preset" / "config.json").is_file()
    assert (trained_run / "exported" / "saved_model.pb").is_file()
    assert not (trained_run / "checkpoint" / "latest").exists()  # removed once training finished
    assert (trained_run / "checkpoint" / "best" / "config.json").is_file()  # the best epoch by val_bleu
    assert (trained_run / "logs" / "training_curves.png").read_bytes().startswith(b"\x89PNG")
    history = (trained_run / "logs" / "history.csv").read_text().splitlines()
    assert len(history) == 2 and "val_bleu" in history[0] and "tokens_per_second" in history[0]
    assert list((trained_run / "logs" / "train").glob("events.out.tfevents.*"))  # TensorBoard


@pytest.mark.slow
def test_train_prints_accuracy_and_samples(tmp_path, capsys):
    code = main(
        [
            "train",
            "--preset",
            "gru_luong_small",
            "--num-pairs",
            "200",
            "--corpus",
            "reverse",
            "--corpus-set",
            "max_length=4",
            "--corpus-set",
            "num_symbols=3",
            "--epochs",
            "1",
            "--steps-per-epoch",
            "2",
            "--out",
            str(tmp_path),
            "--verbose",
            "0",
        ]
    )
    output = capsys.readouterr().out
    assert code == 0
    assert "held-out exact-match accuracy:" in output and "reference" in output
    assert "had the best" not in output  # val_loss fell in its one epoch: the preset is the best model
    # The corpus options reached the corpus: at most 4 symbols of 3.
    sources = re.findall(r"^ +(?:ok)? +'([^']*)' -> ", output, flags=re.MULTILINE)
    assert sources and all(1 <= len(s.split()) <= 4 and set(s.split()) <= set("abc") for s in sources)


@pytest.mark.slow
def test_translate_evaluate_export(trained_run, tmp_path, capsys, monkeypatch):
    preset = str(trained_run / "preset")
    assert main(["translate", preset, "March 3, 2021", "", "--attention"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and lines[1].startswith("  attention:")
    plot = tmp_path / "attention.png"
    assert (
        main(["translate", preset, "March 3, 2021", "--max-length", "4", "--plot-attention", str(plot)]) == 0
    )
    assert plot.read_bytes().startswith(b"\x89PNG")
    assert main(["translate", preset, "", "--plot-attention", str(plot)]) == 2  # nothing to plot
    assert "no attention weights" in capsys.readouterr().err
    data = tmp_path / "dates.tsv"
    data.write_text("March 3, 2021\t2021-03-03\n4 May 1999\t1999-05-04\n", encoding="utf-8")
    assert main(["evaluate", preset, "--data", str(data)]) == 0
    output = capsys.readouterr().out
    assert "BLEU" in output and "exact match" in output and "perplexity" in output
    assert main(["evaluate", preset, "--data", str(data), "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["count"] == 2 and 0.0 <= figures["bleu"] <= 100.0
    assert figures["perplexity"] == pytest.approx(math.exp(figures["loss"]))
    assert [b["count"] for b in figures["by_length"]] == [2, 0, 0, 0, 0]
    # The same pairs as CSV and as two aligned files give the same figures.
    (tmp_path / "dates.csv").write_text(
        '"March 3, 2021",2021-03-03\n4 May 1999,1999-05-04\n', encoding="utf-8"
    )
    (tmp_path / "dates.src").write_text("March 3, 2021\n4 May 1999\n", encoding="utf-8")
    (tmp_path / "dates.tgt").write_text("2021-03-03\n1999-05-04\n", encoding="utf-8")
    for data in (
        ["--data", str(tmp_path / "dates.csv")],
        ["--data", str(tmp_path / "dates.src"), "--target-data", str(tmp_path / "dates.tgt")],
    ):
        assert main(["evaluate", preset, *data, "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["bleu"] == pytest.approx(figures["bleu"])
    assert (
        main(["evaluate", preset, "--data", str(tmp_path / "dates.tsv"), "--json", "--beam-width", "3"]) == 0
    )
    assert 0.0 <= json.loads(capsys.readouterr().out)["bleu"] <= 100.0
    # A source with two targets: translated once, scored against both.
    twice = tmp_path / "twice.tsv"
    twice.write_text(
        (tmp_path / "dates.tsv").read_text(encoding="utf-8") + "March 3, 2021\t2021-3-3\n", encoding="utf-8"
    )
    assert main(["evaluate", preset, "--data", str(twice), "--json", "--multi-reference"]) == 0
    grouped = json.loads(capsys.readouterr().out)
    assert (grouped["count"], grouped["reference_count"]) == (2, 3)
    assert main(["export", preset, str(tmp_path / "exported")]) == 0
    assert (tmp_path / "exported" / "saved_model.pb").is_file()
    assert main(["export", preset, str(tmp_path / "beam"), "--beam-width", "3", "--attention"]) == 0
    assert "BeamSearch(beam_width=3" in capsys.readouterr().out
    # A file named as a sentence is translated as the words it is, with a note on how to read its lines.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "input.txt").write_text("March 3, 2021\n", encoding="utf-8")
    assert main(["translate", preset, "input.txt"]) == 0
    output = capsys.readouterr()
    assert len(output.out.splitlines()) == 1
    assert (
        f"'input.txt' is a file here and is translated as a sentence; to translate its lines: zoo translate {preset} < input.txt"
        in output.err
    )


def test_translate_reads_standard_input_as_utf8(trained_run, capsys, monkeypatch):
    import io
    import sys

    preset = str(trained_run / "preset")
    assert main(["translate", preset, "March 3, 2021", "4 May 1999"]) == 0
    expected = capsys.readouterr().out
    # A BOM and Windows line ends, as PowerShell or Notepad leave them.
    monkeypatch.setattr(
        sys, "stdin", io.TextIOWrapper(io.BytesIO(b"\xef\xbb\xbfMarch 3, 2021\r\n4 May 1999\r\n"))
    )
    assert main(["translate", preset]) == 0
    assert capsys.readouterr().out == expected
    # Lines ended by CR alone (classic Mac OS) were one line: one translation for two.
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"March 3, 2021\r4 May 1999\r")))
    assert main(["translate", preset]) == 0
    assert capsys.readouterr().out == expected
    monkeypatch.setattr(sys, "stdin", io.StringIO("March 3, 2021\n4 May 1999\n"))  # no bytes underneath
    assert main(["translate", preset]) == 0
    assert capsys.readouterr().out == expected
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"March 3, 2021\n\xff\xfe4 May\n")))
    assert main(["translate", preset]) == 2
    assert (
        "standard input, line 2: not UTF-8 text (invalid start byte at byte 0); convert"
        in capsys.readouterr().err
    )
    # Arguments that were not UTF-8 reach Python as lone surrogates.
    assert main(["translate", preset, "4 May \udcff1999"]) == 2
    assert "Source sentence 0 is not valid text: character 6 stands for a byte" in capsys.readouterr().err


def test_translate_streams_standard_input_in_chunks(trained_run, tmp_path, capsys, monkeypatch):
    import io
    import sys

    from training import cli_commands

    preset = str(trained_run / "preset")
    sentences = ["March 3, 2021", "", "4 May 1999", "the 1st of June 2001", "12.12.2012"]
    plot = tmp_path / "a.png"
    for options in (
        [],
        ["--beam-width", "3", "--n-best", "2"],
        ["--attention", "--plot-attention", str(plot)],
    ):
        assert main(["translate", preset, *sentences, *options]) == 0
        expected = capsys.readouterr().out
        monkeypatch.setattr(cli_commands, "STDIN_CHUNK", 2)  # three chunks: the output is the same
        monkeypatch.setattr(sys, "stdin", io.StringIO("".join(s + "\n" for s in sentences)))
        assert main(["translate", preset, *options]) == 0
        assert capsys.readouterr().out == expected, options
        monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-1.png", "a-3.png", "a-4.png", "a-5.png"]
    # An over-long line is named by its number, counted from 1 over the chunks.
    monkeypatch.setattr(cli_commands, "STDIN_CHUNK", 2)
    long = " ".join(["March"] * 200)
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"March 3, 2021\n4 May 1999\n12.12.2012\n{long}\n{long}\n"))
    assert main(["translate", preset]) == 2
    output = capsys.readouterr()
    assert len(output.out.splitlines()) == 2  # the chunk before it was done
    assert "standard input, line 4: the sentence has 200 tokens; this model reads at most 100" in output.err
    assert main(["translate", preset, "March 3, 2021", long]) == 2
    error = capsys.readouterr().err
    assert "argument 2: the sentence has 200 tokens" in error and "add --truncate" in error
    # --truncate reads its first 100 tokens, as the export does; options may come before the sentences.
    assert main(["translate", preset, "--truncate", "March 3, 2021", long]) == 0
    truncated = capsys.readouterr().out
    assert main(["translate", preset, "March 3, 2021", " ".join(["March"] * 100)]) == 0
    assert truncated == capsys.readouterr().out
    assert main(["translate", preset, "March 3, 2021", "--truncate", long]) == 0
    assert truncated == capsys.readouterr().out
    with pytest.raises(SystemExit):  # an unknown option is still one
        main(["translate", preset, "--shorten", "March 3, 2021"])
    assert "unrecognized arguments: --shorten March 3, 2021" in capsys.readouterr().err
    # zoo evaluate leaves the over-long pair out and says so; with --truncate it scores it as served.
    data = tmp_path / "pairs.tsv"
    data.write_text(f"March 3, 2021\t2021-03-03\n{long}\t2021-03-03\n", encoding="utf-8")
    assert main(["evaluate", preset, "--data", str(data)]) == 0
    assert (
        "1 sentence(s) longer than the model reads were left out (truncate=True, or zoo evaluate --truncate"
        in capsys.readouterr().out
    )
    assert main(["evaluate", preset, "--data", str(data), "--truncate", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert (figures["count"], figures["skipped"]) == (2, 0)


def test_translate_at_a_terminal_goes_on_after_an_over_long_line(trained_run, capsys, monkeypatch):
    import io
    import sys

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    preset = str(trained_run / "preset")
    assert main(["translate", preset, "March 3, 2021", "4 May 1999"]) == 0
    expected = capsys.readouterr().out.splitlines()
    long = " ".join(["March"] * 200)
    monkeypatch.setattr(sys, "stdin", Terminal(f"March 3, 2021\n{long}\n4 May 1999\n"))
    assert main(["translate", preset]) == 0
    output = capsys.readouterr()
    assert output.out.splitlines() == expected
    assert "type a sentence and press Enter; Ctrl-D ends" in output.err
    assert "line 2: the sentence has 200 tokens" in output.err


def test_decoding_settings_a_model_cannot_take_are_refused_before_a_line_is_read(
    tmp_path, capsys, monkeypatch
):
    """Checked at the first sentence, they ended a terminal session after the user typed it."""
    import io
    import sys

    import zoo
    from tests.conftest import TINY, tiny

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    pairs = (["el gato come", "el perro duerme"], ["the cat eats", "the dog sleeps"])
    fixed, transformer = str(tmp_path / "fixed"), str(tmp_path / "transformer")
    zoo.load("gru_seq2seq_small", train_data=pairs, **TINY).save_to_preset(fixed)
    zoo.load("transformer_small", train_data=pairs, **tiny("transformer_small")).save_to_preset(transformer)
    for preset, options, message in [
        (fixed, ["--replace-unknown"], "--replace-unknown copies the source word"),
        (fixed, ["--beam-width", "2", "--coverage-penalty", "0.2"], "--coverage-penalty reads the attention"),
        (
            transformer,
            ["--max-length", "600"],
            "--max-length is 600, but this model has positions for at most 512",
        ),
    ]:
        stdin = Terminal("el gato come\n")
        monkeypatch.setattr(sys, "stdin", stdin)
        assert main(["translate", preset, *options]) == 2
        output = capsys.readouterr()
        assert message in output.err and "type a sentence" not in output.err and not output.out
        assert stdin.tell() == 0


@pytest.mark.slow
def test_translate_into_a_reader_that_stops_early_is_quiet(trained_run, tmp_path):
    """`zoo translate MODEL < file | head -1`: no traceback when the pipe closes."""
    import subprocess
    import sys

    lines = tmp_path / "lines.txt"
    lines.write_text("March 3, 2021\n" * 3000, encoding="utf-8")
    with open(lines, "rb") as stdin:
        process = subprocess.Popen(
            [sys.executable, "-m", "training.cli", "translate", str(trained_run / "preset")],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        first = process.stdout.readline()
        process.stdout.close()  # as `head -1` does
        _, err = process.communicate(timeout=300)
    assert first.strip()
    assert process.returncode == 141, err.decode()
    assert b"Traceback" not in err and b"BrokenPipeError" not in err


def test_train_says_where_the_best_epoch_is_when_the_preset_is_another(tmp_path, capsys, monkeypatch):
    import training.train
    from training.train import TrainResult

    def trained(config, best_epoch):
        return TrainResult(
            exact_match=1.0,
            bleu=100.0,
            valid_loss=0.1,
            valid_accuracy=1.0,
            report=None,
            batches=None,
            history={},
            samples=[],
            preset_dir=f"{config.out}/preset",
            export_dir=f"{config.out}/exported",
            seconds=1.0,
            epochs=5,
            best={"monitor": "val_bleu", "value": 41.5, "epoch": best_epoch},
        )

    for best_epoch, said in ((3, True), (5, False)):
        monkeypatch.setattr(training.train, "train", lambda config, e=best_epoch: trained(config, e))
        assert main(["train", "--out", str(tmp_path), "--monitor", "val_bleu", "--patience", "2"]) == 0
        line = f"it is epoch 5's model; epoch 3 had the best val_bleu (41.5000): {tmp_path}/checkpoint/best"
        assert (line in capsys.readouterr().out) == said


@pytest.mark.parametrize("restore_best", [False, True])
def test_train_with_restore_best_keeps_the_best_epochs_model(tmp_path, capsys, monkeypatch, restore_best):
    import tensorflow as tf

    import zoo
    from training.checkpoint import TrainingCheckpoint

    # Epoch 1 is the best and epoch 2 the last, whatever the losses.
    monkeypatch.setattr(TrainingCheckpoint, "_improves", lambda self, value: self.best is None)
    run = tmp_path / "run"
    arguments = ["train", "--preset", "gru_luong_small", "--num-pairs", "200", "--epochs", "2"]
    arguments += ["--steps-per-epoch", "2", "--verbose", "2", "--out", str(run)]
    assert main(arguments + (["--restore-best"] if restore_best else [])) == 0
    said = capsys.readouterr().out
    preset, best = zoo.load(run / "preset"), zoo.load(run / "checkpoint" / "best")
    same = [np.array_equal(a, b) for a, b in zip(preset.get_weights(), best.get_weights())]
    evaluation = json.loads((run / "logs" / "evaluation.json").read_text(encoding="utf-8"))
    assert (evaluation["epochs"], evaluation["best"]["epoch"]) == (2, 1)
    if restore_best:
        assert all(same)
        assert evaluation["model_epoch"] == 1
        assert "restored epoch 1's model, the best val_loss" in said and "it is epoch" not in said
        # The export serves the restored model.
        sentences = ["Thu 4 Mar 2021", "the 31st of January 2014", "1999/12/31"]
        served = tf.saved_model.load(str(run / "exported")).signatures["serving_default"](
            tf.constant(sentences)
        )
        assert [t.decode() for t in served["translation"].numpy()] == best.translate(sentences)
    else:
        assert not all(same)
        assert evaluation["model_epoch"] == 2
        assert "it is epoch 2's model; epoch 1 had the best val_loss" in said and "--restore-best" in said


def test_train_with_a_validation_file(tmp_path, capsys):
    from training.datasets import dates

    pairs = dates(160, seed=5)
    lines = [f"{source}\t{target}\n" for source, target in zip(pairs.sources, pairs.targets)]
    # Both files name their columns in a header row, which is not a pair.
    (tmp_path / "train.tsv").write_text("".join(["written\tiso\n", *lines[:120]]), encoding="utf-8")
    (tmp_path / "valid.tsv").write_text(
        "".join(["written\tiso\n", *lines[120:], *lines[:3]]), encoding="utf-8"
    )
    arguments = [
        "train",
        "--preset",
        "gru_luong_small",
        "--data",
        str(tmp_path / "train.tsv"),
        "--header",
        "--source-column",
        "written",
        "--target-column",
        "iso",
        "--epochs",
        "1",
    ]
    arguments += ["--steps-per-epoch", "2", "--verbose", "2", "--out", str(tmp_path / "run")]
    assert main([*arguments, "--valid-data", str(tmp_path / "valid.tsv")]) == 0
    out = capsys.readouterr().out
    valid = tmp_path / "valid.tsv"
    # Every pair trains; the file's 43 validate, 3 of them with a training source.
    assert (
        f"120 training pairs, 43 validation pairs from {valid} (3 of their sources are in the training data too)"
        in out
    )
    assert "val_loss" in out
    for options, message in [
        (["--valid-data", str(valid), "--valid-fraction", "0.1"], "give one of them"),
        (["--valid-target-data", str(valid)], "give the source side as --valid-data"),
        (["--valid-data", str(tmp_path / "missing.tsv")], "No such data file"),
    ]:
        assert main([*arguments[:-1], str(tmp_path / "refused"), *options]) == 2
        assert message in capsys.readouterr().err


def test_train_with_multi_reference_scores_a_held_out_source_against_all_its_targets(tmp_path, capsys):
    from training.datasets import dates
    from training.train import TrainConfig, train

    pairs = dates(130, seed=5)
    lines = [f"{source}\t{target}\n" for source, target in zip(pairs.sources, pairs.targets)]
    (tmp_path / "train.tsv").write_text("".join(lines[:120]), encoding="utf-8")
    first = pairs.sources[120]  # held out with a second target
    (tmp_path / "valid.tsv").write_text(
        "".join([*lines[120:], f"{first}\tanother target\n"]), encoding="utf-8"
    )
    arguments = ["train", "--preset", "gru_luong_small", "--data", str(tmp_path / "train.tsv")]
    arguments += ["--valid-data", str(tmp_path / "valid.tsv"), "--epochs", "1", "--steps-per-epoch", "2"]
    arguments += [
        "--monitor",
        "val_bleu",
        "--multi-reference",
        "--verbose",
        "0",
        "--out",
        str(tmp_path / "run"),
    ]
    assert main(arguments) == 0
    out = capsys.readouterr().out
    assert f"{first!r} -> " in out and f"(references {pairs.targets[120]!r} | 'another target')" in out
    assert out.count(f"{first!r} -> ") == 1  # translated once
    with pytest.raises(ValueError, match="`multi_reference` must be True or False, received 'yes'"):
        train(TrainConfig(multi_reference="yes", out=str(tmp_path / "refused")))
    assert not (tmp_path / "refused").exists()


def test_train_samples_pair_each_translation_with_its_own_source_when_some_are_left_out(tmp_path):
    import zoo
    from training.datasets import dates
    from training.train import TrainConfig, train

    pairs = dates(160, seed=5)
    lines = [f"{source}\t{target}\n" for source, target in zip(pairs.sources, pairs.targets)]
    (tmp_path / "train.tsv").write_text("".join(lines[:120]), encoding="utf-8")
    # The first held-out source is over max_source_length, so the evaluation leaves it out; the
    # samples had been the first held-out pairs zipped with the translations of the others.
    long = "the 4th of March 2021\t2021-03-04\n"
    (tmp_path / "valid.tsv").write_text("".join([long, *lines[120:]]), encoding="utf-8")
    config = TrainConfig(
        preset="gru_luong_small",
        overrides={"max_source_length": 4},
        data=str(tmp_path / "train.tsv"),
        valid_data=str(tmp_path / "valid.tsv"),
        epochs=1,
        steps_per_epoch=2,
        verbose=0,
        out=str(tmp_path / "run"),
    )
    result = train(config)
    assert result.report.skipped > 0
    model = zoo.load(result.preset_dir)
    for source, references, translation in result.samples:
        assert model.translate(source) == translation
        assert references == [pairs.targets[pairs.sources.index(source)]]


def test_train_on_from_a_saved_preset(trained_run, tmp_path, capsys):
    import shutil

    import zoo

    saved = trained_run / "preset"
    sentences = ["March 3, 2021", "4 May 1999", "the 1st of June 2000"]
    before = zoo.load(str(saved)).translate(sentences)
    out = tmp_path / "more"
    # A learning rate too small to move a weight: the run starts from the saved ones.
    arguments = [
        "train",
        "--preset",
        str(saved),
        "--num-pairs",
        "100",
        "--epochs",
        "1",
        "--steps-per-epoch",
        "2",
    ]
    assert main([*arguments, "--learning-rate", "1e-12", "--out", str(out), "--verbose", "0"]) == 0
    for name in ("source_vocabulary.txt", "target_vocabulary.txt"):  # its own vocabularies
        assert (out / "preset" / "assets" / name).read_bytes() == (saved / "assets" / name).read_bytes()
    assert zoo.load(str(out / "preset")).translate(sentences) == before
    # Its length limits, which no weight depends on, may change (and stay changed in the new preset).
    shorter = tmp_path / "shorter"
    assert (
        main([*arguments, "--learning-rate", "1e-12", "--set", "max_source_length=40", "--out", str(shorter)])
        == 0
    )
    assert zoo.load(str(shorter / "preset")).preprocessor.max_source_length == 40
    capsys.readouterr()
    # Data its vocabularies do not fit (here: the columns swapped) is refused before any work.
    from training.datasets import load_corpus

    pairs = load_corpus("dates", 100, seed=5)
    data = tmp_path / "dates.tsv"
    data.write_text("".join(f"{s}\t{t}\n" for s, t in zip(pairs.sources, pairs.targets)), encoding="utf-8")
    swapped = [
        "--data",
        str(data),
        "--source-column",
        "1",
        "--target-column",
        "0",
        "--out",
        str(tmp_path / "s"),
    ]
    assert main([*arguments[:3], *swapped]) == 2
    out, err = capsys.readouterr()
    assert f"unknown to the vocabularies of {saved}: " in out  # the shares, printed
    assert re.search(
        r"of the training data's (source|target) tokens are unknown to the \1 vocabulary of", err
    )
    assert "they may be swapped" in err and not (tmp_path / "s" / "preset").exists()
    assert main([*arguments[:3], *swapped[:2], "--out", str(tmp_path / "s"), "--epochs", "1"]) == 0
    assert main([*arguments, "--set", "hidden_dim=8", "--out", str(tmp_path / "set")]) == 2
    assert "hidden_dim cannot change. Of a saved preset only max_source_length and" in capsys.readouterr().err
    broken = tmp_path / "broken"
    shutil.copytree(saved, broken)
    (broken / "model.weights.h5").unlink()
    assert main([*arguments, "--preset", str(broken), "--out", str(tmp_path / "b")]) == 2
    assert "not a complete preset directory: model.weights.h5 is missing" in capsys.readouterr().err
    assert not (tmp_path / "set").exists() and not (tmp_path / "b").exists()


def test_outputs_never_replace_other_files(trained_run, tmp_path, capsys):
    preset = trained_run / "preset"
    before = sorted(p.name for p in preset.iterdir())
    assert main(["export", str(preset), str(preset)]) == 2
    assert "preset already exists and is not a SavedModel directory" in capsys.readouterr().err
    assert sorted(p.name for p in preset.iterdir()) == before
    # A run whose output folder holds the user's own `exported` folder stops before training.
    (tmp_path / "exported").mkdir()
    (tmp_path / "exported" / "notes.txt").write_text("mine")
    assert main(["train", "--preset", "gru_luong_small", "--num-pairs", "200", "--out", str(tmp_path)]) == 2
    assert "exported already exists and is not a SavedModel directory: it holds notes.txt" in (
        capsys.readouterr().err
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exported"]  # no checkpoint, logs or lock
    assert (tmp_path / "exported" / "notes.txt").read_text() == "mine"


def test_translate_decoding_options(trained_run, tmp_path, capsys, monkeypatch):
    preset = str(trained_run / "preset")
    assert main(["translate", preset, "March 3, 2021", "4 May 1999"]) == 0
    greedy = capsys.readouterr().out.splitlines()
    assert main(["translate", preset, "March 3, 2021", "4 May 1999", "--beam-width", "1"]) == 0
    assert capsys.readouterr().out.splitlines() == greedy
    assert (
        main(["translate", preset, "March 3, 2021", "4 May 1999", "--beam-width", "4", "--n-best", "2"]) == 0
    )
    lines = capsys.readouterr().out.splitlines()
    assert [line[:3] for line in lines] == ["1. ", "2. ", "", "1. ", "2. "]
    assert "(score -" in lines[0]
    sampled = [
        "translate",
        preset,
        "March 3, 2021",
        "--sample",
        "--temperature",
        "2",
        "--top-k",
        "5",
        "--seed",
        "3",
    ]
    assert main(sampled) == 0
    assert main(sampled) == 0
    first, second = capsys.readouterr().out.splitlines()
    assert first == second
    import zoo

    factors = []

    def spy(method):
        def record(self, *args, **kwargs):
            factors.append(kwargs.get("max_length_factor"))
            return method(self, *args, **kwargs)

        return record

    for name in ("translate", "export"):
        monkeypatch.setattr(zoo.Translator, name, spy(getattr(zoo.Translator, name)))
    data = tmp_path / "dates.tsv"
    data.write_text("March 3, 2021\t2021-03-03\n", encoding="utf-8")
    assert main(["translate", preset, "March 3, 2021", "--max-length-factor", "1.5"]) == 0
    assert main(["evaluate", preset, "--data", str(data), "--max-length-factor", "2"]) == 0
    assert main(["export", preset, str(tmp_path / "exported"), "--max-length-factor", "2.5"]) == 0
    assert factors == [1.5, 2.0, 2.5] and capsys.readouterr().out
    for options, message in [
        (
            ["--max-length-factor", "0"],
            "--max-length-factor must be a positive number (leave the flag out for no limit)",
        ),
        (["--max-length", "0"], "--max-length must be a positive int, received 0"),
        (["--n-best", "2"], "--n-best is a beam search setting; add --beam-width N"),
        (
            ["--length-penalty", "1", "--coverage-penalty", "0.2"],
            "--length-penalty, --coverage-penalty are beam",
        ),
        (["--top-k", "3"], "--top-k is a sampling setting; add --sample"),
        (["--seed", "1", "--temperature", "0.5"], "--temperature, --seed are sampling settings"),
        (["--sample", "--n-best", "2"], "--n-best is a beam search setting, and --sample"),
        (["--beam-width", "2", "--n-best", "3"], "--n-best must be at most --beam-width (2), received 3"),
        (["--beam-width", "0"], "--beam-width must be an int >= 1, received 0"),
        (["--sample", "--beam-width", "2"], "pick one"),
        (["--sample", "--top-p", "2"], "--top-p must be in (0.0, 1.0], received 2.0"),
    ]:
        assert main(["translate", preset, "hola", *options]) == 2
        assert message in capsys.readouterr().err


def test_translate_json_prints_one_object_per_sentence_as_the_model_gives_it(
    trained_run, tmp_path, capsys, monkeypatch
):
    import io
    import sys

    import zoo
    from zoo.generation import BeamSearch

    preset = str(trained_run / "preset")
    model = zoo.load(preset)
    sentences = ["March 3, 2021", "", "4 May 1999"]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO("\n".join(sentences).encode() + b"\n")))
    assert main(["translate", preset, "--json"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    expected = model.translate(sentences, return_attention=True)
    assert [record["source"] for record in records] == sentences
    assert [record["translation"] for record in records] == [result.text for result in expected]
    assert [record["score"] for record in records] == pytest.approx([result.score for result in expected])
    assert set(records[0]) == {"source", "translation", "score"} and records[1]["score"] == 0.0

    plot = tmp_path / "attention.png"
    options = ["--beam-width", "3", "--n-best", "2", "--attention", "--plot-attention", str(plot)]
    assert main(["translate", preset, "March 3, 2021", "--json", *options]) == 0
    (record,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    best = model.translate("March 3, 2021", strategy=BeamSearch(3, num_hypotheses=2), return_attention=True)
    assert record["n_best"] == [result.text for result in best] and record["translation"] == best[0].text
    assert record["n_best_scores"] == pytest.approx([result.score for result in best])
    assert (
        record["source_tokens"] == best[0].source_tokens and record["output_tokens"] == best[0].output_tokens
    )
    np.testing.assert_allclose(record["attention"], best[0].attention, rtol=1e-6)
    assert record["attention_plot"] == str(plot) and plot.stat().st_size > 0


def test_presets_lists_every_preset(capsys):
    import zoo

    assert main(["presets", "--vocabulary-size", "100"]) == 0
    output = capsys.readouterr().out
    for name in zoo.PRESETS:
        assert name in output
    assert main(["presets", "--vocabulary-size", "4"]) == 2
    assert "`vocabulary_size` must be an int >= 5, received 4" in capsys.readouterr().err


@pytest.mark.parametrize(
    "arguments, message",
    [
        (
            ["--set", "hidden_dim=abc"],
            "Setting 'hidden_dim' of preset 'gru_luong' must be an int (the preset has 256)",
        ),
        (
            ["--set", "bidirectional=maybe"],
            "'bidirectional' of preset 'gru_luong' must be a bool (true or false)",
        ),
        (["--set", "hidden_size=3"], "Unknown setting 'hidden_size' for preset 'gru_luong'"),
        (["--epochs", "0"], "`epochs` must be an int >= 1, received 0"),
        (["--batch-size", "0"], "`batch_size` must be an int >= 1, received 0"),
        (["--valid-fraction", "1.5"], "`valid_fraction` must be between 0 and 1 (exclusive), received 1.5"),
        (["--patience", "-1"], "`patience` must be an int >= 0, received -1"),
        (["--seed", "-1"], "`seed` must be an int >= 0, received -1"),
        (["--seed", str(2**32)], "`seed` must be at most 4294967295, received 4294967296"),
        (["--label-smoothing", "1"], "`label_smoothing` must be in [0, 1), received 1.0"),
        # Options the chosen data would not read are errors, not ignored.
        (
            ["--data", "x.tsv", "--num-pairs", "10"],
            "--num-pairs is for the built-in corpus, which --data replaces. To train on part of a file, give "
            "that part: --data <(shuf -n 10000",
        ),
        (["--data", "x.tsv", "--corpus", "numbers"], "--corpus is for the built-in corpus"),
        (["--source-column", "0"], "--source-column is for --data, and without --data the built-in"),
        (["--header", "--skip-bad-lines"], "--header, --skip-bad-lines are for --data"),
        (["--delimiter", "tab"], "--delimiter is for --data, and without --data the built-in"),
        (
            ["--data", "x.es", "--target-data", "x.en", "--delimiter", ";"],
            "--delimiter is for a TSV or CSV file; aligned files hold one sentence per line",
        ),
        (["--data", "x.tsv", "--corpus-set", "max_length=5"], "--corpus-set is for the built-in corpus"),
        (["--corpus-set", "max_length"], "--corpus-set expects KEY=VALUE, received 'max_length'"),
        (["--corpus", "copy", "--corpus-set", "max_len=5"], "Unknown option 'max_len' for corpus 'copy'"),
    ],
)
def test_bad_training_settings_stop_before_any_work(arguments, message, tmp_path, capsys):
    assert main(["train", *arguments, "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert "training pairs" not in capsys.readouterr().out  # no data was read
    assert not (tmp_path / "run").exists()  # nor anything written


def test_user_errors_exit_2_without_traceback(tmp_path, capsys):
    assert main(["train", "--preset", "nope", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "Unknown preset: 'nope'" in err and "Traceback" not in err
    assert main(["train", "--data", str(tmp_path / "missing.tsv"), "--out", str(tmp_path)]) == 2
    assert "No such data file" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path), "--data", str(tmp_path)]) == 2
    assert main(["train", "--data", str(tmp_path), "--out", str(tmp_path / "run")]) == 2
    assert f"{tmp_path} is a directory; expected a data file" in capsys.readouterr().err
    empty = tmp_path / "empty.tsv"
    empty.write_text("")
    assert main(["train", "--data", str(empty), "--out", str(tmp_path)]) == 2
    assert "no text pairs" in capsys.readouterr().err
    assert main(["translate", str(tmp_path / "no-model"), "hola"]) == 2
    assert "No saved model at " in capsys.readouterr().err
    (tmp_path / "model.keras").write_bytes(b"PK")
    assert main(["translate", str(tmp_path / "model.keras"), "hola"]) == 2
    assert "model.keras. It is a `.keras` file (what `model.save` writes)" in capsys.readouterr().err
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("hola\thello\n", encoding="utf-8")
    for command in (["translate", "gru_luong", "hola"], ["evaluate", "gru_luong", "--data", str(pairs)]):
        assert main(command) == 2  # a built-in name is no saved model
        err = capsys.readouterr().err
        assert "No saved model at gru_luong: a built-in preset, which has no vocabulary" in err
        assert "the OUT/preset that `zoo train --out OUT` writes" in err
    # The plot's path is checked before the model is even read.
    for plot in (empty / "plot.png", tmp_path):
        assert main(["translate", str(tmp_path / "no-model"), "hola", "--plot-attention", str(plot)]) == 2
        assert "Cannot write" in capsys.readouterr().err
    assert empty.exists()  # a failed run leaves the user's files alone
    assert main(["train", "--target-data", str(empty), "--out", str(tmp_path)]) == 2
    assert "give the source side as --data" in capsys.readouterr().err
    assert main(["train", "--set", "hidden_dim", "--out", str(tmp_path)]) == 2
    assert "--set expects KEY=VALUE, received 'hidden_dim'" in capsys.readouterr().err
    assert main(["train", "--set", "hiden_dim=8", "--num-pairs", "50", "--out", str(tmp_path / "o")]) == 2
    assert "hiden_dim" in capsys.readouterr().err


def test_help_version_and_usage_errors_answer_without_importing_tensorflow():
    """`zoo --help` took 6 s, all of it importing TensorFlow for TrainConfig's and BeamSearch's defaults."""
    code = """
import sys
from training.cli import main
for argv in (["--help"], ["--version"], ["train", "--help"], ["evaluate", "--help"], ["translate", "--help"],
             ["export", "--help"], ["train", "--bogus"], ["train", "--epochs"]):
    try:
        main(argv)
    except SystemExit:
        pass
heavy = sorted(name for name in sys.modules if name.split(".")[0] in ("tensorflow", "keras"))
assert not heavy, heavy[:5]
"""
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_train_reads_a_home_directory_where_the_shell_leaves_it(tmp_path, monkeypatch):
    """`--out=~/run` reaches zoo unexpanded; it must not make a directory named "~" here."""
    from training.config import TrainConfig

    monkeypatch.setenv("HOME", str(tmp_path))
    config = TrainConfig(out="~/run", data="~/d.tsv", valid_data="~/v.tsv", preset="~/preset")
    assert (config.out, config.data, config.valid_data, config.preset) == tuple(
        str(tmp_path / name) for name in ("run", "d.tsv", "v.tsv", "preset")
    )
    assert TrainConfig(preset="gru_luong", out="runs/~a").out == "runs/~a"


def test_an_interrupted_train_says_how_to_resume(tmp_path, capsys, monkeypatch):
    import training.train

    def interrupted(config):
        if config.seed == 1:  # stopped after a checkpoint
            latest = tmp_path / "checkpoint" / "latest"
            latest.mkdir(parents=True)
            (latest / "state.json").write_text(
                json.dumps({"epoch": 1, "step": 7, "steps_per_epoch": 9, "seed_states": []})
            )
        raise KeyboardInterrupt

    monkeypatch.setattr(training.train, "train", interrupted)
    assert main(["train", "--out", str(tmp_path), "--seed", "0"]) == 130
    assert capsys.readouterr().err == (
        "zoo train: interrupted; nothing was saved yet, so the same command starts afresh\n"
    )
    assert main(["train", "--out", str(tmp_path), "--seed", "1"]) == 130
    assert capsys.readouterr().err == (
        f"zoo train: interrupted; the same command resumes from {tmp_path}/checkpoint/latest (epoch 2, step 7)\n"
    )


def test_too_few_pairs_to_hold_out_names_the_options(tmp_path, capsys):
    data = tmp_path / "two.tsv"
    data.write_text("hola\thello\nadios\tbye\n", encoding="utf-8")
    assert main(["train", "--data", str(data), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "2 pairs are too few to hold out 5% for evaluation; give more data, change --valid-fraction" in err
    assert not (tmp_path / "run").exists()  # nothing was written, and the folder the run made is gone


def test_a_full_disk_or_a_forbidden_place_is_one_line_not_a_traceback(tmp_path, capsys, monkeypatch):
    import errno

    from training import cli

    def fails(error):
        def run(args):
            raise error

        return run

    monkeypatch.setitem(
        cli.COMMANDS, "presets", fails(PermissionError(errno.EACCES, "Permission denied", "/x"))
    )
    assert main(["presets"]) == 2
    assert capsys.readouterr().err == "zoo presets: error: [Errno 13] Permission denied: '/x'\n"
    monkeypatch.setitem(cli.COMMANDS, "train", fails(OSError(errno.ENOSPC, "No space left on device", "/x")))
    assert main(["train", "--out", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("zoo train: error: [Errno 28] No space left on device: '/x'; nothing was saved yet")
    monkeypatch.setitem(cli.COMMANDS, "presets", fails(OSError(errno.EBADF, "Bad file descriptor")))
    with pytest.raises(OSError, match="Bad file descriptor"):  # a bug keeps its traceback
        main(["presets"])


def test_version_names_the_libraries_for_bug_reports(capsys):
    from importlib import metadata

    import zoo

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    line = capsys.readouterr().out
    assert line.startswith(f"zoo {zoo.__version__} (keras {metadata.version('keras')}, tensorflow ")
    assert f"tensorflow-text {metadata.version('tensorflow-text')}" in line and line.count("\n") == 1


def test_replace_unknown_in_translate_evaluate_and_export(tmp_path, capsys):
    import tensorflow as tf

    import zoo
    from tests.conftest import TINY
    from zoo.tokenizer import UNK_ID

    pairs = (["el gato come", "el perro duerme"] * 4, ["the cat eats", "the dog sleeps"] * 4)
    model = zoo.load("gru_luong_small", train_data=pairs, **TINY)
    bias = model.backbone.output_projection.bias  # [UNK] above every other token
    bias.assign(bias.numpy() + 20.0 * np.eye(bias.shape[0])[UNK_ID])
    preset = str(tmp_path / "preset")
    model.save_to_preset(preset)
    assert main(["translate", preset, "zorro lobo", "--max-length", "3", "--replace-unknown"]) == 0
    translated = capsys.readouterr().out.strip()
    assert translated == model.translate("zorro lobo", max_length=3, replace_unknown=True)
    assert set(translated.split()) <= {"zorro", "lobo"}
    exported = str(tmp_path / "exported")
    assert main(["export", preset, exported, "--max-length", "3", "--replace-unknown"]) == 0
    assert capsys.readouterr().out.startswith(f"exported {exported}")
    served = tf.saved_model.load(exported).signatures["serving_default"](tf.constant(["zorro lobo"]))
    assert served["translation"].numpy()[0].decode() == translated
    data = tmp_path / "pairs.tsv"
    data.write_text("zorro lobo\tzorro lobo\n", encoding="utf-8")
    assert main(["evaluate", preset, "--data", str(data), "--replace-unknown", "--json"]) == 0
    replaced = json.loads(capsys.readouterr().out)
    assert main(["evaluate", preset, "--data", str(data), "--json"]) == 0
    plain = json.loads(capsys.readouterr().out)
    # Scored on the copied words, which share characters with the reference; "[UNK]" shares none.
    assert plain["chrf"] == 0.0 < replaced["chrf"]
    assert replaced["decoding"]["replace_unknown"] and not plain["decoding"]["replace_unknown"]
    # Validation BLEU after each epoch reads the same setting.
    from training.validation_bleu import ValidationBleu

    for replace_unknown, expected in ((False, 0.0), (True, replaced["bleu"])):
        callback = ValidationBleu((["zorro lobo"], ["zorro lobo"]), replace_unknown=replace_unknown)
        callback.set_model(model)
        logs = {}
        callback.on_epoch_end(0, logs)
        assert logs["val_bleu"] == pytest.approx(expected)


def test_train_with_replace_unknown(tmp_path, capsys):
    import tensorflow as tf

    import zoo

    run = tmp_path / "run"
    arguments = ["train", "--preset", "gru_luong_small", "--num-pairs", "200", "--epochs", "1"]
    arguments += ["--steps-per-epoch", "2", "--verbose", "0", "--replace-unknown", "--out", str(run)]
    assert main(arguments) == 0
    sentences = ["the 4th of Zorrember 2021", "Thu 4 Mar 2021"]
    served = tf.saved_model.load(str(run / "exported")).signatures["serving_default"](tf.constant(sentences))
    expected = zoo.load(run / "preset").translate(sentences, replace_unknown=True)
    assert [t.decode() for t in served["translation"].numpy()] == expected
    evaluation = json.loads((run / "logs" / "evaluation.json").read_text(encoding="utf-8"))
    assert evaluation["decoding"]["replace_unknown"]  # the run's figures say how they were decoded
    # A model without attention is refused before any training.
    capsys.readouterr()
    refused = ["train", "--preset", "gru_seq2seq_small", "--replace-unknown", "--out", str(tmp_path / "no")]
    assert main(refused) == 2
    assert "has no attention" in capsys.readouterr().err
    assert not (tmp_path / "no" / "checkpoint").exists()


def test_tensorflows_startup_info_lines_are_left_out_and_the_rest_passes():
    """Every command began with six lines of TensorFlow 2.21's INFO logging ("Could not find cuda
    drivers"), which TF_CPP_MIN_LOG_LEVEL does not reach while TensorFlow is imported."""
    env = {name: value for name, value in os.environ.items() if name != "TF_CPP_MIN_LOG_LEVEL"}
    listed = subprocess.run(
        [sys.executable, "-m", "training.cli", "presets"], capture_output=True, text=True, env=env, check=True
    )
    assert "gru_luong" in listed.stdout
    assert "I0000" not in listed.stderr and "absl::InitializeLog" not in listed.stderr
    # What else is written while the import runs comes through, in order, also when it fails.
    code = """
import os, sys, warnings
os.environ["TF_CPP_MIN_LOG_LEVEL"] = sys.argv[1]
from training.cli import _startup_info_dropped
try:
    with _startup_info_dropped():
        os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written\\n")
        os.write(2, b"I0000 00:00:1.5 1 port.cc:153] oneDNN custom operations are on.\\n")
        os.write(2, b"W0000 00:00:1.5 1 warn.cc:1] a warning\\n")
        warnings.warn("from Python")
        raise RuntimeError("the import failed")
except RuntimeError as e:
    print(e, file=sys.stderr)
"""
    for level, kept in (("2", 0), ("0", 2)):
        run = subprocess.run([sys.executable, "-c", code, level], capture_output=True, text=True, check=True)
        lines = run.stderr.splitlines()
        assert len(lines) == kept + 3, run.stderr  # the warning line, Python's warning, the error
        assert lines[kept].startswith("W0000") and "UserWarning: from Python" in lines[kept + 1]
        assert lines[-1] == "the import failed"
    # Without a stderr (`zoo ... 2>&-`) there is nothing to keep clean, and the import runs.
    closed = "import os; os.close(2)\nfrom training.cli import _startup_info_dropped\n"
    closed += "with _startup_info_dropped():\n    print('imported')"
    run = subprocess.run([sys.executable, "-c", closed], capture_output=True, text=True, check=True)
    assert run.stdout == "imported\n"
