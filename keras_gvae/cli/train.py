"""``gvae train``: train a model and write a run directory."""

from __future__ import annotations

from keras_gvae.cli.arguments import fraction, image_size, key_value, positive_int
from keras_gvae.training.config import OPTION_FIELDS, RECIPE_FIELDS, RESUME_OPTIONS

HELP = "train a (Guided-)VAE and write a run directory"


def add_arguments(parser):
    import dataclasses
    import types

    from keras_gvae.training import (
        LR_SCHEDULES,
        MODEL_NAMES,
        PRECISIONS,
        STRATEGIES,
        TrainConfig,
    )

    # The declared defaults; TrainConfig() itself would import the models to check them.
    d = types.SimpleNamespace(**{f.name: f.default for f in dataclasses.fields(TrainConfig)})
    parser.add_argument(
        "--preset",
        default=None,
        help="a named recipe from keras_gvae.presets (see --list-presets); flags "
        "given beside it override its settings. Default: the recipe registered "
        "for --model on --dataset (guided on shapes: guided-shapes), else none; "
        "'none' trains with the model's own (the paper's) defaults",
    )
    parser.add_argument(
        "--list-presets", action="store_true", help="print every preset with its settings and exit"
    )
    parser.add_argument(
        "--model",
        choices=MODEL_NAMES,
        default=d.model,
        help="guided (unsupervised Guided-VAE), supervised (Guided-VAE with "
        "--attributes), vae, or beta-vae (default: %(default)s)",
    )
    parser.add_argument(
        "--dataset",
        default=d.dataset,
        help="shapes (embedded), shapes_binary, shapes_binary_upright, mnist, "
        "dsprites, celeb_a, omniglot, or a folder of images (flat, or in class "
        "sub-folders; or a .zip of them)",
    )
    parser.add_argument(
        "--image-size",
        type=image_size,
        default=None,
        metavar="S|HxW",
        help="resize every image to this size, e.g. 64 or 64x48; the built-in networks "
        "take 28x28, or sides divisible by 16 up to 256 (default: a folder's own size when "
        "its images share one they take, else 64x64; a named dataset's own size)",
    )
    parser.add_argument(
        "--color-mode",
        choices=("auto", "grayscale", "rgb"),
        default=d.color_mode,
        help="a folder's colours: auto (grey if every image is, else RGB), grayscale or "
        "rgb (default: %(default)s)",
    )
    parser.add_argument(
        "--labels",
        choices=("auto", "folders", "none"),
        default=d.labels,
        help="a folder's labels: folders (its class sub-folders; for the evaluation's "
        "probes), none, or auto (folders when every image lies in one of two or more "
        "sub-folders, else none) (default: %(default)s)",
    )
    parser.add_argument(
        "--held-out",
        type=fraction,
        default=d.held_out,
        metavar="FRACTION",
        help="the fraction of a folder's images set aside for the evaluation and never "
        "trained on, chosen by --held-out-seed (a named dataset holds out its test split)",
    )
    parser.add_argument(
        "--held-out-seed",
        type=int,
        default=d.held_out_seed,
        help="chooses a folder's held-out images (the same with any --seed)",
    )
    parser.add_argument(
        "--attributes", default=None, help="comma-separated attribute names for --model supervised"
    )
    parser.add_argument(
        "--model-arg",
        action="append",
        type=key_value,
        default=[],
        metavar="NAME=VALUE",
        help="extra model constructor argument, repeatable, VALUE read as JSON (e.g. "
        "--model-arg joint_inhibition=true --model-arg inhibition_warmup=1000; a term in "
        'its serialized form: --model-arg \'inhibition=[{"class_name": '
        '"keras_gvae>AdversarialInhibition", "config": {"input": "mean"}}]\')',
    )
    parser.add_argument(
        "--likelihood",
        choices=("bernoulli", "gaussian"),
        default=None,
        help="default: gaussian for celeb_a, bernoulli otherwise",
    )
    parser.add_argument(
        "--data-dir", default=None, help="existing folder with local copies of the dataset's files"
    )
    parser.add_argument("--epochs", type=positive_int, default=d.epochs, help="training epochs")
    parser.add_argument(
        "--steps-per-epoch", type=positive_int, default=d.steps_per_epoch, help="batches per epoch"
    )
    parser.add_argument(
        "--batch-size", type=positive_int, default=d.batch_size, help="images per batch"
    )
    parser.add_argument(
        "--latent-dim",
        type=positive_int,
        default=d.latent_dim,
        help="latent units (GuidedVAE: 5 deformation units, the rest content)",
    )
    parser.add_argument(
        "--beta", type=float, default=None, help="KL weight (default: 1, or 4 for beta-vae)"
    )
    parser.add_argument("--learning-rate", type=float, default=d.learning_rate, help="Adam's rate")
    parser.add_argument(
        "--clip-norm",
        type=float,
        default=d.clip_norm,
        help="clip each step's gradients to this global norm (default: no clipping)",
    )
    parser.add_argument(
        "--lr-schedule",
        choices=LR_SCHEDULES,
        default=d.lr_schedule,
        help="learning-rate schedule: constant, or cosine decay to 0 over the run's "
        "steps; the schedule is saved with the model, so a finished cosine run "
        "loaded again trains at rate 0 until recompiled (default: %(default)s)",
    )
    parser.add_argument(
        "--seed", type=int, default=d.seed, help="seeds the data, weights and noise"
    )
    parser.add_argument(
        "--eval-images",
        type=positive_int,
        default=d.eval_images,
        help="held-out images for the final evaluation and pictures",
    )
    parser.add_argument(
        "--out", default=None, help="run directory (default: runs/<model>-<dataset>-<time>)"
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing --out directory, if it is a keras_gvae run (any "
        "other directory is never replaced)",
    )
    parser.add_argument(
        "--export",
        action="store_true",
        help="also write saved_model/ (TF Serving) and decoder.tflite into the run; "
        'needs the litert extra: pip install "keras_gvae[litert]"',
    )
    parser.add_argument(
        "--slim",
        action="store_true",
        help="save model.keras without optimizer state (smaller; recompile to train on)",
    )
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=d.precision,
        help="the model's dtype policy: mixed_* compute the encoder and decoder "
        "in half precision (float32 weights, losses and metrics)",
    )
    parser.add_argument(
        "--backup-every",
        type=positive_int,
        default=None,
        metavar="N",
        help="back the training state up every N steps, besides every epoch; a "
        "run killed and started again with the same command resumes from its "
        "last backup (default: every epoch only)",
    )
    parser.add_argument(
        "--save-best",
        action="store_true",
        help="also keep best.keras, the model of the epoch with the lowest "
        "held-out loss (the --eval-images sample, evaluated every epoch)",
    )
    parser.add_argument(
        "--resume",
        default=None,
        metavar="RUN_DIR",
        help="continue RUN_DIR, a finished run (to the new --epochs in all; it "
        "is replaced by the longer run once that is complete) or an interrupted "
        "one's .NAME.partial-*, with its settings and optimizer state",
    )
    parser.add_argument(
        "--strategy",
        choices=STRATEGIES,
        default=d.strategy,
        help="default (one device), mirrored (every visible GPU) or "
        "multi-worker (every machine of the TF_CONFIG environment variable, "
        "each with its GPUs; run the same command on each, the chief writes "
        "the run directory); the --batch-size is the global batch, split "
        "between the replicas (default: %(default)s)",
    )
    parser.add_argument(
        "--tensorboard",
        action="store_true",
        help="also write TensorBoard summaries every epoch into "
        "RUN_DIR/tensorboard: every loss term and the learning rate (train/), "
        "the held-out loss terms with --save-best (validation/), and the "
        "reconstructions and each decoder's traversal as images; view them "
        "with `tensorboard --logdir RUN_DIR` (pip install tensorboard; while "
        "training they are in the run's .NAME.partial-* directory)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


# The flags (argparse destinations) of the Recipe and RunOptions fields that are not named
# like them; every other field's flag is the field's name (--learning-rate: learning_rate).
FIELD_FLAGS = {"model_kwargs": "model_arg", "verbose": "quiet"}


def _flag(field):
    return FIELD_FLAGS.get(field, field)


# Flag -> field of the recipe settings a preset sets (presets.RECIPE_FIELDS: the Recipe's
# fields but the preset's own name); the other flags are the run options, --preset,
# --list-presets and --resume.
RECIPE_FLAGS = {_flag(field): field for field in RECIPE_FIELDS if field != "preset"}


def run(args):
    from keras_gvae import presets
    from keras_gvae.training import read_metrics, train

    if args.list_presets:
        for name in presets.list_presets():
            print(presets.describe(name) + "\n")
        return 0
    if args.resume:
        return _resume(args, typed_flags(args.argv))
    config = config_from_args(args)
    out = train(config, notify=_print_note, preset_changes=presets.differences(config))
    if out is None:
        return _worker_done()
    metrics = read_metrics(out)
    final = ", ".join(f"{k}={v:.3f}" for k, v in sorted(metrics["final_epoch"].items()))
    print(f"wrote {out} in {metrics['training_seconds']:.0f} s ({final})")
    return 0


def config_from_args(args):
    """The :class:`keras_gvae.training.TrainConfig` that ``gvae train`` ``args`` stand for:
    the `Recipe` of the recipe flags and the `RunOptions` of the rest.

    The preset named (or registered for ``--model`` on ``--dataset``) gives the parser its
    defaults, and ``args.argv`` is parsed again with them: a flag typed beside the preset
    wins, and ``--model-arg`` adds to (or replaces one of) the preset's model arguments."""
    from keras_gvae.training import TrainConfig

    args, preset = _with_preset_defaults(args)
    recipe = {field: getattr(args, flag) for flag, field in RECIPE_FLAGS.items()}
    recipe["model_kwargs"] = dict(args.model_arg)
    return TrainConfig(**recipe, preset=preset, **_options(args))


def _options(args):
    """The `RunOptions` fields ``args`` give, as a dict (the command line for the model card,
    the progress bar unless --quiet)."""
    options = {"command": _command_line(args.argv), "verbose": 0 if args.quiet else "auto"}
    for field in OPTION_FIELDS:
        if field not in options:
            options[field] = getattr(args, _flag(field))
    return options


def _with_preset_defaults(args):
    """``(args, preset)``: the preset ``args`` choose (None for ``--preset none`` or when no
    recipe is registered for ``--model`` on ``--dataset``) and ``args.argv`` parsed by
    ``args.command_parser`` with the preset's settings as its defaults."""
    from keras_gvae import presets

    preset = args.preset
    if preset is None:
        preset = presets.default_preset(args.model, args.dataset)
    elif preset == "none":
        preset = None
    if preset is None:
        return args, None
    settings = presets.get_preset(preset).settings  # an unknown name fails here
    flags = {field: flag for flag, field in RECIPE_FLAGS.items()}
    defaults = {flags[field]: value for field, value in settings.items()}
    # --model-arg appends to its default: the preset's arguments, then the typed ones.
    defaults["model_arg"] = list(settings.get("model_kwargs", {}).items())
    parser = args.command_parser
    parser.set_defaults(**defaults)
    again = parser.parse_args(args.argv[1:])  # argv[0] is the command, "train"
    again.argv = args.argv
    return again, preset


def _resume(args, given):
    from keras_gvae import presets
    from keras_gvae.training import read_metrics, resume_config, train

    # A resumed run keeps its recipe (but --epochs) and the directory it writes.
    settings = {_flag(field) for field in RECIPE_FIELDS + OPTION_FIELDS}
    may_change = {_flag(field) for field in RESUME_OPTIONS} | {"epochs", "resume"}
    fixed = sorted(given & settings - may_change)
    if fixed:
        raise ValueError(
            f"--resume continues a run with its own settings; expected only --epochs beside it, "
            f"got --{fixed[0].replace('_', '-')}"
        )
    options = _options(args)
    config = resume_config(
        args.resume,
        epochs=args.epochs if "epochs" in given else None,
        **{field: options[field] for field in RESUME_OPTIONS},
    )
    out = train(config, notify=_print_note, preset_changes=presets.differences(config))
    if out is None:
        return _worker_done()
    metrics = read_metrics(out)
    print(
        f"wrote {out}, resumed from step {metrics['resumed_from_step']}, in "
        f"{metrics['training_seconds']:.0f} s"
    )
    return 0


def _print_note(parameter, text):
    """What training decided that the flags left open, naming the flag that chooses."""
    from keras_gvae.cli.main import FLAGS

    print(f"gvae train: {text} ({FLAGS.get(parameter, '--' + parameter.replace('_', '-'))})")


def _worker_done():
    print("worker done; the chief writes the run directory")
    return 0


def typed_flags(argv):
    """Destinations of the options typed in ``argv`` (``gvae train --epochs 3`` -> epochs),
    as argparse reads them (``--epo 3`` included): with every default None, an option is
    typed when its value is not (no flag of gvae train reads a typed value as None)."""
    import argparse

    parser = argparse.ArgumentParser(add_help=False)
    add_arguments(parser)
    parser.set_defaults(**dict.fromkeys(vars(parser.parse_args([]))))
    typed, _ = parser.parse_known_args(argv)  # the command's name, "train", is left over
    return {dest for dest, value in vars(typed).items() if value is not None}


def _command_line(argv):
    import shlex

    return "gvae " + " ".join(shlex.quote(a) for a in argv)
