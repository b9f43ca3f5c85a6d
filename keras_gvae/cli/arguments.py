"""Argument types shared by the ``gvae`` sub-commands."""

from __future__ import annotations

import argparse


def positive_int(text):
    """argparse type: an int >= 1, with a message naming what was expected."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value
