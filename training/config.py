"""What `zoo train` is told and what it returns: plain dataclasses, importable without TensorFlow.

`zoo --help` builds its options from `TrainConfig`'s defaults; kept apart
from `training.train` (which imports Keras and TensorFlow), the help and a
mistyped option answer at once.
"""

import dataclasses
import os

# Where `train` writes, under `config.out`.
PRESET_DIR = "preset"
EXPORT_DIR = "exported"
CHECKPOINT_DIR = "checkpoint"
LOGS_DIR = "logs"
# What a run writes under `logs/`, cleared when a run starts afresh: the
# TensorBoard callback's folders, the CSV log, its plot and the held-out figures.
# The held-out figures of the finished run, as JSON (`EvaluationReport.to_dict` and the run's own).
EVALUATION_FILE = "evaluation.json"
LOG_ENTRIES = ("train", "validation", "history.csv", "training_curves.png", EVALUATION_FILE)


@dataclasses.dataclass
class TrainConfig:
    preset: str = "gru_luong"  # a built-in preset name (see `zoo presets`), or a saved preset directory
    # Preset settings to change, by name: backbone (`hidden_dim`, `bidirectional`, ...),
    # vocabulary (`max_size`, `tokenizer`, ...) or preprocessor (`max_source_length`, ...).
    overrides: dict = dataclasses.field(default_factory=dict)
    data: str | None = None  # a TSV or .csv file of pairs (or aligned source side); None: built-in corpus
    target_data: str | None = None  # with `data`, the target side of two aligned files
    source_column: int | str = 0  # column of the source sentence in `data`: from 0, or its name with `header`
    target_column: int | str = 1  # column of the target sentence in `data`
    header: bool = False  # the first line of a TSV/CSV `data` (and `valid_data`) names its columns
    delimiter: str | None = None  # the column separator of a TSV/CSV `data`; None: tab, or "," for .csv
    corpus: str = "dates"  # the built-in corpus used when `data` is None
    num_pairs: int = 20000  # pairs generated for the built-in corpus
    # The built-in corpus's own settings (`max_length=60` for copy and reverse; see `training.corpora`).
    corpus_options: dict = dataclasses.field(default_factory=dict)
    # Validation pairs: a file read as `data` is (its columns, or aligned with `valid_target_data`),
    # or else `valid_fraction` of the pairs held out (None: 0.05).
    valid_data: str | None = None
    valid_target_data: str | None = None
    valid_fraction: float | None = None
    epochs: int = 8  # passes over the training pairs
    batch_size: int = 64  # pairs per training step
    steps_per_epoch: int | None = None  # cut each epoch short (smoke tests); None = all
    learning_rate: float | None = None  # peak rate; None: the preset's (see `zoo.PRESETS[...]["training"]`)
    schedule: str | None = None  # "constant", "cosine" or "inverse_sqrt"; None: the preset's
    warmup_steps: int | None = None  # steps of linear warm-up from 0; None: the preset's
    label_smoothing: float | None = None  # 0 is plain cross-entropy; None: the preset's
    monitor: str = "val_loss"  # picks the best checkpoint and early stopping: "val_loss" or "val_bleu"
    patience: int | None = None  # stop after this many epochs without a better `monitor`; None: never
    # End with the best epoch's model by `monitor` (`checkpoint/best`) as the preset, in the final
    # evaluation and in the export, as Keras' `restore_best_weights` does; False: the last epoch's.
    restore_best: bool = False
    save_every: int = 200  # steps between checkpoints within an epoch (and one at every epoch end)
    eval_samples: int = 1000  # held-out pairs decoded for BLEU and exact match
    bleu_samples: int = 200  # held-out pairs decoded after each epoch when monitor is "val_bleu"
    # Score a held-out source that has several targets once, against all of them (val_bleu and the
    # final evaluation): for corpora that translate a sentence several ways, such as Tatoeba's.
    multi_reference: bool = False
    # Write each [UNK] as the source word it attended to (val_bleu, the final evaluation and the export).
    replace_unknown: bool = False
    # "float32", or mixed precision for training: "mixed_bfloat16" (CPUs with AVX512_BF16 or AMX,
    # recent GPUs) or "mixed_float16" (GPUs). The weights stay float32, and the saved preset,
    # the evaluation and the export compute in float32 whatever the training precision.
    precision: str = "float32"
    out: str = "zoo-run"  # directory for the preset, the export, checkpoints, logs and plots
    skip_bad_lines: bool = False  # leave malformed lines of `data` out (with a warning) instead of stopping
    # Train afresh where `out` holds an earlier run, finished or interrupted, and replace its outputs.
    # Without it, a finished run in `out` is an error and an interrupted one resumes.
    overwrite: bool = False
    seed: int = 0  # seeds data generation, the split, shuffling and initialization
    verbose: int = 1  # 1: progress bar, 2: one line per epoch, 0: silent

    def __post_init__(self):
        # "~" as a shell would read it: the shell leaves `--out=~/run` alone, and a run
        # there would otherwise write into a directory named "~" under the current one.
        for name in ("preset", "data", "target_data", "valid_data", "valid_target_data", "out"):
            value = getattr(self, name)
            if isinstance(value, str) and value.startswith("~"):
                setattr(self, name, os.path.expanduser(value))


@dataclasses.dataclass
class TrainResult:
    exact_match: float  # on up to `eval_samples` held-out pairs
    bleu: float  # sacrebleu corpus BLEU on the same pairs
    valid_loss: float  # masked cross-entropy on the same pairs
    valid_accuracy: float  # masked token accuracy on the same pairs
    report: object  # the full `training.evaluation.EvaluationReport`
    batches: object  # `training.pipeline.BatchReport`: padding and truncation
    history: dict  # per-epoch logs: loss, accuracy, perplexity, tokens_per_second, val_*
    samples: list  # (source, its references (a list of strings), translation) triples
    preset_dir: str
    export_dir: str
    seconds: float
    epochs: int | None = None  # epochs trained, a resumed run's included
    best: dict | None = None  # the best epoch by `monitor`: {"monitor", "value", "epoch"}; None if none
    model_epoch: int | None = None  # the epoch whose model the preset holds: the last, or the best one's
