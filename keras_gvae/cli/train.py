"""``gvae train``: train a model and write a run directory."""

from __future__ import annotations

from keras_gvae.cli.arguments import key_value, positive_int

HELP = "train a (Guided-)VAE and write a run directory"


def add_arguments(parser):
    import dataclasses
    import types

    from keras_gvae.training import LR_SCHEDULES, MODEL_NAMES, TrainConfig

    # The declared defaults; TrainConfig() itself would import the models to check them.
    d = types.SimpleNamespace(**{f.name: f.default for f in dataclasses.fields(TrainConfig)})
    parser.add_argument("--model", choices=MODEL_NAMES, default=d.model,
                        help="guided (unsupervised Guided-VAE), supervised (Guided-VAE with "
                        "--attributes), vae, or beta-vae (default: %(default)s)")
    parser.add_argument("--dataset", default=d.dataset,
                        help="shapes (embedded), shapes_binary, shapes_binary_upright, mnist, "
                        "dsprites, celeb_a, omniglot, or a folder of images")
    parser.add_argument("--attributes", default=None,
                        help="comma-separated attribute names for --model supervised")
    parser.add_argument("--model-arg", action="append", type=key_value, default=[], metavar="NAME=VALUE",
                        help="extra model constructor argument, repeatable (e.g. --model-arg "
                        "joint_inhibition=true --model-arg mmd_weight=1000)")
    parser.add_argument("--likelihood", choices=("bernoulli", "gaussian"), default=None,
                        help="default: gaussian for celeb_a, bernoulli otherwise")
    parser.add_argument("--data-dir", default=None,
                        help="existing folder with local copies of the dataset's files")
    parser.add_argument("--epochs", type=positive_int, default=d.epochs, help="training epochs")
    parser.add_argument("--steps-per-epoch", type=positive_int, default=d.steps_per_epoch,
                        help="batches per epoch")
    parser.add_argument("--batch-size", type=positive_int, default=d.batch_size,
                        help="images per batch")
    parser.add_argument("--latent-dim", type=positive_int, default=d.latent_dim,
                        help="latent units (GuidedVAE: 5 deformation units, the rest content)")
    parser.add_argument("--beta", type=float, default=None,
                        help="KL weight (default: 1, or 4 for beta-vae)")
    parser.add_argument("--learning-rate", type=float, default=d.learning_rate, help="Adam's rate")
    parser.add_argument("--clip-norm", type=float, default=d.clip_norm,
                        help="clip each step's gradients to this global norm (default: no clipping)")
    parser.add_argument("--lr-schedule", choices=LR_SCHEDULES, default=d.lr_schedule,
                        help="learning-rate schedule: constant, or cosine decay to 0 over the run's "
                             "steps; the schedule is saved with the model, so a finished cosine run "
                             "loaded again trains at rate 0 until recompiled (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=d.seed, help="seeds the data, weights and noise")
    parser.add_argument("--eval-images", type=positive_int, default=d.eval_images,
                        help="held-out images for the final evaluation and pictures")
    parser.add_argument("--out", default=None, help="run directory (default: runs/<model>-<dataset>-<time>)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing --out directory, if it is a keras_gvae run (any "
                        "other directory is never replaced)")
    parser.add_argument("--export", action="store_true",
                        help="also write saved_model/ (TF Serving) and decoder.tflite into the run; "
                        'needs the litert extra: pip install "keras_gvae[litert]"')
    parser.add_argument("--slim", action="store_true",
                        help="save model.keras without optimizer state (smaller; recompile to train on)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args):
    from keras_gvae.training import TrainConfig, read_metrics, train

    config = TrainConfig(
        model=args.model, dataset=args.dataset, data_dir=args.data_dir, epochs=args.epochs,
        steps_per_epoch=args.steps_per_epoch, batch_size=args.batch_size,
        latent_dim=args.latent_dim, beta=args.beta, learning_rate=args.learning_rate,
        clip_norm=args.clip_norm, lr_schedule=args.lr_schedule, seed=args.seed, out=args.out, overwrite=args.overwrite, attributes=args.attributes,
        model_kwargs=dict(args.model_arg),
        likelihood=args.likelihood, export=args.export, eval_images=args.eval_images,
        slim=args.slim, command=_command_line(args.argv),
        verbose=0 if args.quiet else "auto",
    )
    out = train(config)
    metrics = read_metrics(out)
    final = ", ".join(f"{k}={v:.3f}" for k, v in sorted(metrics["final_epoch"].items()))
    print(f"wrote {out} in {metrics['training_seconds']:.0f} s ({final})")
    return 0


def _command_line(argv):
    import shlex

    return "gvae " + " ".join(shlex.quote(a) for a in argv)
