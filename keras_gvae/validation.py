"""What the tensors given to a model must be: image batches, codes and unit indices.

The one place for the input checks of the models' methods and steps (:class:`keras_gvae.VAE`)
and of the SavedModel signatures (:mod:`keras_gvae.export.saved_model`). Two kinds:

- Static checks of rank, sizes and dtype raise ``ValueError`` at once, when a tensor's
  static shape already breaks them (:func:`check_images`, :func:`check_codes`).
- Value checks are graph assertions (they hold inside ``tf.function`` and a loaded
  SavedModel): no NaN or Inf (:func:`assert_finite`) and, for the Bernoulli likelihood,
  pixels in [0, 1] (:func:`assert_pixels_in_unit_interval`). They raise
  ``tf.errors.InvalidArgumentError`` when the tensor is computed, with a one-line message
  that starts with ``keras_gvae:``. :func:`signature_input`, :func:`signature_images` and
  :func:`signature_unit` add the run-time shape checks a signature needs.

Imports nothing of keras_gvae (the core's models and the export both use it).
"""

from __future__ import annotations

import tensorflow as tf

PREFIX = "keras_gvae: "
# Where a Bernoulli model meets pixels outside [0, 1], most often uint8 images.
SCALE_HINT = "(scale uint8 images by 1/255)"
BATCH_NOT_FINITE = "the batch contains NaN or Inf values"
CODES_NOT_FINITE = "the codes contain NaN or Inf values"
PIXELS_EXPECTED = f"the Bernoulli likelihood expects pixel values in [0, 1] {SCALE_HINT}"


# ---------------------------------------------------------------------- static checks
def check_images(x, image_shape, owner):
    """``x`` as a float32 tensor, after checking its static shape against
    ``(batch, *image_shape)`` (unknown sizes pass) and that it is numeric.

    Args:
        x: array-like, a batch of images.
        image_shape: tuple (H, W, C).
        owner: str, who expects them (a class name), for the message.

    Raises:
        ValueError: a dtype that is not numeric, or a shape that is not the images'.
    """
    x = tf.convert_to_tensor(x)
    if not (x.dtype.is_floating or x.dtype.is_integer):
        raise ValueError(f"images must be numeric; got dtype {x.dtype.name}")
    if x.shape.rank != 4 or any(
        s is not None and s != e for s, e in zip(x.shape[1:], image_shape, strict=True)
    ):
        hint = " (add a channel axis: x[..., None])" if x.shape.rank == 3 else ""
        raise ValueError(
            f"{owner} expects images shaped (batch, {', '.join(map(str, image_shape))}); "
            f"got {tuple(x.shape)}{hint}"
        )
    return tf.cast(x, tf.float32)


def check_codes(z, latent_dim):
    """``z`` as a float32 tensor, after checking its static shape against
    ``(batch, latent_dim)``; a ValueError otherwise."""
    z = tf.convert_to_tensor(z, dtype=tf.float32)
    if z.shape.rank != 2 or (z.shape[-1] is not None and z.shape[-1] != latent_dim):
        raise ValueError(f"z must have shape (batch, {latent_dim}); got {tuple(z.shape)}")
    return z


# ---------------------------------------------------------------------- value checks
def assert_finite(t, message):
    """``t`` with a graph assertion that it holds no NaN or Inf; the error's message is
    ``"keras_gvae: " + message``."""
    return tf.debugging.assert_all_finite(t, PREFIX + message)


def assert_pixels_in_unit_interval(x, below=None, above=None):
    """``x`` with graph assertions that every value is in [0, 1] (the Bernoulli likelihood's
    pixels). ``below`` and ``above`` are the messages (after ``keras_gvae:``) for a value
    below 0 and above 1; by default they say which bound was crossed."""
    below = below or f"{PIXELS_EXPECTED}; found a value below 0"
    above = above or f"{PIXELS_EXPECTED}; found a value above 1"
    with tf.control_dependencies(
        [
            tf.debugging.assert_greater_equal(x, 0.0, message=PREFIX + below),
            tf.debugging.assert_less_equal(x, 1.0, message=PREFIX + above),
        ]
    ):
        return tf.identity(x)


def assert_image_values(x, bernoulli):
    """A batch of images ``x`` with the value checks of a model's inputs: finite and, for
    the Bernoulli likelihood (``bernoulli``), in [0, 1]."""
    x = assert_finite(x, BATCH_NOT_FINITE)
    return assert_pixels_in_unit_interval(x) if bernoulli else x


# ---------------------------------------------------------------------- signatures
def signature_input(t, name, shape):
    """A signature's input ``t`` after run-time checks of its shape (None: any size) and,
    for floats, finiteness ("keras_gvae: <name> must be finite; it contains NaN or Inf").

    A signature's TensorSpec fixes the graph's static shape, but a loaded signature
    function (and a model server) still accepts tensors of other shapes at run time.
    Assertions computed from ``tf.shape`` are constant-folded away against the static
    shape; ``tf.ensure_shape`` is not, and fails with "Shape of tensor <name> [...] is not
    compatible with expected shape [...]".
    """
    t = tf.ensure_shape(t, shape, name=name)
    if t.dtype.is_floating:
        t = assert_finite(t, f"{name} must be finite; it contains NaN or Inf")
    return t


def signature_images(x, image_shape, bernoulli):
    """A signature's images ``x`` (batch, *image_shape) after :func:`signature_input` and,
    for the Bernoulli likelihood, the check that its pixels are in [0, 1]."""
    x = signature_input(x, "x", (None, *image_shape))
    if not bernoulli:
        return x
    message = f"x must hold pixel values in [0, 1] for the Bernoulli likelihood {SCALE_HINT}"
    return assert_pixels_in_unit_interval(x, below=message, above=message)


def signature_unit(unit, latent_dim):
    """A signature's unit index (an int32 scalar) after checking it is in
    ``[0, latent_dim)``."""
    unit = signature_input(unit, "unit", ())
    in_range = tf.reduce_all((unit >= 0) & (unit < latent_dim))
    message = f"{PREFIX}unit must be in [0, latent_dim) = [0, {latent_dim}); got"
    with tf.control_dependencies([tf.debugging.Assert(in_range, [message, unit])]):
        return tf.identity(unit)
