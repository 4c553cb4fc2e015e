import importlib.util
import json
import os
import subprocess
import sys

import keras
import pytest

from zoo.backend import BackendError, require_tensorflow_backend

ZOO = os.path.join(os.path.dirname(sys.executable), "zoo")


def _run(argv, tmp_path, **env):
    environment = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "KERAS_HOME")}
    environment.update(env, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(argv, cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=300)


def test_a_backend_keras_has_loaded_other_than_tensorflow_is_named(monkeypatch):
    require_tensorflow_backend()  # this process: TensorFlow
    monkeypatch.setattr(keras.config, "backend", lambda: "jax")
    with pytest.raises(BackendError, match="Keras is set to 'jax'.*KERAS_BACKEND=tensorflow"):
        require_tensorflow_backend()
    assert issubclass(BackendError, ImportError)  # what an import that cannot work raises


@pytest.mark.skipif(
    importlib.util.find_spec("torch") is not None, reason="needs a backend that is not installed"
)
def test_importing_zoo_with_another_backend_names_the_setting_not_the_missing_package(tmp_path):
    imported = _run([sys.executable, "-c", "import zoo"], tmp_path, KERAS_BACKEND="torch")
    assert imported.returncode == 1
    last = imported.stderr.strip().splitlines()[-1]
    assert last.startswith("zoo.backend.BackendError: zoo runs on Keras' TensorFlow backend"), last
    assert "(KERAS_BACKEND=torch)" in last and "no module named 'torch'" in last
    assert "KERAS_BACKEND=tensorflow" in last

    # Set in Keras' config file instead: the message points there.
    (tmp_path / "keras.json").write_text(json.dumps({"backend": "torch"}))
    imported = _run([sys.executable, "-c", "import zoo"], tmp_path, KERAS_HOME=str(tmp_path))
    assert f"({tmp_path / 'keras.json'})" in imported.stderr


@pytest.mark.skipif(
    importlib.util.find_spec("torch") is not None, reason="needs a backend that is not installed"
)
def test_the_cli_with_another_backend_is_a_user_error_without_a_traceback(tmp_path):
    ran = _run([ZOO, "train", "--out", "run"], tmp_path, KERAS_BACKEND="torch")
    assert ran.returncode == 2
    assert ran.stderr.startswith("zoo train: error: zoo runs on Keras' TensorFlow backend"), ran.stderr
    assert "Traceback" not in ran.stderr
    assert not (tmp_path / "run").exists()
