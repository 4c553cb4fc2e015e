"""Every `keras_attention` layer in a few small models, for running on more than one Keras backend.

Imports only Keras, NumPy and `keras_attention`, so it runs where TensorFlow
is not the backend. `test_other_backends.py` builds each case under
TensorFlow and saves its weights, inputs and outputs; then

    KERAS_BACKEND=jax python -m tests.keras_attention.portable_cases DIR

builds the same cases under JAX, loads those weights and checks that the
outputs agree, that the decoders' `step` (the generation path) gives the
whole-sequence outputs, and that a gradient reaches every weight.
"""

import pathlib
import sys

import keras
import numpy as np
from keras import ops

import keras_attention as ka

BATCH, SOURCE, TARGET, DIM, VOCABULARY = 2, 5, 4, 8, 20


def _inputs():
    rng = np.random.default_rng(0)
    return {
        "query": rng.normal(size=(BATCH, TARGET, DIM)).astype("float32"),
        "source": rng.normal(size=(BATCH, SOURCE, DIM)).astype("float32"),
        "source_mask": np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool),
        "target_mask": np.array([[1, 1, 1, 1], [1, 1, 0, 0]], bool),
        "token_ids": rng.integers(1, VOCABULARY, size=(BATCH, TARGET)).astype("int32"),
    }


class Attention(keras.Model):
    """Every attention layer over one padded source."""

    def __init__(self):
        super().__init__()
        self.parts = [
            ka.LuongAttention("dot"),
            ka.LuongAttention("general"),
            ka.LuongAttention("concat"),
            ka.BahdanauAttention(6),
            ka.BahdanauAttention(6, score_mode="normalized"),
            ka.ScaledDotProductAttention(),
        ]
        self.multi_head = ka.MultiHeadAttention(num_heads=2, key_dim=4)

    def call(self, inputs):
        query, source, mask = inputs["query"], inputs["source"], inputs["source_mask"]
        outputs = []
        for layer in self.parts:
            context, weights = layer(query, source, value_mask=mask, return_attention_scores=True)
            outputs += [context, weights]
        # keras.layers.Attention's call form.
        outputs.append(self.parts[1]([query, source], mask=[inputs["target_mask"], mask]))
        context, weights = self.multi_head(
            query, source, query_mask=inputs["target_mask"], value_mask=mask, return_attention_scores=True
        )
        return [*outputs, context, weights]


class Recurrent(keras.Model):
    """Encoders of each cell, uni- and bidirectional, and a decoder of each kind over them."""

    DECODERS = [
        ("gru", None, None, False),
        ("lstm", "luong", "general", False),
        ("gru", "luong", "concat", True),
        ("lstm", "bahdanau", "additive", False),
        ("rnn", "luong", "dot", False),
    ]

    def __init__(self):
        super().__init__()
        self.encoders = [
            ka.RecurrentEncoder("gru", units=DIM, num_layers=2, residual=True),
            ka.RecurrentEncoder("lstm", units=DIM, bidirectional=True),
            ka.RecurrentEncoder("rnn", units=DIM, bidirectional=True, merge_mode="sum"),
        ]
        self.decoders = [
            ka.RecurrentDecoder(
                cell, units=DIM, attention=attention, attention_score=score, input_feeding=feeding
            )
            for cell, attention, score, feeding in self.DECODERS
        ]

    def call(self, inputs):
        source, mask = inputs["source"], inputs["source_mask"]
        outputs = []
        for encoder in self.encoders:
            memory, _ = encoder(source, mask=mask)
            outputs.append(memory)
        for decoder in self.decoders:
            decoded, _ = decoder(inputs["query"], memory=outputs[1], memory_mask=mask)
            outputs.append(decoded)
        return outputs


class Transformer(keras.Model):
    """Embedding with each kind of position, and an encoder and a decoder block."""

    def __init__(self):
        super().__init__()
        self.embeddings = [
            ka.TokenAndPositionEmbedding(VOCABULARY, DIM),
            ka.TokenAndPositionEmbedding(VOCABULARY, DIM, position_embedding="learned", max_length=16),
        ]
        self.encoder = ka.TransformerEncoderBlock(2, 16)
        self.decoder = ka.TransformerDecoderBlock(2, 16, normalize_first=False)

    def call(self, inputs):
        embedded = [embedding(inputs["token_ids"]) for embedding in self.embeddings]
        memory = self.encoder(inputs["source"], padding_mask=inputs["source_mask"])
        decoded = self.decoder(
            embedded[0], memory, padding_mask=inputs["target_mask"], memory_mask=inputs["source_mask"]
        )
        return [*embedded, memory, decoded]


