"""The training half of a sequence-to-sequence task: compile defaults, and `fit`/`evaluate` on text."""

import contextlib

import keras
import tensorflow as tf
from keras import ops

from keras_attention.checks import check_int
from zoo.batch_stream import stream_from_step
from zoo.compile_arguments import check_loss_takes_logits, with_token_metrics
from zoo.fused_adam import FusedAdam
from zoo.length_grouping import length_grouped_batches, length_grouped_stream
from zoo.model_files import ModelFiles
from zoo.perplexity import Perplexity
from zoo.sequence_cross_entropy import SequenceCrossEntropy
from zoo.target_tokens import TargetTokens
from zoo.text_inputs import (
    check_no_weights,
    check_not_text,
    check_text_pairs,
    is_string_pair_spec,
    is_text,
    not_string_pairs,
    pair_up,
    split_off_validation,
)
from zoo.token_accuracy import TokenAccuracy
from zoo.token_weighted_loss import TokenWeightedLoss


class Seq2SeqTask(ModelFiles):
    """A `keras.Model` that trains on text pairs through its `preprocessor`.

    The base of `zoo.Translator`: everything between raw text pairs and
    Keras' training loop. `compile` defaults to masked cross-entropy, masked
    accuracy, perplexity and Adam; `fit`, `evaluate`, `train_on_batch` and
    `test_on_batch` take text pairs in every form (`zoo.annotations.TextPairsLike`)
    and tokenize them with the preprocessor; token ids pass through to Keras.
    A subclass sets `self.preprocessor` (a `zoo.Seq2SeqPreprocessor`) and
    calls `compile()` once its layers are built, as `Translator` does, so
    that `fit` needs no `compile`.
    """

    # --- Compiling --------------------------------------------------------

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
        self._build_optimizer()  # so the saved state has variables to go to

    # --- Training on text -------------------------------------------------

    def fit(self, x=None, y=None, batch_size=64, validation_data=None, shuffle=True, seed=None, **kwargs):
        """`keras.Model.fit` on text pairs.

        `x` (and `validation_data`) may be a `(sources, targets)` pair of
        string lists, an object with `to_tf_dataset(preprocessor, ...)`
        (such as `training.TextPairs`, which buckets by length over the
        whole data; see `training.pipeline`), a `tf.data.Dataset` of
        `(source, target)` strings, batched or not, or a dataset that is
        already tokenized. Lists and a dataset of single pairs are batched by
        length within windows (`zoo.length_grouping`), so batches carry
        little padding; a batched dataset is used as batched. A `TextPairs`
        and pairs in memory are read as an endless stream of epochs that
        starts at the optimizer's step, so a run restored by
        `training.checkpoint.TrainingCheckpoint` reads the batches the
        interrupted run would have read next (a `tf.data.Dataset` starts its
        epoch afresh). As in Keras, `x` may hold the source sentences and
        `y` the target sentences; token ids with `y` (and `sample_weight`)
        pass through to Keras. `validation_split` holds out the last pairs
        as given, as Keras does (pairs in memory only; `TextPairs.split` is
        the split that keeps a source on one side).
        `seed` (an int) seeds the shuffle of text pairs: the order of
        every epoch is a function of it and the epoch; by default, the seed
        given to `keras.utils.set_random_seed`, or 0 where none was.
        A pair with an empty side raises `ValueError` before a step (in a
        dataset of strings, `InvalidArgumentError` when the pair is read).
        """
        if y is not None:
            if not (is_text(x) or is_text(y)):
                self._build_optimizer()
                return super().fit(
                    x, y, batch_size=batch_size, validation_data=validation_data, shuffle=shuffle, **kwargs
                )
            x = pair_up(x, y)
        check_no_weights(x, kwargs)
        validation_split = kwargs.pop("validation_split", 0.0)
        if validation_split and validation_data is None:
            x, validation_data = split_off_validation(x, validation_split)
        x, steps_per_epoch = self._training_data(x, batch_size, shuffle, shuffle_seed(seed))
        if steps_per_epoch is not None:
            kwargs.setdefault("steps_per_epoch", steps_per_epoch)
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
        self._build_optimizer()
        # The data is shuffled above; Keras cannot shuffle a dataset.
        return super().fit(x, validation_data=validation_data, shuffle=False, **kwargs)

    def _training_data(self, x, batch_size, shuffle, seed):
        """`fit`'s data as Keras reads it, and the steps of an epoch, where `fit` must give them.

        A `TextPairs` and pairs in memory become an endless stream of epochs
        that starts at the optimizer's step (`zoo.batch_stream`), so a run
        restored from a checkpoint reads exactly the batches the interrupted
        run would have read next. A `tf.data.Dataset` starts its epoch
        afresh; `_input_resumes` says which, and `_input_seed` the order's
        seed, for `training.checkpoint.TrainingCheckpoint`.
        """
        start = self.optimizer.iterations
        self._input_resumes = not isinstance(x, tf.data.Dataset)
        self._input_seed = seed
        if hasattr(x, "to_tf_dataset"):
            steps = x.batches_per_epoch(self.preprocessor, batch_size)
            if shuffle:
                stream = x.to_tf_dataset(
                    self.preprocessor, batch_size=batch_size, shuffle=True, seed=seed, start_step=start
                )
                return stream, steps
            epoch = x.to_tf_dataset(self.preprocessor, batch_size=batch_size, shuffle=False)
            return stream_from_step(lambda k: epoch, steps, start), steps
        if isinstance(x, tf.data.Dataset):
            return self._as_dataset(x, batch_size, shuffle, seed=seed), None
        sources, targets = check_text_pairs(x, "x")
        return length_grouped_stream(
            sources, targets, self.preprocessor, batch_size, shuffle, seed=seed, start_step=start
        )

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
        self._build_optimizer()
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

    def _as_dataset(self, data, batch_size, shuffle, name="x", seed=0):
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
                return length_grouped_batches(data, self.preprocessor, batch_size, shuffle, seed)
            # Batched by the user: as given.
            return data.map(self.preprocessor, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
        # Pairs in memory (`fit` streams its own: see `_training_data`); anything else (a file's
        # path, a table) gets the message that says what to pass.
        sources, targets = check_text_pairs(data, name)
        dataset = tf.data.Dataset.from_tensor_slices((sources, targets))
        return self._as_dataset(dataset, batch_size, shuffle, seed=seed)


def shuffle_seed(seed: int | None) -> int:
    """`fit`'s shuffle seed: `seed`, else the one given to `keras.utils.set_random_seed`, else 0."""
    if seed is None:
        # Keras keeps the seed of `set_random_seed` here and has no public getter for it.
        from keras.src.utils.rng_utils import get_random_seed

        seed = get_random_seed()
    if seed is None:
        return 0
    return check_int("seed", seed, -(2**63), 2**63 - 1)
