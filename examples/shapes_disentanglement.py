"""Disentanglement on the shapes: VAE, beta-VAE, GuidedVAE and Guided-beta-VAE at one budget.

Every model trains through `gvae train`'s code at the same budget (steps x batch, learning
rate and schedule), with several seeds. Each is then measured on data it did not train on:

- held-out reconstruction, KL and negative ELBO (nats per image, 2,048 images of a stream
  seeded apart from training);
- MIG, SAP, DCI, modularity/explicitness, FactorVAE and BetaVAE scores
  (`keras_gvae.evaluation`, disentanglement_lib's definitions). ``--protocol short`` (the
  default) uses smaller sample sizes, stated in the table's header; ``--protocol full``
  uses disentanglement_lib's defaults;
- one ``mi_matrix_<model>.png`` per model (the first seed): mutual information of every unit
  with every factor.

It writes ``shapes_disentanglement.md`` (the table), ``shapes_disentanglement.json`` (every
run) and the figures into ``--out``.

Usage:
    python examples/shapes_disentanglement.py                  # about 30 min on 2 CPU cores
    python examples/shapes_disentanglement.py --full           # GPU: 5x the budget, full protocol
    python examples/shapes_disentanglement.py --data-dir DIR   # a real dSprites npz instead
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    Spec,
    add_budget_arguments,
    apply_full,
    budget,
    dump,
    flat_row,
    held_out_images,
    held_out_losses,
    summary_table,
    train_model,
    write_outputs,
)

SPECS = [
    Spec("VAE", "vae", beta=1.0),
    Spec("beta-VAE (beta 4)", "vae", beta=4.0),
    Spec("GuidedVAE (paper)", "guided", preset="guided-paper"),
    Spec("GuidedVAE", "guided", preset="guided-shapes"),
    # guided-shapes with the paper's KL (beta 1 on every unit, no content_beta).
    Spec(
        "GuidedVAE (KL on every unit)",
        "guided",
        preset="guided-shapes",
        model_kwargs={"content_beta": None},
    ),
    # beta 4 on every unit (content_beta 4 = beta adds nothing).
    Spec("Guided-beta-VAE (beta 4)", "guided", preset="guided-shapes", beta=4.0),
]

# Sample sizes per metric; "full" is disentanglement_lib's defaults.
PROTOCOLS = {
    "short": {
        "mig": {"num_train": 10000},
        "sap": {"num_train": 5000, "num_test": 2000},
        "dci": {"num_train": 2000, "num_test": 1000},
        "modularity_explicitness": {"num_train": 5000, "num_test": 2000},
        "factor_vae": {"num_train": 1000, "num_eval": 500, "num_variance_estimate": 5000},
        "beta_vae": {"num_train": 500, "num_eval": 250},
    },
    # For tests of this script only: seconds, and values too noisy to read.
    "smoke": {
        "mig": {"num_train": 200},
        "sap": {"num_train": 200, "num_test": 100},
        "dci": {"num_train": 100, "num_test": 50},
        "modularity_explicitness": {"num_train": 200, "num_test": 100},
        "factor_vae": {"num_train": 20, "num_eval": 10, "num_variance_estimate": 200},
        "beta_vae": {"num_train": 20, "num_eval": 10},
    },
    "full": {
        name: {}
        for name in ("mig", "sap", "dci", "modularity_explicitness", "factor_vae", "beta_vae")
    },
}

COLUMNS = [
    ("MIG", "metrics/mig"),
    ("FactorVAE", "metrics/factor_vae/eval_accuracy"),
    ("DCI dis.", "metrics/dci/disentanglement"),
    ("SAP", "metrics/sap"),
    ("modularity", "metrics/modularity_explicitness/modularity"),
    ("explicitness", "metrics/modularity_explicitness/explicitness_test"),
    ("BetaVAE", "metrics/beta_vae/eval_accuracy"),
    ("recon.", "heldout/reconstruction", 1),
    ("KL", "heldout/kl", 1),
    ("-ELBO", "heldout/neg_elbo", 1),
    ("train s", "train_seconds", 0),
]
FACTOR_COLUMNS = [
    (f"MIG {f}", f"mig_factor/{f}") for f in ("shape", "scale", "orientation", "pos_x", "pos_y")
]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_budget_arguments(p, "GPU setting: 50 epochs and disentanglement_lib's full protocol")
    p.add_argument(
        "--models",
        nargs="+",
        default=None,
        help="labels of the models to run (default: all: "
        + ", ".join(s.label for s in SPECS)
        + ")",
    )
    p.add_argument(
        "--learning-rate", type=float, default=1e-3, help="Adam's rate, the same for every model"
    )
    p.add_argument("--protocol", choices=tuple(PROTOCOLS), default="short")
    p.add_argument("--metric-seed", type=int, default=0)
    p.add_argument(
        "--data-dir",
        default=None,
        help="a folder with a dSprites npz: train and measure on real dSprites",
    )
    p.add_argument("--out", default="runs/examples/shapes_disentanglement")
    args = p.parse_args(argv)
    if apply_full(args):
        args.protocol = "full"
    return args


def ground_truth(args):
    if args.data_dir is None:
        from keras_gvae.data.shapes import ShapesData

        return ShapesData(), "shapes"
    from keras_gvae.data import DSpritesData

    return DSpritesData(args.data_dir), "dsprites"


def measure(model, gtd, protocol, seed):
    """Every metric of ``protocol`` on ``model``'s posterior means; flat dict."""
    from keras_gvae.evaluation import METRICS

    represent = model.representation_function()
    scores = {}
    for name, sizes in PROTOCOLS[protocol].items():
        if name in ("factor_vae", "beta_vae") and not getattr(gtd, "is_full_grid", True):
            continue  # these fix one factor and redraw the others: they need the whole grid
        start = time.perf_counter()
        value = METRICS[name](gtd, represent, seed=seed, **sizes)
        scores[f"seconds/{name}"] = time.perf_counter() - start
        if isinstance(value, dict):
            scores.update({f"{name}/{k}": float(v) for k, v in value.items()})
        else:
            scores[name] = float(value)
    return scores


