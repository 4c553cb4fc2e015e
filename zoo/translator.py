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
from keras import ops

from keras_attention.checks import check_bool, check_int
from zoo.annotations import PathLike, TextPairsLike, Texts, TranslateOptions
from zoo.api_export import zoo_export
from zoo.compile_arguments import check_loss_takes_logits, with_token_metrics
from zoo.fused_adam import FusedAdam
from zoo.generation import BeamSearch, DecodingStrategy, get_strategy
from zoo.length_grouping import length_grouped_batches
from zoo.perplexity import Perplexity
from zoo.seq2seq_preprocessor import Seq2SeqPreprocessor
from zoo.sequence_cross_entropy import SequenceCrossEntropy
from zoo.source_too_long_error import SourceTooLongError
from zoo.target_tokens import TargetTokens
from zoo.text_inputs import (
    check_no_weights,
    check_not_text,
    check_text_pairs,
    check_texts,
    is_string_pair_spec,
    is_text,
    not_string_pairs,
    pair_up,
    split_off_validation,
)
from zoo.token_accuracy import TokenAccuracy
from zoo.token_weighted_loss import TokenWeightedLoss
from zoo.tokenizer import END_ID, PAD_ID, START_ID, UNK_ID
from zoo.tokenizers import get_tokenizer_class, tokenizer_name
from zoo.translation import Translation
from zoo.wordpiece_tokenizer import WordPieceTokenizer

# Batches `translate` decodes at once (see there).
BATCHES_IN_FLIGHT = 2
# Held while a compiled function is made, so that threads share it.
_FUNCTIONS_LOCK = threading.RLock()


