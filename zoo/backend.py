"""`zoo` runs on Keras' TensorFlow backend: say so at import, not deep inside a call."""

import os

HOW_TO_SET = (
    "Set the environment variable KERAS_BACKEND=tensorflow before Python starts, "
    'or "backend": "tensorflow" in Keras\' config file (~/.keras/keras.json, or in $KERAS_HOME).'
)


class BackendError(ImportError):
    """Keras is set to a backend other than TensorFlow."""


def require_tensorflow_backend():
    """Raise `BackendError` (an `ImportError`) unless Keras is (or will be) set to the TensorFlow backend.

    Tokenizers run inside the TensorFlow graph (tensorflow-text), the
    pipeline is `tf.data`, and the export is a SavedModel; on another backend
    they would fail deep inside a call instead. Keras
    reads the backend once, at its own import, from `KERAS_BACKEND` or
    `~/.keras/keras.json`; where that backend's package is missing, importing
    Keras fails, and this names the setting rather than the package.
    """
    try:
        import keras
    except ModuleNotFoundError as e:
        if e.name not in ("jax", "jaxlib", "torch", "scipy", "openvino"):
            raise
        backend = os.environ.get("KERAS_BACKEND")
        where = f"KERAS_BACKEND={backend}" if backend else _config_file()
        raise BackendError(
            f"zoo runs on Keras' TensorFlow backend, but Keras is set to another ({where}) and "
            f"could not load it: no module named {e.name!r}. {HOW_TO_SET}"
        ) from e
    backend = keras.config.backend()
    if backend != "tensorflow":
        raise BackendError(
            f"zoo runs on Keras' TensorFlow backend, but Keras is set to {backend!r}. {HOW_TO_SET}"
        )


def _config_file():
    """Where Keras reads its backend from when `KERAS_BACKEND` is not set."""
    return os.path.join(os.environ.get("KERAS_HOME") or os.path.join("~", ".keras"), "keras.json")
