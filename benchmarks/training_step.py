"""Training-step throughput: Keras (float32, mixed_bfloat16) against PyTorch, in one run.

For VAE, GuidedVAE and SupervisedGuidedVAE (2 attributes) on the 28x28x1 and 64x64x3
built-in networks at ``--batch`` images, this measures, all in one process:

- images/s of Keras training steps (``model.train_on_batch`` on one batch held in memory,
  the compiled train function of ``fit``) in float32 and mixed_bfloat16: ``--windows``
  timed windows of ``--steps`` steps after ``--warmup`` warm-up steps, median over windows;
- images/s of a PyTorch CPU implementation of the same networks and losses
  (:mod:`benchmarks.torch_reference`; torch is never a package dependency), timed the same
  way, and the ratio Keras / PyTorch;
- guidance overhead: GuidedVAE / VAE and SupervisedGuidedVAE / VAE step time;
- compute efficiency: analytic FLOPs per step (2 x multiply-adds of every Conv2D,
  Conv2DTranspose and Dense layer from their shapes, x3 for forward + backward; the
  supervised step counts its two encoder/decoder passes) over the measured step time,
  against the dense matmul peak (``--matmul-size`` square float32 and bfloat16 matmuls)
  measured in the same run.

Every case runs one window in turn, round-robin (Keras and PyTorch interleaved), so slow
periods of the shared machine hit all cases alike. One JSON line is printed per figure;
the table goes to ``benchmarks/results/training_step.md`` and BENCHMARKS.md is rebuilt
(``--output PATH`` writes only that file). ``--smoke`` runs tiny sizes (a check that the
script works, not a measurement).

Usage:
    python benchmarks/training_step.py            # the full run (needs torch==2.13.0)
    python benchmarks/training_step.py --smoke --output /tmp/training_step.md
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
MODELS = ("vae", "guided", "supervised")
PRECISIONS = ("float32", "mixed_bfloat16")
ATTRIBUTES = ("a", "b")


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=10, help="steps per timed window")
    p.add_argument("--windows", type=int, default=5, help="timed windows per case (median)")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps first")
    p.add_argument("--matmul-size", type=int, default=2048)
    p.add_argument("--latent-dim", type=int, default=10)
    p.add_argument("--shapes", default="28x28x1,64x64x3", help="comma-separated HxWxC")
    p.add_argument("--no-torch", action="store_true", help="Keras only")
    p.add_argument("--smoke", action="store_true", help="tiny sizes: checks the script runs")
    p.add_argument("--output", default=None, help="write the table here only (no BENCHMARKS.md)")
    args = p.parse_args(argv)
    args.shapes = tuple(tuple(int(n) for n in s.split("x")) for s in args.shapes.split(","))
    if args.smoke:
        args.batch, args.steps, args.windows, args.warmup, args.matmul_size = 4, 1, 2, 1, 128
    return args


def emit(record):
    print(json.dumps(record), flush=True)
    return record


# ---------------------------------------------------------------------- FLOPs
def layer_flops(model):
    """2 x multiply-adds of the Conv2D, Conv2DTranspose and Dense layers, forward, per image."""
    import keras

    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2DTranspose):
            _, h, w, cin = layer.input.shape
            kh, kw, cout, _ = layer.kernel.shape
            total += 2 * kh * kw * cin * cout * h * w
        elif isinstance(layer, keras.layers.Conv2D):
            _, h, w, cout = layer.output.shape
            kh, kw, cin, _ = layer.kernel.shape
            total += 2 * kh * kw * cin * cout * h * w
        elif isinstance(layer, keras.layers.Dense):
            total += 2 * int(np.prod(layer.kernel.shape))
    return total


def step_flops(model, kind, batch):
    """Analytic FLOPs of one training step: forward x3 (forward + two backward products)."""
    heads = 2 * 2 * model.encoder.output.shape[-1] * model.latent_dim
    passes = 2 if kind == "supervised" else 1  # phase 3 encodes and decodes again
    return 3 * passes * batch * (layer_flops(model.encoder) + layer_flops(model.decoder) + heads)


def matmul_peak(size, dtype, repeats=5):
    """Best GFLOP/s of a square ``size`` matmul in ``dtype`` (TensorFlow, compiled)."""
    import tensorflow as tf

    a = tf.random.normal((size, size), dtype=tf.float32)
    a = tf.cast(a, dtype)
    f = tf.function(lambda x: tf.matmul(x, x))
    f(a).numpy()
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        f(a).numpy()
        best = max(best, 2 * size**3 / (time.perf_counter() - start) / 1e9)
    return best


# ---------------------------------------------------------------------- cases
def keras_case(kind, shape, precision, args, x, y):
    import keras

    from keras_gvae.models import VAE, GuidedVAE, SupervisedGuidedVAE

    cls = {"vae": VAE, "guided": GuidedVAE, "supervised": SupervisedGuidedVAE}[kind]
    extra = {"attributes": list(ATTRIBUTES)} if kind == "supervised" else {}
    model = cls(
        input_shape=shape,
        latent_dim=args.latent_dim,
        seed=0,
        dtype=precision,
        validate_inputs=False,
        **extra,
    )
    model.compile(optimizer=keras.optimizers.Adam(5e-4))
    labels = y if kind == "supervised" else None

    def step():
        return model.train_on_batch(x, labels, return_dict=True)["loss"]

    return model, step


def torch_case(kind, shape, args, x, y):
    import torch_reference

    return torch_reference.make_step(kind, shape, args.latent_dim, x, y)


def run(args):
    import keras
    import tensorflow as tf

    have_torch = False
    if not args.no_torch:
        try:
            import torch

            have_torch = True
            torch.manual_seed(0)
        except ImportError:
            emit({"figure": "note", "text": "torch is not installed: PyTorch rows skipped"})
    rng = np.random.RandomState(0)
    cases, flops, losses = {}, {}, {}
    for shape in args.shapes:
        x = (rng.rand(args.batch, *shape) > 0.5).astype(np.float32)
        y = (rng.rand(args.batch, len(ATTRIBUTES)) > 0.5).astype(np.float32)
        for kind in MODELS:
            for precision in PRECISIONS:
                model, step = keras_case(kind, shape, precision, args, x, y)
                cases[(kind, shape, "keras", precision)] = step
                flops[(kind, shape)] = step_flops(model, kind, args.batch)
            if have_torch:
                cases[(kind, shape, "torch", "float32")] = torch_case(kind, shape, args, x, y)
    peaks = {d: matmul_peak(args.matmul_size, getattr(tf, d)) for d in ("float32", "bfloat16")}
    for step in cases.values():
        for _ in range(args.warmup):
            step()
    times = {key: [] for key in cases}
    for _ in range(args.windows):  # round-robin: one window of every case in turn
        for key, step in cases.items():
            start = time.perf_counter()
            for _ in range(args.steps):
                loss = step()
            times[key].append((time.perf_counter() - start) / args.steps)
            losses[key] = float(loss)
    for d in peaks:  # again at the end; the better of the two
        peaks[d] = max(peaks[d], matmul_peak(args.matmul_size, getattr(tf, d)))
    del keras
    return cases, times, flops, peaks, losses


def figures(times, flops, peaks, losses, args):
    rows = []
    for d, value in peaks.items():
        rows.append(emit({"figure": "matmul_peak_gflops", "dtype": d, "value": value}))
    median = {key: statistics.median(v) for key, v in times.items()}
    for (kind, shape, framework, precision), seconds in median.items():
        key = (kind, shape, framework, precision)
        record = {
            "figure": "images_per_second",
            "model": kind,
            "shape": "x".join(map(str, shape)),
            "framework": framework,
            "precision": precision,
            "value": args.batch / seconds,
            "step_seconds": seconds,
            "windows": [args.batch / t for t in times[key]],
            "final_loss": losses[key],
            "gflops_per_step_analytic": flops[(kind, shape)] / 1e9,
            "achieved_gflops": flops[(kind, shape)] / seconds / 1e9,
        }
        peak = peaks["bfloat16" if precision == "mixed_bfloat16" else "float32"]
        record["fraction_of_matmul_peak"] = record["achieved_gflops"] / peak
        rows.append(emit(record))
        torch_key = (kind, shape, "torch", "float32")
        if framework == "keras" and torch_key in median:
            rows.append(
                emit(
                    {
                        "figure": "keras_over_torch",
                        "model": kind,
                        "shape": record["shape"],
                        "precision": precision,
                        "value": median[torch_key] / seconds,
                    }
                )
            )
        if framework == "keras" and kind != "vae":
            rows.append(
                emit(
                    {
                        "figure": "guidance_overhead",
                        "model": kind,
                        "shape": record["shape"],
                        "precision": precision,
                        "value": seconds / median[("vae", shape, "keras", precision)],
                    }
                )
            )
        if framework == "keras" and precision == "mixed_bfloat16":
            rows.append(
                emit(
                    {
                        "figure": "bfloat16_speedup",
                        "model": kind,
                        "shape": record["shape"],
                        "value": median[(kind, shape, "keras", "float32")] / seconds,
                    }
                )
            )
    return rows


def report(rows, args, seconds, load):
    import keras
    import tensorflow as tf

    try:
        import torch

        torch_version = torch.__version__
    except ImportError:
        torch_version = "absent"
    by = {}
    for r in rows:
        if r["figure"] == "images_per_second":
            by[(r["model"], r["shape"], r["framework"], r["precision"])] = r
    extra = {
        (r["figure"], r["model"], r["shape"], r.get("precision")): r["value"]
        for r in rows
        if r["figure"] in ("keras_over_torch", "guidance_overhead")
    }
    peaks = {r["dtype"]: r["value"] for r in rows if r["figure"] == "matmul_peak_gflops"}
    lines = [
        "# Training step: Keras vs PyTorch, float32 vs mixed_bfloat16",
        "",
        f"`python benchmarks/training_step.py{' --smoke' if args.smoke else ''}` on "
        f"{datetime.datetime.now():%Y-%m-%d %H:%M}; machine: {os.cpu_count()} cores (load average "
        f"{load[0]:.1f} at start, {load[1]:.1f} at end), {platform.machine()}; Python "
        f"{platform.python_version()}, TensorFlow {tf.__version__}, Keras {keras.__version__}, "
        f"PyTorch {torch_version}. Batch {args.batch}; median of {args.windows} windows of "
        f"{args.steps} steps after {args.warmup} warm-up steps, all cases round-robin. "
        f"Whole run {seconds:.0f} s. Matmul peak ({args.matmul_size}^2): float32 "
        f"{peaks.get('float32', 0):.0f} GFLOP/s, "
        f"bfloat16 {peaks.get('bfloat16', 0):.0f} GFLOP/s.",
        "",
        "| model | image | Keras float32 img/s | Keras mixed_bfloat16 img/s "
        "| PyTorch float32 img/s | Keras f32 / PyTorch | bf16 / f32 | overhead vs VAE (f32) "
        "| GFLOP/step (analytic) | f32 % of matmul peak |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for shape in args.shapes:
        s = "x".join(map(str, shape))
        for kind in MODELS:
            f32 = by[(kind, s, "keras", "float32")]
            bf16 = by[(kind, s, "keras", "mixed_bfloat16")]
            t = by.get((kind, s, "torch", "float32"))
            ratio = extra.get(("keras_over_torch", kind, s, "float32"))
            over = extra.get(("guidance_overhead", kind, s, "float32"))
            lines.append(
                f"| {kind} | {s} | {f32['value']:,.0f} | {bf16['value']:,.0f} | "
                f"{t['value']:,.0f} | "
                if t
                else f"| {kind} | {s} | {f32['value']:,.0f} | {bf16['value']:,.0f} | - | "
            )
            lines[-1] += (
                (f"{ratio:.2f} | " if ratio else "- | ")
                + (
                    f"{bf16['value'] / f32['value']:.2f} | {over:.2f} | "
                    if over
                    else f"{bf16['value'] / f32['value']:.2f} | 1 | "
                )
                + f"{f32['gflops_per_step_analytic']:.2f} | "
                f"{100 * f32['fraction_of_matmul_peak']:.0f}% |"
            )
    lines += [
        "",
        "- Keras: `train_on_batch` on one in-memory batch (binary images; 2 random attributes for "
        "the supervised model), `validate_inputs=False`, Adam. PyTorch: "
        "`benchmarks/torch_reference.py`, the same layers, losses and three supervised phases, "
        "`torch.optim.Adam`, default threads.",
        "- FLOPs are analytic (layer shapes, x3 for forward and backward, x2 passes for the "
        "supervised step), not counted from the graph.",
    ]
    return "\n".join(lines) + "\n"


def main(argv=None):
    args = parse(argv)
    load_start, start = os.getloadavg()[0], time.perf_counter()
    _, times, flops, peaks, losses = run(args)
    rows = figures(times, flops, peaks, losses, args)
    text = report(rows, args, time.perf_counter() - start, (load_start, os.getloadavg()[0]))
    from keras_gvae.io import write_text

    if args.output:
        write_text(Path(args.output), text)
    else:
        write_text(ROOT / "benchmarks" / "results" / "training_step.md", text)
        import collect

        collect.main()
    print(text)
    return text


if __name__ == "__main__":
    main()
