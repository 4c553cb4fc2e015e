"""What each `zoo` command does, once its arguments are parsed (see `training.cli`).

Each command imports TensorFlow when it runs, not when this module is imported.
"""

import json
import os
import shlex
import sys

from training.cli_arguments import (
    check_data_arguments,
    columns,
    decoding_flags_named,
    decoding_strategy,
    parse_overrides,
)


def run_train(args):
    """`zoo train`: train a preset, then save, evaluate and export it (see `training.train`)."""

    from training.checkpoint import BEST
    from training.config import CHECKPOINT_DIR, TrainConfig
    from training.train import train

    check_data_arguments(args)
    defaults = TrainConfig()
    source_column, target_column = columns(args)
    config = TrainConfig(
        preset=args.preset,
        overrides=parse_overrides(args.overrides),
        data=args.data,
        target_data=args.target_data,
        skip_bad_lines=args.skip_bad_lines,
        source_column=source_column,
        target_column=target_column,
        header=args.header,
        delimiter=args.delimiter,
        corpus=args.corpus or defaults.corpus,
        num_pairs=defaults.num_pairs if args.num_pairs is None else args.num_pairs,
        corpus_options=parse_overrides(args.corpus_set or [], "--corpus-set"),
        valid_data=args.valid_data,
        valid_target_data=args.valid_target_data,
        valid_fraction=args.valid_fraction,
        epochs=args.epochs,
        batch_size=args.batch_size,
        steps_per_epoch=args.steps_per_epoch,
        learning_rate=args.learning_rate,
        schedule=args.schedule,
        warmup_steps=args.warmup_steps,
        label_smoothing=args.label_smoothing,
        monitor=args.monitor,
        patience=args.patience,
        restore_best=args.restore_best,
        bleu_samples=args.bleu_samples,
        multi_reference=args.multi_reference,
        replace_unknown=args.replace_unknown,
        save_every=args.save_every,
        precision=args.precision,
        out=args.out,
        overwrite=args.overwrite,
        seed=args.seed,
        verbose=args.verbose,
    )
    result = train(config)
    print(
        f"\nheld-out exact-match accuracy: {result.exact_match:.1%}, BLEU {result.bleu:.2f} "
        f"(token accuracy {result.valid_accuracy:.1%}, loss {result.valid_loss:.3f})"
    )
    for source, references, translation in result.samples:
        mark = "ok " if translation in (reference.lower() for reference in references) else "   "
        shown = (
            f"reference {references[0]!r}"
            if len(references) == 1
            else f"references {' | '.join(map(repr, references))}"
        )
        print(f"  {mark}{source!r} -> {translation!r}  ({shown})")
    print(f'saved {result.preset_dir}  (zoo translate {result.preset_dir} "...")')
    best = result.best
    model_epoch = result.epochs if result.model_epoch is None else result.model_epoch
    if best and best["epoch"] != model_epoch:  # early stopping, or a later epoch that did worse
        print(
            f"  it is epoch {model_epoch}'s model; epoch {best['epoch']} had the best {best['monitor']} "
            f"({best['value']:.4f}): {os.path.join(args.out, CHECKPOINT_DIR, BEST)} (or train with "
            "--restore-best)"
        )
    print(f"exported {result.export_dir}  (SavedModel, tf.string -> tf.string)")
    print(f"done in {result.seconds:.0f}s")


def run_evaluate(args):
    """`zoo evaluate`: decode held-out pairs with a saved model and print the figures."""

    from training.evaluation import evaluate
    from training.readers import read_pairs

    strategy = decoding_strategy(args)
    check_data_arguments(args)
    source, target = columns(args)
    pairs = read_pairs(
        args.data,
        args.target_data,
        source=source,
        target=target,
        header=args.header,
        errors="skip" if args.skip_bad_lines else "raise",
        delimiter=args.delimiter,
    )
    model = load_for_decoding(args, strategy)
    report = evaluate(
        model,
        pairs,
        batch_size=args.batch_size,
        max_sentences=args.max_sentences,
        strategy=strategy,
        max_length_factor=args.max_length_factor,
        truncate=args.truncate,
        multi_reference=args.multi_reference,
        replace_unknown=args.replace_unknown,
    )
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.summary())


