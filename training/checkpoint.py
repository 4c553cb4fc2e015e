"""Checkpoints that resume an interrupted `fit` exactly, and keep the best model."""

import json
import math
import os
import shutil
import warnings

import keras
import numpy as np

from training.locks import lock_directory, unlock_directory
from zoo.atomic import atomic_directory, recover_directory
from zoo.vocabulary_digest import digest

LATEST = "latest"
BEST = "best"
STATE_FILE = "state.json"
WEIGHTS_FILE = "training.weights.h5"
# How a refused resume names each part of `_model_identity` that differs.
DIFFERENCES = {
    "settings": "other settings",
    "source_vocabulary": "another source vocabulary",
    "target_vocabulary": "another target vocabulary",
}


class TrainingCheckpoint(keras.callbacks.Callback):
    """Save the training state often; restore it when `fit` starts again.

    `<directory>/latest` holds the model and optimizer weights, the random
    state of every dropout layer and the position in the run (epoch, step).
    It is written atomically every `save_every` steps and at the end of each
    epoch. When `fit` starts and a `latest` checkpoint exists, the state is
    restored and training continues at the step after it: the first epoch
    runs only its remaining steps. With `training.TextPairs` or pairs in
    lists (whose batch order `fit` makes a function of the optimizer's
    step) the resumed run reads the same batches as an uninterrupted one
    (a `tf.data.Dataset` starts its epoch afresh), and its final
    weights match it (bit for bit with deterministic kernels,
    `TF_DETERMINISTIC_OPS=1`). The resumed epoch's metrics average only the
    steps after the restore. A checkpoint written for a model with other
    settings or other vocabularies (other training data), in another
    precision, with another number of steps per epoch or with other `run`
    settings raises `ValueError` instead of being restored.

    `<directory>/best` is a preset directory (`zoo.load` reads it) of the
    model with the best `monitor` value so far, written at epoch ends.

    One process at a time trains into a directory: `fit` takes its lock
    (`training.locks.lock_directory`) when it starts, and a second process
    that tries raises `DirectoryInUseError` instead of writing over the
    first one's saves. The lock is released when `fit` ends, and by the
    operating system when the process exits, however it ends.

    Args:
        directory: where `latest` and `best` are written.
        save_every: int, steps between saves of `latest` within an epoch;
            `None` saves at epoch ends only.
        monitor: the epoch log to rank models by, such as `"val_loss"` or
            `"val_bleu"`; `None` keeps no best model.
        mode: `"min"`, `"max"` or `"auto"` (max for names with "bleu",
            "accuracy" or "match", min otherwise).
        delete_latest: remove `latest` when `fit` ends normally, so that the
            next `fit` starts afresh. With `False`, a later `fit` resumes
            from the last epoch's state, as Keras' `BackupAndRestore` does.
        run: optional dict of what else the run's weights depend on (the
            number of epochs, the learning-rate schedule, the seed, a digest
            of the training data...), JSON values. It is kept in `latest`,
            and a checkpoint written with other values for any of its keys
            is refused, naming each one.
        afresh: what a refusal tells the user to do to start afresh instead
            of resuming; by default, delete `<directory>/latest`.
        verbose: 1 prints a line on restore and on a new best model.

    Example:

    >>> model.fit(train, validation_data=valid, epochs=10,
    ...           callbacks=[TrainingCheckpoint("run/checkpoint", save_every=200)])
    """

    def __init__(
        self,
        directory,
        save_every=None,
        monitor="val_loss",
        mode="auto",
        delete_latest=True,
        run=None,
        afresh=None,
        verbose=1,
    ):
        super().__init__()
        if save_every is not None and (not isinstance(save_every, int) or save_every < 1):
            raise ValueError(f"`save_every` must be a positive int or None, received {save_every!r}.")
        if mode == "auto":
            mode = "max" if monitor and any(w in monitor for w in ("bleu", "accuracy", "match")) else "min"
        if mode not in ("min", "max"):
            raise ValueError(f"`mode` must be 'min', 'max' or 'auto', received {mode!r}.")
        self.directory = os.path.expanduser(os.fspath(directory))
        self.save_every = save_every
        self.monitor = monitor
        self.mode = mode
        self.delete_latest = delete_latest
        self.run = _json_value("run", dict(run or {}))
        self.afresh = afresh or f"delete {self.latest_path}"
        self.verbose = verbose
        self.best = None
        self._warned_missing = False
        self._epoch = 0
        self._step = 0  # steps done in the current epoch
        self._since_save = 0
        self._stop_epoch_at = None  # the resumed epoch ends early, where the original would have

    @property
    def epochs_done(self):
        """Epochs finished: restored from `latest` when `fit` starts, then counted."""
        return self._epoch

    @property
    def latest_path(self):
        return os.path.join(self.directory, LATEST)

    @property
    def best_path(self):
        return os.path.join(self.directory, BEST)

    def recover(self) -> bool:
        """Repair what a kill left in `directory`; `True` if `latest` holds a state to resume.

        A kill while `latest` or `best` was being replaced can leave the
        previous copy moved aside and staging directories behind;
        `zoo.atomic.recover_directory` puts the copy back and removes the
        rest. `fit` calls this when it starts; call it first to know whether
        the run will resume (to append to a log rather than replace it, say).

        It first takes the directory's lock (see the class), since repairing
        would delete a running writer's staging directories.

        Raises:
            training.locks.DirectoryInUseError: another process holds the lock.
        """
        lock_directory(self.directory, "training into")
        recover_directory(self.best_path)
        return recover_directory(self.latest_path)

    def on_train_begin(self, logs=None):
        if not self.recover():
            return
        path = self.latest_path
        state = read_state(path, self.afresh)
        steps = self.params.get("steps")
        written = state.get("run", {})
        changed = [
            f"{key} {written[key]!r} (this run: {value!r})"
            for key, value in self.run.items()
            if key in written and written[key] != value
        ]
        if changed:
            raise ValueError(
                f"The checkpoint in {path} was written by a run with {', '.join(changed)}: resuming would "
                f"mix two runs. Resume with the settings that wrote it, or {self.afresh} to start afresh."
            )
        if state["steps_per_epoch"] != steps:
            raise ValueError(
                f"The checkpoint in {path} was written with {state['steps_per_epoch']} steps per epoch, "
                f"but this run has {steps}. Resume with the same data, batch size and steps per epoch, "
                f"or {self.afresh} to start afresh."
            )
        written_seed, seed = state.get("data_seed"), getattr(self.model, "_input_seed", None)
        if None not in (written_seed, seed) and written_seed != seed and self.model._input_resumes:
            raise ValueError(
                f"The checkpoint in {path} was written by a run that shuffled its data with seed "
                f"{written_seed}, but this run shuffles with seed {seed}: it would read other batches. "
                f"Resume with fit(..., seed={written_seed}) (or keras.utils.set_random_seed({written_seed}) "
                f"before fit), or {self.afresh} to start afresh."
            )
        precision = self.model.dtype_policy.name
        if state.get("precision", "float32") != precision:
            raise ValueError(
                f"The checkpoint in {path} was written in {state.get('precision', 'float32')} precision, "
                f"but this run trains in {precision}. Resume with the same precision, "
                f"or {self.afresh} to start afresh."
            )
        identity = _model_identity(self.model)
        differ = [
            DIFFERENCES.get(key, key)
            for key, digest in state.get("model", {}).items()
            if identity.get(key, digest) != digest
        ]
        if differ:
            raise ValueError(
                f"The checkpoint in {path} was written for a model with {' and '.join(differ)}: resuming "
                "would load its weights into a model they do not belong to. Resume with the same data "
                f"(the vocabularies are learned from it) and settings, or {self.afresh} to start afresh."
            )
        self.model._build_optimizer()
        try:
            self.model.load_weights(os.path.join(path, WEIGHTS_FILE))
        except Exception as e:  # h5py and Keras raise several types for a bad file
            raise ValueError(
                f"{path}: cannot restore the checkpoint ({e}); {self.afresh} to start afresh."
            ) from None
        for generator, value in zip(_seed_generators(self.model), state["seed_states"]):
            generator.state.assign(np.asarray(value, dtype=generator.state.dtype))
        self.best = state.get("best")
        self._epoch, self._step = state["epoch"], state["step"]
        self.model._initial_epoch = self._epoch
        if not getattr(self.model, "_input_resumes", True) and self._epoch < self.params.get(
            "epochs", math.inf
        ):
            warnings.warn(
                f"Resuming from {path} with a tf.data.Dataset, which starts its epoch afresh: the "
                "resumed run reads other batches than the interrupted one would have. Pass a "
                "training.TextPairs or (sources, targets) lists to resume exactly.",
                stacklevel=2,
            )
        if self._step:
            self._stop_epoch_at = steps
        if not self.verbose:
            return
        if self._epoch >= self.params.get("epochs", math.inf):
            print(
                f"Resuming from {path}: all {self._epoch} epochs were done; nothing left to train.",
                flush=True,
            )
        else:
            print(f"Resuming from {path}: epoch {self._epoch + 1}, step {self._step} of {steps}.", flush=True)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        if self._stop_epoch_at is None:
            self._step = 0

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1
        self._since_save += 1
        if self.save_every is not None and self._since_save >= self.save_every:
            self._save_latest()
        if self._stop_epoch_at is not None and self._step >= self._stop_epoch_at:
            self.model.stop_training = True  # ends this epoch; on_epoch_end lets training go on

    def on_epoch_end(self, epoch, logs=None):
        if self._stop_epoch_at is not None:
            self._stop_epoch_at = None
            self.model.stop_training = False
        self._epoch, self._step = epoch + 1, 0
        value = (logs or {}).get(self.monitor) if self.monitor else None
        if self.monitor and value is None and not self._warned_missing:
            self._warned_missing = True
            warnings.warn(
                f"TrainingCheckpoint: {self.monitor!r} is not in the epoch's logs "
                f"({', '.join(sorted(logs or {})) or 'none'}), so no best model is saved. Pass "
                "`validation_data` to `fit` (and `ValidationBleu` before this callback for val_bleu), "
                "or `monitor=None` to keep `latest` only.",
                stacklevel=2,
            )
        if value is not None and math.isfinite(value) and self._improves(value):
            self.best = {"monitor": self.monitor, "value": float(value), "epoch": epoch + 1}
            self.model.save_to_preset(self.best_path)
            if self.verbose:
                start = "\n" if self.params.get("verbose") == 1 else ""  # the bar leaves its line open
                print(
                    f"{start}Epoch {epoch + 1}: {self.monitor} {value:.4f} is the best so far; saved {self.best_path}"
                )
        self._save_latest()

    def on_train_end(self, logs=None):
        self.model._initial_epoch = None
        if self.delete_latest:
            shutil.rmtree(self.latest_path, ignore_errors=True)
        unlock_directory(self.directory)

    def _improves(self, value):
        if self.best is None:
            return True
        return value < self.best["value"] if self.mode == "min" else value > self.best["value"]

    def _save_latest(self):
        self._since_save = 0
        state = {
            "epoch": self._epoch,
            "step": self._step,
            "steps_per_epoch": self.params.get("steps"),
            "precision": self.model.dtype_policy.name,
            "model": _model_identity(self.model),
            "run": self.run,
            "optimizer_step": int(self.model.optimizer.iterations.numpy()),
            "seed_states": [generator.state.numpy().tolist() for generator in _seed_generators(self.model)],
            "best": self.best,
            "data_seed": getattr(self.model, "_input_seed", None),  # the seed of `fit`'s shuffle
        }
        with atomic_directory(self.latest_path) as staging:
            self.model.save_weights(os.path.join(staging, WEIGHTS_FILE))
            with open(os.path.join(staging, STATE_FILE), "w", encoding="utf-8") as f:
                json.dump(state, f, indent=2)


