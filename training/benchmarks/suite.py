"""The benchmark suite: the zoo's matched-size presets against the peer, in one run.

    python -m training.benchmarks.suite --train ../shared/data/spa-eng/train.tsv \\
        --valid ../shared/data/spa-eng/valid.tsv --out bench

Each stage runs in its own process, one after another, on the same data
and machine:

1. the matmul ceiling (`PEERS/matmul_peak.py`);
2. the peer (`PEERS/tutorial_nmt.py`: the TensorFlow NMT-with-attention
   tutorial's model) for `--peer-steps` steps; its training wall time is
   the budget every preset gets (about 15 minutes on a 2-core CPU);
3. each preset, at the peer's size (`MATCHED`), trained for that budget
   and measured by `training.benchmarks.budget_run`;
4. epoch time against corpus size, for the first preset;
5. the decoding duel: `--duel-rounds` rounds, each decoding with the
   peer's saved model and then with each preset's, each in a fresh
   process, so that a ratio compares two measurements minutes apart at
   most (see `decoding_duel`).

It prints a table of ratios against the peer and writes `OUT/suite.json`,
`OUT/suite.md` and `OUT/bleu_by_length.png` (BLEU per source-length
bucket, fixed context against attention). Every stage's result is saved
atomically as `OUT/<stage>.json` with the command that made it (and, for
the duel, the size and time of the models it read); a rerun of the same
command reuses finished stages, so an interrupted suite picks up where it
stopped (`--fresh` reruns everything). Each stage also records how much of
the machine other processes and the hypervisor took while it ran
(`training.benchmarks.machine_load`); the report marks a stage where they
took 5% or more.
"""

import argparse
import json
import logging
import os
import re
import statistics
import subprocess
import sys
import unicodedata

from training.benchmarks.budget_run import WARMUP_STEPS
from training.benchmarks.machine_load import NOTABLE_SHARE, StageLoad, notable

# The peer's size: embeddings 256, a bidirectional GRU 256 encoder with its
# directions summed, a GRU 256 decoder, 5,000 words per side.
MATCHED = ("bidirectional=true", "merge_mode=sum", "embedding_dim=256", "hidden_dim=256", "max_size=5000")
DEFAULT_PRESETS = ("gru_luong", "gru_seq2seq")
EPOCH_SIZES = (10_000, 50_000, 0)  # 0: every pair
PEER_COLUMNS = (1, 0)  # the peer translates the second column into the first
PEER_WEIGHTS = "peer.weights.h5"  # the peer's trained model, decoded again by the duel


def main(argv=None):
    args = _parser().parse_args(argv)
    if args.duel_rounds < 0:
        raise SystemExit(f"suite: error: --duel-rounds must be 0 (no duel) or more, got {args.duel_rounds}")
    for path in (args.train, args.valid):
        if not os.path.isfile(path):
            raise SystemExit(f"suite: error: no such file: {path}")
    peers = os.path.abspath(args.peers)
    for script in ("tutorial_nmt.py", "matmul_peak.py"):
        if not os.path.isfile(os.path.join(peers, script)):
            raise SystemExit(f"suite: error: {script} not found in --peers {peers}")
    os.makedirs(args.out, exist_ok=True)
    python = sys.executable

    ceiling = _stage(args, "ceiling", [python, os.path.join(peers, "matmul_peak.py"), "--out", "{json}"])
    peer = _stage(
        args,
        "peer",
        _peer_command(
            args,
            "--steps",
            str(args.peer_steps),
            "--warmup",
            str(args.warmup_steps),
            "--hyp-out",
            os.path.join(args.out, "peer.valid.greedy.txt"),
            "--save-weights",
            os.path.join(args.out, PEER_WEIGHTS),
        ),
    )
    budget = args.budget_seconds or peer["train_wall_seconds"]
    common = [
        "--train",
        args.train,
        "--valid",
        args.valid,
        "--source-column",
        str(PEER_COLUMNS[0]),
        "--target-column",
        str(PEER_COLUMNS[1]),
        "--batch-size",
        str(args.batch_size),
        "--decode-sentences",
        str(args.decode_sentences),
        "--repeats",
        str(args.repeats),
        "--warmup-steps",
        str(args.warmup_steps),
        "--precision",
        args.precision,
    ]
    matched = [item for setting in (*MATCHED, *args.overrides) for item in ("--set", setting)]
    models = {}
    for preset in args.presets:
        models[preset] = _stage(
            args,
            preset,
            [python, "-m", "training.benchmarks.budget_run", "--preset", preset, *matched, *common]
            + [
                "--budget-seconds",
                f"{budget:.1f}",
                "--out",
                os.path.join(args.out, preset),
                "--json",
                "{json}",
            ],
        )
    growth = None
    if args.epoch_sizes:
        growth = _stage(
            args,
            "epoch_growth",
            [python, "-m", "training.benchmarks.budget_run", "--preset", args.presets[0], *matched, *common]
            + ["--epoch-sizes", *map(str, args.epoch_sizes), "--out", os.path.join(args.out, "epoch_growth")]
            + ["--json", "{json}"],
        )
    duel = decoding_duel(args, list(models)) if args.duel_rounds else None
    report = summarize(ceiling, peer, models, growth, duel, args)
    stages = ["ceiling", "peer", *models, *(["epoch_growth"] if growth is not None else [])]
    for round_ in range(1, args.duel_rounds + 1):
        stages += [_duel_stage(round_, who) for who in ("peer", *models)]
    report["machine_load"] = stage_loads(args.out, stages)
    from training.benchmarks.budget_run import write_json, write_text

    write_json(report, os.path.join(args.out, "suite.json"))
    text = format_report(report)
    write_text(text, os.path.join(args.out, "suite.md"))
    print(text)
    return report


