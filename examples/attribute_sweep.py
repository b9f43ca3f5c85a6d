r"""Draw what each excited unit of a supervised Guided-VAE run does to held-out images.

Each unit is swept between the mean code of the attribute's negatives and of its positives
(the two values `gvae evaluate --metrics attributes` uses for the control rate), on
``--images`` fresh images of the run's embedded shapes variant.

Usage:
    python examples/attribute_sweep.py saved_models/supervised_position \
        --out docs/attribute_sweep_position.png
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="a `gvae train --model supervised` run directory")
    parser.add_argument("--out", required=True, help="PNG file to write")
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--steps", type=int, default=7)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    from keras_gvae.data import shapes
    from keras_gvae.evaluation.attribute_control import unit_sweep_values
    from keras_gvae.saving import load_model
    from keras_gvae.visualization import attribute_sweep_figure, save_png

    run = Path(args.run)
    model = load_model(run, compile=False)
    dataset = json.loads((run / "config.json").read_text())["dataset"]
    if dataset not in shapes.VARIANTS:
        raise SystemExit(
            f"{run} was trained on {dataset!r}; this example draws the embedded shapes "
            f"variants only ({', '.join(shapes.VARIANTS)})"
        )
    batch = shapes.make_dataset(
        batch_size=2000,
        seed=args.seed,
        attributes=model.attributes,
        factor_values=shapes.VARIANTS[dataset],
    ).take(1)
    x, y = (t.numpy() for t in next(iter(batch)))
    codes = np.asarray(model.encode(x)[0])
    ranges = unit_sweep_values(codes, y, model.attribute_units)
    save_png(attribute_sweep_figure(model, x[: args.images], ranges, steps=args.steps), args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
