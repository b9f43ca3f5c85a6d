"""``gvae evaluate``: disentanglement metrics, probes, few-shot and attribute control."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from keras_gvae.cli.arguments import positive_int

HELP = "evaluate a saved model (.keras file or run directory) and write metrics.json"


def add_arguments(parser):
    parser.add_argument("model", help="a .keras file or a run directory from `gvae train`")
    parser.add_argument(
        "--dataset",
        default=None,
        help="dataset to evaluate on (default: the run's training dataset, else shapes)",
    )
    parser.add_argument(
        "--data-dir", default=None, help="folder with local copies of the dataset's files"
    )
    parser.add_argument(
        "--metrics",
        default="all",
        help="'all', or a comma-separated list of groups (disentanglement, probes, "
        "few_shot, omniglot, attributes) and single disentanglement metrics "
        "(mig, sap, dci, modularity_explicitness, factor_vae, beta_vae)",
    )
    parser.add_argument(
        "--out",
        default=None,
        help="folder for metrics.json and mi_matrix.png (default: <run>/evaluation)",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing --out folder, if it is a keras_gvae evaluation",
    )
    parser.add_argument("--seed", type=int, default=0, help="seeds the samples and classifiers")
    parser.add_argument(
        "--num-train",
        type=positive_int,
        default=None,
        help="training points per metric (default: disentanglement_lib's 10000)",
    )
    parser.add_argument(
        "--num-test",
        type=positive_int,
        default=None,
        help="test points per metric (default: disentanglement_lib's 5000)",
    )
    parser.add_argument(
        "--encode-batch-size",
        type=positive_int,
        default=1024,
        help="images per encoder call (default 1024)",
    )
    parser.add_argument(
        "--encode-precision",
        choices=("float32", "mixed_bfloat16"),
        default=None,
        help="encode the metrics' images in this dtype policy (default: the "
        "model's); mixed_bfloat16 codes differ from float32's by under 5%% of "
        "each unit's spread (tests/models/test_mixed_precision.py)",
    )


class Context:
    """What every evaluation group needs: the model, the dataset and the settings."""

    def __init__(self, model, args, dataset, out):
        self.model, self.args, self.dataset, self.out = model, args, dataset, out
        # Posterior means, encoded by a compiled function in calls of up to 1024 images.
        self.representation = model.representation_function(
            batch_size=getattr(args, "encode_batch_size", 1024),
            precision=getattr(args, "encode_precision", None),
        )

    def labelled_sample(self, num, seed, attributes=None):
        """``num`` images and labels from the dataset's training split."""
        from keras_gvae import data

        ds = data.load(
            self.dataset,
            split="train",
            data_dir=self.args.data_dir,
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

    gtd = ground_truth_data(ctx.dataset, ctx.args.data_dir)
    if gtd is None:
        return {}
    if getattr(gtd, "is_full_grid", True) is False:
        # A subset of dSprites cannot hold one factor fixed while sampling the others.
        names = [n for n in names if n not in ("factor_vae", "beta_vae")]
    scores = evaluate_disentanglement(
        gtd,
        ctx.representation,
        metrics=names,
        seed=ctx.args.seed,
        num_train=ctx.args.num_train,
        num_test=ctx.args.num_test,
    )
    num = min(ctx.args.num_train or 10000, getattr(gtd, "num_images", 10**9))
    codes, factors = generate_batch_factor_code(
        gtd, ctx.representation, num, np.random.RandomState(ctx.args.seed), 256
    )
    mi = mutual_information_matrix(codes, factors)
    plot_mi_matrix(
        mi,
        ctx.out / "mi_matrix.png",
        factor_names=gtd.factor_names,
        code_names=_unit_names(ctx.model),
        title=f"{type(ctx.model).__name__}: mutual information (nats)",
    )
    return {f"disentanglement/{k}": v for k, v in scores.items()}


def probes_group(ctx):
    from keras_gvae.evaluation import knn_probe_accuracy, linear_probe_accuracy
    from keras_gvae.registry import label_names

    n = ctx.args.num_train or 5000
    x, y = ctx.labelled_sample(n + (ctx.args.num_test or 2000), ctx.args.seed)
    codes = ctx.representation(x)
    y = y.reshape(len(y), -1)
    names = label_names(ctx.dataset, y.shape[1])
    out = {}
    for j, name in enumerate(names):
        if len(np.unique(y[:, j])) < 2:
            continue
        args = (codes[:n], y[:n, j], codes[n:], y[n:, j])
        out[f"probes/{name}/linear"] = linear_probe_accuracy(*args, seed=ctx.args.seed)
        out[f"probes/{name}/knn"] = knn_probe_accuracy(*args)
    return out


def few_shot_group(ctx):
    from keras_gvae.evaluation import few_shot_accuracy
    from keras_gvae.registry import dataset_entry

    x, y = ctx.labelled_sample(ctx.args.num_test or 2000, ctx.args.seed + 7)
    y = y.reshape(len(y), -1)[:, dataset_entry(ctx.dataset).few_shot_column]
    codes = ctx.representation(x)
    pixels = x.reshape(len(x), -1)
    n_way = min(5, len(np.unique(y)))
    out = {}
    for k_shot in (1, 5):
        for what, rep in (("latent", codes), ("pixels", pixels)):
            r = few_shot_accuracy(rep, y, n_way=n_way, k_shot=k_shot, seed=ctx.args.seed)
            out[f"few_shot/{n_way}way_{k_shot}shot/{what}"] = r["mean"]
            out[f"few_shot/{n_way}way_{k_shot}shot/{what}_ci95"] = r["ci95"]
    return out


def omniglot_group(ctx):
    from keras_gvae.data.omniglot import find_one_shot_runs
    from keras_gvae.evaluation import omniglot_one_shot

    if ctx.args.data_dir is None or ctx.model.image_shape[-1] != 1:
        return {}
    runs = find_one_shot_runs(ctx.args.data_dir)
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
    if not hasattr(model, "attribute_probabilities"):
        return {}
    n_train, n_test = ctx.args.num_train or 4000, ctx.args.num_test or 1000
    x, y = ctx.labelled_sample(n_train + n_test, ctx.args.seed + 11, attributes=model.attributes)
    report = attribute_control_report(
        x,
        y,
        ctx.representation,
        lambda z: np.asarray(model.decode(z)),
        lambda z: np.asarray(model.attribute_probabilities(z)),
        model.attribute_units,
        model.attributes,
        num_train=n_train,
        seed=ctx.args.seed,
    )
    return {
        f"attributes/{name}/{key}": value
        for name, row in report.items()
        for key, value in row.items()
    }


GROUPS = {
    "disentanglement": None,  # takes the metric names; handled in run()
    "probes": probes_group,
    "few_shot": few_shot_group,
    "omniglot": omniglot_group,
    "attributes": attributes_group,
}


def run(args):
    from keras_gvae.evaluation import METRICS
    from keras_gvae.io import atomic_directory, check_output, write_json
    from keras_gvae.saving import load_model, resolve_model_path

    model_path = resolve_model_path(args.model)
    run_dir = model_path.parent
    config = {}
    if (run_dir / "config.json").is_file():
        config = json.loads((run_dir / "config.json").read_text())
    dataset = args.dataset or config.get("dataset") or "shapes"
    if args.data_dir is None and args.dataset is None:
        args.data_dir = config.get("data_dir")
    tokens = [t.strip() for t in args.metrics.split(",") if t.strip()]
    unknown = [t for t in tokens if t != "all" and t not in GROUPS and t not in METRICS]
    if unknown or not tokens:
        raise ValueError(
            f"unknown --metrics {unknown or args.metrics!r}; expected 'all' or names from "
            f"{sorted(GROUPS) + sorted(METRICS)}"
        )
    if "all" in tokens:
        groups, names = list(GROUPS), list(METRICS)
    else:
        names = [t for t in tokens if t in METRICS] or (
            list(METRICS) if "disentanglement" in tokens else []
        )
        groups = [t for t in tokens if t in GROUPS and t != "disentanglement"]
        if names:
            groups.insert(0, "disentanglement")
    out_path = Path(args.out) if args.out else run_dir / "evaluation"
    check_output(out_path, overwrite=args.overwrite, kind="evaluation")  # before the model loads
    results = {}
    with atomic_directory(out_path, overwrite=args.overwrite, kind="evaluation") as tmp:
        model = load_model(model_path, compile=False)
        ctx = Context(model, args, dataset, tmp)
        for group in groups:
            start = time.perf_counter()
            scores = (
                disentanglement_group(ctx, names)
                if group == "disentanglement"
                else GROUPS[group](ctx)
            )
            if scores:
                results.update(scores)
                results[f"seconds/{group}"] = time.perf_counter() - start
        if not results:
            raise ValueError(
                f"none of the metrics {tokens} applies to dataset {dataset!r} and this model"
            )
        write_json(
            tmp / "metrics.json", {"model": str(model_path), "dataset": dataset, "metrics": results}
        )
    _print_table(results, sys.stdout)
    print(
        f"wrote {out_path / 'metrics.json'}"
        + (f" and {out_path / 'mi_matrix.png'}" if (out_path / "mi_matrix.png").exists() else "")
    )
    return 0


# ---------------------------------------------------------------- helpers
def _print_table(results, stream):
    width = max(len(k) for k in results)
    print(f"{'metric'.ljust(width)}  value", file=stream)
    print(f"{'-' * width}  ------", file=stream)
    for key in sorted(results):
        print(f"{key.ljust(width)}  {results[key]:.4f}", file=stream)


def _unit_names(model):
    from keras_gvae.visualization import unit_labels

    return unit_labels(model)
