"""The public API is annotated (STYLE 11): every parameter and the return of what a user calls.

Public means exported by a package's `__all__`, defined in one of the
training modules a user imports, or named in the README. For a
Keras object (layer, model, metric, loss, optimizer, callback) only the
methods it adds are checked: the ones it overrides (`__init__`, `call`,
`build`, `fit`, ...) keep Keras' own unannotated signatures, with their
arguments in the docstring and `get_config`.
"""

import importlib
import inspect
import os
import subprocess
import sys

from tests.test_readme import DOTTED_NAME, ROOT, _resolve

PACKAGES = ("keras_attention", "zoo", "zoo.generation", "training", "training.datasets")
# Modules without `__all__` whose public names are the API: `from training.plots import ...`.
MODULES = (
    "training.budget",
    "training.checkpoint",
    "training.evaluation",
    "training.locks",
    "training.pipeline",
    "training.plots",
    "training.progress",
    "training.readers",
    "training.schedules",
    "training.train",
    "training.validation_bleu",
)
OUR_PACKAGES = ("keras_attention", "zoo", "training")


def _public_objects():
    found = {}
    for package in PACKAGES:
        module = importlib.import_module(package)
        for name in module.__all__:
            found[f"{package}.{name}"] = getattr(module, name)
    for package in MODULES:
        module = importlib.import_module(package)
        for name, value in vars(module).items():
            if not name.startswith("_") and getattr(value, "__module__", None) == package:
                found[f"{package}.{name}"] = value
    for name in set(DOTTED_NAME.findall((ROOT / "README.md").read_text(encoding="utf-8"))):
        found[name] = _resolve(name)
    return found


def _ours(function):
    return getattr(function, "__module__", "").split(".")[0] in OUR_PACKAGES


def _callables(name, value):
    """`(qualified name, function)` for `value`, or for each public method of a class."""
    if inspect.isclass(value):
        if not _ours(value):
            return
        keras_bases = [base for base in value.__mro__ if base.__module__.startswith("keras.")]
        for attribute, member in vars(value).items():
            if attribute.startswith("_") and attribute != "__init__":
                continue
            if keras_bases and (attribute == "__init__" or any(hasattr(b, attribute) for b in keras_bases)):
                continue
            if isinstance(member, (classmethod, staticmethod)):
                member = member.__func__
            if inspect.isfunction(member) and _ours(member):
                yield f"{name}.{attribute}", member
    elif inspect.isfunction(value) and _ours(value):
        yield name, value


def _missing_annotations(function):
    signature = inspect.signature(function)
    missing = [
        parameter.name
        for parameter in signature.parameters.values()
        if parameter.annotation is inspect.Parameter.empty and parameter.name not in ("self", "cls")
    ]
    if signature.return_annotation is inspect.Signature.empty and function.__name__ != "__init__":
        missing.append("return")
    return missing


def test_public_functions_and_methods_are_annotated():
    checked, unannotated = set(), []
    for name, value in sorted(_public_objects().items()):
        for qualified, function in _callables(name, value):
            if function in checked:
                continue
            checked.add(function)
            missing = _missing_annotations(function)
            if missing:
                unannotated.append(f"{qualified}: {', '.join(missing)}")
    assert len(checked) > 40
    assert not unannotated, "\n".join(unannotated)


def test_packages_declare_their_annotations_to_type_checkers():
    # PEP 561: without `py.typed` installed beside the code, mypy and pyright ignore the annotations.
    assert "* = py.typed" in (ROOT / "setup.cfg").read_text(encoding="utf-8")
    for package in OUR_PACKAGES:
        assert (ROOT / package / "py.typed").is_file(), package


def test_the_readme_example_type_checks_as_a_users_script(tmp_path):
    """What a user's mypy says of the README's example: nothing (a union return would need casts)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    example = readme.split("\n## In Python\n", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    assert "model.translate(" in example and "plot_attention(result" in example
    script = tmp_path / "example.py"
    # Without the packages' types the example would pass as all Any: reveal one to be sure.
    script.write_text(example + "reveal_type(model)\n", encoding="utf-8")
    command = [sys.executable, "-m", "mypy", "--ignore-missing-imports", "--cache-dir", os.devnull]
    result = subprocess.run(
        [*command, str(script)], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'Revealed type is "zoo.translator.Translator"' in result.stdout, result.stdout
