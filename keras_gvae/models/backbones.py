"""The Guided-VAE authors' convolutional encoders and decoders, as functional Keras models.

Two families, picked from the image shape by :func:`default_backbone`:

- 28x28 (MNIST): conv 64 k6 s2 -> conv 128 k5 -> conv 256 k5 (valid padding,
  28 -> 12 -> 8 -> 4), flattened; the decoder mirrors it with transposed convolutions.
- H x W divisible by 16 (64x64 dSprites/CelebA): conv 32, 32, 64, 64 with k4 s2 (same
  padding, 64 -> 32 -> 16 -> 8 -> 4), then conv 256 with a (H/16, W/16) kernel to 1x1;
  the decoder mirrors it. This is also the beta-VAE network of Higgins et al. (2017).

Encoders map images to a flat feature vector; the VAE owns the dense heads that turn the
features into ``z_mean`` and ``z_log_var``. Decoders map ``z`` to pixel *logits* shaped
like the images.
"""

from __future__ import annotations

import keras


def _check_shape(input_shape):
    shape = tuple(int(s) for s in input_shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"input_shape must be (height, width, channels); got {input_shape!r}")
    return shape


def mnist_encoder(input_shape=(28, 28, 1), name="encoder", dtype=None):
    """The authors' 28x28 encoder: conv 64 k6 s2, conv 128 k5, conv 256 k5, flatten."""
    inputs = keras.Input(shape=_check_shape(input_shape), name="images")
    x = keras.layers.Conv2D(64, 6, strides=2, activation="relu", name="conv_1", dtype=dtype)(inputs)
    x = keras.layers.Conv2D(128, 5, activation="relu", name="conv_2", dtype=dtype)(x)
    x = keras.layers.Conv2D(256, 5, activation="relu", name="conv_3", dtype=dtype)(x)
    x = keras.layers.Flatten(name="flatten", dtype=dtype)(x)
    return keras.Model(inputs, x, name=name)


def mnist_decoder(latent_dim, output_shape=(28, 28, 1), name="decoder", dtype=None):
    """Mirror of :func:`mnist_encoder`: dense 4x4x256, transposed convs to 28x28 logits."""
    shape = _check_shape(output_shape)
    inputs = keras.Input(shape=(int(latent_dim),), name="z")
    x = keras.layers.Dense(4 * 4 * 256, activation="relu", name="dense", dtype=dtype)(inputs)
    x = keras.layers.Reshape((4, 4, 256), name="reshape", dtype=dtype)(x)
    x = keras.layers.Conv2DTranspose(128, 5, activation="relu", name="deconv_1", dtype=dtype)(x)
    x = keras.layers.Conv2DTranspose(64, 5, activation="relu", name="deconv_2", dtype=dtype)(x)
    x = keras.layers.Conv2DTranspose(shape[-1], 6, strides=2, name="logits", dtype=dtype)(x)
    return keras.Model(inputs, x, name=name)


def conv64_encoder(input_shape=(64, 64, 1), name="encoder", dtype=None):
    """The authors' 64x64 encoder: conv 32, 32, 64, 64 (k4 s2), conv 256 to 1x1, flatten."""
    shape = _check_shape(input_shape)
    inputs = keras.Input(shape=shape, name="images")
    x = inputs
    for i, filters in enumerate((32, 32, 64, 64)):
        x = keras.layers.Conv2D(
            filters,
            4,
            strides=2,
            padding="same",
            activation="relu",
            name=f"conv_{i + 1}",
            dtype=dtype,
        )(x)
    x = keras.layers.Conv2D(
        256, (shape[0] // 16, shape[1] // 16), activation="relu", name="conv_5", dtype=dtype
    )(x)
    x = keras.layers.Flatten(name="flatten", dtype=dtype)(x)
    return keras.Model(inputs, x, name=name)


def conv64_decoder(latent_dim, output_shape=(64, 64, 1), name="decoder", dtype=None):
    """Mirror of :func:`conv64_encoder`, ending in pixel logits shaped ``output_shape``."""
    shape = _check_shape(output_shape)
    inputs = keras.Input(shape=(int(latent_dim),), name="z")
    x = keras.layers.Dense(256, activation="relu", name="dense", dtype=dtype)(inputs)
    x = keras.layers.Reshape((1, 1, 256), name="reshape", dtype=dtype)(x)
    x = keras.layers.Conv2DTranspose(
        64, (shape[0] // 16, shape[1] // 16), activation="relu", name="deconv_1", dtype=dtype
    )(x)
    for i, filters in enumerate((64, 32, 32)):
        x = keras.layers.Conv2DTranspose(
            filters,
            4,
            strides=2,
            padding="same",
            activation="relu",
            name=f"deconv_{i + 2}",
            dtype=dtype,
        )(x)
    x = keras.layers.Conv2DTranspose(
        shape[-1], 4, strides=2, padding="same", name="logits", dtype=dtype
    )(x)
    return keras.Model(inputs, x, name=name)


def default_backbone(input_shape, latent_dim, dtype=None):
    """Returns ``(encoder, decoder)`` for ``input_shape``: the 28x28 or the /16 family.

    ``dtype`` (a dtype policy or its name, default the global policy) is given to every
    layer, so a model can build its backbone in its own policy (e.g. "mixed_bfloat16").

    Raises:
        ValueError: for other shapes, naming the supported ones and how to pass your own.
    """
    shape = _check_shape(input_shape)
    if shape[:2] == (28, 28):
        return mnist_encoder(shape, dtype=dtype), mnist_decoder(latent_dim, shape, dtype=dtype)
    if shape[0] % 16 == 0 and shape[1] % 16 == 0:
        return conv64_encoder(shape, dtype=dtype), conv64_decoder(latent_dim, shape, dtype=dtype)
    raise ValueError(
        f"No built-in backbone for images of shape {shape}: the built-in networks take "
        "28x28 images, or heights and widths divisible by 16 (e.g. 32x32, 64x64). "
        "Pass encoder= and decoder= Keras models for other shapes."
    )
