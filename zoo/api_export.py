"""Registers zoo classes for Keras serialization under the `zoo` package."""

import functools

from keras_attention.api_export import keras_attention_export

zoo_export = functools.partial(keras_attention_export, package="zoo")
