"""Training as a plain function: the main job behind `zoo train`."""

import hashlib
import json
import os
import shutil
import time

import keras

import zoo
from keras_attention.checks import check_bool, check_float, check_int
from training.checkpoint import BEST, LATEST, ResumableEarlyStopping, TrainingCheckpoint
from training.config import (  # noqa: F401 - TrainConfig and TrainResult are this module's API too
    CHECKPOINT_DIR,
    EVALUATION_FILE,
    EXPORT_DIR,
    LOG_ENTRIES,
    LOGS_DIR,
    PRESET_DIR,
    TrainConfig,
    TrainResult,
)
from training.corpora import check_corpus_options, load_corpus
from training.evaluation import evaluate
from training.locks import LOCK_FILE, lock_directory, unlock_directory
from training.pipeline import MAX_UNKNOWN_SHARE, describe_batches, unknown_shares
from training.plots import plot_history
from training.progress import TokensPerSecond
from training.readers import read_pairs
from training.schedules import learning_rate_schedule
from training.validation_bleu import ValidationBleu
from zoo.atomic import atomic_file, check_replaceable, recover_directory
from zoo.export import SAVED_MODEL_DIRECTORY
from zoo.preset_files import WEIGHTS_FILE
from zoo.preset_io import PRESET_DIRECTORY, check_overrides


def train(config: TrainConfig) -> TrainResult:
    """Train `config.preset` on the configured data; save and export the result.

    Writes to `config.out`:

    - `preset/`: the final model (reload with `zoo.load`): the last epoch's,
      or with `config.restore_best` the best epoch's, which is also in
      `checkpoint/best/` (the model of the best epoch by `config.monitor`);
    - `exported/`: the SavedModel;
    - `logs/`: TensorBoard logs, `history.csv`, `training_curves.png`, and
      `evaluation.json`, the held-out figures.

    While training, `checkpoint/latest/` holds the full training state,
    saved every `config.save_every` steps: an interrupted run started again
    with the same command resumes at the step after the last save, with the
    same data order, and ends with the weights an uninterrupted run would
    have; one started with other training settings or data raises
    `ValueError` instead. One run at a time writes to `config.out`: a second
    one raises `training.locks.DirectoryInUseError` before it writes
    anything.

    Nothing is replaced unasked: where `config.out` holds a finished run
    (its `preset/` and no `checkpoint/latest/` to resume), `FileExistsError`
    says how to train that model further (`--preset OUT/preset` into
    another directory) or afresh (`config.overwrite`, which replaces the
    run's outputs once the new model is built). Where `preset/`,
    `checkpoint/best/` or `exported/` holds something other than a run's
    output, `FileExistsError` comes before anything is written, even with
    `config.overwrite`.
    """
    started = time.perf_counter()
    _check_numbers(config)
    if config.target_data is not None and config.data is None:
        raise ValueError(
            "--target-data names the target side of aligned files; give the source side as --data."
        )
    if config.valid_target_data is not None and config.valid_data is None:
        raise ValueError(
            "--valid-target-data names the target side of aligned validation files; give the source "
            "side as --valid-data."
        )
    if config.valid_data is not None and config.valid_fraction is not None:
        raise ValueError(
            "--valid-data is the validation set, and --valid-fraction holds one out of the training "
            "data; give one of them."
        )
    if config.monitor not in ("val_loss", "val_bleu"):
        raise ValueError(f"`monitor` must be 'val_loss' or 'val_bleu', received {config.monitor!r}.")
    if config.precision not in zoo.PRECISIONS:
        raise ValueError(
            f"`precision` must be one of {', '.join(map(repr, zoo.PRECISIONS))}, received {config.precision!r}."
        )
    _check_outputs(config.out)
    training, saved = _preset(config)  # an unknown name or a broken directory fails before any work
    created = not os.path.exists(config.out)
    # A second run into the same directory stops here, before it writes anything.
    lock_directory(config.out, "training into")
    try:
        if not config.overwrite:
            _check_finished(config.out)
        return _train(config, training, saved, started)
    finally:
        if created:
            _remove_if_unwritten(config.out)
        unlock_directory(config.out)


def _remove_if_unwritten(out):
    """Remove `out`, made by this run, if the run failed before writing anything but its lock.

    Removed while the lock is held: another run that starts now is refused,
    or finds no directory and makes its own.
    """
    try:
        if os.listdir(out) == [LOCK_FILE]:
            os.remove(os.path.join(out, LOCK_FILE))
            os.rmdir(out)
    except OSError:
        pass  # something was written after all, or the directory is gone


