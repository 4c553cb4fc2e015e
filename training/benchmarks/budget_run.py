"""Train one preset for a wall-clock budget, then measure it: speed, memory, decoding, quality.

One process per model, so that peak memory is the model's own. The suite
(`training.benchmarks.suite`) runs this once per preset beside the peer;
it can also be run alone:

    python -m training.benchmarks.budget_run --preset gru_luong \\
        --set bidirectional=true --set merge_mode=sum --set embedding_dim=256 --set max_size=5000 \\
        --train ../shared/data/spa-eng/train.tsv --valid ../shared/data/spa-eng/valid.tsv \\
        --source-column 1 --target-column 0 --budget-seconds 900 --out bench/gru_luong

What it measures, and how it matches the peer's protocol:

- training: after a warm-up of `--warmup-steps` steps (tracing is left
  out), steps/s and real (non-padding) target tokens/s over the rest of the
  budget; the padding share of an epoch's batches; matmul FLOP/s counted by
  `training.benchmarks.flops`, useful (real tokens) and padded;
- validation: loss and token accuracy, and corpus BLEU (sacrebleu 13a,
  lowercased, against the raw references) with greedy and beam search,
  overall and by source length;
- decoding: `training.benchmarks.decoding.measure_decoding` on the first
  `--decode-sentences` validation sources, and the cost of a batch of 64
  against its longest output (decoding should grow linearly with it);
- peak RSS, after training and at the end.

With `--epoch-sizes`, it measures instead how an epoch's time grows with the
corpus: one epoch of a fresh model on the first N training pairs, per N.
"""

import argparse
import json
import os
import platform
import resource
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported

WARMUP_STEPS = 20  # the peer's warm-up: steps left out of the throughput
MEASURED_STEPS = 10  # at least this many steps are timed, past the budget if the machine is slow


def main(argv=None):
    parser = _parser()
    args = parser.parse_args(argv)
    args.name = args.name or args.preset
    if not args.epoch_sizes and not args.valid:
        parser.error("--valid is required (or --epoch-sizes)")
    import keras

    from training.cli_arguments import parse_overrides
    from training.readers import read_pairs

    overrides = parse_overrides(args.overrides)
    keras.utils.set_random_seed(args.seed)
    train_pairs = read_pairs(args.train, source=args.source_column, target=args.target_column)
    if args.epoch_sizes:
        report = measure_epoch_growth(args, train_pairs, overrides)
    else:
        valid_pairs = read_pairs(args.valid, source=args.source_column, target=args.target_column)
        report = measure_budget_run(args, train_pairs, valid_pairs, overrides)
    report["machine"] = machine()
    write_json(report, args.json or os.path.join(args.out, "report.json"))
    return report


def measure_budget_run(args, train_pairs, valid_pairs, overrides):
    import zoo
    from training.benchmarks.decoding import measure_decoding, readable_sources
    from training.benchmarks.flops import batch_flops, pair_flops
    from training.evaluation import evaluate
    from training.pipeline import describe_batches, epoch_batches
    from training.progress import StepTimer
    from zoo.generation import BeamSearch, GreedySearch

    started = time.perf_counter()
    model = zoo.load(args.preset, train_data=train_pairs, dtype=args.precision, **overrides)
    batches = describe_batches(train_pairs, model.preprocessor, batch_size=args.batch_size, seed=args.seed)
    flops = None
    if isinstance(model.backbone, zoo.RecurrentSeq2Seq):
        sources, targets, epoch = epoch_batches(train_pairs, model.preprocessor, args.batch_size, args.seed)
        useful = pair_flops(model.backbone, sources, targets)
        padded = sum(batch_flops(model.backbone, len(b), sources[b].max(), targets[b].max()) for b in epoch)
        flops = {
            "useful_per_target_token": useful / targets.sum(),
            "padded_per_target_token": padded / targets.sum(),
        }
    _log(f"{args.name}: {model.backbone.count_params():,} parameters; {batches.summary()}")

    meter = StepTimer(args.warmup_steps)
    prepared = time.perf_counter()
    budget = fit_for(
        model,
        args.preset,
        train_pairs,
        args.budget_seconds,
        args.batch_size,
        [meter],
        min_steps=args.warmup_steps + MEASURED_STEPS,
    )
    training = meter.figures()
    training.update(
        budget_seconds=args.budget_seconds,
        seconds=budget.elapsed,
        steps=budget.steps,
        epochs=budget.steps / batches.batches_per_epoch,
        prepare_seconds=prepared - started,
        target_padding=batches.target_padding,
        source_padding=batches.source_padding,
        peak_rss_mib=peak_rss_mib(),
    )
    if flops is not None:
        tokens = training["target_tokens_per_second"]
        training["useful_gflop_per_second"] = flops["useful_per_target_token"] * tokens / 1e9
        training["padded_gflop_per_second"] = flops["padded_per_target_token"] * tokens / 1e9
    _log(f"{args.name}: trained {training['steps']} steps in {training['seconds']:.0f} s: {_rates(training)}")
    model.save_to_preset(os.path.join(args.out, "preset"))
    if args.precision != "float32":
        # Quality and decoding are the saved preset's, as `zoo train` reports them.
        model = zoo.load(os.path.join(args.out, "preset"), dtype="float32")

    strategies = {"greedy": GreedySearch(), f"beam{args.beam_width}": BeamSearch(args.beam_width)}
    quality = {}
    for name, strategy in strategies.items():
        report = evaluate(
            model, valid_pairs, batch_size=args.batch_size, strategy=strategy, loss=name == "greedy"
        )
        quality[name] = report.to_dict()
        write_lines(report.translations, os.path.join(args.out, f"valid.{name}.txt"))
        _log(f"{args.name}: {name}: {report.summary().splitlines()[0]}")

    sources = readable_sources(model, valid_pairs.sources)
    rows = measure_decoding(
        model,
        sources[: args.decode_sentences],
        beam_width=args.beam_width,
        batch_1_sentences=args.batch_1_sentences,
        repeats=args.repeats,
        log=lambda line: _log(f"{args.name}: {line}"),
    )
    growth = {
        name: decode_growth(model, sources, strategy, args.batch_size)
        for name, strategy in strategies.items()
    }
    return {
        "name": args.name,
        "preset": args.preset,
        "overrides": overrides,
        "parameters": int(model.backbone.count_params()),
        "training": training,
        "quality": quality,
        "decoding": rows,
        "decode_growth": growth,
        "peak_rss_mib": peak_rss_mib(),
    }


