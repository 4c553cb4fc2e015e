import json
import subprocess
import sys
import textwrap

import pytest

SENTENCES = ["el gato come", "", "¿dónde está el gato?", "zebra", "la casa es pequeña"]

# Loads the SavedModel with TensorFlow and tensorflow-text alone: importing
# this project (or Keras) in that process is made to fail.
SERVE = textwrap.dedent(
    """
    import importlib.abc, json, sys

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name.split(".")[0] in ("zoo", "keras_attention", "training"):
                raise ImportError("this project must not be needed to serve: " + name)

    sys.meta_path.insert(0, Block())
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  registers the ops the tokenizer uses

    serve = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
    out = {}
    for size in (1, 2, 5):
        batch = json.loads(sys.argv[2])[:size]
        result = serve(text=tf.constant(batch, tf.string))
        out[size] = [t.decode("utf-8") for t in result["translation"].numpy()]
    print(json.dumps(out))
    """
)


@pytest.mark.slow
def test_export_serves_the_same_strings_in_a_fresh_process(trained_translator, tmp_path):
    path = tmp_path / "exported"
    trained_translator.export(str(path))
    result = subprocess.run(
        [sys.executable, "-c", SERVE, str(path), json.dumps(SENTENCES)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    served = json.loads(result.stdout.strip().splitlines()[-1])
    live = trained_translator.translate(SENTENCES)
    assert live[0] == "the cat eats" and live[1] == ""
    for size, translations in served.items():
        assert translations == live[: int(size)]
