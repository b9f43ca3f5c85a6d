"""`evaluate_model`: every evaluation of ``gvae evaluate`` on a trained model, as a function.

The groups: the disentanglement metrics on the dataset's ground-truth factors (and the
mutual-information picture), linear and k-NN probes of the labels, few-shot classification,
Lake's Omniglot one-shot runs, and the supervised model's attribute control. Each group
applies where the dataset and the model allow it (`keras_gvae.registry` says what a dataset
offers) and is skipped otherwise.

Example:
>>> from keras_gvae.evaluation.suite import Settings, evaluate_model
>>> settings = Settings(num_train=2000)
>>> scores = evaluate_model(model, "shapes", "mig,probes", settings)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np


@dataclasses.dataclass
class Settings:
    """How `evaluate_model` samples and encodes (the flags of ``gvae evaluate``).

    Args:
        data_dir: folder with the dataset's local files (None: tfds, or none needed).
        seed: int, seeds the samples and the classifiers.
        num_train, num_test: int or None, points per metric (None: each group's default,
            disentanglement_lib's 10,000 / 5,000 for the disentanglement metrics).
        encode_batch_size: int, images per encoder call.
        encode_precision: None (the model's policy) or a dtype policy to encode in.
    """

    data_dir: str | None = None
    seed: int = 0
    num_train: int | None = None
    num_test: int | None = None
    encode_batch_size: int = 1024
    encode_precision: str | None = None


class Context:
    """What every evaluation group needs: the model, the dataset and the settings."""

    def __init__(self, model, settings, dataset, out):
        self.model, self.settings, self.dataset, self.out = model, settings, dataset, out
        # Posterior means, encoded by a compiled function in calls of up to 1024 images.
        self.representation = model.representation_function(
            batch_size=settings.encode_batch_size, precision=settings.encode_precision
        )

    def labelled_sample(self, num, seed, attributes=None):
        """``num`` images and labels from the dataset's training split."""
        from keras_gvae import data

        ds = data.load(
            self.dataset,
            split="train",
            data_dir=self.settings.data_dir,
            batch_size=256,
            seed=seed,
            attributes=attributes,
        )
        xs, ys = [], []
        for x, y in ds.repeat().take(-(-num // 256)):
            xs.append(x.numpy())
            ys.append(y.numpy())
        return np.concatenate(xs)[:num], np.concatenate(ys)[:num]


# ---------------------------------------------------------------- groups
def disentanglement_group(ctx, names):
    from keras_gvae.evaluation import (
        evaluate_disentanglement,
        generate_batch_factor_code,
        mutual_information_matrix,
        plot_mi_matrix,
    )
    from keras_gvae.registry import ground_truth_data
    from keras_gvae.visualization import unit_labels

    gtd = ground_truth_data(ctx.dataset, ctx.settings.data_dir)
    if gtd is None:
        return {}
    if getattr(gtd, "is_full_grid", True) is False:
        # A subset of dSprites cannot hold one factor fixed while sampling the others.
        names = [n for n in names if n not in ("factor_vae", "beta_vae")]
    scores = evaluate_disentanglement(
        gtd,
        ctx.representation,
        metrics=names,
        seed=ctx.settings.seed,
        num_train=ctx.settings.num_train,
        num_test=ctx.settings.num_test,
    )
    num = min(ctx.settings.num_train or 10000, getattr(gtd, "num_images", 10**9))
    codes, factors = generate_batch_factor_code(
        gtd, ctx.representation, num, np.random.RandomState(ctx.settings.seed), 256
    )
    mi = mutual_information_matrix(codes, factors)
    if ctx.out is not None:
        plot_mi_matrix(
            mi,
            ctx.out / "mi_matrix.png",
            factor_names=gtd.factor_names,
            code_names=unit_labels(ctx.model),
            title=f"{type(ctx.model).__name__}: mutual information (nats)",
        )
    return {f"disentanglement/{k}": v for k, v in scores.items()}


def probes_group(ctx):
    from keras_gvae.evaluation import knn_probe_accuracy, linear_probe_accuracy
    from keras_gvae.registry import label_names

    n = ctx.settings.num_train or 5000
    x, y = ctx.labelled_sample(n + (ctx.settings.num_test or 2000), ctx.settings.seed)
    codes = ctx.representation(x)
    y = y.reshape(len(y), -1)
    names = label_names(ctx.dataset, y.shape[1])
    out = {}
    for j, name in enumerate(names):
        if len(np.unique(y[:, j])) < 2:
            continue
        args = (codes[:n], y[:n, j], codes[n:], y[n:, j])
        out[f"probes/{name}/linear"] = linear_probe_accuracy(*args, seed=ctx.settings.seed)
        out[f"probes/{name}/knn"] = knn_probe_accuracy(*args)
    return out


def few_shot_group(ctx):
    from keras_gvae.evaluation import few_shot_accuracy
    from keras_gvae.registry import dataset_entry

    x, y = ctx.labelled_sample(ctx.settings.num_test or 2000, ctx.settings.seed + 7)
    y = y.reshape(len(y), -1)[:, dataset_entry(ctx.dataset).few_shot_column]
    codes = ctx.representation(x)
    pixels = x.reshape(len(x), -1)
    n_way = min(5, len(np.unique(y)))
    out = {}
    for k_shot in (1, 5):
        for what, rep in (("latent", codes), ("pixels", pixels)):
            r = few_shot_accuracy(rep, y, n_way=n_way, k_shot=k_shot, seed=ctx.settings.seed)
            out[f"few_shot/{n_way}way_{k_shot}shot/{what}"] = r["mean"]
            out[f"few_shot/{n_way}way_{k_shot}shot/{what}_ci95"] = r["ci95"]
    return out


def omniglot_group(ctx):
    from keras_gvae.data.omniglot import find_one_shot_runs
    from keras_gvae.evaluation import omniglot_one_shot

    if ctx.settings.data_dir is None or ctx.model.image_shape[-1] != 1:
        return {}
    runs = find_one_shot_runs(ctx.settings.data_dir)
    if runs is None:
        return {}
    r = omniglot_one_shot(runs, ctx.representation, image_size=ctx.model.image_shape[0])
    return {
        "omniglot/one_shot_error": r["error_rate"],
        "omniglot/pixel_error": r["pixel_error_rate"],
    }


def attributes_group(ctx):
    from keras_gvae.evaluation.attribute_control import attribute_control_report

    model = ctx.model
    if not model.attributes:
        return {}
    n_train, n_test = ctx.settings.num_train or 4000, ctx.settings.num_test or 1000
    x, y = ctx.labelled_sample(
        n_train + n_test, ctx.settings.seed + 11, attributes=model.attributes
    )
    report = attribute_control_report(
        x,
        y,
        ctx.representation,
        lambda z: np.asarray(model.decode(z)),
        lambda z: np.asarray(model.attribute_probabilities(z)),
        model.attribute_units,
        model.attributes,
        num_train=n_train,
        seed=ctx.settings.seed,
    )
    return {
        f"attributes/{name}/{key}": value
        for name, row in report.items()
        for key, value in row.items()
    }


GROUPS = {
    "disentanglement": None,  # takes the metric names; handled in evaluate_model
    "probes": probes_group,
    "few_shot": few_shot_group,
    "omniglot": omniglot_group,
    "attributes": attributes_group,
}


def select(metrics: str):
    """``(groups, metric names)`` of a ``metrics`` string: "all", or comma-separated group
    names (`GROUPS`) and single disentanglement metrics (`METRICS`).

    Raises:
        keras_gvae.errors.ParameterError: an unknown or empty name.
    """
    from keras_gvae.errors import ParameterError
    from keras_gvae.evaluation import METRICS

    tokens = [t.strip() for t in metrics.split(",") if t.strip()]
    unknown = [t for t in tokens if t != "all" and t not in GROUPS and t not in METRICS]
    if unknown or not tokens:
        raise ParameterError(
            "metrics",
            f"unknown metrics {unknown or metrics!r}; expected 'all' or names from "
            f"{sorted(GROUPS) + sorted(METRICS)}",
        )
    if "all" in tokens:
        return list(GROUPS), list(METRICS)
    names = [t for t in tokens if t in METRICS] or (
        list(METRICS) if "disentanglement" in tokens else []
    )
    groups = [t for t in tokens if t in GROUPS and t != "disentanglement"]
    if names:
        groups.insert(0, "disentanglement")
    return groups, names


def evaluate_model(model, dataset, metrics="all", settings=None, figure_dir=None) -> dict:
    """Runs the evaluation groups ``metrics`` selects (see `select`) on ``model``.

    Args:
        model: a trained keras_gvae model.
        dataset: str, a `keras_gvae.data` dataset name to sample from.
        metrics: str, "all" (default) or comma-separated groups and metric names.
        settings: `Settings` (default: ``Settings()``).
        figure_dir: folder for ``mi_matrix.png`` (default None: no picture).

    Returns:
        Flat dict of floats: ``disentanglement/mig``, ``probes/<label>/linear``,
        ``few_shot/5way_1shot/latent``, ``attributes/<name>/control_rate``... and
        ``seconds/<group>`` for every group that applied.

    Raises:
        ValueError: an unknown metric name, or none of them applies to ``dataset`` and
            this model.
    """
    groups, names = select(metrics)
    ctx = Context(
        model, settings or Settings(), dataset, None if figure_dir is None else Path(figure_dir)
    )
    results = {}
    for group in groups:
        start = time.perf_counter()
        scores = (
            disentanglement_group(ctx, names) if group == "disentanglement" else GROUPS[group](ctx)
        )
        if scores:
            results.update(scores)
            results[f"seconds/{group}"] = time.perf_counter() - start
    if not results:
        raise ValueError(
            f"none of the metrics {metrics!r} applies to dataset {dataset!r} and this model"
        )
    return results
