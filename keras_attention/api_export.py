"""One decorator that names the public API and registers it for serialization."""

import keras

PACKAGE = "keras_attention"

# Public name -> class, filled by `keras_attention_export`; tests check that
# every entry is importable from the top-level package.
PUBLIC_API: dict[str, type] = {}


def keras_attention_export(name, package=PACKAGE):
    """Register `cls` as `<package>>name` for Keras serialization.

    A model that uses the class then loads from `.keras` or a preset without
    `custom_objects`.
    """

    def decorator(cls):
        keras.saving.register_keras_serializable(package=package, name=name)(cls)
        if package == PACKAGE:
            PUBLIC_API[name] = cls
        return cls

    return decorator
