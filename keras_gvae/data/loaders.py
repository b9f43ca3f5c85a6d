"""Shared machinery of the dataset loaders: errors, source choice, resizing and the pipeline.

Each dataset module (``mnist``, ``dsprites``, ``celeb_a``, ``omniglot``) turns a split into
*unbatched* examples, either as in-memory arrays (`ArrayExamples`, from local files) or as a
``tf.data.Dataset`` stream (from ``tensorflow_datasets``). `finish_pipeline` then applies the
same caching, seeded shuffling, batching, float conversion and prefetching to both.

Images travel as uint8 in [0, 255] up to the batch and are converted to float32 in [0, 1]
after caching and batching, so that caches hold a quarter of the bytes.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import tensorflow as tf
from PIL import Image

from keras_gvae.errors import ParameterError

SOURCES = ("auto", "local", "tfds")
DEFAULT_SHUFFLE_BUFFER = 10_000


class DatasetError(ValueError):
    """A dataset file or argument cannot be used; the message names the file and the fix."""


class DatasetParameterError(DatasetError, ParameterError):
    """A bad value of one loader argument, named by ``parameter`` (``image_size``...)."""


class DatasetNotFoundError(DatasetError, FileNotFoundError):
    """A file the dataset needs is missing; the message lists the files expected and where."""


class TFDSUnavailableError(DatasetError):
    """``tensorflow_datasets`` could not download or prepare a dataset (e.g. offline machine).

    The message says which local files ``data_dir=`` would read instead.
    """

    parameter = "data_dir"  # named in the message (see keras_gvae.errors.ParameterError)


@dataclasses.dataclass
class ArrayExamples:
    """Unbatched examples held in memory.

    Args:
        images: np.ndarray (N, H, W, C), uint8 in [0, 255] or float32 in [0, 1].
        labels: np.ndarray (N, ...) or None for unlabelled data.
        info: names to attach to the final dataset as attributes (e.g. ``class_names``).
    """

    images: np.ndarray
    labels: np.ndarray | None = None
    info: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class StreamExamples:
    """Unbatched examples streamed by a ``tf.data.Dataset`` (tfds, the shapes renderer).

    Args:
        dataset: tf.data.Dataset of unbatched ``(image, labels)``.
        info: names describing the labels (e.g. ``attribute_names``), as for `ArrayExamples`.
        endless: bool, an endless stream of independent random draws, which
            `finish_pipeline` neither caches nor shuffles.
    """

    dataset: tf.data.Dataset
    info: dict = dataclasses.field(default_factory=dict)
    endless: bool = False


def normalize_image_size(image_size: int | Sequence[int] | None) -> tuple[int, int] | None:
    """``None``, an int ``S`` (-> (S, S)) or ``(H, W)``; anything else is a `DatasetError`."""
    if image_size is None:
        return None
    try:
        if isinstance(image_size, (int, np.integer)):
            size = (int(image_size), int(image_size))
        else:
            size = tuple(int(s) for s in image_size)
    except (TypeError, ValueError):
        size = ()
    if len(size) != 2 or min(size) < 1:
        raise DatasetParameterError(
            "image_size",
            f"image_size must be a positive int or (height, width), got {image_size!r}",
        )
    return size


def check_source(source: str) -> None:
    if source not in SOURCES:
        raise DatasetError(f"source must be one of {SOURCES}, got {source!r}")


def check_split(name: str, split: str, splits: Sequence[str], local: bool) -> None:
    """Validates a split before it reaches tfds or a local reader.

    TFDS accepts slices and unions (``"train[:10%]+test"``); local readers read whole splits.
    """
    if local:
        if split not in splits:
            raise DatasetError(
                f"{name}: local files provide the splits {list(splits)}, got {split!r} "
                "(slices like 'train[:10%]' are only supported with source='tfds')"
            )
        return
    for part in str(split).split("+"):
        base = part.split("[")[0].strip()
        if base not in splits:
            raise DatasetError(f"{name}: unknown split {split!r}; valid splits are {list(splits)}")


def reject_attributes(name: str, attributes: Sequence[str] | None) -> None:
    if attributes is not None:
        raise DatasetError(
            f"attributes= selects binary attributes of 'celeb_a' and 'shapes'; {name!r} has none"
        )


def candidate_dirs(data_dir: str | os.PathLike | None, aliases: Iterable[str]) -> list[Path]:
    """``data_dir`` and its sub-folders named like the dataset, in search order.

    Lets ``--data-dir ../shared/data`` find ``../shared/data/mnist/...``.
    """
    if data_dir is None:
        return []
    root = check_data_dir(data_dir)
    return [d for d in [root, *(root / alias for alias in aliases)] if d.is_dir()]


def check_data_dir(data_dir: str | os.PathLike) -> Path:
    """``data_dir`` as a Path; a `DatasetNotFoundError` at once if it does not exist.

    Every loader checks here before it looks for files or hands ``data_dir`` to tfds, which
    would otherwise create it and start downloading into it.
    """
    root = Path(data_dir).expanduser()
    if not root.exists():
        raise DatasetNotFoundError(
            f"data_dir {str(data_dir)!r} does not exist; expected a folder holding the "
            "dataset's files (or pass no data_dir to use tensorflow_datasets' default folder)"
        )
    return root


def use_local_files(
    name: str,
    source: str,
    data_dir: str | os.PathLike | None,
    found: Path | None,
    expected: str,
) -> bool:
    """True to read local files, False for tfds; `DatasetNotFoundError` if local is impossible."""
    check_source(source)
    if source == "tfds":
        return False
    if found is not None:
        return True
    if source == "local":
        where = f"in {data_dir} or its dataset sub-folders" if data_dir else "(no data_dir given)"
        raise DatasetNotFoundError(f"{name}: source='local' needs {expected} {where}")
    return False


def tfds_load(
    tfds_name: str,
    split: str,
    data_dir: str | os.PathLike | None,
    shuffle: bool,
    seed: int,
    expected: str,
    searched: bool = False,
) -> tf.data.Dataset:
    """``tfds.load`` whose failures (no network, no prepared data) say what to do offline.

    ``searched`` says that ``data_dir`` was looked through for local files first; then tfds
    only reads data already prepared in ``data_dir`` and downloads nothing into it (a folder
    of the user's files is not a download cache). ``data_dir`` must exist.
    """
    import tensorflow_datasets as tfds

    if data_dir is not None:
        check_data_dir(data_dir)
    try:
        return tfds.load(
            tfds_name,
            split=split,
            data_dir=None if data_dir is None else str(data_dir),
            shuffle_files=shuffle,
            read_config=tfds.ReadConfig(shuffle_seed=seed),
            download=data_dir is None or not searched,
        )
    except Exception as err:  # tfds raises many types: download, checksum, OS, assertion.
        looked = (
            f" No local files were found in {data_dir}, nor data prepared there by tfds "
            "(which downloads nothing into a data_dir searched for local files)."
            if searched and data_dir
            else ""
        )
        raise TFDSUnavailableError(
            f"tensorflow_datasets could not load or prepare {tfds_name!r} split {split!r} "
            f"({type(err).__name__}: {err}).{looked} Without network access, pass "
            f"data_dir= pointing at a folder holding {expected}."
        ) from err


def center_crop_square(image: tf.Tensor) -> tf.Tensor:
    """Central square crop of side ``min(H, W)`` of an (H, W, C) image.

    On a 218x178 CelebA image this is the 178x178 crop at row 20 used by the Guided-VAE code.
    """
    shape = tf.shape(image)
    side = tf.minimum(shape[0], shape[1])
    top = (shape[0] - side) // 2
    left = (shape[1] - side) // 2
    return image[top : top + side, left : left + side]


def resize_image(image: tf.Tensor, size: tuple[int, int] | None) -> tf.Tensor:
    """Resizes (H, W, C) or (N, H, W, C) images to ``size``; uint8 stays uint8 (rounded).

    Bilinear with antialiasing, which averages every source pixel under a target pixel when
    downscaling (178 -> 64, 105 -> 28). It matches Pillow's ``BILINEAR`` used by the local
    readers (`resize_array`) within one grey level, so both sources preprocess alike.
    """
    if size is None:
        return image
    resized = tf.image.resize(image, size, method="bilinear", antialias=True)
    if image.dtype == tf.uint8:
        return tf.cast(tf.clip_by_value(tf.round(resized), 0.0, 255.0), tf.uint8)
    return tf.cast(resized, image.dtype)


def resize_array(image: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    """Pillow twin of `resize_image` for one uint8 (H, W, C) array, C in {1, 3}."""
    if size is None or image.shape[:2] == size:
        return image
    pil = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)
    out = np.asarray(pil.resize((size[1], size[0]), Image.BILINEAR))
    return out[..., None] if out.ndim == 2 else out


def resize_arrays(images: Sequence[np.ndarray], size: tuple[int, int]) -> np.ndarray:
    """Resizes uint8 (H, W, C) arrays, possibly of different sizes, into one (N, *size, C)."""
    out = np.empty((len(images), *size, images[0].shape[-1]), np.uint8)
    for i, image in enumerate(images):
        out[i] = resize_array(image, size)
    return out


def center_crop_array(image: np.ndarray) -> np.ndarray:
    """NumPy twin of `center_crop_square`."""
    height, width = image.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    return image[top : top + side, left : left + side]


def to_unit_float(images: tf.Tensor) -> tf.Tensor:
    """uint8 [0, 255] -> float32 [0, 1]; float images are only cast to float32."""
    if images.dtype == tf.uint8:
        return tf.cast(images, tf.float32) / 255.0
    return tf.cast(images, tf.float32)


def finish_pipeline(
    examples: ArrayExamples | StreamExamples | tf.data.Dataset,
    batch_size: int | None = 64,
    shuffle: bool = True,
    seed: int = 0,
    cache: bool = True,
    drop_remainder: bool = False,
    shuffle_buffer: int = DEFAULT_SHUFFLE_BUFFER,
) -> tf.data.Dataset:
    """Caches, shuffles (seeded), batches, converts to float32 and prefetches with AUTOTUNE.

    In-memory arrays are shuffled exactly (a permutation of indices, reshuffled each epoch)
    and gathered per batch, so nothing is copied and ``cache`` has nothing to add. Streams
    (tfds) are cached after decoding and resizing, then shuffled with a buffer of
    ``min(shuffle_buffer, size)`` elements. Endless streams of independent random draws
    (``StreamExamples(endless=True)``) are neither cached nor shuffled: each element is
    already a fresh uniform draw. ``batch_size=None`` yields single examples.

    The examples' ``info`` names are set as attributes of the returned dataset (e.g.
    ``ds.attribute_names``) for convenience; they do not survive a further ``.map()``, so
    code that transforms the dataset should keep ``examples.info`` (or
    ``keras_gvae.data.load(..., with_info=True)``'s) instead.
    """
    if batch_size is not None and (not isinstance(batch_size, (int, np.integer)) or batch_size < 1):
        raise DatasetError(f"batch_size must be a positive int or None, got {batch_size!r}")
    autotune = tf.data.AUTOTUNE
    if isinstance(examples, ArrayExamples):
        images = tf.convert_to_tensor(examples.images)
        labels = None if examples.labels is None else tf.convert_to_tensor(examples.labels)
        num = int(examples.images.shape[0])
        ds = tf.data.Dataset.range(num)
        if shuffle:
            ds = ds.shuffle(max(num, 1), seed=seed, reshuffle_each_iteration=True)
        if batch_size is not None:
            ds = ds.batch(batch_size, drop_remainder=drop_remainder)

        def gather(index):
            batch = to_unit_float(tf.gather(images, index))
            return batch if labels is None else (batch, tf.gather(labels, index))

        ds = ds.map(gather, num_parallel_calls=autotune)
        info = examples.info
    else:
        if isinstance(examples, tf.data.Dataset):
            examples = StreamExamples(examples)
        ds, endless = examples.dataset, examples.endless
        if cache and not endless:
            ds = ds.cache()
        if shuffle and not endless:
            size = int(ds.cardinality())
            buffer = shuffle_buffer if size < 1 else max(1, min(shuffle_buffer, size))
            ds = ds.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)
        if batch_size is not None:
            ds = ds.batch(batch_size, drop_remainder=drop_remainder)
        ds = ds.map(lambda x, y: (to_unit_float(x), y), num_parallel_calls=autotune)
    info = examples.info
    ds = ds.prefetch(autotune)
    for key, value in info.items():
        setattr(ds, key, value)
    return ds
