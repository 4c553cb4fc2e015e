"""Transformer blocks and position embeddings."""

from keras_attention.transformer.feed_forward import FeedForward
from keras_attention.transformer.token_and_position_embedding import (
    POSITION_EMBEDDINGS,
    TokenAndPositionEmbedding,
    sinusoidal_positions,
)
from keras_attention.transformer.transformer_decoder_block import TransformerDecoderBlock
from keras_attention.transformer.transformer_encoder_block import TransformerEncoderBlock

__all__ = [
    "POSITION_EMBEDDINGS",
    "FeedForward",
    "TokenAndPositionEmbedding",
    "TransformerDecoderBlock",
    "TransformerEncoderBlock",
    "sinusoidal_positions",
]
