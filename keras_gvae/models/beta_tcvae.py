"""beta-TCVAE (Chen et al. 2018): the VAE with a weight on the total correlation of its code."""

from __future__ import annotations

import keras

from keras_gvae.losses import total_correlation
from keras_gvae.models.vae import VAE

# A value of disentanglement_lib's beta-TCVAE sweep (1, 2, 4, 6, 8, 10; unsupervised_study_v1).
DEFAULT_BETA = 6.0


def total_correlation_terms(beta, z, z_mean, z_log_var):
    """beta-TCVAE's addition to the negative ELBO of a sampled code, in the loss hook's form.

    With the ELBO's KL at weight 1 this makes ``reconstruction + kl + (beta - 1) * tc``:
    Chen et al.'s objective with alpha = gamma = 1, as disentanglement_lib's ``BetaTCVAE``
    trains it, ``tc`` being its estimate (:func:`keras_gvae.losses.total_correlation` with no
    dataset size: the minibatch-weighted estimate without its constant).

    Returns:
        ``((beta - 1) * tc, {"total_correlation": tc})``.
    """
    tc = total_correlation(z, z_mean, z_log_var)
    return (beta - 1.0) * tc, {"total_correlation": tc}


class TotalCorrelationObjective:
    """beta-TCVAE's objective on a VAE class, as a mixin listed before it:
    ``class BetaTCVAE(TotalCorrelationObjective, VAE)``.

    ``beta`` (default :data:`DEFAULT_BETA`) weighs the total correlation, the KL keeps the
    weight 1 (:attr:`kl_weight`), and :meth:`guidance_terms` adds
    :func:`total_correlation_terms` to the base class's terms. The class using it adds
    ``"total_correlation"`` to its ``METRIC_NAMES``.
    """

    def __init__(self, input_shape=(64, 64, 1), latent_dim=10, beta=DEFAULT_BETA, **kwargs):
        super().__init__(input_shape=input_shape, latent_dim=latent_dim, beta=beta, **kwargs)

    @property
    def kl_weight(self):
        return 1.0

    def guidance_terms(self, x, z, z_mean, z_log_var, training=False):
        guided, terms = super().guidance_terms(x, z, z_mean, z_log_var, training=training)
        tc_loss, tc_terms = total_correlation_terms(self.beta, z, z_mean, z_log_var)
        return (tc_loss if guided is None else guided + tc_loss), {**terms, **tc_terms}


@keras.saving.register_keras_serializable(package="keras_gvae")
class BetaTCVAE(TotalCorrelationObjective, VAE):
    """beta-TCVAE (Chen, Li, Grosse, Duvenaud: "Isolating Sources of Disentanglement in
    Variational Autoencoders", NeurIPS 2018): the ELBO's KL decomposes into index-code mutual
    information, the total correlation (TC) of the aggregate posterior ``q(z)`` and the
    dimension-wise KL; beta-TCVAE weighs the TC by ``beta`` and the other two by 1.

    The loss, per image and averaged over the batch (reconstruction summed over pixels, KL
    over units, as in :class:`VAE`):

    ``loss = reconstruction + kl + (beta - 1) * total_correlation``

    where ``total_correlation`` is disentanglement_lib's minibatch-weighted estimate on the
    batch's sampled codes, without the constant ``(D - 1) log(N M)``
    (:func:`keras_gvae.losses.total_correlation`): only its changes mean something, and it is
    usually negative. Under a distribution strategy each replica estimates it on its own
    share of the batch. ``beta = 1`` is the VAE. Reported metrics: ``loss``,
    ``reconstruction``, ``kl``, ``total_correlation``.

    ``beta`` here is the TC's weight, not the KL's (:attr:`kl_weight` is 1), as in the paper
    and in disentanglement_lib (``beta_tc_vae.beta``); built through the loss hook
    (:meth:`guidance_terms`, with :func:`total_correlation_terms`), by
    :class:`TotalCorrelationObjective`.

    Args:
        input_shape: tuple (H, W, C). Defaults to (64, 64, 1).
        latent_dim: int, number of latent units. Defaults to 10.
        beta: float >= 0, the weight of the total correlation. Defaults to 6.0, a value of
            disentanglement_lib's sweep (1, 2, 4, 6, 8, 10).
        **kwargs: the other arguments of :class:`VAE` (likelihood, encoder, decoder, seed,
            ...) and standard Keras model arguments.

    Example:
    >>> model = BetaTCVAE(input_shape=(64, 64, 1), latent_dim=10, beta=6.0)
    >>> model.compile(optimizer=keras.optimizers.Adam(1e-3))
    >>> model.fit(images, epochs=10, batch_size=64)  # doctest: +SKIP
    """

    METRIC_NAMES = VAE.METRIC_NAMES + ("total_correlation",)
