import json
import math
import os
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from tests.conftest import TINY
from training.checkpoint import TrainingCheckpoint
from training.datasets import TextPairs, dates
from training.schedules import learning_rate_schedule


@pytest.fixture
def deterministic_ops():
    """Deterministic kernels, for comparing two runs bit for bit.

    Switched off again after the test; the switch off is not public API.
    """
    import tensorflow as tf
    from tensorflow.python.framework import config

    tf.config.experimental.enable_op_determinism()
    yield
    config.disable_op_determinism()


class Crash(keras.callbacks.Callback):
    """Stands in for a kill: raises after the given number of steps."""

    def __init__(self, after_steps):
        super().__init__()
        self.after_steps = after_steps
        self.steps = 0

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        if self.steps == self.after_steps:
            raise KeyboardInterrupt


def _fit(pairs, directory, epochs, extra_callbacks=(), form="TextPairs", seed=None):
    """Train with a checkpoint on `pairs` given in `form`: "TextPairs", "unshuffled", "lists" or "dataset"."""
    keras.utils.set_random_seed(0)
    # Dropout on, so the restored random state matters too.
    model = zoo.load("gru_luong_small", train_data=pairs, dropout=0.2, **TINY)
    validation = pairs[:16]
    if form in ("lists", "dataset"):
        steps = math.ceil(len(pairs) / 8)
        validation = (list(validation.sources), list(validation.targets))
        pairs = (list(pairs.sources), list(pairs.targets))
        if form == "dataset":
            pairs = tf.data.Dataset.from_tensor_slices(pairs).shuffle(len(pairs[0]), seed=0)
    else:
        steps = pairs.batches_per_epoch(model.preprocessor, batch_size=8)
    schedule = learning_rate_schedule("cosine", 3e-3, warmup_steps=3, total_steps=epochs * steps)
    model.compile(optimizer=keras.optimizers.Adam(schedule, clipnorm=1.0))
    checkpoint = TrainingCheckpoint(directory, save_every=2, verbose=0)
    history = model.fit(
        pairs,
        validation_data=validation,
        epochs=epochs,
        batch_size=8,
        shuffle=form != "unshuffled",
        seed=seed,
        callbacks=[checkpoint, *extra_callbacks],
        verbose=0,
    )
    return model, history, steps


