import numpy as np
import pytest

from keras_gvae import losses
from tests import closed_forms


def test_gaussian_kl_is_the_closed_form_per_example():
    rng = np.random.default_rng(4)
    z_mean = rng.normal(size=(6, 5)).astype("float32")
    z_log_var = rng.normal(scale=1.5, size=(6, 5)).astype("float32")
    kl = losses.gaussian_kl(z_mean, z_log_var).numpy()
    assert kl.shape == (6,)
    np.testing.assert_allclose(kl, closed_forms.gaussian_kl(z_mean, z_log_var), rtol=1e-5)
    # Some units only: the KL of those units.
    np.testing.assert_allclose(
        losses.gaussian_kl(z_mean[:, 2:], z_log_var[:, 2:]).numpy(),
        closed_forms.gaussian_kl(z_mean[:, 2:], z_log_var[:, 2:]),
        rtol=1e-5,
    )
    # The prior itself: zero.
    assert np.all(losses.gaussian_kl(np.zeros((2, 3), "float32"), np.zeros((2, 3), "float32")) == 0)


def test_orthogonality_penalty_zero_for_orthonormal_positive_otherwise():
    q, _ = np.linalg.qr(np.random.default_rng(3).normal(size=(20, 6)))
    basis = q.T.astype("float32")  # 6 orthonormal rows
    assert float(losses.orthogonality_penalty(basis)) < 1e-5
    # Orthogonal but not normalised rows: still zero (only off-diagonal terms count).
    assert float(losses.orthogonality_penalty(basis * np.arange(1, 7)[:, None])) < 1e-4
    skewed = basis.copy()
    skewed[1] += 0.5 * skewed[0]
    # <b0, b1 + 0.5 b0> = 0.5, counted for (0, 1) and (1, 0).
    np.testing.assert_allclose(float(losses.orthogonality_penalty(skewed)), 1.0, rtol=1e-5)


def test_group_mmd_closed_forms():
    from keras_gvae.losses import MMD_BANDWIDTHS, group_mmd

    # Two points, one per group: 2 * sum_s (1 - exp(-d^2 / (2 s^2))).
    d = 1.3
    z = np.array([[0.0, 0.0], [d, 0.0]], "float32")
    got = float(group_mmd(z, np.array([1.0, 0.0], "float32"), np.array([0.0, 1.0], "float32")))
    expected = 2 * sum(1 - np.exp(-(d**2) / (2 * s * s)) for s in MMD_BANDWIDTHS)
    assert got == pytest.approx(expected, rel=1e-5)
    # Groups with the same empirical distribution (each point twice, once per group): 0.
    rng = np.random.default_rng(0)
    pts = rng.normal(size=(5, 3)).astype("float32")
    both = np.concatenate([pts, pts])
    pos = np.r_[np.ones(5), np.zeros(5)].astype("float32")
    assert float(group_mmd(both, pos, 1 - pos)) == pytest.approx(0.0, abs=1e-5)
    # Swapping the groups changes nothing; an empty group contributes nothing but its partner.
    a = float(group_mmd(z, np.array([1.0, 0.0], "float32"), np.array([0.0, 1.0], "float32")))
    b = float(group_mmd(z, np.array([0.0, 1.0], "float32"), np.array([1.0, 0.0], "float32")))
    assert a == pytest.approx(b, rel=1e-6)


def test_group_mmd_standardized_is_scale_free_and_equals_mmd_of_standardized_codes():
    from keras_gvae.losses import group_mmd

    rng = np.random.default_rng(1)
    z = rng.normal(size=(12, 3)).astype("float32") * np.array([1.0, 3.0, 0.2], "float32")
    z[:6] += np.array([0.5, 0.0, 0.1], "float32")
    pos = np.r_[np.ones(6), np.zeros(6)].astype("float32")
    # By hand: population standard deviation over the whole batch, variance + epsilon.
    by_hand = (z - z.mean(0)) / np.sqrt(z.var(0) + 1e-4)
    expected = float(group_mmd(by_hand, pos, 1 - pos))
    assert float(group_mmd(z, pos, 1 - pos, standardize=True)) == pytest.approx(expected, rel=1e-4)
    # Shrinking every code (the route to posterior collapse) leaves it unchanged (up to
    # epsilon, here made negligible); the plain MMD falls towards zero.
    small = 0.05 * z
    exact = float(group_mmd(z, pos, 1 - pos, standardize=True, epsilon=1e-10))
    assert float(group_mmd(small, pos, 1 - pos, standardize=True, epsilon=1e-10)) == pytest.approx(
        exact, rel=1e-3
    )
    assert float(group_mmd(small, pos, 1 - pos)) < 0.2 * float(group_mmd(z, pos, 1 - pos))