def _preset(config):
    """`(training defaults, saved model or None)` of `config.preset`: a built-in name or a saved preset.

    A saved preset directory (`OUT/preset` of an earlier run) is trained on
    from its weights, with its own vocabularies and settings; a built-in
    name wins over a folder of the same name, as in `zoo.load` with data.
    """
    if config.preset in zoo.PRESETS or not os.path.isdir(config.preset):
        training = zoo.get_preset(config.preset)["training"]
        check_overrides(config.preset, config.overrides)
        return training, None
    keras.utils.set_random_seed(config.seed)  # the layers' dropout seeds, as for a built-in preset
    # Of a saved preset, only the length limits may change; zoo.load names any other setting.
    saved = zoo.load(config.preset, dtype=config.precision, **config.overrides)
    return zoo.TRAINING_DEFAULTS[type(saved.backbone).__name__], saved


def _check_numbers(config):
    """`ValueError` for a count, a fraction or a rate out of its range, before any work."""
    for name in ("num_pairs", "epochs", "batch_size", "save_every", "eval_samples", "bleu_samples"):
        check_int(name, getattr(config, name), 1)
    check_bool("multi_reference", config.multi_reference)
    check_bool("replace_unknown", config.replace_unknown)
    if config.data is None:
        check_corpus_options(config.corpus, config.corpus_options)
    elif config.corpus_options:
        raise ValueError("`corpus_options` are for the built-in corpus, which `data` replaces.")
    check_int("seed", config.seed, 0, 2**32 - 1)  # NumPy's range, named here rather than deep in a run
    for name, minimum in (("steps_per_epoch", 1), ("patience", 0), ("warmup_steps", 0)):
        if getattr(config, name) is not None:
            check_int(name, getattr(config, name), minimum)
    if config.learning_rate is not None:
        check_float("learning_rate", config.learning_rate, 0.0, minimum_allowed=False)
    # Open at the top as well, which `check_float` does not express.
    if config.valid_fraction is not None and not 0.0 < config.valid_fraction < 1.0:
        raise ValueError(
            f"`valid_fraction` must be between 0 and 1 (exclusive), received {config.valid_fraction!r}."
        )
    if config.label_smoothing is not None and not 0.0 <= config.label_smoothing < 1.0:
        raise ValueError(f"`label_smoothing` must be in [0, 1), received {config.label_smoothing!r}.")


def _check_outputs(out):
    """Raise `FileExistsError` now, not after training, where an output would replace other files."""
    check_replaceable(os.path.join(out, PRESET_DIR), PRESET_DIRECTORY)
    check_replaceable(os.path.join(out, CHECKPOINT_DIR, BEST), PRESET_DIRECTORY)
    check_replaceable(os.path.join(out, EXPORT_DIR), SAVED_MODEL_DIRECTORY)


def _check_finished(out):
    """`FileExistsError` where `out` holds a finished run, which training again would replace.

    Finished: `out/preset` is there and `out/checkpoint/latest`, which a run
    keeps until its preset is saved, is not. Call it holding `out`'s lock:
    it puts back a copy that a kill left moved aside, and removes what a
    killed save of the preset or the export left beside them (a staging
    directory can hold a whole SavedModel).
    """
    preset, export = os.path.join(out, PRESET_DIR), os.path.join(out, EXPORT_DIR)
    resumable = recover_directory(os.path.join(out, CHECKPOINT_DIR, LATEST))
    finished = recover_directory(preset)
    recover_directory(export)
    if resumable or not finished:
        return
    exported = (
        f"and its export {export}"
        if os.path.isdir(export)
        else f"but no export (the run stopped before it; `zoo export {preset} {export}` makes one)"
    )
    raise FileExistsError(
        f"{out} holds a finished run: its preset {preset} {exported}. Training into {out} again would "
        f"replace them. To train that model further, start from it in another directory "
        f"(zoo train --preset {preset} --out NEW_DIR); to train afresh into {out}, replacing "
        "them, add --overwrite."
    )


def _run_settings(config, settings, train_pairs):
    """What the weights depend on beyond the model: a checkpoint with other values is not resumed."""
    digest = hashlib.sha256()
    for source, target in zip(train_pairs.sources, train_pairs.targets):
        digest.update(f"{source}\t{target}\n".encode("utf-8", "surrogatepass"))
    return {
        "training_data": f"{len(train_pairs)} pairs, sha256 {digest.hexdigest()[:16]}",
        "epochs": config.epochs,
        "batch_size": config.batch_size,
        "seed": config.seed,
        **{key: settings[key] for key in sorted(settings)},
    }


