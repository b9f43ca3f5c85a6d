import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from keras_gvae import losses

tfd = tfp.distributions


def test_gaussian_kl_closed_form_equals_tfp():
    rng = np.random.default_rng(0)
    mean = rng.normal(size=(16, 7)).astype("float32")
    log_var = rng.normal(size=(16, 7)).astype("float32")
    expected = tfd.kl_divergence(
        tfd.MultivariateNormalDiag(mean, tf.exp(0.5 * log_var)),
        tfd.MultivariateNormalDiag(tf.zeros(7)),
    )
    np.testing.assert_allclose(losses.gaussian_kl(mean, log_var), expected, rtol=1e-5, atol=1e-5)


def test_gaussian_kl_is_zero_at_the_prior():
    np.testing.assert_allclose(losses.gaussian_kl(tf.zeros((3, 4)), tf.zeros((3, 4))), 0.0)


def test_bernoulli_nll_equals_tfp_and_sums_over_pixels():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(4, 5, 5, 2)).astype("float32")
    x = (rng.random((4, 5, 5, 2)) > 0.5).astype("float32")
    expected = -tfd.Independent(tfd.Bernoulli(logits=logits), 3).log_prob(x)
    np.testing.assert_allclose(losses.bernoulli_nll(x, logits), expected, rtol=1e-5)
    probs = tf.sigmoid(logits)
    np.testing.assert_allclose(losses.bernoulli_nll_from_probs(x, probs), expected, rtol=1e-4)
    # Zero logits: every pixel costs log 2.
    np.testing.assert_allclose(losses.bernoulli_nll(x, np.zeros_like(x)), 50 * np.log(2.0), rtol=1e-6)


def test_gaussian_nll_equals_tfp():
    rng = np.random.default_rng(2)
    mean = rng.random((3, 4, 4, 1)).astype("float32")
    x = rng.random((3, 4, 4, 1)).astype("float32")
    expected = -tfd.Independent(tfd.Normal(mean, 0.3), 3).log_prob(x)
    np.testing.assert_allclose(losses.gaussian_nll(x, mean, 0.3), expected, rtol=1e-5)


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
