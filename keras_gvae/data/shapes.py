"""Embedded dSprites-compatible shapes: a procedural, vectorised numpy renderer.

The default dataset of ``keras_gvae`` needs no download: it re-draws the dSprites images
(Matthey et al., 2017, https://github.com/deepmind/dsprites-dataset) from their latent
classes. The grid is the dSprites one, 1 colour x 3 shapes x 6 scales x 40 orientations
x 32 posX x 32 posY, and a row of ``latents_classes`` means the same thing here as in
``dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz``.

Conventions, calibrated against real dSprites images (see
``benchmarks/shapes_calibration.py``; the renderer reproduces them with a mean IoU of
0.998 or more per shape):

* Images are ``(64, 64)`` arrays indexed ``[row, column]``, row 0 at the top (as shown by
  ``imshow``). Pixels are sampled at their centres: a pixel is on when its centre lies
  inside the shape (no anti-aliasing).
* ``posX`` moves the sprite along the column axis (axis -1), left to right; ``posY`` moves
  it along the row axis (axis -2), top to bottom, so a larger ``posY`` is lower in the
  image. The sprite centre is at pixel coordinate ``15.5 + 32 * value``, i.e. centres span
  columns/rows 15.5 ... 47.5 in steps of 32/31 pixel.
* ``orientation`` rotates the sprite counter-clockwise as displayed (row 0 at the top) by
  ``2 * pi * k / 39``; index 39 (``2 * pi``) is the same image as index 0. The square repeats
  every pi/2 and the ellipse every pi, which is not a whole number of steps.
* Sizes at scale ``s`` (one "sprite unit" is ``9.6 * s`` pixels, 0.15 of the image): the
  square has side ``19.2 * s`` pixels; the ellipse has semi-axes ``12.77 * s`` along the
  columns and ``7.2 * s`` along the rows at orientation 0; the heart is ``19.2 * s`` wide and
  tall, lobes up and tip down at orientation 0. Its outline is the classic heart curve
  ``x = 16 sin^3 t, y = 13 cos t - 5 cos 2t - 2 cos 3t - cos 4t`` scaled to 2 x 2 sprite
  units and shifted up by 0.15 unit (1.44 * s pixels) from the sprite centre.

Example:

>>> from keras_gvae.data import shapes
>>> images = shapes.render([[0, 2, 5, 0, 16, 16]])  # a large heart in the middle
>>> images.shape, images.dtype
((1, 64, 64), dtype('uint8'))
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from keras_gvae.data.ground_truth_data import GroundTruthData

if TYPE_CHECKING:
    import tensorflow as tf

FACTOR_NAMES = ("color", "shape", "scale", "orientation", "pos_x", "pos_y")
FACTOR_SIZES = (1, 3, 6, 40, 32, 32)
SHAPE_NAMES = ("square", "ellipse", "heart")
SCALE_VALUES = np.linspace(0.5, 1, 6)
ORIENTATION_VALUES = np.linspace(0, 2 * np.pi, 40)
POSITION_VALUES = np.linspace(0, 1, 32)
IMAGE_SIZE = 64

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


class ShapesData(GroundTruthData):
    """The embedded dSprites-compatible shapes as ground-truth data for the metrics.

    Like ``disentanglement_lib``'s ``DSprites``, it exposes the five factors that vary
    (shape, scale, orientation, pos_x, pos_y) and drops the constant colour. Observations are
    rendered on demand by ``render``, float32 (N, 64, 64, 1) in {0, 1}.

    Example:

    >>> data = ShapesData()
    >>> factors, images = data.sample(8, np.random.RandomState(0))
    >>> factors.shape, images.shape
    ((8, 5), (8, 64, 64, 1))
    """

    @property
    def factors_num_values(self) -> list[int]:
        return list(FACTOR_SIZES[1:])

    @property
    def observation_shape(self) -> tuple[int, int, int]:
        return (IMAGE_SIZE, IMAGE_SIZE, 1)

    @property
    def factor_names(self) -> list[str]:
        return list(FACTOR_NAMES[1:])

    def sample_observations_from_factors(
        self, factors: np.ndarray, random_state: np.random.RandomState
    ) -> np.ndarray:
        """Renders factor rows (N, 5); ``random_state`` is unused (rendering is exact)."""
        images = render(to_latents_classes(factors))
        return images.astype(np.float32)[..., None]


def make_dataset(
    batch_size: int | None = None,
    seed: int = 0,
    attributes: Sequence[str] | None = None,
    num_examples: int | None = None,
    chunk_size: int = 256,
    factor_values: Mapping[str, Sequence[int]] | None = None,
) -> tf.data.Dataset:
    """A ``tf.data`` pipeline of rendered shapes with uniformly sampled latents.

    The stream is cut into chunks of ``chunk_size`` examples; chunk ``i`` draws its latent
    rows uniformly from the dSprites grid with ``np.random.default_rng([seed, i])`` and
    renders them in one numpy call (inside ``tf.numpy_function``; chunks are rendered in
    parallel but delivered in order). The stream is therefore a deterministic function of
    ``seed`` and ``chunk_size``.

    Args:
        batch_size: if given, batches of exactly this size (``drop_remainder=True``).
        seed: seed of the latent sampler. Defaults to 0.
        attributes: names from ``ATTRIBUTES``. If given, the labels are these attributes
            instead of the latent classes.
        num_examples: number of examples before the dataset ends; ``None`` (default) for an
            infinite dataset.
        chunk_size: number of images rendered per numpy call. Defaults to 256.
        factor_values: optional grid restriction, see :func:`sample_latents_classes`
            and ``VARIANTS``.

    Returns:
        A ``tf.data.Dataset`` of ``(image, labels)``: image float32 (64, 64, 1) in {0, 1};
        labels int32 (6,) dSprites latents_classes, or int32 (K,) attributes in {0, 1} when
        ``attributes`` has K names. Batched to (batch_size, ...) when ``batch_size`` is given,
        and prefetched.

    Raises:
        ValueError: on an unknown attribute name, a negative seed or a size below 1.
    """
    import tensorflow as tf

    names = None if attributes is None else _check_attribute_names(attributes)
    if num_examples is not None and num_examples < 0:
        raise ValueError(f"num_examples must be >= 0 or None; got {num_examples}.")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1; got {chunk_size}.")
    if seed < 0:
        raise ValueError(f"seed must be >= 0; got {seed}.")
    if batch_size is not None and batch_size < 1:
        raise ValueError(f"batch_size must be >= 1 or None; got {batch_size}.")
    num_labels = len(FACTOR_SIZES) if names is None else len(names)
    _check_factor_values(factor_values)

    def render_chunk(index):
        index = int(index)
        size = chunk_size
        if num_examples is not None:
            size = min(chunk_size, num_examples - index * chunk_size)
        latents = sample_latents_classes(size, np.random.default_rng([seed, index]), factor_values)
        if names is None:
            labels = latents.astype(np.int32)
        else:
            labels = _attribute_matrix(latents, names)
        return render(latents)[..., None], labels

    def load_chunk(index):
        images, labels = tf.numpy_function(
            render_chunk, [index], (tf.uint8, tf.int32), stateful=False
        )
        images = tf.ensure_shape(images, (None, IMAGE_SIZE, IMAGE_SIZE, 1))
        labels = tf.ensure_shape(labels, (None, num_labels))
        return tf.cast(images, tf.float32), labels

    if num_examples is None:
        indices = tf.data.Dataset.counter()
    else:
        indices = tf.data.Dataset.range(-(-num_examples // chunk_size))
    dataset = indices.map(load_chunk, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if batch_size is None:
        dataset = dataset.unbatch()
    else:
        dataset = dataset.rebatch(batch_size, drop_remainder=True)
    return dataset.prefetch(tf.data.AUTOTUNE)
