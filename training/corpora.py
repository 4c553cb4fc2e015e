"""Built-in corpora, generated on the fly: no download, same pairs for the same seed."""

import datetime
import inspect
import random
from collections.abc import Callable

from training.text_pairs import TextPairs

MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
MONTHS_ES = [
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _ordinal(day):
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


# How a date can be written. Day-month order is never ambiguous: numeric
# forms are year-first or use dots (day.month.year, the European habit).
DATE_FORMATS = (
    lambda d: f"{MONTHS[d.month - 1]} {d.day}, {d.year}",
    lambda d: f"{d.day} {MONTHS[d.month - 1]} {d.year}",
    lambda d: f"{MONTHS[d.month - 1][:3]} {d.day} {d.year}",
    lambda d: f"{d.day} {MONTHS[d.month - 1][:3].lower()} {d.year}",
    lambda d: f"{WEEKDAYS[d.weekday()]}, {MONTHS[d.month - 1]} {d.day}, {d.year}",
    lambda d: f"{WEEKDAYS[d.weekday()][:3]} {d.day} {MONTHS[d.month - 1][:3]} {d.year}",
    lambda d: f"the {_ordinal(d.day)} of {MONTHS[d.month - 1]} {d.year}",
    lambda d: f"{MONTHS[d.month - 1]} {_ordinal(d.day)}, {d.year}",
    lambda d: f"{d.day:02d}.{d.month:02d}.{d.year}",
    lambda d: f"{d.day}.{d.month}.{d.year}",
    lambda d: f"{d.year}/{d.month:02d}/{d.day:02d}",
    lambda d: f"{d.day} de {MONTHS_ES[d.month - 1]} de {d.year}",
    lambda d: f"{MONTHS[d.month - 1].upper()} {d.day} {d.year}",
)


def dates(num_pairs: int = 20000, seed: int = 0, first_year: int = 1950, last_year: int = 2049) -> TextPairs:
    """Dates written in many human formats -> ISO 8601 (`2021-03-04`).

    The purpose: a task that trains in a minute on a CPU, where the right
    alignment is known (the day attends to the day, the month name to the
    month digits), so attention plots can be checked by eye.

    Args:
        num_pairs: int, how many pairs.
        seed: int; the same seed gives the same pairs.
        first_year, last_year: the range of years drawn from.

    Returns:
        `TextPairs` of (written date, ISO date).
    """
    _check_count(num_pairs)
    if first_year > last_year or first_year < 1:
        raise ValueError(f"Invalid year range: {first_year}..{last_year}.")
    rng = random.Random(seed)
    start = datetime.date(first_year, 1, 1).toordinal()
    end = datetime.date(last_year, 12, 31).toordinal()
    sources, targets = [], []
    for _ in range(num_pairs):
        date = datetime.date.fromordinal(rng.randint(start, end))
        sources.append(rng.choice(DATE_FORMATS)(date))
        targets.append(date.isoformat())
    return TextPairs(sources, targets)


_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen "
    "fourteen fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ((10**9, "billion"), (10**6, "million"), (1000, "thousand"))


def number_to_words(n):
    """English words for a whole number in `[0, 10**12)`: 4021 -> "four thousand twenty-one"."""
    if not 0 <= n < 10**12:
        raise ValueError(f"number_to_words covers 0 to 999,999,999,999; received {n}.")
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else "-" + _ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return _ONES[n // 100] + " hundred" + ("" if rest == 0 else " " + number_to_words(rest))
    for scale, name in _SCALES:
        if n >= scale:
            rest = n % scale
            return (
                number_to_words(n // scale) + f" {name}" + ("" if rest == 0 else " " + number_to_words(rest))
            )
    raise AssertionError("unreachable")


def numbers(num_pairs: int = 20000, seed: int = 0, max_digits: int = 9) -> TextPairs:
    """Numbers in digits, grouped by thousands -> English words.

    The purpose: the output is longer than the input and its length varies
    with the number's shape, so it measures generation of longer sequences
    with a known monotonic alignment (each group of three digits to its
    words). Groups are separated by spaces, the SI/ISO 31-0 way of writing
    "73 383 683", so a word tokenizer sees at most 1,000 distinct groups.
    Digit counts are drawn uniformly, so large and small numbers are
    equally common.

    Args:
        num_pairs: int, how many pairs.
        seed: int; the same seed gives the same pairs.
        max_digits: int in `[1, 12]`, the longest number.

    Returns:
        `TextPairs` of ("4 021", "four thousand twenty-one").
    """
    _check_count(num_pairs)
    if not 1 <= max_digits <= 12:
        raise ValueError(f"`max_digits` must be in [1, 12], received {max_digits}.")
    rng = random.Random(seed)
    sources, targets = [], []
    for _ in range(num_pairs):
        digits = rng.randint(1, max_digits)
        n = rng.randint(0 if digits == 1 else 10 ** (digits - 1), 10**digits - 1)
        sources.append(f"{n:,}".replace(",", " "))
        targets.append(number_to_words(n))
    return TextPairs(sources, targets)


# Symbols for copy/reverse: short distinct words, so the word tokenizer
# gives one token per symbol.
SYMBOLS = tuple("abcdefghijklmnopqrstuvwxyz")


def copy(
    num_pairs: int = 20000, seed: int = 0, min_length: int = 1, max_length: int = 20, num_symbols: int = 20
) -> TextPairs:
    """Random symbol sequences -> the same sequence.

    The purpose: a task with no ambiguity whose difficulty is only its
    length, so exact-match accuracy by length shows how far a model carries
    information (a fixed context vector forgets long inputs; attention looks
    them up). Lengths are drawn uniformly from `[min_length, max_length]`.

    Args:
        num_pairs: int, how many pairs.
        seed: int; the same seed gives the same pairs.
        min_length, max_length: the range of sequence lengths, in symbols.
        num_symbols: int in `[2, 26]`, the size of the alphabet.

    Returns:
        `TextPairs` of ("c a f", "c a f").
    """
    return _symbol_pairs(num_pairs, seed, min_length, max_length, num_symbols, reverse=False)


def reverse(
    num_pairs: int = 20000, seed: int = 0, min_length: int = 1, max_length: int = 20, num_symbols: int = 20
) -> TextPairs:
    """Random symbol sequences -> the sequence reversed ("c a f" -> "f a c").

    Like `copy`, but the first output symbol depends on the last input
    symbol: the longest-range dependency a sequence of that length has.
    """
    return _symbol_pairs(num_pairs, seed, min_length, max_length, num_symbols, reverse=True)


def _symbol_pairs(num_pairs, seed, min_length, max_length, num_symbols, reverse):
    _check_count(num_pairs)
    if not 1 <= min_length <= max_length:
        raise ValueError(
            f"Need 1 <= min_length <= max_length; received min_length={min_length}, max_length={max_length}."
        )
    if not 2 <= num_symbols <= len(SYMBOLS):
        raise ValueError(f"`num_symbols` must be in [2, {len(SYMBOLS)}], received {num_symbols}.")
    rng = random.Random(seed)
    alphabet = SYMBOLS[:num_symbols]
    sources, targets = [], []
    for _ in range(num_pairs):
        sequence = [rng.choice(alphabet) for _ in range(rng.randint(min_length, max_length))]
        sources.append(" ".join(sequence))
        targets.append(" ".join(sequence[::-1] if reverse else sequence))
    return TextPairs(sources, targets)


def _check_count(num_pairs):
    if num_pairs < 1:
        raise ValueError(f"`num_pairs` must be >= 1, received {num_pairs}.")


# The corpora the CLI can name; each takes num_pairs, seed and its own options.
CORPORA: dict[str, Callable[..., TextPairs]] = {
    "dates": dates,
    "numbers": numbers,
    "copy": copy,
    "reverse": reverse,
}


def load_corpus(name: str, num_pairs: int = 20000, seed: int = 0, **options: int) -> TextPairs:
    """A built-in corpus by name; `ValueError` listing the names otherwise.

    `options` go to the generator (`max_length=60` for `copy`, ...).
    """
    check_corpus_options(name, options)
    return CORPORA[name](num_pairs=num_pairs, seed=seed, **options)


def check_corpus_options(name, options):
    """`ValueError` for an unknown corpus, or an option its generator does not take as an int."""
    if name not in CORPORA:
        raise ValueError(f"Unknown corpus: {name!r}. Expected one of {', '.join(map(repr, CORPORA))}.")
    known = corpus_options(name)
    for key, value in options.items():
        if key not in known:
            raise ValueError(
                f"Unknown option {key!r} for corpus {name!r}. Expected one of {', '.join(sorted(known))}."
            )
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(
                f"Option {key!r} of corpus {name!r} must be an int, received {value!r} "
                f"(its default is {known[key]})."
            )


def corpus_options(name):
    """`{option: default}` of a built-in corpus, beyond `num_pairs` and `seed`."""
    parameters = inspect.signature(CORPORA[name]).parameters.values()
    return {p.name: p.default for p in parameters if p.name not in ("num_pairs", "seed")}
