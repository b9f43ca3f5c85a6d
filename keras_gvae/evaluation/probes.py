"""Representation probes: how much label information codes carry, linearly or locally."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def check_codes_and_labels(
    codes, labels, codes_name: str = "codes", labels_name: str = "labels"
) -> tuple[np.ndarray, np.ndarray]:
    """Validates codes ``(N, d)`` (float, finite) and labels ``(N,)``; returns numpy arrays."""
    codes = np.asarray(codes)
    labels = np.asarray(labels)
    if (
        codes.ndim != 2
        or labels.ndim != 1
        or codes.shape[0] != labels.shape[0]
        or codes.shape[0] == 0
        or not np.issubdtype(codes.dtype, np.floating)
    ):
        raise ValueError(
            f"Expected {codes_name} of shape (N, num_codes) with a float dtype and "
            f"{labels_name} of shape (N,) with N > 0; got {codes_name} {codes.shape} "
            f"{codes.dtype} and {labels_name} {labels.shape}."
        )
    if not np.all(np.isfinite(codes)):
        raise ValueError(f"{codes_name} contains NaN or infinite values.")
    return codes.astype(np.float64), labels


def _check_split(codes_train, labels_train, codes_test, labels_test):
    codes_train, labels_train = check_codes_and_labels(
        codes_train, labels_train, "codes_train", "labels_train"
    )
    codes_test, labels_test = check_codes_and_labels(
        codes_test, labels_test, "codes_test", "labels_test"
    )
    if codes_train.shape[1] != codes_test.shape[1]:
        raise ValueError(
            "codes_train and codes_test must have the same number of codes; got "
            f"{codes_train.shape} and {codes_test.shape}."
        )
    return codes_train, labels_train, codes_test, labels_test


def linear_probe_accuracy(
    codes_train, labels_train, codes_test, labels_test, seed: int = 0, max_iter: int = 1000
) -> float:
    """Test accuracy of a logistic regression on standardised codes.

    ``StandardScaler`` (fitted on the training codes) followed by ``LogisticRegression``
    with sklearn's defaults (lbfgs, C=1, multinomial) except ``max_iter``.

    Args:
        codes_train: Float array ``(N, d)``.
        labels_train: Labels ``(N,)`` (any hashable class values).
        codes_test: Float array ``(M, d)``.
        labels_test: Labels ``(M,)``.
        seed: ``random_state`` of the classifier. Defaults to 0.
        max_iter: Maximum lbfgs iterations. Defaults to 1000.

    Returns:
        Accuracy on the test set, in ``[0, 1]``.
    """
    codes_train, labels_train, codes_test, labels_test = _check_split(
        codes_train, labels_train, codes_test, labels_test
    )
    model = make_pipeline(
        StandardScaler(), LogisticRegression(max_iter=max_iter, random_state=seed)
    )
    model.fit(codes_train, labels_train)
    return float(model.score(codes_test, labels_test))


def knn_probe_accuracy(codes_train, labels_train, codes_test, labels_test, k: int = 5) -> float:
    """Test accuracy of a ``k``-nearest-neighbour classifier (Euclidean, raw codes).

    Uses ``KNeighborsClassifier(n_neighbors=k)`` with uniform weights; it is deterministic
    (ties between equally distant neighbours are broken by training order).

    Args:
        codes_train: Float array ``(N, d)``.
        labels_train: Labels ``(N,)``.
        codes_test: Float array ``(M, d)``.
        labels_test: Labels ``(M,)``.
        k: Number of neighbours; must not exceed N. Defaults to 5.

    Returns:
        Accuracy on the test set, in ``[0, 1]``.
    """
    codes_train, labels_train, codes_test, labels_test = _check_split(
        codes_train, labels_train, codes_test, labels_test
    )
    if not 1 <= k <= len(codes_train):
        raise ValueError(f"k must be in [1, {len(codes_train)}] (the training size); got {k}.")
    model = KNeighborsClassifier(n_neighbors=k).fit(codes_train, labels_train)
    return float(model.score(codes_test, labels_test))
