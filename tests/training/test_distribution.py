"""Training under `tf.distribute.MirroredStrategy`, on two logical CPUs standing in for two GPUs."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

# TensorFlow's devices are fixed when it starts, so the replicas need a process of their own;
# and a second MirroredStrategy in a process trips TensorFlow's collectives (tensorflow#62790),
# so each cell type gets its own.
SCRIPT = textwrap.dedent(
    """
    import json, sys, tempfile
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras

    import zoo
    from training.datasets import dates

    pairs = dates(160, seed=1)
    cell_type = sys.argv[1]
    results = {}
    for replicas in (1, 2):
        strategy = (
            tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
            if replicas == 2 else tf.distribute.get_strategy()
        )
        with strategy.scope():
            keras.utils.set_random_seed(0)
            model = zoo.load(
                "gru_luong_small", train_data=pairs, cell_type=cell_type, bidirectional=True,
                hidden_dim=16, embedding_dim=8, dropout=0.0,
            )
            model.compile(optimizer=zoo.FusedAdam(3e-3))
        before = model.evaluate(pairs, verbose=0, return_dict=True)["loss"]
        # Batches of one pair: the second replica gets none, every step.
        model.fit(pairs[:6], batch_size=1, epochs=1, verbose=0)
        history = model.fit(pairs, batch_size=16, epochs=2, verbose=0).history
        results[replicas] = {
            "before": before,
            "losses": history["loss"],
            "after": model.evaluate(pairs, verbose=0, return_dict=True)["loss"],
            "translations": model.translate(list(pairs.sources[:4])),
        }
    # The model trained on two replicas saves, exports and reloads as any other.
    with tempfile.TemporaryDirectory() as out:
        model.save_to_preset(f"{out}/preset")
        model.export(f"{out}/exported")
        served = tf.saved_model.load(f"{out}/exported").signatures["serving_default"]
        results["round trips"] = {
            "preset": zoo.load(f"{out}/preset").translate(list(pairs.sources[:4])),
            "export": [t.decode() for t in served(text=tf.constant(pairs.sources[:4]))["translation"].numpy()],
        }
    json.dump(results, sys.stdout)
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("cell_type", ["gru", "lstm"])  # each with its gradient written by hand
def test_training_on_two_replicas_matches_one(cell_type):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, cell_type], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    one, two, round_trips = json.loads(done.stdout.strip().splitlines()[-1]).values()
    assert round_trips == {"preset": two["translations"], "export": two["translations"]}
    assert two["before"] == pytest.approx(one["before"], rel=1e-5)  # the same initial weights
    assert two["after"] < 0.9 * two["before"]  # it learned
    # Each replica averages its own tokens and Keras averages the replicas, so a
    # batch split unevenly weighs its tokens a little differently: close, not equal.
    assert two["losses"] == pytest.approx(one["losses"], rel=0.02)
    assert two["after"] == pytest.approx(one["after"], rel=0.02)
