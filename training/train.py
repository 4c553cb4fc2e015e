"""Training as a plain function: the main job behind `zoo train`."""

import dataclasses
import math
import os
import time

import keras

import zoo
from training.corpora import load_corpus
from training.evaluation import evaluate
from training.readers import read_pairs


@dataclasses.dataclass
class TrainConfig:
    preset: str = "gru_luong"  # a built-in preset name (see `zoo presets`)
    data: str | None = None  # a TSV or .csv file of pairs (or aligned source side); None: built-in corpus
    target_data: str | None = None  # with `data`, the target side of two aligned files
    source_column: int = 0  # column of the source sentence in `data` (from 0)
    target_column: int = 1  # column of the target sentence in `data`
    corpus: str = "dates"  # the built-in corpus used when `data` is None
    num_pairs: int = 20000  # pairs generated for the built-in corpus
    valid_fraction: float = 0.05  # share of the pairs held out for evaluation
    epochs: int = 8  # passes over the training pairs
    batch_size: int = 64  # pairs per training step
    steps_per_epoch: int | None = None  # cut each epoch short (smoke tests); None = all
    eval_samples: int = 1000  # held-out pairs decoded for BLEU and exact match
    out: str = "zoo-run"  # directory for the preset, the export and the checkpoint
    skip_bad_lines: bool = False  # leave malformed lines of `data` out (with a warning) instead of stopping
    seed: int = 0  # seeds data generation, the split, shuffling and initialization
    verbose: int = 1  # 1: progress bar, 2: one line per epoch, 0: silent


@dataclasses.dataclass
class TrainResult:
    exact_match: float  # on up to `eval_samples` held-out pairs
    bleu: float  # sacrebleu corpus BLEU on the same pairs
    valid_loss: float  # masked cross-entropy on the same pairs
    valid_accuracy: float  # masked token accuracy on the same pairs
    report: object  # the full `training.evaluation.EvaluationReport`
    samples: list  # (source, reference, translation) triples
    preset_dir: str
    export_dir: str
    seconds: float


def train(config):
    """Train `config.preset` on the configured data; save and export the result.

    Writes `<out>/preset` (reload with `zoo.load`), `<out>/exported` (the
    SavedModel) and, while training, `<out>/checkpoint`: an interrupted run
    started again with the same command resumes from its last finished
    epoch.
    """
    started = time.perf_counter()
    zoo.get_preset(config.preset)  # an unknown name fails before any work
    if config.target_data is not None and config.data is None:
        raise ValueError(
            "--target-data names the target side of aligned files; give the source side as --data."
        )
    keras.utils.set_random_seed(config.seed)
    if config.data is None:
        pairs = load_corpus(config.corpus, num_pairs=config.num_pairs, seed=config.seed)
    else:
        pairs = read_pairs(
            config.data,
            config.target_data,
            source=config.source_column,
            target=config.target_column,
            errors="skip" if config.skip_bad_lines else "raise",
        )
    train_pairs, valid_pairs = pairs.split(1.0 - config.valid_fraction, seed=config.seed)
    if len(train_pairs) == 0 or len(valid_pairs) == 0:
        raise ValueError(
            f"{len(pairs)} pairs are too few to hold out {config.valid_fraction:.0%} for "
            "evaluation; give more data or change --valid-fraction."
        )
    _log(config, f"{len(train_pairs)} training pairs, {len(valid_pairs)} held out; preset {config.preset}")
    model = zoo.load(config.preset, train_data=train_pairs)
    steps = config.steps_per_epoch or math.ceil(len(train_pairs) / config.batch_size)
    # Decaying the rate avoids the late loss spikes of a constant 1e-3.
    schedule = keras.optimizers.schedules.CosineDecay(1e-3, decay_steps=config.epochs * steps, alpha=0.05)
    model.compile(optimizer=keras.optimizers.Adam(schedule, clipnorm=1.0))
    checkpoint_dir = os.path.join(config.out, "checkpoint")
    model.fit(
        train_pairs,
        validation_data=valid_pairs,
        epochs=config.epochs,
        batch_size=config.batch_size,
        steps_per_epoch=config.steps_per_epoch,
        callbacks=[keras.callbacks.BackupAndRestore(checkpoint_dir, delete_checkpoint=True)],
        verbose=config.verbose,
    )
    report = evaluate(model, valid_pairs, batch_size=config.batch_size, max_sentences=config.eval_samples)
    held_out = valid_pairs[: config.eval_samples]
    preset_dir = os.path.join(config.out, "preset")
    export_dir = os.path.join(config.out, "exported")
    model.save_to_preset(preset_dir)
    model.export(export_dir)
    samples = list(zip(held_out.sources[:5], held_out.targets[:5], report.translations[:5]))
    return TrainResult(
        exact_match=report.exact_match,
        bleu=report.bleu,
        valid_loss=report.loss,
        valid_accuracy=report.accuracy,
        report=report,
        samples=samples,
        preset_dir=preset_dir,
        export_dir=export_dir,
        seconds=time.perf_counter() - started,
    )


def _log(config, message):
    if config.verbose:
        print(message, flush=True)
