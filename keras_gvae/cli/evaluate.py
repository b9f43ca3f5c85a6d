"""``gvae evaluate``: disentanglement metrics, probes, few-shot and attribute control."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from keras_gvae.cli.arguments import ENCODE_PRECISIONS, positive_int

HELP = "evaluate a saved model (.keras file or run directory) and write metrics.json"


def add_arguments(parser):
    parser.add_argument("model", help="a .keras file or a run directory from `gvae train`")
    parser.add_argument(
        "--dataset",
        default=None,
        help="dataset to evaluate on, a name or a folder of images (default: the run's "
        "training dataset, read as it was: a folder's size, colours, labels and held-out "
        "images; else shapes)",
    )
    parser.add_argument(
        "--data-dir", default=None, help="folder with local copies of the dataset's files"
    )
    parser.add_argument(
        "--metrics",
        default="all",
        help="'all', or a comma-separated list of groups (disentanglement, probes, "
        "few_shot, omniglot, attributes) and single disentanglement metrics "
        "(mig, sap, dci, modularity_explicitness, factor_vae, beta_vae)",
    )
    parser.add_argument(
        "--out",
        default=None,
        help="folder for metrics.json and mi_matrix.png (default: <run>/evaluation)",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing --out folder, if it is a keras_gvae evaluation",
    )
    parser.add_argument("--seed", type=int, default=0, help="seeds the samples and classifiers")
    parser.add_argument(
        "--num-train",
        type=positive_int,
        default=None,
        help="training points per metric (default: disentanglement_lib's 10000)",
    )
    parser.add_argument(
        "--num-test",
        type=positive_int,
        default=None,
        help="test points per metric (default: disentanglement_lib's 5000)",
    )
    parser.add_argument(
        "--encode-batch-size",
        type=positive_int,
        default=1024,
        help="images per encoder call (default 1024)",
    )
    parser.add_argument(
        "--encode-precision",
        choices=ENCODE_PRECISIONS,
        default=None,
        help="encode the metrics' images in this dtype policy (default: the "
        "model's); mixed_bfloat16 codes differ from float32's by under 5%% of "
        "each unit's spread (tests/models/test_mixed_precision.py)",
    )


def run(args):
    from keras_gvae.evaluation_run import Settings, evaluate_model, select
    from keras_gvae.io import atomic_directory, check_output, write_json
    from keras_gvae.saving import load_model, resolve_model_path
    from keras_gvae.training.run_dir import RunDirectory

    model_path = resolve_model_path(args.model)
    run_dir = model_path.parent
    run = RunDirectory(run_dir)
    config = run.config() if (run_dir / run.CONFIG).is_file() else {}
    dataset = args.dataset or config.get("dataset") or "shapes"
    if args.data_dir is None and args.dataset is None:
        args.data_dir = config.get("data_dir")
    select(args.metrics)  # a bad name is refused before the model loads
    settings = Settings(
        load_options=_load_options(dataset, config),
        data_dir=args.data_dir,
        seed=args.seed,
        num_train=args.num_train,
        num_test=args.num_test,
        encode_batch_size=args.encode_batch_size,
        encode_precision=args.encode_precision,
    )
    out_path = Path(args.out) if args.out else run_dir / "evaluation"
    check_output(out_path, overwrite=args.overwrite, kind="evaluation")  # before the model loads
    with atomic_directory(out_path, overwrite=args.overwrite, kind="evaluation") as tmp:
        model = load_model(model_path, compile=False)
        results, skipped = evaluate_model(
            model, dataset, args.metrics, settings, figure_dir=tmp, return_skipped=True
        )
        write_json(
            tmp / "metrics.json",
            {"model": str(model_path), "dataset": dataset, "metrics": results, "skipped": skipped},
        )
    if args.out is None and model_path.name == "model.keras" and (run_dir / run.CARD).is_file():
        # The run's own evaluation: its model card states the metrics.
        from keras_gvae.training.card import with_evaluation

        command = "gvae " + shlex.join(getattr(args, "argv", None) or ["evaluate", args.model])
        run.write_card(with_evaluation(run.card(), results, command))
    _print_table(results, sys.stdout)
    for group, why in skipped.items():
        print(f"skipped {group}: {why}")
    print(
        f"wrote {out_path / 'metrics.json'}"
        + (f" and {out_path / 'mi_matrix.png'}" if (out_path / "mi_matrix.png").exists() else "")
    )
    return 0


# ---------------------------------------------------------------- helpers
def _load_options(dataset, config):
    """How to read ``dataset`` as the run (its config.json, ``config``) read it: the image
    size of a named dataset; for a folder of images also the colours, labels and held-out
    fraction (of a run from before they were recorded: decided again from the files)."""
    from keras_gvae.training import TrainConfig, resolve_data
    from keras_gvae.training.config import is_folder

    size = config.get("image_size")
    if not is_folder(dataset):
        return {"image_size": tuple(size)} if size and dataset == config.get("dataset") else {}
    fields = ("image_size", "color_mode", "labels", "held_out", "held_out_seed")
    own = dataset == config.get("dataset")
    settings = {k: config[k] for k in fields if own and config.get(k) is not None}
    if not own:  # another folder, read at the size and in the colours the model takes
        if size:
            settings["image_size"] = tuple(size)
        if config.get("color_mode") in ("grayscale", "rgb"):
            settings["color_mode"] = config["color_mode"]
    if own and "labels" not in config:
        settings["labels"] = "folders"  # runs from before held out nothing
    read = resolve_data(TrainConfig(model="vae", dataset=dataset, batch_size=1, **settings))
    options = {
        "image_size": read.image_size,
        "color_mode": read.color_mode,
        "labels": "inferred" if read.labels == "folders" else None,
    }
    if own and "held_out" in config:
        options.update(held_out=read.held_out, split_seed=read.held_out_seed)
    return options


def _print_table(results, stream):
    width = max(len(k) for k in results)
    print(f"{'metric'.ljust(width)}  value", file=stream)
    print(f"{'-' * width}  ------", file=stream)
    for key in sorted(results):
        print(f"{key.ljust(width)}  {results[key]:.4f}", file=stream)
