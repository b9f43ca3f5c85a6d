"""The shapes renderer: dSprites images drawn from their latent classes (conventions in
`keras_gvae.data.shapes`)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from keras_gvae.data.shapes.factors import (
    FACTOR_SIZES,
    IMAGE_SIZE,
    ORIENTATION_VALUES,
    POSITION_VALUES,
    SCALE_VALUES,
    _check_latents_classes,
)

# === Calibrated geometry (pixel units; pixel centres at integer coordinates) ===
# Sprite centre = _POSITION_OFFSET + _POSITION_RANGE * position value.
_POSITION_OFFSET = 15.5
_POSITION_RANGE = 32.0
# Shapes are defined in "sprite units"; one unit is _UNIT_PIXELS * scale pixels. The square
# is [-1, 1]^2 in sprite units.
_UNIT_PIXELS = 0.15 * IMAGE_SIZE
# Ellipse semi-axes (along the columns, along the rows) at orientation 0, in sprite units.
_ELLIPSE_SEMI_AXES = (1.33, 0.75)
# Heart outline, in sprite units: u = _HEART_HALF_WIDTH * sin(t)^3,
# v = _HEART_HEIGHT_SCALE * (13 cos t - 5 cos 2t - 2 cos 3t - cos 4t) + _HEART_SHIFT.
# The curve's height (-17 ... 11.92) is mapped onto 2 units, then shifted up.
_HEART_HALF_WIDTH = 1.0
_HEART_HEIGHT_SCALE = 2.0 / 29.0
_HEART_SHIFT = 0.15
# Side of the square window each sprite is evaluated in: the window always lies inside
# the image and holds every sprite (the largest reaches 13.6 pixels from its centre, the
# square's half-diagonal at scale 1; the window reaches at least 15).
_WINDOW = 32
_CHUNK = 1024


def _inside_square(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.maximum(np.abs(u), np.abs(v)) <= 1.0


def _inside_ellipse(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    a, b = _ELLIPSE_SEMI_AXES
    return (u / a) ** 2 + (v / b) ** 2 <= 1.0


def _heart_curve_height(c: np.ndarray) -> np.ndarray:
    """``13 cos t - 5 cos 2t - 2 cos 3t - cos 4t`` written as a polynomial in ``c = cos t``."""
    return (((-8.0 * c - 8.0) * c - 2.0) * c + 19.0) * c + 4.0


def _inside_heart(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    # For |u| = W sin^3 t the outline has one point with t in [0, pi/2] (upper, cos t >= 0)
    # and one with t in [pi/2, pi] (lower, cos t <= 0): inside means between the two.
    sin_cubed = np.abs(u) / _HEART_HALF_WIDTH
    sin_t = np.cbrt(np.minimum(sin_cubed, 1.0))
    cos_t = np.sqrt(1.0 - sin_t * sin_t)
    height = (v - _HEART_SHIFT) / _HEART_HEIGHT_SCALE
    return (
        (sin_cubed <= 1.0)
        & (height <= _heart_curve_height(cos_t))
        & (height >= _heart_curve_height(-cos_t))
    )


_INSIDE = (_inside_square, _inside_ellipse, _inside_heart)


def _render_values(
    shape: np.ndarray,
    scale: np.ndarray,
    angle: np.ndarray,
    pos_x: np.ndarray,
    pos_y: np.ndarray,
) -> np.ndarray:
    """Renders sprites from continuous latent values, uint8 (N, 64, 64) in {0, 1}.

    ``shape`` holds shape indices, the others dSprites latent values: scale (0.5 ... 1), angle
    in radians counter-clockwise, positions in [0, 1]. All are (N,) arrays; any real values
    are accepted (the tests use it for exact quarter turns).
    """
    n = len(shape)
    images = np.zeros((n, IMAGE_SIZE, IMAGE_SIZE), np.uint8)
    centre_x = _POSITION_OFFSET + _POSITION_RANGE * np.asarray(pos_x, np.float64)
    centre_y = _POSITION_OFFSET + _POSITION_RANGE * np.asarray(pos_y, np.float64)
    start_x = np.floor(centre_x).astype(np.int64) - (_WINDOW // 2 - 1)
    start_y = np.floor(centre_y).astype(np.int64) - (_WINDOW // 2 - 1)
    offsets = np.arange(_WINDOW)
    cols = start_x[:, None] + offsets  # (N, W)
    rows = start_y[:, None] + offsets  # (N, W)
    # Window coordinates relative to the sprite centre, y pointing up.
    x = (cols - centre_x[:, None])[:, None, :]  # (N, 1, W)
    y = (centre_y[:, None] - rows)[:, :, None]  # (N, W, 1)
    unit = _UNIT_PIXELS * np.asarray(scale, np.float64)
    cos = (np.cos(angle) / unit)[:, None, None]
    sin = (np.sin(angle) / unit)[:, None, None]
    masks = np.zeros((n, _WINDOW, _WINDOW), bool)
    for index, inside in enumerate(_INSIDE):
        sel = np.flatnonzero(shape == index)
        if sel.size:
            # Undo the counter-clockwise rotation: (u, v) = R(-angle) (x, y) / unit.
            u = cos[sel] * x[sel] + sin[sel] * y[sel]
            v = cos[sel] * y[sel] - sin[sel] * x[sel]
            masks[sel] = inside(u, v)
    images[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]] = masks
    return images


def render(latents_classes: ArrayLike) -> np.ndarray:
    """Renders dSprites images from their latent classes.

    Deterministic and vectorised (sprites are evaluated in chunks of 1024 on a 32x32 pixel
    window around their centre). See the module docstring for the conventions.

    Args:
        latents_classes: int array (N, 6) of dSprites class indices, columns color (1),
            shape (3: square, ellipse, heart), scale (6), orientation (40), posX (32),
            posY (32).

    Returns:
        uint8 array (N, 64, 64) with values in {0, 1}.

    Raises:
        ValueError: if the input is not an integer (N, 6) array with every column in range.
    """
    latents = _check_latents_classes(latents_classes)
    images = np.zeros((len(latents), IMAGE_SIZE, IMAGE_SIZE), np.uint8)
    for start in range(0, len(latents), _CHUNK):
        chunk = latents[start : start + _CHUNK]
        # Orientation 39 is 2*pi: reduce it to 0 so both render the identical image.
        steps = chunk[:, 3] % (FACTOR_SIZES[3] - 1)
        images[start : start + _CHUNK] = _render_values(
            shape=chunk[:, 1],
            scale=SCALE_VALUES[chunk[:, 2]],
            angle=ORIENTATION_VALUES[steps],
            pos_x=POSITION_VALUES[chunk[:, 4]],
            pos_y=POSITION_VALUES[chunk[:, 5]],
        )
    return images