def decoding_duel(args, presets):
    """Decoding speed in fresh processes: the peer's, then each preset's, round after round.

    The decoding figures of the training stages are taken in the process
    that trained, minutes away from the peer's, and these shared machines
    drift by up to 40% within minutes. Here every round runs the peer
    (its saved weights, `--steps 0`) and then each preset's saved model,
    each in a new process, on the same sentences; a ratio is taken within
    a round, where the machine is the same for both.

    Returns:
        `{"peer": [greedy sentences/s per round], preset: {(strategy,
        where): [sentences/s per round]}}`, batch 64 only.
    """
    python = sys.executable
    weights = os.path.join(args.out, PEER_WEIGHTS)
    peer_command = _peer_command(
        args,
        "--steps",
        "0",
        "--load-weights",
        weights,
        "--hyp-out",
        os.path.join(args.out, "duel.peer.greedy.txt"),
    )
    duel = {"peer": [], **{preset: {} for preset in presets}}
    for round_ in range(1, args.duel_rounds + 1):
        peer = _stage(args, _duel_stage(round_, "peer"), peer_command, inputs=[weights])
        duel["peer"].append(max(peer["compiled_sentences_per_s"], peer["python_sentences_per_s"]))
        for preset in presets:
            model = os.path.join(args.out, preset, "preset")
            command = [python, "-m", "training.benchmarks.decoding", "--model", model, "--data", args.valid]
            command += ["--source-column", str(PEER_COLUMNS[0]), "--target-column", str(PEER_COLUMNS[1])]
            command += ["--sentences", str(args.decode_sentences), "--batch-sizes", str(args.batch_size)]
            command += ["--repeats", str(args.repeats), "--json", "{json}"]
            ours = _stage(args, _duel_stage(round_, preset), command, inputs=[model])
            for row in ours["rows"]:
                duel[preset].setdefault((row["strategy"], row["where"]), []).append(
                    row["sentences_per_second"]
                )
    return duel


def _duel_stage(round_, who):
    """The name of a duel stage: `who` (`"peer"` or a preset) decoding in round `round_`."""
    return f"duel{round_}_{who}"


def _peer_command(args, *options):
    """The peer script on the suite's data, batch size and decoding settings, with `options` added."""
    return [
        sys.executable,
        os.path.join(os.path.abspath(args.peers), "tutorial_nmt.py"),
        "--train",
        args.train,
        "--valid",
        args.valid,
        "--test",
        args.valid,
        "--batch",
        str(args.batch_size),
        "--decode-n",
        str(args.decode_sentences),
        "--decode-repeats",
        str(args.repeats),
        *options,
        "--out",
        "{json}",
    ]


