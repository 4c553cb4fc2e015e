import json
import os
import pathlib
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from tests.conftest import TINY, tiny
from tests.helpers import assert_keras_round_trip, check_preset, pad_right


def test_fit_lowers_the_loss(toy_pairs):
    model = zoo.load("lstm_luong", train_data=toy_pairs, **TINY)
    model.compile(optimizer=keras.optimizers.Adam(0.01))
    before = model.evaluate(toy_pairs, verbose=0, return_dict=True)["loss"]
    model.fit(toy_pairs, epochs=20, batch_size=4, verbose=0)
    after = model.evaluate(toy_pairs, verbose=0, return_dict=True)["loss"]
    assert after < 0.7 * before


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


def test_trained_model_translates(trained_translator, toy_pairs):
    sources, targets = toy_pairs
    assert trained_translator.translate(sources) == targets
    assert trained_translator.translate("hola") == "hello"


def test_loss_and_accuracy_ignore_padding(trained_translator, toy_pairs):
    x, y, weights = trained_translator.preprocessor(
        tf.constant(toy_pairs[0][:4]), tf.constant(toy_pairs[1][:4])
    )
    logits = np.asarray(trained_translator(x), "float64")
    y, weights = y.numpy(), weights.numpy()
    log_probs = (
        logits
        - np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1, keepdims=True))
        - logits.max(-1, keepdims=True)
    )
    token_loss = -np.take_along_axis(log_probs, y[..., None], -1)[..., 0]
    expected_loss = (token_loss * weights).sum() / weights.sum()
    expected_accuracy = ((logits.argmax(-1) == y) * weights).sum() / weights.sum()
    dataset = tf.data.Dataset.from_tensors((x, y, weights))
    metrics = trained_translator.evaluate(dataset, verbose=0, return_dict=True)
    # This model is near-certain (about 0.001 a token), where float32 holds a
    # probability near 1 to about 1e-7: hence the absolute tolerance.
    assert metrics["loss"] == pytest.approx(expected_loss, rel=1e-4, abs=1e-6)
    assert metrics["accuracy"] == pytest.approx(expected_accuracy, rel=1e-6)
    assert weights.min() == 0.0  # the batch really has padding


def test_padding_changes_no_logits(trained_translator, toy_pairs):
    x, _, _ = trained_translator.preprocessor(tf.constant(toy_pairs[0][:4]), tf.constant(toy_pairs[1][:4]))
    x = {k: v.numpy() for k, v in x.items()}
    logits = np.asarray(trained_translator(x))
    padded = {k: pad_right(v, 3) for k, v in x.items()}
    padded_logits = np.asarray(trained_translator(padded))[:, : logits.shape[1]]
    real = x["decoder_token_ids"] != 0
    np.testing.assert_allclose(padded_logits[real], logits[real], atol=1e-5)


def test_backbone_keras_round_trip(trained_translator, toy_pairs, tmp_path):
    x, _, _ = trained_translator.preprocessor(tf.constant(toy_pairs[0][:3]), tf.constant(toy_pairs[1][:3]))
    assert_keras_round_trip(trained_translator.backbone, x, tmp_path)


def test_translator_keras_round_trip(trained_translator, toy_pairs, tmp_path):
    path = str(tmp_path / "translator.keras")
    trained_translator.save(path)
    restored = keras.saving.load_model(path)
    assert restored.translate(toy_pairs[0]) == trained_translator.translate(toy_pairs[0])


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


def test_translate_details(trained_translator):
    result = trained_translator.translate("el gato come", return_attention=True)
    assert result.text == "the cat eats"
    assert result.source_tokens == ["el", "gato", "come"]
    assert result.output_tokens == ["the", "cat", "eats", "[END]"]
    assert result.attention.shape == (4, 3)
    np.testing.assert_allclose(result.attention.sum(-1), 1.0, atol=1e-5)
    alignment = result.alignment()
    assert [out for out, _ in alignment] == ["the", "cat", "eats", "[END]"]
    assert all(src in result.source_tokens for _, src in alignment)
    assert [src for _, src in alignment] == [result.source_tokens[j] for j in result.attention.argmax(-1)]
    # Tokens read as words: the mark joining "?" to its word is left out.
    asked = trained_translator.translate("¿dónde está el gato?", return_attention=True)
    assert "￭?" in asked.output_tokens and "￭?" in asked.source_tokens
    assert [out for out, _ in asked.alignment()][-2:] == ["?", "[END]"]
    assert not any("￭" in (out + (src or "")) for out, src in asked.alignment())
    assert result.score < 0.0


