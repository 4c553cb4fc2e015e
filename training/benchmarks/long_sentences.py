"""The seed's claim, measured: a fixed context vector loses long inputs; attention does not.

Trains a fixed-context preset and an attention preset of the same size for
the same wall-clock time on the built-in copy and reverse corpora (random
symbol sequences of 1 to 60 symbols), then reports the exact-match accuracy
of greedy decoding per input-length bucket, as a table and a PNG per corpus
(the experiment of Bahdanau et al. 2014, Figure 2, on a task where
"correct" is unambiguous):

    python -m training.benchmarks.long_sentences --out bench/long_sentences

The spa-eng half of the claim (BLEU by source length) comes from the suite
(`training.benchmarks.suite`), whose presets train on the same data for the
same time.
"""

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported

BUCKETS = ((1, 10), (11, 20), (21, 30), (31, 40), (41, 50), (51, 60))
# The suite's matched size; the vocabulary is the corpus' 20 symbols.
SIZE = {"bidirectional": True, "merge_mode": "sum", "embedding_dim": 256, "hidden_dim": 256}


def main(argv=None):
    args = _parser().parse_args(argv)
    import keras

    import zoo
    from training.benchmarks.budget_run import fit_for, machine, write_json, write_text
    from training.cli_arguments import parse_overrides
    from training.corpora import load_corpus
    from training.evaluation import evaluate
    from training.plots import plot_by_length

    overrides = parse_overrides(args.overrides)
    longest = BUCKETS[-1][1]
    results = {}
    for corpus in args.corpora:
        pairs = load_corpus(corpus, num_pairs=args.num_pairs, seed=args.seed, max_length=longest)
        train_pairs, held_out = pairs.split(1.0 - args.held_out / len(pairs), seed=args.seed)
        results[corpus] = {}
        for preset in args.presets:
            keras.utils.set_random_seed(args.seed)
            model = zoo.load(preset, train_data=train_pairs, **({"dropout": 0.0} | SIZE | overrides))
            started = time.perf_counter()
            budget = fit_for(model, preset, train_pairs, args.budget_seconds, args.batch_size)
            report = evaluate(model, held_out, batch_size=args.batch_size, buckets=BUCKETS, loss=False)
            results[corpus][preset] = {
                "steps": budget.steps,
                "train_seconds": budget.elapsed,
                "exact_match": report.exact_match,
                "by_length": [
                    {"label": b.label, "count": b.count, "exact_match": b.exact_match}
                    for b in report.by_length
                ],
            }
            print(
                f"{corpus} {preset}: {budget.steps} steps in {time.perf_counter() - started:.0f} s; exact match "
                + "  ".join(f"{b.label}: {b.exact_match:.0%}" for b in report.by_length if b.count),
                flush=True,
            )
        plot_by_length(
            {
                preset: [
                    (b["label"], None if b["exact_match"] is None else 100 * b["exact_match"])
                    for b in r["by_length"]
                ]
                for preset, r in results[corpus].items()
            },
            os.path.join(args.out, f"{corpus}_exact_match_by_length.png"),
            "exact match (%)",
            title=f"{corpus}: held-out exact match by length, {args.budget_seconds / 60:g} min of training each"
            + _settings(overrides),
        )
    report = {
        "machine": machine(),
        "budget_seconds": args.budget_seconds,
        "num_pairs": args.num_pairs,
        "size": SIZE,
        "overrides": overrides,
        "results": results,
    }
    write_json(report, os.path.join(args.out, "long_sentences.json"))
    text = format_report(report)
    write_text(text, os.path.join(args.out, "long_sentences.md"))
    print(text)
    return report


def format_report(report):
    lines = []
    for corpus, by_preset in report["results"].items():
        labels = [b["label"] for b in next(iter(by_preset.values()))["by_length"]]
        lines += [
            f"## {corpus}: held-out exact match by input length "
            f"({report['budget_seconds'] / 60:g} min of training each{_settings(report['overrides'])})",
            "",
            "| preset | steps | " + " | ".join(labels) + " | all |",
            "|---|---|" + "---|" * (len(labels) + 1),
        ]
        for preset, r in by_preset.items():
            cells = ["-" if b["exact_match"] is None else f"{b['exact_match']:.0%}" for b in r["by_length"]]
            lines.append(f"| {preset} | {r['steps']} | " + " | ".join(cells) + f" | {r['exact_match']:.0%} |")
        lines.append("")
    return "\n".join(lines)


def _settings(overrides):
    """`, with key=value ...` for a title, or nothing."""
    return ", with " + " ".join(f"{k}={json.dumps(v)}" for k, v in overrides.items()) if overrides else ""


def _parser():
    from training.cli_arguments import add_overrides_argument

    parser = argparse.ArgumentParser(
        prog="python -m training.benchmarks.long_sentences",
        description="Exact match by input length on copy/reverse: fixed context against attention, "
        "same size, same training time.",
    )
    parser.add_argument("--corpora", nargs="+", default=["copy", "reverse"], choices=["copy", "reverse"])
    parser.add_argument(
        "--presets", nargs="+", default=["gru_seq2seq", "gru_luong"], help="default: %(default)s"
    )
    parser.add_argument(
        "--budget-seconds", type=float, default=150.0, help="per model (default: %(default)s)"
    )
    parser.add_argument(
        "--num-pairs", type=int, default=30000, help="pairs per corpus (default: %(default)s)"
    )
    parser.add_argument("--held-out", type=int, default=1200, help="pairs scored (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=64, help="default: %(default)s")
    parser.add_argument("--seed", type=int, default=0, help="default: %(default)s")
    parser.add_argument("--out", default="bench/long_sentences", help="default: %(default)s")
    add_overrides_argument(
        parser, "change a setting of every preset, after the matched size (as in `zoo train`)"
    )
    return parser


if __name__ == "__main__":
    main()