@pytest.mark.parametrize("form", ["TextPairs", "unshuffled", "lists"])
def test_a_run_killed_mid_epoch_resumes_to_the_same_weights(tmp_path, deterministic_ops, form):
    pairs = dates(120, seed=3)
    expected, expected_history, steps = _fit(pairs, tmp_path / "a", epochs=3, form=form)

    crash_after = steps + 2 * (steps // 4) + 1  # mid-epoch 2, one step after a save
    with pytest.raises(KeyboardInterrupt):
        _fit(pairs, tmp_path / "b", epochs=3, extra_callbacks=[Crash(crash_after)], form=form)
    with open(tmp_path / "b" / "latest" / "state.json") as f:
        state = json.load(f)
    assert (state["epoch"], state["optimizer_step"]) == (1, crash_after - 1)
    # As a kill between the two renames of the next save would leave it:
    # `latest` moved aside, the new copy half written.
    os.rename(tmp_path / "b" / "latest", tmp_path / "b" / ".latest.old-x")
    os.makedirs(tmp_path / "b" / ".latest.tmp-y")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        resumed, history, _ = _fit(pairs, tmp_path / "b", epochs=3, form=form)
    assert not [w for w in caught if "afresh" in str(w.message)]  # an exact resume: nothing to warn of
    assert int(resumed.optimizer.iterations.numpy()) == 3 * steps  # no step lost or repeated
    assert len(history.history["loss"]) == 2  # the rest of epoch 2, then epoch 3
    np.testing.assert_allclose(
        history.history["val_loss"], expected_history.history["val_loss"][1:], rtol=1e-5
    )
    for want, got in zip(expected.get_weights(), resumed.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    # A finished run starts afresh next time; the lock file stays (see training.locks).
    assert sorted(os.listdir(tmp_path / "b")) == [".lock", "best"]
    best = zoo.load(tmp_path / "b" / "best")  # the best epoch, as a preset directory
    assert best.translate(pairs.sources[0]) == zoo.load(tmp_path / "a" / "best").translate(pairs.sources[0])


def test_a_resume_from_a_dataset_says_that_its_epoch_starts_afresh(tmp_path):
    pairs = dates(120, seed=3)
    with pytest.raises(KeyboardInterrupt):
        _fit(pairs, tmp_path, epochs=2, extra_callbacks=[Crash(5)], form="dataset")
    with pytest.warns(UserWarning, match="tf.data.Dataset, which starts its epoch afresh"):
        _fit(pairs, tmp_path, epochs=2, form="dataset")


def test_a_checkpoint_of_data_shuffled_with_another_seed_is_refused(tmp_path):
    pairs = dates(120, seed=3)
    with pytest.raises(KeyboardInterrupt):
        _fit(pairs, tmp_path, epochs=2, extra_callbacks=[Crash(5)], form="lists", seed=1)
    with pytest.raises(ValueError, match=r"shuffled its data with seed 1, but this run shuffles with seed 2"):
        _fit(pairs, tmp_path, epochs=2, form="lists", seed=2)


def test_a_checkpoint_from_other_settings_is_refused(tmp_path):
    pairs = dates(120, seed=3)
    with pytest.raises(KeyboardInterrupt):
        _fit(pairs, tmp_path, epochs=2, extra_callbacks=[Crash(5)])
    keras.utils.set_random_seed(0)
    model = zoo.load("gru_luong_small", train_data=pairs, **TINY)
    with pytest.raises(ValueError, match="steps per epoch"):
        model.fit(pairs, epochs=1, batch_size=4, callbacks=[TrainingCheckpoint(tmp_path)], verbose=0)
    (tmp_path / "latest" / "state.json").write_text("{not json")
    with pytest.raises(ValueError, match="not a readable checkpoint"):
        model.fit(pairs, epochs=1, batch_size=8, callbacks=[TrainingCheckpoint(tmp_path)], verbose=0)


def test_a_checkpoint_for_another_vocabulary_is_refused(tmp_path):
    pairs = dates(120, seed=3)
    with pytest.raises(KeyboardInterrupt):
        _fit(pairs, tmp_path, epochs=2, extra_callbacks=[Crash(5)])
    # Other data with words of the same counts and lengths: vocabularies of
    # the same size, so the weights would load, every row meaning another word.
    mirrored = TextPairs([" ".join(w[::-1] for w in s.split()) for s in pairs.sources], pairs.targets)
    with pytest.raises(ValueError, match="another source vocabulary: resuming would load"):
        _fit(mirrored, tmp_path, epochs=2)
    with pytest.raises(ValueError, match="other settings: resuming would load"):
        keras.utils.set_random_seed(0)
        model = zoo.load(
            "gru_luong_small", train_data=pairs, **dict(TINY, dropout=0.2, attention_score="general")
        )
        model.compile(optimizer="adam")
        model.fit(pairs, epochs=2, batch_size=8, callbacks=[TrainingCheckpoint(tmp_path)], verbose=0)
    model, _, _ = _fit(pairs, tmp_path, epochs=2)  # the same data and settings resume
    assert not (tmp_path / "latest").exists()


def test_a_checkpoint_is_refused_to_a_model_that_reads_case_otherwise(tmp_path):
    pairs = dates(120, seed=3)
    lowercase_text = TextPairs([s.lower() for s in pairs.sources], pairs.targets)
    with pytest.raises(KeyboardInterrupt):
        _fit(lowercase_text, tmp_path, epochs=2, extra_callbacks=[Crash(5)])
    keras.utils.set_random_seed(0)
    model = zoo.load("gru_luong_small", train_data=lowercase_text, dropout=0.2, lowercase=False, **TINY)
    # The same tokens either way, but a capital now reads as another token (or [UNK]).
    lowercasing = zoo.load("gru_luong_small", train_data=lowercase_text, **TINY)
    assert (
        model.preprocessor.source_tokenizer.vocabulary == lowercasing.preprocessor.source_tokenizer.vocabulary
    )
    with pytest.raises(ValueError, match="another source vocabulary"):
        model.fit(lowercase_text, epochs=2, batch_size=8, callbacks=[TrainingCheckpoint(tmp_path)], verbose=0)


def test_checkpoint_arguments_are_checked(tmp_path):
    with pytest.raises(ValueError, match="save_every"):
        TrainingCheckpoint(tmp_path, save_every=0)
    with pytest.raises(ValueError, match="mode"):
        TrainingCheckpoint(tmp_path, mode="up")
    assert TrainingCheckpoint(tmp_path, monitor="val_bleu").mode == "max"


def test_a_monitor_missing_from_the_logs_is_said_once(tmp_path):
    import warnings

    pairs = dates(40, seed=3)
    model = zoo.load("gru_luong_small", train_data=pairs, **TINY)
    with pytest.warns(
        UserWarning, match="'val_loss' is not in the epoch's logs .*accuracy, loss.*validation_data"
    ) as caught:
        model.fit(
            pairs,
            epochs=2,
            batch_size=8,
            callbacks=[TrainingCheckpoint(tmp_path / "a", verbose=0)],
            verbose=0,
        )
    assert sum("TrainingCheckpoint" in str(w.message) for w in caught) == 1  # not once per epoch
    assert not (tmp_path / "a" / "best").exists()
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="TrainingCheckpoint")
        checkpoint = TrainingCheckpoint(tmp_path / "b", monitor=None, verbose=0)
        model.fit(pairs, epochs=1, batch_size=8, callbacks=[checkpoint], verbose=0)


@pytest.mark.parametrize(
    "mode, values", [("min", [0.9, 0.7, 0.75, 0.8, 0.6, 0.65, 0.66, 0.7]), ("max", [1, 3, 2, 2, 3, 5, 4, 4])]
)
@pytest.mark.parametrize("patience", [1, 2, 3])
def test_early_stopping_resumed_at_any_epoch_stops_where_the_whole_run_does(mode, values, patience):
    """Keras' EarlyStopping starts its count afresh in a resumed `fit`; ResumableEarlyStopping takes it from the checkpoint."""
    from training.checkpoint import ResumableEarlyStopping

    class Model:
        stop_training = False
        _initial_epoch = None

    def run(callback, first, checkpoint=None):
        """The epoch index at which `callback` stops a run of `values` started at epoch `first`, or None."""
        model = Model()
        callback.set_model(model)
        callback.set_params({"epochs": len(values)})
        callback.on_train_begin()
        if model._initial_epoch == len(values):
            return "before the first step"
        for epoch in range(first, len(values)):
            callback.on_epoch_end(epoch, {"val_loss": values[epoch]})
            if model.stop_training:
                return epoch
        return None

    whole = run(keras.callbacks.EarlyStopping(monitor="val_loss", mode=mode, patience=patience), 0)
    assert whole is not None  # each case stops early
    # Resumed after `done` epochs, with the best as TrainingCheckpoint keeps it; the whole run
    # saved its last checkpoint after its stopping epoch `whole`.
    for done in range(1, whole + 2):
        seen = values[:done]
        best = (min if mode == "min" else max)(seen)
        checkpoint = TrainingCheckpoint("unused", monitor="val_loss", mode=mode)
        checkpoint.best = {"monitor": "val_loss", "value": best, "epoch": seen.index(best) + 1}
        checkpoint._epoch = done
        resumed = run(ResumableEarlyStopping(checkpoint, patience=patience), done)
        expected = whole if done <= whole else "before the first step"
        assert resumed == expected, (done, resumed, whole)
