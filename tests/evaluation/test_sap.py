import numpy as np
import pytest

from keras_gvae.evaluation import sap
from keras_gvae.evaluation.sap import sap_from_ground_truth, sap_score_matrix
from tests.evaluation.fakes import flatten, identity_codes, noise_codes


def test_identity_codes_separate_every_factor(factors):
    train, test = factors
    matrix = sap_score_matrix(identity_codes(train), train, identity_codes(test), test)
    np.testing.assert_array_equal(np.argmax(matrix, axis=0), [0, 1, 2])
    assert sap(identity_codes(train), train, identity_codes(test), test) > 0.3


def test_binary_factors_give_gap_one_half():
    factors = np.random.RandomState(0).randint(2, size=(400, 3))
    train, test = factors[:300], factors[300:]
    assert sap(identity_codes(train), train, identity_codes(test), test) == pytest.approx(
        0.5, abs=0.1
    )


def test_constant_codes_score_zero(factors):
    train, test = factors
    assert sap(np.zeros((len(train), 3)), train, np.zeros((len(test), 3)), test) == 0.0


def test_random_codes_score_low(factors):
    train, test = factors
    score = sap(noise_codes(len(train)), train, noise_codes(len(test), seed=2), test)
    assert score < 0.06


def test_invariant_to_code_permutation(factors):
    train, test = factors
    codes_train = np.concatenate([identity_codes(train), noise_codes(len(train), 2)], axis=1)
    codes_test = np.concatenate([identity_codes(test), noise_codes(len(test), 2, 2)], axis=1)
    order = [3, 1, 4, 0, 2]
    assert sap(codes_train[:, order], train, codes_test[:, order], test) == pytest.approx(
        sap(codes_train, train, codes_test, test), abs=1e-12
    )


def test_continuous_factors_use_squared_correlation(factors):
    train, test = factors
    score = sap(identity_codes(train), train, identity_codes(test), test, continuous_factors=True)
    assert score > 0.95


def test_from_ground_truth_is_deterministic(data):
    first = sap_from_ground_truth(data, flatten, seed=1, num_train=300, num_test=100)
    assert first == sap_from_ground_truth(data, flatten, seed=1, num_train=300, num_test=100)
    # C=0.01 is not scale invariant: codes in [0, 1] are fitted less well than 0..4.
    assert first > 0.1


def test_validation(factors):
    train, test = factors
    codes = identity_codes(train)
    with pytest.raises(ValueError, match="same num_codes"):
        sap(codes, train, identity_codes(test)[:, :2], test)
    with pytest.raises(ValueError, match="same num_factors"):
        sap(codes, train, identity_codes(test), test[:, :2])
    with pytest.raises(ValueError, match="codes_test"):
        sap(codes, train, identity_codes(test), test[:10])
