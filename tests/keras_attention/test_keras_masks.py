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


BASE_ATTENTIONS = {
    "LuongAttention": lambda: ka.LuongAttention("general"),
    "BahdanauAttention": ka.BahdanauAttention,
    "ScaledDotProductAttention": ka.ScaledDotProductAttention,
}


@pytest.mark.parametrize("name", sorted(BASE_ATTENTIONS))
def test_keras_attentions_list_form_gives_what_the_arguments_give(name, tmp_path):
    rng = np.random.default_rng(0)
    query = rng.normal(size=(2, 3, 8)).astype("float32")
    value = rng.normal(size=(2, 5, 8)).astype("float32")
    key = rng.normal(size=(2, 5, 8)).astype("float32")
    query_mask = np.array([[1, 1, 0], [1, 1, 1]], bool)
    value_mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    layer = BASE_ATTENTIONS[name]()
    expected = layer(query, value, key, query_mask=query_mask, value_mask=value_mask)
    as_list = layer([query, value, key], mask=[query_mask, value_mask])
    np.testing.assert_allclose(as_list, expected, atol=1e-6)
    np.testing.assert_allclose(
        layer([query, value], mask=[None, value_mask]), layer(query, value, value_mask=value_mask)
    )
    np.testing.assert_allclose(layer((query, value)), layer(query, value))
    np.testing.assert_allclose(layer(query, value, key, mask=[query_mask, value_mask]), expected, atol=1e-6)

    # In a functional model, Keras' masks reach the list form too, and it saves and loads.
    model = _model(lambda source, target: BASE_ATTENTIONS[name]()([target, source]))
    assert _padding_effect(name, model) < 1e-6
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(
        loaded.predict([SOURCES, TARGETS], verbose=0), model.predict([SOURCES, TARGETS], verbose=0), atol=1e-6
    )

    with pytest.raises(TypeError, match="takes `query` and `value`.*`value` is missing"):
        layer(query)
    with pytest.raises(
        ValueError, match=r"`\[query, value, key\]` \(the key inside the list\); received a list of 1"
    ):
        layer([query])
    with pytest.raises(ValueError, match="received a list of 2 and a `key`"):
        layer([query, value], key=key)
    with pytest.raises(ValueError, match=r"`mask` must be `\[query_mask, value_mask\]`"):
        layer([query, value], mask=value_mask)
    with pytest.raises(ValueError, match="`value_mask` is given twice"):
        layer([query, value], mask=[None, value_mask], value_mask=value_mask)


def test_luong_dot_replaces_keras_attention_in_a_model_written_for_it():
    def build(layer):
        keras.utils.set_random_seed(1)
        source = keras.Input((None,), dtype="int32")
        target = keras.Input((None,), dtype="int32")
        embed = keras.layers.Embedding(20, 8, mask_zero=True)
        return keras.Model([source, target], layer([embed(target), embed(source)]))

    keras_model = build(keras.layers.Attention())  # score_mode="dot", no scale: Luong's dot score
    ours = build(ka.LuongAttention("dot"))
    for sources in (SOURCES, MORE_PADDING):
        np.testing.assert_allclose(
            ours.predict([sources, TARGETS], verbose=0),
            keras_model.predict([sources, TARGETS], verbose=0),
            atol=1e-6,
        )
