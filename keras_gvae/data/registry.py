"""`load`: every dataset by name, from ``tensorflow_datasets`` or from local files.

| dataset  | tfds name | local files (``data_dir=``, CLI ``--data-dir``)           | labels (int32)               | preprocessing                             |
|----------|-----------|-----------------------------------------------------------|------------------------------|-------------------------------------------|
| shapes   | -         | none: rendered by ``keras_gvae.data.shapes``              | latents_classes (6,) or (K,) | 64x64x1 in {0, 1}                         |
| mnist    | mnist     | ``{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]``     | digit ()                     | 28x28x1                                   |
| dsprites | dsprites  | ``dsprites_ndarray_co1sh3sc6or40x32x32_64x64.npz`` or any | latents_classes (6,)         | 64x64x1, non-zero -> 1                    |
|          |           | npz with ``imgs`` and ``latents_classes``                 |                              |                                           |
| celeb_a  | celeb_a   | ``list_attr_celeba.txt`` or an attributes CSV, and        | 40 attributes in {0, 1},     | central square crop (178x178 of 218x178), |
|          |           | ``img_align_celeba/`` or a zip of the images              | or the ``attributes`` (K,)   | resize to 64x64x3                         |
| omniglot | omniglot  | ``images_background[_small1,_small2]``,                   | (alphabet, character) (2,)   | invert (strokes 1), resize 105 -> 28x28x1 |
|          |           | ``images_evaluation``: zips or folders                    |                              |                                           |

Details live in each dataset's module (`keras_gvae.data.mnist`, ``dsprites``, ``celeb_a``,
``omniglot``).

Every dataset yields batches ``(images, labels)``: images float32 (B, H, W, C) in [0, 1].
``source="auto"`` reads local files when ``data_dir`` (or its sub-folder named like the
dataset) holds them and ``tensorflow_datasets`` otherwise; when tfds cannot download or
prepare the data, `TFDSUnavailableError` names the local files to use instead. Resizing is
bilinear with antialiasing in both sources (they agree within one grey level).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence

import tensorflow as tf

from keras_gvae.data.celeb_a import load_celeb_a
from keras_gvae.data.dsprites import load_dsprites
from keras_gvae.data.loaders import (
    DEFAULT_SHUFFLE_BUFFER,
    ArrayExamples,
    DatasetError,
    StreamExamples,
    check_source,
    finish_pipeline,
    normalize_image_size,
    resize_image,
)
from keras_gvae.data.mnist import load_mnist
from keras_gvae.data.omniglot import load_omniglot

Loader = Callable[..., ArrayExamples | StreamExamples]


def load_shapes(
    split: str = "train",
    data_dir=None,
    source: str = "auto",
    image_size: int | tuple[int, int] | None = None,
    attributes: Sequence[str] | None = None,
    seed: int = 0,
    shuffle: bool = True,
    num_examples: int | None = None,
    variant: str = "shapes",
) -> StreamExamples:
    """Unbatched shapes from the embedded renderer (`keras_gvae.data.shapes.make_dataset`).

    Nothing is read from disk, so ``data_dir`` is ignored and ``source="tfds"`` is an error;
    there is a single split, "train". Latents are drawn i.i.d. uniformly from the grid; with
    ``num_examples=None`` the stream is endless and is neither cached nor shuffled (each
    example is already a fresh draw), with ``num_examples=N`` the same N examples come back
    every epoch, cached and reshuffled.
    """
    if source == "tfds":
        raise DatasetError("'shapes' is rendered by keras_gvae, it has no tfds source")
    if split != "train":
        raise DatasetError(f"'shapes' has one split, 'train'; got {split!r}")
    from keras_gvae.data.shapes import VARIANTS, make_dataset  # Lazy: imports only when used.

    ds = make_dataset(
        batch_size=None,
        seed=seed,
        attributes=attributes,
        num_examples=num_examples,
        factor_values=VARIANTS[variant],
    )
    size = normalize_image_size(image_size)
    if size is not None:
        ds = ds.map(lambda x, y: (resize_image(x, size), y), num_parallel_calls=tf.data.AUTOTUNE)
    return StreamExamples(ds, endless=num_examples is None)


LOADERS: dict[str, Loader] = {
    "shapes": load_shapes,
    # Squares and hearts at two scales, so "is_heart" and "large" are whole binary factors.
    "shapes_binary": functools.partial(load_shapes, variant="shapes_binary"),
    # The same, upright (orientation 0 only).
    "shapes_binary_upright": functools.partial(load_shapes, variant="shapes_binary_upright"),
    "mnist": load_mnist,
    "dsprites": load_dsprites,
    "celeb_a": load_celeb_a,
    "omniglot": load_omniglot,
}


def available_datasets() -> list[str]:
    """Names accepted by `load`."""
    return sorted(LOADERS)


def load(
    name: str,
    split: str = "train",
    data_dir: str | os.PathLike | None = None,
    batch_size: int | None = 64,
    shuffle: bool = True,
    seed: int = 0,
    cache: bool = True,
    image_size: int | tuple[int, int] | None = None,
    attributes: Sequence[str] | None = None,
    source: str = "auto",
    drop_remainder: bool = False,
    with_info: bool = False,
    **kwargs,
) -> tf.data.Dataset | tuple[tf.data.Dataset, dict]:
    """A batched, shuffled, cached and prefetched dataset of ``(images, labels)``.

    Args:
        name: str, one of `available_datasets()`: "shapes", "mnist", "dsprites", "celeb_a",
            "omniglot".
        split: str, e.g. "train", "test" ("validation" for celeb_a, "small1"/"small2" for
            omniglot). tfds slices such as "train[:10%]" work with the tfds source only.
        data_dir: str or Path, a folder of local files (or its parent, see the table above)
            or, for tfds, where prepared tfds data lives. Default None: tfds' default.
        batch_size: int, default 64; None yields single examples.
        shuffle: bool, default True: seeded shuffle, reshuffled every epoch (and tfds file
            shuffling).
        seed: int, default 0.
        cache: bool, default True: cache decoded, resized uint8 images of streamed (tfds)
            data in memory; local data is read into memory anyway.
        image_size: int or (height, width), resize to this size. Default None: the
            dataset's size (28 for mnist and omniglot, 64 for the others).
        attributes: list of str, for "celeb_a" and "shapes": the binary attributes to use
            as labels, in this order. Default None: all of them (celeb_a), latents (shapes).
        source: "auto" (default), "local" or "tfds".
        drop_remainder: bool, drop the last incomplete batch. Default False.
        with_info: bool, default False: also return a dict describing the dataset, as
            ``tfds.load(..., with_info=True)`` does: ``name``, ``split``, ``endless`` (an
            endless stream of fresh draws, the shapes) and the names of its labels
            (``attribute_names`` for CelebA, ``alphabet_names`` for Omniglot).
        **kwargs: ``shuffle_buffer`` (int, default 10000, buffer of streamed data); other
            keywords go to the dataset's loader (e.g. ``num_examples`` for shapes).

    Returns:
        tf.data.Dataset of (float32 (B, H, W, C) images in [0, 1], int32 labels), and the
        info dict when ``with_info=True``. For convenience the returned dataset also carries
        the label names as attributes (``ds.attribute_names`` for CelebA,
        ``ds.alphabet_names`` for Omniglot); they are lost by a further ``ds.map(...)``,
        while the info dict is not.

    Raises:
        DatasetError: unknown name, split, source or attribute; malformed files.
        DatasetNotFoundError: ``source="local"`` without the files, or a file missing.
        TFDSUnavailableError: tfds could not download or prepare the data.

    Example:
        >>> ds = load("mnist", data_dir="../shared/data", batch_size=128)
        >>> images, digits = next(iter(ds))
    """
    loader = LOADERS.get(name)
    if loader is None:
        raise DatasetError(
            f"unknown dataset {name!r}; available: {', '.join(available_datasets())}"
        )
    check_source(source)
    shuffle_buffer = kwargs.pop("shuffle_buffer", DEFAULT_SHUFFLE_BUFFER)
    examples = loader(
        split=split,
        data_dir=data_dir,
        source=source,
        image_size=image_size,
        attributes=attributes,
        seed=seed,
        shuffle=shuffle,
        **kwargs,
    )
    if isinstance(examples, tf.data.Dataset):
        examples = StreamExamples(examples)
    ds = finish_pipeline(
        examples,
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
        cache=cache,
        drop_remainder=drop_remainder,
        shuffle_buffer=shuffle_buffer,
    )
    if not with_info:
        return ds
    endless = isinstance(examples, StreamExamples) and examples.endless
    return ds, {"name": name, "split": split, "endless": endless, **examples.info}
