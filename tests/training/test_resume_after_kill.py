import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

# `zoo train` as a separate process, so the test can SIGKILL it.
TRAIN = textwrap.dedent(
    """
    import sys
    from training.train import TrainConfig, train

    train(TrainConfig(
        preset="gru_luong_small", num_pairs=1500, epochs=3, batch_size=8, save_every=7,
        eval_samples=8, out=sys.argv[1], verbose=0,
    ))
    """
)


def _start(out):
    # Deterministic kernels, with TensorFlow's default threads: the comparison
    # below allows float rounding only.
    env = {
        **os.environ,
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "CUDA_VISIBLE_DEVICES": "",
        "TF_DETERMINISTIC_OPS": "1",
    }
    return subprocess.Popen(
        [sys.executable, "-c", TRAIN, str(out)], env=env, stderr=subprocess.PIPE, text=True
    )


def _weights(preset_dir):
    import zoo

    return zoo.load(preset_dir).get_weights()


@pytest.mark.slow
def test_zoo_train_killed_mid_epoch_resumes_to_the_same_model(tmp_path):
    reference = _start(tmp_path / "reference")
    assert reference.wait(timeout=600) == 0, reference.stderr.read()[-3000:]

    killed = _start(tmp_path / "run")
    state_file = tmp_path / "run" / "checkpoint" / "latest" / "state.json"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and killed.poll() is None:
        try:
            state = json.loads(state_file.read_text())
        except (OSError, ValueError):  # not written yet, or being replaced
            state = {}
        if state.get("epoch") == 1 and state.get("step", 0) > 0:  # inside the second epoch
            killed.send_signal(signal.SIGKILL)
            break
        time.sleep(0.05)
    assert killed.wait(timeout=60) == -signal.SIGKILL, "the run ended before it could be killed mid-epoch"
    assert not (tmp_path / "run" / "preset").exists()
    # Leave the checkpoint as a kill between the two renames of the next save
    # would: `latest` moved aside. The resumed run must put it back.
    checkpoint = tmp_path / "run" / "checkpoint"
    moved = checkpoint / ".latest.old-test"
    if (checkpoint / "latest").exists():
        os.rename(checkpoint / "latest", moved)
    else:  # the kill itself came between a save's two renames
        (moved,) = checkpoint.glob(".latest.old-*")
    saved = json.loads((moved / "state.json").read_text())

    resumed = _start(tmp_path / "run")
    assert resumed.wait(timeout=600) == 0, resumed.stderr.read()[-3000:]
    for want, got in zip(_weights(tmp_path / "reference" / "preset"), _weights(tmp_path / "run" / "preset")):
        np.testing.assert_allclose(
            got,
            want,
            rtol=1e-5,
            atol=1e-6,
            err_msg=f"resumed from epoch {saved['epoch']}, step {saved['step']}",
        )
    history = (tmp_path / "run" / "logs" / "history.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in history[1:]] == ["0", "1", "2"]  # no epoch lost or repeated
