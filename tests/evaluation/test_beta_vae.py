import pytest

from keras_gvae.evaluation import beta_vae_score
from tests.evaluation.fakes import PixelFactorsData, flatten, make_noise

SMALL = {"num_train": 150, "num_eval": 60, "batch_size": 16}


def test_identity_representation_scores_one(data):
    scores = beta_vae_score(data, flatten, **SMALL)
    assert scores["train_accuracy"] > 0.95
    assert scores["eval_accuracy"] > 0.95


def test_random_representation_scores_low():
    data = PixelFactorsData((4, 4, 4, 4))
    scores = beta_vae_score(data, make_noise(num_codes=4), **SMALL)
    assert scores["eval_accuracy"] < 0.5  # chance is 1/4


def test_deterministic_given_seed(data):
    assert beta_vae_score(data, flatten, seed=2, **SMALL) == beta_vae_score(
        data, flatten, seed=2, **SMALL
    )


def test_needs_two_factors():
    with pytest.raises(ValueError, match="two or more factors"):
        beta_vae_score(PixelFactorsData((5,)), flatten, **SMALL)