def test_translate_edge_cases(trained_translator):
    assert trained_translator.translate("") == ""
    assert trained_translator.translate(["", "   "]) == ["", ""]
    assert trained_translator.translate([]) == []
    assert isinstance(trained_translator.translate("zebra xylophone"), str)  # all unknown words
    assert len(trained_translator.translate("hola", max_length=1).split()) <= 1


def test_translate_takes_strings_as_tensorflow_and_numpy_give_them(trained_translator, toy_pairs):
    sentences = list(toy_pairs[0][:3]) + ["¿qué?"]
    expected = trained_translator.translate(sentences)
    assert trained_translator.translate(tf.constant(sentences)) == expected
    assert trained_translator.translate([s.encode() for s in sentences]) == expected
    assert trained_translator.translate(np.array([s.encode() for s in sentences])) == expected
    assert trained_translator.translate(np.array(sentences)) == expected
    assert trained_translator.translate(tf.constant(sentences[3])) == expected[3]
    assert trained_translator.translate(sentences[3].encode()) == expected[3]
    assert trained_translator.translate(np.array(sentences[3])) == expected[3]  # 0-d: one sentence
    assert trained_translator.translate(np.array(sentences[3].encode())) == expected[3]
    dataset = tf.data.Dataset.from_tensor_slices(sentences).as_numpy_iterator()
    assert trained_translator.translate(dataset) == expected


def test_text_pairs_as_a_list_of_tuples(trained_translator, toy_pairs):
    from zoo.text_inputs import check_text_pairs

    sources, targets = list(toy_pairs[0][:2]), list(toy_pairs[1][:2])
    expected = (sources, targets)
    # Two pairs as a list of tuples were read as (sources, targets): the first pair
    # became the sources. The containers now tell the two forms apart.
    assert check_text_pairs(list(zip(sources, targets)), "x") == expected
    assert check_text_pairs((sources, targets), "x") == expected
    assert check_text_pairs([sources, targets], "x") == expected
    pairs = list(zip(toy_pairs[0], toy_pairs[1]))
    as_tuples = trained_translator.evaluate(pairs, verbose=0, return_dict=True)
    as_lists = trained_translator.evaluate(
        (list(toy_pairs[0]), list(toy_pairs[1])), verbose=0, return_dict=True
    )
    assert as_tuples == pytest.approx(as_lists)
    from_tuples = zoo.load("gru_luong_small", train_data=pairs, **TINY).preprocessor
    from_lists = zoo.load("gru_luong_small", train_data=toy_pairs, **TINY).preprocessor
    for side in ("source_tokenizer", "target_tokenizer"):
        assert getattr(from_tuples, side).vocabulary == getattr(from_lists, side).vocabulary
    with pytest.raises(TypeError, match="a list of \\(source, target\\) tuples.*received list of 3 items"):
        check_text_pairs([("a", "b", "c")] * 3, "x")


def test_truncate_cuts_over_long_sentences_as_the_export_does(trained_translator):
    """`truncate=True` reads the first `max_source_length` tokens of an over-long sentence, as the export does."""
    long_sentence = " ".join(["el gato come"] * 50)  # 150 tokens
    cut = " ".join(long_sentence.split()[:100])
    sentences = ["hola", long_sentence, "el gato", " ".join(["gato"] * 101)]
    expected = trained_translator.translate(["hola", cut, "el gato", " ".join(["gato"] * 100)], batch_size=4)
    for batch_size in (4, 1):  # one batch, and the path that groups by length first
        assert trained_translator.translate(sentences, batch_size=batch_size, truncate=True) == expected
    result = trained_translator.translate(long_sentence, truncate=True, return_attention=True)
    assert result.source_tokens == cut.split() and result.attention.shape[1] == 100
    with pytest.raises(ValueError, match="`truncate` must be True or False, received 'yes'"):
        trained_translator.translate("hola", truncate="yes")