def summarize(ceiling, peer, models, growth, duel, args):
    """Every figure of the run, and its ratio to the peer's."""
    from training.benchmarks.budget_run import machine
    from training.plots import plot_by_length
    from training.readers import read_pairs

    peak = max(r["gflops"] for r in ceiling["results"])
    valid = read_pairs(args.valid, source=PEER_COLUMNS[0], target=PEER_COLUMNS[1])
    with open(os.path.join(args.out, "peer.valid.greedy.txt"), encoding="utf-8") as f:
        peer_hypotheses = [line.rstrip("\n") for line in f]
    logging.getLogger("sacrebleu").setLevel(logging.ERROR)  # the peer's "home ." is 13a's "home."
    peer_quality = _score(peer_hypotheses, valid, "the peer")
    peer_figures = {
        "parameters": peer["params"],
        "steps_per_second": peer["steps_per_s"],
        "target_tokens_per_second": peer["target_tokens_per_s"],
        "target_padding": 1.0
        - peer["target_tokens_per_step_mean"] / (peer["batch_mean"] * peer["padded_tgt_len_mean"]),
        "padded_gflop_per_second": peer["est_achieved_matmul_gflop_per_s"],
        "greedy_64_sentences_per_second": max(
            peer["compiled_sentences_per_s"], peer["python_sentences_per_s"]
        ),
        "bleu_greedy": peer_quality["bleu"],
        "valid_loss": peer["valid_loss"],
        "peak_rss_mib": peer["peak_rss_mib"],
        "train_seconds": peer["train_wall_seconds"],
        "steps": peer["steps"],
        "by_length": peer_quality["by_length"],
        "padded_share_of_ceiling": peer["est_achieved_matmul_gflop_per_s"] / peak,
        "decoding_work": None,
    }
    duel_figures = None if duel is None else _duel_ratios(duel)
    # Matmul work of the file-order decoding, batch 64: it does not depend on
    # the machine, so each duel round runs the same work at its own rate.
    theirs = peer_decoding_gflop(peer, valid.sources, peer_hypotheses)
    if theirs is not None:
        duel_rates = duel_figures and duel_figures["peer_greedy_64_sentences_per_second"]
        peer_figures["decoding_work"] = _work_rates(
            theirs, peer["decode_n"], peer_figures["greedy_64_sentences_per_second"], duel_rates, peak
        )
    rows = {}
    for name, run in models.items():
        training, quality = run["training"], run["quality"]
        decoding = {(r["strategy"], r["batch_size"], r["where"]): r for r in run["decoding"]}
        beam = next(k for k in quality if k.startswith("beam"))
        scored = {}
        for strategy in ("greedy", beam):
            with open(os.path.join(args.out, name, f"valid.{strategy}.txt"), encoding="utf-8") as f:
                scored[strategy] = _score([line.rstrip("\n") for line in f], valid, name)
        row = {
            "parameters": run["parameters"],
            "steps": training["steps"],
            "epochs": training["epochs"],
            "train_seconds": training["seconds"],
            "steps_per_second": training["steps_per_second"],
            "target_tokens_per_second": training["target_tokens_per_second"],
            "target_padding": training["target_padding"],
            "useful_gflop_per_second": training.get("useful_gflop_per_second"),
            "padded_gflop_per_second": training.get("padded_gflop_per_second"),
            "peak_rss_mib": run["peak_rss_mib"],
            "training_peak_rss_mib": training["peak_rss_mib"],
            "valid_loss": quality["greedy"]["loss"],
            "bleu_greedy": scored["greedy"]["bleu"],
            f"bleu_{beam}": scored[beam]["bleu"],
            "by_length": scored["greedy"]["by_length"],
            "decoding": run["decoding"],
            "decode_growth": {k: {**v, "points": None} for k, v in run["decode_growth"].items()},
        }
        for strategy in ("greedy", beam):
            for where in ("live", "exported", "live, one call"):
                key = (strategy, 64, where)
                if key in decoding:
                    label = _label(strategy, where)
                    row[f"{label}_sentences_per_second"] = decoding[key]["sentences_per_second"]
            for where in ("live", "exported"):
                if (strategy, 1, where) in decoding:
                    row[f"{strategy}_1_{where}_ms"] = (
                        1000 / decoding[(strategy, 1, where)]["sentences_per_second"]
                    )
        row["ratios"] = {
            "target_tokens_per_second": row["target_tokens_per_second"]
            / peer_figures["target_tokens_per_second"],
            "steps_per_second": row["steps_per_second"] / peer_figures["steps_per_second"],
            "peak_rss": row["peak_rss_mib"] / peer_figures["peak_rss_mib"],
            **{
                f"{key.removesuffix('_sentences_per_second')}_vs_peer_greedy_64": value
                / peer_figures["greedy_64_sentences_per_second"]
                for key, value in row.items()
                if key.endswith("_sentences_per_second") and "_64_" in key
            },
            "bleu_greedy_minus_peer": row["bleu_greedy"] - peer_figures["bleu_greedy"],
            f"bleu_{beam}_minus_peer": row[f"bleu_{beam}"] - peer_figures["bleu_greedy"],
        }
        if row["useful_gflop_per_second"] is not None:
            row["useful_share_of_ceiling"] = row["useful_gflop_per_second"] / peak
            row["padded_share_of_ceiling"] = row["padded_gflop_per_second"] / peak
        row["decoding_work"] = {}
        for strategy in ("greedy", beam):
            live = decoding.get((strategy, 64, "live"))  # file order, the duel's protocol
            if live is None or live.get("gflop") is None:
                continue
            label = _label(strategy, "live")
            duel_rates = duel_figures and duel_figures["presets"][name].get(label, {}).get(
                "sentences_per_second"
            )
            figures = _work_rates(
                live["gflop"], live["sentences"], live["sentences_per_second"], duel_rates, peak
            )
            figures["vs_peer"] = None if theirs is None else live["gflop"] / theirs
            row["decoding_work"][strategy] = figures
        rows[name] = row

    series = {"peer (tutorial)": [(b["label"], b["bleu"]) for b in map(_bucket, peer_figures["by_length"])]}
    for name, row in rows.items():
        series[name] = [(b["label"], b["bleu"]) for b in map(_bucket, row["by_length"])]
    plot_by_length(
        series,
        os.path.join(args.out, "bleu_by_length.png"),
        "BLEU (greedy)",
        title="Validation BLEU by source length, equal training time",
    )
    return {
        "machine": machine(),
        "matmul_ceiling_gflop_per_second": peak,
        "budget_seconds": args.budget_seconds or peer["train_wall_seconds"],
        "matched_settings": [*MATCHED, *args.overrides],
        "precision": args.precision,
        "peer": peer_figures,
        "presets": rows,
        "epoch_growth": None if growth is None else growth["epoch_growth"],
        "decoding_duel": duel_figures,
    }