def load_saved(path):
    """The model saved at `path`: a preset directory, as `zoo train` writes `OUT/preset`."""
    import zoo

    if not os.path.isdir(path):
        from zoo.preset_io import not_a_preset_note

        note = not_a_preset_note(path)
        if note:
            raise FileNotFoundError(f"No saved model at {path}.{note}")
        what = "a built-in preset, which has no vocabulary until it is trained" if path in zoo.PRESETS else ""
        raise FileNotFoundError(
            f"No saved model at {path}{f': {what}' if what else ''}. Give a preset directory, such as "
            "the OUT/preset that `zoo train --out OUT` writes."
        )
    return zoo.load(path)


def load_for_decoding(args, strategy):
    """The saved model, with the decoding settings checked against it before any sentence is read.

    A beam's coverage penalty or `--replace-unknown` for a model without
    attention, or a `--max-length` beyond its positions, is refused here,
    not at the first sentence (which, typed at a terminal, would end the
    session after the user typed it).
    """
    model = load_saved(args.model)
    with decoding_flags_named():
        model.check_strategy(strategy)
        model.check_max_length(getattr(args, "max_length", None))
        model.check_replace_unknown(args.replace_unknown)
    return model


def run_translate(args):
    """`zoo translate`: translate the arguments, or standard input a chunk at a time."""

    from zoo import SourceTooLongError

    strategy = decoding_strategy(args)
    if args.plot_attention:
        from zoo.atomic import check_file_target

        check_file_target(args.plot_attention)  # before the work, not after it
    model = load_for_decoding(args, strategy)
    typed = not args.sentences and sys.stdin.isatty()
    if args.sentences:
        for sentence in args.sentences:
            if os.path.isfile(sentence):  # `zoo translate DIR input.txt`: translated as the words it is
                print(
                    f"zoo translate: note: {sentence!r} is a file here and is translated as a sentence; "
                    f"to translate its lines: zoo translate {shlex.quote(args.model)} < {shlex.quote(sentence)}",
                    file=sys.stderr,
                )
        chunks, where = _with_last([(1, args.sentences)]), "argument"
    elif typed:
        print("zoo translate: type a sentence and press Enter; Ctrl-D ends.", file=sys.stderr)
        # Each line as it is typed, without waiting to see whether another follows.
        chunks, where = ((chunk, False) for chunk in _stdin_chunks(1)), "line"
    else:
        chunks, where = _with_last(_stdin_chunks(STDIN_CHUNK)), "standard input, line"
    details = bool(args.attention or args.plot_attention or args.json) or strategy.num_hypotheses > 1
    number_plots = True
    for (first, lines), last in chunks:
        if first == 1 and last and len(lines) == 1:
            number_plots = False  # one sentence: --plot-attention names its file
        try:
            results = model.translate(
                lines,
                strategy,
                max_length=args.max_length,
                max_length_factor=args.max_length_factor,
                return_attention=details,
                truncate=args.truncate,
                replace_unknown=args.replace_unknown,
            )
        except SourceTooLongError as e:  # named by its line (or argument), counted from 1
            message = (
                f"{where} {first + e.index}: the sentence has {e.length} tokens; this model reads at most "
                f"{e.limit} (max_source_length). To translate its first {e.limit}, as the export does, "
                "add --truncate."
            )
            if not typed:
                raise ValueError(message) from None
            print(f"zoo translate: error: {message}", file=sys.stderr)  # typed: the session goes on
            continue
        for number, hypotheses in enumerate(results, start=first):
            if args.json:
                _print_json(args, lines[number - first], hypotheses, number if number_plots else None)
                continue
            _print_translation(args, hypotheses, number if number_plots else None)
            if strategy.num_hypotheses > 1 and not (last and number == first + len(results) - 1):
                print()
        sys.stdout.flush()  # each chunk as it is done


# Lines of standard input translated together: 16 batches, enough for the
# grouping by length to pay, few enough that the output streams and the
# memory stays bounded however long the input.
STDIN_CHUNK = 1024


