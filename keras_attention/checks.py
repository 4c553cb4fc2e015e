"""Argument checks shared by the layers (and by the models and decoders built from them).

Each raises a `ValueError` that names the argument, says what was expected
and echoes what was received, before any layer is made: a string or a
float where a size goes would otherwise fail deep inside Keras with a
message about `<` or `range`.
"""


def check_int(name, value, minimum, maximum=None):
    """`value` if it is an int in `[minimum, maximum]`, else a `ValueError` naming `name`."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"`{name}` must be an int >= {minimum}, received {value!r}.")
    if maximum is not None and value > maximum:
        raise ValueError(f"`{name}` must be at most {maximum}, received {value!r}.")
    return value


def check_float(name, value, minimum, maximum=None, minimum_allowed=True):
    """`value` as a float if it lies in the range, else a `ValueError` naming `name`."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"`{name}` must be a number, received {value!r}.")
    low_ok = value >= minimum if minimum_allowed else value > minimum
    if not low_ok or (maximum is not None and value > maximum):
        low = "[" if minimum_allowed else "("
        high = f"{maximum}]" if maximum is not None else "inf)"
        raise ValueError(f"`{name}` must be in {low}{minimum}, {high}, received {value!r}.")
    return float(value)


def check_bool(name, value):
    """`value` if it is a bool, else a `ValueError` naming `name`.

    A flag must be `True` or `False`: the string `"false"` (a hand-edited
    config) is truthy and would silently turn the flag on.
    """
    if not isinstance(value, bool):
        raise ValueError(f"`{name}` must be True or False, received {value!r}.")
    return value


def check_dropout(dropout):
    """`ValueError` unless `dropout` is a rate in `[0, 1)`.

    Keras' `Dropout` takes 1, which drops every value: a model that learns
    nothing. Checked before any layer is made, so the message names
    `dropout` rather than Keras' `rate`.
    """
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
        raise ValueError(f"`dropout` must be in [0, 1), received dropout={dropout!r}")
