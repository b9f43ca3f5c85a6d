"""The bilinear warp's forward + backward time: the layer against two other ways to read.

``AffineSpatialTransformer`` reads the four corners of every sample from the image with a
one-pixel zero border (indices clipped into it, four gathers). This times, interleaved in one
process, one compiled forward + backward (gradients for the images and theta) of:

- ``layer``: the layer as shipped;
- ``masked``: the previous implementation, four gathers from the unbordered image, each
  multiplied by an inside-the-image mask;
- ``one_gather``: the bordered image with the four corners read by a single gather.

All three compute the same values (the test suite checks the layer against a direct sampler).
Prints one JSON line per shape and writes ``benchmarks/results/warp_variants.md``.

Usage:
    python benchmarks/warp_variants.py
    python benchmarks/warp_variants.py --shapes 8x8x1 --batch 4 --windows 1 --output /tmp/w.md
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def weights(sx, sy):
    import tensorflow as tf

    x0, y0 = tf.floor(sx), tf.floor(sy)
    wx1, wy1 = sx - x0, sy - y0
    w = [(1 - wy1) * (1 - wx1), (1 - wy1) * wx1, wy1 * (1 - wx1), wy1 * wx1]
    return tf.cast(x0, tf.int32), tf.cast(y0, tf.int32), w


def masked(images, theta):
    import tensorflow as tf

    b, h, w, c = (tf.shape(images)[i] for i in range(4))
    from keras_gvae.layers.affine_spatial_transformer import source_coordinates

    x0, y0, wts = weights(*source_coordinates(images, theta))
    flat = tf.reshape(images, [-1, c])
    base = tf.range(b)[:, None] * (h * w)
    out = 0.0
    for (dy, dx), wt in zip(((0, 0), (0, 1), (1, 0), (1, 1)), wts, strict=True):
        yi, xi = y0 + dy, x0 + dx
        inside = tf.cast((xi >= 0) & (xi < w) & (yi >= 0) & (yi < h), images.dtype)
        index = tf.clip_by_value(yi, 0, h - 1) * w + tf.clip_by_value(xi, 0, w - 1)
        values = tf.reshape(tf.gather(flat, tf.reshape(base + index, [-1])), [b, h * w, c])
        out = out + wt[:, :, None] * values * inside[:, :, None]
    return tf.reshape(out, tf.shape(images))


def one_gather(images, theta):
    import tensorflow as tf

    b, h, w, c = (tf.shape(images)[i] for i in range(4))
    from keras_gvae.layers.affine_spatial_transformer import source_coordinates

    x0, y0, wts = weights(*source_coordinates(images, theta))
    pw = w + 2
    cols = [tf.clip_by_value(x0 + 1 + d, 0, w + 1) for d in (0, 1)]
    rows = [tf.clip_by_value(y0 + 1 + d, 0, h + 1) for d in (0, 1)]
    index = tf.range(b)[:, None, None] * ((h + 2) * pw) + tf.stack(
        [rows[i] * pw + cols[j] for i, j in ((0, 0), (0, 1), (1, 0), (1, 1))], axis=1
    )
    padded = tf.reshape(tf.pad(images, [[0, 0], [1, 1], [1, 1], [0, 0]]), [-1, c])
    corners = tf.reshape(tf.gather(padded, tf.reshape(index, [-1])), [b, 4, h * w, c])
    out = sum(wt[:, :, None] * corners[:, k] for k, wt in enumerate(wts))
    return tf.reshape(out, tf.shape(images))


def main(argv=None):
    import tensorflow as tf

    from keras_gvae.io import write_text
    from keras_gvae.layers.affine_spatial_transformer import (
        AffineSpatialTransformer,
        affine_theta,
    )

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shapes", default="28x28x1,64x64x3")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--windows", type=int, default=7)
    p.add_argument("--output", default=str(ROOT / "benchmarks" / "results" / "warp_variants.md"))
    args = p.parse_args(argv)
    rng = np.random.default_rng(0)
    variants = {"layer": AffineSpatialTransformer(), "masked": masked, "one_gather": one_gather}
    rows = []
    for text in args.shapes.split(","):
        shape = (args.batch, *(int(v) for v in text.split("x")))
        n = args.batch
        images = tf.Variable(rng.random(shape).astype("float32"))
        theta = tf.Variable(
            affine_theta(
                scale_x=tf.constant(rng.uniform(0.5, 2.0, n), tf.float32),
                scale_y=tf.constant(rng.uniform(0.5, 2.0, n), tf.float32),
                angle=tf.constant(rng.uniform(-1.0, 1.0, n), tf.float32),
                translate_x=tf.constant(rng.uniform(-0.5, 0.5, n), tf.float32),
                size=shape[1:3],
            )
        )
        steps, values = {}, {}
        for name, warp in variants.items():

            @tf.function
            def step(warp=warp, images=images, theta=theta):
                with tf.GradientTape() as tape:
                    out = warp(images, theta)
                    loss = tf.reduce_sum(out**2)
                return out, tape.gradient(loss, [images, theta])

            values[name] = step()[0].numpy()
            steps[name] = step
        for name in variants:  # the same values, or the timing means nothing
            np.testing.assert_allclose(values[name], values["layer"], atol=1e-5)
        times = {name: [] for name in variants}
        for _ in range(args.windows):
            for name, step in steps.items():
                start = time.perf_counter()
                for _ in range(args.steps):
                    step()[1][0].numpy()
                times[name].append((time.perf_counter() - start) / args.steps * 1e3)
        ms = {name: statistics.median(t) for name, t in times.items()}
        row = {"shape": text, "batch": n, "ms": ms}
        row["masked_over_layer"] = ms["masked"] / ms["layer"]
        row["one_gather_over_layer"] = ms["one_gather"] / ms["layer"]
        print(json.dumps(row), flush=True)
        rows.append(row)
    command = " ".join(argv if argv is not None else sys.argv[1:])
    lines = [
        "# The warp's forward + backward: the layer against two other reads",
        "",
        f"`python benchmarks/warp_variants.py {command}`"
        f"; batch {args.batch}, median of {args.windows} windows of {args.steps} compiled "
        "forward + backward steps, the variants interleaved; TF " + tf.__version__ + ".",
        "",
        "| image | layer (zero border, 4 gathers) ms | masked (previous) ms | one gather ms "
        "| masked / layer | one gather / layer |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['shape']} | {r['ms']['layer']:.2f} | {r['ms']['masked']:.2f} "
        f"| {r['ms']['one_gather']:.2f} | {r['masked_over_layer']:.2f} "
        f"| {r['one_gather_over_layer']:.2f} |"
        for r in rows
    ]
    write_text(args.output, "\n".join(lines) + "\n")
    return rows


if __name__ == "__main__":
    main()
