"""Readers that turn files and lists into `TextPairs`.

Every reader reports a bad line with the file and the line number, and takes
`errors="raise"` (stop there) or `errors="skip"` (leave the line out, and
warn once with the count). Files compressed with gzip, bzip2 or xz are read
as they are (known by their first bytes, whatever their names). A path may be
a pipe (`/dev/stdin`, the shell's `<(zcat x.gz)`): each file is read once.
"""

import bz2
import codecs
import contextlib
import csv
import gzip
import io
import itertools
import lzma
import os
import warnings
import zipfile
import zlib
from collections.abc import Sequence

from training.text_pairs import TextPairs

ERROR_MODES = ("raise", "skip")

# How each compressed format's files begin, and what reads them.
COMPRESSIONS = {
    "gzip": (b"\x1f\x8b", gzip.open),
    "bzip2": (b"BZh", bz2.open),
    "xz": (b"\xfd7zXZ\x00", lzma.open),
}
# How a zip archive begins (the Anki corpora come as `spa-eng.zip`): it holds files, not text.
ZIP_MAGIC = b"PK\x03\x04"


def load_tsv(
    path: str | os.PathLike,
    source: int | str = 0,
    target: int | str = 1,
    header: bool = False,
    delimiter: str = "\t",
    errors: str = "raise",
) -> TextPairs:
    """Read text pairs from a delimited file, one pair per line, no quoting.

    The Anki `spa.txt` layout (`english<TAB>spanish<TAB>attribution`) reads
    Spanish -> English with `source=1, target=0`. Blank lines are ignored.

    Args:
        path: the file, UTF-8 (a leading byte-order mark is ignored), or
            that compressed with gzip, bzip2 or xz.
        source: column index (from 0) of the source sentence, or its name
            with `header=True`.
        target: the target sentence's column, likewise.
        header: whether the first line names the columns (it is not a pair).
        delimiter: the column separator.
        errors: `"raise"` to stop at the first bad line (missing column,
            empty side, bad UTF-8), `"skip"` to leave such lines out.

    Returns:
        `TextPairs`.

    Raises:
        FileNotFoundError: no file at `path`.
        ValueError: a bad line (with its number) or a file with no pairs.
    """
    lines = (line for line in _lines(path, errors) if line[1].strip())
    if header:
        names = next(lines, (None, None))[1]
        if names is None:
            raise ValueError(f"{path}: the file is empty; expected a header row.")
        names = [name.strip() for name in names.split(delimiter)]
        source, target = (_column_index(path, names, column) for column in (source, target))
    _check_columns(source, target)
    rows = ((number, line.split(delimiter)) for number, line in lines)
    return _collect(path, rows, source, target, errors, delimiter)


def load_csv(
    path: str | os.PathLike,
    source: int | str = 0,
    target: int | str = 1,
    header: bool = False,
    delimiter: str = ",",
    errors: str = "raise",
) -> TextPairs:
    """Read text pairs from a CSV file (RFC 4180 quoting, via Python's `csv`).

    Args:
        path: the file, UTF-8.
        source, target: column indices from 0, or column names when
            `header=True`.
        header: whether the first row names the columns.
        delimiter: the column separator.
        errors: `"raise"` or `"skip"` (see `load_tsv`).

    Returns:
        `TextPairs`.
    """
    lines = _lines(path, errors)
    if header:
        names = next(csv.reader(line for _, line in itertools.islice(lines, 1)), None)
        if names is None:
            raise ValueError(f"{path}: the file is empty; expected a header row.")
        source, target = (_column_index(path, names, column) for column in (source, target))
    _check_columns(source, target)
    numbered = list(lines)
    # Each line with its end given back: a quoted field that spans lines
    # keeps its line break, where csv would glue "one" and "two" into "onetwo".
    reader = csv.reader((line + "\n" for _, line in numbered), delimiter=delimiter)
    # csv.reader may join quoted lines; line_num says where a row ended.
    offset = numbered[0][0] - 1 if numbered else 0
    rows = ((offset + reader.line_num, row) for row in reader if any(cell.strip() for cell in row))
    return _collect(path, rows, source, target, errors, delimiter)


