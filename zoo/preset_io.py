"""Loading presets by name or directory, and saving preset directories.

A preset directory has the KerasHub layout:

    config.json           {"class_name": "Translator", "config": {...}}
    metadata.json         versions, parameter count, date, format version
    model.weights.h5      the backbone's weights
    assets/source_vocabulary.txt, assets/target_vocabulary.txt

Loading reads JSON and HDF5 only and builds classes from the tables below:
nothing in a preset is executed.
"""

import datetime
import difflib
import json
import numbers
import os
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from keras_attention.checks import check_bool, check_int
from zoo.annotations import PathLike, TextPairsLike
from zoo.atomic import DirectoryKind, atomic_directory, interrupted_save
from zoo.export import SAVED_MODEL_DIRECTORY
from zoo.precision import check_precision, computing_in
from zoo.preset_files import (
    CONFIG_FILE,
    METADATA_FILE,
    SOURCE_VOCABULARY_FILE,
    TARGET_VOCABULARY_FILE,
    WEIGHTS_FILE,
    is_preset_directory,
)
from zoo.presets import PRESETS, get_preset
from zoo.recurrent_seq2seq import RecurrentSeq2Seq
from zoo.seq2seq_preprocessor import Seq2SeqPreprocessor
from zoo.text_inputs import check_text_pairs
from zoo.tokenizer import RESERVED_TOKENS
from zoo.tokenizers import get_tokenizer_class, learn_tokenizers, tokenizer_name
from zoo.transformer_seq2seq import TransformerSeq2Seq
from zoo.translator import Translator

FORMAT_VERSION = 1
# What `zoo.load` may change of a saved preset: the preprocessor's limits, which no weight depends on.
SAVED_PRESET_SETTINGS = ("max_source_length", "max_target_length")
# What `save_to_preset` may replace: an earlier preset, nothing else.
PRESET_DIRECTORY = DirectoryKind(
    "a preset directory", CONFIG_FILE, frozenset({CONFIG_FILE, METADATA_FILE, WEIGHTS_FILE, "assets"})
)

# The classes a config may name; nothing else is ever constructed.
BACKBONE_CLASSES = {"RecurrentSeq2Seq": RecurrentSeq2Seq, "TransformerSeq2Seq": TransformerSeq2Seq}
TASK_CLASSES = {"Translator": Translator}


def load(
    preset: PathLike, train_data: TextPairsLike | None = None, dtype: str | None = None, **overrides: Any
) -> Translator:
    """Load a model from a built-in preset name or a saved preset directory.

    Args:
        preset: a name from `zoo.PRESETS` or the path of a directory
            written by `save_to_preset`. A name that is also a folder in
            the working directory means the built-in preset when
            `train_data` or overrides are given, and the folder otherwise.
        train_data: for a preset name, the text pairs whose vocabularies the
            model gets: a `(sources, targets)` pair of string lists or an
            object with `sources` and `targets` (`training.TextPairs`).
        dtype: the precision the model computes in, one of `PRECISIONS`:
            `"float32"`, or Keras' mixed precision, `"mixed_bfloat16"`
            (CPUs with AVX512_BF16 or AMX, recent GPUs) or
            `"mixed_float16"` (GPUs; `compile` then adds loss scaling to
            the optimizer). Mixed precision keeps the weights in float32 and
            computes in 16 bits. `None`: Keras' global policy (float32
            unless changed). A saved preset does not record it: its
            float32 weights load in whichever precision is asked for.
        **overrides: settings that replace the preset's: backbone settings
            (`hidden_dim=64`), `max_source_length`/`max_target_length`, or
            vocabulary settings (`max_size`, `min_frequency`). Of a saved
            preset, only `max_source_length` and `max_target_length`, which
            no weight depends on.

    Returns:
        A `Translator`: untrained for a name, with its saved weights for a
        directory.
    """
    if dtype is None:
        return _load(preset, train_data, overrides)
    check_precision(dtype)
    with computing_in(dtype):
        return _load(preset, train_data, overrides)