def _model_identity(model):
    """Digests of what a checkpoint's weights belong to: the settings and each vocabulary.

    Shapes alone do not tell: a run resumed on other data learns other
    vocabularies of the same size, and its weights would load with every
    embedding row meaning another word. Empty for a model that is not a
    `zoo.Translator`.
    """
    backbone, preprocessor = getattr(model, "backbone", None), getattr(model, "preprocessor", None)
    if backbone is None or preprocessor is None:
        return {}
    settings = {k: v for k, v in backbone.get_config().items() if k not in ("name", "trainable", "dtype")}
    identity = {"settings": digest([type(backbone).__name__, settings, preprocessor.get_config()])}
    # The digests `save_weights` records in a weights file, which `load_weights` checks.
    identity.update({f"{side}_vocabulary": value for side, value in model._vocabulary_digests().items()})
    return identity


def _json_value(name, value):
    """`value` as it reads back from JSON (tuples become lists), or `ValueError` naming `name`."""
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError) as e:
        raise ValueError(f"`{name}` must hold JSON values (str, number, bool, list, dict): {e}") from None


def _seed_generators(model):
    """Every layer's random state (dropout masks), in a fixed order."""
    return [
        generator for layer in model._flatten_layers() for generator in getattr(layer, "_seed_generators", [])
    ]


