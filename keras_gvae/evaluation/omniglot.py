"""Omniglot one-shot classification (the 20 runs of Lake et al.).

Implements the 20-way one-shot task of Lake, Salakhutdinov & Tenenbaum, "Human-level concept
learning through probabilistic program induction" (Science, 2015): in each of 20 runs, each
of 20 test images must be matched to the one of 20 training images (one per character) of the
same character. Here a test image is assigned to the training image with the nearest code.

Layout of ``all_runs.zip`` (github.com/brendenlake/omniglot, MIT): ``runNN/training/classMM.png``,
``runNN/test/itemMM.png`` (105x105 binary PNGs, dark strokes on a white background) and
``runNN/class_labels.txt`` with one ``runNN/test/itemMM.png runNN/training/classKK.png``
line per test image.
"""

from __future__ import annotations

import dataclasses
import io
import os
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image
from scipy.spatial.distance import cdist

_LABELS = "class_labels.txt"


@dataclasses.dataclass(frozen=True)
class OneShotRun:
    """One 20-way one-shot run.

    Attributes:
        name: Run folder name, e.g. ``"run01"``.
        train_images: Float32 ``(num_classes, S, S, 1)`` in [0, 1], strokes = 1.
        test_images: Float32 ``(num_test, S, S, 1)`` in [0, 1], strokes = 1.
        test_targets: Int64 ``(num_test,)``: index into ``train_images`` of the matching
            training image.
        train_files: File names of the training images (sorted).
        test_files: File names of the test images (in ``class_labels.txt`` order).
    """

    name: str
    train_images: np.ndarray
    test_images: np.ndarray
    test_targets: np.ndarray
    train_files: tuple[str, ...]
    test_files: tuple[str, ...]


def _decode(data: bytes, image_size: int | None) -> np.ndarray:
    """PNG bytes -> float32 ``(S, S, 1)`` with strokes = 1, box-resampled to ``image_size``."""
    with Image.open(io.BytesIO(data)) as image:
        pixels = np.asarray(image.convert("L"), dtype=np.float32) / 255.0
    strokes = 1.0 - pixels  # Omniglot draws dark strokes on white.
    if image_size is not None and strokes.shape != (image_size, image_size):
        resized = Image.fromarray(strokes).resize(
            (image_size, image_size), resample=Image.Resampling.BOX
        )
        strokes = np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)
    return strokes[..., None]


class _ZipSource:
    def __init__(self, path: Path):
        self._zip = zipfile.ZipFile(path)
        self._names = [n for n in self._zip.namelist() if not n.endswith("/")]

    def label_files(self) -> list[str]:
        return [n for n in self._names if PurePosixPath(n).name == _LABELS]

    def list_pngs(self, folder: str) -> list[str]:
        return [
            n for n in self._names if str(PurePosixPath(n).parent) == folder and n.endswith(".png")
        ]

    def read(self, name: str) -> bytes:
        return self._zip.read(name)

    def close(self) -> None:
        self._zip.close()


class _FolderSource:
    def __init__(self, path: Path):
        self._root = path

    def label_files(self) -> list[str]:
        return [p.relative_to(self._root).as_posix() for p in self._root.rglob(_LABELS)]

    def list_pngs(self, folder: str) -> list[str]:
        directory = self._root / folder
        if not directory.is_dir():
            return []
        return [(PurePosixPath(folder) / p.name).as_posix() for p in directory.glob("*.png")]

    def read(self, name: str) -> bytes:
        return (self._root / name).read_bytes()

    def close(self) -> None:
        pass


def _load_run(source, labels_file: str, image_size: int | None) -> OneShotRun:
    run_dir = PurePosixPath(labels_file).parent
    train_names = sorted(source.list_pngs(str(run_dir / "training")))
    if not train_names:
        raise ValueError(f"No training/*.png next to {labels_file}.")
    index = {PurePosixPath(n).name: i for i, n in enumerate(train_names)}
    test_names, targets = [], []
    for line in source.read(labels_file).decode("utf-8").splitlines():
        if not line.strip():
            continue
        test_entry, train_entry = line.split()
        # Entries are "runNN/test/itemMM.png"; keep the last two parts, relative to the run.
        test_names.append(str(run_dir / "test" / PurePosixPath(test_entry).name))
        train_file = PurePosixPath(train_entry).name
        if train_file not in index:
            raise ValueError(f"{labels_file} names {train_entry}, which is not in training/.")
        targets.append(index[train_file])
    return OneShotRun(
        name=run_dir.name,
        train_images=np.stack([_decode(source.read(n), image_size) for n in train_names]),
        test_images=np.stack([_decode(source.read(n), image_size) for n in test_names]),
        test_targets=np.array(targets, dtype=np.int64),
        train_files=tuple(PurePosixPath(n).name for n in train_names),
        test_files=tuple(PurePosixPath(n).name for n in test_names),
    )