def test_from_preset_is_zoo_load_under_keras_hubs_name(trained_translator, toy_pairs, tmp_path):
    path = tmp_path / "preset"
    trained_translator.save_to_preset(path)
    loaded = zoo.Translator.from_preset(str(path), max_source_length=150)
    assert loaded.preprocessor.max_source_length == 150
    for got, want in zip(loaded.get_weights(), trained_translator.get_weights()):
        np.testing.assert_array_equal(got, want)
    built = zoo.Translator.from_preset("gru_luong_small", train_data=toy_pairs, hidden_dim=8)
    assert built.backbone.hidden_dim == 8
    assert (
        built.get_config()["source_vocabulary"]
        == zoo.load("gru_luong_small", train_data=toy_pairs).get_config()["source_vocabulary"]
    )
    with pytest.raises(ValueError, match="Unknown preset: 'gru_loung'. Did you mean 'gru_luong'"):
        zoo.Translator.from_preset("gru_loung", train_data=toy_pairs)


def test_a_saved_preset_takes_new_length_limits_and_nothing_else(trained_translator, tmp_path):
    """No weight depends on `max_source_length`: a saved model may read longer sentences, or be held to shorter."""
    path = tmp_path / "preset"
    trained_translator.save_to_preset(path)
    long_sentence = " ".join(["el gato come"] * 40)  # 120 tokens: over the saved 100
    with pytest.raises(ValueError, match="this model reads at most 100"):
        zoo.load(str(path)).translate(long_sentence)
    longer = zoo.load(str(path), max_source_length=150)
    assert (longer.preprocessor.max_source_length, longer.preprocessor.max_target_length) == (150, 100)
    assert isinstance(longer.translate(long_sentence), str)  # all 120 tokens read
    assert longer.translate(["hola", "el gato"]) == trained_translator.translate(["hola", "el gato"])
    shorter = zoo.load(str(path), max_source_length=2, max_target_length=5)
    with pytest.raises(ValueError, match="this model reads at most 2"):
        shorter.translate("el gato come")
    with pytest.raises(
        ValueError, match="hidden_dim cannot change. Of a saved preset only max_source_length"
    ):
        zoo.load(str(path), hidden_dim=8, max_source_length=150)
    with pytest.raises(ValueError, match="`max_source_length` must be a positive int, received 0"):
        zoo.load(str(path), max_source_length=0)
    with pytest.raises(ValueError, match="saved preset with its own vocabularies; `train_data` applies only"):
        zoo.load(str(path), train_data=(["a"], ["b"]))


def test_translate_bad_input(trained_translator):
    with pytest.raises(TypeError, match="Source sentence 1 is not a str but int: 3"):
        trained_translator.translate(["hola", 3])
    with pytest.raises(ValueError, match="Source sentence 1 is bytes that are not UTF-8 .*at byte 1"):
        trained_translator.translate([b"hola", b"c\xe9sped"])
    with pytest.raises(TypeError, match="a tensor of int32 and shape \\(2,\\), where a 1-D tf.string"):
        trained_translator.translate(tf.constant([1, 2]))
    with pytest.raises(TypeError, match="a tensor of string and shape \\(1, 1\\)"):
        trained_translator.translate(tf.constant([["hola"]]))
    with pytest.raises(ValueError, match="Sentence 0 has 101 tokens.*at most 100"):
        trained_translator.translate(" ".join(["gato"] * 101))
    # One batch is checked by the decoding call itself, more by a pass before.
    sentences = ["hola", "el gato", " ".join(["gato"] * 120), " ".join(["gato"] * 101)]
    for batch_size in (4, 1):
        with pytest.raises(
            ValueError, match="Sentence 2 has 120 tokens.*2 sentence\\(s\\) are too long"
        ) as error:
            trained_translator.translate(sentences, batch_size=batch_size)
        # The figures, for a caller that names the sentence its own way (`zoo translate`: by line).
        assert (error.value.index, error.value.length, error.value.limit, error.value.count) == (
            2,
            120,
            100,
            2,
        )
    with pytest.raises(ValueError, match="max_length"):
        trained_translator.translate("hola", max_length=0)


