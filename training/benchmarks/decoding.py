"""Decoding speed: greedy and beam search, batch 1 and 64, live and exported.

Every configuration translates the same source sentences, in batches taken
in file order. "live" is `Translator.translate` called once per batch (what
a Python user calls: input checks, the compiled graph, strings back);
"exported" is the SavedModel's `serving_default` signature, loaded in this
process; "live, one call" hands every sentence to one `translate` call,
which groups them by length into batches of 64. Each configuration is
traced once before it is timed, then timed `--repeats` times (the median
pass is reported: these shared machines drift).

    python -m training.benchmarks.decoding --model zoo-run/preset \\
        --data ../shared/data/spa-eng/valid.tsv --source-column 1
"""

import argparse
import os
import platform
import statistics
import tempfile
import time

from training.benchmarks.machine_load import StageLoad, notable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported


def main(argv=None):
    args = _parser().parse_args(argv)
    import tensorflow as tf

    import zoo
    from training.readers import read_pairs

    model = zoo.load(args.model)
    if args.data:
        target = args.target_column
        if target is None:  # only the sources are read; any other column will do
            target = 1 if args.source_column == 0 else 0
        pairs = read_pairs(args.data, source=args.source_column, target=target)
        sources = list(pairs.sources)
    else:
        from training.corpora import load_corpus

        sources = list(load_corpus("dates", num_pairs=args.sentences, seed=1).sources)
    sources = readable_sources(model, sources)[: args.sentences]
    rows = measure_decoding(
        model,
        sources,
        beam_width=args.beam_width,
        batch_sizes=args.batch_sizes,
        batch_1_sentences=args.batch_1_sentences,
        repeats=args.repeats,
    )
    report = {
        "model": args.model,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "tensorflow": tf.__version__,
        "rows": rows,
    }
    if args.json:
        from training.benchmarks.budget_run import write_json

        write_json(report, args.json)
    return report


