"""Writers of tiny dataset files for the loader tests, and a batch collector."""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image


def png_bytes(array: np.ndarray, mode: str | None = None) -> bytes:
    array = np.asarray(array, np.uint8)
    image = Image.fromarray(array[..., 0] if array.ndim == 3 and array.shape[-1] == 1 else array)
    if mode is not None:
        image = image.convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def write_png(path: Path, array: np.ndarray, mode: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png_bytes(array, mode))
    return path


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def idx_bytes(array: np.ndarray, magic: int | None = None) -> bytes:
    array = np.asarray(array, np.uint8)
    magic = 0x0800 + array.ndim if magic is None else magic
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.tobytes()


def write_idx(path: Path, data: np.ndarray | bytes, gz: bool = True) -> Path:
    raw = data if isinstance(data, bytes) else idx_bytes(data)
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path


def write_mnist(directory: Path, split_prefix: str, images, labels, gz: bool = True) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    write_idx(directory / f"{split_prefix}-images-idx3-ubyte{suffix}", images, gz)
    write_idx(directory / f"{split_prefix}-labels-idx1-ubyte{suffix}", labels, gz)
    return directory


def collect(ds) -> tuple[np.ndarray, ...] | np.ndarray:
    """All batches of a dataset concatenated into NumPy arrays."""
    batches = list(ds.as_numpy_iterator())
    if isinstance(batches[0], tuple):
        return tuple(np.concatenate(parts) for parts in zip(*batches, strict=True))
    return np.concatenate(batches)


@pytest.fixture(autouse=True)
def _seed_everything():
    """Overrides the suite-wide fixture: these tests build no Keras model, and its
    ``clear_session()`` costs about 0.4 s per test."""
    yield


@pytest.fixture
def files():
    """The writers above, as ``files.png(...)``, ``files.mnist(...)`` ..."""
    return SimpleNamespace(
        png=write_png,
        png_bytes=png_bytes,
        zip=write_zip,
        idx=write_idx,
        idx_bytes=idx_bytes,
        mnist=write_mnist,
        collect=collect,
    )
