"""The translation task: raw text pairs in, text out."""

import concurrent.futures
import contextlib
import functools
import threading
from collections.abc import Callable, Sequence
from typing import Any, Literal, Unpack, overload

import keras
import numpy as np
import tensorflow as tf

from keras_attention.checks import check_bool
from zoo.annotations import PathLike, TextPairsLike, Texts, TranslateOptions
from zoo.api_export import zoo_export
from zoo.generation import BeamSearch, DecodingStrategy, get_strategy
from zoo.precision import computing_in
from zoo.seq2seq_preprocessor import Seq2SeqPreprocessor
from zoo.seq2seq_task import Seq2SeqTask
from zoo.source_too_long_error import SourceTooLongError
from zoo.text_inputs import check_texts
from zoo.tokenizers import get_tokenizer_class, tokenizer_name
from zoo.translation import Translation
from zoo.translation_graph import (
    check_max_length_factor,
    count_tokens,
    length_groups,
    translation_graph,
    translations_with_details,
)
from zoo.vocabulary_digest import vocabulary_digest
from zoo.wordpiece_tokenizer import WordPieceTokenizer

# Batches `translate` decodes at once (see there).
BATCHES_IN_FLIGHT = 2
# Held while a compiled function is made, so that threads share it.
_FUNCTIONS_LOCK = threading.RLock()