def measure_decoding(
    model, sources, beam_width=4, batch_sizes=(1, 64), batch_1_sentences=128, repeats=3, log=print
):
    """Sentences per second of `model` on `sources`: one row per strategy, batch size and caller.

    Args:
        model: a `zoo.Translator`.
        sources: source sentences, none longer than the model reads.
        beam_width: the beam search measured beside greedy.
        batch_sizes: batch sizes, in file order; with 64, also one
            length-grouping `translate` call over all sentences.
        batch_1_sentences: how many sentences are timed at batch size 1.
        repeats: timed passes per configuration; the median is reported.
        log: called with one line per finished row.

    Returns:
        A list of dicts: strategy, batch_size, where ("live", "exported" or
        "live, one call"), sentences, sentences_per_second, median_batch_ms,
        output_words_per_sentence, `machine_load` (what other processes and
        steal took of the machine during the timed passes:
        `training.benchmarks.machine_load.StageLoad`), and for a recurrent
        model the pass's forward matmul work, `gflop` (see
        `decoding_work`), and `gflop_per_second`; both are `None` for other
        models.
    """
    import tensorflow as tf

    from zoo.generation import BeamSearch, GreedySearch

    strategies = {"greedy": GreedySearch(), f"beam{beam_width}": BeamSearch(beam_width)}

    work = {}  # live and exported decode the same batches: count them once
    counters = {name: DecodingWork(model, strategy) for name, strategy in strategies.items()}

    def add_work(row, batches):
        key = (row["strategy"], row["batch_size"], row["where"] == "live, one call")
        if key not in work:
            name = row["strategy"]
            work[key] = decoding_gflop(model, batches, strategies[name], counters[name])
        flops = row["gflop"] = work[key]
        row["gflop_per_second"] = (
            None if flops is None else flops * row["sentences_per_second"] / row["sentences"]
        )

    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for name, strategy in strategies.items():
            path = os.path.join(scratch, name)
            model.export(path, strategy=strategy)
            serve = tf.saved_model.load(path).signatures["serving_default"]
            runners = {
                "live": lambda batch, strategy=strategy: model.translate(batch, strategy),
                "exported": lambda batch, serve=serve: serve(text=tf.constant(batch))["translation"].numpy(),
            }
            for batch_size in batch_sizes:
                count = min(len(sources), batch_1_sentences if batch_size == 1 else len(sources))
                batches = [sources[i : i + batch_size] for i in range(0, count, batch_size)]
                for where, run in runners.items():
                    run(batches[0])  # trace and warm up
                    load = StageLoad()
                    totals = []
                    for _ in range(repeats):
                        seconds, outputs = [], []
                        for batch in batches:
                            started = time.perf_counter()
                            outputs.extend(run(batch))
                            seconds.append(time.perf_counter() - started)
                        totals.append(sum(seconds))
                    total = statistics.median(totals)
                    rows.append(
                        {
                            "strategy": name,
                            "batch_size": batch_size,
                            "where": where,
                            "sentences": count,
                            "sentences_per_second": count / total,
                            "median_batch_ms": 1000 * statistics.median(seconds),
                            "output_words_per_sentence": statistics.mean(
                                len(_text(o).split()) for o in outputs
                            ),
                            "machine_load": load.finish(),
                        }
                    )
                    add_work(rows[-1], batches)
                    log(_format(rows[-1]))
            if 64 in batch_sizes:
                # What a user translating a list gets: one call, which groups
                # the sentences by length into batches of 64.
                load = StageLoad()
                totals = []
                for _ in range(repeats):
                    started = time.perf_counter()
                    outputs = model.translate(sources, strategy, batch_size=64)
                    totals.append(time.perf_counter() - started)
                total = statistics.median(totals)
                rows.append(
                    {
                        "strategy": name,
                        "batch_size": 64,
                        "where": "live, one call",
                        "sentences": len(sources),
                        "sentences_per_second": len(sources) / total,
                        "median_batch_ms": None,
                        "output_words_per_sentence": statistics.mean(len(o.split()) for o in outputs),
                        "machine_load": load.finish(),
                    }
                )
                add_work(rows[-1], length_grouped(model, sources, 64))
                log(_format(rows[-1]))

    return rows


def decoding_gflop(model, batches, strategy, work=None):
    """Forward matmul GFLOP that decoding `batches` with `strategy` does; `None` for a backbone not counted.

    What `training.benchmarks.flops.decoding_flops` counts (recurrent
    backbones), from what one untimed pass runs (`DecodingWork`; pass
    `work`, one for `model` and `strategy`, to count with its traced pass).
    """
    import zoo
    from training.benchmarks.flops import decoding_flops

    if not isinstance(model.backbone, zoo.RecurrentSeq2Seq):
        return None
    work = work or DecodingWork(model, strategy)
    return decoding_flops(model.backbone, **work(batches)) / 1e9


def decoding_work(model, batches, strategy):
    """What the decoder runs on `batches` with `strategy` (see `DecodingWork`)."""
    return DecodingWork(model, strategy)(batches)


