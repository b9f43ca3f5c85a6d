"""Atomic file and directory writes: a result is complete, or visibly not there."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path


@contextlib.contextmanager
def atomic_file(path, mode="wb"):
    """Opens a temporary file beside ``path``; on success renames it onto ``path``.

    On an exception the temporary file is removed and ``path`` is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path, text):
    """Writes ``text`` to ``path`` atomically, creating missing parent folders."""
    with atomic_file(path, "w") as f:
        f.write(text)


def write_json(path, obj):
    """Writes ``obj`` as indented JSON, atomically."""
    with atomic_file(path, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=True, default=_json_default)
        f.write("\n")


def _json_default(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


@contextlib.contextmanager
def atomic_directory(path, overwrite=False):
    """Yields a temporary sibling directory that becomes ``path`` when the block succeeds.

    The temporary directory is named ``.<name>.partial-<id>``, so an interrupted run is
    visibly incomplete and never mistaken for a finished one. With ``overwrite``, an
    existing ``path`` is replaced only after the new one is complete.

    Raises:
        FileExistsError: ``path`` exists, is not empty, and ``overwrite`` is False.
    """
    path = Path(path)
    if path.exists() and any(path.iterdir()) and not overwrite:
        raise FileExistsError(
            f"{path} already exists and is not empty; choose another --out or pass --overwrite"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.partial-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if path.exists():
        old = path.parent / f".{path.name}.old-{uuid.uuid4().hex[:8]}"
        os.replace(path, old)
    os.replace(tmp, path)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def save_model_atomic(model, path):
    """``model.save(path)`` through a temporary file in the same folder, then a rename."""
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"model files end in .keras; got {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.stem}.partial-{uuid.uuid4().hex[:8]}.keras"
    try:
        model.save(tmp)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
