"""Keras decoder vs TFLite decoder (per quantization mode): size, latency, error.

    python benchmarks/export_tflite.py                      # fresh GuidedVAE, trained briefly
    python benchmarks/export_tflite.py --train-steps 0      # untrained
    python benchmarks/export_tflite.py --model runs/my-run  # a trained model

The default model is a GuidedVAE 64x64x1 with latent_dim 10 (``gvae train``'s default
architecture) trained for ``--train-steps`` Adam steps (batch 64, lr 5e-4) on the
embedded shapes data, so that weights and activations leave their initial ranges (the
quantization error grows with training). Latencies are single-image (batch 1), the
median of ``--runs`` calls after 5 warm-up calls, on this machine's CPU; the TFLite ones
include setting the input and reading the output through the LiteRT signature runner
(default threads, XNNPACK). Errors are max abs differences from the Keras model on
prior samples plus 256 encoded shapes images, as checked by the exporter.

Writes benchmarks/results/export_tflite.md.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from keras_gvae.io import write_text

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_gvae import GuidedVAE  # noqa: E402
from keras_gvae.data import shapes  # noqa: E402
from keras_gvae.export import (  # noqa: E402
    QUANTIZE_MODES,
    TFLITE_ERROR_BOUNDS,
    export_saved_model,
    export_tflite_decoder,
    export_tflite_encoder,
    load_interpreter,
)

HERE = Path(__file__).resolve().parent


def median_ms(fn, runs, warmup=5):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000.0 * statistics.median(times)


def tflite_latency_ms(path, runs=50, warmup=3, seed=0):
    """Median single-image latency of a ``.tflite`` file's ``serving_default`` signature run
    by LiteRT (set the input, invoke, read the outputs), over ``runs`` calls after ``warmup``.

    The input is one standard-normal code (a decoder's ``z``) or one uniform image (an
    encoder's ``x``), shaped by the signature with the batch axis set to 1.
    """
    interpreter = load_interpreter(path)
    runner = interpreter.get_signature_runner("serving_default")
    (name,) = interpreter.get_signature_list()["serving_default"]["inputs"]
    shape = (1, *runner.get_input_details()[name]["shape_signature"][1:])
    rng = np.random.default_rng(seed)
    one = rng.standard_normal(shape) if name == "z" else rng.random(shape)
    one = np.ascontiguousarray(one, np.float32)
    return median_ms(lambda: runner(**{name: one}), runs, warmup=warmup)


def tflite_ops(path_or_bytes) -> tuple[str, ...]:
    """Sorted names of the builtin ops a ``.tflite`` model uses (custom ops as CUSTOM:<name>)."""
    try:
        from ai_edge_litert import schema_py_generated as schema
    except ImportError:  # older LiteRT wheels
        from tensorflow.lite.python import schema_py_generated as schema
    data = (
        bytes(path_or_bytes)
        if isinstance(path_or_bytes, (bytes, bytearray))
        else Path(path_or_bytes).read_bytes()
    )
    flat = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    ops = set()
    for code in flat.operatorCodes:
        # The deprecated 8-bit field saturates at 127 (PLACEHOLDER_FOR_GREATER_OP_CODES).
        number = max(code.builtinCode, code.deprecatedBuiltinCode)
        name = names.get(number, str(number))
        if name == "CUSTOM":
            custom = (
                code.customCode.decode() if isinstance(code.customCode, bytes) else code.customCode
            )
            name = f"CUSTOM:{custom}"
        ops.add(name)
    return tuple(sorted(ops))


def build_model(args):
    if args.model:
        from keras_gvae.saving import load_model

        return load_model(args.model, compile=False), f"loaded from `{args.model}`"
    keras.utils.set_random_seed(0)
    model = GuidedVAE(input_shape=(64, 64, 1), latent_dim=10, seed=0)
    if args.train_steps:
        model.compile(optimizer=keras.optimizers.Adam(5e-4))
        history = model.fit(
            shapes.make_dataset(batch_size=64, seed=0),
            steps_per_epoch=args.train_steps,
            epochs=1,
            verbose=0,
        )
        loss = history.history["loss"][-1]
        return model, (
            f"fresh GuidedVAE(64x64x1, latent_dim=10), trained {args.train_steps} steps "
            f"(batch 64, Adam 5e-4) on the shapes data; final loss {loss:.1f}"
        )
    return model, "fresh GuidedVAE(64x64x1, latent_dim=10), untrained"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help=".keras file or run directory")
    parser.add_argument("--train-steps", type=int, default=200)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--out", default=str(HERE / "results" / "export_tflite.md"))
    args = parser.parse_args(argv)

    model, description = build_model(args)
    latent_dim = model.latent_dim
    images = shapes.ShapesData().sample_observations(256, np.random.RandomState(1))
    images = images.astype(np.float32)
    z = np.random.default_rng(0).standard_normal((1, latent_dim)).astype(np.float32)

    decode_fn = tf.function(model.decode, input_signature=[tf.TensorSpec((1, latent_dim))])
    keras_rows = [
        ("Keras `model.decode` (eager)", median_ms(lambda: model.decode(z).numpy(), args.runs)),
        ("Keras `tf.function(model.decode)`", median_ms(lambda: decode_fn(z).numpy(), args.runs)),
    ]
    decoder_bytes = sum(int(np.prod(w.shape)) * 4 for w in model.decoder.weights)

    reports = []
    with tempfile.TemporaryDirectory() as tmp:
        # TF Serving's path: the SavedModel's `decode` signature, called in-process.
        version_dir = export_saved_model(model, Path(tmp) / "saved_model")
        decode_signature = tf.saved_model.load(str(version_dir)).signatures["decode"]
        saved_bytes = sum(p.stat().st_size for p in version_dir.rglob("*") if p.is_file())
        z_tensor = tf.constant(z)
        saved_ms = median_ms(lambda: decode_signature(z=z_tensor), args.runs)
        for quantize in QUANTIZE_MODES:
            name = quantize or "none"
            reports.append(
                export_tflite_decoder(
                    model,
                    Path(tmp) / f"decoder_{name}.tflite",
                    quantize=quantize,
                    representative_data=images,
                    error_bound=math.inf,
                )
            )
        if "sub" in model.decoders():
            for quantize in (None, "dynamic", "float16"):
                name = quantize or "none"
                reports.append(
                    export_tflite_decoder(
                        model,
                        Path(tmp) / f"sub_{name}.tflite",
                        quantize=quantize,
                        which="sub",
                        representative_data=images,
                        error_bound=math.inf,
                    )
                )
        for quantize in QUANTIZE_MODES:
            name = quantize or "none"
            reports.append(
                export_tflite_encoder(
                    model,
                    Path(tmp) / f"encoder_{name}.tflite",
                    quantize=quantize,
                    representative_data=images,
                    error_bound=math.inf,
                )
            )
        latency = {r.path: tflite_latency_ms(r.path, args.runs) for r in reports}

    lines = [
        "# TFLite export: size, single-image latency, error vs Keras",
        "",
        "Written by `benchmarks/export_tflite.py` "
        f"({time.strftime('%Y-%m-%d')}; TF {tf.__version__}, Keras {keras.__version__}, "
        f"ai-edge-litert {_litert_version()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPU cores shared, {platform.machine()}).",
        "",
        f"Model: {description}.",
        "",
        f"Latency: median of {args.runs} single-image calls after warm-up. Error: max abs "
        "difference from the Keras model (decoders: pixels in [0, 1], on 64 prior samples + "
        "256 encoded shapes images; encoder: latent units, on 256 shapes images); the "
        "bound is `TFLITE_ERROR_BOUNDS` in keras_gvae/export/tflite.py. int8 = full-integer "
        "kernels with float32 input/output.",
        "",
        'Note: "dynamic" (int8 weights, float activations) makes the decoder ~40x slower: '
        "LiteRT's hybrid TRANSPOSE_CONV kernel has no fast path on x86 (a single 16x16x64 "
        "transposed conv: 14 ms hybrid vs 1.0 ms float). Prefer float16 or int8 for decoders.",
        "",
        "## Keras and SavedModel decoder",
        "",
        "| runtime | size KB | latency ms |",
        "|---|---:|---:|",
    ]
    lines += [
        f"| {name} | {decoder_bytes / 1024:.0f} (float32 weights) | {ms:.3f} |"
        for name, ms in keras_rows
    ]
    lines.append(
        f"| SavedModel `decode` signature (in-process, every signature's variables) "
        f"| {saved_bytes / 1024:.0f} (whole SavedModel) | {saved_ms:.3f} |"
    )
    decoders = [r for r in reports if r.part == "decoder"]
    lines += [
        "",
        "Speed-up of each TFLite decoder over the Keras decoder for one image "
        "(the eager `model.decode` call / the traced `tf.function`):",
        "",
    ]
    lines += [
        f"- {r.quantize or 'none'}: {keras_rows[0][1] / latency[r.path]:.1f}x / "
        f"{keras_rows[1][1] / latency[r.path]:.1f}x"
        for r in decoders
    ]
    lines += [
        "",
        "## TFLite (LiteRT interpreter)",
        "",
        "| part | quantize | size KB | latency ms | max abs error | mean abs error | bound "
        "| within |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    lines += [
        f"| {r.part} | {r.quantize or 'none'} | {r.size_bytes / 1024:.1f} | {latency[r.path]:.3f} "
        f"| {r.max_abs_error:.2e} | {r.mean_abs_error:.2e} | {_bound(r):.2g} "
        f"| {'yes' if r.max_abs_error <= _bound(r) else '**no**'} |"
        for r in reports
    ]
    text = "\n".join(lines) + "\n"
    out = Path(args.out)
    write_text(out, text)
    print(text)
    print(f"wrote {out}")


def _bound(report):
    # Measured with error_bound=inf so that every mode is reported; compared here.
    return TFLITE_ERROR_BOUNDS[report.part][report.quantize]


def _litert_version():
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ai-edge-litert")
    except PackageNotFoundError:
        return "?"


if __name__ == "__main__":
    main()
