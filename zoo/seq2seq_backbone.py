"""The base of every encoder-decoder backbone: its inputs and its decoding interface."""

import difflib
import inspect

import keras

from keras_attention.annotations import Tensor


class Seq2SeqBackbone(keras.Model):
    """Token ids in, logits out, and the interface every generation strategy drives.

    Subclasses are functional models inside a subclass (the KerasHub
    layout) with two named int inputs, `encoder_token_ids` and
    `decoder_token_ids` (0 is padding, `[START]` first on the decoder side),
    and logits `(batch_size, Tt, target_vocabulary_size)` out. They
    implement:

    - `encode(encoder_token_ids, max_length) -> cache`: run the encoder once
      per input and return a dict of (nested) tensors, the batch first,
      including `attention` `(batch_size, Ts)`. What it puts under
      `source` must be the same for every hypothesis of a sentence and
      pass through `next` unchanged: beam search keeps it once per
      sentence, and then `next` gets it with `batch_size / beam_width`
      rows, each serving `beam_width` consecutive rows of the rest;
    - `next(tokens, cache, step) -> (logits, cache)`: one decoding step,
      logits `(batch_size, target_vocabulary_size)`, with this step's
      weights over the source in the cache's `attention`.

    `has_attention` says whether that `attention` is real (a fixed-context
    model leaves it zero).
    """

    has_attention = True
    keras_arguments = ("name", "trainable")  # the keywords a backbone passes on to `keras.Model`

    @classmethod
    def check_keras_arguments(cls, kwargs: dict) -> None:
        """`TypeError` for a keyword that is neither a setting of `cls` nor Keras' `name`/`trainable`.

        A backbone passes `**kwargs` on to `keras.Model`, which ignores
        what it does not know: `hiden_dim=512` would build the default
        size without a word. The message suggests the setting meant.
        """
        unknown = sorted(set(kwargs) - set(cls.keras_arguments))
        if not unknown:
            return
        settings = [
            name
            for name, parameter in inspect.signature(cls.__init__).parameters.items()
            if name != "self" and parameter.kind is not inspect.Parameter.VAR_KEYWORD
        ]
        hints = [
            f"{name!r} (did you mean {close[0]!r}?)" if close else repr(name)
            for name in unknown
            for close in [difflib.get_close_matches(name, settings, n=1)]
        ]
        raise TypeError(
            f"{cls.__name__} got unexpected keyword argument{'s' * (len(unknown) > 1)} "
            f"{', '.join(hints)}. Its settings are {settings}, and Keras' {list(cls.keras_arguments)}."
        )

    def encode(self, encoder_token_ids: Tensor, max_length: int | Tensor | None) -> dict:
        raise NotImplementedError(f"{type(self).__name__} must implement `encode`.")

    def next(self, tokens: Tensor, cache: dict, step: int | Tensor) -> tuple[Tensor, dict]:
        raise NotImplementedError(f"{type(self).__name__} must implement `next`.")

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "source_vocabulary_size": self.source_vocabulary_size,
            "target_vocabulary_size": self.target_vocabulary_size,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