def peer_decoding_gflop(peer, sources, hypotheses):
    """The matmul work of the peer's timed greedy decoding, in GFLOP (`flops.peer_decoding_flops`).

    Its timed batches are the first `decode_n` validation sources,
    `decode_batch` at a time. A batch's source width is its longest source
    in the peer's own standardization plus `[START]` and `[END]`; it steps
    until its longest output has emitted `[END]` (which the written
    hypotheses leave out), `decode_max_len` steps at most. `None` when the
    peer's report lacks these settings.
    """
    from training.benchmarks.flops import peer_decoding_flops

    try:
        count, size, longest = peer["decode_n"], peer["decode_batch"], peer["decode_max_len"]
        units, vocabulary = peer["units"], peer["tgt_vocab"]
    except KeyError:
        return None
    sources, hypotheses = sources[:count], hypotheses[:count]
    batches = []
    for start in range(0, count, size):
        widths = [len(_peer_standardized(text).split()) + 2 for text in sources[start : start + size]]
        outputs = [len(text.split()) + 1 for text in hypotheses[start : start + size]]
        batches.append((len(widths), max(widths), min(max(outputs), longest)))
    return peer_decoding_flops(batches, units, vocabulary) / 1e9


def _peer_standardized(text):
    """The peer's `_clean`: NFKD, lowercase, only `[ a-z.?!,¿]`, spaces around punctuation."""
    text = unicodedata.normalize("NFKD", text).lower()
    text = re.sub(r"[^ a-z.?!,¿]", "", text)
    return re.sub(r"([.?!,¿])", r" \1 ", text).strip()


def _work_rates(gflop, sentences, rate, duel_rates, peak):
    """GFLOP of a decoding pass over `sentences`, run at `rate` sentences/s (and at the duel's median round)."""
    figures = {"gflop": gflop, "gflop_per_second": gflop * rate / sentences}
    if duel_rates:
        figures["duel_gflop_per_second"] = gflop * statistics.median(duel_rates) / sentences
    for key in [k for k in figures if k.endswith("gflop_per_second")]:
        figures[key.replace("gflop_per_second", "share_of_ceiling")] = figures[key] / peak
    return figures


