"""Helpers shared by the disentanglement metrics: sampling, discretisation, information.

Conventions differ from disentanglement_lib in one respect: arrays are row-major,
``codes`` is ``(N, num_codes)`` and ``factors`` is ``(N, num_factors)`` (disentanglement_lib
transposes both). Matrices indexed by code and factor are ``(num_codes, num_factors)`` as there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from sklearn.metrics import mutual_info_score

if TYPE_CHECKING:
    from keras_gvae.data.ground_truth_data import GroundTruthData

RepresentationFn = Callable[[np.ndarray], np.ndarray]


# === Validation ===


def check_codes_and_factors(
    codes, factors, codes_name: str = "codes", factors_name: str = "factors"
) -> tuple[np.ndarray, np.ndarray]:
    """Validates a ``(codes, factors)`` pair and returns them as float64 / int64 arrays.

    Args:
        codes: Array-like of shape ``(N, num_codes)`` with a floating dtype and finite values.
        factors: Array-like of shape ``(N, num_factors)`` with an integer dtype.
        codes_name: Name used for ``codes`` in error messages. Defaults to ``"codes"``.
        factors_name: Name used for ``factors`` in error messages. Defaults to ``"factors"``.

    Returns:
        ``(codes, factors)`` as ``float64`` and ``int64`` numpy arrays.

    Raises:
        ValueError: If a shape, dtype or the number of rows does not match.
    """
    codes = np.asarray(codes)
    factors = np.asarray(factors)
    expected = (
        f"expected {codes_name} of shape (N, num_codes) with a float dtype and "
        f"{factors_name} of shape (N, num_factors) with an integer dtype and the same N"
    )
    got = (
        f"got {codes_name} {codes.shape} {codes.dtype} and "
        f"{factors_name} {factors.shape} {factors.dtype}"
    )
    if codes.ndim != 2 or factors.ndim != 2:
        raise ValueError(f"{expected}; {got} (both must be 2-D).")
    if not np.issubdtype(codes.dtype, np.floating):
        raise ValueError(f"{expected}; {got} ({codes_name} must be float, e.g. a posterior mean).")
    if not np.issubdtype(factors.dtype, np.integer):
        raise ValueError(f"{expected}; {got} ({factors_name} must be integer factor indices).")
    if codes.shape[0] != factors.shape[0]:
        raise ValueError(f"{expected}; {got} (N differs).")
    if codes.shape[0] == 0 or codes.shape[1] == 0 or factors.shape[1] == 0:
        raise ValueError(f"{expected}; {got} (no samples, codes or factors).")
    if not np.all(np.isfinite(codes)):
        raise ValueError(f"{codes_name} contains NaN or infinite values.")
    return codes.astype(np.float64), factors.astype(np.int64)


def check_train_test(codes_train, factors_train, codes_test, factors_test):
    """Validates a train/test split of codes and factors (see ``check_codes_and_factors``).

    The training factors must each take at least two values (a classifier cannot be
    fitted to a single class), and train and test must have the same number of codes
    and of factors.

    Returns:
        The four arrays as float64 codes and int64 factors.
    """
    codes_train, factors_train = check_codes_and_factors(
        codes_train, factors_train, "codes_train", "factors_train"
    )
    codes_test, factors_test = check_codes_and_factors(
        codes_test, factors_test, "codes_test", "factors_test"
    )
    if codes_train.shape[1] != codes_test.shape[1]:
        raise ValueError(
            "codes_train (N, num_codes) and codes_test (M, num_codes) must have the same "
            f"num_codes; got {codes_train.shape} and {codes_test.shape}."
        )
    if factors_train.shape[1] != factors_test.shape[1]:
        raise ValueError(
            "factors_train (N, num_factors) and factors_test (M, num_factors) must have the "
            f"same num_factors; got {factors_train.shape} and {factors_test.shape}."
        )
    check_varying_factors(factors_train, "factors_train")
    return codes_train, factors_train, codes_test, factors_test


def check_varying_factors(factors: np.ndarray, factors_name: str = "factors") -> None:
    """Raises ``ValueError`` if a factor column takes a single value in the sample."""
    constant = [j for j in range(factors.shape[1]) if np.all(factors[:, j] == factors[0, j])]
    if constant:
        raise ValueError(
            f"{factors_name} columns {constant} take a single value in this sample; the metric "
            "is undefined for a constant factor. Drop it from the ground-truth data or sample "
            "more points."
        )


def as_random_state(seed) -> np.random.RandomState:
    """Returns ``seed`` if it is a ``RandomState``, else ``np.random.RandomState(seed)``."""
    if isinstance(seed, np.random.RandomState):
        return seed
    return np.random.RandomState(seed)


def classifier_seed(seed) -> int:
    """The int ``random_state`` for sklearn estimators: ``seed`` itself, or 0 for a RandomState."""
    return int(seed) if isinstance(seed, (int, np.integer)) else 0


# === Representations ===


def encode(
    representation_fn: RepresentationFn, observations: np.ndarray, batch_size: int | None = None
) -> np.ndarray:
    """Applies ``representation_fn`` and returns float64 codes of shape ``(N, num_codes)``.

    Args:
        representation_fn: Callable mapping observations ``(N, H, W, C)`` to codes ``(N, d)``.
        observations: Observations to encode.
        batch_size: If given, ``representation_fn`` is called on chunks of at most this many
            observations (to bound memory). Defaults to ``None`` (one call).

    Returns:
        Codes as a ``(N, d)`` float64 numpy array.
    """
    num = len(observations)
    if batch_size is None or num <= batch_size:
        chunks = [representation_fn(observations)]
    else:
        chunks = [
            representation_fn(observations[i : i + batch_size]) for i in range(0, num, batch_size)
        ]
    codes = np.concatenate([np.asarray(c, dtype=np.float64) for c in chunks], axis=0)
    if codes.ndim != 2 or codes.shape[0] != num:
        raise ValueError(
            f"representation_fn must map {num} observations to codes of shape ({num}, num_codes); "
            f"got {codes.shape}."
        )
    return codes


def generate_batch_factor_code(
    ground_truth_data: GroundTruthData,
    representation_fn: RepresentationFn,
    num_points: int,
    random_state: np.random.RandomState,
    batch_size: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Samples ``num_points`` factor rows in batches and encodes their observations.

    Mirrors ``disentanglement_lib.evaluation.metrics.utils.generate_batch_factor_code``
    (same sampling order: ``ground_truth_data.sample(batch)`` per batch), except that the
    outputs are not transposed.

    Args:
        ground_truth_data: ``GroundTruthData`` to sample from.
        representation_fn: Callable mapping observations ``(n, H, W, C)`` to codes ``(n, d)``.
        num_points: Number of points to sample.
        random_state: ``np.random.RandomState`` used for all sampling.
        batch_size: Number of points sampled and encoded per call.

    Returns:
        ``(codes, factors)`` of shapes ``(num_points, d)`` (float64) and
        ``(num_points, num_factors)`` (int64).
    """
    if num_points < 1 or batch_size < 1:
        raise ValueError(
            f"num_points and batch_size must be positive; got {num_points} and {batch_size}."
        )
    codes, factors = [], []
    done = 0
    while done < num_points:
        num = min(num_points - done, batch_size)
        batch_factors, observations = ground_truth_data.sample(num, random_state)
        factors.append(np.asarray(batch_factors, dtype=np.int64))
        codes.append(encode(representation_fn, observations))
        done += num
    return np.concatenate(codes, axis=0), np.concatenate(factors, axis=0)


