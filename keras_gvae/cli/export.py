"""``gvae export``: a SavedModel for TF Serving and TFLite files for mobile."""

from __future__ import annotations

from keras_gvae.cli.arguments import output_file, positive_int

HELP = "export a saved model as a SavedModel (TF Serving) and/or .tflite files (LiteRT)"

QUANTIZE_CHOICES = ("none", "dynamic", "float16", "int8")


def add_arguments(parser):
    parser.add_argument("model", help="a .keras file or a run directory from `gvae train`")
    parser.add_argument(
        "--saved-model",
        default=None,
        metavar="DIR",
        help="TF Serving base directory; writes DIR/<version>/",
    )
    parser.add_argument(
        "--version",
        type=positive_int,
        default=1,
        help="SavedModel version sub-directory (default: %(default)s)",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace existing .tflite files and a SavedModel version directory that keras_gvae "
        "wrote (nothing else is ever replaced)",
    )
    parser.add_argument(
        "--tflite",
        default=None,
        type=output_file(".tflite"),
        metavar="FILE",
        help="write the decoder (z -> image) as a .tflite file",
    )
    parser.add_argument(
        "--tflite-sub",
        default=None,
        type=output_file(".tflite"),
        metavar="FILE",
        help="write the GuidedVAE sub-decoder (z -> image) as a .tflite file",
    )
    parser.add_argument(
        "--tflite-encoder",
        default=None,
        type=output_file(".tflite"),
        metavar="FILE",
        help="write the encoder (x -> z_mean, z_log_var) as a .tflite file",
    )
    # Checked in run() (not argparse choices) so a bad value is a ValueError -> exit code 2.
    parser.add_argument(
        "--quantize",
        default="none",
        metavar="{" + ",".join(QUANTIZE_CHOICES) + "}",
        help="quantization of the .tflite files (default: %(default)s); int8 is "
        "full-integer inside with float32 inputs and outputs",
    )
    parser.add_argument(
        "--images",
        default=None,
        metavar="FILE.npy",
        help="real images (N, H, W, C) in [0, 1]: calibrate int8 (required for "
        "the int8 encoder) and verify the .tflite files on them",
    )


def run(args):
    import numpy as np

    from keras_gvae.export import (
        export_saved_model,
        export_tflite_decoder,
        export_tflite_encoder,
        signature_names,
    )
    from keras_gvae.saving import load_model

    quantize = str(args.quantize).lower()
    if quantize not in QUANTIZE_CHOICES:
        raise ValueError(
            f"unknown --quantize {args.quantize!r}; choose one of {', '.join(QUANTIZE_CHOICES)}"
        )
    quantize = None if quantize == "none" else quantize
    if not (args.saved_model or args.tflite or args.tflite_sub or args.tflite_encoder):
        raise ValueError(
            "nothing to export: pass --saved-model DIR and/or --tflite FILE, "
            "--tflite-sub FILE, --tflite-encoder FILE"
        )
    if quantize == "int8" and args.tflite_encoder and not args.images:
        raise ValueError(
            "--quantize int8 for --tflite-encoder needs --images FILE.npy to calibrate"
        )
    if quantize == "int8" and args.tflite_sub:
        raise ValueError(
            "--quantize int8 is not offered for --tflite-sub (quantized sampling coordinates move "
            "pixels); use dynamic or float16"
        )
    tflite = {
        flag: path
        for flag, path in (
            ("--tflite", args.tflite),
            ("--tflite-sub", args.tflite_sub),
            ("--tflite-encoder", args.tflite_encoder),
        )
        if path
    }
    _check_outputs(args, tflite)
    images = None
    if args.images:
        try:
            images = np.load(args.images).astype(np.float32)
        except (OSError, ValueError) as err:
            raise ValueError(f"--images {args.images}: cannot read a .npy array ({err})") from err

    model = load_model(args.model, compile=False)
    if args.tflite_sub and "sub" not in model.decoders():
        raise ValueError(
            f"--tflite-sub: {type(model).__name__} has no sub-decoder (GuidedVAE models do)"
        )

    if args.saved_model:
        out = export_saved_model(
            model, args.saved_model, version=args.version, overwrite=args.overwrite
        )
        print(f"wrote SavedModel {out} (signatures: {', '.join(signature_names(model))})")
    reports = []
    common = {"quantize": quantize, "overwrite": args.overwrite}
    if args.tflite:
        reports.append(
            export_tflite_decoder(model, args.tflite, representative_data=images, **common)
        )
    if args.tflite_sub:
        reports.append(
            export_tflite_decoder(
                model, args.tflite_sub, representative_data=images, which="sub", **common
            )
        )
    if args.tflite_encoder:
        reports.append(
            export_tflite_encoder(model, args.tflite_encoder, representative_data=images, **common)
        )
    if reports:
        print(_table(reports))
    return 0


def _check_outputs(args, tflite):
    """Every output is writable, distinct and not the model itself, before anything is loaded."""
    from pathlib import Path

    from keras_gvae.io import check_output

    seen = {}
    for flag, path in tflite.items():
        key = Path(path).resolve()
        if key in seen:
            raise ValueError(f"{seen[key]} and {flag} name the same file {path}; give each its own")
        seen[key] = flag
        check_output(path, overwrite=args.overwrite)
    if tflite:
        from keras_gvae.export.tflite import require_litert

        require_litert()
    if args.saved_model:
        target = Path(args.saved_model) / str(args.version)
        check_output(target, overwrite=args.overwrite, kind="saved_model")


def _table(reports):
    header = ("file", "part", "quantize", "size KB", "max abs error", "bound")
    rows = [
        (
            str(r.path),
            r.part,
            r.quantize or "none",
            f"{r.size_bytes / 1024:.1f}",
            f"{r.max_abs_error:.2e}",
            f"{r.error_bound:.2g}",
        )
        for r in reports
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in [header, *rows]
    )