def fit_for(model, preset, pairs, seconds, batch_size=64, callbacks=(), min_steps=0):
    """Compile `model` with its preset's training settings and train it for `seconds` of wall-clock time.

    Adam at the preset's peak learning rate (gradient norm clipped to 1),
    annealed on a cosine over the budget by `training.budget.TimeBudget`,
    with the preset's warm-up and label smoothing. `callbacks` run before
    the budget's; at least `min_steps` steps are trained, even past the
    budget. Returns the `TimeBudget` (steps trained, seconds).
    """
    import zoo
    from training.budget import TimeBudget

    settings = zoo.get_preset(preset)["training"]
    model.compile(
        optimizer=zoo.FusedAdam(settings["learning_rate"], clipnorm=1.0),
        label_smoothing=settings["label_smoothing"],
    )
    budget = TimeBudget(seconds, settings["learning_rate"], settings["warmup_steps"], min_steps)
    # The budget ends training, not the epoch count.
    model.fit(pairs, epochs=1_000_000, batch_size=batch_size, callbacks=[*callbacks, budget], verbose=0)
    return budget


def measure_epoch_growth(args, train_pairs, overrides):
    """Seconds per epoch for the first N pairs, per N: the cost of more data should grow linearly."""
    import zoo
    from training.progress import StepTimer

    settings = zoo.get_preset(args.preset)["training"]
    rows = []
    for size in args.epoch_sizes:
        pairs = train_pairs if size == 0 or size >= len(train_pairs) else train_pairs[:size]
        model = zoo.load(args.preset, train_data=pairs, dtype=args.precision, **overrides)
        model.compile(optimizer=zoo.FusedAdam(settings["learning_rate"], clipnorm=1.0))
        meter = StepTimer(warmup_steps=1)
        started = time.perf_counter()
        model.fit(pairs, epochs=1, batch_size=args.batch_size, callbacks=[meter], verbose=0)
        seconds = time.perf_counter() - started
        figures = meter.figures()
        steps = figures["measured_steps"] + 1
        # The first step traces the graph; an epoch's steady cost is the rest, scaled to all steps.
        epoch_seconds = figures["measured_seconds"] * steps / max(figures["measured_steps"], 1)
        rows.append(
            {
                "pairs": len(pairs),
                "steps": steps,
                "epoch_seconds": epoch_seconds,
                "microseconds_per_pair": 1e6 * epoch_seconds / len(pairs),
                "wall_seconds": seconds,  # with tokenization and tracing
            }
        )
        _log(
            f"{args.name}: {len(pairs)} pairs: epoch {epoch_seconds:.1f} s "
            f"({rows[-1]['microseconds_per_pair']:.0f} us per pair; {seconds:.1f} s with preparation)"
        )
    return {"name": args.name, "preset": args.preset, "overrides": overrides, "epoch_growth": rows}


