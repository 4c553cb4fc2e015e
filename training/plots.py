"""PNG plots with matplotlib: attention weights, training curves and scores by sentence length."""

import csv
import os
from collections.abc import Sequence

import keras
import numpy as np

from zoo.atomic import atomic_file
from zoo.translation import Translation


def plot_attention(translation: Translation, path: str | os.PathLike, title: str | None = None) -> None:
    """Save the attention of one translation as a PNG heat map.

    Source tokens run across, output tokens down; cell `(i, j)` is how much
    output token `i` attended to source token `j`.

    Args:
        translation: a `zoo.Translation` (`model.translate(..., return_attention=True)`).
        path: the PNG file to write (replaced atomically).
        title: optional title; the source and translation by default.
    """
    if not isinstance(translation, Translation):
        hint = ": pass one of its items" if isinstance(translation, (list, tuple)) else ""
        raise TypeError(
            "`plot_attention` takes one zoo.Translation, as `model.translate(sentence, "
            f"return_attention=True)` returns it; received a {type(translation).__name__}{hint}."
        )
    if translation.attention.size == 0 or not np.any(translation.attention):
        raise ValueError(
            "This translation has no attention weights to plot: the model has no attention "
            "or the sentence is empty."
        )
    plt = _pyplot()
    source, output = translation.readable_tokens()
    figure, axes = plt.subplots(figsize=(1.2 + 0.45 * len(source), 1.2 + 0.4 * len(output)))
    image = axes.imshow(translation.attention, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    axes.set_xticks(range(len(source)), source, rotation=90)
    axes.set_yticks(range(len(output)), output)
    axes.xaxis.tick_top()
    axes.set_xlabel("source")
    axes.set_ylabel("output")
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04)
    axes.set_title(title or translation.text, pad=12 + 6 * max(len(t) for t in source))
    _save(figure, path)


def plot_history(
    history: keras.callbacks.History | dict | str | os.PathLike,
    path: str | os.PathLike,
    validation_freq: int | Sequence[int] = 1,
) -> None:
    """Save the training curves (loss, accuracy, perplexity, BLEU: train and validation) as a PNG.

    Each value is plotted at its own epoch: a `fit(initial_epoch=...)`
    history starts where it started, and validation values sit at the
    epochs that were validated.

    Args:
        history: a `keras.callbacks.History`, its `.history` dict, or the
            path of a `history.csv` written by `keras.callbacks.CSVLogger`
            (a resumed run's appended rows included).
        path: the PNG file to write (replaced atomically).
        validation_freq: the `validation_freq` that `fit` was given (an int,
            or the list of 1-based epochs), needed only to place a History's
            validation values when there are fewer of them than epochs; a
            CSV file marks its unvalidated epochs itself.
    """
    logs = _history_points(history, validation_freq)
    names = [
        n
        for n in ("loss", "accuracy", "perplexity", "bleu", "tokens_per_second")
        if n in logs or f"val_{n}" in logs
    ]
    if not names or not any(epochs for epochs, _ in logs.values()):
        raise ValueError("The history holds no epochs to plot.")
    plt = _pyplot()
    figure, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3.2), squeeze=False)
    for axis, name in zip(axes[0], names):
        # Fixed colours: a panel with validation values only (val_bleu) shows them as the others do.
        for key, label, color in ((name, "train", "C0"), (f"val_{name}", "validation", "C1")):
            if key in logs:
                epochs, values = logs[key]
                axis.plot(epochs, values, marker="o", label=label, color=color)
        axis.set_title(name.replace("_", " "))
        axis.set_xlabel("epoch")
        axis.xaxis.set_major_locator(_integer_ticks())
        axis.grid(alpha=0.3)
        axis.legend()
    figure.tight_layout()
    _save(figure, path)