def _check_vocabulary_fits(config, pairs, model):
    """A saved preset trained on further keeps its vocabularies: say how much of the data they miss."""
    shares = unknown_shares(pairs, model.preprocessor)
    _log(
        config,
        f"unknown to the vocabularies of {config.preset}: {shares[0]:.1%} of source and "
        f"{shares[1]:.1%} of target tokens",
    )
    for side, share in zip(("source", "target"), shares):
        if share > MAX_UNKNOWN_SHARE:
            raise ValueError(
                f"{share:.0%} of the training data's {side} tokens are unknown to the {side} vocabulary "
                f"of {config.preset}, which keeps the vocabularies it was trained with. Check the "
                "columns (--source-column, --target-column: they may be swapped), or train a new model "
                "from a built-in preset, whose vocabularies are learned from the data."
            )


def _start_afresh(out, checkpoint_dir, overwrite):
    """Clear what an earlier run left in `out` that a run starting afresh would mix with its own.

    Its TensorBoard logs always (their steps would overlap the new run's);
    with `overwrite`, also its checkpoints, preset and export, so that no
    file in `out` is from another run than the one training.
    """
    logs = os.path.join(out, LOGS_DIR)
    stale = [os.path.join(logs, entry) for entry in LOG_ENTRIES]
    if overwrite:
        stale += [
            os.path.join(checkpoint_dir, LATEST),
            os.path.join(checkpoint_dir, BEST),
            os.path.join(out, PRESET_DIR),
            os.path.join(out, EXPORT_DIR),
        ]
    for path in stale:
        if overwrite and os.path.basename(path) in (LATEST, BEST, PRESET_DIR, EXPORT_DIR):
            recover_directory(path)  # also removes what a killed save left beside it
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif os.path.exists(path):
            os.remove(path)


