"""FactorVAE disentanglement metric.

Implementing Section 4 of Kim & Mnih, "Disentangling by Factorising" (ICML 2018), as
``compute_factor_vae`` of disentanglement_lib (Locatello et al., ICML 2019) with its study
setting ``prune_dims.threshold = 0.05``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from keras_gvae.evaluation.utils import RepresentationFn, as_random_state, encode

if TYPE_CHECKING:
    from keras_gvae.data.ground_truth_data import GroundTruthData


def _votes(
    ground_truth_data: GroundTruthData,
    representation_fn: RepresentationFn,
    batch_size: int,
    num_points: int,
    random_state: np.random.RandomState,
    global_variances: np.ndarray,
    active_dims: np.ndarray,
) -> np.ndarray:
    """Vote counts ``(num_factors, num_codes)``: fixed factor vs. least-varying code.

    Each vote fixes one uniformly chosen factor across ``batch_size`` samples and finds the
    active code with the smallest variance (ddof=1) divided by its global variance.
    """
    active = np.flatnonzero(active_dims)
    votes = np.zeros((ground_truth_data.num_factors, len(global_variances)), dtype=np.int64)
    for _ in range(num_points):
        factor_index = random_state.randint(ground_truth_data.num_factors)
        factors = ground_truth_data.sample_factors(batch_size, random_state)
        factors[:, factor_index] = factors[0, factor_index]
        observations = ground_truth_data.sample_observations_from_factors(factors, random_state)
        local_variances = np.var(encode(representation_fn, observations), axis=0, ddof=1)
        ratio = local_variances[active] / global_variances[active]
        votes[factor_index, active[np.argmin(ratio)]] += 1
    return votes


def factor_vae_votes(
    ground_truth_data: GroundTruthData,
    representation_fn: RepresentationFn,
    seed: int | np.random.RandomState = 0,
    batch_size: int = 64,
    num_train: int = 10000,
    num_eval: int = 5000,
    num_variance_estimate: int = 10000,
    prune_threshold: float = 0.05,
):
    """The votes :func:`factor_vae_score` classifies: ``(train_votes, eval_votes,
    active_dims)``, vote counts ``(num_factors, num_codes)`` and the mask of active codes,
    or None when every code is pruned. Same arguments and draws as the score."""
    random_state = as_random_state(seed)
    observations = ground_truth_data.sample_observations(num_variance_estimate, random_state)
    codes = encode(representation_fn, observations, batch_size=max(batch_size, 256))
    global_variances = np.var(codes, axis=0, ddof=1)
    active_dims = np.sqrt(global_variances) >= prune_threshold
    if not active_dims.any():
        return None

    def votes(num_points: int) -> np.ndarray:
        return _votes(
            ground_truth_data,
            representation_fn,
            batch_size,
            num_points,
            random_state,
            global_variances,
            active_dims,
        )

    return votes(num_train), votes(num_eval), active_dims


def factor_vae_score(
    ground_truth_data: GroundTruthData,
    representation_fn: RepresentationFn,
    seed: int | np.random.RandomState = 0,
    batch_size: int = 64,
    num_train: int = 10000,
    num_eval: int = 5000,
    num_variance_estimate: int = 10000,
    prune_threshold: float = 0.05,
) -> dict:
    """FactorVAE metric: accuracy of a majority-vote classifier (Kim & Mnih, 2018, Sec. 4).

    Global variances of the codes are estimated from ``num_variance_estimate`` samples;
    codes whose standard deviation is below ``prune_threshold`` are pruned (collapsed to
    the prior). Each training/evaluation point fixes one factor over ``batch_size``
    samples and votes for the active code of least normalised variance; the classifier
    maps each code to the factor it received most training votes for.

    Args:
        ground_truth_data: ``GroundTruthData`` to sample from.
        representation_fn: Callable mapping observations ``(n, H, W, C)`` to codes ``(n, d)``.
        seed: Seed (or ``np.random.RandomState``) for sampling. Defaults to 0.
        batch_size: Samples per vote. Defaults to 64.
        num_train: Votes used to build the classifier. Defaults to 10000.
        num_eval: Votes used to evaluate it. Defaults to 5000.
        num_variance_estimate: Samples for the global variances. Defaults to 10000.
        prune_threshold: Minimal standard deviation of an active code. Defaults to 0.05.

    Returns:
        Dict with ``train_accuracy``, ``eval_accuracy`` (fraction of votes classified
        correctly) and ``num_active_dims``. If every code is pruned all three are 0.
    """
    if batch_size < 2 or num_variance_estimate < 2:
        raise ValueError(
            "batch_size and num_variance_estimate must be >= 2 to estimate variances; got "
            f"{batch_size} and {num_variance_estimate}."
        )
    if num_train < 1 or num_eval < 1:
        raise ValueError(f"num_train and num_eval must be positive; got {num_train}, {num_eval}.")
    votes = factor_vae_votes(
        ground_truth_data,
        representation_fn,
        seed,
        batch_size,
        num_train,
        num_eval,
        num_variance_estimate,
        prune_threshold,
    )
    if votes is None:
        return {"train_accuracy": 0.0, "eval_accuracy": 0.0, "num_active_dims": 0}
    train_votes, eval_votes, active_dims = votes
    classifier = np.argmax(train_votes, axis=0)  # code -> factor with most training votes
    columns = np.arange(train_votes.shape[1])
    train_accuracy = train_votes[classifier, columns].sum() / train_votes.sum()
    eval_accuracy = eval_votes[classifier, columns].sum() / eval_votes.sum()
    return {
        "train_accuracy": float(train_accuracy),
        "eval_accuracy": float(eval_accuracy),
        "num_active_dims": int(active_dims.sum()),
    }