def _load(preset, train_data, overrides):
    if not isinstance(preset, (str, os.PathLike)):
        raise TypeError(
            "`preset` must be a built-in preset name or the path of a saved preset directory; "
            f"received {type(preset).__name__}."
        )
    preset = os.path.expanduser(os.fspath(preset))
    if "://" in preset:
        raise ValueError(
            f"{preset!r} is a remote handle; zoo.load reads built-in preset names and local preset "
            "directories. Download the preset first (such as with `huggingface_hub.snapshot_download`) "
            "and load its directory."
        )
    # A built-in name may also be a folder here (a run's output directory
    # named after its preset, say). Vocabulary data and most overrides apply
    # to built-in presets only, so with them the name means the built-in one
    # (`./NAME` is the folder).
    means_builtin = preset in PRESETS and (train_data is not None or bool(overrides))
    if os.path.isdir(preset) and not means_builtin:
        if train_data is not None:
            raise ValueError(
                f"{preset} is a saved preset with its own vocabularies; `train_data` applies only to "
                "built-in preset names."
            )
        fixed = sorted(set(overrides) - set(SAVED_PRESET_SETTINGS))
        if fixed:
            raise ValueError(
                f"{preset} is a saved preset, whose weights and vocabularies fix its other settings: "
                f"{', '.join(fixed)} cannot change. Of a saved preset only "
                f"{' and '.join(SAVED_PRESET_SETTINGS)} can, which no weight depends on."
            )
        if preset in PRESETS and not os.path.isfile(os.path.join(preset, CONFIG_FILE)):
            raise ValueError(
                f"{preset} is a folder here but not a preset directory ({CONFIG_FILE} is missing), "
                f"and the built-in preset {preset!r} needs `train_data=(sources, targets)` to learn "
                "its vocabularies."
            )
        return load_preset_directory(preset, **overrides)
    note = "" if means_builtin else not_a_preset_note(preset)
    if note or (
        not means_builtin and (os.sep in preset or preset.endswith(".json") or os.path.exists(preset))
    ):
        raise FileNotFoundError(f"No preset directory at {preset}.{note}")
    spec = get_preset(preset)
    if train_data is None:
        raise ValueError(
            f"The preset {preset!r} has no vocabulary of its own: pass "
            "`train_data=(sources, targets)` to learn one, or load a saved preset directory."
        )
    sources, targets = check_text_pairs(train_data, "train_data")
    overrides = check_overrides(preset, overrides)
    backbone_config = dict(spec["backbone"]["config"])
    preprocessor_config = dict(spec["preprocessor"])
    vocabulary_config = dict(spec["vocabulary"])
    for key, value in overrides.items():
        for config in (backbone_config, preprocessor_config, vocabulary_config):
            if key in config:
                config[key] = value
                break
    source_tokenizer, target_tokenizer = learn_tokenizers(sources, targets, **vocabulary_config)
    backbone = BACKBONE_CLASSES[spec["backbone"]["class_name"]](
        source_vocabulary_size=source_tokenizer.vocabulary_size,
        target_vocabulary_size=target_tokenizer.vocabulary_size,
        **backbone_config,
    )
    preprocessor = Seq2SeqPreprocessor(source_tokenizer, target_tokenizer, **preprocessor_config)
    return Translator(backbone, preprocessor)


def check_overrides(preset, overrides):
    """`overrides` checked against the built-in `preset`'s settings, as plain Python values.

    Each override must name a setting of `preset` and take a value of its
    default's type: a bool for a flag, an integer for a size, a number for a
    rate, a string (or `None`) for a name; a setting whose default is `None`
    takes any value, which the layer it configures checks. NumPy scalars
    become Python ones, so the preset's JSON can hold them. Ranges (a size
    of -4, an unknown name) are the layers' to check.

    Raises:
        ValueError: an unknown setting, or a value of another type.
    """
    spec = get_preset(preset)
    defaults = {**spec["backbone"]["config"], **spec["preprocessor"], **spec["vocabulary"]}
    checked = {}
    for key, value in overrides.items():
        if key not in defaults:
            close = difflib.get_close_matches(str(key), defaults, n=1)
            raise ValueError(
                f"Unknown setting {key!r} for preset {preset!r}."
                f"{f' Did you mean {close[0]!r}?' if close else ''} Expected one of {sorted(defaults)}."
            )
        default, is_flag = defaults[key], isinstance(value, (bool, np.bool_))
        if isinstance(default, bool):
            fits, kind, plain = is_flag, "a bool (true or false)", bool
        elif isinstance(default, int):
            fits, kind, plain = isinstance(value, numbers.Integral) and not is_flag, "an int", int
        elif isinstance(default, float):
            fits, kind, plain = isinstance(value, numbers.Real) and not is_flag, "a number", float
        elif isinstance(default, str):
            fits, kind, plain = value is None or isinstance(value, str), "a string", None
        else:
            fits, kind, plain = True, "", None
        if not fits:
            raise ValueError(
                f"Setting {key!r} of preset {preset!r} must be {kind} (the preset has {default!r}); "
                f"received {value!r}."
            )
        checked[key] = value if plain is None else plain(value)
    return checked


