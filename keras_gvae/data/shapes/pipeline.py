"""The shapes as a ``tf.data`` pipeline: latents sampled in seeded chunks, rendered in numpy."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from keras_gvae.data.shapes.factors import (
    FACTOR_SIZES,
    IMAGE_SIZE,
    _attribute_matrix,
    _check_attribute_names,
    _check_factor_values,
    sample_latents_classes,
)
from keras_gvae.data.shapes.renderer import render

if TYPE_CHECKING:
    import tensorflow as tf


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
