"""What the README names exists: a user copies these names."""

import importlib
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]
# `zoo.load`, `training.checkpoint.TrainingCheckpoint`, `zoo.Translator.from_preset`, ...
DOTTED_NAME = re.compile(r"(?<![\w./-])((?:zoo|training|keras_attention)(?:\.[A-Za-z_]\w*)+)")


def _resolve(name):
    """The object `name` names: its longest importable module prefix, then attributes."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        try:
            found = importlib.import_module(".".join(parts[:end]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[end:]:
            found = getattr(found, attribute)
        return found
    raise ModuleNotFoundError(name)


def test_every_dotted_name_in_the_readme_resolves():
    names = sorted(set(DOTTED_NAME.findall((ROOT / "README.md").read_text(encoding="utf-8"))))
    assert "zoo.SequenceCrossEntropy" in names and len(names) > 20
    missing = []
    for name in names:
        try:
            _resolve(name)
        except (AttributeError, ModuleNotFoundError) as error:
            missing.append(f"{name}: {error}")
    assert not missing, "\n".join(missing)