def parameter_count(preset: str, vocabulary_size: int = 5000) -> int:
    """The parameter count of the built-in `preset` with `vocabulary_size` words per side."""
    spec = get_preset(preset)["backbone"]
    check_int("vocabulary_size", vocabulary_size, len(RESERVED_TOKENS) + 1)
    backbone = BACKBONE_CLASSES[spec["class_name"]](vocabulary_size, vocabulary_size, **spec["config"])
    return int(backbone.count_params())


def architecture(preset: str) -> str:
    """A short description of the built-in `preset`'s architecture, for tables."""
    config = get_preset(preset)["backbone"]["config"]
    if "cell_type" not in config:
        return f"transformer, {config['num_layers']}+{config['num_layers']} blocks"
    parts = [config["cell_type"]]
    if config["bidirectional"]:
        parts.append("bidirectional")
    if config["attention"] is None:
        parts.append("no attention")
    else:
        parts.append(f"{config['attention']} {config['attention_score']}")
    if config["input_feeding"]:
        parts.append("input feeding")
    return ", ".join(parts)


def save_to_preset(model: Translator, path: PathLike) -> None:
    """Write `model` as a preset directory at `path`, atomically (see module docstring).

    An existing `path` is replaced only if it is empty or an earlier preset
    directory; anything else raises `FileExistsError` and is left as it is.
    """
    with atomic_directory(path, PRESET_DIRECTORY) as staging:
        os.makedirs(os.path.join(staging, "assets"))
        config = {
            "class_name": type(model).__name__,
            "config": {
                "backbone": {
                    "class_name": type(model.backbone).__name__,
                    "config": model.backbone.get_config(),
                },
                "preprocessor": model.preprocessor.get_config(),
                "tokenizer": tokenizer_name(model.preprocessor.source_tokenizer),
                "lowercase": model.preprocessor.source_tokenizer.lowercase,
            },
        }
        metadata = {
            "format_version": FORMAT_VERSION,
            "keras_attention_version": _version(),
            "keras_version": keras.__version__,
            "tensorflow_version": tf.__version__,
            "parameter_count": int(model.backbone.count_params()),
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        }
        _write_json(os.path.join(staging, CONFIG_FILE), config)
        _write_json(os.path.join(staging, METADATA_FILE), metadata)
        model.backbone.save_weights(os.path.join(staging, WEIGHTS_FILE))
        model.preprocessor.source_tokenizer.save_vocabulary(os.path.join(staging, SOURCE_VOCABULARY_FILE))
        model.preprocessor.target_tokenizer.save_vocabulary(os.path.join(staging, TARGET_VOCABULARY_FILE))


def not_a_preset_note(path):
    """A sentence on where the preset is when `path`, no directory, is not one; or "".

    For a missing `path`, the whole copy a killed save left beside it. For
    a file, what it is and what reads it: a `.keras` file, a file inside a
    preset directory, weights alone, a legacy HDF5 model.
    """
    copy = interrupted_save(path)
    if copy:
        return (
            f" A save into it was stopped before it finished, and what it was replacing is whole "
            f"at {copy}: rename that to {path} to load it."
        )
    if not os.path.isfile(path):
        return ""
    directory = os.path.dirname(os.path.abspath(path))
    for holder in (directory, os.path.dirname(directory)):  # a preset's file, or one of its assets
        if is_preset_directory(holder):
            return f" It is a file of the preset directory {holder}: load that directory."
    if path.endswith(".keras"):
        return (
            " It is a `.keras` file (what `model.save` writes), which `keras.saving.load_model` reads "
            "after `import zoo`; write a preset directory from the loaded model with "
            "`model.save_to_preset(DIR)`."
        )
    if path.endswith(".weights.h5"):
        return (
            " It holds weights alone: build the model it came from (the same preset, settings and "
            "vocabularies) and read them with `model.load_weights(path)`."
        )
    if path.endswith((".h5", ".hdf5")):
        return (
            " It is an HDF5 file: a legacy Keras model loads with `keras.saving.load_model(path, "
            "custom_objects={'Translator': zoo.Translator})`."
        )
    return " It is a file; a preset is a directory."


