"""`save`, `save_weights` and `load_weights` for a `keras.Model`: atomic writes, and checked reads."""

import json
import os
import warnings
import zipfile

import h5py
import keras

from zoo.atomic import atomic_file
from zoo.preset_files import is_preset_directory

# The `.weights.h5` attribute that records a vocabulary's digest, by side.
VOCABULARY_ATTRIBUTE = "zoo_{side}_vocabulary"


class ModelFiles(keras.Model):
    """Keras' model files, written so that a killed save loses nothing, and read with errors that say what to load.

    Keras opens the path and writes into it, so a save killed midway left
    the file it was replacing half written. Here `.keras` and `.weights.h5`
    files are written beside the path and renamed into place once whole.
    Mixed into `zoo.Seq2SeqTask`.
    """

    def _build_optimizer(self):
        """Create the optimizer's variables for the model's weights, if not yet made.

        For `load_weights` and a restored checkpoint, so saved optimizer
        state has variables to go to; and before `fit`, because without a
        distribution strategy Keras creates them inside the first traced
        step, and TensorFlow traces a function that created variables a
        second time to run it: the whole step traced twice, seconds at the
        start of every `fit`.
        """
        if self.built and self.optimizer is not None and not self.optimizer.built:
            with self.distribute_strategy.scope():
                self.optimizer.build(self.trainable_variables)

    def save(self, filepath, overwrite=True, zipped=None, **kwargs):
        """`keras.Model.save`, with a `.keras` file written atomically.

        The file is written beside `filepath` and takes its name only when
        whole and flushed to the disk, so a save that is killed or fails
        leaves an earlier file at `filepath` as it was. `overwrite=False`
        raises `FileExistsError` where a file exists (Keras would ask at the
        terminal). Any other extension is refused, Keras' legacy HDF5 format
        (`.h5`) among them: such a file loads back only with
        `custom_objects`, where `keras.saving.load_model` reads a `.keras`
        file after `import zoo`. A directory (`zipped=False`) or a remote
        path is Keras' to write, as it does.
        """
        path = _local_path(filepath)
        if path is None or zipped is False:
            return super().save(filepath, overwrite=overwrite, zipped=zipped, **kwargs)
        if not path.endswith(".keras"):
            name = type(self).__name__
            legacy = (
                f" Keras' legacy HDF5 format would load back only with `custom_objects={{{name!r}: zoo.{name}}}`."
                if path.endswith((".h5", ".hdf5"))
                else ""
            )
            raise ValueError(
                f"Cannot save to {path}: `save` writes a `.keras` file, so give the path that extension "
                f"(`keras.saving.load_model` reads it after `import zoo`).{legacy} A preset directory, "
                "which `zoo.load` and the CLI read, is `save_to_preset(DIR)`; a SavedModel, `export(DIR)`."
            )
        _check_overwrite(path, overwrite)
        with atomic_file(path, in_directory=True) as staging:
            super().save(staging, zipped=zipped, **kwargs)

    def save_weights(self, filepath, overwrite=True, max_shard_size=None):
        """`keras.Model.save_weights`, with a `.weights.h5` file written atomically, as `save` writes."""
        path = _local_path(filepath)
        if path is None or max_shard_size is not None or not path.endswith(".weights.h5"):
            return super().save_weights(filepath, overwrite=overwrite, max_shard_size=max_shard_size)
        _check_overwrite(path, overwrite)
        with atomic_file(path, in_directory=True) as staging:
            super().save_weights(staging)
            with h5py.File(staging, "r+") as f:  # what `load_weights` checks the model's against
                for side, digest in self._vocabulary_digests().items():
                    f.attrs[VOCABULARY_ATTRIBUTE.format(side=side)] = digest

    def load_weights(self, filepath, skip_mismatch=False, **kwargs):
        """`keras.Model.load_weights`, the optimizer's state included when the file holds it.

        Keras restores an optimizer's variables only into a built optimizer:
        into a model just loaded or compiled it skipped them, with a warning
        that their counts differ, and training went on with fresh moments.
        So the optimizer is built first, as for a `.keras` file. Weights that
        do not fit (another preset, other settings or vocabulary sizes), a
        preset directory and a preset's own weights file are refused with
        what to load instead. So are weights saved with other vocabularies,
        which Keras loaded where the sizes matched, with every embedding row
        standing for another token; `skip_mismatch=True` loads those with a
        warning.
        """
        path = _local_path(filepath)
        if path is not None:
            # `~` is the home folder, as where `save_weights` wrote.
            filepath = path = os.path.expanduser(path)
            _check_weights_path(path)
            self._check_vocabularies(path, skip_mismatch)
        if self.compiled:
            self._build_optimizer()
        try:
            return super().load_weights(filepath, skip_mismatch=skip_mismatch, **kwargs)
        except ValueError as error:
            if path is None or not path.endswith((".weights.h5", ".keras")):
                raise  # Keras names the formats it reads
            preset = os.path.dirname(os.path.abspath(path))
            if path.endswith(".keras"):
                hint = "It holds a whole model, which `keras.saving.load_model(path)` loads with its own settings."
            elif is_preset_directory(preset):
                hint = (
                    f"It holds the backbone's weights of the preset directory {preset}: "
                    f"`zoo.load({preset!r})` loads that model, `model.backbone.load_weights(path)` "
                    "these weights alone."
                )
            else:
                hint = (
                    "A weights file holds no settings or vocabularies: load it into a model built as "
                    "the one that saved it was (the same preset, settings and training data), or save "
                    "a `.keras` file or a preset directory, which keep them."
                )
            raise ValueError(f"{path}: the weights do not fit this model. {hint}\n{error}") from error

    def _vocabulary_digests(self, config=None):
        """`{side: vocabulary_digest}` of this model, or of the model that `config` (`get_config`'s) describes.

        Empty for a model without vocabularies, and for a config that does
        not describe one. A subclass with vocabularies overrides it.
        """
        return {}

    def _check_vocabularies(self, path, skip_mismatch):
        """Raise where the file at `path` records vocabularies other than this model's."""
        ours = self._vocabulary_digests()
        if not ours:
            return
        if path.endswith(".keras"):
            config = _keras_file_config(path)
            saved = {} if config is None else self._vocabulary_digests(config)
        elif path.endswith(".weights.h5"):
            saved = _recorded_digests(path, ours)
        else:
            return
        other = [side for side in ours if saved.get(side, ours[side]) != ours[side]]
        if not other:
            return
        keep = (
            "`keras.saving.load_model(path)` loads the model it holds, with its vocabularies."
            if path.endswith(".keras")
            else "a weights file holds no vocabularies: save a `.keras` file or a preset directory, which keep them."
        )
        message = (
            f"{path}: vocabulary mismatch: these weights were saved by a model with another "
            f"{' and '.join(other)} vocabulary than this model's (one learned from other training data, "
            "or with another case setting), so each embedding and output row would stand for another "
            f"token here. Load them into a model built from the same training data and settings; {keep}"
        )
        if not skip_mismatch:
            raise ValueError(message)
        warnings.warn(f"{message} Loading them anyway, as `skip_mismatch=True` asks.", stacklevel=3)