@zoo_export("Translator")
class Translator(Seq2SeqTask):
    """A sequence-to-sequence model that reads and writes text.

    Wraps a backbone (token ids -> logits) and the `Seq2SeqPreprocessor`
    that holds both tokenizers. `fit` and `evaluate` take raw text pairs,
    `translate` returns strings, `export` writes a SavedModel that maps
    strings to strings. Compiled on construction with masked
    cross-entropy, masked accuracy and Adam, so `fit` needs no `compile`.

    Args:
        backbone: a `Seq2SeqBackbone`: a model with `encode(ids, max_length) -> cache` and
            `next(tokens, cache, step) -> (logits, cache)`, such as
            `RecurrentSeq2Seq`.
        preprocessor: a `Seq2SeqPreprocessor`.

    Example:

    >>> model = zoo.load("gru_luong", train_data=(sources, targets))
    >>> model.fit((sources, targets), epochs=5)
    >>> model.translate("¿Todavía está en casa?")
    >>> model.translate("¿Todavía está en casa?", beam_width=4)
    """

    def __init__(self, backbone, preprocessor, **kwargs):
        # === Layers ===
        self.backbone = backbone
        self.preprocessor = preprocessor
        limit = getattr(backbone, "max_sequence_length", None)
        longest = max(preprocessor.max_source_length, preprocessor.max_target_length + 1)
        if limit is not None and longest > limit:
            raise ValueError(
                f"The backbone reads at most max_sequence_length={limit} positions, but the "
                f"preprocessor allows {longest} (max_source_length={preprocessor.max_source_length}, "
                f"max_target_length={preprocessor.max_target_length} plus [START])."
            )

        # === Functional Model ===
        inputs = {
            "encoder_token_ids": keras.Input(shape=(None,), dtype="int32", name="encoder_token_ids"),
            "decoder_token_ids": keras.Input(shape=(None,), dtype="int32", name="decoder_token_ids"),
        }
        super().__init__(inputs=inputs, outputs=backbone(inputs), **kwargs)
        self._translate_functions = {}
        self._source_lengths = None
        self.compile()

    # --- Translation ------------------------------------------------------

    # The result's type follows the input (one sentence or a list) and `return_attention`.
    # A strategy with `num_hypotheses > 1` gives an n-best list in place of each result,
    # which no signature can tell apart: hence `| Any` rather than a union to unpick.
    @overload
    def translate(
        self,
        sentences: str | bytes,
        strategy: DecodingStrategy | str | None = None,
        *,
        return_attention: Literal[False] = False,
        **options: Unpack[TranslateOptions],
    ) -> str | Any: ...

    @overload
    def translate(
        self,
        sentences: str | bytes,
        strategy: DecodingStrategy | str | None = None,
        *,
        return_attention: Literal[True],
        **options: Unpack[TranslateOptions],
    ) -> Translation | Any: ...

    @overload
    def translate(
        self,
        sentences: Texts,
        strategy: DecodingStrategy | str | None = None,
        *,
        return_attention: Literal[False] = False,
        **options: Unpack[TranslateOptions],
    ) -> list[str] | Any: ...

    @overload
    def translate(
        self,
        sentences: Texts,
        strategy: DecodingStrategy | str | None = None,
        *,
        return_attention: Literal[True],
        **options: Unpack[TranslateOptions],
    ) -> list[Translation] | Any: ...

    @overload
    def translate(
        self,
        sentences: Texts,
        strategy: DecodingStrategy | str | None = None,
        *,
        return_attention: bool,
        **options: Unpack[TranslateOptions],
    ) -> Any: ...

    def translate(
        self,
        sentences: Texts,
        strategy: DecodingStrategy | str | None = None,
        *,
        beam_width: int | None = None,
        max_length: int | None = None,
        max_length_factor: float | None = None,
        batch_size: int = 64,
        return_attention: bool = False,
        truncate: bool = False,
        replace_unknown: bool = False,
    ) -> str | Translation | list[str] | list[Translation] | list[list[str]] | list[list[Translation]]:
        """Translate a string or a list of strings.

        An empty (or whitespace-only) sentence translates to `""`. A sentence
        longer than the preprocessor's `max_source_length` tokens is an error
        (`SourceTooLongError`), or with `truncate=True` is cut to that many.
        Sentences are decoded `batch_size` at a time, grouped by length (so
        short sentences do not wait for long ones) and returned in the order
        given.

        Args:
            sentences: a string or a list of strings: `str`, UTF-8 `bytes` (as
                `tf.data` gives them) or a `tf.string` tensor; or a finite
                `tf.data.Dataset` of strings, batched or not (a list back).
            strategy: how to decode: a `zoo.generation.DecodingStrategy`
                (`GreedySearch()`, `BeamSearch(...)`, `RandomSampling(...)`)
                or one of the names `"greedy"` (the default), `"beam"`,
                `"sample"` with default settings.
            beam_width: shorthand for `strategy=BeamSearch(beam_width=...)`.
            max_length: most tokens generated per sentence (`[END]`
                included); the preprocessor's `max_target_length` + 1 by
                default.
            max_length_factor: a limit for each sentence as well, from its
                length: a source of `n` tokens generates at most
                `ceil(max_length_factor * n) + 1` tokens, counted as
                `max_length` counts them (Marian's `--max-length-factor`).
                It stops the rare output that repeats itself until
                `max_length`, holding up the batch it is in. `None` (the
                default) sets none; 2 to 3 suits word-level translation.
            batch_size: sentences decoded together.
            return_attention: if `True`, return `Translation` objects with
                the score, the tokens and the attention weights of the
                chosen hypothesis.
            truncate: if `True`, translate the first `max_source_length`
                tokens of an over-long sentence, as the exported model does,
                instead of raising.
            replace_unknown: if `True`, write each `[UNK]` of a translation
                as the source word it attended to most (Luong et al. 2015's
                unknown-word replacement): a name outside the target
                vocabulary is copied rather than lost. Needs attention and a
                word or character tokenizer; the `Translation`'s
                `output_tokens` keep `[UNK]`.

        Returns:
            A string per sentence (a single string for a single sentence), or
            `Translation` objects with `return_attention=True`; with a
            strategy that returns `num_hypotheses > 1`, a list of them per
            sentence, best first.
        """
        # One sentence: a str, UTF-8 bytes, or a scalar tf.string tensor or NumPy array.
        if tf.is_tensor(sentences) and sentences.shape.rank == 0:
            sentences = sentences.numpy()  # bytes
        if isinstance(sentences, np.ndarray) and sentences.ndim == 0:
            sentences = sentences.item()
        single = isinstance(sentences, (str, bytes))
        sentences = check_texts([sentences] if single else sentences, "source")
        strategy = self.check_strategy(strategy, beam_width)
        max_length = self.check_max_length(max_length)
        max_length_factor = check_max_length_factor(max_length_factor)
        replace_unknown = self.check_replace_unknown(replace_unknown)
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"`batch_size` must be a positive int, received {batch_size!r}.")
        if not isinstance(truncate, (bool, np.bool_)):
            raise ValueError(f"`truncate` must be True or False, received {truncate!r}.")
        if not sentences:
            return []
        check_lengths = (lambda lengths: None) if truncate else self._check_source_lengths
        function = self.translate_function(strategy, return_attention, max_length_factor, replace_unknown)
        seed = strategy.call_seed()

        def decode(start, batch):
            outputs = function(
                tf.constant([sentences[i] for i in batch]),
                tf.constant(max_length, tf.int32),
                tf.constant([seed[0], seed[1] + start], tf.int32),  # the batch's own stream of draws
            )
            outputs = {key: value.numpy() for key, value in outputs.items()}
            texts = [[t.decode("utf-8") for t in row] for row in outputs["translations"]]
            if return_attention:
                texts = translations_with_details(self.preprocessor, texts, outputs)
            return texts, outputs["source_lengths"]

        if len(sentences) <= batch_size:
            # One batch needs no grouping: the graph counts the source tokens
            # as it reads them, which spares a second tokenizing call (2% of
            # a greedy batch of 64), and an over-long sentence is refused
            # before anything is returned.
            batches = [np.arange(len(sentences))]
            texts, lengths = decode(0, batches[0])
            check_lengths(lengths)
            decoded = [texts]
        else:
            lengths = self.source_lengths(sentences)
            check_lengths(lengths)
            batches = length_groups(lengths, batch_size)
            # A decoding step is a chain of small ops, which leaves a core
            # idle much of the time; a second batch in flight fills it (+37%
            # greedy sentences/s over 1,024 sentences on 2 cores; a third
            # batch was slower). Each batch's result does not depend on the
            # other's.
            starts = [b * batch_size for b in range(len(batches))]
            with concurrent.futures.ThreadPoolExecutor(BATCHES_IN_FLIGHT) as pool:
                decoded = [texts for texts, _ in pool.map(decode, starts, batches)]
        results: list = [None] * len(sentences)
        for batch, texts in zip(batches, decoded):
            for i, row in zip(batch, texts):
                results[i] = row[0] if strategy.num_hypotheses == 1 else row
        return results[0] if single else results

    def source_lengths(self, sentences: Sequence[str]) -> np.ndarray:
        """Source tokens per sentence, an int array (one compiled call)."""
        with _FUNCTIONS_LOCK:
            if self._source_lengths is None:
                self._source_lengths = tf.function(
                    functools.partial(
                        count_tokens, self.preprocessor.source_tokenizer
                    ),  # see `translate_function`
                    input_signature=[tf.TensorSpec([None], tf.string)],
                    autograph=False,
                )
                self._source_lengths.get_concrete_function()  # see `translate_function`
        return self._source_lengths(tf.constant(sentences)).numpy()

    def _check_source_lengths(self, lengths):
        limit = self.preprocessor.max_source_length
        too_long = np.flatnonzero(lengths > limit)
        if too_long.size:
            raise SourceTooLongError(int(too_long[0]), int(lengths[too_long[0]]), limit, too_long.size)

    def check_strategy(
        self, strategy: DecodingStrategy | str | None = None, beam_width: int | None = None
    ) -> DecodingStrategy:
        """The `DecodingStrategy` that `strategy` and `beam_width` name, checked against this model."""
        if beam_width is not None:
            if strategy is not None:
                raise ValueError("Pass either `beam_width` or `strategy`, not both.")
            strategy = BeamSearch(beam_width=beam_width)
        strategy = get_strategy(strategy)
        if getattr(strategy, "coverage_penalty", 0) and not self.backbone.has_attention:
            raise ValueError(
                f"`coverage_penalty` reads the attention weights, and this {self.backbone.name} has no "
                "attention; use coverage_penalty=0."
            )
        return strategy

    def check_max_length(self, max_length: int | None) -> int:
        """`max_length`, or the default when `None`; `ValueError` if the model cannot produce it."""
        if max_length is None:
            return self.preprocessor.max_target_length + 1
        if not isinstance(max_length, (int, np.integer)) or max_length < 1:
            raise ValueError(f"`max_length` must be a positive int, received {max_length!r}.")
        limit = getattr(self.backbone, "max_sequence_length", None)
        if limit is not None and max_length > limit:
            raise ValueError(
                f"`max_length` is {max_length}, but this model has positions for at most "
                f"{limit} output tokens (max_sequence_length)."
            )
        return int(max_length)

    def translate_function(
        self,
        strategy: DecodingStrategy | str | None = None,
        return_attention: bool = True,
        max_length_factor: float | None = None,
        replace_unknown: bool = False,
    ) -> Callable[[tf.Tensor, tf.Tensor, tf.Tensor], dict[str, tf.Tensor]]:
        """The compiled `(strings (batch,), max_length, seed (2,)) -> dict` graph of `strategy`.

        Traced once per strategy (a frozen dataclass, so equal settings share
        a graph), `return_attention`, `max_length_factor` and
        `replace_unknown`, for every batch size and length.
        """
        strategy = get_strategy(strategy)
        max_length_factor = check_max_length_factor(max_length_factor)
        replace_unknown = self.check_replace_unknown(replace_unknown)
        key = (strategy, bool(return_attention), max_length_factor, replace_unknown)
        with _FUNCTIONS_LOCK:  # threads translating at once share one function
            if key not in self._translate_functions:
                # A partial, not a lambda: TensorFlow counts traces by the
                # code of the Python function, so the lambda of every
                # strategy and model counted as one function, and a session
                # that tried six decoding settings was warned of "excessive
                # retracing". No autograph: the loops are explicit
                # tf.while_loops, and autograph would re-read (and could
                # misread) the source files.
                self._translate_functions[key] = tf.function(
                    functools.partial(
                        self._translate_strings,
                        strategy=strategy,
                        return_attention=return_attention,
                        max_length_factor=max_length_factor,
                        replace_unknown=replace_unknown,
                    ),
                    autograph=False,
                    input_signature=[
                        tf.TensorSpec([None], tf.string, name="text"),
                        tf.TensorSpec([], tf.int32, name="max_length"),
                        tf.TensorSpec([2], tf.int32, name="seed"),
                    ],
                )
                # Traced here, once: threads that call a new function at the
                # same moment would each trace it.
                self._translate_functions[key].get_concrete_function()
            return self._translate_functions[key]

    def _translate_strings(
        self, texts, max_length, seed, strategy, return_attention, max_length_factor, replace_unknown
    ):
        return self.translate_graph(
            texts, max_length, strategy, seed, return_attention, max_length_factor, replace_unknown
        )

    def translate_graph(
        self,
        texts: tf.Tensor,
        max_length: int | tf.Tensor,
        strategy: DecodingStrategy | str | None = None,
        seed: tf.Tensor | None = None,
        return_attention: bool = True,
        max_length_factor: float | None = None,
        replace_unknown: bool = False,
    ) -> dict[str, tf.Tensor]:
        """Strings `(batch,)` -> the n-best and what produced them, as TF ops.

        Sources are cut to `max_source_length` tokens (the exported model's
        defined result for over-long input); empty sources give `""` and
        score 0. With `max_length_factor`, a sentence of `n` source tokens
        also generates at most `ceil(max_length_factor * n) + 1` tokens (see
        `translate`). With `replace_unknown`, the translations write each
        `[UNK]` as the source word it attended to most (see `translate`).

        Returns:
            A dict: `translations` string `(batch, n)`, `scores` `(batch,
            n)`, `tokens` int32 `(batch, n, steps)`, `attention` `(batch, n,
            steps, Ts)`, the `source_ids` `(batch, Ts)` they refer to, and
            `source_lengths` `(batch,)`, each source's tokens before the cut.
        """
        # Checked here too, for callers who trace it themselves (once per trace):
        # without attention it would copy the first source word.
        replace_unknown = self.check_replace_unknown(replace_unknown)
        return translation_graph(
            self.backbone,
            self.preprocessor,
            texts,
            max_length,
            strategy,
            seed,
            return_attention,
            max_length_factor,
            replace_unknown,
        )

    def check_replace_unknown(self, replace_unknown: bool) -> bool:
        """`replace_unknown`, checked: a bool, and `True` only for a model it can work with."""
        check_bool("replace_unknown", replace_unknown)
        if replace_unknown and not self.backbone.has_attention:
            raise ValueError(
                f"`replace_unknown` copies the source word that an [UNK] attended to, and this "
                f"{self.backbone.name} has no attention."
            )
        if replace_unknown and isinstance(self.preprocessor.source_tokenizer, WordPieceTokenizer):
            raise ValueError(
                "`replace_unknown` needs a word or character tokenizer: WordPiece attends over the "
                "pieces of words, not the words to copy (and its [UNK] is rare: a character it has "
                "never seen)."
            )
        return replace_unknown

    # --- Saving -----------------------------------------------------------

    def export(
        self,
        path: PathLike,
        max_length: int | None = None,
        strategy: DecodingStrategy | str | None = None,
        *,
        beam_width: int | None = None,
        return_attention: bool = False,
        max_length_factor: float | None = None,
        replace_unknown: bool = False,
        format: str = "tf_saved_model",
        verbose: bool = False,
    ) -> None:
        """Write a SavedModel that translates strings; see `zoo.export.export_translator`.

        `format` is there for Keras' `Model.export` callers: only
        `"tf_saved_model"`, since the tokenizers are tensorflow-text ops.
        `verbose=True` prints where the export went and its signature.
        """
        from zoo.export import export_translator

        if format != "tf_saved_model":
            raise ValueError(
                f"`format` must be 'tf_saved_model', received {format!r}: the export takes strings and "
                "tokenizes them with tensorflow-text ops, which only a TensorFlow SavedModel holds."
            )
        if isinstance(max_length, str):
            raise TypeError(
                f"`export`'s second argument is `max_length`, received {max_length!r}; "
                "the format is a keyword here: `export(path, format='tf_saved_model')`."
            )
        outputs = export_translator(
            self,
            path,
            max_length=max_length,
            strategy=strategy,
            beam_width=beam_width,
            return_attention=return_attention,
            max_length_factor=max_length_factor,
            replace_unknown=replace_unknown,
        )
        if verbose:
            print(
                f"Saved a SavedModel at {path}: serving_default(text: tf.string[None]) -> {', '.join(outputs)}"
            )

    @classmethod
    def from_preset(
        cls,
        preset: PathLike,
        train_data: TextPairsLike | None = None,
        dtype: str | None = None,
        **overrides: Any,
    ) -> "Translator":
        """`zoo.load(preset, ...)`, under the name KerasHub's tasks give it; see `zoo.preset_io.load`.

        `preset` is a built-in name (with `train_data` to learn the
        vocabularies from) or a directory written by `save_to_preset`.
        """
        from zoo.preset_io import load

        return load(preset, train_data=train_data, dtype=dtype, **overrides)

    def save_to_preset(self, path: PathLike) -> None:
        """Write a preset directory that `zoo.load(path)` restores; see `zoo.preset_io`."""
        from zoo.preset_io import save_to_preset

        save_to_preset(self, path)

    def get_config(self):
        return {
            "name": self.name,
            "backbone": keras.saving.serialize_keras_object(self.backbone),
            "preprocessor": self.preprocessor.get_config(),
            "tokenizer": tokenizer_name(self.preprocessor.source_tokenizer),
            "lowercase": self.preprocessor.source_tokenizer.lowercase,
            "source_vocabulary": list(self.preprocessor.source_tokenizer.vocabulary),
            "target_vocabulary": list(self.preprocessor.target_tokenizer.vocabulary),
            # For a `.keras` file: a model saved in mixed precision loads in it (a preset records none).
            "dtype": self.dtype_policy.name,
        }

    def _vocabulary_digests(self, config=None):
        config = self.get_config() if config is None else config
        try:
            lowercase = check_bool("lowercase", config.get("lowercase", True))
            return {
                side: vocabulary_digest(config[f"{side}_vocabulary"], lowercase)
                for side in ("source", "target")
            }
        except (AttributeError, KeyError, TypeError, ValueError):
            return {}  # not a translator's config: Keras' loading says what does not fit

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        dtype = config.pop("dtype", None)  # files saved before it was recorded: the global policy
        tokenizer_class = get_tokenizer_class(config.pop("tokenizer", "word"))
        lowercase = config.pop("lowercase", True)  # files saved before the setting lowercased
        preprocessor = Seq2SeqPreprocessor(
            tokenizer_class(config.pop("source_vocabulary"), lowercase=lowercase),
            tokenizer_class(config.pop("target_vocabulary"), lowercase=lowercase),
            **config.pop("preprocessor"),
        )
        with contextlib.nullcontext() if dtype is None else computing_in(dtype):
            backbone = keras.saving.deserialize_keras_object(config.pop("backbone"))
            return cls(backbone, preprocessor, **config)
