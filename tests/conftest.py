import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import keras  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)


# Twelve short Spanish -> English pairs: enough for a tiny model to overfit.
TOY_SOURCES = [
    "el gato come",
    "el perro duerme",
    "la casa es grande",
    "hola",
    "el gato duerme",
    "el perro come",
    "la casa es pequeña",
    "¿dónde está el gato?",
    "buenos días",
    "la casa",
    "el perro",
    "adiós",
]
TOY_TARGETS = [
    "the cat eats",
    "the dog sleeps",
    "the house is big",
    "hello",
    "the cat sleeps",
    "the dog eats",
    "the house is small",
    "where is the cat?",
    "good morning",
    "the house",
    "the dog",
    "goodbye",
]
TINY = {"hidden_dim": 16, "embedding_dim": 8}
# Tiny sizes for every backbone: each preset takes the keys it has.
TINY_ANY = {**TINY, "intermediate_dim": 32, "num_heads": 2, "num_layers": 1}


def tiny(preset):
    """Overrides that shrink the built-in `preset` for a fast test."""
    import zoo

    config = zoo.get_preset(preset)["backbone"]["config"]
    return {key: value for key, value in TINY_ANY.items() if key in config}


@pytest.fixture(scope="session")
def toy_pairs():
    return TOY_SOURCES, TOY_TARGETS


@pytest.fixture(scope="session")
def trained_translator(toy_pairs):
    """A tiny gru_luong trained until it reproduces the toy pairs."""
    import tensorflow as tf

    import zoo

    keras.utils.set_random_seed(0)
    model = zoo.load("gru_luong_small", train_data=toy_pairs, **TINY)
    model.compile(optimizer=keras.optimizers.Adam(0.02))
    # One long epoch: Keras' per-epoch overhead dominates on data this small.
    batches = tf.data.Dataset.from_tensor_slices(toy_pairs).shuffle(12, seed=0).batch(4).repeat()
    model.fit(batches, epochs=1, steps_per_epoch=200, verbose=0)
    return model