def mi_figure(model, gtd, path, seed, title):
    from keras_gvae.evaluation import (
        generate_batch_factor_code,
        mig_per_factor,
        mutual_information_matrix,
        plot_mi_matrix,
    )
    from keras_gvae.visualization import unit_labels

    codes, factors = generate_batch_factor_code(
        gtd, model.representation_function(), 10000, np.random.RandomState(seed), 1000
    )
    mi = mutual_information_matrix(codes, factors)
    if path is not None:
        plot_mi_matrix(
            mi, path, code_names=unit_labels(model), factor_names=gtd.factor_names, title=title
        )
    gaps = mig_per_factor(codes, factors)
    return dict(zip(gtd.factor_names, map(float, gaps), strict=True))


def main(argv=None):
    args = parse_args(argv)
    gtd, dataset = ground_truth(args)
    specs = SPECS if args.models is None else [s for s in SPECS if s.label in args.models]
    if not specs:
        raise SystemExit(
            f"no model among {args.models}; expected labels from {[s.label for s in SPECS]}"
        )
    out = Path(args.out)
    settings = {
        **budget(args),
        "learning_rate": args.learning_rate,
        "dataset": dataset,
        "data_dir": args.data_dir,
    }
    rows = []
    for spec in specs:
        for seed in args.seeds:
            config = spec.config(seed, **settings)
            model, seconds = train_model(config)
            images, _ = held_out_images(config, 2048)
            losses = held_out_losses(model, images)
            start = time.perf_counter()
            metrics = measure(model, gtd, args.protocol, args.metric_seed)
            figure = None
            if seed == args.seeds[0]:
                slug = spec.label.split(" (")[0].replace(" ", "_").replace("-", "_").lower()
                if "(" in spec.label:
                    slug += "_" + spec.label.split("(")[1].rstrip(")").replace(" ", "")
                figure = out / f"mi_matrix_{slug}.png"
            gaps = mi_figure(
                model,
                gtd,
                figure,
                args.metric_seed,
                f"{spec.label}, seed {seed}: mutual information (nats)",
            )
            row = flat_row(
                label=spec.label,
                seed=seed,
                train_seconds=seconds,
                metric_seconds=time.perf_counter() - start,
                heldout=losses,
                metrics=metrics,
                mig_factor=gaps,
                beta=config.beta,
                preset=config.preset,
                model_kwargs=config.model_kwargs,
            )
            rows.append(row)
            print(
                dump({k: v for k, v in row.items() if not k.startswith("metrics/seconds")}),
                flush=True,
            )
            header = (
                f"# Disentanglement on {dataset}\n\n"
                f"`python examples/shapes_disentanglement.py {' '.join(argv or sys.argv[1:])}`"
                f"\n\nBudget per model: {args.epochs} epochs x {args.steps_per_epoch} steps x "
                f"{args.batch_size} images, Adam {args.learning_rate:g}; seeds {args.seeds}; "
                f"protocol `{args.protocol}` "
                f"({PROTOCOLS[args.protocol]}), metric seed {args.metric_seed}. "
                "Mean ± standard deviation over seeds. Reconstruction, KL and -ELBO are "
                "nats per image on 2,048 held-out images.\n\n"
            )
            markdown = (
                header + summary_table(rows, COLUMNS) + "\n\nMIG per factor "
                "(the gap of the two units most informative about it):\n\n"
                + summary_table(rows, FACTOR_COLUMNS)
                + "\n"
            )
            write_outputs(
                out, "shapes_disentanglement", markdown, {"args": vars(args), "runs": rows}
            )
    print(markdown)


if __name__ == "__main__":
    main()
