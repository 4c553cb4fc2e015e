"""The layers in a functional model whose padding comes as Keras masks (`Embedding(mask_zero=True)`)."""

import warnings

import keras
import numpy as np
import pytest

import keras_attention as ka

SOURCES = np.array([[3, 4, 5, 0, 0], [6, 7, 8, 9, 2]])
MORE_PADDING = np.pad(SOURCES, [(0, 0), (0, 3)])
TARGETS = np.array([[3, 4, 0], [5, 6, 7]])


def _recurrent(source, target):
    outputs, states = ka.RecurrentEncoder("gru", 8, bidirectional=True)(source)
    return ka.RecurrentDecoder("gru", 8, attention="luong")(target, initial_state=states, memory=outputs)[0]


# Each builds a model's output from embedded `(source, target)`; with a target
# side, the output is per target position, else per source position.
LAYERS = {
    "MultiHeadAttention": lambda source, target: ka.MultiHeadAttention(2, 4)(target, source),
    "LuongAttention": lambda source, target: ka.LuongAttention("general")(target, source),
    "BahdanauAttention": lambda source, target: ka.BahdanauAttention()(target, source),
    "ScaledDotProductAttention": lambda source, target: ka.ScaledDotProductAttention()(target, source),
    "TransformerEncoderBlock": lambda source, target: ka.TransformerEncoderBlock(2, 16)(source),
    "TransformerDecoderBlock": lambda source, target: ka.TransformerDecoderBlock(2, 16)(target, source),
    "RecurrentEncoder and RecurrentDecoder": _recurrent,
}
PER_SOURCE_POSITION = {"TransformerEncoderBlock"}


def _model(build, mask_zero=True):
    keras.utils.set_random_seed(1)
    source = keras.Input((None,), dtype="int32")
    target = keras.Input((None,), dtype="int32")
    embedded_source = keras.layers.Embedding(20, 8, mask_zero=mask_zero)(source)
    embedded_target = keras.layers.Embedding(20, 8, mask_zero=mask_zero)(target)
    return keras.Model([source, target], build(embedded_source, embedded_target))


def _padding_effect(name, model):
    """How far three more padded source positions move the outputs at real positions."""
    before = model.predict([SOURCES, TARGETS], verbose=0)
    after = model.predict([MORE_PADDING, TARGETS], verbose=0)
    if name in PER_SOURCE_POSITION:
        return np.abs(after[0, :3] - before[0, :3]).max()  # row 0's real positions
    return np.abs(after - before).max()


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_keras_masks_are_honoured_without_warnings(name):
    with warnings.catch_warnings():
        # Before: MultiHeadAttention's projections and RecurrentDecoder warned, at
        # every call, that they "destroy the mask information".
        warnings.simplefilter("error")
        model = _model(LAYERS[name])
        moved = _padding_effect(name, model)
    assert moved < 1e-6
    # The same model without masks: the padding is attended, so the check can fail.
    assert _padding_effect(name, _model(LAYERS[name], mask_zero=False)) > 1e-3


def test_the_recurrent_decoder_passes_the_target_mask_on_to_the_loss():
    model = _model(lambda source, target: keras.layers.Dense(20)(_recurrent(source, target)))
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    labels = np.array([[1, 2, 0], [3, 4, 5]])
    other_padding = np.array([[1, 2, 17], [3, 4, 5]])  # another label where the target is padding
    loss = model.evaluate([SOURCES, TARGETS], labels, verbose=0)
    assert model.evaluate([SOURCES, TARGETS], other_padding, verbose=0) == pytest.approx(loss, rel=1e-6)
