"""The `zoo` command's arguments: the parser, and what its settings are read into.

Light: nothing here imports TensorFlow, so `zoo --help` answers at once.
"""

import argparse
import contextlib
import json
import sys


def build_parser():
    """The `zoo` command's parser: a subcommand for each of `training.cli.COMMANDS`, its name in `command`."""
    parser = argparse.ArgumentParser(
        prog="zoo",
        description="Attention and recurrent sequence-to-sequence models on Keras 3.",
        epilog="Run `zoo train` with no arguments to train on the built-in dates corpus.",
    )
    parser.add_argument(
        "--version",
        action=_PrintVersions,
        nargs=0,
        help="print the versions of this project and of the libraries it runs on, for bug reports",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    from training.config import TrainConfig
    from training.corpora import CORPORA

    defaults = TrainConfig()
    p = commands.add_parser(
        "train",
        help="train a preset, then save and export it",
        description="Train a preset on a TSV/CSV file, two aligned files or the built-in corpus; save the model to "
        "OUT/preset, the best epoch's model to OUT/checkpoint/best and the SavedModel to OUT/exported. "
        "The training state is saved every --save-every steps: after an interruption, rerun the same "
        "command and training continues at the step after the last save, with the same result as an "
        "uninterrupted run. Watch it with `tensorboard --logdir OUT/logs`.",
    )
    p.add_argument(
        "--preset",
        default=defaults.preset,
        help="built-in preset name, or a saved preset directory (such as OUT/preset) to train on from its "
        "weights, with its own vocabularies (default: %(default)s)",
    )
    add_overrides_argument(
        p,
        "change a preset setting: backbone (hidden_dim=512, bidirectional=true, attention_score=general), "
        "vocabulary (max_size=5000, tokenizer=wordpiece, lowercase=false) or preprocessor (max_source_length=50); "
        "VALUE is read as JSON, else as a string; several after one --set, or --set again",
    )
    _add_data_arguments(p, required=False)
    p.add_argument(
        "--corpus",
        choices=sorted(CORPORA),
        help="built-in corpus without --data: dates (formats -> ISO), numbers (digits -> words), "
        f"copy and reverse (symbol sequences) (default: {defaults.corpus})",
    )
    p.add_argument(
        "--num-pairs",
        type=int,
        help=f"pairs generated for the built-in corpus (default: {defaults.num_pairs})",
    )
    p.add_argument(
        "--corpus-set",
        action="extend",
        nargs="+",
        dest="corpus_set",
        metavar="KEY=VALUE",
        help="a setting of the built-in corpus: max_length=60, min_length, num_symbols (copy, reverse), "
        "max_digits (numbers), first_year, last_year (dates); several after one --corpus-set, or again",
    )
    p.add_argument("--epochs", type=int, default=defaults.epochs, help="default: %(default)s")
    p.add_argument("--batch-size", type=int, default=defaults.batch_size, help="default: %(default)s")
    p.add_argument("--steps-per-epoch", type=int, help="cut epochs short, for a quick try")
    p.add_argument(
        "--valid-data",
        help="validation pairs, read as --data is (the same columns); default: --valid-fraction of the "
        "training pairs held out",
    )
    p.add_argument(
        "--valid-target-data", help="the target side when --valid-data and this are two aligned files"
    )
    p.add_argument(
        "--valid-fraction",
        type=float,
        help="the share of the pairs held out for validation when no --valid-data is given (default: 0.05)",
    )
    p.add_argument(
        "--learning-rate",
        type=float,
        help="peak learning rate (default: the preset's, 1e-3 for all built-ins)",
    )
    p.add_argument(
        "--schedule",
        choices=("constant", "cosine", "inverse_sqrt"),
        help="learning-rate schedule after warm-up (default: the preset's, cosine)",
    )
    p.add_argument(
        "--warmup-steps",
        type=int,
        help="steps of linear warm-up from 0 (default: the preset's: 400 for Transformers, 0 otherwise)",
    )
    p.add_argument(
        "--label-smoothing",
        type=float,
        help="share of the target probability spread over the vocabulary "
        "(default: the preset's: 0.1 for Transformers, 0 otherwise)",
    )
    p.add_argument(
        "--monitor",
        choices=("val_loss", "val_bleu"),
        default=defaults.monitor,
        help="what picks OUT/checkpoint/best and drives --patience; val_bleu decodes "
        "--bleu-samples held-out pairs after every epoch (default: %(default)s)",
    )
    p.add_argument("--patience", type=int, help="stop after this many epochs without a better --monitor")
    p.add_argument(
        "--restore-best",
        action="store_true",
        help="end with the best epoch's model by --monitor (OUT/checkpoint/best) as OUT/preset, in the "
        "final evaluation and in OUT/exported, instead of the last epoch's",
    )
    p.add_argument(
        "--bleu-samples",
        type=int,
        default=defaults.bleu_samples,
        help="held-out pairs decoded per epoch for --monitor val_bleu (default: %(default)s)",
    )
    p.add_argument(
        "--multi-reference",
        action="store_true",
        help="score a held-out source that has several targets once, against all of them (val_bleu and "
        "the final evaluation), as zoo evaluate --multi-reference does",
    )
    _add_replace_unknown_argument(p, "; in val_bleu, the final evaluation and OUT/exported")
    p.add_argument(
        "--save-every",
        type=int,
        default=defaults.save_every,
        help="steps between checkpoints within an epoch (default: %(default)s)",
    )
    add_precision_argument(
        p,
        "compute in 16 bits while training, weights in float32: mixed_bfloat16 on CPUs with "
        "AVX512_BF16 or AMX and recent GPUs, mixed_float16 on GPUs; the saved preset and the "
        "export compute in float32",
    )
    p.add_argument(
        "--out",
        default=defaults.out,
        help="output directory: preset/, exported/, checkpoint/{latest,best}/, logs/ "
        "(TensorBoard, history.csv, training_curves.png) (default: %(default)s)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="train afresh where --out holds an earlier run, replacing its preset, checkpoints, "
        "export and logs (without it, a finished run there is an error and an interrupted one "
        "resumes)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=defaults.seed,
        help="seeds the built-in corpus, the held-out split, the order the pairs are read in, the "
        "initial weights and dropout (default: %(default)s)",
    )
    p.add_argument(
        "--verbose",
        type=int,
        choices=(0, 1, 2),
        default=1 if sys.stdout.isatty() else 2,
        help="1 progress bar, 2 a line per epoch (default: 1 on a terminal, 2 when the output is a file or pipe)",
    )

    p = commands.add_parser(
        "evaluate",
        help="BLEU, chrF, exact match, loss and perplexity of a saved model on held-out pairs",
        description="Decode the source side of the pairs and score it against the target side: "
        "BLEU and chrF (sacrebleu), exact match, and BLEU by source length; plus the "
        "teacher-forced loss, perplexity and token accuracy.",
    )
    p.add_argument("model", help="a saved preset directory (OUT/preset of `zoo train`)")
    _add_data_arguments(p, required=True)
    p.add_argument("--batch-size", type=int, default=64, help="sentences per batch (default: %(default)s)")
    p.add_argument("--max-sentences", type=int, help="decode only the first N pairs")
    p.add_argument("--json", action="store_true", help="print the figures as JSON instead of a table")
    p.add_argument(
        "--truncate",
        action="store_true",
        help="score an over-long source's translation of its first max_source_length tokens, as the "
        "export serves it, instead of leaving the pair out",
    )
    p.add_argument(
        "--multi-reference",
        action="store_true",
        help="translate a source that has several targets in the data once and score it against all of "
        "them (sacrebleu's multi-reference BLEU), instead of once per pair",
    )
    _add_length_factor_argument(p)
    _add_replace_unknown_argument(p)
    _add_decoding_arguments(p)

    p = commands.add_parser(
        "translate",
        help="translate sentences with a saved model",
        description="Translate the SENTENCE arguments, or each line of standard input when none are given.",
    )
    p.add_argument("model", help="a saved preset directory")
    p.add_argument("sentences", nargs="*", metavar="SENTENCE")
    _add_length_arguments(p)
    p.add_argument(
        "--attention", action="store_true", help="also print which source word each output word attended to"
    )
    p.add_argument(
        "--truncate",
        action="store_true",
        help="translate the first max_source_length tokens of an over-long sentence, as the export does, "
        "instead of stopping",
    )
    p.add_argument(
        "--plot-attention",
        metavar="PNG",
        help="save each translation's attention weights as a heat map (source across, output down); "
        "with several sentences, PNG gets a number per sentence",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object per sentence, on one line: source, translation and score (with "
        "--n-best, n_best and n_best_scores; with --attention, the tokens and the attention weights)",
    )
    _add_replace_unknown_argument(p)
    _add_decoding_arguments(p, sampling=True, n_best=True)

    p = commands.add_parser("export", help="write a SavedModel (tf.string in, tf.string out)")
    p.add_argument("model", help="a saved preset directory")
    p.add_argument("out", help="directory for the SavedModel (replaced atomically)")
    _add_length_arguments(p)
    _add_decoding_arguments(p, n_best=True)
    p.add_argument(
        "--attention",
        action="store_true",
        help="also serve the attention weights and the source and output tokens",
    )
    _add_replace_unknown_argument(p)

    p = commands.add_parser("presets", help="list the built-in presets")
    p.add_argument(
        "--vocabulary-size",
        type=int,
        default=5000,
        help="vocabulary size per side for the parameter counts (default: %(default)s)",
    )
    return parser


class _PrintVersions(argparse.Action):
    """`--version`, printed on one line (argparse's own action wraps it to the terminal's width)."""

    def __call__(self, parser, namespace, values, option_string=None):
        print(_versions())
        parser.exit()


def _versions():
    """`zoo 0.1.0 (keras 3.x, tensorflow 2.x, ...)`, read from the installed packages' metadata.

    Read without importing them: `zoo --version` answers at once, without
    TensorFlow's start-up.
    """
    from importlib import metadata

    def installed(name):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    # This project's own version from its metadata as well: `keras_attention.version`
    # is a module of a package whose `__init__` imports Keras, and so TensorFlow.
    own = installed("keras-attention-zoo")
    libraries = ", ".join(f"{name} {installed(name)}" for name in ("keras", "tensorflow", "tensorflow-text"))
    return f"zoo {own} ({libraries}; Python {sys.version.split()[0]})"


def _add_data_arguments(parser, required):
    default = "" if required else " (default: the built-in corpus)"
    parser.add_argument(
        "--data",
        required=required,
        help="sentence pairs: a TSV file, a .csv file, or the source side of aligned files; each may be "
        f"gzip, bzip2 or xz compressed{default}",
    )
    parser.add_argument(
        "--target-data",
        help="the target side when --data and this are two aligned files, one sentence per line",
    )
    parser.add_argument(
        "--source-column",
        type=_column,
        help="source column of a TSV/CSV file: its index from 0, or its name with --header (default: 0)",
    )
    parser.add_argument("--target-column", type=_column, help="target column, likewise (default: 1)")
    parser.add_argument(
        "--header",
        action="store_true",
        help="the first line of a TSV/CSV file names its columns: it is not read as a pair",
    )
    parser.add_argument(
        "--delimiter",
        type=_delimiter,
        help="the column separator of a TSV/CSV file, one character, or `tab` (default: tab, or ',' "
        "for a .csv file; spreadsheets in many locales write ';')",
    )
    parser.add_argument(
        "--skip-bad-lines",
        action="store_true",
        help="leave malformed lines out (and say how many) instead of stopping at the first",
    )


def _delimiter(text):
    from training.readers import check_delimiter

    try:
        return check_delimiter({"tab": "\t", "\\t": "\t"}.get(text, text))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected one character (or `tab`), other than a line break or '\"'; received {text!r}"
        ) from None


def _column(text):
    """A column given on the command line: an index (`1`) or a name (`english`, with --header)."""
    return int(text) if text.strip().lstrip("-").isdigit() else text


def _add_length_arguments(parser):
    parser.add_argument("--max-length", type=int, help="most tokens generated per sentence ([END] included)")
    _add_length_factor_argument(parser)


def _add_length_factor_argument(parser):
    parser.add_argument(
        "--max-length-factor",
        type=float,
        help="also limit a sentence of N source tokens to ceil(FACTOR * N) + 1 generated tokens ([END] "
        "included): it cuts the rare output that repeats itself (2 to 3 suits word-level "
        "translation; default: no such limit)",
    )


def _add_replace_unknown_argument(parser, where=""):
    parser.add_argument(
        "--replace-unknown",
        action="store_true",
        help="write each [UNK] of a translation as the source word it attended to most, so a name "
        f"outside the target vocabulary is copied (attention models with a word or character tokenizer){where}",
    )


# `zoo.generation.BeamSearch()`'s settings, for the help (importing `zoo` imports TensorFlow,
# which would make `zoo --help` take seconds); a test holds them to the class.
BEAM_DEFAULTS = {"length_penalty": 0.6, "coverage_penalty": 0.0}


def _add_decoding_arguments(parser, sampling=False, n_best=False):
    # No defaults here: a setting left unset is the strategy's own default,
    # and a setting given for a strategy not chosen is an error, not ignored.
    group = parser.add_argument_group(
        "decoding (greedy unless --beam-width or --sample)"
        if sampling
        else "decoding (greedy unless --beam-width)"
    )
    group.add_argument("--beam-width", type=int, help="beam search with this many hypotheses kept")
    group.add_argument(
        "--length-penalty",
        type=float,
        help="beam search: GNMT's alpha; 0 ranks by log-probability, which favours short output "
        f"(default: {BEAM_DEFAULTS['length_penalty']})",
    )
    group.add_argument(
        "--coverage-penalty",
        type=float,
        help="beam search: GNMT's beta; above 0 favours output that attends to every source word "
        f"(default: {BEAM_DEFAULTS['coverage_penalty']})",
    )
    if n_best:
        group.add_argument(
            "--n-best", type=int, help="beam search: the N best translations, printed or served (default: 1)"
        )
    if sampling:
        group.add_argument("--sample", action="store_true", help="draw each word at random instead")
        group.add_argument(
            "--temperature", type=float, help="sampling: below 1 is closer to greedy (default: 1.0)"
        )
        group.add_argument("--top-k", type=int, help="sampling: from the K most likely words only")
        group.add_argument(
            "--top-p", type=float, help="sampling: from the most likely words holding P of the mass"
        )
        group.add_argument("--seed", type=int, help="sampling: repeatable draws")


BEAM_SETTINGS = {
    "length_penalty": "length_penalty",
    "coverage_penalty": "coverage_penalty",
    "n_best": "num_hypotheses",
}
SAMPLING_SETTINGS = ("temperature", "top_k", "top_p", "seed")


# Each decoding flag by the name its setting has in Python, which the
# strategies' and `Translator`'s errors give between backticks.
DECODING_FLAGS = {
    "beam_width": "--beam-width",
    **{python: "--" + flag.replace("_", "-") for flag, python in BEAM_SETTINGS.items()},
    **{name: "--" + name.replace("_", "-") for name in SAMPLING_SETTINGS},
    "max_length": "--max-length",
    "max_length_factor": "--max-length-factor",
    "replace_unknown": "--replace-unknown",
}


@contextlib.contextmanager
def decoding_flags_named():
    """A decoding setting's `ValueError` names the flag that gave it: `--n-best`, not `num_hypotheses`."""
    try:
        yield
    except ValueError as e:
        message = str(e)
        for name, flag in DECODING_FLAGS.items():
            message = message.replace(f"`{name}`", flag)
        # What the library's Python spelling means at a command line.
        message = message.replace("(or None for no limit)", "(leave the flag out for no limit)")
        if message == str(e):
            raise
        raise ValueError(message) from None


def decoding_strategy(args):
    """The `DecodingStrategy` the decoding arguments name; `--max-length-factor` is checked too.

    A setting of a strategy that was not chosen (`--top-k` without
    `--sample`, `--length-penalty` without `--beam-width`) is an error:
    ignoring it would decode otherwise than the user asked. So is a value
    out of its range, named by its flag, before a model is loaded
    (`--max-length` waits for the model, whose positions may limit it).
    """
    with decoding_flags_named():
        strategy = _strategy(args)
        from zoo.translation_graph import check_max_length_factor

        check_max_length_factor(args.max_length_factor)
    return strategy


def _strategy(args):
    from zoo.generation import BeamSearch, GreedySearch, RandomSampling

    def given(names):
        return {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}

    def settings_of(settings, kind):
        names = ", ".join("--" + name.replace("_", "-") for name in settings)
        return f"{names} {'is a' if len(settings) == 1 else 'are'} {kind} setting{'s' * (len(settings) > 1)}"

    beam, sampling = given(BEAM_SETTINGS), given(SAMPLING_SETTINGS)
    if getattr(args, "sample", False):
        if args.beam_width is not None:
            raise ValueError("--sample and --beam-width are two strategies; pick one.")
        if beam:
            raise ValueError(f"{settings_of(beam, 'beam search')}, and --sample does not search.")
        return RandomSampling(**sampling)
    if sampling:
        raise ValueError(f"{settings_of(sampling, 'sampling')}; add --sample to draw each word at random.")
    if args.beam_width is None:
        if beam:
            raise ValueError(f"{settings_of(beam, 'beam search')}; add --beam-width N to search.")
        return GreedySearch()
    return BeamSearch(args.beam_width, **{BEAM_SETTINGS[name]: value for name, value in beam.items()})


def add_overrides_argument(parser, help):
    """`--set KEY=VALUE [KEY=VALUE ...]`, repeatable, into `args.overrides` (read with `parse_overrides`)."""
    parser.add_argument(
        "--set", action="extend", nargs="+", default=[], dest="overrides", metavar="KEY=VALUE", help=help
    )


def add_precision_argument(parser, help):
    """`--precision`, one of `zoo.PRECISIONS` (written out here: importing `zoo` imports TensorFlow)."""
    parser.add_argument(
        "--precision",
        choices=("float32", "mixed_bfloat16", "mixed_float16"),
        default="float32",
        help=f"{help} (default: %(default)s)",
    )


def parse_overrides(items, option="--set"):
    """`{"key": value}` from `--set KEY=VALUE` strings; VALUE is JSON where it parses."""
    overrides = {}
    for item in items:
        key, equals, value = item.partition("=")
        if not equals or not key.strip():
            raise ValueError(f"{option} expects KEY=VALUE, received {item!r}.")
        try:
            overrides[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key.strip()] = value
    return overrides


def check_data_arguments(args):
    """Options that the data chosen would not read are errors, not silently ignored."""

    def named(*names):
        given = [name for name in names if getattr(args, name, None) is not None]
        return [f"--{name.replace('_', '-')}" for name in given if getattr(args, name) is not False]

    def are(options):
        return f"{', '.join(options)} {'is' if len(options) == 1 else 'are'}"

    if args.data is None and getattr(args, "valid_data", None) is None:  # they read --valid-data too
        unread = named("source_column", "target_column", "header", "delimiter", "skip_bad_lines")
        if unread:
            raise ValueError(f"{are(unread)} for --data, and without --data the built-in corpus is used.")

    def both(source, target):  # one side alone is `training.train`'s to explain
        return getattr(args, source, None) is not None and getattr(args, target, None) is not None

    aligned = both("data", "target_data") or both("valid_data", "valid_target_data")
    if aligned and named("header", "delimiter"):
        raise ValueError(
            f"{are(named('header', 'delimiter'))} for a TSV or CSV file; aligned files hold one "
            "sentence per line, in no columns."
        )
    if args.data is not None and named("corpus", "num_pairs", "corpus_set"):
        part = (
            " To train on part of a file, give that part: --data <(shuf -n 10000 --random-source=FILE FILE) "
            "for 10,000 pairs drawn at random, the same each time (the first lines of a file sorted by "
            "length, as Anki's are, are its shortest sentences)."
            if named("num_pairs")
            else ""
        )
        raise ValueError(
            f"{are(named('corpus', 'num_pairs', 'corpus_set'))} for the built-in corpus, which --data "
            f"replaces.{part}"
        )


def columns(args):
    """`(source, target)` columns: as given, or 0 and 1."""
    return (
        0 if args.source_column is None else args.source_column,
        1 if args.target_column is None else args.target_column,
    )