# === Information ===


def discretize(codes, num_bins: int = 20) -> np.ndarray:
    """Discretises each code column into ``num_bins`` equal-width histogram bins.

    As ``_histogram_discretize`` of disentanglement_lib: the bin edges span
    ``[min, max]`` of each column and values are mapped with ``np.digitize`` to
    ``1 .. num_bins``. The partition is invariant to positive affine maps of a column;
    a constant column maps to a single bin.

    Args:
        codes: Array of shape ``(N, num_codes)``.
        num_bins: Number of bins per code. Defaults to 20.

    Returns:
        Int64 array ``(N, num_codes)`` of bin indices in ``1 .. num_bins``.
    """
    codes = np.asarray(codes, dtype=np.float64)
    if codes.ndim != 2:
        raise ValueError(f"codes must have shape (N, num_codes); got {codes.shape}.")
    if num_bins < 1:
        raise ValueError(f"num_bins must be positive; got {num_bins}.")
    out = np.empty(codes.shape, dtype=np.int64)
    for i in range(codes.shape[1]):
        edges = np.histogram_bin_edges(codes[:, i], bins=num_bins)[:-1]
        out[:, i] = np.digitize(codes[:, i], edges)
    return out


def discrete_mutual_info(codes_discrete, factors) -> np.ndarray:
    """Mutual information (nats) between every discrete code and every factor.

    Args:
        codes_discrete: Integer array ``(N, num_codes)``, e.g. from ``discretize``.
        factors: Integer array ``(N, num_factors)``.

    Returns:
        Array ``(num_codes, num_factors)`` with ``I(z_i; v_j)`` from
        ``sklearn.metrics.mutual_info_score`` (natural logarithm).
    """
    codes_discrete = np.asarray(codes_discrete)
    factors = np.asarray(factors)
    mi = np.zeros((codes_discrete.shape[1], factors.shape[1]))
    for i in range(codes_discrete.shape[1]):
        for j in range(factors.shape[1]):
            mi[i, j] = mutual_info_score(factors[:, j], codes_discrete[:, i])
    return mi


def discrete_entropy(factors) -> np.ndarray:
    """Entropy ``H(v_j) = I(v_j; v_j)`` (nats) of each column of ``factors`` ``(N, k)``."""
    factors = np.asarray(factors)
    return np.array([mutual_info_score(f, f) for f in factors.T], dtype=np.float64)


def mutual_information_matrix(codes, factors, num_bins: int = 20) -> np.ndarray:
    """Mutual information between ``num_bins``-bin discretised codes and factors.

    This is the matrix MIG and modularity are computed from; handy for plotting with
    ``keras_gvae.evaluation.plots.plot_mi_matrix``.

    Args:
        codes: Float array ``(N, num_codes)``.
        factors: Integer array ``(N, num_factors)``.
        num_bins: Number of equal-width bins per code. Defaults to 20.

    Returns:
        Array ``(num_codes, num_factors)`` of mutual information in nats.
    """
    codes, factors = check_codes_and_factors(codes, factors)
    return discrete_mutual_info(discretize(codes, num_bins), factors)
