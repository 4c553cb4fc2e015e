import keras
import numpy as np
import pytest

from zoo.per_token_metric import PerTokenMetric
from zoo.perplexity import Perplexity
from zoo.sequence_cross_entropy import SequenceCrossEntropy
from zoo.target_tokens import TargetTokens
from zoo.token_accuracy import TokenAccuracy

RNG = np.random.default_rng(0)
LOGITS = RNG.normal(size=(2, 3, 5)).astype("float32")
LABELS = np.array([[1, 4, 0], [2, 0, 0]])
WEIGHTS = (LABELS != 0).astype("float32")  # 0 marks padding


def _log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def _reference(eps):
    """Cross-entropy against (1 - eps) one-hot + eps uniform, averaged over real tokens."""
    target = (1 - eps) * np.eye(5)[LABELS] + eps / 5
    per_token = -(target * _log_softmax(LOGITS)).sum(-1)
    return (per_token * WEIGHTS).sum() / WEIGHTS.sum()


@pytest.mark.parametrize("eps", [0.0, 0.1, 0.3])
def test_matches_numpy_and_ignores_padding(eps):
    loss = SequenceCrossEntropy(label_smoothing=eps)
    assert float(loss(LABELS, LOGITS, sample_weight=WEIGHTS)) == pytest.approx(_reference(eps), rel=1e-5)
    changed = LOGITS.copy()
    changed[WEIGHTS == 0] = 100.0  # whatever the model says at padding does not count
    assert float(loss(LABELS, changed, sample_weight=WEIGHTS)) == pytest.approx(_reference(eps), rel=1e-5)
    if eps == 0.0:
        keras_loss = keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, reduction="mean_with_sample_weight"
        )
        assert float(loss(LABELS, LOGITS, sample_weight=WEIGHTS)) == pytest.approx(
            float(keras_loss(LABELS, LOGITS, sample_weight=WEIGHTS)), rel=1e-5
        )


