"""Guided-beta-TCVAE: the unsupervised Guided-VAE's guidance on a beta-TCVAE objective."""

from __future__ import annotations

import keras

from keras_gvae.models.beta_tcvae import TotalCorrelationObjective
from keras_gvae.models.guided_vae import GuidedVAE


@keras.saving.register_keras_serializable(package="keras_gvae")
class GuidedBetaTCVAE(TotalCorrelationObjective, GuidedVAE):
    """:class:`GuidedVAE` (Ding et al. 2020, Sec. 3.1) on the beta-TCVAE objective of
    :class:`BetaTCVAE` (Chen et al. 2018) instead of the (beta-)VAE's.

    The loss, per image and averaged over the batch:

    ``loss = reconstruction + kl + (beta - 1) * total_correlation
    + sub_weight * sub_reconstruction + orthogonality_weight * orthogonality``

    i.e. :class:`GuidedVAE`'s with the KL at weight 1 (:attr:`kl_weight`) and ``beta`` on the
    total correlation (disentanglement_lib's estimate on the sampled codes, see
    :class:`BetaTCVAE`). The guidance terms, its options and their schedules are
    :class:`GuidedVAE`'s; ``content_beta`` is the content units' KL weight against the KL
    weight 1 of every unit, and ``guidance_warmup`` does not ramp the TC term. Reported
    metrics: GuidedVAE's and ``total_correlation``. The beta-TCVAE part is
    :class:`~keras_gvae.models.beta_tcvae.TotalCorrelationObjective`, as in BetaTCVAE.

    Args:
        input_shape: tuple (H, W, C). Defaults to (64, 64, 1).
        latent_dim: int, total number of latent units. Defaults to 10.
        beta: float >= 0, the weight of the total correlation. Defaults to 6.0, as
            :class:`BetaTCVAE`.
        **kwargs: the arguments of :class:`GuidedVAE` (transforms, sub_weight, max_scale,
            template_init, content_beta, ...) and of :class:`VAE`.

    Example:
    >>> model = GuidedBetaTCVAE(
    ...     input_shape=(64, 64, 1),
    ...     transforms=("uniform_scale", "rotation", "translation"),
    ...     max_scale=2.0,
    ...     template_init="centred",
    ... )
    >>> model.compile(optimizer=keras.optimizers.Adam(1e-3))
    >>> model.fit(images, epochs=10, batch_size=64)  # doctest: +SKIP
    """

    METRIC_NAMES = GuidedVAE.METRIC_NAMES + ("total_correlation",)