def load_aligned(
    source_path: str | os.PathLike, target_path: str | os.PathLike, errors: str = "raise"
) -> TextPairs:
    """Read two aligned files: line `i` of the target translates line `i` of the source.

    Args:
        source_path, target_path: UTF-8 files, one sentence per line.
        errors: `"raise"` or `"skip"` for lines with an empty side or bad
            UTF-8. Files of different lengths are always an error: the
            alignment would be wrong from the first missing line on.

    Returns:
        `TextPairs`.
    """
    source_lines = list(_lines(source_path, errors))
    target_lines = list(_lines(target_path, errors))
    if len(source_lines) != len(target_lines):
        raise ValueError(
            f"{source_path} has {len(source_lines)} lines but {target_path} has "
            f"{len(target_lines)}; aligned files need one line per sentence on both sides."
        )
    rows = ((number, [s, t]) for (number, s), (_, t) in zip(source_lines, target_lines))
    return _collect(f"{source_path} / {target_path}", rows, 0, 1, errors)


def read_pairs(
    data: str | os.PathLike,
    target_data: str | os.PathLike | None = None,
    source: int | str = 0,
    target: int | str = 1,
    header: bool = False,
    errors: str = "raise",
    delimiter: str | None = None,
) -> TextPairs:
    """The reader a path asks for: aligned files, CSV (`.csv`) or TSV (anything else).

    Args:
        data: a TSV or CSV file of pairs, or with `target_data` the source
            side of two aligned files.
        target_data: the target side of two aligned files, or None.
        source, target: column indices for TSV/CSV, or names with `header`.
        header: whether the first line of a TSV/CSV file names its columns.
        errors: `"raise"` or `"skip"`.
        delimiter: the column separator of a TSV/CSV file, one character
            (such as `";"`, which spreadsheets write in many locales);
            `None` for the reader's own (a tab, or `","` for CSV).
    """
    for name, value in (("header", header), ("delimiter", delimiter)):
        if target_data is not None and value not in (False, None):
            raise ValueError(f"`{name}` is for a TSV or CSV file; aligned files hold sentences only.")
    if target_data is not None:
        return load_aligned(data, target_data, errors=errors)
    name, extension = os.path.splitext(str(data).lower())
    if extension in (".gz", ".bz2", ".xz"):
        extension = os.path.splitext(name)[1]  # train.csv.gz is CSV
    read = load_csv if extension == ".csv" else load_tsv
    separator = {} if delimiter is None else {"delimiter": check_delimiter(delimiter)}
    return read(data, source=source, target=target, header=header, errors=errors, **separator)


def check_delimiter(delimiter: str) -> str:
    """`delimiter` if it is one character that can separate columns, else a `ValueError`."""
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in '\r\n"':
        raise ValueError(
            f"`delimiter` must be one character other than a line break or '\"', received {delimiter!r}."
        )
    return delimiter


def from_lists(sources: Sequence[str], targets: Sequence[str], errors: str = "raise") -> TextPairs:
    """`TextPairs` from two aligned lists of strings.

    Args:
        sources: source sentences.
        targets: target sentences, as many as `sources`.
        errors: `"raise"` for a pair with an empty side (empty, or only
            whitespace and NULs, which tokenize to nothing), which nothing
            can be learned from or scored against; `"skip"` to leave such
            pairs out, with one warning that counts them.
    """
    if errors not in ERROR_MODES:
        raise ValueError(f"`errors` must be one of {ERROR_MODES}, received {errors!r}.")
    pairs = TextPairs(sources, targets)
    empty = [i for i, pair in enumerate(pairs) if _empty_side(*pair)]
    if not empty:
        return pairs
    if errors == "raise":
        source, target = pairs[empty[0]]
        raise ValueError(
            f"{len(empty)} of {len(pairs)} pairs have an empty side; the first is pair {empty[0]}: "
            f'({source!r}, {target!r}). Pass `errors="skip"` to leave such pairs out.'
        )
    if len(empty) == len(pairs):
        raise ValueError(f"No text pairs left: all {len(pairs)} have an empty side.")
    warnings.warn(f"skipped {len(empty)} pair(s) with an empty side.", stacklevel=2)
    kept = [pair for pair in pairs if not _empty_side(*pair)]
    return TextPairs([source for source, _ in kept], [target for _, target in kept])


