"""Disentanglement, Completeness and Informativeness (DCI).

Implementing Section 2 of Eastwood & Williams, "A Framework for the Quantitative Evaluation
of Disentangled Representations" (ICLR 2018), with gradient-boosted-tree importances as
``compute_dci`` of disentanglement_lib (Locatello et al., ICML 2019).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from joblib import Parallel, delayed
from sklearn.ensemble import GradientBoostingClassifier

from keras_gvae.evaluation.utils import (
    RepresentationFn,
    as_random_state,
    check_train_test,
    classifier_seed,
    generate_batch_factor_code,
)

if TYPE_CHECKING:
    from keras_gvae.data.ground_truth_data import GroundTruthData

_EPS = 1e-11  # Added to importances before normalising, as disentanglement_lib.

# The tree ensembles DCI can use, as GradientBoostingClassifier arguments.
# "exact": sklearn's defaults (100 stages, learning rate 0.1), disentanglement_lib's
# definition. "fast": 25 stages at learning rate 0.4, a quarter of the trees; on codes with
# known structure its DCI scores stay within 0.02 of "exact"'s
# (tests/evaluation/test_dci.py::test_fast_estimator_is_within_tolerance_of_exact).
DCI_ESTIMATORS = {
    "exact": {},
    "fast": {"n_estimators": 25, "learning_rate": 0.4},
}
FAST_TOLERANCE = 0.02


def importance_matrix_gbt(
    codes_train: np.ndarray,
    factors_train: np.ndarray,
    codes_test: np.ndarray,
    factors_test: np.ndarray,
    seed: int = 0,
    n_jobs: int | None = -1,
    estimator: str = "exact",
) -> tuple[np.ndarray, float, float]:
    """Relative importance of each code for each factor from gradient boosted trees.

    One ``GradientBoostingClassifier`` per factor, predicting the factor from all codes:
    with ``estimator="exact"`` sklearn's defaults (100 stages, depth 3, learning rate 0.1),
    with ``"fast"`` 25 stages at learning rate 0.4 (``DCI_ESTIMATORS``).

    Args:
        codes_train, factors_train, codes_test, factors_test: Validated arrays,
            ``(N, num_codes)`` / ``(N, num_factors)`` and ``(M, ...)``.
        seed: ``random_state`` of the classifiers. Defaults to 0.
        n_jobs: factors fitted in parallel (joblib); the values do not depend on it.
            Defaults to -1 (all cores).
        estimator: a key of ``DCI_ESTIMATORS``: "exact" (the default) or "fast".

    Returns:
        ``(importance, train_accuracy, test_accuracy)``: ``importance`` is
        ``(num_codes, num_factors)`` (``|feature_importances_|``, all zero for a factor the
        trees could not split on); the accuracies are averaged over factors.
    """
    if estimator not in DCI_ESTIMATORS:
        raise ValueError(f"estimator must be one of {tuple(DCI_ESTIMATORS)}; got {estimator!r}")
    options = DCI_ESTIMATORS[estimator]
    num_codes, num_factors = codes_train.shape[1], factors_train.shape[1]

    def fit(j):
        model = GradientBoostingClassifier(random_state=seed, **options)
        model.fit(codes_train, factors_train[:, j])
        return (
            np.abs(model.feature_importances_),
            np.mean(model.predict(codes_train) == factors_train[:, j]),
            np.mean(model.predict(codes_test) == factors_test[:, j]),
        )

    # Factors are independent fits: run them in parallel, the largest (most classes) first.
    order = sorted(range(num_factors), key=lambda j: -len(np.unique(factors_train[:, j])))
    fitted = dict(zip(order, Parallel(n_jobs=n_jobs)(delayed(fit)(j) for j in order), strict=True))
    importance = np.zeros((num_codes, num_factors))
    for j in range(num_factors):
        importance[:, j] = fitted[j][0]
    train_accuracy = [fitted[j][1] for j in range(num_factors)]
    test_accuracy = [fitted[j][2] for j in range(num_factors)]
    return importance, float(np.mean(train_accuracy)), float(np.mean(test_accuracy))


def _normalised_entropy(p: np.ndarray, axis: int) -> np.ndarray:
    """Entropy of ``p + 1e-11`` normalised along ``axis``, in base ``p.shape[axis]``.

    A distribution over a single outcome has entropy 0 (disentanglement_lib divides by
    ``log(1) = 0`` there).
    """
    p = p + _EPS
    p = p / p.sum(axis=axis, keepdims=True)
    size = p.shape[axis]
    if size == 1:
        return np.zeros(p.shape[1 - axis])
    return -np.sum(p * np.log(p), axis=axis) / np.log(size)


def disentanglement(importance: np.ndarray) -> float:
    """DCI disentanglement: Eq. 2 of Eastwood & Williams (2018).

    ``D = sum_i rho_i (1 - H_K(P_i.))`` where ``P_ij`` is the importance of code ``i`` for
    factor ``j`` normalised over factors, ``H_K`` the entropy in base ``K = num_factors``
    and ``rho_i`` the relative importance of code ``i`` (uniform if all importances are 0).

    Args:
        importance: Non-negative ``(num_codes, num_factors)`` matrix.

    Returns:
        Disentanglement in ``[0, 1]``.
    """
    per_code = 1.0 - _normalised_entropy(importance, axis=1)
    weights = importance if importance.sum() > 0 else np.ones_like(importance)
    code_importance = weights.sum(axis=1) / weights.sum()
    return float(np.sum(per_code * code_importance))


def completeness(importance: np.ndarray) -> float:
    """DCI completeness: Eq. 3 of Eastwood & Williams (2018).

    ``C = sum_j rho_j (1 - H_D(P_.j))`` with importances normalised over codes, entropy in
    base ``D = num_codes`` and ``rho_j`` the relative importance of factor ``j``.

    Args:
        importance: Non-negative ``(num_codes, num_factors)`` matrix.

    Returns:
        Completeness in ``[0, 1]``.
    """
    per_factor = 1.0 - _normalised_entropy(importance, axis=0)
    weights = importance if importance.sum() > 0 else np.ones_like(importance)
    factor_importance = weights.sum(axis=0) / weights.sum()
    return float(np.sum(per_factor * factor_importance))


def dci(
    codes_train, factors_train, codes_test, factors_test, seed: int = 0, estimator: str = "exact"
) -> dict:
    """DCI scores of a representation from a train/test split.

    Args:
        codes_train: Float array ``(N, num_codes)``.
        factors_train: Integer array ``(N, num_factors)``; each factor must take two or
            more values.
        codes_test: Float array ``(M, num_codes)``.
        factors_test: Integer array ``(M, num_factors)``.
        seed: ``random_state`` of the gradient boosted trees. Defaults to 0.
        estimator: "exact" (disentanglement_lib's trees, the default) or "fast" (a quarter
            of the trees; scores within ``FAST_TOLERANCE`` = 0.02 of "exact" on the test
            data); see ``DCI_ESTIMATORS``.

    Returns:
        Dict with ``disentanglement`` and ``completeness`` (in ``[0, 1]``) and
        ``informativeness_train`` / ``informativeness_test``: the mean classification
        *accuracy* over factors (disentanglement_lib reports accuracy under these names,
        not the error of the paper).
    """
    codes_train, factors_train, codes_test, factors_test = check_train_test(
        codes_train, factors_train, codes_test, factors_test
    )
    importance, train_accuracy, test_accuracy = importance_matrix_gbt(
        codes_train, factors_train, codes_test, factors_test, seed, estimator=estimator
    )
    return {
        "disentanglement": disentanglement(importance),
        "completeness": completeness(importance),
        "informativeness_train": train_accuracy,
        "informativeness_test": test_accuracy,
    }


def dci_from_ground_truth(
    ground_truth_data: GroundTruthData,
    representation_fn: RepresentationFn,
    seed: int | np.random.RandomState = 0,
    num_train: int = 10000,
    num_test: int = 5000,
    batch_size: int = 16,
    estimator: str = "exact",
) -> dict:
    """DCI on freshly sampled ground-truth data (as ``compute_dci``).

    Args:
        ground_truth_data: ``GroundTruthData`` to sample from.
        representation_fn: Callable mapping observations ``(n, H, W, C)`` to codes ``(n, d)``.
        seed: Seed (or ``np.random.RandomState``) for sampling; an int also seeds the trees.
            Defaults to 0.
        num_train: Training points. Defaults to 10000.
        num_test: Test points. Defaults to 5000.
        batch_size: Points sampled and encoded per call. Defaults to 16.
        estimator: the tree ensemble, "exact" (default) or "fast"; see :func:`dci`.

    Returns:
        The dict of ``dci``.
    """
    random_state = as_random_state(seed)
    train = generate_batch_factor_code(
        ground_truth_data, representation_fn, num_train, random_state, batch_size
    )
    test = generate_batch_factor_code(
        ground_truth_data, representation_fn, num_test, random_state, batch_size
    )
    return dci(*train, *test, seed=classifier_seed(seed), estimator=estimator)