def read_state(path: str, afresh: str | None = None) -> dict:
    """The state a `latest` checkpoint at `path` holds; `ValueError` if it is missing or malformed.

    `afresh` is what the message tells the user to do instead of resuming.
    """
    afresh = afresh or f"delete {path}"
    state_path = os.path.join(path, STATE_FILE)
    try:
        with open(state_path, encoding="utf-8") as f:
            state = json.load(f)
        for key in ("epoch", "step", "steps_per_epoch", "seed_states"):
            state[key]  # noqa: B018 - a missing key is a malformed file
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(
            f"{state_path}: not a readable checkpoint state ({e!r}); {afresh} to start afresh."
        ) from None
    return state


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """Keras' `EarlyStopping` on a `TrainingCheckpoint`'s monitor, whose count goes on across a resume.

    Keras' callback starts counting epochs without improvement afresh in
    every `fit`, so a resumed run trained up to `patience` epochs more than
    the run it continues would have. This one takes the best value and its
    epoch from the checkpoint's restored state (the checkpoint must come
    before it in the callback list), and where that run had already run out
    of patience, trains no further.

    Args:
        checkpoint: the run's `TrainingCheckpoint`; its `monitor` and
            `mode` are used.
        patience: epochs without improvement before training stops.
        verbose: as in Keras.
    """

    def __init__(self, checkpoint, patience=0, verbose=0):
        if not checkpoint.monitor:
            raise ValueError("The checkpoint has no `monitor` to stop early on.")
        super().__init__(monitor=checkpoint.monitor, mode=checkpoint.mode, patience=patience, verbose=verbose)
        self.checkpoint = checkpoint

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        best, done = self.checkpoint.best, self.checkpoint.epochs_done
        if best is None or not done:
            return
        # The state Keras' callback had after epoch `done` of the whole run.
        self.best, self.best_epoch = best["value"], best["epoch"] - 1
        self.wait = done - best["epoch"]
        if self.wait >= self.patience and done > 1:
            # That run stopped after its last saved epoch, before its preset was written.
            self.stopped_epoch = done - 1
            self.model._initial_epoch = self.params["epochs"]