def test_preset_round_trip(trained_translator, toy_pairs, tmp_path):
    path = tmp_path / "preset"
    trained_translator.save_to_preset(path)
    assert sorted(p.name for p in path.iterdir()) == [
        "assets",
        "config.json",
        "metadata.json",
        "model.weights.h5",
    ]
    metadata = json.loads((path / "metadata.json").read_text())
    assert metadata["parameter_count"] == trained_translator.backbone.count_params()
    restored = zoo.load(str(path))
    x, _, _ = trained_translator.preprocessor(tf.constant(toy_pairs[0]), tf.constant(toy_pairs[1]))
    np.testing.assert_array_equal(restored(x), trained_translator(x))
    assert restored.translate(toy_pairs[0]) == trained_translator.translate(toy_pairs[0])
    trained_translator.save_to_preset(path)  # overwriting an existing preset works
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left behind
    # Anything but an earlier preset is refused and left as it was: a user's
    # file beside the preset, an export.
    (path / "README.md").write_text("mine")
    with pytest.raises(FileExistsError, match="is not a preset directory: it holds README.md"):
        trained_translator.save_to_preset(path)
    assert (path / "README.md").read_text() == "mine"
    assert zoo.load(str(path)).translate(toy_pairs[0]) == trained_translator.translate(toy_pairs[0])


def test_a_path_from_home_is_read_as_a_shell_reads_it(trained_translator, toy_pairs, tmp_path, monkeypatch):
    """`~/x` in `save_to_preset`, `zoo.load`, `export` and the plots is the home folder's x, not `./~/x`."""
    from training.plots import plot_attention

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    trained_translator.save_to_preset("~/preset")
    trained_translator.export("~/exported")
    plot_attention(trained_translator.translate(toy_pairs[0][0], return_attention=True), "~/a.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "exported", "preset"]
    assert zoo.load("~/preset").translate(toy_pairs[0]) == trained_translator.translate(toy_pairs[0])


def test_broken_preset_directories(trained_translator, tmp_path):
    path = tmp_path / "preset"
    trained_translator.save_to_preset(path)
    (path / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="config.json: not valid JSON"):
        zoo.load(str(path))
    trained_translator.save_to_preset(path)
    config = json.loads((path / "config.json").read_text())
    config["config"]["backbone"]["class_name"] = "os.system"
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="config.json: malformed or unknown entry"):
        zoo.load(str(path))
    trained_translator.save_to_preset(path)
    metadata = json.loads((path / "metadata.json").read_text())
    (path / "metadata.json").write_text(json.dumps(dict(metadata, format_version=99)))
    with pytest.raises(ValueError, match="format_version 99"):
        zoo.load(str(path))
    trained_translator.save_to_preset(path)
    with open(path / "assets" / "target_vocabulary.txt", "a", encoding="utf-8") as f:
        f.write("extra\n")
    with pytest.raises(ValueError, match="vocabulary mismatch"):
        zoo.load(str(path))
    trained_translator.save_to_preset(path)
    (path / "model.weights.h5").unlink()
    with pytest.raises(ValueError, match="model.weights.h5 is missing"):
        zoo.load(str(path))


@pytest.mark.parametrize(
    "section, key, value, message",
    [
        (
            "backbone",
            "hiden_dim",
            64,
            r"unexpected keyword argument 'hiden_dim' \(did you mean 'hidden_dim'\?\)",
        ),
        ("backbone", "hidden_dim", "16", r"`hidden_dim` must be an int >= 1, received '16'"),
        ("backbone", "num_layers", 1.0, r"`num_layers` must be an int >= 1, received 1.0"),
        ("backbone", "output_norm", "false", r"`output_norm` must be True or False, received 'false'"),
        ("backbone", "dropout", None, r"`dropout` must be in \[0, 1\), received dropout=None"),
        (
            "preprocessor",
            "max_source_length",
            True,
            r"`max_source_length` must be a positive int, received True",
        ),
    ],
)
def test_a_hand_edited_config_names_the_setting(trained_translator, tmp_path, section, key, value, message):
    """A typo or a quoted number in config.json is an error naming it, not a default or a model of another size."""
    path = tmp_path / "preset"
    trained_translator.save_to_preset(path)
    config = json.loads((path / "config.json").read_text())
    settings = config["config"][section]
    settings = settings["config"] if section == "backbone" else settings
    assert key.startswith("hiden") or key in settings  # the saved form, edited
    settings[key] = value
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=f"config.json: invalid settings: .*{message}"):
        zoo.load(str(path))


