"""Readers that turn files and lists into `TextPairs`."""

import os

from training.text_pairs import TextPairs

ERROR_MODES = ("raise", "skip")


def load_tsv(path, source=0, target=1, delimiter="\t", errors="raise"):
    """Read text pairs from a delimited file, one pair per line.

    The Anki `spa.txt` layout (`english<TAB>spanish<TAB>attribution`) reads
    Spanish -> English with `source=1, target=0`. Blank lines are ignored.

    Args:
        path: the file, UTF-8 (a leading byte-order mark is ignored).
        source: column index (from 0) of the source sentence.
        target: column index of the target sentence.
        delimiter: the column separator.
        errors: `"raise"` to stop at the first bad line (missing column,
            empty side), `"skip"` to leave such lines out.

    Returns:
        `TextPairs`.

    Raises:
        FileNotFoundError: no file at `path`.
        ValueError: a bad line (with its number) or a file with no pairs.
    """
    if errors not in ERROR_MODES:
        raise ValueError(f"`errors` must be one of {ERROR_MODES}, received {errors!r}.")
    if min(source, target) < 0 or source == target:
        raise ValueError(
            f"`source` and `target` must be two different column indices >= 0; "
            f"received source={source}, target={target}."
        )
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No such data file: {path}")
    sources, targets = [], []
    needed = max(source, target) + 1
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            # Decoded line by line, so an encoding error names its line.
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8").rstrip("\r\n")
            except UnicodeDecodeError as e:
                raise ValueError(f"{path}, line {number}: not valid UTF-8 ({e.reason}).") from None
            if not line.strip():
                continue
            columns = line.split(delimiter)
            problem = None
            if len(columns) < needed:
                problem = (
                    f"has {len(columns)} column(s), needs at least {needed} "
                    f"(source column {source}, target column {target})"
                )
            elif not columns[source].strip() or not columns[target].strip():
                side = "source" if not columns[source].strip() else "target"
                problem = f"has an empty {side} sentence"
            if problem:
                if errors == "raise":
                    raise ValueError(f"{path}, line {number}: the line {problem}: {line[:80]!r}")
                continue
            sources.append(columns[source].strip())
            targets.append(columns[target].strip())
    if not sources:
        raise ValueError(f"{path}: no text pairs found (the file is empty or every line was skipped).")
    return TextPairs(sources, targets)


def from_lists(sources, targets):
    """`TextPairs` from two aligned lists of strings."""
    return TextPairs(sources, targets)