def _local_path(filepath):
    """`filepath` as a string when it names a local file, else `None` (a file object, a remote URL)."""
    if not isinstance(filepath, (str, os.PathLike)):
        return None
    path = os.fspath(filepath)
    if not isinstance(path, str) or "://" in path:
        return None
    return path


def _recorded_digests(path, sides):
    """The vocabulary digests `save_weights` recorded in the `.weights.h5` file at `path`, by side.

    Empty for a file without them (Keras' own `save_weights`, a preset's
    backbone weights) and for one h5py cannot open, whose error Keras gives.
    """
    try:
        with h5py.File(path, "r") as f:
            recorded = {side: f.attrs.get(VOCABULARY_ATTRIBUTE.format(side=side)) for side in sides}
    except OSError:
        return {}
    return {side: str(digest) for side, digest in recorded.items() if digest is not None}


def _keras_file_config(path):
    """The model config a `.keras` file holds, or `None` where it cannot be read (Keras then says why)."""
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None
    return config.get("config") if isinstance(config, dict) else None


def _check_overwrite(path, overwrite):
    if not overwrite and os.path.lexists(path):
        raise FileExistsError(f"{path} exists, and `overwrite=False` was given.")


def _check_weights_path(path):
    """Raise unless `path` is a file; a preset directory gets the call that loads it."""
    if os.path.isdir(path):
        if is_preset_directory(path):
            raise IsADirectoryError(
                f"{path} is a directory, not a weights file: a preset directory loads with "
                f"`zoo.load({path!r})`."
            )
        raise IsADirectoryError(f"{path} is a directory, not a weights file.")
    if not os.path.exists(path):
        raise FileNotFoundError(f"No weights file at {path}.")