def decode_growth(model, sources, strategy, batch_size=64):
    """Milliseconds per batch against the batch's longest output, and the straight line through them.

    The sources are sorted by the length of their greedy output, so each
    batch of `batch_size` has outputs of about one length; a batch runs
    until its longest output ends, so that is what its cost should follow.
    """
    import numpy as np

    outputs = model.translate(sources, strategy, batch_size=batch_size)
    lengths = model.preprocessor.target_tokenizer.tokenize(outputs).row_lengths().numpy() + 1  # [END]
    order = np.argsort(lengths, kind="stable")
    points = []
    for start in range(0, len(order) - batch_size + 1, batch_size):
        members = order[start : start + batch_size]
        batch = [sources[i] for i in members]
        model.translate(batch, strategy, batch_size=batch_size)  # the same shapes, warm
        began = time.perf_counter()
        model.translate(batch, strategy, batch_size=batch_size)
        points.append((int(lengths[members].max()), 1000 * (time.perf_counter() - began)))
    if len({length for length, _ in points}) < 2:
        # Too few sentences for two batches of different lengths: nothing to fit a line to.
        return {"points": points, "ms_per_output_token": None, "ms_fixed": None, "r_squared": None}
    x = np.array([p[0] for p in points], dtype=np.float64)
    y = np.array([p[1] for p in points])
    slope, intercept = np.polyfit(x, y, 1)
    residual = y - (slope * x + intercept)
    r_squared = 1.0 - float(residual @ residual) / max(float(((y - y.mean()) ** 2).sum()), 1e-12)
    return {
        "points": points,  # (longest output in tokens, milliseconds per batch)
        "ms_per_output_token": float(slope),
        "ms_fixed": float(intercept),
        "r_squared": r_squared,
    }


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def machine():
    import tensorflow as tf

    return {
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
    }


def write_json(data, path):
    write_text(json.dumps(data, indent=2), path)


def write_lines(lines, path):
    write_text("".join(f"{line}\n" for line in lines), path)


def write_text(text, path):
    from zoo.atomic import atomic_file

    with atomic_file(path) as staging, open(staging, "w", encoding="utf-8") as f:
        f.write(text)


def _rates(figures):
    text = f"{figures['steps_per_second']:.2f} steps/s, {figures['target_tokens_per_second']:.0f} target tokens/s"
    if "useful_gflop_per_second" in figures:
        text += f", {figures['useful_gflop_per_second']:.0f} useful GFLOP/s"
    return text


def _log(message):
    print(message, flush=True)


def _parser():
    from training.cli_arguments import add_overrides_argument, add_precision_argument

    parser = argparse.ArgumentParser(
        prog="python -m training.benchmarks.budget_run",
        description="Train a preset for a wall-clock budget, then measure its speed, memory and BLEU.",
    )
    parser.add_argument("--preset", required=True, help="built-in preset name")
    parser.add_argument("--name", help="label in the reports (default: the preset name)")
    add_overrides_argument(parser, "as in `zoo train`")
    parser.add_argument("--train", required=True, help="TSV of training pairs")
    parser.add_argument("--valid", help="TSV of validation pairs (required unless --epoch-sizes)")
    parser.add_argument("--source-column", type=int, default=0, help="default: %(default)s")
    parser.add_argument("--target-column", type=int, default=1, help="default: %(default)s")
    parser.add_argument("--budget-seconds", type=float, default=900.0, help="default: %(default)s")
    parser.add_argument("--batch-size", type=int, default=64, help="default: %(default)s")
    parser.add_argument(
        "--warmup-steps",
        type=int,
        default=WARMUP_STEPS,
        help="steps left out of the throughput (default: %(default)s, as the peer)",
    )
    parser.add_argument("--beam-width", type=int, default=4, help="default: %(default)s")
    parser.add_argument(
        "--decode-sentences",
        type=int,
        default=1000,
        help="validation sources timed in decoding (default: %(default)s, as the peer)",
    )
    parser.add_argument("--batch-1-sentences", type=int, default=128, help="default: %(default)s")
    parser.add_argument(
        "--repeats", type=int, default=3, help="decoding passes; the median (default: %(default)s)"
    )
    parser.add_argument(
        "--epoch-sizes",
        type=int,
        nargs="+",
        help="instead: time one epoch on the first N training pairs for each N (0: all)",
    )
    add_precision_argument(
        parser,
        "training precision, as `zoo train --precision`; quality and decoding are measured on the "
        "saved float32 preset",
    )
    parser.add_argument("--seed", type=int, default=0, help="default: %(default)s")
    parser.add_argument("--out", required=True, help="directory for the preset, the outputs and report.json")
    parser.add_argument("--json", help="where the report goes (default: OUT/report.json)")
    return parser


if __name__ == "__main__":
    main()
