"""User images: a folder (or zip) of image files, or NumPy arrays, as a batched dataset.

`ImageFiles` and `decode_images` are also the readers behind the local CelebA and Omniglot
loaders. Every file is decoded eagerly with Pillow when the dataset is built, so unreadable
files, mixed sizes and mixed channel counts are reported up front with their file names
instead of being dropped or failing in the middle of an epoch.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import tensorflow as tf
from PIL import Image

from keras_gvae.data.loaders import (
    ArrayExamples,
    DatasetError,
    DatasetNotFoundError,
    finish_pipeline,
    normalize_image_size,
    resize_arrays,
)

IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
COLOR_MODES = {"grayscale": "L", "rgb": "RGB", "auto": None}
# Pillow modes that hold one grey channel (possibly with alpha, dropped on conversion).
_GRAY_MODES = {"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}
_CHUNK = 512


class ImageFiles:
    """The image files of a folder (searched recursively) or of a zip archive.

    Names are relative POSIX paths, sorted; hidden files and ``__MACOSX`` entries are skipped.

    Args:
        path: str or Path, a folder or a ``.zip`` file.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path).expanduser()
        if not self.path.exists():
            raise DatasetNotFoundError(f"{self.path}: no such folder or zip of images")
        self._zip = None
        if self.path.is_dir():
            names = [
                p.relative_to(self.path).as_posix() for p in self.path.rglob("*") if p.is_file()
            ]
        else:
            try:
                self._zip = zipfile.ZipFile(self.path)
            except (zipfile.BadZipFile, OSError) as err:
                raise DatasetError(f"{self.path}: not a readable zip archive ({err})") from err
            names = [n for n in self._zip.namelist() if not n.endswith("/")]
        self.names = sorted(n for n in names if _is_image_name(n))

    def read(self, name: str) -> bytes:
        try:
            if self._zip is not None:
                return self._zip.read(name)
            return (self.path / name).read_bytes()
        except (OSError, KeyError, zipfile.BadZipFile) as err:
            raise DatasetError(f"{self.describe(name)}: cannot read file ({err})") from err

    def describe(self, name: str) -> str:
        """A name for messages: ``folder/a.png`` or ``archive.zip:a.png``."""
        return f"{self.path}:{name}" if self._zip is not None else str(self.path / name)


def _is_image_name(name: str) -> bool:
    parts = name.split("/")
    if any(p.startswith(".") or p == "__MACOSX" for p in parts):
        return False
    return name.lower().endswith(IMAGE_EXTENSIONS)


def decode_image(data: bytes, name: str, mode: str | None = None) -> np.ndarray:
    """Decodes image bytes to uint8 (H, W, C), converted to Pillow ``mode`` ("L", "RGB").

    With ``mode=None`` the file keeps one channel if it is grey and gets three otherwise.
    Raises `DatasetError` naming ``name`` if the file is not a complete, readable image.
    """
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            target = mode or ("L" if image.mode in _GRAY_MODES else "RGB")
            array = np.asarray(image.convert(target), dtype=np.uint8)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise DatasetError(f"{name}: not a readable image ({err})") from err
    return array[..., None] if array.ndim == 2 else array