def _train(config, training, saved, started):
    settings = {key: getattr(config, key) for key in training}
    settings = {key: training[key] if value is None else value for key, value in settings.items()}
    keras.utils.set_random_seed(config.seed)

    def read(data, target_data):
        return read_pairs(
            data,
            target_data,
            source=config.source_column,
            target=config.target_column,
            header=config.header,
            errors="skip" if config.skip_bad_lines else "raise",
            delimiter=config.delimiter,
        )

    if config.data is None:
        pairs = load_corpus(
            config.corpus, num_pairs=config.num_pairs, seed=config.seed, **config.corpus_options
        )
    else:
        pairs = read(config.data, config.target_data)
    if config.valid_data is not None:
        train_pairs, valid_pairs = pairs, read(config.valid_data, config.valid_target_data)
        shared = len(set(valid_pairs.sources) & set(train_pairs.sources))
        held_out = f"{len(valid_pairs)} validation pairs from {config.valid_data}" + (
            f" ({shared} of their sources are in the training data too)" if shared else ""
        )
    else:
        fraction = 0.05 if config.valid_fraction is None else config.valid_fraction
        try:
            train_pairs, valid_pairs = pairs.split(1.0 - fraction, seed=config.seed)
        except ValueError:  # one part would be empty
            raise ValueError(
                f"{len(pairs)} pairs are too few to hold out {fraction:.0%} for "
                "evaluation; give more data, change --valid-fraction or give --valid-data."
            ) from None
        held_out = f"{len(valid_pairs)} held out"
    _log(config, f"{len(train_pairs)} training pairs, {held_out}; preset {config.preset}")
    if saved is None:
        model = zoo.load(config.preset, train_data=train_pairs, dtype=config.precision, **config.overrides)
    else:
        model = saved  # its vocabularies stay: words it has not seen read as [UNK]
        _check_vocabulary_fits(config, train_pairs, model)
    model.check_replace_unknown(config.replace_unknown)  # a model without attention: before training
    batches = describe_batches(train_pairs, model.preprocessor, batch_size=config.batch_size)
    _log(config, batches.summary())
    steps = config.steps_per_epoch or batches.batches_per_epoch
    schedule = learning_rate_schedule(
        settings["schedule"],
        settings["learning_rate"],
        settings["warmup_steps"],
        total_steps=config.epochs * steps,
    )
    model.compile(
        optimizer=zoo.FusedAdam(schedule, clipnorm=1.0), label_smoothing=settings["label_smoothing"]
    )
    logs_dir = os.path.join(config.out, LOGS_DIR)
    callbacks = [TokensPerSecond()]
    if config.monitor == "val_bleu":
        callbacks.append(
            ValidationBleu(
                valid_pairs,
                max_sentences=config.bleu_samples,
                batch_size=config.batch_size,
                multi_reference=config.multi_reference,
                replace_unknown=config.replace_unknown,
            )
        )
    checkpoint_dir = os.path.join(config.out, CHECKPOINT_DIR)
    checkpoint = TrainingCheckpoint(
        checkpoint_dir,
        save_every=config.save_every,
        monitor=config.monitor,
        # Kept until the preset is saved: a kill before that resumes and saves it.
        delete_latest=False,
        run=_run_settings(config, settings, train_pairs),
        afresh="run again with --overwrite",
        verbose=config.verbose,
    )
    callbacks.append(checkpoint)
    if config.patience is not None:
        # After the checkpoint, whose restored best value it continues from on a resume.
        callbacks.append(ResumableEarlyStopping(checkpoint, patience=config.patience, verbose=config.verbose))
    resuming = checkpoint.recover() and not config.overwrite  # also puts back a `latest` moved aside
    if not resuming:
        _start_afresh(config.out, checkpoint_dir, config.overwrite)
    os.makedirs(logs_dir, exist_ok=True)
    callbacks.append(keras.callbacks.CSVLogger(os.path.join(logs_dir, "history.csv"), append=resuming))
    callbacks.append(keras.callbacks.TensorBoard(logs_dir, update_freq="epoch", write_graph=False))
    history = model.fit(
        train_pairs,
        validation_data=valid_pairs,
        epochs=config.epochs,
        batch_size=config.batch_size,
        steps_per_epoch=steps,
        seed=config.seed,
        callbacks=callbacks,
        verbose=config.verbose,
    )
    preset_dir = os.path.join(config.out, PRESET_DIR)
    export_dir = os.path.join(config.out, EXPORT_DIR)
    model_epoch = _restore_best(config, model, checkpoint)
    model.save_to_preset(preset_dir)
    shutil.rmtree(checkpoint.latest_path)  # the run is finished: see `_check_finished`
    plot_history(os.path.join(logs_dir, "history.csv"), os.path.join(logs_dir, "training_curves.png"))
    if model.dtype_policy.name != "float32":
        # What a later `zoo.load(preset_dir)` gives: the float32 weights, computing in float32.
        model = zoo.load(preset_dir, dtype="float32")
    report = evaluate(
        model,
        valid_pairs,
        batch_size=config.batch_size,
        max_sentences=config.eval_samples,
        multi_reference=config.multi_reference,
        replace_unknown=config.replace_unknown,
    )
    # Before the export: a run killed while exporting is finished but for it, and is not run again.
    _write_evaluation(
        os.path.join(logs_dir, EVALUATION_FILE),
        config,
        report,
        checkpoint,
        model_epoch,
        time.perf_counter() - started,
    )
    model.export(export_dir, replace_unknown=config.replace_unknown)
    samples = list(zip(report.sources, report.references, report.translations))[:5]
    return TrainResult(
        exact_match=report.exact_match,
        bleu=report.bleu,
        valid_loss=report.loss,
        valid_accuracy=report.accuracy,
        report=report,
        batches=batches,
        history=history.history,
        samples=samples,
        preset_dir=preset_dir,
        export_dir=export_dir,
        seconds=time.perf_counter() - started,
        epochs=checkpoint.epochs_done,
        best=checkpoint.best,
        model_epoch=model_epoch,
    )


def _restore_best(config, model, checkpoint):
    """With `config.restore_best`, load the best epoch's weights into `model`; the epoch `model` then holds."""
    best = checkpoint.best
    if config.restore_best and best is None:
        _log(config, f"no epoch had a finite {config.monitor}: keeping the last epoch's model")
    if not config.restore_best or best is None or best["epoch"] == checkpoint.epochs_done:
        return checkpoint.epochs_done
    model.backbone.load_weights(os.path.join(checkpoint.best_path, WEIGHTS_FILE))
    _log(
        config,
        f"restored epoch {best['epoch']}'s model, the best {best['monitor']} ({best['value']:.4f}), "
        f"from {checkpoint.best_path}",
    )
    return best["epoch"]


def _write_evaluation(path, config, report, checkpoint, model_epoch, seconds):
    """The run's held-out figures as JSON, for scripts that compare runs (written atomically)."""
    record = {
        "preset": config.preset,
        "epochs": checkpoint.epochs_done,
        "best": checkpoint.best,  # the epoch and value of `checkpoint/best` by the monitor
        "model_epoch": model_epoch,  # the epoch whose model is evaluated here (the last, or the best)
        "seconds": round(seconds, 1),  # to the evaluation's end, in this process (a resumed run's last part)
        **report.to_dict(),
    }
    with atomic_file(path) as staging, open(staging, "w", encoding="utf-8") as f:
        json.dump(record, f, indent=2)
        f.write("\n")


def _log(config, message):
    if config.verbose:
        print(message, flush=True)
