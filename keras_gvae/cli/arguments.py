"""Argument types shared by the ``gvae`` sub-commands."""

from __future__ import annotations

import argparse

# Dtype policies `gvae evaluate --encode-precision` (VAE.representation_function) may encode in.
ENCODE_PRECISIONS = ("float32", "mixed_bfloat16")


def positive_int(text):
    """argparse type: an int >= 1, with a message naming what was expected."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def finite_float(text):
    """argparse type: a finite float (no nan or inf), with a message naming what was expected."""
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def image_size(text):
    """argparse type: ``S`` or ``HxW`` (e.g. 64, 64x48) -> ``(height, width)``."""
    parts = text.lower().replace("*", "x").split("x")
    try:
        size = tuple(int(p) for p in parts)
    except ValueError:
        size = ()
    if len(size) == 1:
        size = size * 2
    if len(size) != 2 or min(size) < 1:
        raise argparse.ArgumentTypeError(
            f"expected a size S or HxW in pixels (e.g. 64 or 64x48), got {text!r}"
        )
    return size


def fraction(text):
    """argparse type: a number strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a fraction between 0 and 1, got {text!r}")
    return value


def output_file(*suffixes):
    """argparse type: a path whose name ends in one of ``suffixes`` (e.g. ".png")."""

    def parse(text):
        if not text.lower().endswith(suffixes):
            raise argparse.ArgumentTypeError(
                f"expected a file name ending in {' or '.join(suffixes)}, got {text!r}"
            )
        return text

    parse.__name__ = "output file"
    return parse


def key_value(text):
    """argparse type: ``NAME=VALUE``, VALUE read as JSON when it parses (numbers, true,
    false, lists), else kept as a string. Returns ``(name, value)``."""
    import json

    name, sep, value = text.partition("=")
    if not sep or not name.isidentifier():
        raise argparse.ArgumentTypeError(
            f"expected NAME=VALUE (e.g. inhibition_warmup=1000), got {text!r}"
        )
    try:
        return name, json.loads(value)
    except json.JSONDecodeError:
        return name, value