CASES = {"attention": Attention, "recurrent": Recurrent, "transformer": Transformer}


def build(name):
    """The case's model, its weights made by a symbolic call (no computation)."""
    keras.utils.set_random_seed(0)
    model = CASES[name]()
    model({key: keras.Input(value.shape[1:], BATCH, str(value.dtype)) for key, value in _inputs().items()})
    return model


def outputs(model):
    """The model's outputs on the cases' inputs, as NumPy arrays."""
    if keras.backend.backend() == "jax":  # one compiled program: JAX compiles each op it runs eagerly
        import jax

        weights = [variable.value for variable in model.trainable_variables]
        others = [variable.value for variable in model.non_trainable_variables]
        results, _ = jax.jit(model.stateless_call)(weights, others, _inputs())
    else:
        results = model(_inputs())
    return [np.asarray(output) for output in results]


def save(directory):
    """Write every case's weights and outputs under the current backend to `directory`."""
    directory = pathlib.Path(directory)
    for name in CASES:
        model = build(name)
        np.savez(directory / f"{name}_weights.npz", *model.get_weights())
        np.savez(directory / f"{name}_outputs.npz", *outputs(model))


def _steps_match_whole_sequences(recurrent, transformer):
    """The decoders' `step`, run one position at a time, gives what their whole-sequence call gives."""
    inputs = _inputs()
    source, mask, query = inputs["source"], inputs["source_mask"], inputs["query"]
    memory, _ = recurrent.encoders[1](source, mask=mask)
    for decoder in recurrent.decoders:
        whole, _ = decoder(query, memory=memory, memory_mask=mask)
        states, previous = decoder.zero_state(BATCH), ops.zeros((BATCH, DIM))
        keys = decoder.project_memory(memory)
        for t in range(TARGET):
            previous, states, _ = decoder.step(query[:, t], states, previous, memory, keys, mask)
            np.testing.assert_allclose(np.asarray(previous), np.asarray(whole)[:, t], atol=1e-5)
    block = transformer.decoder
    target = transformer.embeddings[0](inputs["token_ids"])
    whole = np.asarray(block(target, source, memory_mask=mask))
    memory_keys, memory_values = block.project_memory(source)
    keys = values = ops.zeros((BATCH, TARGET, 2, DIM // 2))
    for t in range(TARGET):
        output, keys, values, _ = block.step(
            target[:, t : t + 1], keys, values, t, memory_keys, memory_values, mask
        )
        np.testing.assert_allclose(np.asarray(output)[:, 0], whole[:, t], atol=1e-5)


def _gradient_reaches_every_weight(model):
    import jax
    import jax.numpy as jnp

    inputs = _inputs()
    trainable = [variable.value for variable in model.trainable_variables]
    non_trainable = [variable.value for variable in model.non_trainable_variables]

    def loss(weights):
        outputs, _ = model.stateless_call(weights, non_trainable, inputs)
        return sum(jnp.sum(jnp.square(output)) for output in outputs)

    for variable, gradient in zip(model.trainable_variables, jax.jit(jax.grad(loss))(trainable)):
        gradient = np.asarray(gradient)
        assert np.all(np.isfinite(gradient)), f"{variable.path}: gradient not finite"
        assert np.any(gradient != 0), f"{variable.path}: no gradient"


def check(directory):
    """Under this backend: the saved weights give the saved outputs; steps and gradients work."""
    directory = pathlib.Path(directory)
    models = {}
    for name in CASES:
        model = build(name)
        with np.load(directory / f"{name}_weights.npz") as saved:
            model.set_weights([saved[f"arr_{i}"] for i in range(len(saved.files))])
        with np.load(directory / f"{name}_outputs.npz") as saved:
            expected = [saved[f"arr_{i}"] for i in range(len(saved.files))]
        got = outputs(model)
        assert len(got) == len(expected), name
        for i, (a, b) in enumerate(zip(got, expected)):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5, err_msg=f"{name} output {i}")
        _gradient_reaches_every_weight(model)
        models[name] = model
    _steps_match_whole_sequences(models["recurrent"], models["transformer"])
    print(f"{keras.backend.backend()}: {', '.join(CASES)} agree; steps and gradients checked")


if __name__ == "__main__":
    check(sys.argv[1])
