"""Closed forms the model tests check keras_gvae's TFP-based loss terms against (the model
computes its KL and likelihoods with ``tfp.distributions``; these write the same quantities
out). They are checked through the models (tests/models), not on their own.

Every per-example term is a sum over latent units or pixels, shape ``(batch,)``.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def gaussian_kl(z_mean, z_log_var):
    """KL(N(z_mean, exp(z_log_var)) || N(0, I)) per example, summed over latent units.

    Closed form (Kingma & Welling 2014, Appendix B):
    ``0.5 * sum_j (exp(log_var_j) + mean_j**2 - 1 - log_var_j)``.

    Args:
        z_mean: float tensor (batch, d), posterior means.
        z_log_var: float tensor (batch, d), posterior log-variances.

    Returns:
        float tensor (batch,).
    """
    z_mean = tf.convert_to_tensor(z_mean)
    z_log_var = tf.cast(tf.convert_to_tensor(z_log_var), z_mean.dtype)
    return 0.5 * tf.reduce_sum(tf.exp(z_log_var) + tf.square(z_mean) - 1.0 - z_log_var, axis=-1)


def bernoulli_nll(x, logits):
    """Negative Bernoulli log-likelihood of images ``x`` in [0, 1], summed over pixels.

    ``-sum_i [x_i log sigmoid(l_i) + (1 - x_i) log(1 - sigmoid(l_i))]``; for non-binary
    ``x`` in [0, 1] this is the continuous relaxation used by most VAE code.

    Args:
        x: float tensor (batch, H, W, C) in [0, 1].
        logits: float tensor of the same shape.

    Returns:
        float tensor (batch,).
    """
    x = tf.cast(x, logits.dtype)
    per_pixel = tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits)
    return tf.reduce_sum(tf.reshape(per_pixel, [tf.shape(x)[0], -1]), axis=-1)


def dlib_total_correlation(z, mean, log_var):
    """disentanglement_lib's ``total_correlation`` (methods/unsupervised/vae.py: the batch's
    minibatch-weighted estimate without its constants), written again in float64 numpy."""
    z, mean, log_var = (np.asarray(a, np.float64) for a in (z, mean, log_var))
    # log q(z_i,l | x_j) as [i, j, l].
    log_q = -0.5 * (
        (z[:, None] - mean[None]) ** 2 * np.exp(-log_var[None]) + log_var[None] + np.log(2 * np.pi)
    )

    def logsumexp(a, axis):
        top = a.max(axis=axis, keepdims=True)
        return np.squeeze(top, axis) + np.log(np.exp(a - top).sum(axis=axis))

    return np.mean(logsumexp(log_q.sum(axis=2), axis=1) - logsumexp(log_q, axis=1).sum(axis=1))
