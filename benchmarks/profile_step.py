"""Where a training step's time goes: a TensorFlow profiler trace, summarised by op.

Builds one model exactly as ``benchmarks/training_step.py`` does (the same constructor,
optimizer and in-memory batch), runs ``--warmup`` steps, then records ``--steps`` steps with
``tf.profiler.experimental`` and reads the trace back (the XSpace protobuf TensorFlow ships;
no TensorBoard needed). Every op executed on the CPU's compute threads is one event named
``scope/op:OpType``; the summary adds their durations by

- part of the model: the first name scope (encoder, decoder, guidance_decoder, the
  excitation heads and adversaries, the loss distributions, the optimizer), forward and
  backward (``gradient_tape/``) separately;
- op type (``_MklNativeConv2D``, ``Mul``, ...).

Op time is summed over the compute threads, so it can exceed the wall time when two ops run
at once; "op time / wall" says how busy the threads were, and wall minus op time per thread
is host work (Python, dispatch) and idling. One JSON line per case; the tables go to
``benchmarks/results/profile_step.md`` (``--output`` elsewhere).

Usage:
    python benchmarks/profile_step.py                          # VAE and GuidedVAE, both shapes
    python benchmarks/profile_step.py --models guided --shapes 64x64x3 --steps 10
    python benchmarks/profile_step.py --smoke --output /tmp/profile.md
"""

from __future__ import annotations

import argparse
import collections
import datetime
import glob
import json
import platform
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

OPTIMIZER_SCOPES = ("adam", "Adam", "loss_scale_optimizer")
LOSS_SCOPES = ("Independent", "Bernoulli", "Normal", "MultivariateNormal", "KL", "log_prob")


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="vae,guided,supervised", help="comma-separated")
    p.add_argument("--shapes", default="28x28x1,64x64x3", help="comma-separated HxWxC")
    p.add_argument("--precision", default="float32", choices=("float32", "mixed_bfloat16"))
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=10, help="profiled steps")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--latent-dim", type=int, default=10)
    p.add_argument("--top", type=int, default=12, help="op types listed per case")
    p.add_argument("--smoke", action="store_true", help="tiny sizes: checks the script runs")
    p.add_argument("--output", default=str(ROOT / "benchmarks" / "results" / "profile_step.md"))
    args = p.parse_args(argv)
    if args.smoke:
        args.batch, args.steps, args.warmup, args.shapes = 8, 2, 1, "16x16x1"
    return args


def part_of(name):
    """``(part, direction)`` of an op event name ``scope/.../op:OpType``."""
    path = name.rsplit(":", 1)[0]
    backward = path.startswith("gradient_tape/")
    if backward:
        path = path[len("gradient_tape/") :]
    scope = re.sub(r"_\d+$", "", path.split("/", 1)[0])
    if scope.startswith(OPTIMIZER_SCOPES):
        part = "optimizer"
    elif scope.startswith(LOSS_SCOPES):
        part = "loss distributions"
    elif scope in ("z_mean", "z_log_var"):
        part = "posterior heads"
    elif "/" not in path:
        part = "other"
    else:
        part = scope
    return part, "backward" if backward else "forward"


def summarise(xplane_path):
    """Op durations from a trace: ``{"parts": {(part, direction): ms}, "types": {type: ms},
    "threads": n}``, over the compute threads of the host plane."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    space = xplane_pb2.XSpace()
    space.ParseFromString(Path(xplane_path).read_bytes())
    parts, types = collections.Counter(), collections.Counter()
    threads = 0
    for plane in space.planes:
        if plane.name != "/host:CPU":
            continue
        for line in plane.lines:
            if not line.name.startswith("tf_Compute"):
                continue
            threads += 1
            for event in line.events:
                name = plane.event_metadata[event.metadata_id].name
                if ":" not in name.replace("::", ""):  # executor bookkeeping, not ops
                    continue
                ms = event.duration_ps / 1e9
                parts[part_of(name)] += ms
                types[name.rsplit(":", 1)[1]] += ms
    return {"parts": parts, "types": types, "threads": threads}


def lump(parts, share=0.01):
    """Parts under ``share`` of the op time go into one "other (small parts)" row."""
    total = sum(parts.values())
    kept = {k: v for k, v in parts.items() if v >= share * total}
    small = total - sum(kept.values())
    return {**kept, "other (small parts)": small} if small > 0 else kept


def profile_case(kind, shape, args):
    import tensorflow as tf
    from training_step import ATTRIBUTES, keras_case

    rng = np.random.default_rng(0)
    x = (rng.random((args.batch, *shape)) > 0.5).astype("float32")
    y = rng.integers(0, 2, (args.batch, len(ATTRIBUTES))).astype("float32")
    model, step = keras_case(kind, shape, args.precision, args, x, y)
    for _ in range(args.warmup):
        step()
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        start = time.perf_counter()
        for _ in range(args.steps):
            step()
        wall = (time.perf_counter() - start) * 1e3
        tf.profiler.experimental.stop()
        (trace,) = glob.glob(f"{logdir}/plugins/profile/*/*.xplane.pb")
        summary = summarise(trace)
    op_ms = sum(summary["parts"].values())
    return {
        "model": kind,
        "shape": "x".join(map(str, shape)),
        "precision": args.precision,
        "batch": args.batch,
        "steps": args.steps,
        "wall_ms_per_step": wall / args.steps,
        "op_ms_per_step": op_ms / args.steps,
        "threads": summary["threads"],
        "parts": lump(
            {f"{p} ({d})": ms / args.steps for (p, d), ms in summary["parts"].most_common()}
        ),
        "types": {t: ms / args.steps for t, ms in summary["types"].most_common(args.top)},
    }


def table(case, top):
    op = case["op_ms_per_step"]
    lines = [
        f"### {case['model']}, {case['shape']}, {case['precision']}, batch {case['batch']}",
        "",
        f"Wall {case['wall_ms_per_step']:.1f} ms per step; op time {op:.1f} ms summed over "
        f"{case['threads']} compute threads (op time / wall "
        f"{op / case['wall_ms_per_step']:.2f}).",
        "",
        "| part (direction) | ms per step | share of op time |",
        "|---|---:|---:|",
    ]
    lines += [f"| {k} | {ms:.1f} | {100 * ms / op:.1f}% |" for k, ms in case["parts"].items()]
    lines += [
        "",
        f"Top {top} op types:",
        "",
        "| op type | ms per step | share |",
        "|---|---:|---:|",
    ]
    lines += [f"| `{k}` | {ms:.1f} | {100 * ms / op:.1f}% |" for k, ms in case["types"].items()]
    return lines + [""]


def main(argv=None):
    import tensorflow as tf

    from keras_gvae.io import write_text

    args = parse(argv)
    shapes = [tuple(int(v) for v in s.split("x")) for s in args.shapes.split(",")]
    cases = []
    for shape in shapes:
        for kind in args.models.split(","):
            case = profile_case(kind, shape, args)
            print(json.dumps(case), flush=True)
            cases.append(case)
    command = " ".join(argv if argv is not None else sys.argv[1:])
    header = [
        "# Where the training step's time goes (profiler trace)",
        "",
        f"`python benchmarks/profile_step.py {command}`"
        f" on {datetime.date.today()}, {platform.machine()}, TF {tf.__version__}; "
        f"{args.steps} profiled steps after {args.warmup} warm-up steps.",
        "",
    ]
    body = [line for case in cases for line in table(case, args.top)]
    write_text(Path(args.output), "\n".join(header + body))
    return cases


if __name__ == "__main__":
    main()
