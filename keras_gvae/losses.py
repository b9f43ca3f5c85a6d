"""The loss terms of keras_gvae's models, as pure functions on tensors: the KL of a diagonal
Gaussian posterior to the prior (the ELBO's, and GuidedVAE's content units'), the
sub-decoder basis' orthogonality penalty, the masked cross-entropy of attribute heads and
the group MMD of the supervised model's inhibition, and the total correlation of a batch of
codes (beta-TCVAE).

The image likelihood is computed with ``tfp.distributions`` in :class:`keras_gvae.VAE`.
Conventions, used everywhere in keras_gvae:
every per-example term is a *sum* over latent units or pixels and has shape ``(batch,)``;
models take the *mean over the batch*. With these reductions ``reconstruction + beta * kl``
is the negative ELBO per image, in nats, as in Kingma & Welling (2014) and in the
Guided-VAE authors' code (losses summed over pixels).
"""

from __future__ import annotations

import math

import tensorflow as tf
import tensorflow_probability as tfp

tfd = tfp.distributions


def gaussian_kl(z_mean, z_log_var):
    """``KL(N(z_mean, diag(exp(z_log_var))) || N(0, I))`` per example, summed over units.

    The closed form is ``0.5 * sum_j (z_mean_j**2 + exp(z_log_var_j) - z_log_var_j - 1)``
    (Kingma & Welling 2014, Appendix B); it is computed as ``tfp.distributions.kl_divergence``
    of the two diagonal Normals, which every model's ``kl`` has always used (the same
    rounding). Pass the columns of the units wanted (e.g. GuidedVAE's content units,
    ``z_mean[:, D:]``) for the KL of those units alone.

    Args:
        z_mean: float tensor (batch, d), the posterior means.
        z_log_var: float tensor (batch, d), the posterior log-variances.

    Returns:
        float tensor (batch,).
    """
    z_mean = tf.convert_to_tensor(z_mean)
    z_log_var = tf.convert_to_tensor(z_log_var, z_mean.dtype)
    units = z_mean.shape[-1]
    prior = tfd.MultivariateNormalDiag(
        loc=tf.zeros(tf.shape(z_mean)[-1:] if units is None else units, z_mean.dtype)
    )
    posterior = tfd.MultivariateNormalDiag(loc=z_mean, scale_diag=tf.exp(0.5 * z_log_var))
    return tfd.kl_divergence(posterior, prior)


def orthogonality_penalty(basis):
    """Guided-VAE's orthogonality penalty on a linear basis (Ding et al. 2020, Sec. 3.1).

    ``sum_{i != j} |<b_i, b_j>|`` over the rows ``b_i`` of ``basis``: zero exactly when the
    rows are mutually orthogonal (whatever their norms), positive otherwise.

    Args:
        basis: float tensor (num_units, num_features), one row per content unit.

    Returns:
        float scalar.
    """
    basis = tf.convert_to_tensor(basis)
    gram = tf.matmul(basis, basis, transpose_b=True)
    off_diagonal = gram - tf.linalg.diag(tf.linalg.diag_part(gram))
    return tf.reduce_sum(tf.abs(off_diagonal))


def masked_sigmoid_cross_entropy(targets, logits, mask):
    """Binary cross-entropy of ``logits`` against ``targets``, summed over the labelled
    entries (``mask`` 1) and divided by the batch size.

    The supervised Guided-VAE's classification terms use this reduction: with the authors'
    weight 200 their ratio to the ELBO terms matches the authors' code, where both are
    summed over the batch.

    Args:
        targets: float tensor (batch, K) in [0, 1].
        logits: float tensor (batch, K).
        mask: float tensor (batch, K), 1 where the label is present, 0 where it is missing.

    Returns:
        float scalar.
    """
    bce = tf.nn.sigmoid_cross_entropy_with_logits(labels=targets, logits=logits)
    return tf.reduce_sum(bce * mask) / tf.cast(tf.shape(logits)[0], tf.float32)


MMD_BANDWIDTHS = (0.25, 0.5, 1.0, 2.0, 4.0)