def test_a_folder_that_holds_a_model_of_another_form_says_where_the_preset_is(trained_translator, tmp_path):
    # A training run's folder, its checkpoint folder and its export, as `zoo train` writes them.
    run = tmp_path / "run"
    trained_translator.save_to_preset(run / "preset")
    trained_translator.save_to_preset(run / "checkpoint" / "best")
    trained_translator.export(run / "exported")
    (run / "logs").mkdir()
    with pytest.raises(ValueError, match=f"It holds the preset directory {run}/preset: load that instead"):
        zoo.load(run)
    with pytest.raises(ValueError, match=f"holds the preset directory {run}/checkpoint/best: load that"):
        zoo.load(run / "checkpoint")
    with pytest.raises(ValueError, match="It is a SavedModel .*`tf.saved_model.load`; load the preset"):
        zoo.load(run / "exported")
    with pytest.raises(ValueError, match=r"config.json is missing\.$"):
        zoo.load(run / "logs")
    trained_translator.save_to_preset(run / "other")
    with pytest.raises(ValueError, match=f"directories {run}/other, {run}/preset: load one of those"):
        zoo.load(run)


def test_a_dataset_of_string_pairs_is_text_pairs_everywhere(toy_pairs):
    """A tf.data (or TFDS) dataset of `(source, target)` strings learns vocabularies and is scored like lists."""
    from training import evaluate
    from training.validation_bleu import ValidationBleu

    sources, targets = toy_pairs
    dataset = tf.data.Dataset.from_tensor_slices((sources, targets))
    expected = zoo.load("gru_luong", train_data=toy_pairs, **TINY)
    for data in (dataset, dataset.batch(5)):
        model = zoo.load("gru_luong", train_data=data, **TINY)
        for side in ("source_tokenizer", "target_tokenizer"):
            vocabulary = getattr(model.preprocessor, side).vocabulary
            assert list(vocabulary) == list(getattr(expected.preprocessor, side).vocabulary)
        assert evaluate(expected, data).translations == evaluate(expected, toy_pairs).translations
    callback = ValidationBleu(dataset.batch(3))
    assert callback.pairs == (list(sources), list(targets))
    with pytest.raises(ValueError, match="`train_data` is an endless dataset .*`dataset.take\\(n\\)`"):
        zoo.load("gru_luong", train_data=dataset.repeat(), **TINY)
    records = tf.data.Dataset.from_tensor_slices({"es": sources, "en": targets})
    with pytest.raises(
        TypeError, match="`pairs` must yield \\(source, target\\) pairs of strings; this one yields {"
    ):
        evaluate(expected, records)
    with pytest.raises(ValueError, match="`train_data` is empty"):
        zoo.load("gru_luong", train_data=dataset.take(0), **TINY)