def _look_at(path):
    """Where the preset is, when `path` is a directory that holds one or a SavedModel instead."""
    if os.path.isfile(os.path.join(path, SAVED_MODEL_DIRECTORY.marker)):
        return (
            " It is a SavedModel (an export), which serves without this project through "
            "`tf.saved_model.load`; load the preset directory it was exported from instead."
        )
    presets = sorted(
        os.path.join(path, entry)
        for entry in os.listdir(path)
        if is_preset_directory(os.path.join(path, entry))
    )
    if not presets:
        return ""
    if len(presets) == 1:
        return f" It holds the preset directory {presets[0]}: load that instead."
    return f" It holds the preset directories {', '.join(presets)}: load one of those instead."


def load_preset_directory(path, **lengths):
    """Restore the `Translator` saved at `path`; errors name the file and the problem.

    `lengths` (`max_source_length`, `max_target_length`) replace the saved
    preprocessor's: no weight depends on them.
    """
    for name in (CONFIG_FILE, METADATA_FILE, WEIGHTS_FILE, SOURCE_VOCABULARY_FILE, TARGET_VOCABULARY_FILE):
        if not os.path.isfile(os.path.join(path, name)):
            raise ValueError(f"{path} is not a complete preset directory: {name} is missing.{_look_at(path)}")
    metadata = _read_json(os.path.join(path, METADATA_FILE))
    version = metadata.get("format_version")
    if version != FORMAT_VERSION:
        raise ValueError(
            f"{os.path.join(path, METADATA_FILE)}: preset format_version {version!r} is not "
            f"supported; this version of the zoo reads format_version {FORMAT_VERSION}."
        )
    config_path = os.path.join(path, CONFIG_FILE)
    config = _read_json(config_path)
    try:
        task_class = TASK_CLASSES[config["class_name"]]
        backbone_spec = config["config"]["backbone"]
        backbone_class = BACKBONE_CLASSES[backbone_spec["class_name"]]
        preprocessor_config = config["config"]["preprocessor"]
        tokenizer_class = get_tokenizer_class(config["config"].get("tokenizer", "word"))
        # Presets written before the setting lowercased.
        lowercase = check_bool("lowercase", config["config"].get("lowercase", True))
    except (KeyError, TypeError) as e:
        raise ValueError(
            f"{config_path}: malformed or unknown entry {e}. Known model classes: "
            f"{sorted(TASK_CLASSES)}; known backbones: {sorted(BACKBONE_CLASSES)}."
        ) from None
    except ValueError as e:
        raise ValueError(f"{config_path}: {e}") from None
    source_tokenizer = tokenizer_class.load_vocabulary(os.path.join(path, SOURCE_VOCABULARY_FILE), lowercase)
    target_tokenizer = tokenizer_class.load_vocabulary(os.path.join(path, TARGET_VOCABULARY_FILE), lowercase)
    try:
        backbone = backbone_class.from_config(backbone_spec["config"])
        preprocessor = Seq2SeqPreprocessor(source_tokenizer, target_tokenizer, **preprocessor_config)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{config_path}: invalid settings: {e}") from None
    if lengths:  # checked on their own, so an error names the argument rather than the file
        preprocessor = Seq2SeqPreprocessor(
            source_tokenizer, target_tokenizer, **{**preprocessor_config, **lengths}
        )
    for side, tokenizer, key in (
        ("source", source_tokenizer, "source_vocabulary_size"),
        ("target", target_tokenizer, "target_vocabulary_size"),
    ):
        if tokenizer.vocabulary_size != backbone.get_config()[key]:
            raise ValueError(
                f"{path}: vocabulary mismatch: the {side} vocabulary file has "
                f"{tokenizer.vocabulary_size} tokens but {CONFIG_FILE} says {key}="
                f"{backbone.get_config()[key]}."
            )
    try:
        backbone.load_weights(os.path.join(path, WEIGHTS_FILE))
    except Exception as e:  # h5py and Keras raise several types for a bad file
        raise ValueError(f"{os.path.join(path, WEIGHTS_FILE)}: cannot load the weights: {e}") from None
    return task_class(backbone, preprocessor)


def _version():
    from keras_attention import __version__

    return __version__


def _write_json(path, data):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, ensure_ascii=False)
        f.write("\n")


def _read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: not valid JSON ({e}).") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object, found {type(data).__name__}.")
    return data
