import numpy as np
import pytest

from keras_gvae.evaluation import completeness, dci, disentanglement
from keras_gvae.evaluation.dci import dci_from_ground_truth
from tests.evaluation.fakes import flatten, identity_codes, noise_codes


def test_closed_forms():
    assert disentanglement(np.eye(3)) == pytest.approx(1.0)
    assert completeness(np.eye(3)) == pytest.approx(1.0)
    assert disentanglement(np.ones((3, 3))) == pytest.approx(0.0, abs=1e-9)
    assert completeness(np.ones((3, 3))) == pytest.approx(0.0, abs=1e-9)
    # One code explaining both factors equally: not disentangled, but complete.
    importance = np.array([[1.0, 1.0], [0.0, 0.0]])
    assert disentanglement(importance) == pytest.approx(0.0, abs=1e-9)
    assert completeness(importance) == pytest.approx(1.0)
    # Degenerate sizes are defined, not NaN (log base 1).
    assert disentanglement(np.array([[1.0], [0.0]])) == pytest.approx(1.0)
    assert completeness(np.array([[1.0, 2.0]])) == pytest.approx(1.0)


def test_identity_codes_score_one(factors):
    train, test = factors
    scores = dci(identity_codes(train), train, identity_codes(test), test)
    assert scores["disentanglement"] > 0.99
    assert scores["completeness"] > 0.99
    assert scores["informativeness_train"] == 1.0
    assert scores["informativeness_test"] == 1.0


def test_constant_codes_score_zero_without_nan(factors):
    train, test = factors
    scores = dci(np.zeros((len(train), 3)), train, np.zeros((len(test), 3)), test)
    assert all(np.isfinite(v) for v in scores.values())
    assert scores["disentanglement"] == pytest.approx(0.0, abs=1e-9)
    assert scores["completeness"] == pytest.approx(0.0, abs=1e-9)


def test_random_codes_score_low(factors):
    train, test = factors
    scores = dci(noise_codes(len(train)), train, noise_codes(len(test), seed=2), test)
    assert scores["disentanglement"] < 0.1
    assert scores["completeness"] < 0.1
    assert scores["informativeness_test"] < 0.45  # chance is about 1/4


def test_invariant_to_code_permutation(factors):
    train, test = factors
    codes_train = np.concatenate([identity_codes(train), noise_codes(len(train), 1)], axis=1)
    codes_test = np.concatenate([identity_codes(test), noise_codes(len(test), 1, 2)], axis=1)
    order = [3, 2, 0, 1]
    reference = dci(codes_train, train, codes_test, test)
    permuted = dci(codes_train[:, order], train, codes_test[:, order], test)
    for key in ("disentanglement", "completeness"):
        assert permuted[key] == pytest.approx(reference[key], abs=1e-6)


def test_from_ground_truth(data):
    scores = dci_from_ground_truth(data, flatten, seed=0, num_train=200, num_test=100)
    assert set(scores) == {
        "disentanglement",
        "completeness",
        "informativeness_train",
        "informativeness_test",
    }
    assert scores["disentanglement"] > 0.99