def test_load_errors(toy_pairs, tmp_path):
    with pytest.raises(ValueError, match="Unknown preset: 'gru_lounge'. Did you mean 'gru_luong'\\?"):
        zoo.load("gru_lounge", train_data=toy_pairs)
    with pytest.raises(ValueError, match="Unknown preset: 'xyz'. Expected one of"):  # nothing close
        zoo.load("xyz", train_data=toy_pairs)
    with pytest.raises(TypeError, match="`preset` must be a built-in preset name or the path .*NoneType"):
        zoo.load(None)
    with pytest.raises(ValueError, match="'hf://a/b' is a remote handle; .*Download the preset first"):
        zoo.load("hf://a/b")
    with pytest.raises(ValueError, match="train_data"):
        zoo.load("gru_luong")
    with pytest.raises(
        ValueError, match="Unknown setting 'hidden_size' for preset 'gru_luong'. Did you mean 'hidden_dim'\\?"
    ):
        zoo.load("gru_luong", train_data=toy_pairs, hidden_size=3)

    class Table:  # as a pandas DataFrame: which column is which is the user's to say
        columns = ["es", "en"]

    with pytest.raises(TypeError, match="received Table. For a table, pass its two columns"):
        zoo.load("gru_luong", train_data=Table())
    for path in ("pairs.tsv", pathlib.Path("pairs.tsv")):  # a path is not read silently as some format
        with pytest.raises(
            TypeError,
            match=r"received (str|\w*Path)\. For a file, read it first: `training.datasets.load_tsv\('pairs.tsv'",
        ):
            zoo.load("gru_luong", train_data=path)
    with pytest.raises(ValueError, match="'num_layers' of preset 'gru_luong' must be an int .*received '2'"):
        zoo.load("gru_luong", train_data=toy_pairs, num_layers="2")
    with pytest.raises(ValueError, match="'residual' of preset 'gru_luong' must be a bool .*received 1"):
        zoo.load("gru_luong", train_data=toy_pairs, residual=1)
    # Keras' Dropout would name its `rate`, and take 1.0 (every value dropped, a model that learns nothing).
    for preset, dropout in (("gru_luong", 2.0), ("gru_luong", 1.0), ("transformer_small", 1.0)):
        with pytest.raises(ValueError, match=f"`dropout` must be in \\[0, 1\\), received dropout={dropout}"):
            zoo.load(preset, train_data=toy_pairs, dropout=dropout)
    # NumPy scalars are numbers like any other, saved as plain JSON.
    model = zoo.load(
        "gru_luong_small", train_data=toy_pairs, hidden_dim=np.int64(8), embedding_dim=np.int64(4)
    )
    assert type(model.backbone.get_config()["hidden_dim"]) is int
    with pytest.raises(FileNotFoundError, match="No preset directory"):
        zoo.load(str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match=f"No preset directory at {os.path.expanduser('~')}"):
        zoo.load("~/nowhere-in-home")  # `~` is the home folder, as in a shell
    with pytest.raises(ValueError, match="3 source sentences but 2 target"):
        zoo.load("gru_luong", train_data=(["a", "b", "c"], ["x", "y"]))


def test_a_folder_named_like_a_preset_means_it_only_without_train_data(
    trained_translator, toy_pairs, tmp_path, monkeypatch
):
    # A run's output folder named after its preset (`zoo train --out gru_luong_small`)
    # is in the working directory when the same command runs again to resume.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "gru_luong_small" / "checkpoint").mkdir(parents=True)
    fresh = zoo.load("gru_luong_small", train_data=toy_pairs, hidden_dim=8)  # the built-in preset
    assert fresh.backbone.hidden_dim == 8
    with pytest.raises(ValueError, match="not a preset directory.*needs `train_data"):
        zoo.load("gru_luong_small")
    # Saving a preset would delete the run's checkpoints: refused, nothing touched.
    with pytest.raises(
        FileExistsError, match="gru_luong_small already exists and is not a preset.*checkpoint"
    ):
        trained_translator.save_to_preset(tmp_path / "gru_luong_small")
    assert os.listdir(tmp_path / "gru_luong_small") == ["checkpoint"]
    # Once a preset is saved there, the bare name loads it; with train_data, the built-in.
    (tmp_path / "gru_luong_small" / "checkpoint").rmdir()
    trained_translator.save_to_preset(tmp_path / "gru_luong_small")
    restored = zoo.load("gru_luong_small")
    assert restored.translate(toy_pairs[0]) == trained_translator.translate(toy_pairs[0])
    untrained = zoo.load("gru_luong_small", train_data=toy_pairs, **TINY)
    trained_kernel = trained_translator.backbone.output_projection.kernel.numpy()
    assert not np.array_equal(untrained.backbone.output_projection.kernel.numpy(), trained_kernel)
    np.testing.assert_array_equal(restored.backbone.output_projection.kernel.numpy(), trained_kernel)


@pytest.mark.parametrize("preset", sorted(zoo.PRESETS))
def test_every_preset(preset, toy_pairs, tmp_path):
    check_preset(zoo.load(preset, train_data=toy_pairs, **tiny(preset)), toy_pairs, tmp_path)


def test_luong_score_is_selectable(toy_pairs):
    for score in ("dot", "general", "concat"):
        model = zoo.load("gru_luong", train_data=toy_pairs, attention_score=score, **TINY)
        assert model.backbone.decoder.attention_layer.score_mode == score
    with pytest.raises(ValueError, match="Luong `score_mode`: 'additive'"):
        zoo.load("gru_luong", train_data=toy_pairs, attention_score="additive")


