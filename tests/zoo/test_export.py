import json
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import tiny

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


def _export_and_serve(model, tmp_path):
    path = tmp_path / "exported"
    model.export(str(path))
    result = subprocess.run(
        [sys.executable, "-c", SERVE, str(path), json.dumps(SENTENCES)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_export_serves_the_same_strings_in_a_fresh_process(trained_translator, tmp_path):
    served = _export_and_serve(trained_translator, tmp_path)
    live = trained_translator.translate(SENTENCES)
    assert live[0] == "the cat eats" and live[1] == ""
    for size, translations in served.items():
        assert translations == live[: int(size)]


@pytest.mark.slow
@pytest.mark.parametrize(
    "preset, options",
    [
        ("gru_bahdanau_small", {}),
        ("transformer_small", {}),
        ("gru_luong_small", {"tokenizer": "wordpiece", "max_size": 60}),
        ("gru_luong_small", {"tokenizer": "character", "shared_vocabulary": True}),
    ],
)
def test_other_families_export(preset, options, toy_pairs, tmp_path):
    # The step-wise recurrent decoder, the Transformer's key/value cache and
    # the other tokenizers inside the exported loop; untrained, so the
    # strings are arbitrary but must match the live model's.
    import zoo

    model = zoo.load(preset, train_data=toy_pairs, **tiny(preset), **options)
    served = _export_and_serve(model, tmp_path)
    live = model.translate(SENTENCES, max_length=model.preprocessor.max_target_length + 1)
    for size, translations in served.items():
        assert translations == live[: int(size)]