def load_one_shot_runs(path: str | os.PathLike, image_size: int | None = 28) -> list[OneShotRun]:
    """Loads Lake's one-shot runs from ``all_runs.zip`` or its unpacked folder.

    Every ``class_labels.txt`` found (at any depth) defines one run. Images are returned
    as float32 in [0, 1] with strokes = 1 (Omniglot files have dark strokes on white),
    box-filtered (area-averaged) with PIL to ``image_size x image_size``.

    Args:
        path: ``all_runs.zip`` or a folder containing ``run01/ ... run20/``.
        image_size: Side of the returned images. Defaults to 28; ``None`` keeps 105.

    Returns:
        The runs sorted by name (``run01 ... run20`` for the real data).
    """
    path = Path(path)
    if path.is_dir():
        source = _FolderSource(path)
    elif zipfile.is_zipfile(path):
        source = _ZipSource(path)
    else:
        raise FileNotFoundError(f"{path} is neither a folder nor a zip of one-shot runs.")
    try:
        labels_files = sorted(source.label_files(), key=lambda n: PurePosixPath(n).parent.name)
        if not labels_files:
            raise ValueError(f"No {_LABELS} found in {path}.")
        return [_load_run(source, labels_file, image_size) for labels_file in labels_files]
    finally:
        source.close()


def _flatten(images: np.ndarray) -> np.ndarray:
    return np.asarray(images).reshape(len(images), -1)


def one_shot_error(
    runs: list[OneShotRun],
    representation_fn: Callable[[np.ndarray], np.ndarray],
    metric: str = "euclidean",
) -> dict:
    """Error rate of nearest-neighbour one-shot classification in code space.

    Each test image is assigned to the training image of its run whose code is nearest
    under ``metric``; ties go to the first training image (sorted by file name).

    Args:
        runs: Runs from ``load_one_shot_runs``.
        representation_fn: Callable mapping images ``(n, S, S, 1)`` to codes ``(n, d)``.
        metric: Any ``scipy.spatial.distance.cdist`` metric. Defaults to ``"euclidean"``.

    Returns:
        Dict with ``error_rate`` (mean of the per-run errors; runs have equal size in the
        real data) and ``per_run`` (run name -> error rate).
    """
    if not runs:
        raise ValueError("runs is empty.")
    per_run = {}
    for run in runs:
        train_codes = _flatten(representation_fn(run.train_images)).astype(np.float64)
        test_codes = _flatten(representation_fn(run.test_images)).astype(np.float64)
        predictions = np.argmin(cdist(test_codes, train_codes, metric=metric), axis=1)
        per_run[run.name] = float(np.mean(predictions != run.test_targets))
    return {"error_rate": float(np.mean(list(per_run.values()))), "per_run": per_run}


def pixel_baseline(runs: list[OneShotRun], metric: str = "euclidean") -> dict:
    """``one_shot_error`` with the raw pixels as the representation."""
    return one_shot_error(runs, _flatten, metric)


def omniglot_one_shot(
    path: str | os.PathLike,
    representation_fn: Callable[[np.ndarray], np.ndarray],
    image_size: int = 28,
    metric: str = "euclidean",
) -> dict:
    """One-shot error of a representation and of raw pixels on the same runs.

    Args:
        path: ``all_runs.zip`` or its unpacked folder.
        representation_fn: Callable mapping images ``(n, S, S, 1)`` to codes ``(n, d)``.
        image_size: Side ``S`` of the images fed to ``representation_fn``. Defaults to 28.
        metric: ``cdist`` metric for both. Defaults to ``"euclidean"``.

    Returns:
        Dict with ``error_rate`` and ``per_run`` of the representation and
        ``pixel_error_rate`` and ``pixel_per_run`` of the raw-pixel baseline.
    """
    runs = load_one_shot_runs(path, image_size=image_size)
    model = one_shot_error(runs, representation_fn, metric)
    pixels = pixel_baseline(runs, metric)
    return {
        "error_rate": model["error_rate"],
        "per_run": model["per_run"],
        "pixel_error_rate": pixels["error_rate"],
        "pixel_per_run": pixels["per_run"],
    }