# Column separators that files of pairs use: one of these in a line that is
# short of columns is most likely what separates them.
SEPARATORS = {"\t": "tab", ",": "','", ";": "';'", "|": "'|'"}


def _separator_hint(line, delimiter, needed):
    """`". Its columns may be separated by ';' ..."` for a line short of columns, or `""`."""
    if delimiter is None:
        return ""
    for separator, shown in SEPARATORS.items():
        if separator != delimiter and line.count(separator) >= needed - 1:
            return (
                f". Its columns may be separated by {separator!r}, not {delimiter!r}: read it with "
                f"delimiter={separator!r} (zoo: --delimiter {shown})"
            )
    return ""


def _empty_side(source, target):
    """`"source"` or `"target"`, whichever is empty or blank (the source if both), else `None`."""
    return "source" if _blank(source) else "target" if _blank(target) else None


# What the tokenizers' standardization (`zoo.tokenizer.standardize`, which
# this light module cannot import) deletes or makes a space: a side of
# these and whitespace alone has no tokens.
_NO_TOKENS = dict.fromkeys(map(ord, "\x00\x01"))


def _blank(text):
    return not text.translate(_NO_TOKENS).strip()


def _check_columns(source, target):
    for column in (source, target):
        if isinstance(column, str):
            raise ValueError(
                f"The column {column!r} is a name: names need a header row (`header=True`, "
                "`--header`); without one, give column indices from 0."
            )
    if min(source, target) < 0 or source == target:
        raise ValueError(
            f"`source` and `target` must be two different column indices >= 0; "
            f"received source={source}, target={target}."
        )


def _column_index(path, names, column):
    if isinstance(column, int):
        return column
    if column not in names:
        raise ValueError(f"{path}: no column named {column!r}; the header has {names}.")
    return names.index(column)


def _lines(path, errors):
    """`(line number, text)` for each line, decoded one by one so an error names its line."""
    if errors not in ERROR_MODES:
        raise ValueError(f"`errors` must be one of {ERROR_MODES}, received {errors!r}.")
    given, path = path, os.path.expanduser(os.fspath(path))  # "~/data.tsv", as open() would not
    if os.path.isdir(path):
        raise IsADirectoryError(
            f"{given} is a directory; expected a data file (TSV, CSV or one sentence per line)."
        )
    if not os.path.exists(path):
        remote = "://" in os.fspath(path)
        raise FileNotFoundError(
            f"No such data file: {given}"
            + ("; a URL is not read: download the file first." if remote else "")
        )
    skipped, number = 0, 0
    with _open(path) as (compression, f):
        lines = iter(f)
        while True:
            try:
                raw = next(lines)
            except StopIteration:
                break
            except (EOFError, OSError, lzma.LZMAError, zlib.error) as e:
                if compression is None:
                    raise
                where = f"after line {number}" if number else "before its first line"
                raise ValueError(
                    f"{path}: the {compression} data is broken {where} ({e}); "
                    "the file may be cut short or damaged."
                ) from None
            for line in split_line_ends(raw):
                number += 1
                try:
                    yield number, line.decode("utf-8-sig" if number == 1 else "utf-8")
                except UnicodeDecodeError as e:
                    if errors == "raise":
                        raise ValueError(
                            f"{path}, line {number}: not valid UTF-8 ({e.reason} at byte {e.start}: "
                            f"{line[max(0, e.start - 12) : e.start + 4]!r}); expected UTF-8 text. Convert "
                            "a file in another encoding first, such as with `iconv -f WINDOWS-1252 -t UTF-8`."
                        ) from None
                    skipped += 1
    if skipped:
        warnings.warn(f"{path}: skipped {skipped} line(s) that are not valid UTF-8.", stacklevel=3)


