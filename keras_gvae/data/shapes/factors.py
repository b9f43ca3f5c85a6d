"""The shapes' factor grid (dSprites' 1 x 3 x 6 x 40 x 32 x 32), its named variants, and
the binary attributes of its latent classes."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike

FACTOR_NAMES = ("color", "shape", "scale", "orientation", "pos_x", "pos_y")
FACTOR_SIZES = (1, 3, 6, 40, 32, 32)
SHAPE_NAMES = ("square", "ellipse", "heart")
SCALE_VALUES = np.linspace(0.5, 1, 6)
ORIENTATION_VALUES = np.linspace(0, 2 * np.pi, 40)
POSITION_VALUES = np.linspace(0, 1, 32)
IMAGE_SIZE = 64


def _check_latents_classes(latents_classes: ArrayLike) -> np.ndarray:
    """Validates dSprites latent classes and returns them as int64 (N, 6)."""
    expected = (
        "expected an integer array of shape (N, 6) of dSprites latents_classes "
        "(color, shape, scale, orientation, posX, posY), columns in "
        + ", ".join(f"[0, {size})" for size in FACTOR_SIZES)
    )
    array = np.asarray(latents_classes)
    if array.ndim != 2 or array.shape[1] != len(FACTOR_SIZES):
        raise ValueError(f"{expected}; got shape {array.shape}.")
    if array.dtype == bool or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{expected}; got dtype {array.dtype}.")
    if array.size:
        low, high = array.min(axis=0), array.max(axis=0)
        bad = (low < 0) | (high >= np.array(FACTOR_SIZES))
        if bad.any():
            column = int(np.argmax(bad))
            raise ValueError(
                f"{expected}; column {column} ({FACTOR_NAMES[column]}) has values in "
                f"[{low[column]}, {high[column]}], outside [0, {FACTOR_SIZES[column] - 1}]."
            )
    return array.astype(np.int64)


def _check_factor_values(factor_values):
    """Validates ``{factor name: allowed class indices}``; returns one array per factor."""
    factor_values = dict(factor_values or {})
    unknown = [name for name in factor_values if name not in FACTOR_NAMES]
    if unknown:
        raise ValueError(f"Unknown factor names {unknown}; valid names are {list(FACTOR_NAMES)}.")
    allowed = []
    for name, size in zip(FACTOR_NAMES, FACTOR_SIZES, strict=True):
        values = np.asarray(factor_values.get(name, range(size)), dtype=np.int64).reshape(-1)
        if values.size == 0 or values.min() < 0 or values.max() >= size:
            raise ValueError(
                f"factor_values[{name!r}] must be a non-empty list of class indices in "
                f"[0, {size}); got {factor_values.get(name)!r}."
            )
        allowed.append(np.unique(values))
    return allowed


def sample_latents_classes(
    num: int, rng: np.random.Generator, factor_values: Mapping[str, Sequence[int]] | None = None
) -> np.ndarray:
    """Samples ``num`` dSprites latent-class rows uniformly from the grid.

    Args:
        num: number of rows.
        rng: a ``np.random.Generator``.
        factor_values: optional ``{factor name: allowed class indices}`` restricting the
            grid (e.g. ``{"shape": [0, 2]}`` for squares and hearts only); factors not
            named take all their values.

    Returns:
        int64 array (num, 6); the colour column is always 0.
    """
    allowed = _check_factor_values(factor_values)
    return np.stack([values[rng.integers(0, len(values), size=num)] for values in allowed], axis=1)


# === Named variants of the embedded dataset: name -> factor_values ===
VARIANTS = {
    "shapes": {},
    # Squares and hearts at the smallest and largest scale: "is_heart" and "large" are then
    # whole binary factors, as attributes of real data usually are.
    "shapes_binary": {"shape": (0, 2), "scale": (0, 5)},
    # The same, upright: a square looks the same every 90 degrees and a heart only every
    # 360, so with rotation the orientation code itself tells the shapes apart.
    "shapes_binary_upright": {"shape": (0, 2), "scale": (0, 5), "orientation": (0,)},
}


# === Binary attributes (for the supervised Guided-VAE) ===
ATTRIBUTES = OrderedDict(
    [
        ("is_square", "shape is the square (shape index 0)"),
        ("is_ellipse", "shape is the ellipse (shape index 1)"),
        ("is_heart", "shape is the heart (shape index 2)"),
        ("large", "scale index >= 3, i.e. scale >= 0.8"),
        ("right_half", "pos_x index >= 16: sprite centre in the right half of the image"),
        (
            "bottom_half",
            "pos_y index >= 16: sprite centre in the bottom half of the image "
            "(rows grow downwards, row 0 at the top)",
        ),
    ]
)

_ATTRIBUTE_FUNCTIONS = {
    "is_square": lambda latents: latents[:, 1] == 0,
    "is_ellipse": lambda latents: latents[:, 1] == 1,
    "is_heart": lambda latents: latents[:, 1] == 2,
    "large": lambda latents: latents[:, 2] >= 3,
    "right_half": lambda latents: latents[:, 4] >= 16,
    "bottom_half": lambda latents: latents[:, 5] >= 16,
}


def _check_attribute_names(names: Sequence[str] | None) -> list[str]:
    if names is None:
        return list(ATTRIBUTES)
    if isinstance(names, str):
        names = [names]
    names = list(names)
    unknown = [name for name in names if name not in ATTRIBUTES]
    if unknown or not names:
        raise ValueError(
            f"Unknown or empty attribute names {unknown or names}; valid names are "
            f"{list(ATTRIBUTES)}."
        )
    return names


def _attribute_matrix(latents: np.ndarray, names: list[str]) -> np.ndarray:
    return np.stack([_ATTRIBUTE_FUNCTIONS[name](latents) for name in names], axis=1).astype(
        np.int32
    )


def attributes(latents_classes: ArrayLike, names: Sequence[str] | None = None) -> np.ndarray:
    """Binary attributes of dSprites latent-class rows.

    Args:
        latents_classes: int array (N, 6) of dSprites class indices.
        names: attribute names from ``ATTRIBUTES``, in the order wanted. Defaults to all
            of them, in ``ATTRIBUTES`` order.

    Returns:
        int32 array (N, len(names)) with values in {0, 1}.

    Raises:
        ValueError: on an unknown name (the message lists the valid ones) or bad latents.
    """
    names = _check_attribute_names(names)
    return _attribute_matrix(_check_latents_classes(latents_classes), names)


def to_latents_classes(factors: ArrayLike) -> np.ndarray:
    """Adds the constant colour column to ``ShapesData`` factors.

    Args:
        factors: int array (N, 5): shape, scale, orientation, pos_x, pos_y indices.

    Returns:
        int64 array (N, 6) of dSprites latents_classes (colour 0 first).
    """
    factors = np.asarray(factors)
    if factors.ndim != 2 or factors.shape[1] != len(FACTOR_SIZES) - 1:
        raise ValueError(
            "Expected factors of shape (N, 5) (shape, scale, orientation, pos_x, pos_y); "
            f"got shape {factors.shape}."
        )
    return np.concatenate([np.zeros((len(factors), 1), factors.dtype), factors], axis=1)
