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


def _structured(n, seed):
    """Factors of 3, 6, 10, 8, 8 values: three captured by one code each, two entangled in
    one code and half-recovered by another, plus three noise codes."""
    rng = np.random.RandomState(seed)
    sizes = np.array([3, 6, 10, 8, 8])
    factors = np.stack([rng.randint(0, s, size=n) for s in sizes], axis=1)
    z = factors / sizes
    codes = np.concatenate(
        [
            z[:, :3] + 0.05 * rng.randn(n, 3),
            (z[:, 3] + 0.5 * z[:, 4])[:, None] + 0.05 * rng.randn(n, 1),
            z[:, 4:5] + 0.1 * rng.randn(n, 1),
            rng.randn(n, 3),
        ],
        axis=1,
    )
    return codes, factors


@pytest.mark.slow
def test_fast_estimator_is_within_tolerance_of_exact():
    from keras_gvae.evaluation.dci import FAST_TOLERANCE

    codes_train, train = _structured(1000, seed=0)
    codes_test, test = _structured(500, seed=1)
    exact = dci(codes_train, train, codes_test, test)
    fast = dci(codes_train, train, codes_test, test, estimator="fast")
    # A middling score, so agreement is not forced by saturation at 0 or 1.
    assert 0.4 < exact["disentanglement"] < 0.9 and 0.4 < exact["completeness"] < 0.9
    for key in ("disentanglement", "completeness"):
        assert fast[key] == pytest.approx(exact[key], abs=FAST_TOLERANCE), key
    assert fast["informativeness_test"] == pytest.approx(exact["informativeness_test"], abs=0.05)
    with pytest.raises(ValueError, match="estimator must be one of"):
        dci(codes_train, train, codes_test, test, estimator="hist")