def _stdin_chunks(size):
    """`(number of the first line, lines)` for each `size` lines of standard input.

    The lines are read as UTF-8 whatever the locale, a leading BOM dropped.
    """
    from training.readers import split_line_ends

    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:  # a text stream put in its place (a StringIO, say): already decoded
        stream = (line.encode("utf-8", "surrogateescape") for line in sys.stdin)
    lines, first, number = [], 1, 0
    for raw in stream:
        for line in split_line_ends(raw):  # as the file readers read lines: one out per line in
            number += 1
            try:
                lines.append(line.decode("utf-8-sig" if number == 1 else "utf-8"))
            except UnicodeDecodeError as e:
                raise ValueError(
                    f"standard input, line {number}: not UTF-8 text ({e.reason} at byte {e.start}); "
                    "convert it first, such as with `iconv -f WINDOWS-1252 -t UTF-8`."
                ) from None
            if len(lines) == size:
                yield first, lines
                lines, first = [], number + 1
    if lines:
        yield first, lines


def _with_last(items):
    """`(item, whether it is the last)` for each item, reading one ahead."""
    items = iter(items)
    previous = next(items, _NOTHING)
    while previous is not _NOTHING:
        following = next(items, _NOTHING)
        yield previous, following is _NOTHING
        previous = following


_NOTHING = object()


def _print_json(args, source, hypotheses, plot_number):
    """One sentence's translation as one line of JSON, as the export's signature names its outputs."""
    hypotheses = hypotheses if isinstance(hypotheses, list) else [hypotheses]
    best = hypotheses[0]
    record = {"source": source, "translation": best.text, "score": float(best.score)}
    if len(hypotheses) > 1:
        record["n_best"] = [result.text for result in hypotheses]
        record["n_best_scores"] = [float(result.score) for result in hypotheses]
    if args.attention:
        record["source_tokens"] = best.source_tokens
        record["output_tokens"] = best.output_tokens
        record["attention"] = best.attention.tolist()
    if args.plot_attention:
        record["attention_plot"] = _plot(args, best, plot_number)
    print(json.dumps(record, ensure_ascii=False))


def _plot(args, translation, plot_number):
    """Save `translation`'s attention plot; its path, or None for an empty sentence among several."""
    from training.plots import plot_attention

    path = args.plot_attention
    if plot_number is not None:
        if not translation.source_tokens:
            return None  # one blank line stops no file
        stem, extension = os.path.splitext(path)
        path = f"{stem}-{plot_number}{extension or '.png'}"
    plot_attention(translation, path)
    return path


def _print_translation(args, hypotheses, plot_number):
    """One sentence's translation (or n-best list), with its attention if asked for."""
    if not isinstance(hypotheses, list):
        hypotheses = [hypotheses]
    for rank, result in enumerate(hypotheses, start=1):
        if isinstance(result, str):
            print(result)
            continue
        print(result.text if len(hypotheses) == 1 else f"{rank}. {result.text}  (score {result.score:.3f})")
        if args.attention:
            pairs = ", ".join(f"{out}<-{src}" for out, src in result.alignment())
            print(f"  attention: {pairs}  (score {result.score:.3f})")
    if args.plot_attention:
        path = _plot(args, hypotheses[0], plot_number)
        print(f"  attention plot: {path}" if path else "  attention plot: none, the sentence is empty")


def run_export(args):
    """`zoo export`: write a saved model as a SavedModel that maps strings to strings."""

    strategy = decoding_strategy(args)
    load_for_decoding(args, strategy).export(
        args.out,
        max_length=args.max_length,
        max_length_factor=args.max_length_factor,
        strategy=strategy,
        return_attention=args.attention,
        replace_unknown=args.replace_unknown,
    )
    print(f"exported {args.out}  ({strategy})")


def run_presets(args):
    """`zoo presets`: the built-in presets, with their parameter counts."""

    import zoo

    header = ("preset", "architecture", f"params@{args.vocabulary_size}", "description")
    rows = [
        (
            name,
            zoo.architecture(name),
            f"{zoo.parameter_count(name, args.vocabulary_size):,}",
            spec["description"],
        )
        for name, spec in zoo.PRESETS.items()
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(3)]
    for row in [header, *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)) + "  " + row[3])
