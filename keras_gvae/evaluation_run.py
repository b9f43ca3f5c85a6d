"""`evaluate_model`: every evaluation of ``gvae evaluate`` on a trained model, as a function.

The application layer above `keras_gvae.evaluation` (pure metrics of codes and factors): it
loads the dataset, encodes it with the model and runs the metric groups, as
`keras_gvae.training` runs ``gvae train``.

The groups: the disentanglement metrics on the dataset's ground-truth factors (and the
mutual-information picture), linear and k-NN probes of the labels, few-shot classification,
Lake's Omniglot one-shot runs, the supervised model's attribute control, and the negative
ELBO of held-out images. Each group applies where the dataset and the model allow it
(`keras_gvae.registry` says what a dataset offers) and is skipped otherwise, with the reason
(``evaluate_model(..., return_skipped=True)``).

The dataset is a `keras_gvae.data.load` name or a folder of images (a ``gvae train`` run's
own, read as the run read it: ``Settings.load_options``); a folder's labels are its class
sub-folders, if it has them.

Example:
>>> from keras_gvae.evaluation_run import Settings, evaluate_model
>>> settings = Settings(num_train=2000)
>>> scores = evaluate_model(model, "shapes", "mig,probes", settings)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np

# The label column of a folder of images: the class sub-folder.
FOLDER_LABEL = "class"


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
        load_options: dict, how to read the dataset: keyword arguments of
            `keras_gvae.data.load` (e.g. ``image_size``) or, for a folder of images, of
            `keras_gvae.data.from_directory` (``image_size``, ``color_mode``, ``labels``,
            ``held_out``, ``split_seed``: a run's, see ``gvae evaluate``).
    """

    data_dir: str | None = None
    seed: int = 0
    num_train: int | None = None
    num_test: int | None = None
    encode_batch_size: int = 1024
    encode_precision: str | None = None
    load_options: dict = dataclasses.field(default_factory=dict)


class Skipped(Exception):
    """An evaluation group that does not apply to this dataset or model; says why."""


