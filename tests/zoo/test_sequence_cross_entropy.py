import keras
import numpy as np
import pytest

from zoo.perplexity import Perplexity
from zoo.sequence_cross_entropy import SequenceCrossEntropy
from zoo.target_tokens import TargetTokens

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
