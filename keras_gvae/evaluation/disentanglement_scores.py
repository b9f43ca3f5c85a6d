"""Runs several disentanglement metrics on one representation and flattens the results."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import numpy as np

from keras_gvae.evaluation.beta_vae import beta_vae_score
from keras_gvae.evaluation.code_table import DEFAULT_MAX_GRID, identity, precompute_codes
from keras_gvae.evaluation.dci import dci_from_ground_truth
from keras_gvae.evaluation.factor_vae import factor_vae_score
from keras_gvae.evaluation.mig import mig_from_ground_truth
from keras_gvae.evaluation.modularity_explicitness import (
    modularity_explicitness_from_ground_truth,
)
from keras_gvae.evaluation.sap import sap_from_ground_truth
from keras_gvae.evaluation.utils import RepresentationFn

if TYPE_CHECKING:
    from keras_gvae.data.ground_truth_data import GroundTruthData

# Every entry is called as fn(ground_truth_data, representation_fn, seed=..., **sizes) and
# returns a float or a dict of floats. Add a metric by adding an entry.
METRICS: dict[str, Callable[..., float | dict]] = {
    "mig": mig_from_ground_truth,
    "sap": sap_from_ground_truth,
    "dci": dci_from_ground_truth,
    "modularity_explicitness": modularity_explicitness_from_ground_truth,
    "factor_vae": factor_vae_score,
    "beta_vae": beta_vae_score,
}


def _metric_names(metrics: str | Iterable[str]) -> list[str]:
    if metrics == "all":
        return list(METRICS)
    names = [metrics] if isinstance(metrics, str) else list(metrics)
    unknown = [name for name in names if name not in METRICS]
    if unknown or not names:
        raise ValueError(f"Unknown metrics {unknown}; choose from {sorted(METRICS)} or 'all'.")
    return names


def evaluate_disentanglement(
    ground_truth_data: GroundTruthData,
    representation_fn: RepresentationFn,
    metrics: str | Iterable[str] = "all",
    seed: int = 0,
    num_train: int | None = None,
    num_test: int | None = None,
    cache_codes: bool | str = "auto",
    **sizes,
) -> dict[str, float]:
    """Computes the selected metrics of ``METRICS`` and returns one flat dict of floats.

    Each metric samples its own data from ``np.random.RandomState(seed)``, so its value does
    not depend on which other metrics are run. Size arguments are forwarded to every
    selected metric that has a parameter of that name and otherwise left at each metric's
    disentanglement_lib default; note that ``num_train`` counts points for MIG, SAP, DCI and
    modularity but votes/points of ``batch_size`` samples for FactorVAE and BetaVAE, whose
    evaluation size is ``num_eval`` (not ``num_test``).

    Args:
        ground_truth_data: ``GroundTruthData`` to sample from.
        representation_fn: Callable mapping observations ``(n, H, W, C)`` to codes ``(n, d)``.
        metrics: ``"all"`` (every entry of ``METRICS``), one name, or a list of names.
            Defaults to ``"all"``.
        seed: Seed of every metric. Defaults to 0.
        num_train: Training size for the metrics that take one. Defaults to ``None`` (each
            metric's default, 10000).
        num_test: Test size for SAP, DCI and modularity. Defaults to ``None`` (5000).
        cache_codes: encode the whole factor grid once and let every metric look codes up
            (:mod:`keras_gvae.evaluation.code_table`); the values are those of the
            direct computation for a *deterministic* ``representation_fn`` (such as a
            posterior mean). ``"auto"`` (default) does so when the grid has at most
            2,000,000 points and fewer than the metrics would encode; True forces it
            (for a finite grid), False never.
        **sizes: Further keyword arguments (``num_eval``, ``batch_size``,
            ``num_variance_estimate``, ``num_bins`` ...), forwarded the same way.

    Returns:
        Flat dict: a metric returning a float is stored under its name (``"mig"``,
        ``"sap"``), a metric returning a dict under ``"<name>/<key>"`` (e.g.
        ``"dci/disentanglement"``, ``"factor_vae/eval_accuracy"``).

    Raises:
        ValueError: For an unknown metric name or a size no selected metric accepts.
    """
    names = _metric_names(metrics)
    sizes = {"num_train": num_train, "num_test": num_test, **sizes}
    sizes = {key: value for key, value in sizes.items() if value is not None}
    accepted = {name: set(inspect.signature(METRICS[name]).parameters) for name in names}
    unused = sorted(set(sizes) - set().union(*accepted.values()) - {"num_train", "num_test"})
    if unused:
        raise ValueError(f"Arguments {unused} are not accepted by any of the metrics {names}.")
    grid = int(np.prod(ground_truth_data.factors_num_values))
    if cache_codes == "auto":
        cache_codes = grid <= DEFAULT_MAX_GRID and grid < _encodings(names, accepted, sizes)
    if cache_codes:
        ground_truth_data = precompute_codes(ground_truth_data, representation_fn)
        representation_fn = identity
    results: dict[str, float] = {}
    for name in names:
        kwargs = {key: value for key, value in sizes.items() if key in accepted[name]}
        value = METRICS[name](ground_truth_data, representation_fn, seed=seed, **kwargs)
        if isinstance(value, dict):
            results.update({f"{name}/{key}": float(v) for key, v in value.items()})
        else:
            results[name] = float(value)
    return results


def _encodings(names, accepted, sizes):
    """How many observations the selected metrics would encode without a code table."""

    def size(name, key):
        if key in sizes and key in accepted[name]:
            return sizes[key]
        default = inspect.signature(METRICS[name]).parameters.get(key)
        return default.default if default is not None else 0

    total = 0
    for name in names:
        if name in ("factor_vae", "beta_vae"):
            pairs = 2 if name == "beta_vae" else 1
            total += (
                pairs
                * size(name, "batch_size")
                * (size(name, "num_train") + size(name, "num_eval"))
            )
            total += size(name, "num_variance_estimate")
        else:
            total += size(name, "num_train") + size(name, "num_test")
    return total
