"""Token embeddings plus sinusoidal or learned position embeddings."""

import math

import keras
from keras import ops

from keras_attention.annotations import Tensor
from keras_attention.api_export import keras_attention_export

POSITION_EMBEDDINGS = ("sinusoidal", "learned")


def sinusoidal_positions(positions: Tensor, dim: int, dtype: str = "float32") -> Tensor:
    """The encoding of Vaswani et al. (2017), section 3.5, at `positions`.

    Args:
        positions: int `(T,)`.
        dim: even int, the embedding size.

    Returns:
        `(T, dim)`: `sin(pos / 10000^(2i/dim))` in the first half of the
        features and `cos` of the same angles in the second half.
    """
    inverse_frequencies = ops.exp(
        ops.arange(0, dim // 2, dtype="float32") * (-2.0 * math.log(10000.0) / dim)
    )  # (dim / 2,)
    angles = ops.expand_dims(ops.cast(positions, "float32"), 1) * inverse_frequencies  # (T, dim / 2)
    return ops.cast(ops.concatenate([ops.sin(angles), ops.cos(angles)], axis=-1), dtype)


@keras_attention_export("TokenAndPositionEmbedding")
class TokenAndPositionEmbedding(keras.layers.Layer):
    """Token embeddings scaled by `sqrt(dim)` plus position embeddings.

    Args:
        vocabulary_size: int, rows of the token embedding.
        embedding_dim: int, the embedding size (even for sinusoidal).
        position_embedding: `"sinusoidal"` (fixed, any length) or `"learned"`
            (a trained row per position, up to `max_length`).
        max_length: int, the most positions a learned embedding has.
        **kwargs: passed on to `keras.layers.Layer`.

    Call arguments:
        token_ids: int `(batch_size, T)`.
        start_index: int scalar, the position of the first token; a
            decoder generating one token at a time passes its step.

    Returns:
        `(batch_size, T, embedding_dim)`.

    Example:

    >>> layer = TokenAndPositionEmbedding(100, 8)
    >>> layer(np.array([[5, 6, 7]])).shape
    (1, 3, 8)
    """

    def __init__(
        self, vocabulary_size, embedding_dim, position_embedding="sinusoidal", max_length=512, **kwargs
    ):
        super().__init__(**kwargs)
        if position_embedding not in POSITION_EMBEDDINGS:
            raise ValueError(
                f"Unknown `position_embedding`: {position_embedding!r}. "
                f"Expected one of {', '.join(map(repr, POSITION_EMBEDDINGS))}."
            )
        if position_embedding == "sinusoidal" and embedding_dim % 2:
            raise ValueError(f"Sinusoidal positions need an even `embedding_dim`; received {embedding_dim}.")
        if min(vocabulary_size, embedding_dim, max_length) < 1:
            raise ValueError(
                "`vocabulary_size`, `embedding_dim` and `max_length` must be >= 1; received "
                f"{vocabulary_size}, {embedding_dim}, {max_length}."
            )
        self.vocabulary_size = vocabulary_size
        self.embedding_dim = embedding_dim
        self.position_embedding = position_embedding
        self.max_length = max_length

    def build(self, token_ids_shape):
        self.token_embedding = keras.layers.Embedding(
            self.vocabulary_size, self.embedding_dim, dtype=self.dtype_policy, name="token_embedding"
        )
        self.token_embedding.build(token_ids_shape)
        if self.position_embedding == "learned":
            self.learned_positions = keras.layers.Embedding(
                self.max_length, self.embedding_dim, dtype=self.dtype_policy, name="position_embedding"
            )
            self.learned_positions.build((None,))
        self.built = True

    def call(self, token_ids, start_index=0):
        x = self.token_embedding(token_ids) * math.sqrt(self.embedding_dim)  # (batch, T, dim)
        positions = ops.arange(ops.shape(token_ids)[1]) + start_index  # (T,)
        if self.position_embedding == "learned":
            length = token_ids.shape[1]
            if length is not None and isinstance(start_index, int) and start_index + length > self.max_length:
                # A gather past the table is an error on the CPU but reads
                # zeros on a GPU, so say it here where the shape is known.
                raise ValueError(
                    f"Learned positions go up to max_length={self.max_length}; received {length} tokens"
                    + (f" from position {start_index}" if start_index else "")
                    + ". Build the layer with a larger `max_length`, or use sinusoidal positions."
                )
            return x + self.learned_positions(positions)
        return x + sinusoidal_positions(positions, self.embedding_dim, x.dtype)

    def compute_output_shape(self, token_ids_shape):
        return tuple(token_ids_shape) + (self.embedding_dim,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "embedding_dim": self.embedding_dim,
                "position_embedding": self.position_embedding,
                "max_length": self.max_length,
            }
        )
        return config