@pytest.mark.parametrize("eps", [0.0, 0.1])
def test_gradient_matches_numpy(eps):
    # d loss / d logits = (softmax - the smoothed target) * weight / real tokens.
    import tensorflow as tf

    logits = tf.constant(LOGITS)
    with tf.GradientTape() as tape:
        tape.watch(logits)
        value = SequenceCrossEntropy(label_smoothing=eps)(LABELS, logits, sample_weight=WEIGHTS)
    target = (1 - eps) * np.eye(5)[LABELS] + eps / 5
    expected = (np.exp(_log_softmax(LOGITS)) - target) * WEIGHTS[..., None] / WEIGHTS.sum()
    np.testing.assert_allclose(tape.gradient(value, logits), expected, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("eps", [0.0, 0.1])
def test_extreme_logits_stay_finite_and_exact(eps):
    # The log-sum-exp comes from the softmax's largest probability, which
    # never underflows: a label 1e4 below the best still gets its true loss.
    import tensorflow as tf

    logits = np.zeros((1, 2, 5), "float32")
    logits[0, 0] = [1e4, -1e4, 0.0, 3.0, -2.0]
    logits[0, 1] = [-30.0, 50.0, 49.0, 0.0, 0.0]
    labels = np.array([[1, 2]])
    loss = SequenceCrossEntropy(label_smoothing=eps, reduction=None)
    target = (1 - eps) * np.eye(5)[labels] + eps / 5
    expected = -(target * _log_softmax(logits.astype("float64"))).sum(-1)
    np.testing.assert_allclose(loss(labels, logits), expected, rtol=1e-6)
    variable = tf.Variable(logits)
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(loss(labels, variable))
    gradient = tape.gradient(total, variable).numpy()
    assert np.all(np.isfinite(gradient))
    np.testing.assert_allclose(gradient.sum(-1), 0.0, atol=1e-6)  # a distribution minus a distribution


def test_config_round_trip_and_errors():
    loss = SequenceCrossEntropy(label_smoothing=0.2)
    assert SequenceCrossEntropy.from_config(loss.get_config()).label_smoothing == 0.2
    assert keras.losses.deserialize(keras.losses.serialize(loss)).label_smoothing == 0.2
    with pytest.raises(ValueError, match="label_smoothing"):
        SequenceCrossEntropy(label_smoothing=1.0)


def test_perplexity_and_token_count():
    perplexity = Perplexity()
    perplexity.update_state(LABELS, LOGITS, sample_weight=WEIGHTS)
    assert float(perplexity.result()) == pytest.approx(np.exp(_reference(0.0)), rel=1e-5)
    tokens = TargetTokens()
    tokens.update_state(LABELS, LOGITS, sample_weight=WEIGHTS)
    tokens.update_state(LABELS, LOGITS, sample_weight=WEIGHTS)
    assert float(tokens.result()) == 6.0


def test_perplexity_reads_the_cross_entropy_the_loss_computed_for_the_same_tensors():
    import tensorflow as tf

    labels, logits = tf.constant(LABELS), tf.constant(LOGITS)
    loss = SequenceCrossEntropy(label_smoothing=0.1)  # the perplexity stays the plain one
    loss(labels, logits, sample_weight=WEIGHTS)
    shared = Perplexity(loss=loss)
    shared.update_state(labels, logits, sample_weight=WEIGHTS)
    assert float(shared.result()) == pytest.approx(np.exp(_reference(0.0)), rel=1e-5)

    # Other logits or labels than the loss last saw are computed afresh.
    other = Perplexity(loss=loss)
    other.update_state(labels, tf.constant(LOGITS[::-1].copy()), sample_weight=WEIGHTS)
    fresh = Perplexity()
    fresh.update_state(LABELS, LOGITS[::-1].copy(), sample_weight=WEIGHTS)
    assert float(other.result()) == pytest.approx(float(fresh.result()), rel=1e-6)
    assert float(other.result()) != pytest.approx(float(shared.result()), rel=1e-3)


def test_a_training_step_computes_the_softmax_cross_entropy_once(monkeypatch):
    """The loss and the perplexity metric share it: it is the step's second-largest cost after the projection."""
    import zoo
    from training.corpora import load_corpus
    from zoo import sequence_cross_entropy

    traced, losses = [], []
    compute = sequence_cross_entropy.token_losses
    monkeypatch.setattr(sequence_cross_entropy, "token_losses", lambda *a: traced.append(1) or compute(*a))
    call = SequenceCrossEntropy.call
    monkeypatch.setattr(SequenceCrossEntropy, "call", lambda self, *a: losses.append(1) or call(self, *a))
    pairs = load_corpus("dates", num_pairs=16, seed=1)
    model = zoo.load("gru_luong_small", train_data=pairs)
    history = model.fit(pairs, epochs=1, batch_size=16, verbose=0)
    assert losses and len(traced) == len(losses)  # once per traced step: the loss's, none for the metric
    logs = history.history
    assert logs["perplexity"][0] == pytest.approx(np.exp(logs["loss"][0]), rel=1e-5)


def test_token_accuracy_matches_numpy_and_keras_and_ignores_padding():
    logits = LOGITS.copy()
    logits[0, 0, 1] += 10.0  # one of the three real tokens is guessed
    logits[1, 1, 0] += 10.0  # and one padding position, which does not count
    accuracy = TokenAccuracy()
    accuracy.update_state(LABELS, logits, sample_weight=WEIGHTS)
    hits = (logits.argmax(-1) == LABELS).astype("float32")
    assert (
        float(accuracy.result())
        == pytest.approx((hits * WEIGHTS).sum() / WEIGHTS.sum())
        == pytest.approx(1 / 3)
    )
    keras_accuracy = keras.metrics.SparseCategoricalAccuracy()
    keras_accuracy.update_state(LABELS, logits, sample_weight=WEIGHTS)
    assert float(accuracy.result()) == pytest.approx(float(keras_accuracy.result()))
    changed = logits.copy()
    changed[WEIGHTS == 0] = -changed[WEIGHTS == 0]  # other guesses at padding change nothing
    again = TokenAccuracy()
    again.update_state(LABELS, changed, sample_weight=WEIGHTS)
    assert float(again.result()) == float(accuracy.result())


def test_metrics_count_every_token_once_across_batches_of_other_lengths():
    # Length bucketing gives every batch its own padded length T; Keras' Mean
    # would weigh each token by 1 / T. Two batches, T = 3 and T = 7:
    rng = np.random.default_rng(7)  # its own: the draws do not depend on which tests ran before
    long_logits = rng.normal(size=(3, 7, 5)).astype("float32")
    long_labels = rng.integers(1, 5, size=(3, 7))
    long_labels[0, 4:] = long_labels[2, 2:] = 0
    long_weights = (long_labels != 0).astype("float32")
    batches = [(LABELS, LOGITS, WEIGHTS), (long_labels, long_logits, long_weights)]

    def every_token(f):
        values = np.concatenate([f(labels, logits)[weights > 0] for labels, logits, weights in batches])
        return values.mean()

    nll = every_token(
        lambda labels, logits: -np.take_along_axis(_log_softmax(logits), labels[..., None], -1)[..., 0]
    )
    hits = every_token(lambda labels, logits: (logits.argmax(-1) == labels).astype("float64"))
    perplexity, accuracy, keras_accuracy, per_token = (
        Perplexity(),
        TokenAccuracy(),
        keras.metrics.SparseCategoricalAccuracy(),
        PerTokenMetric(keras.metrics.SparseCategoricalAccuracy()),  # what compile(metrics=) adds
    )
    for labels, logits, weights in batches:
        for metric in (perplexity, accuracy, keras_accuracy, per_token):
            metric.update_state(labels, logits, sample_weight=weights)
    assert float(perplexity.result()) == pytest.approx(np.exp(nll), rel=1e-5)
    assert float(accuracy.result()) == pytest.approx(hits, rel=1e-6)
    assert float(per_token.result()) == pytest.approx(hits, rel=1e-6)
    per_token.reset_state()
    assert float(per_token.result()) == 0.0
    assert float(keras_accuracy.result()) != pytest.approx(hits, rel=1e-2)  # the bias this avoids
    # Without weights every position counts.
    unweighted = TokenAccuracy()
    unweighted.update_state(long_labels, long_logits)
    assert float(unweighted.result()) == pytest.approx((long_logits.argmax(-1) == long_labels).mean())


def test_per_token_metric_round_trips_its_config_and_names_what_it_reads():
    metric = PerTokenMetric(keras.metrics.SparseTopKCategoricalAccuracy(k=2, name="top2"))
    assert metric.name == "top2"
    restored = PerTokenMetric.from_config(metric.get_config())
    assert restored.name == "top2" and restored.metric.get_config() == metric.metric.get_config()
    for m in (metric, restored):
        m.update_state(LABELS, LOGITS, sample_weight=WEIGHTS)
    assert float(restored.result()) == float(metric.result())
    loss_like = PerTokenMetric(keras.metrics.SparseCategoricalCrossentropy(from_logits=True))
    assert loss_like._direction == "down"  # as the metric it reads, for callbacks in mode "auto"
    with pytest.raises(TypeError, match="reads a keras.metrics.MeanMetricWrapper .* not AUC"):
        PerTokenMetric(keras.metrics.AUC())
