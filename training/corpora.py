"""Built-in corpora, generated on the fly: no download, same pairs for the same seed."""

import datetime
import random

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


def dates(num_pairs=20000, seed=0, first_year=1950, last_year=2049):
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
    if num_pairs < 1:
        raise ValueError(f"`num_pairs` must be >= 1, received {num_pairs}.")
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


# The corpora the CLI can name; each maps to a generator taking num_pairs and seed.
CORPORA = {"dates": dates}


def load_corpus(name, num_pairs=20000, seed=0):
    """A built-in corpus by name; `ValueError` listing the names otherwise."""
    if name not in CORPORA:
        raise ValueError(f"Unknown corpus: {name!r}. Expected one of {', '.join(map(repr, CORPORA))}.")
    return CORPORA[name](num_pairs=num_pairs, seed=seed)
