import os
import pathlib
import re
import string
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from tests.conftest import TINY


def test_fit_lowers_the_loss(toy_pairs):
    model = zoo.load("lstm_luong", train_data=toy_pairs, **TINY)
    model.compile(optimizer=keras.optimizers.Adam(0.01))
    before = model.evaluate(toy_pairs, verbose=0, return_dict=True)["loss"]
    model.fit(toy_pairs, epochs=20, batch_size=4, verbose=0)
    after = model.evaluate(toy_pairs, verbose=0, return_dict=True)["loss"]
    assert after < 0.7 * before


def test_fit_and_train_on_batch_trace_the_training_step_once(toy_pairs, monkeypatch):
    # Keras would create the optimizer's variables inside the first traced
    # step, and TensorFlow then traces a step that created variables again.
    from zoo.seq2seq_task import Seq2SeqTask

    traced = []
    step = Seq2SeqTask.train_step
    monkeypatch.setattr(Seq2SeqTask, "train_step", lambda self, data: traced.append(1) or step(self, data))
    model = zoo.load("gru_seq2seq_small", train_data=toy_pairs, **TINY)
    model.fit(toy_pairs, epochs=2, batch_size=4, verbose=0)
    assert len(traced) == 1 and model.optimizer.built
    model = zoo.load("gru_seq2seq_small", train_data=toy_pairs, **TINY)
    model.train_on_batch(toy_pairs)
    model.train_on_batch(toy_pairs)
    assert len(traced) == 2 and int(model.optimizer.iterations) == 2


def test_fit_and_evaluate_take_every_form_of_text_pairs(toy_pairs):
    from training import TextPairs

    sources, targets = toy_pairs
    model = zoo.load("gru_luong", train_data=toy_pairs, **TINY)
    dataset = tf.data.Dataset.from_tensor_slices((sources, targets))
    forms = {
        "tuple": (sources, targets),
        "list": [sources, targets],
        "TextPairs": TextPairs(sources, targets),
        "unbatched dataset": dataset,
        "batched dataset": dataset.batch(len(sources)),
    }
    # The loss and the metrics count every token once over all batches, so
    # every form gives the same figures however it batches the pairs
    # (TextPairs buckets them by length).
    results = {
        name: model.evaluate(x, batch_size=len(sources), verbose=0, return_dict=True)
        for name, x in forms.items()
    }
    for metric in ("loss", "accuracy", "perplexity", "target_tokens"):
        values = [result[metric] for result in results.values()]
        assert max(values) - min(values) <= 1e-6 * max(values), (metric, results)
    for name, x in forms.items():
        assert len(model.fit(x, batch_size=4, epochs=1, verbose=0).history["loss"]) == 1, name


def test_validation_split_holds_out_the_last_pairs_as_keras_does(toy_pairs):
    from training import TextPairs

    sources, targets = toy_pairs
    for x in ((sources, targets), TextPairs(sources, targets)):
        model = zoo.load("gru_luong", train_data=toy_pairs, **TINY)
        history = model.fit(x, validation_split=0.25, batch_size=4, epochs=1, verbose=0).history
        held_out = (sources[9:], targets[9:])  # the last quarter, as given
        held_out = held_out if isinstance(x, tuple) else TextPairs(*held_out)  # and batched as given
        expected = model.evaluate(held_out, batch_size=4, verbose=0, return_dict=True)["loss"]
        assert history["val_loss"][0] == pytest.approx(expected, rel=1e-6)
        trained_on = model.evaluate((sources[:9], targets[:9]), verbose=0, return_dict=True)
        assert history["target_tokens"][0] == trained_on["target_tokens"]


def test_validation_batch_size_batches_the_validation_data(toy_pairs):
    sources, targets = toy_pairs
    model = zoo.load("gru_luong", train_data=toy_pairs, **TINY)
    one_batch = {}
    for size in (None, 1, 5):
        history = model.fit(
            toy_pairs,
            batch_size=4,
            steps_per_epoch=1,
            validation_data=toy_pairs,
            validation_batch_size=size,
            validation_steps=1,  # the first batch only: its tokens tell its size
            verbose=0,
        ).history
        one_batch[size] = history["val_target_tokens"][0]

    # Pairs in memory are batched by length, shortest targets first: the
    # first batch of size n holds the n shortest targets, each with its [END].
    lengths = model.preprocessor.target_tokenizer.tokenize(tf.constant(targets)).row_lengths().numpy()

    def tokens(n):
        return float(sum(sorted(lengths)[:n]) + n)

    assert one_batch == {None: tokens(4), 1: tokens(1), 5: tokens(5)}  # None: fit's batch_size