def split_line_ends(raw: bytes) -> list[bytes]:
    """The lines of `raw`, one line of a binary stream, without their ends.

    A lone CR ends a line too, as in Python's universal newlines: a file
    from classic Mac OS, read as one line, was one pair and the rest lost.
    (No byte of a UTF-8 character but CR itself is 0x0D.)
    """
    return raw.rstrip(b"\r\n").split(b"\r")


@contextlib.contextmanager
def _open(path):
    """`(compression or None, binary file)`, a compressed file read through its decompressor.

    The first bytes are read once and put back in front of the rest, so a pipe,
    which cannot be opened twice or rewound, reads whole.
    """
    with open(path, "rb") as raw:
        head = raw.read(8)
        f = io.BufferedReader(_Prefixed(head, raw), buffer_size=1 << 16)
        if head.startswith(ZIP_MAGIC):
            raise ValueError(
                f"{path} is a zip archive{_zip_members(path)}: unzip it and give the file of pairs."
            )
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise ValueError(
                f"{path} is UTF-16 text (it begins with a UTF-16 byte-order mark); expected UTF-8. "
                "Save it as UTF-8 (such as `iconv -f UTF-16 -t UTF-8`)."
            )
        for compression, (magic, open_compressed) in COMPRESSIONS.items():
            if head.startswith(magic):
                with open_compressed(f, "rb") as decompressed:
                    yield compression, decompressed
                return
        yield None, f


def _zip_members(path):
    """`" holding a.txt, b.txt"` for a zip file's members, or `""` where they cannot be listed."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = [info.filename for info in archive.infolist() if not info.is_dir()]
    except (OSError, zipfile.BadZipFile):  # a pipe cannot be listed without reading it all
        return ""
    return f" holding {', '.join(names[:5])}{', ...' if len(names) > 5 else ''}" if names else ""


class _Prefixed(io.RawIOBase):
    """A binary stream: `head`, then the rest of the open file `f`."""

    def __init__(self, head, f):
        self._head, self._f = head, f

    def readable(self):
        return True

    def readinto(self, buffer):
        if not self._head:
            return self._f.readinto(buffer)
        n = min(len(buffer), len(self._head))
        buffer[:n], self._head = self._head[:n], self._head[n:]
        return n


def _collect(path, rows, source, target, errors, delimiter=None):
    """`TextPairs` from `(line number, columns)` rows; bad rows raise or are skipped.

    `delimiter` is the separator the columns were split at, for the message
    (`None`: aligned files, whose two columns are two files).
    """
    sources, targets, skipped = [], [], 0
    needed = max(source, target) + 1
    for number, columns in rows:
        problem = None
        if len(columns) < needed:
            problem = (
                f"has {len(columns)} column(s), needs at least {needed} "
                f"(source column {source}, target column {target})"
            )
        elif side := _empty_side(columns[source], columns[target]):
            problem = f"has an empty {side} sentence"
        if problem:
            if errors == "raise":
                line = (delimiter or "\t").join(columns)
                hint = _separator_hint(line, delimiter, needed) if len(columns) < needed else ""
                raise ValueError(f"{path}, line {number}: the line {problem}: {line[:80]!r}{hint}")
            skipped += 1
            continue
        sources.append(columns[source].strip())
        targets.append(columns[target].strip())
    if skipped:
        warnings.warn(f"{path}: skipped {skipped} malformed line(s).", stacklevel=3)
    if not sources:
        raise ValueError(f"{path}: no text pairs found (the file is empty or every line was skipped).")
    return TextPairs(sources, targets)
