"""BetaVAE disentanglement metric.

Implementing Section 3 (and Appendix A.4) of Higgins et al., "beta-VAE: Learning Basic
Visual Concepts with a Constrained Variational Framework" (ICLR 2017), as
``compute_beta_vae_sklearn`` of disentanglement_lib (Locatello et al., ICML 2019).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from sklearn.linear_model import LogisticRegression

from keras_gvae.evaluation.utils import (
    RepresentationFn,
    as_random_state,
    classifier_seed,
    encode,
)

if TYPE_CHECKING:
    from keras_gvae.data.ground_truth_data import GroundTruthData


def _points(
    ground_truth_data: GroundTruthData,
    representation_fn: RepresentationFn,
    batch_size: int,
    num_points: int,
    random_state: np.random.RandomState,
) -> tuple[np.ndarray, np.ndarray]:
    """Features ``(num_points, num_codes)`` and labels ``(num_points,)``.

    Each point fixes one uniformly chosen factor ``y`` between ``batch_size`` pairs of
    otherwise independent factor rows; its feature is the mean over the pairs of the
    absolute code differences ``|z_1 - z_2|`` and its label is ``y``.
    """
    labels = np.zeros(num_points, dtype=np.int64)
    features = []
    for n in range(num_points):
        index = random_state.randint(ground_truth_data.num_factors)
        factors1 = ground_truth_data.sample_factors(batch_size, random_state)
        factors2 = ground_truth_data.sample_factors(batch_size, random_state)
        factors2[:, index] = factors1[:, index]
        observations1 = ground_truth_data.sample_observations_from_factors(factors1, random_state)
        observations2 = ground_truth_data.sample_observations_from_factors(factors2, random_state)
        codes = encode(representation_fn, np.concatenate([observations1, observations2]))
        labels[n] = index
        features.append(np.mean(np.abs(codes[:batch_size] - codes[batch_size:]), axis=0))
    return np.stack(features), labels


def beta_vae_score(
    ground_truth_data: GroundTruthData,
    representation_fn: RepresentationFn,
    seed: int | np.random.RandomState = 0,
    batch_size: int = 64,
    num_train: int = 10000,
    num_eval: int = 5000,
) -> dict:
    """BetaVAE metric: accuracy of a linear classifier predicting the fixed factor.

    A ``LogisticRegression`` (sklearn defaults) is trained on ``num_train`` points and
    scored on ``num_eval`` new ones (see ``_points`` for how a point is made).

    Args:
        ground_truth_data: ``GroundTruthData`` to sample from; needs two or more factors.
        representation_fn: Callable mapping observations ``(n, H, W, C)`` to codes ``(n, d)``.
        seed: Seed (or ``np.random.RandomState``) for sampling; an int also seeds the
            classifier. Defaults to 0.
        batch_size: Pairs averaged per point. Defaults to 64.
        num_train: Training points. Defaults to 10000.
        num_eval: Evaluation points. Defaults to 5000.

    Returns:
        Dict with ``train_accuracy`` and ``eval_accuracy``.
    """
    if ground_truth_data.num_factors < 2:
        raise ValueError(
            "beta_vae_score needs ground_truth_data with two or more factors; got "
            f"{ground_truth_data.num_factors}."
        )
    if batch_size < 1 or num_train < 1 or num_eval < 1:
        raise ValueError(
            "batch_size, num_train and num_eval must be positive; got "
            f"{batch_size}, {num_train}, {num_eval}."
        )
    random_state = as_random_state(seed)
    train_features, train_labels = _points(
        ground_truth_data, representation_fn, batch_size, num_train, random_state
    )
    if len(np.unique(train_labels)) < 2:
        raise ValueError(f"num_train={num_train} points drew a single factor; use more points.")
    model = LogisticRegression(random_state=classifier_seed(seed))
    model.fit(train_features, train_labels)
    eval_features, eval_labels = _points(
        ground_truth_data, representation_fn, batch_size, num_eval, random_state
    )
    return {
        "train_accuracy": float(model.score(train_features, train_labels)),
        "eval_accuracy": float(model.score(eval_features, eval_labels)),
    }
