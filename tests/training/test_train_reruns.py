"""`zoo train` run again into the same directory: resume, refuse, or start afresh, never lose a model."""

import csv
import json
import os
from unittest import mock

import numpy as np
import pytest

import zoo
from tests.conftest import TINY
from training.checkpoint import TrainingCheckpoint
from training.train import TrainConfig, train

SETTINGS = dict(
    preset="gru_luong_small",
    overrides=TINY,
    num_pairs=200,
    epochs=2,
    batch_size=16,
    save_every=3,
    eval_samples=4,
    verbose=0,
)


def _run(out, **changes):
    return train(TrainConfig(out=str(out), **{**SETTINGS, **changes}))


def _epochs_logged(out):
    with open(out / "logs" / "history.csv") as f:
        return [line.split(",")[0] for line in f.read().splitlines()[1:]]


class Killed(BaseException):
    """Stands in for a kill (as KeyboardInterrupt would, without pytest taking it as Ctrl-C)."""


def _killed_saving_the_preset(trained=None):
    """A patch under which `train` is killed as it starts writing `OUT/preset`, after `fit` ended.

    The weights it was about to save are appended to `trained`.
    """
    save = zoo.Translator.save_to_preset

    def save_or_die(self, path, *args, **kwargs):
        if os.path.basename(os.fspath(path)) == "preset":
            if trained is not None:
                trained.append(self.get_weights())
            raise Killed
        return save(self, path, *args, **kwargs)

    return mock.patch.object(zoo.Translator, "save_to_preset", save_or_die)


def test_a_finished_run_is_not_replaced_unasked(tmp_path):
    out = tmp_path / "run"
    result = _run(out)
    with open(out / "logs" / "history.csv") as f:
        history = [float(row["val_loss"]) for row in csv.DictReader(f)]
    assert result.epochs == 2 and result.best["monitor"] == "val_loss"  # what `zoo train` reports from
    assert result.best["epoch"] == 1 + history.index(min(history))
    # The held-out figures, for scripts that compare runs.
    evaluation = json.loads((out / "logs" / "evaluation.json").read_text())
    assert 0 < evaluation.pop("seconds") <= result.seconds  # written before the export
    assert evaluation == {
        "preset": "gru_luong_small",
        "epochs": 2,
        "best": result.best,
        "model_epoch": 2,  # the last epoch's model: no --restore-best
        **result.report.to_dict(),
    }
    assert evaluation["count"] == 4 and evaluation["bleu"] == result.bleu
    weights = (out / "preset" / "model.weights.h5").read_bytes()
    with pytest.raises(FileExistsError) as error:
        _run(out, epochs=3)  # "three epochs instead": would have trained afresh over it
    message = str(error.value)
    assert f"{out} holds a finished run: its preset {out}/preset and its export {out}/exported" in message
    assert f"--preset {out}/preset --out NEW_DIR" in message and "--overwrite" in message
    assert (out / "preset" / "model.weights.h5").read_bytes() == weights
    assert _epochs_logged(out) == ["0", "1"]

    # Stopped after its preset, before its export: the message says how to make the export.
    (out / "exported").rename(tmp_path / "moved")
    for stray in (".exported.tmp-killed", ".preset.tmp-killed", ".preset.trash-killed"):
        (out / stray).mkdir()  # what kills while saving left: a staging copy can be a whole SavedModel
        (out / stray / "saved_model.pb").write_bytes(b"x" * 1000)
    with pytest.raises(FileExistsError, match=f"but no export .*zoo export {out}/preset {out}/exported"):
        _run(out)
    assert sorted(os.listdir(out)) == [".lock", "checkpoint", "logs", "preset"]  # the strays are removed
    for stray in (".exported.tmp-killed", ".checkpoint-best-stray"):
        (out / stray).mkdir()
    (out / "checkpoint" / ".best.tmp-killed").mkdir()

    # --overwrite trains afresh, and nothing of the earlier run is left to mix with it.
    (out / "logs" / "train" / "events.out.tfevents.earlier").write_text("")
    _run(out, epochs=1, overwrite=True)
    assert (out / "preset" / "model.weights.h5").read_bytes() != weights
    assert _epochs_logged(out) == ["0"]
    assert json.loads((out / "logs" / "evaluation.json").read_text())["epochs"] == 1  # the new run's
    assert "events.out.tfevents.earlier" not in os.listdir(out / "logs" / "train")
    assert sorted(os.listdir(out / "checkpoint")) == [".lock", "best"]
    # --overwrite removed the strays of what it replaced (and nothing else).
    assert sorted(os.listdir(out)) == [
        ".checkpoint-best-stray",
        ".lock",
        "checkpoint",
        "exported",
        "logs",
        "preset",
    ]


def test_a_run_killed_after_training_saves_its_model_when_run_again(tmp_path, capsys):
    out = tmp_path / "run"
    trained = []
    with _killed_saving_the_preset(trained), pytest.raises(Killed):
        _run(out)
    assert not (out / "preset").exists() and not (out / "logs" / "evaluation.json").exists()
    state = json.loads((out / "checkpoint" / "latest" / "state.json").read_text())
    assert (state["epoch"], state["step"]) == (2, 0)  # the trained model is kept: nothing is lost

    _run(out, verbose=1)
    assert "all 2 epochs were done; nothing left to train" in capsys.readouterr().out
    assert _epochs_logged(out) == ["0", "1"]  # no epoch trained again
    for want, got in zip(trained[0], zoo.load(out / "preset").get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)
    assert sorted(os.listdir(out / "checkpoint")) == [".lock", "best"]
    assert (out / "exported" / "saved_model.pb").is_file()
    assert json.loads((out / "logs" / "evaluation.json").read_text())["epochs"] == 2


def test_an_interrupted_run_resumes_only_with_the_settings_that_wrote_it(tmp_path):
    out = tmp_path / "run"
    with _killed_saving_the_preset(), pytest.raises(Killed):
        _run(out)
    with pytest.raises(ValueError) as error:
        _run(out, epochs=3, learning_rate=5e-4)
    message = str(error.value)
    assert "written by a run with epochs 2 (this run: 3), learning_rate 0.001 (this run: 0.0005)" in message
    assert message.endswith("or run again with --overwrite to start afresh.")
    # Other data with the same vocabularies would load; the data's digest tells.
    with pytest.raises(ValueError, match=r"training_data '190 pairs, sha256 \w+' \(this run: '189 pairs"):
        _run(out, num_pairs=199)
    _run(out)  # the same settings resume
    assert _epochs_logged(out) == ["0", "1"]


def test_run_settings_must_be_json():
    with pytest.raises(ValueError, match="`run` must hold JSON values"):
        TrainingCheckpoint("unused", run={"data": object()})