def group_mmd(
    z,
    positive,
    negative,
    bandwidths=MMD_BANDWIDTHS,
    standardize=False,
    epsilon=1e-4,
    unbiased=False,
):
    """Squared maximum mean discrepancy between two weighted groups of one batch.

    By default the biased (V-statistic) estimate ``E k(p, p') + E k(n, n') - 2 E k(p, n)``
    with the sum of Gaussian kernels ``k(a, b) = sum_s exp(-|a - b|^2 / (2 s^2))``; it is
    zero exactly when the two weighted empirical distributions coincide.

    The V-statistic is biased upwards: for two groups drawn from one distribution its
    expectation is ``(sum_i p_i^2 + sum_i n_i^2) (k(a, a) - E k(a, b))`` > 0, which an
    encoder lowers by pulling every code together (``E k(a, b) -> k(a, a)``), i.e. by
    collapsing the latent space rather than by making the groups alike. With
    ``unbiased=True`` the within-group means leave out the ``i = j`` pairs (the
    U-statistic): its expectation is the population MMD^2, zero for equal distributions
    however spread the codes are, so that route is closed. It can be negative. When a
    group has fewer than two members (no within-group pair) it is 0.

    With ``standardize``, every column is first centred and divided by its standard
    deviation over the whole batch, ``sqrt(var + epsilon)`` (gradients flow through both),
    so the value does not change when all codes are scaled: an encoder cannot lower it by
    shrinking the codes towards a point, only by making the groups alike (down to the
    epsilon floor).

    Args:
        z: float tensor (batch, d).
        positive, negative: float tensors (batch,), non-negative membership weights of
            the two groups (e.g. label masks); each is normalised to sum to one (an empty
            group contributes nothing).
        bandwidths: kernel widths ``s``.
        standardize: bool, standardise the columns over the batch first.
        epsilon: added to the variances when standardising.
        unbiased: bool, the U-statistic instead of the V-statistic.

    Returns:
        Scalar tensor; >= 0 (up to rounding) for the V-statistic.
    """
    z = tf.convert_to_tensor(z, tf.float32)
    if standardize:
        mean, variance = tf.nn.moments(z, axes=[0], keepdims=True)
        z = (z - mean) * tf.math.rsqrt(variance + epsilon)
    sq = tf.reduce_sum(tf.square(z[:, None, :] - z[None, :, :]), axis=-1)
    kernel = tf.add_n([tf.exp(-sq / (2.0 * s * s)) for s in bandwidths])
    p = positive / tf.maximum(tf.reduce_sum(positive), 1e-12)
    n = negative / tf.maximum(tf.reduce_sum(negative), 1e-12)
    if not unbiased:
        w = p - n
        return tf.reduce_sum(w[:, None] * kernel * w[None, :])

    off = kernel - tf.linalg.diag(tf.linalg.diag_part(kernel))

    def mean_over_pairs(a, b):
        # sum_{i != j} a_i b_j k_ij / sum_{i != j} a_i b_j, and whether any such pair exists.
        pairs = tf.reduce_sum(a) * tf.reduce_sum(b) - tf.reduce_sum(a * b)
        value = tf.reduce_sum(a[:, None] * off * b[None, :]) / tf.maximum(pairs, 1e-12)
        return value, pairs > 1e-6

    pp, has_pp = mean_over_pairs(p, p)
    nn, has_nn = mean_over_pairs(n, n)
    pn, _ = mean_over_pairs(p, n)
    return tf.where(has_pp & has_nn, pp + nn - 2.0 * pn, 0.0)


def total_correlation(z, z_mean, z_log_var, dataset_size=None):
    """Total correlation of the aggregate posterior, estimated on a batch by minibatch-weighted
    sampling (MWS; Chen, Li, Grosse, Duvenaud: "Isolating Sources of Disentanglement in
    Variational Autoencoders", NeurIPS 2018, the section "Training with minibatch-weighted
    sampling"; arXiv:1802.04942).

    ``TC = E_q(z)[log q(z) - sum_l log q(z_l)]``, with ``q(z) = E_x q(z|x)`` the aggregate
    posterior. Each code ``z_i`` of the batch (M codes, D units) is scored against the
    diagonal Normal posteriors ``q(.|x_j)`` of every image of the batch, itself included:

    ``mean_i [ logsumexp_j log q(z_i|x_j) - sum_l logsumexp_j log q(z_il|x_jl) ]
    + (D - 1) log(N M)``

    Reductions: the log-densities are summed over units inside the joint term and
    log-sum-exp'ed over the batch's posteriors ``j`` (per unit for the marginals); the result is
    the mean over the batch's codes ``i``, a scalar in nats per code. Gradients flow into all
    three inputs.

    ``dataset_size=None`` drops the constant ``(D - 1) log(N M)``, as disentanglement_lib's
    ``total_correlation`` does (the estimate its beta-TCVAE trains with; a constant does not
    change the gradient). ``dataset_size=N`` adds it: Chen et al.'s MWS estimate, which weighs
    every ``q(z_i|x_j)`` by ``1 / (N M)`` where a Monte Carlo estimate of ``q(z_i) = E_x
    q(z_i|x)`` weighs it by ``1 / M``: each log-density comes out ``log N`` low, so for a large
    dataset the estimate tends to ``TC + (D - 1) log N``, not to TC. ``dataset_size=1`` removes
    the offset: the estimate is then the batch's kernel density estimate of ``q`` (the kernels
    are the posteriors), which tends to TC as the batch grows if each code has many other codes
    within its posterior's scale. Where the posteriors are much narrower than the spacing of the
    codes, each ``logsumexp`` is its own ``i = j`` term and the estimate tends to
    ``(D - 1) log M`` whatever the TC.

    Args:
        z: float tensor (M, D), one sample of each posterior.
        z_mean, z_log_var: float tensors (M, D), the posteriors' means and log-variances.
        dataset_size: optional int >= 1, ``N``, the number of images the batch is drawn from.

    Returns:
        float32 scalar.
    """
    if dataset_size is not None and (int(dataset_size) != dataset_size or dataset_size < 1):
        raise ValueError(f"dataset_size must be None or a positive int; got {dataset_size!r}")
    z = tf.convert_to_tensor(z, tf.float32)
    z_mean = tf.convert_to_tensor(z_mean, tf.float32)
    z_log_var = tf.convert_to_tensor(z_log_var, tf.float32)
    # log q(z_il | x_j), (M, M, D) indexed [i, j, l].
    difference = z[:, None, :] - z_mean[None, :, :]
    log_q = -0.5 * (
        tf.square(difference) * tf.exp(-z_log_var[None, :, :])
        + z_log_var[None, :, :]
        + math.log(2.0 * math.pi)
    )
    log_joint = tf.reduce_logsumexp(tf.reduce_sum(log_q, axis=2), axis=1)
    log_marginals = tf.reduce_sum(tf.reduce_logsumexp(log_q, axis=1), axis=1)
    tc = tf.reduce_mean(log_joint - log_marginals)
    if dataset_size is None:
        return tc
    shape = tf.cast(tf.shape(z), tf.float32)
    return tc + (shape[1] - 1.0) * (math.log(dataset_size) + tf.math.log(shape[0]))
