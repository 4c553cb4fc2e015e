"""Argument checks shared by the layers (and by the models built from them)."""


def check_dropout(dropout):
    """`ValueError` unless `dropout` is a rate in `[0, 1)`.

    Keras' `Dropout` takes 1, which drops every value: a model that learns
    nothing. Checked before any layer is made, so the message names
    `dropout` rather than Keras' `rate`.
    """
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"`dropout` must be in [0, 1), received dropout={dropout}")
