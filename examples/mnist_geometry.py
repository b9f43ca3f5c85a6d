r"""Do the deformation units follow geometry? GuidedVAE on real MNIST, probed with known warps.

Trains GuidedVAE on the MNIST training split (the paper's MNIST setting; `--preset` picks
the recipe) and then, on real *test* digits:

- rotates every digit by a known angle drawn uniformly in [-45, 45] degrees and reports,
  per unit, |Spearman rho| between the posterior mean and the angle;
- rescales every digit by a known factor drawn log-uniformly in [0.7, 1.3] and reports
  |rho| with the scale factor;
- draws the main- and sub-decoder traversals of one test digit;
- measures the ceiling a code of the image can reach: the applied angle adds to each digit's
  own slant, so |rho| is also reported for the orientation of the rotated image's pixel
  moments (an exact measurement of how the digit now leans), overall and per digit class,
  next to the angle unit's; and the angle unit's |rho| across angles for one digit at a time
  (the same digit turned through 19 angles), which no natural slant dilutes.

The warps use the library's bilinear `AffineSpatialTransformer` (rotation about the image
centre, zeros outside). Writes ``mnist_geometry.md``, ``mnist_geometry.json``,
``traversal_main.png`` and ``traversal_sub.png`` into ``--out``.

Usage:
    # 3 seeds, ~10 min, 2 CPU cores:
    python examples/mnist_geometry.py --data-dir ../shared/data/mnist
    # GPU: 5x the budget:
    python examples/mnist_geometry.py --data-dir ../shared/data/mnist --full
    python examples/mnist_geometry.py --model saved_models/guided_mnist \
        --data-dir ../shared/data/mnist
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    Spec,
    add_budget_arguments,
    apply_full,
    budget,
    dump,
    train_model,
    write_outputs,
)

MAX_ANGLE_DEGREES = 45.0
SCALE_RANGE = (0.7, 1.3)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_budget_arguments(p)
    p.add_argument("--data-dir", required=True, help="folder with the MNIST idx files")
    p.add_argument(
        "--model",
        default=None,
        help="a saved model (.keras or run directory) to probe instead of training",
    )
    p.add_argument("--preset", default="guided-mnist")
    p.add_argument(
        "--model-arg",
        action="append",
        default=[],
        metavar="NAME=JSON",
        help="a constructor argument on top of the preset, repeatable",
    )
    p.add_argument("--label", default=None, help="name of the model in the table")
    p.add_argument(
        "--learning-rate", type=float, default=None, help="Adam's rate (default: the preset's)"
    )
    p.add_argument("--test-digits", type=int, default=2000)
    p.add_argument("--out", default="runs/examples/mnist_geometry")
    args = p.parse_args(argv)
    apply_full(args)
    return args


def test_digits(data_dir, num, seed=0):
    from keras_gvae.data.mnist import load_mnist

    examples = load_mnist("test", data_dir=data_dir, source="local")
    images, labels = examples.images, examples.labels
    index = np.random.default_rng(seed).permutation(len(images))[:num]
    return images[index].astype(np.float32) / 255.0, labels[index]


def warp(images, angle=None, scale=None):
    """Rotates (radians, counter-clockwise as displayed) and/or rescales about the centre."""
    import tensorflow as tf

    from keras_gvae.layers.affine_spatial_transformer import (
        AffineSpatialTransformer,
        affine_theta,
    )

    n = len(images)
    theta = affine_theta(
        angle=None if angle is None else tf.constant(angle, tf.float32),
        scale_x=None if scale is None else tf.constant(scale, tf.float32),
        scale_y=None if scale is None else tf.constant(scale, tf.float32),
        size=images.shape[1:3],
    )
    assert theta.shape[0] == n
    return np.clip(AffineSpatialTransformer()(tf.constant(images), theta).numpy(), 0.0, 1.0)


def spearman(a, b):
    """|Spearman rho| of ``a`` (N,) with every column of ``b`` (N, K)."""

    def ranks(v):
        return np.argsort(np.argsort(v, axis=0), axis=0).astype(np.float64)

    ra, rb = ranks(a[:, None]), ranks(b)
    ra -= ra.mean(0)
    rb -= rb.mean(0)
    denom = np.sqrt((ra**2).sum(0) * (rb**2).sum(0))
    return np.abs((ra * rb).sum(0) / np.where(denom > 0, denom, 1.0))


def probe(model, images, seed=0):
    """Per-unit |rho| with a known rotation (``angle``) and with a known rescaling
    (``scale``) of ``images``; also the draw itself: the ``angles`` (degrees), the
    ``rotated`` images and their ``rotated_codes``."""
    rng = np.random.default_rng(seed)
    n = len(images)
    angles = rng.uniform(-MAX_ANGLE_DEGREES, MAX_ANGLE_DEGREES, n)
    scales = np.exp(rng.uniform(*np.log(SCALE_RANGE), n))
    represent = model.representation_function()
    rotated = warp(images, angle=np.radians(angles))
    codes = represent(rotated)
    rescaled = represent(warp(images, scale=scales))
    return {
        "angle": spearman(angles, codes),
        "scale": spearman(scales, rescaled),
        "angles": angles,
        "rotated": rotated,
        "rotated_codes": codes,
    }


PER_DIGIT_ANGLES = np.linspace(-MAX_ANGLE_DEGREES, MAX_ANGLE_DEGREES, 19)


def moment_orientation(images):
    """Degrees from vertical of the principal axis of each image's ink (central second
    moments): positive when the top leans left, the sign of :func:`warp`'s counter-clockwise
    angle, so a turn by ``a`` adds ``a`` to it."""
    ink = images.reshape(images.shape[:3]).astype(np.float64)
    y, x = np.mgrid[: ink.shape[1], : ink.shape[2]].astype(np.float64)
    mass = ink.sum((1, 2))
    cx = (ink * x).sum((1, 2)) / mass
    cy = (ink * y).sum((1, 2)) / mass
    dx, dy = x[None] - cx[:, None, None], y[None] - cy[:, None, None]
    mu20, mu02 = (ink * dx**2).sum((1, 2)), (ink * dy**2).sum((1, 2))
    mu11 = (ink * dx * dy).sum((1, 2))
    return np.degrees(0.5 * np.arctan2(2.0 * mu11, mu02 - mu20))


def orientation_ceiling(model, images, labels, unit, probed, per_digit=200):
    """|rho| with the applied angle of the angle unit and of the rotated images' own pixel
    orientation, overall and per class, on :func:`probe`'s draw ``probed``, and the angle
    unit's median |rho| over ``per_digit`` digits each turned through 19 angles."""
    angles = probed["angles"]
    code = probed["rotated_codes"][:, unit]
    pixels = moment_orientation(probed["rotated"])
    represent = model.representation_function()
    natural = moment_orientation(images)

    def both(keep):
        return {
            "n": int(keep.sum()),
            "unit": float(spearman(angles[keep], code[keep, None])[0]),
            "pixels": float(spearman(angles[keep], pixels[keep, None])[0]),
            "natural_slant_std": float(natural[keep].std()),
        }

    result = {"all": both(np.ones(len(images), bool))}
    for digit in range(10):
        result[str(digit)] = both(labels == digit)
    few = images[:per_digit]
    turned = np.stack(
        [
            represent(warp(few, angle=np.full(len(few), np.radians(a))))[:, unit]
            for a in PER_DIGIT_ANGLES
        ],
        axis=1,
    )
    per = np.array([spearman(PER_DIGIT_ANGLES, row[:, None])[0] for row in turned])
    result["per_digit_median"] = float(np.median(per))
    result["per_digit_fraction_above_0.8"] = float(np.mean(per >= 0.8))
    return result


