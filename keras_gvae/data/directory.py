"""User images: a folder (or zip) of image files, or NumPy arrays, as a batched dataset.

`ImageFiles` and `decode_images` are also the readers behind the local CelebA and Omniglot
loaders. Every file is decoded eagerly with Pillow when the dataset is built, so unreadable
files, mixed sizes and mixed channel counts are reported up front with their file names
instead of being dropped or failing in the middle of an epoch. `scan_folder` reads only the
files' headers (size and channels), to decide how to read a folder before decoding it, and
`split_held_out` sets a fixed fraction of a folder's images aside by a seed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import re
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
    DatasetParameterError,
    finish_pipeline,
    normalize_image_size,
    resize_array,
    resize_arrays,
)

IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
COLOR_MODES = {"grayscale": "L", "rgb": "RGB", "auto": None}
# Pillow modes that hold one grey channel (possibly with alpha, dropped on conversion).
_GRAY_MODES = {"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}
_CHUNK = 512
# from_directory's ``subset``: the images not held out, or the held-out ones.
SUBSETS = ("train", "held_out")


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

    def open(self, name: str):
        """A binary file object of ``name`` (Pillow reads only the header from it)."""
        try:
            if self._zip is not None:
                return io.BytesIO(self._zip.read(name))
            return open(self.path / name, "rb")
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
        raise _unreadable(name, err) from err
    return array[..., None] if array.ndim == 2 else array


def image_channels(data: bytes, name: str) -> int:
    """1 for grey files, 3 for colour ones, from the header only."""
    return read_header(io.BytesIO(data), name)[2]


def read_header(stream, name: str) -> tuple[int, int, int]:
    """``(height, width, channels)`` of the image in the binary file object ``stream``, from
    its header only (channels: 1 for grey files, 3 for colour ones). Raises `DatasetError`
    naming ``name`` if it is not an image."""
    try:
        with Image.open(stream) as image:
            return image.height, image.width, 1 if image.mode in _GRAY_MODES else 3
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise _unreadable(name, err) from err


def _unreadable(name: str, err: Exception) -> DatasetError:
    """One line naming the file; Pillow's messages name a Python object, not the file."""
    if isinstance(err, Image.UnidentifiedImageError):
        reason = "its bytes are not a PNG, JPEG, BMP or GIF image"
    else:
        reason = (
            re.sub(r"\s*<[^<>]* at 0x[0-9a-fA-F]+>", "", str(err)).strip() or type(err).__name__
        )
    return DatasetError(f"{name}: not a readable image ({' '.join(reason.split())})")


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
        raise DatasetParameterError(
            "image_size",
            "images have mixed sizes: "
            + "; ".join(
                f"{h}x{w}x{c} ({len(files)} files, e.g. {', '.join(files[:3])})"
                for (h, w, c), files in by_shape.items()
            )
            + "; give image_size to resize them all to one size",
        )
    return np.stack(arrays)


@dataclasses.dataclass
class ImageFolder:
    """What a folder (or zip) of images holds, read from the files' headers only.

    Args:
        files: `ImageFiles`, the folder's image files.
        headers: dict file name -> ``(height, width, channels)``, channels 1 (grey) or 3.
    """

    files: ImageFiles
    headers: dict[str, tuple[int, int, int]]

    @property
    def names(self) -> list[str]:
        return self.files.names

    @property
    def class_names(self) -> list[str]:
        """The sorted sub-folders when every image lies in one (``labels="inferred"`` reads
        them all), else ``[]``."""
        if not self.names or any("/" not in n for n in self.names):
            return []
        return sorted({n.split("/")[0] for n in self.names})

    @property
    def sizes(self) -> list[tuple[int, int]]:
        """The distinct ``(height, width)`` of the images, sorted by area."""
        return sorted({h[:2] for h in self.headers.values()}, key=lambda s: (s[0] * s[1], s))

    @property
    def channels(self) -> list[int]:
        """The distinct channel counts: ``[1]``, ``[3]`` or ``[1, 3]``."""
        return sorted({h[2] for h in self.headers.values()})


def scan_folder(path: str | os.PathLike) -> ImageFolder:
    """The `ImageFolder` of ``path``: every image file's size and channels, from its header.

    Raises:
        DatasetNotFoundError: ``path`` does not exist or holds no image files.
        DatasetError: a file that is not an image (named).
    """
    files = ImageFiles(path)
    if not files.names:
        raise DatasetNotFoundError(
            f"{files.path}: found no image files ({', '.join(IMAGE_EXTENSIONS)}) in it or its "
            "sub-folders"
        )
    headers = {}
    for name in files.names:
        with files.open(name) as stream:
            headers[name] = read_header(stream, files.describe(name))
    return ImageFolder(files, headers)


