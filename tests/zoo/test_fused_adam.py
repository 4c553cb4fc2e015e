"""`FusedAdam` is Keras' Adam, computed by one fused kernel per variable."""

import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo


def _train(optimizer, steps=6):
    """A small GRU trained from the same start for `steps` steps (dense gradients only)."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6, 4)), keras.layers.GRU(8), keras.layers.Dense(3)])
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 6, 4)).astype("float32")
    y = rng.integers(0, 3, (32,))
    model.compile(optimizer=optimizer, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, batch_size=8, epochs=steps // 4, shuffle=False, verbose=0)
    return model


@pytest.mark.parametrize(
    "settings",
    [
        {"learning_rate": 0.01},
        {"learning_rate": keras.optimizers.schedules.CosineDecay(0.01, 10), "clipnorm": 1.0},
        {"learning_rate": 0.003, "beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-4, "weight_decay": 0.01},
    ],
)
def test_fused_adam_takes_the_same_steps_as_keras_adam(settings):
    ours = _train(zoo.FusedAdam(**settings), steps=8)
    reference = _train(keras.optimizers.Adam(**settings), steps=8)
    assert int(ours.optimizer.iterations) == int(reference.optimizer.iterations) == 8
    for a, b in zip(ours.weights, reference.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6, err_msg=a.path)
    for a, b in zip(ours.optimizer.variables, reference.optimizer.variables):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-7, err_msg=a.path)


def test_a_sparse_gradient_is_summed_per_row_before_the_update():
    # An embedding's gradient lists a row once per occurrence. Adam's moments
    # are of the summed gradient, as for a dense one; Keras' own Adam squares
    # each occurrence separately, so the reference is Keras on the dense sum.
    gradient = tf.IndexedSlices(
        tf.constant([[1.0, 2.0], [3.0, -1.0]]), tf.constant([1, 1]), tf.constant([3, 2])
    )
    results = []
    for optimizer, grad in (
        (zoo.FusedAdam(0.01), gradient),
        (keras.optimizers.Adam(0.01), tf.convert_to_tensor(gradient)),
    ):
        variable = keras.Variable(np.ones((3, 2), "float32"))
        for _ in range(3):
            optimizer.apply_gradients([(grad, variable)])
        results.append([variable.numpy(), *(v.numpy() for v in optimizer.variables[2:])])
    for ours, reference in zip(*results):
        # The kernel forms 1 - beta_2 in float32 (0.00099999), Keras in float64: 1e-5 apart.
        np.testing.assert_allclose(ours, reference, rtol=5e-5, atol=1e-8)
    assert np.all(results[0][0][[0, 2]] == 1.0)  # rows without a gradient do not move


@pytest.mark.parametrize("clipnorm", [0.5, 2.0])
def test_clipnorm_scales_only_the_gradients_over_the_norm(clipnorm):
    # Norms 0.5, 5 and 1.5 over three steps: at clip 0.5 each step is
    # scaled, at clip 2 only the second. A large epsilon makes Adam's step
    # depend on the gradient's scale, so a wrong scale moves the weights.
    directions = np.array([[3.0, 4.0], [0.6, -0.8], [-1.0, 0.0]], "float32")
    gradients = [d * n / np.linalg.norm(d) for d, n in zip(directions, (0.5, 5.0, 1.5))]
    results = []
    for optimizer in (
        zoo.FusedAdam(0.1, epsilon=0.5, clipnorm=clipnorm),
        keras.optimizers.Adam(0.1, epsilon=0.5, clipnorm=clipnorm),
    ):
        variable = keras.Variable(np.zeros(2, "float32"))
        for gradient in gradients:
            optimizer.apply_gradients([(tf.constant(gradient), variable)])
        results.append([variable.numpy(), *(v.numpy() for v in optimizer.variables[2:])])
    for ours, reference in zip(*results):
        np.testing.assert_allclose(ours, reference, rtol=5e-5, atol=1e-7)
    unclipped = keras.optimizers.Adam(0.1, epsilon=0.5)
    variable = keras.Variable(np.zeros(2, "float32"))
    for gradient in gradients:
        unclipped.apply_gradients([(tf.constant(gradient), variable)])
    assert not np.allclose(variable.numpy(), results[0][0], rtol=1e-3)  # the clip mattered


def test_a_sparse_gradient_is_clipped_by_the_norm_of_its_row_sums():
    # Rows 1 and 1 sum to [4, 1] (norm 4.12); clipped to 1 it is [0.97, 0.24].
    gradient = tf.IndexedSlices(
        tf.constant([[1.0, 2.0], [3.0, -1.0]]), tf.constant([1, 1]), tf.constant([3, 2])
    )
    variables = []
    for optimizer, grad in (
        (zoo.FusedAdam(0.1, epsilon=10.0, clipnorm=1.0), gradient),
        (keras.optimizers.Adam(0.1, epsilon=10.0, clipnorm=1.0), tf.convert_to_tensor(gradient)),
    ):
        variable = keras.Variable(np.zeros((3, 2), "float32"))
        optimizer.apply_gradients([(grad, variable)])
        variables.append(variable.numpy())
    np.testing.assert_allclose(*variables, rtol=5e-5, atol=1e-8)


def test_fused_adam_round_trips_through_a_saved_model(tmp_path):
    model = _train(zoo.FusedAdam(learning_rate=0.01, clipnorm=1.0))
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded.optimizer, zoo.FusedAdam)
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    for a, b in zip(loaded.optimizer.variables, model.optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("learning_rate", [0.01, keras.optimizers.schedules.CosineDecay(0.01, 10)])
def test_a_model_saved_before_its_first_step_loads_without_a_warning_and_trains_alike(
    tmp_path, learning_rate
):
    """Keras built the loaded optimizer, then skipped the saved step count and learning rate, with a warning."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6, 4)), keras.layers.GRU(8), keras.layers.Dense(3)])
    model.compile(
        optimizer=zoo.FusedAdam(learning_rate=learning_rate, clipnorm=1.0),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    model.optimizer.iterations.assign(5)  # as a value the state must carry, not the default
    path = tmp_path / "untrained.keras"
    model.save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = keras.saving.load_model(path)
    assert int(loaded.optimizer.iterations) == 5
    assert len(loaded.optimizer.variables) > len(model.optimizer.variables)  # built: moments, all zero
    for variable in loaded.optimizer.variables[len(model.optimizer.variables) :]:
        assert not np.any(variable.numpy())
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 6, 4)).astype("float32")
    y = rng.integers(0, 3, (16,))
    for m in (model, loaded):
        m.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(model.weights, loaded.weights, strict=True):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-6, atol=1e-7)


def test_fused_adam_falls_back_to_keras_for_amsgrad():
    ours = _train(zoo.FusedAdam(learning_rate=0.01, amsgrad=True))
    reference = _train(keras.optimizers.Adam(learning_rate=0.01, amsgrad=True))
    for a, b in zip(ours.weights, reference.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-7)


def test_a_translator_trains_with_fused_adam_by_default():
    assert isinstance(zoo.load("gru_luong_small", train_data=(["a b"], ["c d"])).optimizer, zoo.FusedAdam)
