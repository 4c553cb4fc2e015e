"""Mixed precision: `zoo.load(dtype=...)`, `zoo train --precision`, and what stays float32."""

import warnings

import keras
import numpy as np
import pytest

import zoo
from tests.conftest import TINY
from training.checkpoint import TrainingCheckpoint
from training.cli_arguments import build_parser
from training.datasets import dates
from training.train import TrainConfig, train


@pytest.fixture(scope="module")
def pairs():
    return dates(160, seed=5)


def test_load_builds_the_model_in_the_precision_asked_for_and_restores_the_global_one(pairs, tmp_path):
    model = zoo.load("gru_luong_small", train_data=pairs, dtype="mixed_bfloat16", **TINY)
    assert keras.config.dtype_policy().name == "float32"
    assert model.dtype_policy.name == "mixed_bfloat16"
    assert model.backbone.output_projection.compute_dtype == "bfloat16"
    assert {w.dtype for w in model.weights} == {"float32"}  # the weights stay float32
    model.save_to_preset(tmp_path / "preset")
    again = zoo.load(tmp_path / "preset")  # a preset records no precision
    assert again.dtype_policy.name == "float32"
    mixed = zoo.load(tmp_path / "preset", dtype="mixed_bfloat16")
    assert mixed.backbone.output_projection.compute_dtype == "bfloat16"
    for a, b in zip(model.get_weights(), mixed.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_an_unknown_precision_is_refused(pairs):
    with pytest.raises(
        ValueError, match="Unknown `dtype` 'float64'. Expected one of 'float32', 'mixed_bfloat16'"
    ):
        zoo.load("gru_luong_small", train_data=pairs, dtype="float64")
    assert keras.config.dtype_policy().name == "float32"
    with pytest.raises(ValueError, match="`precision` must be one of"):
        train(TrainConfig(precision="half", num_pairs=50))


@pytest.mark.parametrize("precision", ["mixed_bfloat16", "mixed_float16"])
def test_a_mixed_precision_model_trains_and_decodes(pairs, precision):
    keras.utils.set_random_seed(0)
    model = zoo.load("gru_luong_small", train_data=pairs, dtype=precision, **TINY)
    model.compile(optimizer=zoo.FusedAdam(1e-2, clipnorm=1.0), label_smoothing=0.1)
    # Keras adds loss scaling for float16, whose gradients would underflow.
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer) == (precision == "mixed_float16")
    losses = model.fit(pairs, epochs=3, batch_size=16, verbose=0).history["loss"]
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0]
    assert {w.dtype for w in model.trainable_weights} == {"float32"}
    sources = pairs.sources[:3]
    for strategy in (zoo.generation.GreedySearch(), zoo.generation.BeamSearch(2)):
        translations = model.translate(sources, strategy)
        assert len(translations) == 3 and all(isinstance(t, str) for t in translations)


@pytest.mark.parametrize("precision", ["mixed_bfloat16", "mixed_float16"])
def test_a_keras_file_keeps_the_precision_and_the_loss_scale(pairs, precision, tmp_path):
    """Loaded in float32, the model computed otherwise and its LossScaleOptimizer's state was skipped."""
    model = zoo.load("gru_luong_small", train_data=pairs, dtype=precision, dropout=0.0, **TINY)
    model.fit(pairs, epochs=1, batch_size=16, shuffle=False, verbose=0)
    model.save(tmp_path / "model.keras")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Keras warned that the optimizer's variable counts differed
        restored = keras.saving.load_model(tmp_path / "model.keras")
    assert keras.config.dtype_policy().name == "float32"
    assert restored.dtype_policy.name == precision
    assert restored.backbone.output_projection.compute_dtype == model.backbone.output_projection.compute_dtype
    assert type(restored.optimizer) is type(model.optimizer)
    for saved, loaded in zip(model.optimizer.variables, restored.optimizer.variables, strict=True):
        np.testing.assert_array_equal(np.asarray(loaded), np.asarray(saved))
    assert restored.translate(pairs.sources[:4]) == model.translate(pairs.sources[:4])
    for m in (model, restored):
        m.fit(pairs, epochs=1, batch_size=16, shuffle=False, verbose=0)
    for a, b in zip(model.weights, restored.weights, strict=True):
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-6, atol=1e-7)


def test_resuming_in_another_precision_is_refused(pairs, tmp_path):
    class Crash(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 2:
                raise KeyboardInterrupt

    def fit(dtype, callbacks):
        model = zoo.load("gru_luong_small", train_data=pairs, dtype=dtype, **TINY)
        checkpoint = TrainingCheckpoint(tmp_path, save_every=2, verbose=0)
        model.fit(pairs, epochs=1, batch_size=16, callbacks=[checkpoint, *callbacks], verbose=0)

    with pytest.raises(KeyboardInterrupt):
        fit("mixed_bfloat16", [Crash()])
    with pytest.raises(
        ValueError, match="written in mixed_bfloat16 precision, but this run trains in float32"
    ):
        fit("float32", [])


def _choices(parser, dest):
    (action,) = [a for a in parser._actions if a.dest == dest]
    return tuple(action.choices), action.default


def test_the_cli_and_the_benchmarks_offer_every_precision():
    from training.benchmarks import budget_run, suite

    train_parser = build_parser()._subparsers._group_actions[0].choices["train"]
    for parser in (train_parser, budget_run._parser(), suite._parser()):
        assert _choices(parser, "precision") == (zoo.PRECISIONS, "float32")


@pytest.mark.slow
def test_train_in_mixed_precision_evaluates_and_exports_in_float32(tmp_path):
    config = TrainConfig(
        preset="gru_luong_small",
        overrides=TINY,
        num_pairs=200,
        epochs=1,
        steps_per_epoch=4,
        eval_samples=16,
        precision="mixed_bfloat16",
        out=str(tmp_path),
        verbose=0,
    )
    result = train(config)
    assert keras.config.dtype_policy().name == "float32"
    saved = zoo.load(result.preset_dir)
    assert saved.dtype_policy.name == "float32"
    sources = [source for source, _, _ in result.samples]
    # The report's translations are the saved float32 model's.
    assert saved.translate(sources) == [translation for _, _, translation in result.samples]
    import tensorflow as tf

    serve = tf.saved_model.load(result.export_dir).signatures["serving_default"]
    exported = [t.decode() for t in serve(text=tf.constant(sources))["translation"].numpy().ravel()]
    assert exported == saved.translate(sources)


def test_a_keras_file_loads_in_any_policy_it_was_built_in(pairs, tmp_path):
    """`zoo.load(dtype=...)` takes `PRECISIONS` only, but a file records the policy Keras gave the model."""
    keras.config.set_dtype_policy("float16")
    try:
        model = zoo.load("gru_luong_small", train_data=pairs, **TINY)
    finally:
        keras.config.set_dtype_policy("float32")
    model.save(tmp_path / "model.keras")
    restored = keras.saving.load_model(tmp_path / "model.keras")
    assert restored.backbone.output_projection.compute_dtype == "float16"
    assert keras.config.dtype_policy().name == "float32"
    assert restored.translate(pairs.sources[:2]) == model.translate(pairs.sources[:2])