def _label(strategy, where):
    """The report's key for a batch-64 decoding figure: `("greedy", "live, one call")` -> `greedy_64_live_one_call`."""
    return f"{strategy}_64_{where.replace(', ', '_').replace(' ', '_')}"


def _duel_ratios(duel):
    """Each preset's sentences/s per round, over the peer's greedy in the same round."""
    peer = duel["peer"]
    presets = {}
    for name, figures in duel.items():
        if name == "peer":
            continue
        presets[name] = {}
        for (strategy, where), rates in figures.items():
            ratios = [ours / theirs for ours, theirs in zip(rates, peer)]
            presets[name][_label(strategy, where)] = {
                "sentences_per_second": rates,
                "ratios": ratios,
                "median_ratio": statistics.median(ratios),
            }
    return {"rounds": len(peer), "peer_greedy_64_sentences_per_second": peer, "presets": presets}


def format_report(report):
    """The suite's figures as Markdown tables (what `suite.md` holds and the README quotes)."""
    peer, rows = report["peer"], report["presets"]
    m = report["machine"]
    lines = [
        f"# Benchmark suite: {m['cpus']} cores ({m['machine']}), TensorFlow {m['tensorflow']}",
        "",
        f"Matmul ceiling {report['matmul_ceiling_gflop_per_second']:.0f} GFLOP/s; training budget "
        f"{report['budget_seconds'] / 60:.1f} min each (the peer's {peer['steps']} steps); presets set to "
        f"`{' '.join(report['matched_settings'])}`; ours train in {report.get('precision', 'float32')}.",
        "",
        "## Training (ratios: ours / peer)",
        "",
        "| model | params | target tok/s | x peer | steps/s | x peer | padding | useful GFLOP/s (% ceiling) "
        "| padded % ceiling | peak RSS MiB | x peer |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        f"| peer | {peer['parameters'] / 1e6:.2f} M | {peer['target_tokens_per_second']:,.0f} | 1.00 "
        f"| {peer['steps_per_second']:.2f} | 1.00 | {peer['target_padding']:.1%} | - "
        f"| {peer['padded_share_of_ceiling']:.0%} | {peer['peak_rss_mib']:,.0f} | 1.00 |",
    ]
    for name, row in rows.items():
        r = row["ratios"]
        useful = (
            "-"
            if row["useful_gflop_per_second"] is None
            else f"{row['useful_gflop_per_second']:.0f} ({row['useful_share_of_ceiling']:.0%})"
        )
        padded = "-" if row["useful_gflop_per_second"] is None else f"{row['padded_share_of_ceiling']:.0%}"
        lines.append(
            f"| {name} | {row['parameters'] / 1e6:.2f} M | {row['target_tokens_per_second']:,.0f} "
            f"| **{r['target_tokens_per_second']:.2f}** | {row['steps_per_second']:.2f} | {r['steps_per_second']:.2f} "
            f"| {row['target_padding']:.1%} | {useful} | {padded} | {row['peak_rss_mib']:,.0f} | {r['peak_rss']:.2f} |"
        )
    lines += [
        "",
        "## Decoding, batch 64 (sentences/s; ratio to the peer's greedy at batch 64)",
        "",
        "| model | strategy | live, file order | exported, file order | live, one call (length-grouped) "
        "| batch 1 live / exported |",
        "|---|---|---|---|---|---|",
        f"| peer | greedy | {peer['greedy_64_sentences_per_second']:,.0f} (1.00) | - | - | - |",
    ]
    marked = False
    for name, row in rows.items():
        disturbed = {
            _label(r["strategy"], r["where"])
            for r in row["decoding"]
            if r["batch_size"] == 64 and notable(r.get("machine_load"))
        }
        for strategy in [k.removeprefix("bleu_") for k in row if k.startswith("bleu_")]:
            cells = []
            for where in ("live", "exported", "live_one_call"):
                value = row.get(f"{strategy}_64_{where}_sentences_per_second")
                ratio = row["ratios"].get(f"{strategy}_64_{where}_vs_peer_greedy_64")
                mark = " †" if f"{strategy}_64_{where}" in disturbed else ""
                marked = marked or bool(mark)
                cells.append("-" if value is None else f"{value:,.0f} (**{ratio:.2f}**){mark}")
            latency = " / ".join(
                "-" if row.get(f"{strategy}_1_{w}_ms") is None else f"{row[f'{strategy}_1_{w}_ms']:.1f} ms"
                for w in ("live", "exported")
            )
            lines.append(f"| {name} | {strategy} | {' | '.join(cells)} | {latency} |")
    if marked:
        lines += [
            "",
            f"† Other processes or steal took {NOTABLE_SHARE:.0%} or more of the machine while this was "
            "measured (`machine_load` of its row in `suite.json`): less reliable.",
        ]
    duel = report.get("decoding_duel")
    if duel:
        peer_rates = duel["peer_greedy_64_sentences_per_second"]
        lines += [
            "",
            f"## Decoding in fresh processes, in alternation ({duel['rounds']} rounds; batch 64)",
            "",
            "Each round decodes with the peer's saved model, then with each preset's, each in a new "
            "process. Sentences/s is the median round; the ratio is to the peer's greedy in the same "
            "round (median, and the lowest and highest round).",
            "",
            "| model | strategy | live, file order | exported, file order | live, one call (length-grouped) |",
            "|---|---|---|---|---|",
            f"| peer | greedy | {statistics.median(peer_rates):,.0f} (1.00) | - | - |",
        ]
        for name, figures in duel["presets"].items():
            for strategy in sorted({key.split("_64_")[0] for key in figures}, key=lambda s: s != "greedy"):
                cells = []
                for where in ("live", "exported", "live_one_call"):
                    cell = figures.get(f"{strategy}_64_{where}")
                    cells.append(
                        "-"
                        if cell is None
                        else f"{statistics.median(cell['sentences_per_second']):,.0f} "
                        f"(**{cell['median_ratio']:.2f}**, {min(cell['ratios']):.2f}-{max(cell['ratios']):.2f})"
                    )
                lines.append(f"| {name} | {strategy} | {' | '.join(cells)} |")
    if peer.get("decoding_work") or any(row["decoding_work"] for row in rows.values()):
        lines += [
            "",
            "## Decoding work: matmul GFLOP of the file-order batches of 64, and the rate it runs at",
            "",
            "Forward matmul FLOPs counted as for training (`training.benchmarks.flops`): ours from the "
            "rows each decoding step ran (a finished sentence or hypothesis leaves the batch), the peer's "
            "from its outputs' lengths (every row steps until the batch's last has ended, and its attention "
            "projects the source again at every step). The rate is the work over the time, in the "
            "training process and in the duel's median round.",
            "",
            "| model | strategy | GFLOP | x peer | GFLOP/s in process (% ceiling) | duel GFLOP/s (% ceiling) |",
            "|---|---|---|---|---|---|",
        ]
        entries = [("peer", "greedy", peer.get("decoding_work"))]
        entries += [
            (n, strategy, f) for n, row in rows.items() for strategy, f in row["decoding_work"].items()
        ]
        for name, strategy, figures in entries:
            if not figures:
                continue
            vs_peer = 1.0 if name == "peer" else figures["vs_peer"]
            ratio = "-" if vs_peer is None else f"{vs_peer:.2f}"
            rates = [
                "-"
                if figures.get(f"{where}gflop_per_second") is None
                else f"{figures[f'{where}gflop_per_second']:.0f} ({figures[f'{where}share_of_ceiling']:.0%})"
                for where in ("", "duel_")
            ]
            lines.append(f"| {name} | {strategy} | {figures['gflop']:.1f} | {ratio} | {' | '.join(rates)} |")
    lines += [
        "",
        "## Quality after the same training time (validation BLEU: sacrebleu 13a, lowercased, `[UNK]` as `unk`)",
        "",
        "| model | valid loss | BLEU greedy | - peer | BLEU beam | - peer |",
        "|---|---|---|---|---|---|",
        f"| peer | {peer['valid_loss']:.3f} | {peer['bleu_greedy']:.2f} | 0.00 | - | - |",
    ]
    for name, row in rows.items():
        beam = next(k for k in row if k.startswith("bleu_beam"))
        r = row["ratios"]
        lines.append(
            f"| {name} | {row['valid_loss']:.3f} | {row['bleu_greedy']:.2f} | {r['bleu_greedy_minus_peer']:+.2f} "
            f"| {row[beam]:.2f} | {r[f'{beam}_minus_peer']:+.2f} |"
        )
    buckets = [_bucket(b) for b in peer["by_length"]]
    lines += [
        "",
        "## Validation BLEU by source length (greedy; `bleu_by_length.png`)",
        "",
        "| model | " + " | ".join(f"{b['label']} ({b['count']})" for b in buckets) + " |",
        "|---|" + "---|" * len(buckets),
    ]
    for name, by_length in [("peer", peer["by_length"])] + [(n, r["by_length"]) for n, r in rows.items()]:
        cells = ["-" if b["bleu"] is None else f"{b['bleu']:.1f}" for b in map(_bucket, by_length)]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "## Cost growth", ""]
    for name, row in rows.items():
        for strategy, fit in row["decode_growth"].items():
            if fit["ms_per_output_token"] is None:
                lines.append(
                    f"- {name}, {strategy}: too few sentences to fit decoding time to output length."
                )
                continue
            lines.append(
                f"- {name}, {strategy}: a batch of 64 costs {fit['ms_fixed']:.1f} ms + "
                f"{fit['ms_per_output_token']:.2f} ms per token of its longest output (R² {fit['r_squared']:.3f})."
            )
    if report["epoch_growth"]:
        lines += ["", "| training pairs | steps | epoch seconds | µs per pair |", "|---|---|---|---|"]
        for g in report["epoch_growth"]:
            lines.append(
                f"| {g['pairs']:,} | {g['steps']} | {g['epoch_seconds']:.1f} | {g['microseconds_per_pair']:.0f} |"
            )
    if report.get("machine_load"):
        lines += _load_lines(report["machine_load"])
    return "\n".join(lines) + "\n"


