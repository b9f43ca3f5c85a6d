import pytest

from keras_gvae.evaluation import factor_vae_score
from tests.evaluation.fakes import PixelFactorsData, flatten, make_noise, zeros

SMALL = {"num_train": 100, "num_eval": 50, "num_variance_estimate": 300, "batch_size": 16}


def test_identity_representation_scores_one(data):
    scores = factor_vae_score(data, flatten, **SMALL)
    assert scores == {"train_accuracy": 1.0, "eval_accuracy": 1.0, "num_active_dims": 3}


def test_constant_representation_is_pruned(data):
    assert factor_vae_score(data, zeros, **SMALL) == {
        "train_accuracy": 0.0,
        "eval_accuracy": 0.0,
        "num_active_dims": 0,
    }


def test_small_scale_codes_are_pruned(data):
    def tiny_third_code(observations):
        codes = flatten(observations)
        codes[:, 2] *= 0.01
        return codes

    scores = factor_vae_score(data, tiny_third_code, **SMALL)
    assert scores["num_active_dims"] == 2
    assert scores["eval_accuracy"] < 0.8  # the third factor cannot be identified


def test_random_representation_scores_low():
    data = PixelFactorsData((4, 4, 4, 4))
    scores = factor_vae_score(data, make_noise(num_codes=4), **SMALL)
    assert scores["eval_accuracy"] < 0.55


def test_deterministic_given_seed(data):
    noise = factor_vae_score(data, make_noise(0), seed=5, **SMALL)
    assert noise == factor_vae_score(data, make_noise(0), seed=5, **SMALL)


def test_validation(data):
    with pytest.raises(ValueError, match="batch_size"):
        factor_vae_score(data, flatten, batch_size=1)
    with pytest.raises(ValueError, match=r"shape \(4, num_codes\)"):
        factor_vae_score(data, lambda x: flatten(x)[:2], **{**SMALL, "num_variance_estimate": 4})
