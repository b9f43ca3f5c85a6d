"""Digit classification from the latents of VAE and GuidedVAE on real MNIST.

Each model trains on the MNIST training split at the same budget (several seeds). Codes are
the posterior means: training codes from ``--train-codes`` images of the training split,
test codes from the whole test split. Reported: the error of a logistic regression on
standardised codes and of a 5-nearest-neighbour classifier on the raw codes and on codes
scaled to unit variance per unit (``keras_gvae.evaluation`` probes), mean and standard
deviation over seeds, and the same classifiers on raw pixels. For GuidedVAE they also run on
its content units alone ("content units" rows: the code without the deformation units).

Writes ``classification_from_latents.md`` and ``.json`` into ``--out``.

Usage:
    # ~15 min:
    python examples/classification_from_latents.py --data-dir ../shared/data/mnist
    # GPU:
    python examples/classification_from_latents.py --data-dir ../shared/data/mnist --full
"""

from __future__ import annotations

import argparse
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
    Spec("GuidedVAE", "guided", preset="guided-mnist"),
]
COLUMNS = [
    ("linear error", "linear_error"),
    ("5-NN error", "knn_error"),
    ("5-NN error, standardised codes", "knn_error_standardized"),
    ("train s", "train_seconds", 0),
]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_budget_arguments(p, "GPU setting: 50 epochs, all 60,000 codes")
    p.add_argument("--data-dir", required=True, help="folder with the MNIST idx files")
    p.add_argument("--models", nargs="+", default=None)
    p.add_argument("--train-codes", type=int, default=10000)
    p.add_argument("--test-codes", type=int, default=10000)
    p.add_argument("--out", default="runs/examples/classification_from_latents")
    args = p.parse_args(argv)
    if apply_full(args):
        args.train_codes = 60000
    return args


def split(data_dir, name, num):
    from keras_gvae.data.mnist import load_mnist

    examples = load_mnist(name, data_dir=data_dir, source="local")
    index = np.random.default_rng(0).permutation(len(examples.images))[:num]
    return examples.images[index].astype(np.float32) / 255.0, examples.labels[index]


def errors(train_codes, train_labels, test_codes, test_labels):
    from keras_gvae.evaluation import knn_probe_accuracy, linear_probe_accuracy

    args = (train_codes, train_labels, test_codes, test_labels)
    # 5-NN on codes scaled to unit variance per unit (training codes' spread), so no unit
    # weighs in the distance for its scale alone.
    spread = np.where(train_codes.std(axis=0) > 0, train_codes.std(axis=0), 1.0)
    centre = train_codes.mean(axis=0)
    scaled = ((train_codes - centre) / spread, train_labels, (test_codes - centre) / spread)
    return {
        "linear_error": 1.0 - linear_probe_accuracy(*args),
        "knn_error": 1.0 - knn_probe_accuracy(*args, k=5),
        "knn_error_standardized": 1.0 - knn_probe_accuracy(*scaled, test_labels, k=5),
    }


def main(argv=None):
    args = parse_args(argv)
    x_train, y_train = split(args.data_dir, "train", args.train_codes)
    x_test, y_test = split(args.data_dir, "test", args.test_codes)
    specs = SPECS if args.models is None else [s for s in SPECS if s.label in args.models]
    rows = []
    pixels = errors(
        x_train.reshape(len(x_train), -1), y_train, x_test.reshape(len(x_test), -1), y_test
    )
    rows.append(flat_row(label="raw pixels (784)", seed=None, **pixels))
    for spec in specs:
        for seed in args.seeds:
            config = spec.config(
                seed,
                dataset="mnist",
                data_dir=args.data_dir,
                **budget(args),
            )
            model, seconds = train_model(config)
            represent = model.representation_function()
            train_codes, test_codes = represent(x_train), represent(x_test)
            row = flat_row(
                label=spec.label,
                seed=seed,
                train_seconds=seconds,
                **errors(train_codes, y_train, test_codes, y_test),
            )
            rows.append(row)
            print(dump(row), flush=True)
            if hasattr(model, "num_deformation"):
                d = model.num_deformation
                row = flat_row(
                    label=f"{spec.label} (content units)",
                    seed=seed,
                    **errors(train_codes[:, d:], y_train, test_codes[:, d:], y_test),
                )
                rows.append(row)
                print(dump(row), flush=True)
    markdown = "\n".join(
        [
            "# Digit classification from the latents (MNIST)",
            "",
            f"`python examples/classification_from_latents.py {' '.join(argv or sys.argv[1:])}`",
            "",
            f"Budget per model: {args.epochs} epochs x {args.steps_per_epoch} steps x "
            f"{args.batch_size} images; seeds {args.seeds}. Codes: posterior means of "
            f"{args.train_codes} training-split images (classifier training) and {args.test_codes} "
            "test-split images (error). Mean ± standard deviation over seeds.",
            "",
            summary_table(rows, COLUMNS),
            "",
        ]
    )
    write_outputs(
        args.out, "classification_from_latents", markdown, {"args": vars(args), "runs": rows}
    )
    print(markdown)


if __name__ == "__main__":
    main()
