import numpy as np
import pytest

from keras_gvae.evaluation import modularity, modularity_explicitness
from keras_gvae.evaluation.modularity_explicitness import (
    modularity_explicitness_from_ground_truth,
)
from tests.evaluation.fakes import flatten, identity_codes, noise_codes


def test_modularity_closed_forms():
    assert modularity(np.eye(3)) == 1.0
    # A code equally informative about both of two factors: delta = 1.
    assert modularity(np.array([[1.0, 1.0]])) == 0.0
    # Uninformative codes score 0 (not NaN); a single factor is trivially modular.
    assert modularity(np.zeros((2, 3))) == 0.0
    assert modularity(np.array([[0.5], [0.2]])) == 1.0
    assert modularity(np.array([[2.0, 1.0, 0.0]])) == pytest.approx(1.0 - 1.0 / (4.0 * 2.0))


def test_identity_codes_score_one(factors):
    train, test = factors
    scores = modularity_explicitness(identity_codes(train), train, identity_codes(test), test)
    assert scores["modularity"] > 0.99
    assert scores["explicitness_train"] > 0.99
    assert scores["explicitness_test"] > 0.99


def test_constant_codes_without_nan(factors):
    train, test = factors
    scores = modularity_explicitness(
        np.zeros((len(train), 3)), train, np.zeros((len(test), 3)), test
    )
    assert scores == {"modularity": 0.0, "explicitness_train": 0.5, "explicitness_test": 0.5}


def test_random_codes_are_not_explicit(factors):
    train, test = factors
    scores = modularity_explicitness(
        noise_codes(len(train)), train, noise_codes(len(test), seed=2), test
    )
    assert scores["explicitness_test"] == pytest.approx(0.5, abs=0.08)


def test_modularity_invariant_to_permutation_and_affine_maps(factors):
    train, test = factors
    codes = np.concatenate([identity_codes(train), noise_codes(len(train), 2)], axis=1)
    codes = codes + 0.3 * noise_codes(len(train), 5, seed=3)
    codes_test = np.concatenate([identity_codes(test), noise_codes(len(test), 2, 4)], axis=1)
    reference = modularity_explicitness(codes, train, codes_test, test)["modularity"]
    order = [2, 4, 1, 0, 3]
    permuted = modularity_explicitness(codes[:, order], train, codes_test[:, order], test)
    assert permuted["modularity"] == pytest.approx(reference, abs=1e-12)
    scale = np.array([3.0, 0.2, 7.0, 1.5, 0.01])
    affine = modularity_explicitness(codes * scale + 4.0, train, codes_test * scale + 4.0, test)
    assert affine["modularity"] == pytest.approx(reference, abs=1e-3)


def test_classes_missing_from_a_split_do_not_raise():
    train = np.array([[0], [1], [2]] * 10)
    test = np.array([[0], [1]] * 5)  # class 2 has no positives here: skipped
    scores = modularity_explicitness(identity_codes(train), train, identity_codes(test), test)
    assert scores["explicitness_test"] > 0.99
    unseen = np.array([[0], [1], [3]] * 5)  # class 3 was never trained on: no column
    scores = modularity_explicitness(identity_codes(train), train, identity_codes(unseen), unseen)
    assert 0.0 <= scores["explicitness_test"] <= 1.0


def test_from_ground_truth(data):
    scores = modularity_explicitness_from_ground_truth(
        data, flatten, seed=0, num_train=300, num_test=100
    )
    assert scores["modularity"] > 0.99 and scores["explicitness_test"] > 0.99
