"""The files of a preset directory, named in one place for the modules that write, read or recognize one."""

import os

CONFIG_FILE = "config.json"
METADATA_FILE = "metadata.json"
WEIGHTS_FILE = "model.weights.h5"
SOURCE_VOCABULARY_FILE = os.path.join("assets", "source_vocabulary.txt")
TARGET_VOCABULARY_FILE = os.path.join("assets", "target_vocabulary.txt")


def is_preset_directory(path):
    """Whether `path` looks like a preset directory: it holds a config and a metadata file."""
    return os.path.isfile(os.path.join(path, CONFIG_FILE)) and os.path.isfile(
        os.path.join(path, METADATA_FILE)
    )