def test_group_mmd_unbiased_closed_form_and_zero_mean_where_the_biased_one_pulls_codes_together():
    from keras_gvae.losses import MMD_BANDWIDTHS, group_mmd

    def k(a, b):
        return sum(np.exp(-np.sum((a - b) ** 2) / (2 * s * s)) for s in MMD_BANDWIDTHS)

    # By hand, groups {0, 1} and {2, 3}: within-group pairs without i = j.
    z = np.array([[0.0], [0.4], [1.5], [2.5]], "float32")
    pos = np.array([1, 1, 0, 0], "float32")
    cross = np.mean([k(z[i], z[j]) for i in (0, 1) for j in (2, 3)])
    expected = k(z[0], z[1]) + k(z[2], z[3]) - 2 * cross
    assert float(group_mmd(z, pos, 1 - pos, unbiased=True)) == pytest.approx(expected, rel=1e-5)
    # A group with one member has no within-group pair: no estimate, 0.
    assert (
        float(
            group_mmd(
                z,
                np.array([1, 0, 0, 0], "float32"),
                np.array([0, 1, 1, 1], "float32"),
                unbiased=True,
            )
        )
        == 0.0
    )
    # Both groups from one distribution: the V-statistic's mean is (sum p^2 + sum n^2)
    # (k(a, a) - E k(a, b)) > 0 and shrinks with the codes (the pull towards collapse);
    # the U-statistic's mean is zero at any scale.
    rng = np.random.default_rng(0)
    draws = [
        (rng.normal(size=(64, 3)).astype("float32"), (rng.random(64) < 0.5).astype("float32"))
        for _ in range(200)
    ]

    def mean_of(scale, unbiased):
        return np.mean([float(group_mmd(scale * z, g, 1 - g, unbiased=unbiased)) for z, g in draws])

    assert mean_of(1.0, False) > 0.15 and mean_of(0.1, False) < 0.25 * mean_of(1.0, False)
    for scale in (1.0, 0.1):
        assert abs(mean_of(scale, True)) < 0.01  # standard error of the mean ~0.003


def test_total_correlation_equals_disentanglement_libs_estimate_and_adds_chens_constant():
    rng = np.random.default_rng(0)
    mean = rng.normal(size=(64, 10)).astype("float32")
    log_var = rng.uniform(-4.0, 1.0, size=(64, 10)).astype("float32")
    z = mean + np.exp(0.5 * log_var) * rng.normal(size=(64, 10)).astype("float32")
    estimate = losses.total_correlation(z, mean, log_var)
    np.testing.assert_allclose(
        estimate, closed_forms.dlib_total_correlation(z, mean, log_var), rtol=1e-5
    )
    # With the dataset's size: Chen et al.'s MWS constant (D - 1) log(N M), M the batch.
    n = 737_280
    np.testing.assert_allclose(
        losses.total_correlation(z, mean, log_var, dataset_size=n) - estimate,
        9 * np.log(n * 64.0),
        rtol=1e-6,
    )
    with pytest.raises(ValueError, match="dataset_size"):
        losses.total_correlation(z, mean, log_var, dataset_size=0)


def gaussian_total_correlation(covariance):
    """TC of N(0, covariance): 0.5 * (sum_l log covariance_ll - log det covariance)."""
    return 0.5 * (np.log(np.diag(covariance)).sum() - np.linalg.slogdet(covariance)[1])


@pytest.mark.parametrize(
    "covariance",
    [[[1.0, 0.8], [0.8, 1.0]], [[1.0, 0.0], [0.0, 2.25]]],
    ids=["correlated", "independent"],
)
def test_total_correlation_of_gaussian_codes_approaches_the_closed_form(covariance):
    # Posterior means drawn from N(0, S) and posteriors N(mean, s^2 I): the aggregate posterior
    # is exactly N(0, S + s^2 I), whose TC is the closed form (S's own as s -> 0). The estimate
    # is the batch's kernel density estimate (dataset_size=1, see the docstring): it needs the
    # posteriors to overlap, so s is 0.3, not tiny (at s = 0.02 it reads ~(D - 1) log M).
    # Over 20 seeds this setting (4 batches of 2048) missed by 0.003 +- 0.007 (correlated) and
    # 0.011 +- 0.001 (independent: the i = j terms' upward bias); 0.03 is above both, and a
    # quarter of what separates S + s^2 I's TC from S's (0.387 against 0.511).
    covariance = np.asarray(covariance)
    scale = 0.3
    rng = np.random.default_rng(0)
    estimates = []
    for _ in range(4):
        mean = rng.multivariate_normal(np.zeros(2), covariance, size=2048).astype("float32")
        log_var = np.full_like(mean, 2 * np.log(scale))
        z = mean + scale * rng.normal(size=mean.shape).astype("float32")
        estimates.append(float(losses.total_correlation(z, mean, log_var, dataset_size=1)))
    expected = gaussian_total_correlation(covariance + scale**2 * np.eye(2))
    np.testing.assert_allclose(np.mean(estimates), expected, atol=0.03)