def split_held_out(
    names: Sequence[str], fraction: float, seed: int = 0
) -> tuple[list[str], list[str]]:
    """``(train names, held-out names)``: ``round(len(names) * fraction)`` names (at least
    one) set aside, the others to train on; both sorted.

    The names held out are those with the smallest SHA-256 of ``"{seed}/{name}"``, so each
    file's side depends on its name and the seed only, not on the order or the other files:
    adding files to a folder moves no file from one side to the other, except at the margin.

    Raises:
        DatasetParameterError: ``fraction`` not in (0, 1), or too few names to hold one out
            and keep one to train on.
    """
    if not 0.0 < fraction < 1.0:
        raise DatasetParameterError(
            "held_out", f"held_out must be a fraction between 0 and 1, got {fraction!r}"
        )
    count = max(1, round(len(names) * fraction))
    if count >= len(names):
        raise DatasetParameterError(
            "held_out",
            f"{len(names)} images are too few to hold {fraction:g} of them out and train on "
            "the rest",
        )

    def rank(name):
        return hashlib.sha256(f"{seed}/{name}".encode()).digest()

    held = set(sorted(names, key=rank)[:count])
    return sorted(n for n in names if n not in held), sorted(held)


def from_directory(
    path: str | os.PathLike,
    image_size: int | Sequence[int] | None = None,
    color_mode: str = "auto",
    labels: str | None = "inferred",
    batch_size: int | None = 64,
    shuffle: bool = True,
    seed: int = 0,
    drop_remainder: bool = False,
    held_out: float = 0.0,
    subset: str | None = None,
    split_seed: int = 0,
) -> tf.data.Dataset:
    """A batched dataset of the images in a folder (or a zip of images).

    With ``labels="inferred"`` the immediate sub-folders are the classes: label ``i`` is the
    ``i``-th sub-folder name in sorted order, images are searched recursively inside each
    (files directly in ``path`` are ignored), batches are ``(images, labels)`` with int32
    labels, and ``ds.class_names`` lists the sub-folders. With ``labels=None`` every image
    under ``path`` is used and batches are images only.

    With ``subset``, a fraction ``held_out`` of the images is set aside by ``split_seed``
    (`split_held_out`; like Keras' ``validation_split``, but seeded apart from the shuffle):
    ``subset="train"`` reads the others, ``subset="held_out"`` the ones set aside.

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
        held_out: float in (0, 1), the fraction set aside; needed with ``subset``.
        subset: None (default: every image), "train" or "held_out".
        split_seed: int, chooses the images set aside. Default 0.

    Returns:
        tf.data.Dataset of float32 (B, H, W, C) images in [0, 1] (and int32 (B,) labels).

    Example:
        >>> ds = from_directory("digits/", image_size=28, color_mode="grayscale")
        >>> held = from_directory("digits/", held_out=0.1, subset="held_out", shuffle=False)
    """
    if color_mode not in COLOR_MODES:
        raise DatasetParameterError(
            "color_mode", f"color_mode must be one of {list(COLOR_MODES)}, got {color_mode!r}"
        )
    if labels not in ("inferred", None):
        raise DatasetParameterError("labels", f"labels must be 'inferred' or None, got {labels!r}")
    if subset not in (None, *SUBSETS):
        raise DatasetParameterError(
            "subset", f"subset must be None or one of {list(SUBSETS)}, got {subset!r}"
        )
    if held_out and subset is None:
        raise DatasetParameterError(
            "subset", "held_out sets images aside only for a subset: 'train' or 'held_out'"
        )
    size = normalize_image_size(image_size)
    files = ImageFiles(path)
    names = files.names
    if not names:
        raise DatasetNotFoundError(
            f"{files.path}: found no image files ({', '.join(IMAGE_EXTENSIONS)}) in it or its "
            "sub-folders"
        )
    class_names: list[str] = []
    if labels == "inferred":
        loose = len(names)
        names = [n for n in names if "/" in n]
        if not names:
            raise DatasetParameterError(
                "labels",
                f"{files.path}: its {loose} images lie directly in it, not in class "
                "sub-folders; set labels to None to read them without labels",
            )
        class_names = sorted({n.split("/")[0] for n in names})
    # Decided on every image, so that both subsets are read alike.
    mode = COLOR_MODES[color_mode] or _common_mode(files, names)
    if subset is not None:
        train, held = split_held_out(names, held_out, split_seed)
        names = train if subset == "train" else held
    # Resized as they are decoded: large photos are never all held in memory at full size.
    transform = None if size is None else (lambda array, _: resize_array(array, size))
    arrays = decode_images(files, names, mode, transform)
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
        with files.open(name) as stream:
            channels = read_header(stream, files.describe(name))[2]
        by_channels.setdefault(channels, []).append(files.describe(name))
    if len(by_channels) > 1:
        raise DatasetParameterError(
            "color_mode",
            "images have mixed channel counts: "
            + "; ".join(
                f"{c} channel(s) ({len(f)} files, e.g. {', '.join(f[:3])})"
                for c, f in sorted(by_channels.items())
            )
            + "; set color_mode to 'grayscale' or 'rgb' to convert them all",
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