def test_fit_and_predict_bad_input(toy_pairs):
    sources, targets = toy_pairs
    model = zoo.load("gru_luong", train_data=toy_pairs, **TINY)
    with pytest.raises(ValueError, match="between 0 and 1"):
        model.fit(toy_pairs, validation_split=1.0, verbose=0)
    with pytest.raises(ValueError, match="of 2 pairs leaves one side empty"):
        model.fit((sources[:2], targets[:2]), validation_split=0.6, verbose=0)
    dataset = tf.data.Dataset.from_tensor_slices((sources, targets))
    with pytest.raises(ValueError, match="for a .*Dataset, pass `validation_data` instead"):
        model.fit(dataset, validation_split=0.2, verbose=0)
    # A dataset of other text elements (TFDS' dicts, say) names what it yields.
    records = tf.data.Dataset.from_tensor_slices({"es": sources, "en": targets})
    with pytest.raises(
        TypeError, match="must yield \\(source, target\\) pairs of strings; this one yields {"
    ):
        model.fit(records, verbose=0)
    from training import TextPairs

    texts = ("hola", sources, toy_pairs, TextPairs(sources, targets), dataset, np.array(sources))
    for text in texts:
        with pytest.raises(TypeError, match="call `translate\\(sentences\\)`"):
            model.predict(text, verbose=0)
        with pytest.raises(TypeError, match="call `translate\\(sentences\\)`"):
            model.predict_on_batch(text)
    # Text pairs weigh every real token alike; Keras' weights would be
    # taken for something they are not, or fail with a message about
    # datasets the user did not pass.
    for weights in ({"sample_weight": np.ones(len(sources))}, {"class_weight": {0: 1.0}}):
        for pairs in (toy_pairs, TextPairs(sources, targets), dataset):
            with pytest.raises(ValueError, match=f"`{next(iter(weights))}` is not taken with text pairs"):
                model.fit(pairs, verbose=0, **weights)
        with pytest.raises(ValueError, match="is not taken with text pairs"):
            model.evaluate(toy_pairs, verbose=0, **weights)
        with pytest.raises(ValueError, match="is not taken with text pairs"):
            model.train_on_batch(toy_pairs, **weights)
    assert model.optimizer.iterations.numpy() == 0  # nothing above trained


def test_train_and_test_on_batch_take_text_pairs_as_one_batch(toy_pairs):
    from training import TextPairs

    sources, targets = toy_pairs
    model = zoo.load("gru_luong", train_data=toy_pairs, **TINY)
    everything = model.evaluate(toy_pairs, batch_size=len(sources), verbose=0, return_dict=True)
    for pairs in (toy_pairs, list(zip(sources, targets)), TextPairs(sources, targets)):
        assert model.test_on_batch(pairs, return_dict=True) == pytest.approx(everything, rel=1e-6)
    assert model.test_on_batch(sources, targets, return_dict=True) == pytest.approx(everything, rel=1e-6)
    ids = model.preprocessor(tf.constant(sources), tf.constant(targets))
    step = model.train_on_batch(toy_pairs, return_dict=True)  # the metrics of its forward pass, with dropout
    assert step["target_tokens"] == everything["target_tokens"]
    assert step["loss"] == pytest.approx(everything["loss"], rel=0.05)
    assert model.optimizer.iterations.numpy() == 1
    after = model.test_on_batch(*ids[:2], sample_weight=ids[2], return_dict=True)  # token ids pass through
    assert after["loss"] < everything["loss"]
    model.train_on_batch(*ids[:2], sample_weight=ids[2])
    assert model.optimizer.iterations.numpy() == 2


