"""Differentiable affine warp with bilinear sampling (a spatial transformer)."""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="keras_gvae")
class AffineSpatialTransformer(keras.layers.Layer):
    """Warps images with per-example affine maps, bilinear sampling, zero outside.

    A spatial transformer (Jaderberg et al., "Spatial Transformer Networks", NeurIPS
    2015) without the localisation network: the affine map is an input. Coordinates are
    pixel units measured from the image centre, x to the right (columns) and y down (rows),
    so pixel ``(row i, col j)`` sits at ``(j - (W - 1) / 2, i - (H - 1) / 2)``. For every
    output pixel ``p`` the layer reads the input at ``theta[:, :2] @ p + theta[:, 2]``
    (the *inverse* map, output -> source, as in Jaderberg et al.). Samples that fall
    outside the input read zeros. The identity ``theta = [[1, 0, 0], [0, 1, 0]]``
    returns its input exactly; a rotation by 90 degrees of a square image matches
    ``np.rot90`` exactly because pixel centres map onto pixel centres.

    Only TFLite builtin ops are used (FLOOR, CAST, PAD, GATHER, arithmetic), so a model that
    contains this layer converts with the default op set.

    Args:
        **kwargs: standard Keras layer arguments (name, dtype, ...).

    Call arguments:
        images: float tensor (batch, H, W, C).
        theta: float tensor (batch, 2, 3), output-to-source affine maps in pixel units.

    Example:
    >>> warp = AffineSpatialTransformer()
    >>> identity = tf.constant([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
    >>> images = tf.random.uniform((1, 8, 8, 1))
    >>> bool(tf.reduce_all(warp(images, identity) == images))
    True
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)

    def call(self, images, theta):
        images = tf.convert_to_tensor(images)
        shape = tf.shape(images)
        batch, height, width, channels = shape[0], shape[1], shape[2], shape[3]
        src_x, src_y = source_coordinates(images, theta)

        x0 = tf.floor(src_x)
        y0 = tf.floor(src_y)
        wx1 = src_x - x0
        wy1 = src_y - y0
        wx0 = 1.0 - wx1
        wy0 = 1.0 - wy1

        # Zeros outside: the image gets a one-pixel zero border and every corner's index is
        # clipped into the bordered image, so a corner outside reads a border zero (no masks).
        # Indices are +1 for the border.
        padded_w = width + 2
        col0 = tf.clip_by_value(tf.cast(x0, tf.int32) + 1, 0, width + 1)
        col1 = tf.clip_by_value(tf.cast(x0, tf.int32) + 2, 0, width + 1)
        row0 = tf.clip_by_value(tf.cast(y0, tf.int32) + 1, 0, height + 1)
        row1 = tf.clip_by_value(tf.cast(y0, tf.int32) + 2, 0, height + 1)
        base = tf.range(batch)[:, None] * ((height + 2) * padded_w)
        flat = tf.reshape(tf.pad(images, [[0, 0], [1, 1], [1, 1], [0, 0]]), [-1, channels])

        def read(row, col):
            values = tf.gather(flat, tf.reshape(base + row * padded_w + col, [-1]))
            return tf.reshape(values, [batch, height * width, channels])

        out = (
            (wy0 * wx0)[:, :, None] * read(row0, col0)
            + (wy0 * wx1)[:, :, None] * read(row0, col1)
            + (wy1 * wx0)[:, :, None] * read(row1, col0)
            + (wy1 * wx1)[:, :, None] * read(row1, col1)
        )
        return tf.reshape(out, shape)

    def compute_output_shape(self, images_shape, theta_shape=None):
        return images_shape


def source_coordinates(images, theta):
    """Where every output pixel of :class:`AffineSpatialTransformer` reads: ``(src_x,
    src_y)``, each (batch, H*W) in array index units (row-major output pixels), for
    ``images`` (batch, H, W, C) and output-to-source maps ``theta`` (batch, 2, 3) in the
    layer's centred pixel coordinates."""
    images = tf.convert_to_tensor(images)
    theta = tf.cast(theta, images.dtype)
    shape = tf.shape(images)
    height, width = shape[1], shape[2]
    h_f = tf.cast(height, images.dtype)
    w_f = tf.cast(width, images.dtype)

    # Centred pixel coordinates of every output pixel, row-major: (H*W,).
    xs = tf.range(w_f, dtype=images.dtype) - (w_f - 1.0) / 2.0
    ys = tf.range(h_f, dtype=images.dtype) - (h_f - 1.0) / 2.0
    grid_x = tf.reshape(tf.tile(xs[None, :], [height, 1]), [-1])
    grid_y = tf.reshape(tf.tile(ys[:, None], [1, width]), [-1])

    # Source coordinates (batch, H*W), back in array index units.
    src_x = (
        theta[:, 0, 0:1] * grid_x[None, :]
        + theta[:, 0, 1:2] * grid_y[None, :]
        + theta[:, 0, 2:3]
        + (w_f - 1.0) / 2.0
    )
    src_y = (
        theta[:, 1, 0:1] * grid_x[None, :]
        + theta[:, 1, 1:2] * grid_y[None, :]
        + theta[:, 1, 2:3]
        + (h_f - 1.0) / 2.0
    )
    return src_x, src_y


def affine_theta(
    scale_x=None, scale_y=None, angle=None, translate_x=None, translate_y=None, size=(1, 1)
):
    """Output-to-source map for "scale, then rotate, then translate" a content image.

    The forward map sends a content point ``c`` to ``t + R(angle) S c``, with
    ``S = diag(scale_x, scale_y)``; ``R`` turns counter-clockwise *as displayed* (rows
    grow downwards), so a quarter turn of a square image equals ``np.rot90``.
    Translations are fractions of the half-size: ``translate_x = 1`` moves the content
    by ``(W - 1) / 2`` pixels to the right. Any argument left ``None`` is the identity.
    This returns the inverse, ``theta = [A | -A t]`` with ``A = S^-1 R^-1``, as
    :class:`AffineSpatialTransformer` expects.

    Args:
        scale_x, scale_y, angle, translate_x, translate_y: float tensors (batch,) or None.
        size: (H, W) of the images, for translations in pixels.

    Returns:
        float32 tensor (batch, 2, 3).
    """
    given = [v for v in (scale_x, scale_y, angle, translate_x, translate_y) if v is not None]
    if not given:
        raise ValueError("affine_theta needs at least one transform parameter")
    ref = tf.convert_to_tensor(given[0])
    ones = tf.ones_like(ref)
    zeros = tf.zeros_like(ref)

    def value(v, default):
        return default if v is None else tf.cast(v, ref.dtype)

    sx, sy = value(scale_x, ones), value(scale_y, ones)
    cos, sin = tf.cos(value(angle, zeros)), tf.sin(value(angle, zeros))
    height, width = size
    tx = value(translate_x, zeros) * (float(width) - 1.0) / 2.0
    ty = value(translate_y, zeros) * (float(height) - 1.0) / 2.0
    # Display-CCW rotation with y down: R = [[cos, sin], [-sin, cos]], R^-1 = R^T.
    a00, a01 = cos / sx, -sin / sx
    a10, a11 = sin / sy, cos / sy
    b0 = -(a00 * tx + a01 * ty)
    b1 = -(a10 * tx + a11 * ty)
    return tf.stack([tf.stack([a00, a01, b0], -1), tf.stack([a10, a11, b1], -1)], axis=1)
