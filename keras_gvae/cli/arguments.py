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
            f"expected NAME=VALUE (e.g. mmd_weight=1000), got {text!r}"
        )
    try:
        return name, json.loads(value)
    except json.JSONDecodeError:
        return name, value