def _load_lines(loads):
    """The report's table of what else ran on the machine during each stage."""
    lines = [
        "",
        "## The machine during each stage",
        "",
        "The share of the machine's CPU time that other processes used while each stage ran, and that "
        "the hypervisor took (steal), from `/proc/stat` with the stage's own CPU time left out. A stage "
        f"at {NOTABLE_SHARE:.0%} or more is in bold: its figures are less reliable.",
        "",
        "| stage | minutes | other processes | steal |",
        "|---|---|---|---|",
    ]
    for name, load in loads.items():
        if load is None or load["other_share"] is None:
            minutes = "-" if load is None else f"{load['seconds'] / 60:.1f}"
            lines.append(f"| {name} | {minutes} | not measured | not measured |")
            continue
        bold = "**" if notable(load) else ""
        lines.append(
            f"| {bold}{name}{bold} | {load['seconds'] / 60:.1f} | {bold}{load['other_share']:.1%}{bold} "
            f"| {bold}{load['steal_share']:.1%}{bold} |"
        )
    return lines


def _score(hypotheses, valid, who):
    """BLEU overall and by source length, the same way for the peer and for us.

    sacrebleu 13a, lowercased, against the raw references; `[UNK]` is
    written `unk`, one token, as the peer scores itself (13a would split
    `[UNK]` into three wrong tokens).
    """
    from training.evaluation import score_translations

    if len(hypotheses) != len(valid):
        raise SystemExit(
            f"suite: error: {who} translated {len(hypotheses)} of the {len(valid)} validation sentences; "
            "every sentence must be translated to compare BLEU (a source longer than the model reads?)."
        )
    hypotheses = [h.replace("[UNK]", "unk") for h in hypotheses]
    return score_translations(hypotheses, valid.targets, valid.sources).to_dict()