class DecodingWork:
    """What the decoder runs on batches of sentences, each decoded as one `translate` batch.

    Calling it makes one untimed pass through `model.translate_graph`, with
    the backbone's `next` wrapped to count the rows of every step: each row
    is a sentence (greedy search) or a hypothesis (beam search) still
    decoding, so a finished row no longer counts. The pass is traced on the
    first call and reused by the next ones, which count afresh.

    Calling it with `batches` (lists of sentences) returns a dict:
    `source_tokens` (real source tokens encoded), `row_steps` (decoder steps
    summed over rows) and `attention_cells` (row steps times the batch's
    source width, padding column included).
    """

    def __init__(self, model, strategy):
        import tensorflow as tf

        self.model, self.strategy = model, strategy
        self._rows = tf.Variable(0, dtype=tf.int64, trainable=False)
        self._cells = tf.Variable(0, dtype=tf.int64, trainable=False)
        self._pass = None

    def _trace(self):
        import tensorflow as tf

        model, rows, cells = self.model, self._rows, self._cells
        backbone = model.backbone
        step = backbone.next

        def counted(tokens, cache, position):
            logits, cache = step(tokens, cache, position)
            n = tf.cast(tf.shape(tokens)[0], tf.int64)
            rows.assign_add(n)
            cells.assign_add(n * tf.cast(tf.shape(cache["attention"])[-1], tf.int64))
            return logits, cache

        max_length = model.check_max_length(None)
        seed = tf.constant(self.strategy.call_seed(), tf.int32)
        backbone.next = counted  # an instance attribute, deleted below, shadows the method
        try:
            function = tf.function(
                lambda texts: model.translate_graph(
                    texts, max_length, self.strategy, seed, return_attention=False
                ),
                autograph=False,
            )
            return function.get_concrete_function(tf.TensorSpec([None], tf.string))
        finally:
            del backbone.next

    def __call__(self, batches):
        import tensorflow as tf

        if self._pass is None:
            self._pass = self._trace()
        self._rows.assign(0)
        self._cells.assign(0)
        for batch in batches:
            self._pass(tf.constant(batch, tf.string))
        return {
            "source_tokens": int(sum(self.model.source_lengths(batch).sum() for batch in batches)),
            "row_steps": int(self._rows.numpy()),
            "attention_cells": int(self._cells.numpy()),
        }


def length_grouped(model, sources, batch_size):
    """The batches of sentences one `translate` call over `sources` decodes."""
    from zoo.translation_graph import length_groups

    return [[sources[i] for i in batch] for batch in length_groups(model.source_lengths(sources), batch_size)]


def readable_sources(model, sources):
    """The sources no longer than the model reads (`max_source_length`), in order."""
    import tensorflow as tf

    sources = list(sources)
    lengths = model.preprocessor.source_tokenizer.tokenize(tf.constant(sources)).row_lengths().numpy()
    return [s for s, n in zip(sources, lengths) if n <= model.preprocessor.max_source_length]


def _text(output):
    return output.decode("utf-8") if isinstance(output, bytes) else output


def _format(row):
    median = "" if row["median_batch_ms"] is None else f"median {row['median_batch_ms']:.1f} ms per batch, "
    work = "" if row.get("gflop") is None else f", {row['gflop_per_second']:.0f} GFLOP/s"
    load = row.get("machine_load")
    disturbed = (
        f"  [other processes {load['other_share']:.0%} and steal {load['steal_share']:.0%} of the machine: "
        "less reliable]"
        if notable(load)
        else ""
    )
    return (
        f"{row['strategy']:>7}  batch {row['batch_size']:>3}  {row['where']:>14}: "
        f"{row['sentences_per_second']:8.1f} sentences/s  ({median}{row['output_words_per_sentence']:.1f} words out"
        f"{work}){disturbed}"
    )


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m training.benchmarks.decoding",
        description="Sentences per second for greedy and beam search, at each batch size, live and exported.",
    )
    parser.add_argument("--model", default="zoo-run/preset", help="a preset directory (default: %(default)s)")
    parser.add_argument(
        "--data", help="TSV of pairs whose source column is translated (default: built-in dates)"
    )
    parser.add_argument("--source-column", type=int, default=0, help="default: %(default)s")
    parser.add_argument(
        "--target-column",
        type=int,
        help="the TSV's other column; only the sources are translated (default: 1, or 0 when the source is 1)",
    )
    parser.add_argument(
        "--sentences", type=int, default=1024, help="sentences translated (default: %(default)s)"
    )
    parser.add_argument(
        "--batch-1-sentences",
        type=int,
        default=128,
        help="sentences translated one at a time (default: %(default)s)",
    )
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 64], help="default: 1 64")
    parser.add_argument("--beam-width", type=int, default=4, help="default: %(default)s")
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="passes over the sentences per configuration; the median is reported (default: %(default)s)",
    )
    parser.add_argument("--json", help="also write the figures to this JSON file")
    return parser


if __name__ == "__main__":
    main()
