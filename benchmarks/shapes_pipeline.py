"""Throughput of the embedded shapes renderer and of its tf.data pipeline.

Measures images/second of ``keras_gvae.data.shapes.render`` (numpy, one call per chunk of
1024, single thread) on 10,000 random latent rows, and of
``make_dataset(batch_size=64)`` over 200 batches after 50 warm-up batches (median of 3
runs). Writes
``benchmarks/results/shapes_pipeline.md`` and prints it.

Usage:
    python benchmarks/shapes_pipeline.py [--batches 200]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

from keras_gvae.io import write_text

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from keras_gvae.data import shapes  # noqa: E402


def time_render(num: int, repeats: int = 3) -> float:
    rows = shapes.sample_latents_classes(num, np.random.default_rng(0))
    shapes.render(rows[:256])  # warm-up
    best = min(_elapsed(lambda: shapes.render(rows)) for _ in range(repeats))
    return num / best


def time_pipeline(
    batch_size: int, batches: int, warmup: int = 50, repeats: int = 3, **kwargs
) -> float:
    """Median images/s over ``repeats`` runs of ``batches`` batches, after a warm-up that
    lets tf.data's AUTOTUNE settle on its parallelism."""
    iterator = iter(shapes.make_dataset(batch_size=batch_size, seed=0, **kwargs))
    for _ in range(warmup):
        next(iterator)

    def consume():
        for _ in range(batches):
            next(iterator)

    return float(np.median([batches * batch_size / _elapsed(consume) for _ in range(repeats)]))


def _elapsed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=REPO.parent / "shared" / "data",
        help="unused: the shapes are rendered, nothing is read (kept for a uniform CLI)",
    )
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument(
        "--output", type=Path, default=REPO / "benchmarks" / "results" / "shapes_pipeline.md"
    )
    args = parser.parse_args(argv)

    import tensorflow as tf

    render_rate = time_render(args.images)
    pipeline_rate = time_pipeline(args.batch_size, args.batches)
    attribute_rate = time_pipeline(
        args.batch_size, args.batches, attributes=["is_heart", "large", "bottom_half"]
    )
    text = "\n".join(
        [
            "# Shapes renderer throughput",
            "",
            "`python benchmarks/shapes_pipeline.py`: images per second, higher is better.",
            "",
            "| what | images | images/s |",
            "|---|---:|---:|",
            f"| `render` (numpy, single thread, chunks of 1024; best of 3) | {args.images} "
            f"| {render_rate:,.0f} |",
            f"| `make_dataset(batch_size={args.batch_size})`, iterated eagerly; median of 3 "
            f"| {args.batches * args.batch_size} | {pipeline_rate:,.0f} |",
            f"| `make_dataset(batch_size={args.batch_size}, attributes=[3 names])`; median of 3 "
            f"| {args.batches * args.batch_size} | {attribute_rate:,.0f} |",
            "",
            "The pipeline renders chunks of 256 in `tf.numpy_function` calls run in parallel "
            "(`num_parallel_calls=AUTOTUNE`, deterministic order), so it can exceed the "
            "single-thread render rate on several cores.",
            "",
            f"{os.cpu_count()} CPU cores visible (shared with other jobs), "
            f"{platform.processor() or platform.machine()}; Python "
            f"{platform.python_version()}, numpy {np.__version__}, TensorFlow {tf.__version__}.",
            "",
        ]
    )
    write_text(args.output, text)
    print(text)
    return text


if __name__ == "__main__":
    main()