class Context:
    """What every evaluation group needs: the model, the dataset and the settings."""

    def __init__(self, model, settings, dataset, out):
        self.model, self.settings, self.dataset, self.out = model, settings, dataset, out
        # Posterior means, encoded by a compiled function in calls of up to 1024 images.
        self.representation = model.representation_function(
            batch_size=settings.encode_batch_size, precision=settings.encode_precision
        )

    @property
    def is_folder(self):
        from keras_gvae.registry import DATASETS

        return self.dataset not in DATASETS and Path(self.dataset).exists()

    def read(self, seed, split="train", attributes=None):
        """Batches of 256 of the dataset's ``split`` ("train"; "test"...; of a folder, every
        image for "train" and the held-out ones for "held_out")."""
        from keras_gvae import data

        options = dict(self.settings.load_options)
        if self.is_folder:
            held_out = options.pop("held_out", None)
            if split == "held_out":
                options.update(held_out=held_out, subset="held_out")
            return data.from_directory(self.dataset, batch_size=256, seed=seed, **options)
        return data.load(
            self.dataset,
            split=split,
            data_dir=self.settings.data_dir,
            batch_size=256,
            seed=seed,
            attributes=attributes,
            **options,
        )

    def labelled_sample(self, num, seed, attributes=None):
        """Up to ``num`` images and labels from the dataset's training split (of a folder,
        all its images): fewer when it has fewer, each image once."""
        ds = self.read(seed, attributes=attributes)
        xs, ys = [], []
        for batch in ds.take(-(-num // 256)):
            if not isinstance(batch, tuple):
                raise Skipped(f"{self.dataset} has no class sub-folders: its images have no labels")
            xs.append(batch[0].numpy())
            ys.append(batch[1].numpy())
        return np.concatenate(xs)[:num], np.concatenate(ys)[:num]

    def label_names(self, columns):
        from keras_gvae.registry import label_names

        return [FOLDER_LABEL] if self.is_folder else label_names(self.dataset, columns)


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

    gtd = None if ctx.is_folder else ground_truth_data(ctx.dataset, ctx.settings.data_dir)
    if gtd is None:
        raise Skipped(f"{ctx.dataset} has no ground-truth factors")
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

    n, n_test = ctx.settings.num_train or 5000, ctx.settings.num_test or 2000
    x, y = ctx.labelled_sample(n + n_test, ctx.settings.seed)
    n = _train_share(len(x), n, n_test)
    codes = ctx.representation(x)
    y = y.reshape(len(y), -1)
    names = ctx.label_names(y.shape[1])
    out = {}
    for j, name in enumerate(names):
        if len(np.unique(y[:, j])) < 2:
            continue
        args = (codes[:n], y[:n, j], codes[n:], y[n:, j])
        out[f"probes/{name}/linear"] = linear_probe_accuracy(*args, seed=ctx.settings.seed)
        out[f"probes/{name}/knn"] = knn_probe_accuracy(*args)
    return out


def _train_share(available, num_train, num_test):
    """How many of ``available`` points train a probe asked for ``num_train`` and
    ``num_test``: ``num_train``, or its share of a smaller sample."""
    if available >= num_train + num_test:
        return num_train
    return max(1, min(available - 1, round(available * num_train / (num_train + num_test))))


def few_shot_group(ctx):
    from keras_gvae.evaluation import few_shot_accuracy
    from keras_gvae.registry import dataset_entry

    x, y = ctx.labelled_sample(ctx.settings.num_test or 2000, ctx.settings.seed + 7)
    column = 0 if ctx.is_folder else dataset_entry(ctx.dataset).few_shot_column
    y = y.reshape(len(y), -1)[:, column]
    # Each class of an episode needs 5 support images (the 5-shot task) and 15 queries.
    _, counts = np.unique(y, return_counts=True)
    n_way = min(5, int((counts >= 5 + 15).sum()))
    if n_way < 2:
        raise Skipped(
            f"few-shot episodes need two classes of at least 20 images; the sample of "
            f"{len(y)} images has {n_way} such classes"
        )
    codes = ctx.representation(x)
    pixels = x.reshape(len(x), -1)
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

    if ctx.model.image_shape[-1] != 1:
        raise Skipped("Omniglot's one-shot runs are grey; the model takes colour images")
    if ctx.settings.data_dir is None:
        raise Skipped("needs a data folder holding Omniglot's one-shot runs (all_runs)")
    runs = find_one_shot_runs(ctx.settings.data_dir)
    if runs is None:
        raise Skipped(f"no Omniglot one-shot runs (all_runs) in {ctx.settings.data_dir}")
    r = omniglot_one_shot(runs, ctx.representation, image_size=ctx.model.image_shape[0])
    return {
        "omniglot/one_shot_error": r["error_rate"],
        "omniglot/pixel_error": r["pixel_error_rate"],
    }


def attributes_group(ctx):
    from keras_gvae.evaluation.attribute_control import attribute_control_report

    model = ctx.model
    if not getattr(model, "attributes", None):
        raise Skipped(f"{type(model).__name__} has no attribute units")
    n_train, n_test = ctx.settings.num_train or 4000, ctx.settings.num_test or 1000
    x, y = ctx.labelled_sample(
        n_train + n_test, ctx.settings.seed + 11, attributes=model.attributes
    )
    n_train = _train_share(len(x), n_train, n_test)
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


def held_out_group(ctx):
    """The negative ELBO (reconstruction + KL, in nats per image, beta 1) of up to
    ``num_test`` (default 2000) images the model was not trained on: a folder's held-out
    images, a dataset's test split, or fresh draws of the shapes."""
    from keras_gvae.registry import dataset_entry

    if ctx.is_folder:
        if not ctx.settings.load_options.get("held_out"):
            raise Skipped(f"no held-out fraction is known for {ctx.dataset}")
        split = "held_out"
    elif ctx.dataset.startswith("shapes"):
        split = "train"  # an endless stream of fresh draws
    else:
        split = dataset_entry(ctx.dataset).test_split
        if split is None:
            raise Skipped(f"{ctx.dataset} has no test split")
    from keras_gvae.data import DatasetError

    num = ctx.settings.num_test or 2000
    try:
        ds = ctx.read(ctx.settings.seed + 13, split=split)
    except DatasetError as err:
        raise Skipped(f"the {split} split of {ctx.dataset} cannot be read ({err})") from None
    sums, count = {"reconstruction": 0.0, "kl": 0.0}, 0
    for batch in ds.take(-(-num // 256)):
        x = (batch[0] if isinstance(batch, tuple) else batch)[: num - count]
        terms = ctx.model.elbo_terms(x, *ctx.model.encode_and_sample(x))
        for key in sums:
            sums[key] += float(terms[key]) * len(x)
        count += len(x)
    means = {key: value / count for key, value in sums.items()}
    return {
        "held_out/reconstruction": means["reconstruction"],
        "held_out/kl": means["kl"],
        "held_out/negative_elbo": means["reconstruction"] + means["kl"],
        "held_out/images": float(count),
    }


GROUPS = {
    "disentanglement": None,  # takes the metric names; handled in evaluate_model
    "probes": probes_group,
    "few_shot": few_shot_group,
    "omniglot": omniglot_group,
    "attributes": attributes_group,
    "held_out": held_out_group,
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


def evaluate_model(
    model, dataset, metrics="all", settings=None, figure_dir=None, return_skipped=False
):
    """Runs the evaluation groups ``metrics`` selects (see `select`) on ``model``.

    Args:
        model: a trained keras_gvae model.
        dataset: str, a `keras_gvae.data` dataset name to sample from, or a folder of
            images (read with ``settings.load_options``).
        metrics: str, "all" (default) or comma-separated groups and metric names.
        settings: `Settings` (default: ``Settings()``).
        figure_dir: folder for ``mi_matrix.png`` (default None: no picture).
        return_skipped: bool, also return ``{group: why it was skipped}``. Default False.

    Returns:
        Flat dict of floats: ``disentanglement/mig``, ``probes/<label>/linear``,
        ``few_shot/5way_1shot/latent``, ``attributes/<name>/control_rate``,
        ``held_out/negative_elbo``... and ``seconds/<group>`` for every group that applied
        (and the skipped groups' reasons, with ``return_skipped``).

    Raises:
        ValueError: an unknown metric name, or none of them applies to ``dataset`` and
            this model.
    """
    groups, names = select(metrics)
    ctx = Context(
        model, settings or Settings(), dataset, None if figure_dir is None else Path(figure_dir)
    )
    results, skipped = {}, {}
    for group in groups:
        start = time.perf_counter()
        try:
            scores = (
                disentanglement_group(ctx, names)
                if group == "disentanglement"
                else GROUPS[group](ctx)
            )
        except Skipped as why:
            skipped[group] = str(why)
            continue
        if scores:
            results.update(scores)
            results[f"seconds/{group}"] = time.perf_counter() - start
    if not results:
        reasons = "; ".join(f"{group}: {why}" for group, why in skipped.items())
        raise ValueError(
            f"none of the metrics {metrics!r} applies to dataset {dataset!r} and this model"
            + (f" ({reasons})" if reasons else "")
        )
    return (results, skipped) if return_skipped else results