def plot_by_length(
    series: dict[str, list[tuple[str, float | None]]],
    path: str | os.PathLike,
    ylabel: str,
    title: str | None = None,
) -> None:
    """Save one line per model of a score by source-length bucket as a PNG.

    Args:
        series: `{label: [(bucket_label, value), ...]}`, the same buckets in
            the same order for every label; a value of None is left out.
        path: the PNG file to write (replaced atomically).
        ylabel: what the values are ("BLEU", "exact match (%)").
        title: optional title.
    """
    if not series or not any(points for points in series.values()):
        raise ValueError("Nothing to plot: no series with buckets.")
    buckets = [label for label, _ in next(iter(series.values()))]
    for name, points in series.items():
        if [label for label, _ in points] != buckets:
            raise ValueError(f"Series {name!r} has buckets {[b for b, _ in points]}; expected {buckets}.")
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(6.4, 4.0))
    for name, points in series.items():
        kept = [(i, value) for i, (_, value) in enumerate(points) if value is not None]
        axes.plot([i for i, _ in kept], [v for _, v in kept], marker="o", label=name)
    axes.set_xticks(range(len(buckets)), buckets)
    axes.set_xlabel("source length (words)")
    axes.set_ylabel(ylabel)
    axes.set_ylim(bottom=0)
    axes.grid(alpha=0.3)
    axes.legend()
    if title:
        axes.set_title(title)
    figure.tight_layout()
    _save(figure, path)


def _history_points(history, validation_freq):
    """`{name: (epochs, values)}`, 1-based epochs, from a History, its dict or a CSVLogger file."""
    if hasattr(history, "history"):
        return _place(dict(history.history), [e + 1 for e in history.epoch], validation_freq)
    if isinstance(history, dict):
        return _place(history, None, validation_freq)
    return _csv_points(os.fspath(history))


def _place(logs, epochs, validation_freq):
    if epochs is None:  # a bare dict: epochs 1..n, n from the training values
        lengths = [len(v) for k, v in logs.items() if not k.startswith("val_")] or [
            len(v) for v in logs.values()
        ]
        epochs = list(range(1, max(lengths, default=0) + 1))
    validated = [e for e in epochs if _validates(e, validation_freq)]
    points = {}
    for key, values in logs.items():
        values = list(values)
        if len(values) == len(epochs):
            points[key] = (epochs, values)
        elif key.startswith("val_") and len(values) == len(validated):
            points[key] = (validated, values)
        else:
            raise ValueError(
                f"The history has {len(values)} values of {key!r} for {len(epochs)} epochs"
                + (
                    f" ({len(validated)} validated with validation_freq={validation_freq!r}): pass "
                    "plot_history the `validation_freq` that `fit` was given."
                    if key.startswith("val_")
                    else "; expected one per epoch."
                )
            )
    return points


def _validates(epoch, validation_freq):
    """Whether Keras' `fit` validates after 1-based `epoch` (its own rule)."""
    if isinstance(validation_freq, int) and not isinstance(validation_freq, bool) and validation_freq > 0:
        return epoch % validation_freq == 0
    if isinstance(validation_freq, (list, tuple, set, range)):
        return epoch in validation_freq
    raise ValueError(
        f"validation_freq must be a positive int or a list of epochs, as `fit` takes it; "
        f"received {validation_freq!r}."
    )


def _csv_points(path):
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No training history at {path}.")
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    if not rows:
        raise ValueError(f"{path} holds no epochs.")
    if "epoch" not in reader.fieldnames:
        raise ValueError(
            f"{path} has no 'epoch' column (it has {reader.fieldnames}); expected a file "
            "written by keras.callbacks.CSVLogger."
        )
    by_epoch = {}  # a resumed run may log an epoch again: the last row is the run that went on
    for line, row in enumerate(rows, start=2):
        values = {}
        for key, text in row.items():
            if key == "epoch" or text in ("", "NA", None):  # NA: CSVLogger's mark for an epoch not validated
                continue
            try:
                values[key] = float(text)
            except (TypeError, ValueError):
                raise ValueError(
                    f"{path}, line {line}: {key} is {text!r}; expected a number or NA."
                ) from None
        try:
            epoch = int(row["epoch"]) + 1
        except (TypeError, ValueError):
            raise ValueError(
                f"{path}, line {line}: epoch is {row['epoch']!r}; expected an integer."
            ) from None
        by_epoch[epoch] = values
    points = {}
    for epoch in sorted(by_epoch):
        for key, value in by_epoch[epoch].items():
            epochs, values = points.setdefault(key, ([], []))
            epochs.append(epoch)
            values.append(value)
    return points


def _integer_ticks():
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt

    return plt


def _save(figure, path):
    plt = _pyplot()
    try:
        with atomic_file(path) as staging:
            figure.savefig(staging, dpi=120, bbox_inches="tight", format="png")
    finally:
        plt.close(figure)
