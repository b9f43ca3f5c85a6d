"""Modularity and explicitness.

Implementing Section 3 of Ridgeway & Mozer, "Learning Deep Disentangled Embeddings With
the F-Statistic Loss" (NeurIPS 2018), as ``compute_modularity_explicitness`` of
disentanglement_lib (Locatello et al., ICML 2019).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from keras_gvae.evaluation.utils import (
    RepresentationFn,
    as_random_state,
    check_train_test,
    classifier_seed,
    discrete_mutual_info,
    discretize,
    generate_batch_factor_code,
)

if TYPE_CHECKING:
    from keras_gvae.data.ground_truth_data import GroundTruthData


def modularity(mutual_information: np.ndarray) -> float:
    """Modularity: Eq. 1 of Ridgeway & Mozer (2018), mean over codes.

    For code ``i`` with mutual information ``m_ij`` and ``theta_i = max_j m_ij``:
    ``delta_i = sum_{j != argmax} m_ij^2 / (theta_i^2 (K - 1))`` and the score is
    ``1 - delta_i``. A code with no information (``theta_i = 0``) scores 0; with a single
    factor (``K = 1``) an informative code scores 1.

    Args:
        mutual_information: Non-negative ``(num_codes, num_factors)`` matrix.

    Returns:
        Modularity in ``[0, 1]``.
    """
    squared = np.square(mutual_information)
    max_squared = squared.max(axis=1)
    numerator = squared.sum(axis=1) - max_squared
    denominator = max_squared * (squared.shape[1] - 1.0)
    delta = np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0)
    scores = np.where(max_squared > 0, 1.0 - delta, 0.0)
    return float(np.mean(scores))


def explicitness_per_factor(
    codes_train: np.ndarray,
    labels_train: np.ndarray,
    codes_test: np.ndarray,
    labels_test: np.ndarray,
    seed: int = 0,
) -> tuple[float, float]:
    """Explicitness of one factor: ROC AUC of a logistic regression from all codes.

    ``LogisticRegression`` (sklearn defaults: lbfgs, C=1, multinomial) is fitted on the
    (already standardised) codes; the AUC is the macro average over classes of the
    one-vs-rest ROC AUC of ``predict_proba``. Classes absent from the training labels have
    no probability column and classes without both positives and negatives in the scored
    set are skipped (disentanglement_lib raises for both).

    Returns:
        ``(auc_train, auc_test)``.
    """
    classifier = LogisticRegression(random_state=seed).fit(codes_train, labels_train)
    return (
        _one_vs_rest_auc(classifier, codes_train, labels_train),
        _one_vs_rest_auc(classifier, codes_test, labels_test),
    )


def _one_vs_rest_auc(classifier, codes: np.ndarray, labels: np.ndarray) -> float:
    probabilities = classifier.predict_proba(codes)
    indicator = labels[:, None] == classifier.classes_[None, :]
    aucs = [
        roc_auc_score(indicator[:, c], probabilities[:, c])
        for c in range(indicator.shape[1])
        if 0 < indicator[:, c].sum() < len(labels)
    ]
    return float(np.mean(aucs)) if aucs else 0.5


def modularity_explicitness(
    codes_train,
    factors_train,
    codes_test,
    factors_test,
    num_bins: int = 20,
    seed: int = 0,
) -> dict:
    """Modularity and explicitness of a representation from a train/test split.

    Modularity uses the mutual information between ``num_bins``-bin discretised training
    codes and factors. Explicitness standardises codes with the training mean and standard
    deviation (a constant code keeps scale 1) and averages ``explicitness_per_factor`` over
    factors.

    Args:
        codes_train: Float array ``(N, num_codes)``.
        factors_train: Integer array ``(N, num_factors)``; each factor must take two or
            more values.
        codes_test: Float array ``(M, num_codes)``.
        factors_test: Integer array ``(M, num_factors)``.
        num_bins: Equal-width histogram bins per code. Defaults to 20.
        seed: ``random_state`` of the logistic regressions. Defaults to 0.

    Returns:
        Dict with ``modularity``, ``explicitness_train`` and ``explicitness_test``.
    """
    codes_train, factors_train, codes_test, factors_test = check_train_test(
        codes_train, factors_train, codes_test, factors_test
    )
    mutual_information = discrete_mutual_info(discretize(codes_train, num_bins), factors_train)
    mean = codes_train.mean(axis=0)
    std = codes_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    train_norm = (codes_train - mean) / std
    test_norm = (codes_test - mean) / std
    aucs = np.array(
        [
            explicitness_per_factor(
                train_norm, factors_train[:, j], test_norm, factors_test[:, j], seed
            )
            for j in range(factors_train.shape[1])
        ]
    )
    return {
        "modularity": modularity(mutual_information),
        "explicitness_train": float(aucs[:, 0].mean()),
        "explicitness_test": float(aucs[:, 1].mean()),
    }


def modularity_explicitness_from_ground_truth(
    ground_truth_data: GroundTruthData,
    representation_fn: RepresentationFn,
    seed: int | np.random.RandomState = 0,
    num_train: int = 10000,
    num_test: int = 5000,
    batch_size: int = 16,
    num_bins: int = 20,
) -> dict:
    """Modularity and explicitness on freshly sampled ground-truth data.

    Args:
        ground_truth_data: ``GroundTruthData`` to sample from.
        representation_fn: Callable mapping observations ``(n, H, W, C)`` to codes ``(n, d)``.
        seed: Seed (or ``np.random.RandomState``) for sampling; an int also seeds the
            classifiers. Defaults to 0.
        num_train: Training points. Defaults to 10000.
        num_test: Test points. Defaults to 5000.
        batch_size: Points sampled and encoded per call. Defaults to 16.
        num_bins: Equal-width histogram bins per code. Defaults to 20.

    Returns:
        The dict of ``modularity_explicitness``.
    """
    random_state = as_random_state(seed)
    train = generate_batch_factor_code(
        ground_truth_data, representation_fn, num_train, random_state, batch_size
    )
    test = generate_batch_factor_code(
        ground_truth_data, representation_fn, num_test, random_state, batch_size
    )
    return modularity_explicitness(*train, *test, num_bins=num_bins, seed=classifier_seed(seed))
