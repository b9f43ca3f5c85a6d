"""``gvae traverse``: draw the latent traversal of a saved model."""

from __future__ import annotations

from keras_gvae.cli.arguments import finite_float, output_file, positive_int

HELP = "draw the latent traversal of a saved model (.keras file, run directory or pretrained name)"


def add_arguments(parser):
    parser.add_argument(
        "model",
        help="a .keras file, a run directory from `gvae train`, or a pretrained model's name "
        "(e.g. guided_shapes)",
    )
    parser.add_argument("--out", required=True, type=output_file(".png"), help="PNG file to write")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    parser.add_argument("--min", type=finite_float, default=-2.5, help="lowest value")
    parser.add_argument("--max", type=finite_float, default=2.5, help="highest value")
    parser.add_argument("--steps", type=positive_int, default=9, help="values per row")
    parser.add_argument("--seed", type=int, default=0, help="seed of the reference shape image")


def run(args):
    import numpy as np

    from keras_gvae import visualization
    from keras_gvae.io import check_output
    from keras_gvae.pretrained import resolve_model
    from keras_gvae.saving import load_model

    check_output(args.out, overwrite=args.overwrite)  # before the model is loaded
    model = load_model(resolve_model(args.model), compile=False)
    reference = None
    if model.image_shape == (64, 64, 1):
        from keras_gvae.data import shapes

        reference = shapes.ShapesData().sample_observations(1, np.random.RandomState(args.seed))
    values = np.linspace(args.min, args.max, args.steps)
    figure = visualization.traversal_figure(model, x=reference, values=values)
    visualization.save_png(figure, args.out, overwrite=args.overwrite)
    print(f"wrote {args.out}")
    return 0
