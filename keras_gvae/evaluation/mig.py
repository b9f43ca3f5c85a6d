"""Mutual Information Gap (MIG).

Implementing the MIG of Chen et al., "Isolating Sources of Disentanglement in Variational
Autoencoders" (NeurIPS 2018, Eq. 6), with the discrete estimator of disentanglement_lib
(``compute_mig``, Locatello et al., ICML 2019): codes are discretised into 20 equal-width
bins and mutual information is estimated from counts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from keras_gvae.evaluation.utils import (
    RepresentationFn,
    as_random_state,
    check_codes_and_factors,
    check_varying_factors,
    discrete_entropy,
    discrete_mutual_info,
    discretize,
    generate_batch_factor_code,
)

if TYPE_CHECKING:
    from keras_gvae.data.ground_truth_data import GroundTruthData


def mig_per_factor(codes, factors, num_bins: int = 20) -> np.ndarray:
    """Normalised mutual information gap of each factor.

    ``(I(z_a; v_k) - I(z_b; v_k)) / H(v_k)`` where ``z_a`` and ``z_b`` are the codes with
    the largest and second-largest mutual information with factor ``v_k``. With a single
    code the second term is taken as 0.

    Args:
        codes: Float array ``(N, num_codes)``.
        factors: Integer array ``(N, num_factors)``; every factor must take two or more values.
        num_bins: Equal-width bins per code for the discretisation. Defaults to 20.

    Returns:
        Array ``(num_factors,)`` in ``[0, 1]``.
    """
    codes, factors = check_codes_and_factors(codes, factors)
    check_varying_factors(factors)
    mi = discrete_mutual_info(discretize(codes, num_bins), factors)
    top = np.sort(mi, axis=0)[::-1]
    second = top[1] if top.shape[0] > 1 else np.zeros(top.shape[1])
    return (top[0] - second) / discrete_entropy(factors)


def mig(codes, factors, num_bins: int = 20) -> float:
    """Mutual Information Gap: Eq. 6 of Chen et al. (2018), mean over factors.

    Args:
        codes: Float array ``(N, num_codes)``, e.g. posterior means.
        factors: Integer array ``(N, num_factors)`` of ground-truth factor indices; every
            factor must take two or more values.
        num_bins: Equal-width histogram bins per code. Defaults to 20 (disentanglement_lib).

    Returns:
        The MIG in ``[0, 1]`` (mean over factors of ``mig_per_factor``).

    Example:
    >>> factors = np.random.RandomState(0).randint(4, size=(1000, 2))
    >>> round(mig(factors.astype("float32"), factors), 1)
    1.0
    """
    return float(np.mean(mig_per_factor(codes, factors, num_bins)))


def mig_from_ground_truth(
    ground_truth_data: GroundTruthData,
    representation_fn: RepresentationFn,
    seed: int | np.random.RandomState = 0,
    num_train: int = 10000,
    batch_size: int = 16,
    num_bins: int = 20,
) -> float:
    """MIG of a representation on freshly sampled ground-truth data (as ``compute_mig``).

    Args:
        ground_truth_data: ``GroundTruthData`` to sample from.
        representation_fn: Callable mapping observations ``(n, H, W, C)`` to codes ``(n, d)``.
        seed: Seed (or ``np.random.RandomState``) for the sampling. Defaults to 0.
        num_train: Number of sampled points. Defaults to 10000.
        batch_size: Points sampled and encoded per call. Defaults to 16.
        num_bins: Equal-width histogram bins per code. Defaults to 20.

    Returns:
        The MIG in ``[0, 1]``.
    """
    codes, factors = generate_batch_factor_code(
        ground_truth_data, representation_fn, num_train, as_random_state(seed), batch_size
    )
    return mig(codes, factors, num_bins)