def image_channels(data: bytes, name: str) -> int:
    """1 for grey files, 3 for colour ones, from the header only."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            return 1 if image.mode in _GRAY_MODES else 3
    except (OSError, SyntaxError, ValueError) as err:
        raise DatasetError(f"{name}: not a readable image ({err})") from err


def decode_images(
    files: ImageFiles,
    names: Sequence[str],
    mode: str | None,
    transform: Callable[[np.ndarray, str], np.ndarray] | None = None,
) -> list[np.ndarray]:
    """Decodes ``names`` of ``files`` in order, then applies ``transform(array, file_label)``.

    Decoding and ``transform`` run in a few threads (Pillow releases the GIL); reading the
    bytes stays on the calling thread.
    """

    def work(blob: bytes, label: str) -> np.ndarray:
        array = decode_image(blob, label, mode)
        return array if transform is None else transform(array, label)

    out: list[np.ndarray] = []
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        for start in range(0, len(names), _CHUNK):
            chunk = names[start : start + _CHUNK]
            blobs = [files.read(n) for n in chunk]
            out.extend(pool.map(work, blobs, [files.describe(n) for n in chunk]))
    return out


def stack_images(
    arrays: Sequence[np.ndarray],
    labels: Sequence[str],
    image_size: tuple[int, int] | None,
) -> np.ndarray:
    """One uint8 (N, H, W, C) array; resized to ``image_size`` or all sizes must agree."""
    if image_size is not None:
        return resize_arrays(arrays, image_size)
    by_shape: dict[tuple[int, ...], list[str]] = {}
    for array, label in zip(arrays, labels, strict=True):
        by_shape.setdefault(array.shape, []).append(label)
    if len(by_shape) > 1:
        raise DatasetError(
            "images have mixed sizes: "
            + "; ".join(
                f"{h}x{w}x{c} ({len(files)} files, e.g. {', '.join(files[:3])})"
                for (h, w, c), files in by_shape.items()
            )
            + ". Pass image_size= to resize them all."
        )
    return np.stack(arrays)


def from_directory(
    path: str | os.PathLike,
    image_size: int | Sequence[int] | None = None,
    color_mode: str = "auto",
    labels: str | None = "inferred",
    batch_size: int | None = 64,
    shuffle: bool = True,
    seed: int = 0,
    drop_remainder: bool = False,
) -> tf.data.Dataset:
    """A batched dataset of the images in a folder (or a zip of images).

    With ``labels="inferred"`` the immediate sub-folders are the classes: label ``i`` is the
    ``i``-th sub-folder name in sorted order, images are searched recursively inside each
    (files directly in ``path`` are ignored), batches are ``(images, labels)`` with int32
    labels, and ``ds.class_names`` lists the sub-folders. With ``labels=None`` every image
    under ``path`` is used and batches are images only.

    Args:
        path: str or Path, a folder or a ``.zip`` of ``.png/.jpg/.jpeg/.bmp/.gif`` files.
        image_size: int or (height, width), size to area-resize every image to. Default
            None: keep the files' size, which must then be the same for all files.
        color_mode: str, "grayscale" (1 channel), "rgb" (3 channels) or "auto" (default:
            1 channel if every file is grey, 3 if every file is colour, an error naming
            files of each kind if they are mixed).
        labels: "inferred" (default) or None.
        batch_size: int or None (unbatched), default 64.
        shuffle: bool, shuffle with ``seed`` (reshuffled each epoch). Default True.
        seed: int, default 0.
        drop_remainder: bool, drop the last incomplete batch. Default False.

    Returns:
        tf.data.Dataset of float32 (B, H, W, C) images in [0, 1] (and int32 (B,) labels).

    Example:
        >>> ds = from_directory("digits/", image_size=28, color_mode="grayscale")
    """
    if color_mode not in COLOR_MODES:
        raise DatasetError(f"color_mode must be one of {list(COLOR_MODES)}, got {color_mode!r}")
    if labels not in ("inferred", None):
        raise DatasetError(f"labels must be 'inferred' or None, got {labels!r}")
    size = normalize_image_size(image_size)
    files = ImageFiles(path)
    names = files.names
    class_names: list[str] = []
    if labels == "inferred":
        names = [n for n in names if "/" in n]
        class_names = sorted({n.split("/")[0] for n in names})
    if not names:
        layout = "class sub-folders holding " if labels == "inferred" else ""
        hint = " (labels=None reads a flat folder)" if labels == "inferred" else ""
        raise DatasetNotFoundError(
            f"{files.path}: found no {layout}image files ({', '.join(IMAGE_EXTENSIONS)}){hint}"
        )
    mode = COLOR_MODES[color_mode] or _common_mode(files, names)
    arrays = decode_images(files, names, mode)
    images = stack_images(arrays, [files.describe(n) for n in names], size)
    examples = ArrayExamples(images)
    if labels == "inferred":
        index = {name: i for i, name in enumerate(class_names)}
        examples.labels = np.array([index[n.split("/")[0]] for n in names], np.int32)
        examples.info = {"class_names": class_names}
    return finish_pipeline(examples, batch_size, shuffle, seed, drop_remainder=drop_remainder)


def _common_mode(files: ImageFiles, names: Sequence[str]) -> str:
    by_channels: dict[int, list[str]] = {}
    for name in names:
        channels = image_channels(files.read(name), files.describe(name))
        by_channels.setdefault(channels, []).append(files.describe(name))
    if len(by_channels) > 1:
        raise DatasetError(
            "images have mixed channel counts: "
            + "; ".join(
                f"{c} channel(s) ({len(f)} files, e.g. {', '.join(f[:3])})"
                for c, f in sorted(by_channels.items())
            )
            + ". Pass color_mode='grayscale' or 'rgb' to convert them all."
        )
    return "L" if 1 in by_channels else "RGB"


def from_numpy(
    images: np.ndarray,
    labels: np.ndarray | None = None,
    batch_size: int | None = 64,
    shuffle: bool = True,
    seed: int = 0,
    drop_remainder: bool = False,
) -> tf.data.Dataset:
    """A batched dataset of user arrays.

    Args:
        images: np.ndarray (N, H, W) or (N, H, W, C) with C in {1, 3}; uint8 in [0, 255]
            (divided by 255) or floating point in [0, 1] (cast to float32). Any other dtype,
            rank, channel count or range raises `DatasetError`.
        labels: optional np.ndarray (N, ...) of integers or booleans (-> int32) or floats
            (-> float32). Without labels the batches are images only.
        batch_size: int or None (unbatched), default 64.
        shuffle: bool, exact seeded shuffle reshuffled each epoch. Default True.
        seed: int, default 0.
        drop_remainder: bool, default False.

    Returns:
        tf.data.Dataset of float32 (B, H, W, C) images in [0, 1] (and labels).
    """
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise DatasetError(
            f"images must be (N, H, W) or (N, H, W, C) with C in {{1, 3}}, got shape {images.shape}"
        )
    if images.dtype == np.uint8:
        pass
    elif np.issubdtype(images.dtype, np.floating):
        low, high = (float(images.min()), float(images.max())) if images.size else (0.0, 0.0)
        if not (0.0 <= low and high <= 1.0):  # also rejects NaN
            raise DatasetError(
                f"float images must lie in [0, 1], got values in [{low}, {high}]; "
                "divide uint8-range data by 255 or pass it as uint8"
            )
        images = images.astype(np.float32, copy=False)
    else:
        raise DatasetError(
            f"images must be uint8 in [0, 255] or float in [0, 1], got dtype {images.dtype}"
        )
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape[:1] != images.shape[:1]:
            raise DatasetError(
                f"labels must have one row per image: {images.shape[0]} images, "
                f"labels of shape {labels.shape}"
            )
        if labels.dtype == bool or np.issubdtype(labels.dtype, np.integer):
            labels = labels.astype(np.int32)
        elif np.issubdtype(labels.dtype, np.floating):
            labels = labels.astype(np.float32)
        else:
            raise DatasetError(f"labels must be integers, booleans or floats, got {labels.dtype}")
    return finish_pipeline(
        ArrayExamples(images, labels), batch_size, shuffle, seed, drop_remainder=drop_remainder
    )