def test_fit_and_evaluate_take_keras_x_and_y(toy_pairs):
    """`fit(sources, targets)` as Keras' `fit(x, y)`; token ids with `y` pass through to Keras."""
    from training import TextPairs

    sources, targets = toy_pairs
    model = zoo.load("gru_luong", train_data=toy_pairs, **TINY)
    as_pair = model.evaluate(toy_pairs, batch_size=4, verbose=0, return_dict=True)

    class Column:  # as a pandas Series of str: an array-like, neither list nor ndarray
        def __init__(self, values):
            self.values = list(values)

        def __array__(self, dtype=None, copy=None):
            return np.array(self.values, dtype=object)

        def __iter__(self):
            return iter(self.values)

        def __len__(self):
            return len(self.values)

    for x, y in (
        (sources, targets),
        (np.array(sources), np.array(targets)),
        (tf.constant(sources), targets),
        (Column(sources), Column(targets)),
    ):
        assert model.evaluate(x, y, batch_size=4, verbose=0, return_dict=True) == as_pair
    history = model.fit(sources, targets, batch_size=4, validation_data=(sources, targets), verbose=0)
    assert model.optimizer.iterations.numpy() == -(-len(sources) // 4)
    assert history.history["target_tokens"][0] == as_pair["target_tokens"]
    x, y, weights = model.preprocessor(tf.constant(sources), tf.constant(targets))
    ids = model.evaluate(x, y, sample_weight=weights, batch_size=len(sources), verbose=0, return_dict=True)
    assert ids == pytest.approx(model.test_on_batch(x, y, sample_weight=weights, return_dict=True), rel=1e-6)
    model.fit(x, y, sample_weight=weights, batch_size=4, epochs=1, verbose=0)
    assert model.optimizer.iterations.numpy() == 2 * -(-len(sources) // 4)
    for bad_x, bad_y, message in (
        (TextPairs(sources, targets), targets, "holds its targets: pass it as `x` alone"),
        (tf.data.Dataset.from_tensor_slices(sources), targets, "holds its targets: pass it as `x` alone"),
        (sources, y, "`x` holds sentences but `y` does not"),
        (x, targets, "`y` holds sentences but `x` does not"),
        (sources, targets[:-1], f"Got {len(sources)} source sentences but {len(sources) - 1} target"),
    ):
        for method in (model.fit, model.evaluate):
            with pytest.raises((TypeError, ValueError), match=message):
                method(bad_x, bad_y, verbose=0)
        with pytest.raises((TypeError, ValueError), match=message):
            model.train_on_batch(bad_x, bad_y)
    with pytest.raises(ValueError, match="`sample_weight` is not taken with text pairs"):
        model.fit(sources, targets, sample_weight=np.ones(len(sources)), verbose=0)
    assert model.optimizer.iterations.numpy() == 2 * -(-len(sources) // 4)


def test_the_shuffle_of_text_pairs_follows_the_seed(monkeypatch):
    """The order was always seed 0's: `zoo train --seed` and `keras.utils.set_random_seed` left it alone."""
    from training import TextPairs

    sources, targets = [f"s{i}" for i in range(64)], [f"t{i}" for i in range(64)]
    model = zoo.load("gru_luong", train_data=(sources, targets), **TINY)
    given = []
    monkeypatch.setattr(keras.Model, "fit", lambda self, x, **kwargs: given.append(x))

    def first_batches(data, **kwargs):  # the source ids of the stream's first 4 batches of 8
        model.fit(data, batch_size=8, **kwargs)
        return [x["encoder_token_ids"].numpy().tolist() for x, _, _ in given.pop().take(4)]

    from keras.src.backend.common import global_state
    from keras.src.utils.rng_utils import GLOBAL_RANDOM_SEED, get_random_seed

    previous = get_random_seed()  # restored below, for the tests that come after in this process
    for data in ((sources, targets), TextPairs(sources, targets)):
        assert first_batches(data, seed=1) == first_batches(data, seed=1)
        assert first_batches(data, seed=1) != first_batches(data, seed=2)
        keras.utils.set_random_seed(2)
        assert first_batches(data) == first_batches(data, seed=2)  # Keras' seed, where one was set
        with monkeypatch.context() as unseeded:
            unseeded.setattr("keras.src.utils.rng_utils.get_random_seed", lambda: None)
            assert first_batches(data) == first_batches(data, seed=0)
    global_state.set_global_attribute(GLOBAL_RANDOM_SEED, previous)
    with pytest.raises(ValueError, match="`seed` must be an int"):
        model.fit((sources, targets), seed="1")


def test_metrics_are_listed_once_however_often_the_model_is_compiled(toy_pairs):
    model = zoo.load("gru_luong", train_data=toy_pairs, **TINY)
    for _ in range(3):
        assert model.metrics_names == ["loss", "compile_metrics"]
        as_dict = model.evaluate(toy_pairs, verbose=0, return_dict=True)
        as_list = model.evaluate(toy_pairs, verbose=0)
        assert as_list == [as_dict[name] for name in ("loss", "accuracy", "perplexity", "target_tokens")]
        model.compile()


def test_fit_and_evaluate_given_a_file_path_say_how_to_read_it(toy_pairs):
    model = zoo.load("gru_luong", train_data=toy_pairs, **TINY)
    with pytest.raises(TypeError, match=r"`x` must be .*received str\. For a file, read it first: `training"):
        model.fit("pairs.tsv", epochs=1, verbose=0)
    with pytest.raises(TypeError, match=r"`validation_data` must be .*received \w*Path\. For a file, read"):
        model.fit(toy_pairs, validation_data=pathlib.Path("valid.tsv"), epochs=1, verbose=0)
    with pytest.raises(TypeError, match=r"`x` must be .*received str\. For a file, read it first"):
        model.evaluate("pairs.tsv", verbose=0)
    assert model.optimizer.iterations.numpy() == 0  # refused before any step


def test_pairs_with_an_empty_side_are_refused_before_a_step(toy_pairs):
    """An empty or blank side trained a pair that teaches nothing, and scored one against nothing."""
    from training import TextPairs, evaluate

    sources, targets = map(list, toy_pairs)
    model = zoo.load("gru_luong", train_data=toy_pairs, **TINY)
    blank = (sources[:3] + ["  "] + sources[4:], targets)
    message = r"`x`: 1 pair\(s\) have an empty side.*pair 3: \('  ', 'hello'\)\. .*errors=\"skip\""
    assert targets[3] == "hello"
    for method in (model.fit, model.evaluate, model.train_on_batch, model.test_on_batch):
        with pytest.raises(ValueError, match=message):
            method(blank)
    with pytest.raises(ValueError, match="`pairs`: 1 pair"):
        evaluate(model, blank)
    with pytest.raises(ValueError, match=r"`train_data`: 2 pair\(s\) .*pair 0: \('a', ''\)"):
        zoo.load("gru_luong", train_data=(["a", "b", *sources], ["", "\t", *targets]), **TINY)
    # A NUL is a space to the tokenizers: a side of NULs is blank too.
    with pytest.raises(ValueError, match=r"`x`: 1 pair\(s\) .*pair 5: \('.*', '\\x00'\)"):
        model.fit((sources, targets[:5] + ["\x00"] + targets[6:]), epochs=1, verbose=0)
    # `TextPairs` made by hand are checked when tokenized.
    nul = TextPairs(sources, targets[:5] + ["\x00"] + targets[6:])
    with pytest.raises(ValueError, match=r"The text pairs: 1 pair\(s\) .*pair 5: \('.*', '\\x00'\)"):
        model.fit(nul, epochs=1, verbose=0)
    # A dataset streams, so the check runs in its pipeline: the first such pair is in the message.
    pairs = tf.data.Dataset.from_tensor_slices((["el gato", *sources], ["", *targets]))
    for dataset in (pairs, pairs.batch(4)):
        with pytest.raises(
            tf.errors.InvalidArgumentError, match=r"(?s)A text pair has an empty side.*el gato"
        ):
            model.fit(dataset, epochs=1, verbose=0)
    assert model.optimizer.iterations.numpy() == 0
    model.fit(toy_pairs, epochs=1, verbose=0)  # and the pairs without one train as before
    assert model.optimizer.iterations.numpy() > 0


def test_fit_and_evaluate_check_the_batch_size_first(toy_pairs):
    """`fit(batch_size=0)` was an OverflowError from the batch count, or TensorFlow's error from inside tf.data."""
    from training import TextPairs

    model = zoo.load("gru_luong", train_data=toy_pairs, **TINY)
    for data in (toy_pairs, TextPairs(*toy_pairs)):
        for bad in (0, -1, 8.0):
            with pytest.raises(ValueError, match=f"`batch_size` must be an int >= 1, received {bad}"):
                model.fit(data, batch_size=bad, epochs=1, verbose=0)
            with pytest.raises(ValueError, match=f"`batch_size` must be an int >= 1, received {bad}"):
                model.evaluate(data, batch_size=bad, verbose=0)
    with pytest.raises(ValueError, match="`validation_batch_size` must be an int >= 1, received 0"):
        model.fit(toy_pairs, validation_data=toy_pairs, validation_batch_size=0, epochs=1, verbose=0)
    assert model.optimizer.iterations.numpy() == 0


def test_a_loss_that_reads_probabilities_is_refused(toy_pairs):
    """Keras' usual `loss="sparse_categorical_crossentropy"` means probabilities: on logits, a wrong objective."""
    model = zoo.load("gru_luong", train_data=toy_pairs, **TINY)
    default = model.evaluate(toy_pairs, verbose=0, return_dict=True)
    for loss in (
        "sparse_categorical_crossentropy",
        "categorical_crossentropy",
        keras.losses.sparse_categorical_crossentropy,
        keras.losses.SparseCategoricalCrossentropy(),
    ):
        with pytest.raises(ValueError, match="reads probabilities, but a Translator outputs logits"):
            model.compile(loss=loss)
    with pytest.raises(
        ValueError, match="`loss='sparse_categorical_crossentropy'` reads"
    ):  # a function, by name
        model.compile(loss=keras.losses.sparse_categorical_crossentropy)
    mean = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="mean_with_sample_weight")
    model.compile(loss=mean)
    assert model.evaluate(toy_pairs, verbose=0, return_dict=True)["loss"] == pytest.approx(
        default["loss"], rel=1e-5
    )
    model.compile(
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )  # padding in the denominator
    assert model.evaluate(toy_pairs, verbose=0, return_dict=True)["loss"] < default["loss"]
    model.compile(loss=lambda y, logits: keras.ops.mean(logits * 0.0))  # no `from_logits`: the user's to know
    assert model.evaluate(toy_pairs, verbose=0, return_dict=True)["loss"] == 0.0


def test_loss_and_metrics_are_means_over_every_token_of_every_batch(toy_pairs):
    """Keras would weigh a batch's loss by its pairs, and a token's accuracy by 1 / its batch's length."""
    from training import TextPairs

    sources, targets = toy_pairs
    model = zoo.load("gru_luong", train_data=toy_pairs, **TINY)
    pairs = TextPairs(sources, targets)
    batches = list(pairs.to_tf_dataset(model.preprocessor, batch_size=4, shuffle=False))
    assert len({tuple(y.shape) for _, y, _ in batches}) > 1  # batches of other lengths
    nll, hits = [], []
    for x, y, weights in batches:
        logits = np.asarray(model(x), "float64")
        log_probs = logits - logits.max(-1, keepdims=True)
        log_probs -= np.log(np.exp(log_probs).sum(-1, keepdims=True))
        real = weights.numpy() > 0
        nll.append(-np.take_along_axis(log_probs, y.numpy()[..., None], -1)[..., 0][real])
        hits.append((logits.argmax(-1) == y.numpy())[real])
    nll, hits = np.concatenate(nll).mean(), np.concatenate(hits).mean()
    result = model.evaluate(pairs, batch_size=4, verbose=0, return_dict=True)
    assert result["loss"] == pytest.approx(nll, rel=1e-5)
    assert result["perplexity"] == pytest.approx(np.exp(nll), rel=1e-5)
    assert result["accuracy"] == pytest.approx(hits, rel=1e-6)
    history = model.fit(pairs, batch_size=4, epochs=1, verbose=0).history
    assert history["perplexity"][0] == pytest.approx(np.exp(history["loss"][0]), rel=1e-5)
    trained = model.evaluate(pairs, batch_size=4, verbose=0, return_dict=True)
    model.compile(label_smoothing=0.1)  # the loss is then the smoothed one; the perplexity stays plain
    smoothed = model.evaluate(pairs, batch_size=4, verbose=0, return_dict=True)
    assert smoothed["perplexity"] == pytest.approx(trained["perplexity"], rel=1e-6)
    assert smoothed["loss"] != pytest.approx(trained["loss"], rel=1e-3)


def test_metrics_given_to_compile_count_real_tokens_only(toy_pairs):
    """Keras' `metrics=["accuracy"]` has no sample weights: it counted every correctly predicted pad."""
    sources, targets = toy_pairs
    model = zoo.load("gru_luong", train_data=toy_pairs, **TINY)
    x, y, weights = model.preprocessor(sources, targets)
    real = weights.numpy() > 0
    assert not real.all()  # padding that could count
    logits, y = np.asarray(model(x)), y.numpy()
    hits = (logits.argmax(-1) == y)[real].mean()
    top2 = (np.argsort(-logits, axis=-1)[..., :2] == y[..., None]).any(-1)[real].mean()
    pairs = (sources, targets)  # batched as given, each batch padded to its longest

    def top2_function(y_true, y_pred):
        return keras.metrics.sparse_top_k_categorical_accuracy(y_true, y_pred, k=2)

    model.compile(
        optimizer="adam",
        metrics=["accuracy", keras.metrics.SparseTopKCategoricalAccuracy(k=2, name="top2"), top2_function],
    )
    # The padded batches are of other lengths, which Keras' own mean metrics
    # would weigh by 1 / length: here every real token counts once.
    result = model.evaluate(pairs, batch_size=4, verbose=0, return_dict=True)
    assert sorted(result) == ["accuracy", "loss", "perplexity", "target_tokens", "top2", "top2_function"]
    assert result["accuracy"] == pytest.approx(hits, rel=1e-6)  # the default one, kept once
    assert result["top2"] == pytest.approx(top2, rel=1e-6)
    assert result["top2_function"] == pytest.approx(top2, rel=1e-6)
    history = model.fit(pairs, batch_size=4, epochs=1, verbose=0).history
    assert sorted(history) == sorted(result)

    model.compile(weighted_metrics=[], metrics="acc")  # without the defaults: still over real tokens
    result = model.evaluate(pairs, batch_size=4, verbose=0, return_dict=True)
    assert sorted(result) == ["accuracy", "loss"]
    x, y, weights = model.preprocessor(sources, targets)
    real = weights.numpy() > 0
    assert result["accuracy"] == pytest.approx(
        (np.asarray(model(x)).argmax(-1) == y.numpy())[real].mean(), rel=1e-6
    )

    for metric in ("sparse_categorical_crossentropy", keras.metrics.SparseCategoricalCrossentropy()):
        with pytest.raises(ValueError, match="reads probabilities, but a Translator outputs logits"):
            model.compile(metrics=[metric])
    with pytest.raises(ValueError, match="one output: pass `metrics` and `weighted_metrics` as lists"):
        model.compile(metrics={"backbone": ["accuracy"]})
    model.compile(metrics=[keras.metrics.SparseCategoricalCrossentropy(from_logits=True)])
    result = model.evaluate(pairs, batch_size=4, verbose=0, return_dict=True)
    assert result["sparse_categorical_crossentropy"] == pytest.approx(result["loss"], rel=1e-5)


def test_a_keras_file_keeps_the_optimizer_state_and_the_compile_settings(toy_pairs, tmp_path):
    model = zoo.load("gru_luong", train_data=toy_pairs, dropout=0.0, **TINY)
    model.compile(optimizer=zoo.FusedAdam(learning_rate=0.005, clipnorm=0.5), label_smoothing=0.1)
    model.fit(toy_pairs, batch_size=4, epochs=2, shuffle=False, verbose=0)
    path = str(tmp_path / "mid_training.keras")
    model.save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Keras warned that it skipped the optimizer's variables
        restored = keras.saving.load_model(path)
    assert restored.loss.label_smoothing == 0.1
    assert float(restored.optimizer.learning_rate) == pytest.approx(0.005)
    assert restored.optimizer.clipnorm == 0.5
    assert int(restored.optimizer.iterations) == int(model.optimizer.iterations) == 6
    for saved, loaded in zip(model.optimizer.variables, restored.optimizer.variables, strict=True):
        np.testing.assert_array_equal(np.asarray(loaded), np.asarray(saved))
    # Training on from the file is training on from the live model.
    for m in (model, restored):
        m.fit(toy_pairs, batch_size=4, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(model.weights, restored.weights, strict=True):
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-6, atol=1e-7)


def test_a_keras_file_of_a_model_before_training_loads_without_a_warning(toy_pairs, tmp_path):
    """A preset loaded and saved as a `.keras` file: Keras warned that it skipped the optimizer's variables."""
    preset = tmp_path / "preset"
    zoo.load("gru_luong", train_data=toy_pairs, **TINY).save_to_preset(preset)
    model = zoo.load(preset)
    path = str(tmp_path / "shared.keras")
    model.save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        restored = keras.saving.load_model(path)
    assert restored.translate(toy_pairs[0][:3]) == model.translate(toy_pairs[0][:3])


def test_a_keras_file_keeps_the_loss_and_metrics_compile_was_given(toy_pairs, tmp_path):
    model = zoo.load("gru_luong", train_data=toy_pairs, **TINY)
    model.compile(
        loss=keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, reduction="mean_with_sample_weight"
        ),
        metrics=["accuracy", keras.metrics.SparseTopKCategoricalAccuracy(k=2, name="top2")],
    )
    model.fit(toy_pairs, batch_size=4, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="reads probabilities"):
        model.compile(loss="sparse_categorical_crossentropy")  # refused: the model stays as it was
    path = str(tmp_path / "compiled.keras")
    model.save(path)
    restored = keras.saving.load_model(path)
    assert isinstance(restored.loss, keras.losses.SparseCategoricalCrossentropy)
    expected = model.evaluate(toy_pairs, batch_size=4, return_dict=True, verbose=0)
    assert "top2" in expected
    got = restored.evaluate(toy_pairs, batch_size=4, return_dict=True, verbose=0)
    assert got.keys() == expected.keys()
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, rel=1e-6), name


