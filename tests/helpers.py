"""The shared test-case helper: config, `.keras`, padding and training round trips.

`check_layer` runs every round trip on one layer; `check_preset` on one
preset model. Per-layer tests stay short: a declarative call into these,
plus a NumPy reference and error tests.
"""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

import zoo


def assert_config_round_trip(layer):
    """`from_config(get_config())` rebuilds a layer with the same config."""
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    return clone


def assert_keras_round_trip(model, inputs, tmp_path):
    """A `.keras` save and load, without custom_objects, gives identical outputs."""
    path = str(tmp_path / "model.keras")
    expected = _numpy_leaves(model(inputs))
    model.save(path)
    restored = keras.saving.load_model(path)
    for got, want in zip(_numpy_leaves(restored(inputs)), expected):
        np.testing.assert_array_equal(got, want)
    return restored


def pad_right(array, extra, value=0):
    """`array` with `extra` more positions of `value` on axis 1."""
    widths = [(0, 0)] * array.ndim
    widths[1] = (0, extra)
    return np.pad(array, widths, constant_values=value)


def check_layer(make_layer, inputs, tmp_path, padded=(), call_kwargs=None, atol=1e-5):
    """Run the shared round trips on the layer that `make_layer()` returns.

    Checks: the config round trip; a functional model around the layer saves
    to `.keras` and loads with identical outputs; padding the sequences in
    `padded` (junk values, masks `False`) changes no output at the original
    positions; one gradient step changes every trainable weight.

    Args:
        make_layer: a function returning a fresh layer.
        inputs: dict of call-argument name -> array (or nested lists of
            arrays, such as recurrent states), in call order.
        tmp_path: pytest's temporary directory.
        padded: names in `inputs` to pad on axis 1 (boolean ones are masks,
            padded with `False`).
        call_kwargs: non-tensor call arguments (`use_causal_mask=True`).
        atol: tolerance of the padding comparison.
    """
    call_kwargs = call_kwargs or {}
    layer = make_layer()
    assert_config_round_trip(layer)
    outputs = _numpy_leaves(layer(**inputs, **call_kwargs))

    # Padding invariance.
    padded_inputs = {
        name: pad_right(x, 3, False if x.dtype == bool else 7.0) if name in padded else x
        for name, x in inputs.items()
    }
    for got, want in zip(_numpy_leaves(layer(**padded_inputs, **call_kwargs)), outputs):
        got = got[tuple(slice(0, n) for n in want.shape)]
        np.testing.assert_allclose(got, want, atol=atol)

    # `.keras` round trip of a functional model around a fresh layer.
    symbolic = {name: _symbolic(x, name) for name, x in inputs.items()}
    model = keras.Model(symbolic, keras.tree.flatten(make_layer()(**symbolic, **call_kwargs)))
    assert_keras_round_trip(model, inputs, tmp_path)

    # One training step moves every trainable weight.
    if model.trainable_weights:
        before = [w.numpy().copy() for w in model.trainable_weights]
        with tf.GradientTape() as tape:
            loss = sum(
                ops.mean(ops.square(y)) for y in model(inputs, training=True) if "float" in str(y.dtype)
            )
        gradients = tape.gradient(loss, model.trainable_weights)
        keras.optimizers.SGD(0.1).apply(gradients, model.trainable_weights)
        unchanged = [w.path for w, b in zip(model.trainable_weights, before) if np.array_equal(w.numpy(), b)]
        assert not unchanged, f"a training step left these weights unchanged: {unchanged}"
    return layer


def check_preset(model, pairs, tmp_path):
    """Run the shared round trips on a `Translator` built from a preset.

    Checks: the backbone's config round trip and `.keras` save/load;
    padding the token ids changes no logit at a real position; the step-wise
    decoding interface (`encode` + `next`) gives the logits of the parallel
    forward pass under teacher forcing; one `fit` step changes the weights;
    greedy decoding returns one string per input.
    """
    sources, targets = pairs
    x, _, _ = model.preprocessor(tf.constant(sources[:4]), tf.constant(targets[:4]))
    x = {k: v.numpy() for k, v in x.items()}
    backbone = model.backbone

    assert_config_round_trip(backbone)
    assert_keras_round_trip(backbone, x, tmp_path)

    logits = np.asarray(backbone(x))
    real = x["decoder_token_ids"] != 0
    padded = np.asarray(backbone({k: pad_right(v, 3) for k, v in x.items()}))[:, : logits.shape[1]]
    np.testing.assert_allclose(padded[real], logits[real], atol=1e-5)

    target_ids = x["decoder_token_ids"]
    cache = backbone.encode(x["encoder_token_ids"], target_ids.shape[1])
    for step in range(target_ids.shape[1]):
        step_logits, cache = backbone.next(target_ids[:, step], cache, step)
        np.testing.assert_allclose(
            np.asarray(step_logits)[real[:, step]], logits[:, step][real[:, step]], atol=1e-4
        )

    before = [w.copy() for w in backbone.get_weights()]
    model.fit(pairs, epochs=1, steps_per_epoch=1, batch_size=4, verbose=0)
    assert any(not np.array_equal(a, b) for a, b in zip(before, backbone.get_weights()))

    translations = model.translate(sources[:3])
    assert len(translations) == 3 and all(isinstance(t, str) for t in translations)

    model.save_to_preset(tmp_path / "preset")
    restored = zoo.load(str(tmp_path / "preset"))
    np.testing.assert_array_equal(np.asarray(restored.backbone(x)), np.asarray(backbone(x)))
    assert restored.translate(sources[:3]) == translations


def _symbolic(x, name):
    if isinstance(x, (list, tuple)):
        return [_symbolic(item, f"{name}_{i}") for i, item in enumerate(x)]
    return keras.Input(x.shape[1:], dtype=str(x.dtype), name=name)


def _numpy_leaves(structure):
    return [ops.convert_to_numpy(leaf) for leaf in keras.tree.flatten(structure)]


def numpy_attention(scores, value, value_mask=None):
    """Masked softmax over keys and the weighted sum of values, in NumPy.

    Args:
        scores: `(..., Tq, Tk)`.
        value: `(..., Tk, dim)`.
        value_mask: optional boolean broadcastable to `scores`.

    Returns:
        `(context, weights)`.
    """
    if value_mask is not None:
        scores = np.where(value_mask, scores, -np.inf)
    scores = scores - scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores)
    weights = weights / weights.sum(axis=-1, keepdims=True)
    return weights @ value, weights
