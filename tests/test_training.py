import math

import pytest

from keras_gvae.training import TrainConfig, learning_rate


def test_constant_rate_is_the_number_itself():
    assert learning_rate(3e-4) == 3e-4
    assert learning_rate(3e-4, "constant", total_steps=None) == 3e-4


@pytest.mark.parametrize("step", [0, 25, 50, 99, 100, 150])
def test_cosine_schedule_matches_the_closed_form(step):
    schedule = learning_rate(1e-3, "cosine", total_steps=100)
    expected = 1e-3 * 0.5 * (1 + math.cos(math.pi * min(step, 100) / 100))
    assert float(schedule(step)) == pytest.approx(expected, rel=1e-5, abs=1e-9)  # float32 cosine


def test_bad_schedules_are_named():
    with pytest.raises(ValueError, match=r"one of \('constant', 'cosine'\); got 'linear'"):
        learning_rate(1e-3, "linear", 10)
    with pytest.raises(ValueError, match="needs total_steps >= 1; got 0"):
        learning_rate(1e-3, "cosine", 0)
    with pytest.raises(ValueError, match="lr_schedule must be one of"):
        TrainConfig(lr_schedule="step")
