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

The package's modules: `factors` (the grid, its variants and attributes), `renderer` (the
renderer), `ground_truth` (`ShapesData`, for the metrics) and `pipeline` (`make_dataset`).
"""

from keras_gvae.data.shapes.factors import (
    ATTRIBUTES,
    FACTOR_NAMES,
    FACTOR_SIZES,
    IMAGE_SIZE,
    ORIENTATION_VALUES,
    POSITION_VALUES,
    SCALE_VALUES,
    SHAPE_NAMES,
    VARIANTS,
    attributes,
    sample_latents_classes,
    to_latents_classes,
)
from keras_gvae.data.shapes.ground_truth import ShapesData
from keras_gvae.data.shapes.pipeline import make_dataset
from keras_gvae.data.shapes.renderer import render

__all__ = [
    "ATTRIBUTES",
    "FACTOR_NAMES",
    "FACTOR_SIZES",
    "IMAGE_SIZE",
    "ORIENTATION_VALUES",
    "POSITION_VALUES",
    "SCALE_VALUES",
    "SHAPE_NAMES",
    "VARIANTS",
    "ShapesData",
    "attributes",
    "make_dataset",
    "render",
    "sample_latents_classes",
    "to_latents_classes",
]