def test_output_norm_normalizes_what_the_vocabulary_projection_reads(toy_pairs):
    model = zoo.load("gru_luong", train_data=toy_pairs, **TINY)
    backbone = model.backbone
    assert backbone.output_norm and backbone.get_config()["output_norm"]
    norm = backbone.output_norm_layer
    norm.gamma.assign(np.linspace(0.5, 1.5, TINY["hidden_dim"]).astype("float32"))
    norm.beta.assign(np.linspace(-0.2, 0.2, TINY["hidden_dim"]).astype("float32"))
    cache = backbone.encode(tf.constant([[5, 6, 7]]))
    logits, cache = backbone.next(tf.constant([2]), cache, 0)
    h = cache["output"].numpy().astype("float64")
    normalized = (h - h.mean(-1, keepdims=True)) / np.sqrt(h.var(-1, keepdims=True) + norm.epsilon)
    kernel, bias = (w.numpy() for w in backbone.output_projection.weights)
    expected = (normalized * norm.gamma.numpy() + norm.beta.numpy()) @ kernel + bias
    np.testing.assert_allclose(logits.numpy(), expected, rtol=1e-4, atol=1e-5)
    # A config saved before the option existed loads as it was saved: without the norm.
    config = backbone.get_config()
    del config["output_norm"]
    old = zoo.RecurrentSeq2Seq.from_config(config)
    assert (
        old.output_norm_layer is None
        and old.count_params() == backbone.count_params() - 2 * TINY["hidden_dim"]
    )
    with_off = zoo.load("gru_luong", train_data=toy_pairs, output_norm=False, **TINY)
    assert with_off.backbone.output_norm_layer is None


def test_initial_logits_have_one_scale_whatever_the_vocabulary():
    def initial_logit_std(vocabulary_size, **settings):
        keras.utils.set_random_seed(0)
        backbone = zoo.RecurrentSeq2Seq(50, vocabulary_size, hidden_dim=64, attention="luong", **settings)
        rng = np.random.default_rng(0)
        ids = {
            "encoder_token_ids": rng.integers(1, 50, size=(32, 12)).astype("int32"),
            "decoder_token_ids": rng.integers(1, vocabulary_size, size=(32, 12)).astype("int32"),
        }
        return np.asarray(backbone(ids)).std(), backbone.output_projection.kernel.numpy().std()

    (small, small_kernel), (large, large_kernel) = (
        initial_logit_std(v, output_norm=True) for v in (20, 5000)
    )
    assert small == pytest.approx(large, rel=0.1)
    for kernel in (small_kernel, large_kernel):
        assert kernel == pytest.approx(zoo.recurrent_seq2seq.INITIAL_LOGIT_SCALE / 8, rel=0.05)  # sqrt(64)
    # Without the norm the projection reads features of unknown scale and keeps
    # Keras' Glorot default, whose scale falls as the vocabulary grows.
    (small, _), (large, _) = (initial_logit_std(v, output_norm=False) for v in (20, 5000))
    assert small > 4 * large


def test_learned_positions_bound_the_lengths(toy_pairs):
    with pytest.raises(ValueError, match="max_sequence_length=50.*allows 101"):
        zoo.load(
            "transformer_small", train_data=toy_pairs, position_embedding="learned", max_sequence_length=50
        )
    model = zoo.load(
        "transformer_small",
        train_data=toy_pairs,
        position_embedding="learned",
        max_sequence_length=20,
        max_source_length=10,
        max_target_length=10,
        **tiny("transformer_small"),
    )
    with pytest.raises(ValueError, match="max_length` is 30.*at most 20"):
        model.translate("hola", max_length=30)
    assert isinstance(model.translate("hola", max_length=20), str)


def test_presets_table_is_complete():
    names = set(zoo.PRESETS)
    assert {"rnn_seq2seq", "lstm_seq2seq", "gru_seq2seq", "gru_luong", "lstm_luong"} <= names
    assert {"gru_bahdanau", "lstm_bahdanau", "transformer"} <= names
    assert all(
        f"{name}_small" in names for name in ("gru_seq2seq", "gru_luong", "gru_bahdanau", "transformer")
    )
    for name, spec in zoo.PRESETS.items():
        assert spec["description"] and zoo.architecture(name)
        assert zoo.parameter_count(name, 100) > 0
    assert zoo.get_preset("gru_bahdanau")["backbone"]["config"]["bidirectional"]
