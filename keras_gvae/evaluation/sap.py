"""Separated Attribute Predictability (SAP) score.

Implementing Section 3 of Kumar et al., "Variational Inference of Disentangled Latent
Concepts from Unlabeled Observations" (ICLR 2018), as ``compute_sap`` of disentanglement_lib.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from sklearn.svm import LinearSVC

from keras_gvae.evaluation.utils import (
    RepresentationFn,
    as_random_state,
    check_train_test,
    classifier_seed,
    generate_batch_factor_code,
)

if TYPE_CHECKING:
    from keras_gvae.data.ground_truth_data import GroundTruthData


def sap_score_matrix(
    codes_train: np.ndarray,
    factors_train: np.ndarray,
    codes_test: np.ndarray,
    factors_test: np.ndarray,
    continuous_factors: bool = False,
    seed: int = 0,
) -> np.ndarray:
    """Predictability of every factor from every single code, ``(num_codes, num_factors)``.

    Discrete factors: test accuracy of a one-dimensional
    ``LinearSVC(C=0.01, class_weight="balanced")`` trained on one code. Continuous factors:
    squared correlation of code and factor on the training set (0 for a code with variance
    below 1e-12); the test set is then unused.

    Args:
        codes_train, factors_train, codes_test, factors_test: As for ``sap``, already
            validated.
        continuous_factors: Treat factors as continuous. Defaults to False.
        seed: ``random_state`` of the ``LinearSVC``. Defaults to 0.

    Returns:
        Array ``(num_codes, num_factors)``.
    """
    num_codes, num_factors = codes_train.shape[1], factors_train.shape[1]
    scores = np.zeros((num_codes, num_factors))
    for i in range(num_codes):
        for j in range(num_factors):
            if continuous_factors:
                cov = np.cov(codes_train[:, i], factors_train[:, j], ddof=1)
                if cov[0, 0] > 1e-12:
                    scores[i, j] = cov[0, 1] ** 2 / (cov[0, 0] * cov[1, 1])
            else:
                classifier = LinearSVC(C=0.01, class_weight="balanced", random_state=seed)
                classifier.fit(codes_train[:, i : i + 1], factors_train[:, j])
                prediction = classifier.predict(codes_test[:, i : i + 1])
                scores[i, j] = np.mean(prediction == factors_test[:, j])
    return scores


def sap(
    codes_train,
    factors_train,
    codes_test,
    factors_test,
    continuous_factors: bool = False,
    seed: int = 0,
) -> float:
    """SAP score: mean over factors of the gap between the two most predictive codes.

    Args:
        codes_train: Float array ``(N, num_codes)``.
        factors_train: Integer array ``(N, num_factors)``; each factor must take two or
            more values.
        codes_test: Float array ``(M, num_codes)``.
        factors_test: Integer array ``(M, num_factors)``.
        continuous_factors: Score with squared correlations instead of classifiers.
            Defaults to False (disentanglement_lib's setting for all its datasets).
        seed: ``random_state`` of each ``LinearSVC``. Defaults to 0.

    Returns:
        The SAP score in ``[0, 1]``. With a single code the second-best score is taken as 0.
    """
    codes_train, factors_train, codes_test, factors_test = check_train_test(
        codes_train, factors_train, codes_test, factors_test
    )
    scores = np.sort(
        sap_score_matrix(
            codes_train, factors_train, codes_test, factors_test, continuous_factors, seed
        ),
        axis=0,
    )
    second = scores[-2] if scores.shape[0] > 1 else np.zeros(scores.shape[1])
    return float(np.mean(scores[-1] - second))


def sap_from_ground_truth(
    ground_truth_data: GroundTruthData,
    representation_fn: RepresentationFn,
    seed: int | np.random.RandomState = 0,
    num_train: int = 10000,
    num_test: int = 5000,
    batch_size: int = 16,
    continuous_factors: bool = False,
) -> float:
    """SAP score on freshly sampled ground-truth data (as ``compute_sap``).

    Args:
        ground_truth_data: ``GroundTruthData`` to sample from.
        representation_fn: Callable mapping observations ``(n, H, W, C)`` to codes ``(n, d)``.
        seed: Seed (or ``np.random.RandomState``) for sampling; an int also seeds the
            classifiers. Defaults to 0.
        num_train: Training points. Defaults to 10000.
        num_test: Test points. Defaults to 5000.
        batch_size: Points sampled and encoded per call. Defaults to 16.
        continuous_factors: See ``sap``. Defaults to False.

    Returns:
        The SAP score.
    """
    random_state = as_random_state(seed)
    train = generate_batch_factor_code(
        ground_truth_data, representation_fn, num_train, random_state, batch_size
    )
    test = generate_batch_factor_code(
        ground_truth_data, representation_fn, num_test, random_state, batch_size
    )
    return sap(*train, *test, continuous_factors=continuous_factors, seed=classifier_seed(seed))
