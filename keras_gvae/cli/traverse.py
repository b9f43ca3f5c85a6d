"""``gvae traverse``: draw the latent traversal of a saved model."""

from __future__ import annotations

HELP = "draw the latent traversal of a saved model (.keras file or run directory)"


def add_arguments(parser):
    parser.add_argument("model", help="a .keras file or a run directory from `gvae train`")
    parser.add_argument("--out", required=True, help="PNG file to write")
    parser.add_argument("--min", type=float, default=-2.5, help="lowest value (default: %(default)s)")
    parser.add_argument("--max", type=float, default=2.5, help="highest value (default: %(default)s)")
    parser.add_argument("--steps", type=int, default=9, help="values per row (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the reference shape image")


def run(args):
    import numpy as np

    from keras_gvae import visualization
    from keras_gvae.saving import load_model

    model = load_model(args.model, compile=False)
    reference = None
    if model.image_shape == (64, 64, 1):
        from keras_gvae.data import shapes

        reference = shapes.ShapesData().sample_observations(1, np.random.RandomState(args.seed))
    values = np.linspace(args.min, args.max, args.steps)
    visualization.save_png(visualization.traversal_figure(model, x=reference, values=values), args.out)
    print(f"wrote {args.out}")
    return 0
