"""The package direction of DESIGN.md: keras_attention <- zoo <- training."""

import ast
import pathlib

import pytest

import keras_attention
from keras_attention.api_export import PUBLIC_API

ROOT = pathlib.Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "keras_attention": {"zoo", "training", "tensorflow", "tensorflow_text"},
    "zoo": {"training"},
}


def _imports(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module.split(".")[0]


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_downstream(package):
    for path in (ROOT / package).rglob("*.py"):
        bad = set(_imports(path)) & FORBIDDEN[package]
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_every_registered_layer_is_public():
    for name, cls in PUBLIC_API.items():
        assert getattr(keras_attention, name) is cls


def test_every_registered_zoo_class_is_public():
    import keras

    import zoo

    registered = {
        key.split(">", 1)[1]: cls
        for key, cls in keras.saving.get_custom_objects().items()
        if key.startswith("zoo>")
    }
    assert "SequenceCrossEntropy" in registered
    for name, cls in registered.items():
        assert getattr(zoo, name, None) is cls, f"zoo.{name} is registered but not importable from zoo"