def _bucket(bucket):
    first, last = bucket["first"], bucket["last"]
    return {**bucket, "label": f"{first}+" if last is None else f"{first}-{last}"}


def _stage(args, name, command, inputs=()):
    """Run one stage's command in its own process, or reuse its saved result.

    A saved result is reused when it came from the same command and, if the
    stage reads the outputs of earlier stages (`inputs`, files or
    directories), from the same versions of them.
    """
    from training.benchmarks.budget_run import write_json

    path = os.path.join(args.out, f"{name}.json")
    read = _fingerprint(inputs)
    if not args.fresh and os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            saved = json.load(f)
        if saved.get("command") == command and saved.get("inputs", {}) == read:
            print(f"[{name}] reusing {path}", flush=True)
            return saved["result"]
    scratch = os.path.join(args.out, f".{name}.partial.json")
    resolved = [scratch if part == "{json}" else part for part in command]
    log_path = os.path.join(args.out, f"{name}.log")
    print(f"[{name}] {' '.join(resolved)}", flush=True)
    load = StageLoad()
    with open(log_path, "w", encoding="utf-8") as log:
        process = subprocess.Popen(resolved, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for line in process.stdout:
            log.write(line)
            if not line.startswith(("{", " ", '"', "}", "]")):  # the peer's JSON dump is in the log only
                print(f"[{name}] {line}", end="", flush=True)
        if process.wait() != 0:
            raise SystemExit(f"suite: stage {name!r} failed (exit {process.returncode}); see {log_path}")
    load = load.finish()
    note = notable(load)
    if note:
        print(f"[{name}] note: {note}", flush=True)
    with open(scratch, encoding="utf-8") as f:
        result = json.load(f)
    os.remove(scratch)
    record = {"command": command, "seconds": load["seconds"], "load": load, "result": result}
    if read:
        record["inputs"] = read
    write_json(record, path)
    return result


def stage_loads(out, stages):
    """`{stage: load}` as each stage's saved result recorded it (`machine_load.StageLoad`).

    A stage reused from an earlier run keeps the load of the run that
    measured it; one saved before loads were recorded has `None`.
    """
    loads = {}
    for name in stages:
        with open(os.path.join(out, f"{name}.json"), encoding="utf-8") as f:
            loads[name] = json.load(f).get("load")
    return loads


def _fingerprint(paths):
    """`{file: [size, mtime in ns]}` for every file under `paths`: which versions a stage read."""
    files = []
    for path in paths:
        if os.path.isdir(path):
            files += [os.path.join(root, name) for root, _, names in os.walk(path) for name in names]
        else:
            files.append(path)
    return {file: [os.stat(file).st_size, os.stat(file).st_mtime_ns] for file in sorted(files)}


def _parser():
    from training.cli_arguments import add_overrides_argument, add_precision_argument

    parser = argparse.ArgumentParser(
        prog="python -m training.benchmarks.suite",
        description="Train and measure the zoo's presets at the peer's size against the peer, in one run; "
        "print ratios to the peer. The data is a TSV of english<TAB>spanish lines, translated Spanish to "
        "English, as the peer does.",
    )
    parser.add_argument("--train", required=True, help="TSV of training pairs")
    parser.add_argument("--valid", required=True, help="TSV of validation pairs (BLEU and decoding)")
    parser.add_argument(
        "--peers", default="../shared/peers", help="folder of the peer scripts (default: %(default)s)"
    )
    parser.add_argument(
        "--presets",
        nargs="+",
        default=list(DEFAULT_PRESETS),
        help="presets to measure (default: %(default)s)",
    )
    add_overrides_argument(
        parser, "change a preset setting after the matched ones (as in `zoo train`); the report shows it"
    )
    parser.add_argument(
        "--peer-steps",
        type=int,
        default=5280,
        help="the peer's training steps; its wall time is every preset's budget (default: %(default)s, "
        "about 15 minutes on 2 cores)",
    )
    parser.add_argument("--budget-seconds", type=float, help="a fixed budget instead of the peer's time")
    parser.add_argument("--batch-size", type=int, default=64, help="default: %(default)s")
    parser.add_argument(
        "--warmup-steps",
        type=int,
        default=WARMUP_STEPS,
        help="first steps left out of every training throughput, the peer's and ours (default: %(default)s)",
    )
    parser.add_argument(
        "--decode-sentences", type=int, default=1000, help="validation sources timed (default: %(default)s)"
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed decoding passes (default: %(default)s)")
    parser.add_argument(
        "--epoch-sizes",
        type=int,
        nargs="*",
        default=list(EPOCH_SIZES),
        help="corpus sizes timed for one epoch, 0 for all; none to skip (default: 10000 50000 0)",
    )
    parser.add_argument(
        "--duel-rounds",
        type=int,
        default=3,
        help="rounds of decoding in fresh processes, the peer's and ours in turn; 0 to skip (default: %(default)s)",
    )
    add_precision_argument(
        parser, "our presets' training precision, as `zoo train --precision`; the peer trains in float32"
    )
    parser.add_argument("--out", default="bench", help="directory for every result (default: %(default)s)")
    parser.add_argument("--fresh", action="store_true", help="rerun stages that have a saved result")
    return parser


if __name__ == "__main__":
    main()
