import numpy as np
import pytest

from keras_gvae.evaluation import (
    discrete_entropy,
    discretize,
    mig,
    mig_from_ground_truth,
    mig_per_factor,
    mutual_information_matrix,
)
from tests.evaluation.fakes import flatten, identity_codes, noise_codes, zeros


def test_identity_codes_score_one(factors):
    train, _ = factors
    assert mig(identity_codes(train), train) > 0.97


def test_constant_codes_score_zero(factors):
    train, _ = factors
    assert mig(np.zeros((len(train), 4)), train) == 0.0


def test_random_codes_score_low(factors):
    train, _ = factors
    assert mig(noise_codes(len(train)), train) < 0.05


def test_duplicated_code_zeroes_its_factor(factors):
    train, _ = factors
    codes = identity_codes(train)
    duplicated = np.concatenate([codes, codes[:, :1]], axis=1)
    per_factor = mig_per_factor(duplicated, train)
    assert per_factor[0] == 0.0
    np.testing.assert_allclose(per_factor[1:], mig_per_factor(codes, train)[1:])
    assert mig(duplicated, train) < mig(codes, train) - 0.3


def test_invariant_to_permutation_and_positive_affine_maps(factors):
    train, _ = factors
    codes = np.concatenate([identity_codes(train), noise_codes(len(train), 2)], axis=1)
    codes = codes + 0.3 * noise_codes(len(train), codes.shape[1], seed=2)
    reference = mig(codes, train)
    assert mig(codes[:, [4, 2, 0, 3, 1]], train) == pytest.approx(reference, abs=1e-12)
    scale = np.array([0.5, 3.0, 10.0, 2.0, 0.1])
    assert mig(codes * scale - 7.0, train) == pytest.approx(reference, abs=1e-3)


def test_discretize_equal_width_bins():
    codes = np.array([[0.0, 5.0], [0.5, 5.0], [1.0, 5.0], [0.26, 5.0]])
    bins = discretize(codes, num_bins=4)
    np.testing.assert_array_equal(bins[:, 0], [1, 3, 4, 2])
    assert len(np.unique(bins[:, 1])) == 1  # constant code: one bin


def test_mutual_information_matrix_closed_form():
    factors = np.array([[0, 0], [0, 1], [1, 0], [1, 1]] * 25)
    mi = mutual_information_matrix(factors.astype(np.float32), factors)
    np.testing.assert_allclose(mi, np.diag([np.log(2), np.log(2)]), atol=1e-12)
    np.testing.assert_allclose(discrete_entropy(factors), [np.log(2)] * 2)


def test_single_code_gap_is_its_normalised_information(factors):
    train, _ = factors
    np.testing.assert_allclose(
        mig_per_factor(identity_codes(train)[:, :1], train[:, :1]), [1.0], atol=1e-12
    )


def test_from_ground_truth(data):
    score = mig_from_ground_truth(data, flatten, seed=3, num_train=500)
    assert score > 0.97
    assert mig_from_ground_truth(data, flatten, seed=3, num_train=500) == score
    assert mig_from_ground_truth(data, zeros, num_train=200) == 0.0


@pytest.mark.parametrize(
    "codes, factors, match",
    [
        (np.zeros(10), np.zeros((10, 2), int), "2-D"),
        (np.zeros((10, 2)), np.zeros((9, 2), int), "N differs"),
        (np.zeros((10, 2), int), np.zeros((10, 2), int), "must be float"),
        (np.zeros((10, 2)), np.zeros((10, 2)), "must be integer"),
        (np.full((10, 2), np.nan), np.zeros((10, 2), int), "NaN"),
        (np.zeros((4, 2)), np.array([[0, 0], [1, 0], [0, 0], [1, 0]]), r"columns \[1\]"),
    ],
)
def test_validation(codes, factors, match):
    with pytest.raises(ValueError, match=match):
        mig(codes, factors)


def test_validation_names_expected_shapes():
    with pytest.raises(ValueError, match=r"codes of shape \(N, num_codes\).*\(10, 2\)"):
        mig(np.zeros((10, 2)), np.zeros((9, 2), int))
