import math
import warnings

import pytest

from training.progress import TokensPerSecond
from training.schedules import SCHEDULES, InverseSquareRoot, learning_rate_schedule


def _rate(schedule, step):
    return float(schedule(step)) if callable(schedule) else schedule


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_every_schedule_warms_up_linearly_to_the_peak(name):
    schedule = learning_rate_schedule(name, 1e-3, warmup_steps=10, total_steps=100)
    rates = [_rate(schedule, step) for step in range(11)]
    assert rates[0] < rates[5] < rates[9] and max(rates) == pytest.approx(1e-3, rel=1e-3)
    assert all(_rate(schedule, step) <= 1e-3 * 1.001 for step in range(200))


def test_schedule_shapes_after_warm_up():
    cosine = learning_rate_schedule("cosine", 1e-3, warmup_steps=0, total_steps=100)
    assert _rate(cosine, 0) == pytest.approx(1e-3) and _rate(cosine, 100) == pytest.approx(5e-5)
    assert learning_rate_schedule("constant", 1e-3) == 1e-3
    inverse = InverseSquareRoot(1e-3, warmup_steps=100)
    assert _rate(inverse, 399) == pytest.approx(1e-3 * math.sqrt(100 / 400))  # steps count from 1
    assert InverseSquareRoot.from_config(inverse.get_config()).warmup_steps == 100


def test_schedule_errors():
    with pytest.raises(ValueError, match="Unknown learning-rate schedule 'noam'"):
        learning_rate_schedule("noam", 1e-3)
    with pytest.raises(ValueError, match="> 0"):
        learning_rate_schedule("cosine", 0.0)
    with pytest.raises(ValueError, match="warmup_steps"):
        learning_rate_schedule("cosine", 1e-3, warmup_steps=-1)


def test_tokens_per_second_leaves_out_the_first_step(monkeypatch):
    clock = iter([10.0, 11.0, 12.0])  # step ends: the first took 10 s (tracing), the next two 1 s each
    monkeypatch.setattr("training.progress.time.perf_counter", lambda: next(clock))
    callback = TokensPerSecond()
    callback.on_epoch_begin(0)
    for batch, tokens in enumerate([100.0, 300.0, 500.0]):
        logs = {"target_tokens": tokens, "loss": 1.0}
        callback.on_train_batch_end(batch, logs)
    assert logs == {"loss": 1.0, "tokens_per_second": 200.0}
    epoch_logs = {"target_tokens": 500.0, "val_target_tokens": 9.0}
    callback.on_epoch_end(0, epoch_logs)
    assert epoch_logs == {"tokens_per_second": 200.0}


def test_tokens_per_second_says_once_when_there_is_no_token_count():
    callback = TokensPerSecond()
    callback.on_epoch_begin(0)
    with pytest.warns(UserWarning, match="no `target_tokens` metric .* add `zoo.TargetTokens\\(\\)`"):
        callback.on_train_batch_end(0, {"loss": 1.0})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        logs = {"loss": 1.0}
        callback.on_train_batch_end(1, logs)  # once is enough
    assert logs == {"loss": 1.0}
