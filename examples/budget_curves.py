"""Budget curves: disentanglement and reconstruction against images seen, one run per model.

Every model trains once, through `gvae train`'s code (`keras_gvae.training`), to the largest
budget asked for; at each milestone along that same run (1x, 3x, 10x, 30x the `gvae train`
default of 10 x 100 steps x 64 images = 64,000 images) a callback measures, on data the model
did not train on:

- held-out reconstruction, KL and negative ELBO (nats per image, 2,048 images of a stream
  seeded apart from training);
- MIG and its per-factor gaps on 10,000 grid points (disentanglement_lib's definition;
  the embedded renderer draws real dSprites pixel for pixel);
- the shape check (`keras_gvae.evaluation.shape_check`): how often the posterior mean's
  decoded image matches the true shape, rendered at the image's true pose, by at least 0.05
  IoU over the two other shapes, on 1,000 held-out images; and its IoU with the input.

Runs back up every epoch into their own folder under ``--out`` and are resumed by the same
command after a kill (milestones already measured are kept). It writes
``budget_curves.md`` (a table per milestone: mean ± standard deviation over seeds),
``budget_curves.json`` (every measurement) and ``budget_curves.png`` (MIG and reconstruction
against images seen, one line per model).

Usage:
    python examples/budget_curves.py                         # every model, 2 seeds, to 10x
    python examples/budget_curves.py --models VAE --seeds 0 --max-multiple 30
    python examples/budget_curves.py --full                  # GPU: to 300,000 steps (dlib)
    python examples/budget_curves.py --report                # tables and plot from the runs
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    Spec,
    dump,
    held_out_images,
    held_out_losses,
    write_outputs,
)

# The `gvae train` default budget, the unit of the curves.
UNIT_EPOCHS, STEPS_PER_EPOCH, BATCH_SIZE = 10, 100, 64
UNIT_IMAGES = UNIT_EPOCHS * STEPS_PER_EPOCH * BATCH_SIZE
# disentanglement_lib trains 300,000 steps of 64 images: 300x the unit.
FULL_MULTIPLE = 300


def _ramp(start, end, begin, stop):
    """A serialized `keras_gvae.models.Ramp` (a model argument as config.json stores it)."""
    config = {"start": start, "end": end, "begin": begin, "stop": stop}
    return {"class_name": "keras_gvae>Ramp", "config": config}


_GUIDED_SHAPES = {
    "transforms": ["uniform_scale", "rotation", "translation"],
    "max_scale": 2.0,
    "template_init": "centred",
}

SPECS = [
    Spec("VAE", "vae", beta=1.0),
    Spec("beta-VAE (beta 4)", "vae", beta=4.0),
    Spec("GuidedVAE (paper)", "guided", preset="guided-paper"),
    Spec(
        "GuidedVAE (content_beta 4)", "guided", model_kwargs={**_GUIDED_SHAPES, "content_beta": 4.0}
    ),
    Spec("GuidedVAE (content_beta 1)", "guided", model_kwargs=dict(_GUIDED_SHAPES)),
    # content_beta 4 for the first 2,000 steps, then linearly down to 1 at step 5,000.
    Spec(
        "GuidedVAE (content_beta 4 -> 1)",
        "guided",
        model_kwargs={**_GUIDED_SHAPES, "content_beta": _ramp(4.0, 1.0, 2000, 5000)},
    ),
    Spec("beta-TCVAE (beta 6)", "beta-tcvae", beta=6.0),
    # The content_beta 1 recipe on the beta-TCVAE objective, TC weight 4.
    Spec(
        "Guided-beta-TCVAE (beta 4)",
        "guided-beta-tcvae",
        beta=4.0,
        model_kwargs=dict(_GUIDED_SHAPES),
    ),
    # Hypothesis for MIG >= 0.5: at 10x the content_beta 1 recipe spreads shape over its six
    # content units (per-factor MIG gap 0.02); three content units leave it fewer to share.
    Spec(
        "GuidedVAE (content_beta 1, latent 7)",
        "guided",
        model_kwargs=dict(_GUIDED_SHAPES),
        latent_dim=7,
    ),
    # Hypotheses: the sub-decoder's gradient kept out of the content units (they serve the
    # main decoder only; the guidance shapes the deformation units), and a guidance weight
    # that decays once the latent has its structure (1 until step 3,000, 0.25 from 6,000).
    Spec(
        "GuidedVAE (content_beta 1, content_gradient 0)",
        "guided",
        model_kwargs={**_GUIDED_SHAPES, "content_gradient": 0.0},
    ),
    Spec(
        "GuidedVAE (content_beta 1, guidance 1 -> 0.25)",
        "guided",
        model_kwargs={**_GUIDED_SHAPES, "guidance_warmup": _ramp(1.0, 0.25, 3000, 6000)},
    ),
    # Hypothesis (session 24): a guide twice as strong (sub_weight 1, the default 0.5) rewards
    # the deformation units for precise geometry, which the content units repeat at 10x.
    Spec(
        "GuidedVAE (content_beta 1, sub_weight 1)",
        "guided",
        model_kwargs={**_GUIDED_SHAPES, "sub_weight": 1.0},
    ),
    # Hypothesis (session 24): more content units (eight, latent_dim 12) give the basis more
    # room for the three shapes; three (latent_dim 7) cost reconstruction and shape's gap.
    Spec(
        "GuidedVAE (content_beta 1, latent 12)",
        "guided",
        model_kwargs=dict(_GUIDED_SHAPES),
        latent_dim=12,
    ),
    # The recipe `gvae train` uses (the guided-shapes preset).
    Spec("GuidedVAE (guided-shapes)", "guided", preset="guided-shapes"),
]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=None, help="labels of the models to run")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument(
        "--milestones",
        type=int,
        nargs="+",
        default=[1, 3, 10, 30],
        help="budgets to measure at, in multiples of 64,000 images",
    )
    p.add_argument("--max-multiple", type=int, default=10, help="train up to this multiple")
    p.add_argument("--learning-rate", type=float, default=1e-3, help="Adam, every model")
    p.add_argument("--metric-seed", type=int, default=0)
    p.add_argument("--shape-images", type=int, default=1000)
    p.add_argument("--mig-points", type=int, default=10_000)
    # The budget unit (the `gvae train` default; smaller only for tests of this script).
    p.add_argument("--unit-epochs", type=int, default=UNIT_EPOCHS)
    p.add_argument("--steps-per-epoch", type=int, default=STEPS_PER_EPOCH)
    p.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    p.add_argument("--full", action="store_true", help="GPU: up to 300x (dlib's 300,000 steps)")
    p.add_argument("--report", action="store_true", help="only rebuild the outputs")
    p.add_argument(
        "--measure-run",
        metavar="RUN",
        help="measure the model.keras of a `gvae train` run directory as the milestone "
        "--multiple of --models (one label) and --seeds (one seed), instead of training",
    )
    p.add_argument("--multiple", type=int, help="with --measure-run: the run's budget")
    p.add_argument("--out", default="runs/examples/budget_curves")
    args = p.parse_args(argv)
    if args.full:
        args.max_multiple = FULL_MULTIPLE
        args.milestones = sorted(set(args.milestones) | {100, FULL_MULTIPLE})
    args.milestones = sorted(m for m in set(args.milestones) if m <= args.max_multiple)
    if args.max_multiple not in args.milestones:
        args.milestones.append(args.max_multiple)
    return args


def slug(label):
    return "".join(c if c.isalnum() else "_" for c in label.lower()).strip("_")


def measure(model, config, gtd, args):
    """Held-out losses, MIG per factor and the shape check of ``model``."""
    from keras_gvae.evaluation import mig_per_factor
    from keras_gvae.evaluation.shape_check import shape_check

    images, _ = held_out_images(config, 2048)
    losses = held_out_losses(model, images)
    represent = model.representation_function()
    factors, observations = gtd.sample(args.mig_points, np.random.RandomState(args.metric_seed))
    gaps = mig_per_factor(represent(observations), factors)
    factors, observations = gtd.sample(
        args.shape_images, np.random.RandomState(args.metric_seed + 1)
    )
    decoded = np.concatenate(
        [
            model.decode(represent(observations[i : i + 256])).numpy()
            for i in range(0, len(observations), 256)
        ]
    )
    shapes = shape_check(
        decoded,
        observations,
        factors,
        lambda f: gtd.sample_observations_from_factors(f, None),
    )
    return {
        "heldout": losses,
        "mig": float(np.mean(gaps)),
        "mig_factor": dict(zip(gtd.factor_names, map(float, gaps), strict=True)),
        "shape_check": shapes,
    }


def run_one(spec, seed, args, gtd):
    """Trains ``spec`` with ``seed`` to ``args.max_multiple``, measuring at each milestone;
    resumes its backup and keeps the milestones already measured."""
    import keras

    from keras_gvae import backup
    from keras_gvae.io import write_text
    from keras_gvae.training import build_model, make_pipeline
    from keras_gvae.training.loop import fit_resumable

    run_dir = Path(args.out) / "runs" / f"{slug(spec.label)}-s{seed}"
    run_dir.mkdir(parents=True, exist_ok=True)
    curve_path = run_dir / "curve.jsonl"
    rows = (
        [json.loads(x) for x in curve_path.read_text().splitlines()] if curve_path.exists() else []
    )
    done = {r["multiple"] for r in rows}
    todo = [m for m in args.milestones if m not in done]
    if not todo:
        return rows
    config = spec.config(
        seed,
        epochs=args.max_multiple * args.unit_epochs,
        steps_per_epoch=args.steps_per_epoch,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        verbose=0,
    )
    keras.utils.set_random_seed(config.seed)
    train = make_pipeline(config, config.seed, config.batch_size).repeat()
    model = build_model(config, tuple(int(s) for s in train.element_spec[0].shape[1:]))
    milestone_epochs = {m * args.unit_epochs: m for m in todo}
    unit_images = args.unit_epochs * args.steps_per_epoch * args.batch_size
    clock = {"start": time.perf_counter(), "train": 0.0}

    class Milestones(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            multiple = milestone_epochs.get(epoch + 1)
            if multiple is None:
                return
            clock["train"] += time.perf_counter() - clock["start"]
            start = time.perf_counter()
            # Measuring draws posterior noise: put the generators back afterwards, so the
            # run trains exactly as `gvae train` with the same settings would.
            noise = backup.seed_states(self.model)
            row = {
                "label": spec.label,
                "seed": seed,
                "multiple": multiple,
                "images": multiple * unit_images,
                "train_seconds_this_session": round(clock["train"], 1),
                **measure(self.model, config, gtd, args),
                "measure_seconds": round(time.perf_counter() - start, 1),
                "model_kwargs": config.model_kwargs,
                "beta": config.beta,
                "date": time.strftime("%Y-%m-%d %H:%M"),
            }
            backup.set_seed_states(self.model, noise)
            rows.append(row)
            write_text(curve_path, "".join(dump(r) + "\n" for r in rows))
            print(dump(row), flush=True)
            clock["start"] = time.perf_counter()

    fit_resumable(model, train, config, run_dir, callbacks=[Milestones()])
    return rows


def measure_run(spec, seed, args, gtd):
    """Adds the measurement of a `gvae train` run (``args.measure_run``) as milestone
    ``args.multiple`` of ``spec`` and ``seed`` (a run extended with ``gvae train --resume
    RUN --epochs N`` equals one run of N epochs, so its milestones make one curve)."""
    import keras

    import keras_gvae  # noqa: F401  (registers the classes model.keras names)
    from keras_gvae.io import write_text

    run = Path(args.measure_run)
    saved = json.loads((run / "config.json").read_text())
    config = spec.config(seed, learning_rate=args.learning_rate)
    ours = {k: getattr(config, k) for k in ("model", "dataset", "seed", "learning_rate")}
    if {k: saved.get(k) for k in ours} != ours or saved.get("model_kwargs") != config.model_kwargs:
        raise SystemExit(f"{run} was not trained with the settings of {spec.label!r}, seed {seed}")
    model = keras.saving.load_model(run / "model.keras")
    if getattr(model, "optimizer", None) is None:  # a --slim run: evaluate needs compile()
        model.compile(optimizer="adam")
    curve_path = Path(args.out) / "runs" / f"{slug(spec.label)}-s{seed}" / "curve.jsonl"
    rows = (
        [json.loads(x) for x in curve_path.read_text().splitlines()] if curve_path.exists() else []
    )
    rows = [r for r in rows if r["multiple"] != args.multiple]
    unit_images = args.unit_epochs * args.steps_per_epoch * args.batch_size
    rows.append(
        {
            "label": spec.label,
            "seed": seed,
            "multiple": args.multiple,
            "images": args.multiple * unit_images,
            "run": str(run),
            **measure(model, config, gtd, args),
            "model_kwargs": config.model_kwargs,
            "beta": config.beta,
            "date": time.strftime("%Y-%m-%d %H:%M"),
        }
    )
    curve_path.parent.mkdir(parents=True, exist_ok=True)
    write_text(
        curve_path, "".join(dump(r) + "\n" for r in sorted(rows, key=lambda r: r["multiple"]))
    )
    print(dump(rows[-1]), flush=True)


COLUMNS = [
    ("MIG", "mig", 3),
    ("recon. (nats)", "heldout/reconstruction", 1),
    ("KL", "heldout/kl", 1),
    ("right shape", "shape_check/right_shape", 3),
    ("IoU input", "shape_check/iou_input", 3),
    ("MIG shape", "mig_factor/shape", 2),
    ("scale", "mig_factor/scale", 2),
    ("orient.", "mig_factor/orientation", 2),
    ("pos_x", "mig_factor/pos_x", 2),
    ("pos_y", "mig_factor/pos_y", 2),
]


def flat(row):
    out = dict(row)
    for key in ("heldout", "mig_factor", "shape_check"):
        out.update({f"{key}/{k}": v for k, v in row.get(key, {}).items()})
    return out


def report(rows, args):
    """The markdown tables (one per milestone), the JSON and the plot."""
    from common import summary_table

    rows = [flat(r) for r in rows]
    unit = args.unit_epochs * args.steps_per_epoch * args.batch_size
    parts = [
        "# Budget curves on the embedded shapes\n",
        f"`python examples/budget_curves.py {' '.join(sys.argv[1:])}`\n",
        f"Budget unit: {args.unit_epochs} epochs x {args.steps_per_epoch} steps x "
        f"{args.batch_size} images = {unit:,} images (`gvae train`'s default: "
        f"{UNIT_IMAGES:,}); Adam {args.learning_rate:g} for "
        f"every model; metric seed {args.metric_seed}. Mean ± standard deviation over the "
        "seeds measured (n). Reconstruction and KL: nats per image on 2,048 held-out images; "
        f"MIG on {args.mig_points:,} grid points; the shape check on "
        f"{args.shape_images} held-out images.\n",
    ]
    for multiple in sorted({r["multiple"] for r in rows}):
        mine = [r for r in rows if r["multiple"] == multiple]
        parts.append(f"\n## {multiple}x ({multiple * unit:,} images)\n")
        parts.append(summary_table(mine, COLUMNS) + "\n")
    markdown = "\n".join(parts)
    out = Path(args.out)
    write_outputs(out, "budget_curves", markdown, {"args": vars(args), "rows": rows})
    if rows:
        plot(rows, out / "budget_curves.png")
    return markdown


def plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from keras_gvae.io import atomic_file

    fig, axes = plt.subplots(1, 3, figsize=(15, 5.6))
    keys = [
        ("mig", "MIG"),
        ("heldout/reconstruction", "held-out reconstruction (nats)"),
        ("shape_check/right_shape", "shape check (right shape)"),
    ]
    for i, label in enumerate(dict.fromkeys(r["label"] for r in rows)):
        mine = [r for r in rows if r["label"] == label]
        style = {"color": plt.cm.tab20(i % 20), "linestyle": ("-", "--", ":")[i // 20 % 3]}
        images = sorted({r["images"] for r in mine})
        for ax, (key, title) in zip(axes, keys, strict=True):
            values = [[r[key] for r in mine if r["images"] == n] for n in images]
            mean = [np.mean(v) for v in values]
            err = [np.std(v, ddof=1) if len(v) > 1 else 0.0 for v in values]
            ax.errorbar(images, mean, yerr=err, marker="o", capsize=3, label=label, **style)
            ax.set_xscale("log")
            ax.set_xlabel("training images seen")
            ax.set_title(title)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=4, fontsize=8)
    fig.tight_layout(rect=(0, 0.16, 1, 1))
    with atomic_file(path) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)


def collect(args):
    """Every measurement under ``args.out``, in the order of SPECS, then seed and budget."""
    rows = []
    for curve in (Path(args.out) / "runs").glob("*/curve.jsonl"):
        rows += [json.loads(x) for x in curve.read_text().splitlines() if x.strip()]
    order = {s.label: i for i, s in enumerate(SPECS)}
    return sorted(rows, key=lambda r: (order.get(r["label"], len(order)), r["seed"], r["images"]))


def main(argv=None):
    args = parse_args(argv)
    if not args.report:
        from keras_gvae.data.shapes import ShapesData

        specs = SPECS if args.models is None else [s for s in SPECS if s.label in args.models]
        if not specs:
            raise SystemExit(
                f"no model among {args.models}; expected labels from {[s.label for s in SPECS]}"
            )
        gtd = ShapesData()
        if args.measure_run:
            if len(specs) != 1 or len(args.seeds) != 1 or args.multiple is None:
                raise SystemExit(
                    "--measure-run takes one --models label, one --seeds and --multiple"
                )
            measure_run(specs[0], args.seeds[0], args, gtd)
            specs = []
        for seed in args.seeds if specs else ():
            for spec in specs:
                run_one(spec, seed, args, gtd)
                report(collect(args), args)
    markdown = report(collect(args), args)
    print(markdown)
    return markdown


if __name__ == "__main__":
    main()