@zoo_export("Translator")
class Translator(keras.Model):
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

    def compile(
        self,
        optimizer="auto",
        loss="auto",
        metrics=None,
        weighted_metrics="auto",
        label_smoothing=0.0,
        **kwargs,
    ):
        """`keras.Model.compile` with defaults for translation.

        `"auto"` means Adam (`zoo.FusedAdam`: learning rate 1e-3, gradient
        norm clipped to 1); `SequenceCrossEntropy` averaged over real target tokens, with
        `label_smoothing`; and, over real target tokens, accuracy,
        perplexity and the token count behind the tokens/s figure. Padding
        is weighted 0 by the preprocessor, so a loss of your own gets those
        weights: with Keras' `reduction="mean_with_sample_weight"` it is a
        mean over real target tokens, as the default is. So do `metrics`,
        which are added to the weighted metrics (in Keras' `metrics` they
        would count padding as tokens); `metrics=["accuracy"]` is the
        default accuracy, kept once. A Keras loss or metric that reads
        probabilities (`from_logits=False`, as
        `"sparse_categorical_crossentropy"` means) is refused: the model
        outputs logits.
        """
        if optimizer == "auto":
            optimizer = FusedAdam(learning_rate=1e-3, clipnorm=1.0)
        # What `get_compile_config` saves: the arguments as given (the
        # optimizer resolved, for its state), so a loaded model compiles as
        # this one did; kept once the compile has succeeded.
        given = dict(
            optimizer=optimizer,
            loss=loss,
            metrics=metrics,
            weighted_metrics=weighted_metrics,
            label_smoothing=label_smoothing,
            **kwargs,
        )
        if loss == "auto":
            loss = SequenceCrossEntropy(label_smoothing=label_smoothing)
        elif label_smoothing:
            raise ValueError("`label_smoothing` applies to the default loss only; pass loss='auto'.")
        else:
            check_loss_takes_logits(loss)
        if isinstance(weighted_metrics, str) and weighted_metrics == "auto":
            weighted_metrics = [
                TokenAccuracy(),
                # Reads the cross-entropy the loss computed for the same logits.
                Perplexity(loss=loss if isinstance(loss, SequenceCrossEntropy) else None),
                TargetTokens(),
            ]
        weighted_metrics = with_token_metrics(weighted_metrics, metrics)
        super().compile(optimizer=optimizer, loss=loss, weighted_metrics=weighted_metrics, **kwargs)
        if isinstance(getattr(self, "_loss_tracker", None), keras.metrics.Mean):
            # The `loss` in the logs, over all tokens as the metrics are.
            # Set past Keras' attribute tracking, as Keras sets its own
            # tracker: tracked, it would also be listed among the model's
            # other metrics, so `metrics_names` and `evaluate`'s list held a
            # second "loss", and each `compile` added one more.
            object.__setattr__(self, "_loss_tracker", TokenWeightedLoss(name=self._loss_tracker.name))
        # Past Keras' attribute tracking too, which would list the metrics in it among the model's own.
        object.__setattr__(self, "_compile_arguments", given)

    def get_compile_config(self):
        """What `compile_from_config` needs to compile a loaded model as this one is.

        Every argument `compile` was given: the optimizer (without it Keras
        skips the optimizer's saved state, its step and Adam's moments, when
        a `.keras` file is loaded, and a model saved mid-training went on
        with a fresh one), the loss, the metrics and the label smoothing. A
        loss or metric of your own loads as any Keras object does: registered
        with `keras.saving.register_keras_serializable`, or passed to
        `load_model` in `custom_objects`.
        """
        arguments = getattr(self, "_compile_arguments", None)
        if not self.compiled or arguments is None:
            return None
        return arguments

    def compile_from_config(self, config):
        try:
            config = keras.saving.deserialize_keras_object(config)
        except (TypeError, ValueError) as error:
            raise type(error)(
                f"The model's compile settings cannot be loaded here: {error}\nRegister a loss or metric "
                "of your own with `keras.saving.register_keras_serializable()` (or pass it in "
                "`load_model(..., custom_objects=...)`), or load with `compile=False`: the model then "
                "comes compiled with the defaults."
            ) from error
        self.compile(**config)
        if self.built:
            self.optimizer.build(self.trainable_variables)  # so the saved state has variables to go to

    # --- Training on text -------------------------------------------------

    def fit(self, x=None, y=None, batch_size=64, validation_data=None, shuffle=True, **kwargs):
        """`keras.Model.fit` on text pairs.

        `x` (and `validation_data`) may be a `(sources, targets)` pair of
        string lists, an object with `to_tf_dataset(preprocessor, ...)`
        (such as `training.TextPairs`, which buckets by length over the
        whole data and gives an exactly resumable order; see
        `training.pipeline`), a `tf.data.Dataset` of `(source, target)`
        strings, batched or not, or a dataset that is already tokenized.
        Lists and a dataset of single pairs are batched by length within
        windows (`zoo.length_grouping`), so batches carry little padding;
        a batched dataset is used as batched. As in Keras, `x` may hold the
        source sentences and `y` the target sentences; token ids with `y`
        (and `sample_weight`) pass through to Keras. `validation_split`
        holds out the last pairs as given, as Keras does (pairs in memory
        only; `TextPairs.split` is the split that keeps a source on one side).
        A pair with an empty side raises `ValueError` before a step (in a
        dataset of strings, `InvalidArgumentError` when the pair is read).
        """
        if y is not None:
            if not (is_text(x) or is_text(y)):
                return super().fit(
                    x, y, batch_size=batch_size, validation_data=validation_data, shuffle=shuffle, **kwargs
                )
            x = pair_up(x, y)
        check_no_weights(x, kwargs)
        validation_split = kwargs.pop("validation_split", 0.0)
        if validation_split and validation_data is None:
            x, validation_data = split_off_validation(x, validation_split)
        if hasattr(x, "to_tf_dataset") and shuffle:
            # An endless stream of reshuffled epochs that starts at the
            # optimizer's step: a run restored from a checkpoint continues
            # with exactly the batches the interrupted run would have read.
            kwargs.setdefault("steps_per_epoch", x.batches_per_epoch(self.preprocessor, batch_size))
            x = x.to_tf_dataset(
                self.preprocessor, batch_size=batch_size, shuffle=True, start_step=self.optimizer.iterations
            )
        else:
            x = self._as_dataset(x, batch_size, shuffle)
        if validation_data is not None:
            validation_batch_size = kwargs.pop("validation_batch_size", None)
            validation_batch_size = batch_size if validation_batch_size is None else validation_batch_size
            check_int("validation_batch_size", validation_batch_size, 1)
            validation_data = self._as_dataset(
                validation_data, validation_batch_size, False, "validation_data"
            )
        if isinstance(kwargs.get("callbacks"), (list, tuple)):
            # Callbacks that add figures to the epoch's logs (`writes_epoch_logs`,
            # as ValidationBleu's `val_bleu`) run first, so EarlyStopping,
            # ModelCheckpoint or CSVLogger see them wherever they are listed.
            kwargs["callbacks"] = sorted(
                kwargs["callbacks"], key=lambda callback: not getattr(callback, "writes_epoch_logs", False)
            )
        # The data is shuffled above; Keras cannot shuffle a dataset.
        return super().fit(x, validation_data=validation_data, shuffle=False, **kwargs)

    def predict(self, x, *args, **kwargs):
        """`keras.Model.predict` on token ids: the next-token logits. Text goes to `translate`."""
        check_not_text(x, "predict")
        return super().predict(x, *args, **kwargs)

    def predict_on_batch(self, x):
        """`keras.Model.predict_on_batch` on token ids (see `predict`)."""
        check_not_text(x, "predict_on_batch")
        return super().predict_on_batch(x)

    def train_on_batch(self, x, y=None, sample_weight=None, **kwargs):
        """`keras.Model.train_on_batch`: one step on text pairs, all of them one batch.

        `x` takes the in-memory forms `fit` takes (a `(sources, targets)`
        pair of string lists, a list of `(source, target)` tuples, a
        `training.TextPairs`, or the sources as `x` and the targets as
        `y`), tokenized and padded as `fit` does; token ids with `y` (and
        `sample_weight`) pass through to Keras.
        """
        x, y, sample_weight = self._one_batch(x, y, sample_weight, kwargs)
        return super().train_on_batch(x, y, sample_weight=sample_weight, **kwargs)

    def test_on_batch(self, x, y=None, sample_weight=None, **kwargs):
        """`keras.Model.test_on_batch` on text pairs, all of them one batch (see `train_on_batch`)."""
        x, y, sample_weight = self._one_batch(x, y, sample_weight, kwargs)
        return super().test_on_batch(x, y, sample_weight=sample_weight, **kwargs)

    def _one_batch(self, x, y, sample_weight, kwargs):
        """`(x, y, sample_weight)` for Keras: text pairs as one batch of ids, ids as they are."""
        if y is not None and (is_text(x) or is_text(y)):
            x, y = pair_up(x, y), None
        if y is not None or not is_text(x):
            return x, y, sample_weight
        check_no_weights(x, dict(kwargs, sample_weight=sample_weight))
        sources, targets = check_text_pairs(x, "x")
        return self.preprocessor(tf.constant(sources), tf.constant(targets))

    def train_step(self, data):
        # The stream `fit` makes reads the optimizer's step counter when its
        # first batch is asked for. Keras' increment of that counter waits
        # only for the step's own reads of it, not for the batch, so without
        # this it could run before the stream read the counter: the stream
        # then started one batch late, in most runs and not in all, and a
        # resumed run could read other batches than the uninterrupted one.
        with tf.control_dependencies(
            [t for t in tf.nest.flatten(data, expand_composites=True) if t is not None]
        ):
            with self._tokens_of(data):
                return super().train_step(data)

    def test_step(self, data):
        with self._tokens_of(data):
            return super().test_step(data)

    @contextlib.contextmanager
    def _tokens_of(self, data):
        """Hand the batch's real target tokens to the loss tracker for the step traced inside."""
        tracker = getattr(self, "_loss_tracker", None)
        if not isinstance(tracker, TokenWeightedLoss):
            yield
            return
        _, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        tracker.batch_tokens = (
            ops.sum(ops.cast(sample_weight, tracker.dtype))
            if sample_weight is not None
            else ops.cast(ops.size(y), tracker.dtype)
        )
        try:
            yield
        finally:
            tracker.batch_tokens = None  # a tensor of this trace only

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Under `tf.distribute`, Keras builds the model from the first batch
        # averaged over the replicas, which fails where the batch does not
        # split evenly (a length bucket's last batch, or one smaller than the
        # number of replicas). The model is built already; the metrics and the
        # optimizer take their shapes from the first replica's share as well.
        if iterator is not None and getattr(self, "_distribute_strategy", None) is not None:
            for _, _, batches in iterator:
                data_batch = tf.nest.map_structure(
                    lambda x: self.distribute_strategy.experimental_local_results(x)[0], next(batches)
                )
                break
            iterator = None
        return super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    def evaluate(self, x=None, y=None, batch_size=64, **kwargs):
        """`keras.Model.evaluate` on text pairs (see `fit` for the forms of `x` and `y`)."""
        if y is not None:
            if not (is_text(x) or is_text(y)):
                return super().evaluate(x, y, batch_size=batch_size, **kwargs)
            x = pair_up(x, y)
        check_no_weights(x, kwargs)
        return super().evaluate(self._as_dataset(x, batch_size, False), **kwargs)

    def _as_dataset(self, data, batch_size, shuffle, name="x"):
        if hasattr(data, "to_tf_dataset"):
            return data.to_tf_dataset(self.preprocessor, batch_size=batch_size, shuffle=shuffle)
        if isinstance(data, tf.data.Dataset):
            spec = data.element_spec
            if not is_string_pair_spec(spec):
                if any(getattr(s, "dtype", None) == tf.string for s in tf.nest.flatten(spec)):
                    raise TypeError(not_string_pairs("A dataset of text", spec))
                return data  # already (x, y[, sample_weight]) ids
            if spec[0].shape.rank == 0:
                check_int("batch_size", batch_size, 1)
                return length_grouped_batches(data, self.preprocessor, batch_size, shuffle)
            # Batched by the user: as given.
            return data.map(self.preprocessor, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
        # Pairs in memory; anything else (a file's path, a table) gets the message that says what to pass.
        sources, targets = check_text_pairs(data, name)
        dataset = tf.data.Dataset.from_tensor_slices((sources, targets))
        if shuffle:
            dataset = dataset.shuffle(len(sources), seed=0)
        return self._as_dataset(dataset, batch_size, shuffle)

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
                `tf.data` gives them) or a `tf.string` tensor.
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
                texts = self._details(texts, outputs)
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
                    functools.partial(_source_lengths, self.preprocessor.source_tokenizer),  # see above
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
        strategy = get_strategy(strategy)
        # Checked here too, for callers who trace it themselves (once per trace):
        # without attention it would copy the first source word.
        replace_unknown = self.check_replace_unknown(replace_unknown)
        # `tokenize`, in its two steps: unknown-word replacement copies from the words.
        source_words = self.preprocessor.source_tokenizer.split(texts)
        source_ids = tf.cast(self.preprocessor.source_tokenizer.tokens_to_ids(source_words), tf.int32)
        source_lengths = tf.cast(source_ids.row_lengths(), tf.int32)
        source_ids = source_ids[:, : self.preprocessor.max_source_length]
        lengths = tf.minimum(source_lengths, self.preprocessor.max_source_length)
        # One padding column at least, so a batch of empty sentences still
        # has a time axis; padding changes no output.
        source_ids = tf.pad(source_ids.to_tensor(PAD_ID), [[0, 0], [0, 1]])  # (batch, Ts + 1)
        cache = self.backbone.encode(source_ids, max_length)
        batch_size = tf.shape(texts)[0]
        limits = max_length
        if max_length_factor is not None:
            own = tf.math.ceil(max_length_factor * tf.cast(lengths, tf.float32)) + 1  # [END] counted
            limits = tf.cast(tf.minimum(own, tf.cast(max_length, tf.float32)), tf.int32)  # (batch,)
        result = strategy.search(
            self.backbone.next,
            cache,
            start_tokens=tf.fill([batch_size], START_ID),
            end_id=END_ID,
            max_length=limits,
            done=tf.equal(lengths, 0),
            source_mask=tf.not_equal(source_ids, PAD_ID),
            seed=seed,
            return_attention=return_attention or replace_unknown,
        )
        tokens = result["tokens"]  # (batch, n, steps)
        shape = tf.shape(tokens)
        # Not `[-1, steps]`: an empty batch may have no steps either, and -1 is then ambiguous.
        flat = [shape[0] * shape[1], shape[2]]
        token_strings = None
        if replace_unknown:
            token_strings = tf.reshape(self._copy_unknown(source_words, tokens, result["attention"]), flat)
        texts = self.preprocessor.target_tokenizer.detokenize(tf.reshape(tokens, flat), token_strings)
        return {
            "translations": tf.reshape(texts, shape[:2]),
            "scores": result["scores"],
            "tokens": tokens,
            "attention": result["attention"],
            "source_ids": source_ids,
            "source_lengths": source_lengths,
        }

    def _copy_unknown(self, source_words, tokens, attention):
        """Target token strings `(batch, n, steps)`, each `[UNK]` replaced by its most attended source word.

        `source_words` are the source tokenizer's split (standardized, before
        the vocabulary lookup), so a word the source vocabulary lacks is copied
        as written; they line up with the attention's source axis because a
        word or character tokenizer gives one id per word or character.
        """
        words = source_words[:, : self.preprocessor.max_source_length]
        words = tf.pad(words.to_tensor(""), [[0, 0], [0, 1]])  # (batch, Ts + 1), as `source_ids`
        attended = tf.argmax(attention, axis=-1, output_type=tf.int32)  # (batch, n, steps)
        copied = tf.gather(words, attended, batch_dims=1)
        return tf.where(
            tf.equal(tokens, UNK_ID), copied, self.preprocessor.target_tokenizer.id_to_token(tokens)
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

    def _details(self, texts, outputs):
        source_lengths = np.minimum(outputs["source_lengths"], self.preprocessor.max_source_length)
        source_vocab = self.preprocessor.source_tokenizer.vocabulary
        target_vocab = self.preprocessor.target_tokenizer.vocabulary
        results = []
        for i, row in enumerate(texts):
            source = [source_vocab[t] for t in outputs["source_ids"][i, : source_lengths[i]]]
            hypotheses = []
            for j, text in enumerate(row):
                output = []
                for t in outputs["tokens"][i, j]:
                    if t == PAD_ID:
                        break
                    output.append(target_vocab[t])
                    if t == END_ID:
                        break
                weights = outputs["attention"][i, j, : len(output), : len(source)]
                hypotheses.append(Translation(text, float(outputs["scores"][i, j]), source, output, weights))
            results.append(hypotheses)
        return results

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
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        backbone = keras.saving.deserialize_keras_object(config.pop("backbone"))
        tokenizer_class = get_tokenizer_class(config.pop("tokenizer", "word"))
        lowercase = config.pop("lowercase", True)  # files saved before the setting lowercased
        preprocessor = Seq2SeqPreprocessor(
            tokenizer_class(config.pop("source_vocabulary"), lowercase=lowercase),
            tokenizer_class(config.pop("target_vocabulary"), lowercase=lowercase),
            **config.pop("preprocessor"),
        )
        return cls(backbone, preprocessor, **config)


def _source_lengths(tokenizer, texts):
    return tokenizer.tokenize(texts).row_lengths()


def length_groups(lengths, batch_size):
    """The batches `Translator.translate` decodes: sentence indices sorted by length (stably), then cut."""
    order = np.argsort(lengths, kind="stable")
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


def check_max_length_factor(factor):
    """`factor` as a float if it is `None` or a finite positive number, else a `ValueError`."""
    if factor is None:
        return None
    number = not isinstance(factor, bool) and isinstance(factor, (int, float, np.integer, np.floating))
    if not (number and 0 < factor < float("inf")):
        raise ValueError(
            f"`max_length_factor` must be a positive number (or None for no limit), received {factor!r}."
        )
    return float(factor)