def unit_names(model):
    from keras_gvae.visualization import unit_labels

    labels = unit_labels(model)
    return [labels[i] if i < len(labels) else f"z{i}" for i in range(model.latent_dim)]


def main(argv=None):
    from keras_gvae.saving import load_model
    from keras_gvae.visualization import save_png, traversal_figure

    args = parse_args(argv)
    out = Path(args.out)
    images, labels = test_digits(args.data_dir, args.test_digits)
    runs = []
    if args.model:
        models = [(args.model, None, load_model(args.model, compile=False), None)]
    else:
        models = []
        for seed in args.seeds:
            kwargs = {k: json.loads(v) for k, _, v in (a.partition("=") for a in args.model_arg)}
            label = args.label or args.preset
            config = Spec(label, "guided", preset=args.preset, model_kwargs=kwargs).config(
                seed,
                dataset="mnist",
                data_dir=args.data_dir,
                **budget(args),
                **({} if args.learning_rate is None else {"learning_rate": args.learning_rate}),
            )
            model, seconds = train_model(config)
            models.append((label, seed, model, seconds))
    lines = [
        "# Geometry of the latent units on real MNIST test digits",
        "",
        f"`python examples/mnist_geometry.py {' '.join(argv or sys.argv[1:])}`",
        "",
        f"{args.test_digits} test digits, each rotated by a known angle in "
        f"[-{MAX_ANGLE_DEGREES:.0f}, {MAX_ANGLE_DEGREES:.0f}] degrees (and, separately, "
        f"rescaled by a known factor in [{SCALE_RANGE[0]}, {SCALE_RANGE[1]}]); |Spearman rho| "
        "of every unit's posterior mean with the applied amount.",
        "",
    ]
    for name, seed, model, seconds in models:
        rho = probe(model, images)
        units = unit_names(model)
        params = list(getattr(model, "parameter_names", ()))
        row = {
            "model": name,
            "seed": seed,
            "train_seconds": seconds,
            "units": units,
            "rho_angle": rho["angle"].tolist(),
            "rho_scale": rho["scale"].tolist(),
        }
        for what in ("angle", "scale"):
            best = int(np.argmax(rho[what]))
            others = np.delete(rho[what], best)
            row[f"best_unit_{what}"] = units[best]
            row[f"best_rho_{what}"] = float(rho[what][best])
            row[f"max_other_rho_{what}"] = float(others.max())
        if "angle" in params:
            row["rotation_unit_rho"] = float(rho["angle"][params.index("angle")])
        angle_unit = params.index("angle") if "angle" in params else int(np.argmax(rho["angle"]))
        ceiling = orientation_ceiling(model, images, labels, angle_unit, rho)
        row["orientation_ceiling"] = ceiling
        runs.append(row)
        print(dump(row), flush=True)
        lines += [
            f"## {name}"
            + (f", seed {seed}" if seed is not None else "")
            + (f" ({seconds:.0f} s of training)" if seconds else ""),
            "",
            "| unit | rho(angle) | rho(scale) |",
            "|---|---:|---:|",
        ]
        lines += [
            f"| {u} | {a:.2f} | {s:.2f} |"
            for u, a, s in zip(units, rho["angle"], rho["scale"], strict=True)
        ]
        lines += [
            "",
            f"Best angle unit {row['best_unit_angle']} ({row['best_rho_angle']:.2f}; "
            f"largest other {row['max_other_rho_angle']:.2f}); best scale unit "
            f"{row['best_unit_scale']} ({row['best_rho_scale']:.2f}).",
            "",
            f"The ceiling: |rho| with the applied angle of the angle unit {units[angle_unit]} and "
            "of the rotated digit's own orientation (pixel moments), which is the applied angle "
            "plus the digit's natural slant:",
            "",
            "| digits | n | natural slant std (deg) | angle unit | pixel orientation |",
            "|---|---:|---:|---:|---:|",
        ]
        lines += [
            f"| {key} | {c['n']} | {c['natural_slant_std']:.1f} | {c['unit']:.2f} "
            f"| {c['pixels']:.2f} |"
            for key, c in ceiling.items()
            if isinstance(c, dict)
        ]
        lines += [
            "",
            f"One digit at a time, turned through {len(PER_DIGIT_ANGLES)} angles in "
            f"[-{MAX_ANGLE_DEGREES:.0f}, {MAX_ANGLE_DEGREES:.0f}]: the angle unit's median |rho| "
            f"{ceiling['per_digit_median']:.2f} over {min(200, len(images))} digits "
            f"({100 * ceiling['per_digit_fraction_above_0.8']:.0f}% of them at 0.8 or more).",
            "",
        ]
        if seed in (None, args.seeds[0]):
            panels = traversal_figure(model, x=images[:1])
            save_png(panels, out / "traversal.png")
    write_outputs(out, "mnist_geometry", "\n".join(lines), {"args": vars(args), "runs": runs})
    print("\n".join(lines))


if __name__ == "__main__":
    main()
