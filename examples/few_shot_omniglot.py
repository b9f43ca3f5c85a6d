"""Lake's 20 one-shot Omniglot runs: raw pixels, VAE and GuidedVAE features.

VAE and GuidedVAE train on the Omniglot background subsets (``images_background_small1``
and ``small2``, 28x28, strokes high) at the same budget, several seeds; the 20-way one-shot
runs (``all_runs.zip``, alphabets the models never saw) are then classified by the nearest
training image in code space (posterior means, Euclidean) and in pixel space. Each error
comes with a 95% interval: a normal interval over seeds for the models, and a bootstrap over
the 400 test images for raw pixels.

Writes ``few_shot_omniglot.md`` and ``.json`` into ``--out``.

Usage:
    python examples/few_shot_omniglot.py --data-dir ../shared/data/omniglot          # ~15 min
    python examples/few_shot_omniglot.py --data-dir ../shared/data/omniglot --full   # GPU
"""

from __future__ import annotations

import argparse
import functools
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
    flat_row,
    summary_table,
    train_model,
    write_outputs,
)

SPECS = [
    Spec("VAE", "vae", beta=1.0),
    Spec("GuidedVAE", "guided", preset="guided-omniglot"),
]
COLUMNS = [("one-shot error", "error_rate"), ("train s", "train_seconds", 0)]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_budget_arguments(p)
    p.add_argument(
        "--data-dir",
        required=True,
        help="folder with images_background_small1/2.zip and all_runs.zip",
    )
    p.add_argument("--models", nargs="+", default=None)
    p.add_argument("--out", default="runs/examples/few_shot_omniglot")
    args = p.parse_args(argv)
    apply_full(args)
    return args


def background(data_dir):
    """Every background image of the two small subsets, float32 (N, 28, 28, 1) in [0, 1]."""
    from keras_gvae.data.omniglot import load_omniglot

    parts = [load_omniglot(s, data_dir=data_dir, source="local") for s in ("small1", "small2")]
    images = np.concatenate([p.images for p in parts]).astype(np.float32)
    return images / 255.0 if images.max() > 1 else images


def background_batches(images, config):
    """The background images, shuffled with the run's seed, in endless batches."""
    import tensorflow as tf

    return (
        tf.data.Dataset.from_tensor_slices(images)
        .shuffle(len(images), seed=config.seed)
        .repeat()
        .batch(config.batch_size, drop_remainder=True)
        .prefetch(2)
    )


def bootstrap_interval(runs, predictions_fn, draws=2000, seed=0):
    """95% bootstrap interval of the error over the test images of all runs."""
    wrong = np.concatenate([predictions_fn(run) != run.test_targets for run in runs])
    rng = np.random.default_rng(seed)
    means = rng.choice(wrong, size=(draws, len(wrong))).mean(1)
    return float(wrong.mean()), [
        float(np.percentile(means, 2.5)),
        float(np.percentile(means, 97.5)),
    ]


def main(argv=None):
    from scipy.spatial.distance import cdist

    from keras_gvae.evaluation.omniglot import load_one_shot_runs, one_shot_error, pixel_baseline

    args = parse_args(argv)
    runs_path = Path(args.data_dir) / "all_runs.zip"
    runs = load_one_shot_runs(runs_path, image_size=28)
    images = background(args.data_dir)
    specs = SPECS if args.models is None else [s for s in SPECS if s.label in args.models]

    def pixel_predictions(run):
        flat = lambda a: np.asarray(a).reshape(len(a), -1)  # noqa: E731
        return np.argmin(cdist(flat(run.test_images), flat(run.train_images)), axis=1)

    error, interval = bootstrap_interval(runs, pixel_predictions)
    assert abs(error - pixel_baseline(runs)["error_rate"]) < 1e-9
    rows = [flat_row(label="raw pixels", seed=None, error_rate=error, interval95=interval)]
    for spec in specs:
        for seed in args.seeds:
            config = spec.config(
                seed,
                dataset="omniglot",
                data_dir=args.data_dir,
                **budget(args),
            )
            model, seconds = train_model(
                config, functools.partial(background_batches, images, config)
            )
            result = one_shot_error(runs, model.representation_function())
            row = flat_row(
                label=spec.label, seed=seed, train_seconds=seconds, error_rate=result["error_rate"]
            )
            rows.append(row)
            print(dump(row), flush=True)
    lines = [
        "# Omniglot one-shot classification (Lake et al.'s 20 runs, 20-way 1-shot)",
        "",
        f"`python examples/few_shot_omniglot.py {' '.join(argv or sys.argv[1:])}`",
        "",
        f"Trained on {len(images)} background images (small1 + small2), {args.epochs} epochs "
        f"x {args.steps_per_epoch} steps x {args.batch_size}; seeds {args.seeds}. Nearest "
        "neighbour in code space (posterior means). Mean ± standard deviation over seeds; "
        "raw pixels with a bootstrap 95% interval over the 400 test images: "
        f"{interval[0]:.3f}-{interval[1]:.3f}.",
        "",
        summary_table(rows, COLUMNS),
        "",
    ]
    for spec in specs:
        values = [r["error_rate"] for r in rows if r["label"] == spec.label]
        if len(values) > 1:
            half = 1.96 * np.std(values, ddof=1) / np.sqrt(len(values))
            lines.append(
                f"- {spec.label}: 95% interval over seeds "
                f"{np.mean(values) - half:.3f}-{np.mean(values) + half:.3f}"
            )
    markdown = "\n".join(lines) + "\n"
    write_outputs(args.out, "few_shot_omniglot", markdown, {"args": vars(args), "runs": rows})
    print(markdown)


if __name__ == "__main__":
    main()
