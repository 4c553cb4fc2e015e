"""The layers are written with `keras.ops` only: they compute the same on JAX as on TensorFlow."""

import os
import pathlib
import subprocess
import sys

from tests.keras_attention import portable_cases

ROOT = pathlib.Path(__file__).resolve().parents[2]
# The check, in a process where TensorFlow cannot be imported: a layer that
# used `tf.*` would fail there, whatever else is installed.
CHECK_WITHOUT_TENSORFLOW = """
import sys

class NoTensorFlow:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "tensorflow_text"):
            raise ImportError(f"{name} is blocked in this test")

sys.meta_path.insert(0, NoTensorFlow())
from tests.keras_attention import portable_cases

portable_cases.check(sys.argv[1])
"""


def test_every_layer_computes_the_same_under_jax_without_tensorflow(tmp_path):
    portable_cases.save(tmp_path)  # under TensorFlow, this process's backend
    environment = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu"}
    ran = subprocess.run(
        [sys.executable, "-c", CHECK_WITHOUT_TENSORFLOW, str(tmp_path)],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ran.returncode == 0, ran.stderr[-4000:]
    assert "jax: attention, recurrent, transformer agree; steps and gradients checked" in ran.stdout
