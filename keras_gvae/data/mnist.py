"""MNIST from ``tensorflow_datasets`` or from the original idx files (gzipped or not).

Local files, in ``data_dir`` or ``data_dir/mnist``: ``train-images-idx3-ubyte``,
``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``, each
optionally ``.gz``. The idx header (magic number, dimensions) and the file size are
validated. Images (N, 28, 28, 1) uint8; labels the digit, int32.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np
import tensorflow as tf

from keras_gvae.data.loaders import (
    ArrayExamples,
    DatasetError,
    DatasetNotFoundError,
    candidate_dirs,
    check_split,
    normalize_image_size,
    reject_attributes,
    resize_arrays,
    resize_image,
    tfds_load,
    use_local_files,
)

TFDS_NAME = "mnist"
SPLITS = ("train", "test")
FILE_PREFIXES = {"train": "train", "test": "t10k"}
IMAGES_MAGIC = 2051  # 0x00000803: unsigned bytes, 3 dimensions.
LABELS_MAGIC = 2049  # 0x00000801: unsigned bytes, 1 dimension.
ALIASES = ("mnist", "MNIST", "MNIST/raw")
EXPECTED_FILES = (
    "train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], "
    "t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz]"
)


def idx_file_names(split: str) -> tuple[str, str]:
    """Base names (without ``.gz``) of the images and labels files of ``split``."""
    prefix = FILE_PREFIXES[split]
    return f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"


def _find(directory: Path, base: str) -> Path | None:
    for name in (base, base + ".gz"):
        if (directory / name).is_file():
            return directory / name
    return None


def find_mnist_dir(data_dir: str | os.PathLike | None, split: str) -> Path | None:
    """The first candidate folder holding the images file of ``split``, or None."""
    images_name = idx_file_names(split)[0]
    for directory in candidate_dirs(data_dir, ALIASES):
        if _find(directory, images_name) is not None:
            return directory
    return None


def read_idx(path: str | os.PathLike, magic: int, kind: str) -> np.ndarray:
    """Reads an idx file of unsigned bytes (gzipped if the name ends in ``.gz``).

    Args:
        path: the file.
        magic: expected magic number, `IMAGES_MAGIC` or `LABELS_MAGIC`.
        kind: "images" or "labels", for messages.

    Returns:
        uint8 array of the dimensions stated in the header.

    Raises:
        DatasetNotFoundError: the file does not exist.
        DatasetError: bad gzip stream, wrong magic number, or size not matching the header.
    """
    path = Path(path)
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                data = f.read()
        else:
            data = path.read_bytes()
    except FileNotFoundError as err:
        raise DatasetNotFoundError(f"{path}: file not found") from err
    except (OSError, EOFError, zlib.error) as err:
        raise DatasetError(f"{path.name}: not a complete gzip file ({err})") from err
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(data) < 4:
        raise DatasetError(
            f"{path.name}: expected an idx header of {header} bytes, got {len(data)}"
        )
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        raise DatasetError(
            f"{path.name}: magic number {found} (0x{found:08x}), expected {magic} "
            f"(0x{magic:08x}) for MNIST {kind}; is this the right file?"
        )
    if len(data) < header:
        raise DatasetError(
            f"{path.name}: expected an idx header of {header} bytes, got {len(data)}"
        )
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    expected = header + int(np.prod(dims))
    if len(data) != expected:
        raise DatasetError(
            f"{path.name}: expected {expected} bytes of {'x'.join(map(str, dims))} {kind}, "
            f"got {len(data)}"
        )
    return np.frombuffer(data, np.uint8, offset=header).reshape(dims)


def read_mnist(directory: str | os.PathLike, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Reads one split from idx files in ``directory``.

    Returns:
        images uint8 (N, 28, 28, 1) and labels int32 (N,).
    """
    check_split(TFDS_NAME, split, SPLITS, local=True)
    directory = Path(directory)
    paths = []
    for base in idx_file_names(split):
        path = _find(directory, base)
        if path is None:
            raise DatasetNotFoundError(f"{directory}: missing {base} or {base}.gz (MNIST {split})")
        paths.append(path)
    images = read_idx(paths[0], IMAGES_MAGIC, "images")
    labels = read_idx(paths[1], LABELS_MAGIC, "labels")
    if len(images) != len(labels):
        raise DatasetError(
            f"{paths[0].name} holds {len(images)} images but {paths[1].name} "
            f"holds {len(labels)} labels"
        )
    return images[..., None], labels.astype(np.int32)


def load_mnist(
    split: str = "train",
    data_dir: str | os.PathLike | None = None,
    source: str = "auto",
    image_size: int | tuple[int, int] | None = None,
    attributes=None,
    seed: int = 0,
    shuffle: bool = True,
) -> ArrayExamples | tf.data.Dataset:
    """Unbatched MNIST: uint8 (28, 28, 1) images (or ``image_size``), int32 digit labels."""
    reject_attributes(TFDS_NAME, attributes)
    size = normalize_image_size(image_size)
    if source == "local":
        check_split(TFDS_NAME, split, SPLITS, local=True)
    found = find_mnist_dir(data_dir, split) if split in SPLITS else None
    if use_local_files(TFDS_NAME, source, data_dir, found, EXPECTED_FILES):
        images, labels = read_mnist(found, split)
        if size is not None and size != images.shape[1:3]:
            images = resize_arrays(images, size)
        return ArrayExamples(images, labels)
    check_split(TFDS_NAME, split, SPLITS, local=False)
    ds = tfds_load(
        TFDS_NAME, split, data_dir, shuffle, seed, EXPECTED_FILES, searched=source == "auto"
    )
    return ds.map(
        lambda ex: (resize_image(ex["image"], size), tf.cast(ex["label"], tf.int32)),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
