"""Decode latent codes on device: a .tflite decoder, the LiteRT interpreter, numpy and Pillow.

No TensorFlow or Keras is imported: this is what runs on a phone or a Raspberry Pi
(``pip install ai-edge-litert pillow numpy``). Make the file on a workstation with

    gvae export runs/my-run --tflite decoder.tflite [--quantize float16]

then

    python tflite_decode.py decoder.tflite --out samples.png             # 16 prior samples
    python tflite_decode.py decoder.tflite --unit 3 --out unit3.png      # sweep unit 3

The file's signature ``serving_default`` takes ``z`` (batch, latent_dim) float32 and
returns ``image`` (batch, H, W, C) float32 in [0, 1], in every quantization mode.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from ai_edge_litert.interpreter import Interpreter
from PIL import Image


def load_decoder(path, num_threads=None):
    """``(decode, latent_dim)``: ``decode(z)`` runs the file on a (batch, latent_dim) array."""
    interpreter = Interpreter(model_path=str(path), num_threads=num_threads)
    runner = interpreter.get_signature_runner("serving_default")
    (z_detail,) = runner.get_input_details().values()
    latent_dim = int(z_detail["shape_signature"][-1])

    def decode(z):
        return runner(z=np.ascontiguousarray(z, dtype=np.float32))["image"]

    return decode, latent_dim


def grid(images, columns):
    """(N, H, W, C) in [0, 1] -> one uint8 image, ``columns`` per row, 2-pixel gaps."""
    n, h, w, c = images.shape
    rows = -(-n // columns)
    canvas = np.ones((rows * (h + 2) + 2, columns * (w + 2) + 2, c), np.float32)
    for i, image in enumerate(images):
        r, col = divmod(i, columns)
        canvas[2 + r * (h + 2) : 2 + r * (h + 2) + h, 2 + col * (w + 2) : 2 + col * (w + 2) + w] = (
            image
        )
    canvas = (np.clip(canvas, 0.0, 1.0) * 255).round().astype(np.uint8)
    return canvas[..., 0] if c == 1 else canvas


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tflite", help="a decoder written by `gvae export --tflite`")
    parser.add_argument("--out", default="decoded.png", help="PNG to write")
    parser.add_argument("--samples", type=int, default=16, help="prior samples (without --unit)")
    parser.add_argument("--unit", type=int, default=None, help="sweep this unit around z = 0")
    parser.add_argument("--values", type=int, default=9, help="steps of the sweep in [-2.5, 2.5]")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scale", type=int, default=2, help="enlarge the PNG by this factor")
    args = parser.parse_args(argv)

    decode, latent_dim = load_decoder(args.tflite)
    if args.unit is None:
        z = np.random.default_rng(args.seed).standard_normal((args.samples, latent_dim))
        columns = int(np.ceil(np.sqrt(args.samples)))
    else:
        if not 0 <= args.unit < latent_dim:
            parser.error(f"--unit must be in [0, {latent_dim})")
        z = np.zeros((args.values, latent_dim))
        z[:, args.unit] = np.linspace(-2.5, 2.5, args.values)
        columns = args.values
    images = decode(z)
    picture = Image.fromarray(grid(images, columns))
    if args.scale > 1:
        picture = picture.resize(
            (picture.width * args.scale, picture.height * args.scale), Image.NEAREST
        )
    picture.save(args.out)
    print(f"wrote {args.out}: {len(images)} images of {images.shape[1:]} from {args.tflite}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