def test_a_keras_file_with_an_unknown_metric_names_the_ways_to_load_it(toy_pairs, tmp_path):
    class Confidence(keras.metrics.Mean):  # not registered: Keras cannot find it by name
        def update_state(self, y_true, y_pred, sample_weight=None):
            return super().update_state(keras.ops.max(y_pred, axis=-1), sample_weight)

    model = zoo.load("gru_luong", train_data=toy_pairs, **TINY)
    model.compile(metrics=[Confidence(name="confidence")])
    path = str(tmp_path / "custom.keras")
    model.save(path)
    with pytest.raises(TypeError, match=r"(?s)Confidence.*register_keras_serializable.*compile=False"):
        keras.saving.load_model(path)
    restored = keras.saving.load_model(path, custom_objects={"Confidence": Confidence})
    assert "confidence" in restored.evaluate(toy_pairs, batch_size=4, return_dict=True, verbose=0)
    # Without its compile settings the model loads compiled with the defaults.
    plain = keras.saving.load_model(path, compile=False)
    assert plain.translate(toy_pairs[0][:2]) == model.translate(toy_pairs[0][:2])
    assert "confidence" not in plain.evaluate(toy_pairs, batch_size=4, return_dict=True, verbose=0)


@pytest.mark.parametrize("method, name", [("save", "model.keras"), ("save_weights", "model.weights.h5")])
def test_a_save_that_fails_midway_leaves_the_earlier_file_whole(
    trained_translator, toy_pairs, tmp_path, monkeypatch, method, name
):
    """Keras writes straight into the path: a kill mid-save truncated the file it was replacing."""
    path = tmp_path / name
    getattr(trained_translator, method)(path)
    saved = path.read_bytes()

    def killed_midway(self, filepath, *args, **kwargs):
        with open(filepath, "wb") as f:
            f.write(saved[: len(saved) // 2])
        raise KeyboardInterrupt

    monkeypatch.setattr(keras.Model, method, killed_midway)
    with pytest.raises(KeyboardInterrupt):
        getattr(trained_translator, method)(path)
    monkeypatch.undo()
    assert path.read_bytes() == saved
    assert sorted(os.listdir(tmp_path)) == [name]  # the staging copy went with the failed save
    if method == "save":
        restored = keras.saving.load_model(path)
    else:
        restored = zoo.load("gru_luong_small", train_data=toy_pairs, **TINY)
        restored.load_weights(path)
    assert restored.translate(toy_pairs[0]) == trained_translator.translate(toy_pairs[0])


def test_save_refuses_other_formats_and_an_unwanted_overwrite(trained_translator, tmp_path):
    for name in ("model.h5", "model.hdf5"):
        with pytest.raises(
            ValueError, match=r"legacy HDF5 .*custom_objects=\{'Translator': zoo.Translator\}"
        ):
            trained_translator.save(tmp_path / name)
    with pytest.raises(ValueError, match=r"model.zip: `save` writes a `.keras` file.*save_to_preset\(DIR\)"):
        trained_translator.save(tmp_path / "model.zip")
    assert os.listdir(tmp_path) == []
    path = tmp_path / "model.keras"
    path.write_bytes(b"mine")
    for method in ("save", "save_weights"):
        target = path if method == "save" else tmp_path / "model.weights.h5"
        target.write_bytes(b"mine")
        with pytest.raises(FileExistsError, match="exists, and `overwrite=False` was given"):
            getattr(trained_translator, method)(target, overwrite=False)
        assert target.read_bytes() == b"mine"


def test_load_weights_restores_the_optimizer_state_into_a_model_just_loaded(toy_pairs, tmp_path):
    """Keras skipped the saved optimizer's variables, with a warning, where the optimizer was not built."""
    model = zoo.load("gru_luong", train_data=toy_pairs, dropout=0.0, **TINY)
    model.fit(toy_pairs, batch_size=4, epochs=1, shuffle=False, verbose=0)
    model.save_weights(tmp_path / "trained.weights.h5")
    zoo.load("gru_luong", train_data=toy_pairs, **TINY).save_weights(tmp_path / "untrained.weights.h5")
    for name, source in (("trained", model), ("untrained", None)):
        restored = zoo.load("gru_luong", train_data=toy_pairs, dropout=0.0, **TINY)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            restored.load_weights(tmp_path / f"{name}.weights.h5")
        if source is None:  # saved before a step: its step count, and zero moments
            assert int(restored.optimizer.iterations) == 0
            continue
        assert int(restored.optimizer.iterations) == int(model.optimizer.iterations) == 3
        for saved, loaded in zip(model.optimizer.variables, restored.optimizer.variables, strict=True):
            np.testing.assert_array_equal(np.asarray(loaded), np.asarray(saved))
        for m in (model, restored):  # so training on from the file is training on from the model
            m.fit(toy_pairs, batch_size=4, epochs=1, shuffle=False, verbose=0)
        for a, b in zip(model.weights, restored.weights, strict=True):
            np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-6, atol=1e-7)


def test_load_weights_that_do_not_fit_say_what_to_load_instead(trained_translator, toy_pairs, tmp_path):
    trained_translator.save_weights(tmp_path / "model.weights.h5")
    trained_translator.save(tmp_path / "model.keras")
    trained_translator.save_to_preset(tmp_path / "preset")
    wider = zoo.load(
        "gru_luong_small", train_data=toy_pairs, **{**TINY, "hidden_dim": 2 * TINY["hidden_dim"]}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras' own, on each layer it skips
        with pytest.raises(
            ValueError, match=r"model.weights.h5: the weights do not fit this model\. A weights"
        ):
            wider.load_weights(tmp_path / "model.weights.h5")
        with pytest.raises(ValueError, match=r"holds a whole model, which `keras.saving.load_model\(path\)`"):
            wider.load_weights(tmp_path / "model.keras")
    other_words = zoo.load("gru_luong_small", train_data=(["un dos tres"], ["one two three"]), **TINY)
    for name in ("model.weights.h5", "model.keras"):
        with pytest.raises(
            ValueError, match=rf"{name}: vocabulary mismatch: .*another source and target vocabulary"
        ):
            other_words.load_weights(tmp_path / name)
    preset = re.escape(repr(str(tmp_path / "preset")))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(
            ValueError, match=rf"backbone's weights of the preset directory .*zoo.load\({preset}\)"
        ):
            wider.load_weights(tmp_path / "preset" / "model.weights.h5")
    with pytest.raises(
        IsADirectoryError, match=rf"not a weights file: a preset directory loads with `zoo.load\({preset}\)`"
    ):
        wider.load_weights(tmp_path / "preset")
    with pytest.raises(FileNotFoundError, match="No weights file at .*missing.weights.h5"):
        wider.load_weights(tmp_path / "missing.weights.h5")
    # The backbone's weights alone load, as the hint says, and give the preset's translations.
    from_preset = zoo.load(tmp_path / "preset")
    fresh = zoo.load("gru_luong_small", train_data=toy_pairs, **TINY)
    fresh.backbone.load_weights(tmp_path / "preset" / "model.weights.h5")
    assert fresh.translate(toy_pairs[0]) == from_preset.translate(toy_pairs[0])


def test_load_weights_refuses_other_vocabularies_of_the_same_size(trained_translator, toy_pairs, tmp_path):
    """Keras loaded them: the shapes match, and every embedding row then stood for another token."""
    trained_translator.save_weights(tmp_path / "model.weights.h5")
    trained_translator.save(tmp_path / "model.keras")
    shift = str.maketrans(string.ascii_lowercase, string.ascii_lowercase[1:] + "a")  # other words, as many
    sources, targets = toy_pairs
    shifted_sources, shifted_targets = (
        [text.lower().translate(shift) for text in side] for side in toy_pairs
    )
    for sides, data in (
        ("source", (shifted_sources, targets)),
        ("target", (sources, shifted_targets)),
        ("source and target", (shifted_sources, shifted_targets)),
    ):
        model = zoo.load("gru_luong_small", train_data=data, **TINY)
        assert model.count_params() == trained_translator.count_params()
        untouched = [np.asarray(w) for w in model.weights]
        for name, keep in (
            ("model.weights.h5", "save a `.keras` file or a preset directory"),
            ("model.keras", r"`keras.saving.load_model\(path\)` loads the model it holds"),
        ):
            with pytest.raises(
                ValueError,
                match=rf"{name}: vocabulary mismatch: .* another {sides} vocabulary than this model's .*{keep}",
            ):
                model.load_weights(tmp_path / name)
            for before, after in zip(untouched, model.weights, strict=True):
                np.testing.assert_array_equal(np.asarray(after), before)
    # `skip_mismatch=True` loads them, with the same words as a warning.
    with pytest.warns(
        UserWarning, match=r"vocabulary mismatch: .*Loading them anyway, as `skip_mismatch=True`"
    ):
        model.load_weights(tmp_path / "model.weights.h5", skip_mismatch=True)
    for saved, loaded in zip(trained_translator.weights, model.weights, strict=True):
        np.testing.assert_array_equal(np.asarray(loaded), np.asarray(saved))
    # A file without the record (Keras' own `save_weights`) loads as before.
    keras.Model.save_weights(trained_translator, tmp_path / "keras.weights.h5")
    same = zoo.load("gru_luong_small", train_data=toy_pairs, **TINY)
    same.load_weights(tmp_path / "keras.weights.h5")
    assert same.translate(toy_pairs[0]) == trained_translator.translate(toy_pairs[0])


def test_model_files_under_the_home_folder_round_trip(trained_translator, toy_pairs, tmp_path, monkeypatch):
    """`~` is the home folder, as `zoo.load` reads it: Keras' own loading looked for a folder named `~`."""
    monkeypatch.setenv("HOME", str(tmp_path))
    trained_translator.save_weights("~/model.weights.h5")
    trained_translator.save("~/model.keras")
    assert sorted(os.listdir(tmp_path)) == ["model.keras", "model.weights.h5"]
    restored = zoo.load("gru_luong_small", train_data=toy_pairs, **TINY)
    restored.load_weights("~/model.weights.h5")
    assert restored.translate(toy_pairs[0]) == trained_translator.translate(toy_pairs[0])
