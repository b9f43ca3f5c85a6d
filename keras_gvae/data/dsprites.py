"""dSprites (Matthey et al., 2017) from ``tensorflow_datasets`` or from its npz file.

Local file, in ``data_dir``, ``data_dir/dsprites`` or ``data_dir/dsprites_sample`` (or
``data_dir`` itself being the file): ``dsprites_ndarray_co1sh3sc6or40x32x32_64x64.npz``, or
any npz holding ``imgs`` (N, 64, 64) and ``latents_classes`` (N, 6), such as a subset.

Images are binary: any non-zero pixel is 1. Labels are the ``latents_classes`` row, int32
(6,): colour (always 0), shape, scale, orientation, pos_x, pos_y. `DSpritesData` exposes the
five varying factors to the disentanglement metrics, like ``disentanglement_lib``.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
import tensorflow as tf

from keras_gvae.data.ground_truth_data import GroundTruthData
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

TFDS_NAME = "dsprites"
SPLITS = ("train",)
DSPRITES_FILE = "dsprites_ndarray_co1sh3sc6or40x32x32_64x64.npz"
ALIASES = ("dsprites", "dsprites_sample")
EXPECTED_FILES = f"{DSPRITES_FILE} (or an npz with 'imgs' and 'latents_classes')"
LATENT_NAMES = ("color", "shape", "scale", "orientation", "pos_x", "pos_y")
LATENT_SIZES = (1, 3, 6, 40, 32, 32)
FACTOR_NAMES = LATENT_NAMES[1:]
FACTOR_SIZES = LATENT_SIZES[1:]
NUM_IMAGES = int(np.prod(LATENT_SIZES))  # 737280
_TFDS_LABELS = (
    "label_shape",
    "label_scale",
    "label_orientation",
    "label_x_position",
    "label_y_position",
)


def _npz_keys(path: Path) -> set[str]:
    try:
        with np.load(path, allow_pickle=False) as npz:
            return set(npz.files)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError):
        return set()


def find_dsprites_npz(data_dir: str | os.PathLike | None) -> Path | None:
    """The official npz in a candidate folder, else the only npz with the needed arrays."""
    if data_dir is not None and Path(data_dir).is_file():
        return Path(data_dir)
    for directory in candidate_dirs(data_dir, ALIASES):
        if (directory / DSPRITES_FILE).is_file():
            return directory / DSPRITES_FILE
        found = [
            p
            for p in sorted(directory.glob("*.npz"))
            if {"imgs", "latents_classes"} <= _npz_keys(p)
        ]
        if len(found) > 1:
            raise DatasetError(
                f"{directory}: several dSprites-like npz files "
                f"({', '.join(p.name for p in found)}); "
                "pass the one to use as data_dir"
            )
        if found:
            return found[0]
    return None


def read_dsprites_npz(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Reads and validates a dSprites npz.

    Returns:
        images uint8 (N, 64, 64) in {0, 1} and latents_classes int32 (N, 6).

    Raises:
        DatasetNotFoundError: no such file.
        DatasetError: not an npz, missing arrays, inconsistent shapes or out-of-grid classes.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetNotFoundError(f"{path}: file not found (expected {EXPECTED_FILES})")
    try:
        with np.load(path, allow_pickle=False) as npz:
            keys = set(npz.files)
            images = npz["imgs"] if "imgs" in keys else None
            classes = npz["latents_classes"] if "latents_classes" in keys else None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise DatasetError(f"{path.name}: not a readable npz file ({err})") from err
    if images is None or classes is None:
        missing = sorted({"imgs", "latents_classes"} - keys)
        raise DatasetError(f"{path.name}: missing arrays {missing}; it holds {sorted(keys)}")
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim != 3:
        raise DatasetError(f"{path.name}: 'imgs' must be (N, H, W), got {images.shape}")
    if classes.shape != (len(images), len(LATENT_SIZES)):
        raise DatasetError(
            f"{path.name}: 'latents_classes' must be ({len(images)}, 6) for {len(images)} "
            f"images, got {classes.shape}"
        )
    if classes.size and ((classes < 0).any() or (classes >= np.array(LATENT_SIZES)).any()):
        raise DatasetError(
            f"{path.name}: 'latents_classes' outside the dSprites grid {LATENT_SIZES}"
        )
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.max(initial=0) > 1:
        images = (images > 0).astype(np.uint8)
    return images, classes.astype(np.int32)


def load_dsprites(
    split: str = "train",
    data_dir: str | os.PathLike | None = None,
    source: str = "auto",
    image_size: int | tuple[int, int] | None = None,
    attributes=None,
    seed: int = 0,
    shuffle: bool = True,
) -> ArrayExamples | tf.data.Dataset:
    """Unbatched dSprites: uint8 (64, 64, 1) images in {0, 255}, int32 (6,) latents_classes."""
    reject_attributes(TFDS_NAME, attributes)
    size = normalize_image_size(image_size)
    found = find_dsprites_npz(data_dir)
    if use_local_files(TFDS_NAME, source, data_dir, found, EXPECTED_FILES):
        check_split(TFDS_NAME, split, SPLITS, local=True)
        images, classes = read_dsprites_npz(found)
        images = images[..., None]
        images *= 255  # {0, 1} -> {0, 255}: the pipeline divides uint8 by 255.
        if size is not None and size != images.shape[1:3]:
            images = resize_arrays(images, size)
        return ArrayExamples(images, classes)
    check_split(TFDS_NAME, split, SPLITS, local=False)
    ds = tfds_load(
        TFDS_NAME, split, data_dir, shuffle, seed, EXPECTED_FILES, searched=source == "auto"
    )

    def convert(ex):
        image = tf.cast(ex["image"] > 0, tf.uint8) * 255
        labels = [tf.zeros([], tf.int32)] + [tf.cast(ex[k], tf.int32) for k in _TFDS_LABELS]
        return resize_image(image, size), tf.stack(labels)

    return ds.map(convert, num_parallel_calls=tf.data.AUTOTUNE)


class DSpritesData(GroundTruthData):
    """dSprites as ground-truth data for the disentanglement metrics.

    The five varying factors are shape (3), scale (6), orientation (40), pos_x (32) and
    pos_y (32), in that order, as in ``disentanglement_lib.data.ground_truth.dsprites``;
    the constant colour latent is dropped. Observations are float32 (64, 64, 1) in {0, 1}.

    The file may be the full dataset (737,280 images) or a subset such as a 96-image sample.
    With the full grid, `sample_factors` draws each factor independently and uniformly.
    With a subset only the stored rows can be shown, so `sample_factors` draws uniformly
    among the factor rows present in the file, and `sample_observations_from_factors` raises
    `DatasetError` for a row the file does not hold. Metrics that fix one factor and redraw
    the others therefore need the full file; a subset serves smoke tests and calibration.

    Args:
        path: str or Path, the npz file, or a folder holding it (see `find_dsprites_npz`).

    Example:
        >>> data = DSpritesData("../shared/data/dsprites_sample")
        >>> factors, images = data.sample(16, np.random.RandomState(0))
    """

    def __init__(self, path: str | os.PathLike):
        found = find_dsprites_npz(path)
        if found is None:
            raise DatasetNotFoundError(
                f"{path}: no dSprites file found (expected {EXPECTED_FILES})"
            )
        self.path = found
        self._set_arrays(*read_dsprites_npz(found))

    @classmethod
    def from_arrays(cls, images: np.ndarray, latents_classes: np.ndarray) -> DSpritesData:
        """From arrays: images (N, 64, 64[, 1]) with values in {0, 1}, latents_classes (N, 6)."""
        images = np.asarray(images)
        if images.ndim == 4 and images.shape[-1] == 1:
            images = images[..., 0]
        classes = np.asarray(latents_classes)
        if images.ndim != 3 or classes.shape != (len(images), len(LATENT_SIZES)):
            raise DatasetError(
                "expected images (N, H, W) and latents_classes (N, 6), got "
                f"{images.shape} and {classes.shape}"
            )
        if (classes < 0).any() or (classes >= np.array(LATENT_SIZES)).any():
            raise DatasetError(f"latents_classes outside the dSprites grid {LATENT_SIZES}")
        data = cls.__new__(cls)
        data.path = None
        data._set_arrays((images > 0).astype(np.uint8), classes.astype(np.int32))
        return data

    @classmethod
    def from_tfds(cls, data_dir: str | os.PathLike | None = None) -> DSpritesData:
        """From ``tfds.load("dsprites")`` (downloads and prepares it unless already there)."""
        ds = tfds_load(TFDS_NAME, "train", data_dir, False, 0, EXPECTED_FILES)
        images, classes = [], []
        for batch in ds.batch(16384).as_numpy_iterator():
            images.append(batch["image"][..., 0])
            columns = [np.zeros_like(batch[_TFDS_LABELS[0]])]
            classes.append(np.stack(columns + [batch[k] for k in _TFDS_LABELS], axis=1))
        return cls.from_arrays(np.concatenate(images), np.concatenate(classes))

    def _set_arrays(self, images: np.ndarray, classes: np.ndarray) -> None:
        if len(images) == 0:
            raise DatasetError("a dSprites file without images cannot be sampled")
        self._images = images
        factors = classes[:, 1:].astype(np.int64)
        flat = self._flat_index(factors)
        self._order = np.argsort(flat, kind="stable")
        self._sorted_flat = flat[self._order]
        unique = np.unique(self._sorted_flat)
        self._present = self._unflatten(unique)
        self.is_full_grid = len(unique) == int(np.prod(FACTOR_SIZES))

    @staticmethod
    def _flat_index(factors: np.ndarray) -> np.ndarray:
        strides = np.cumprod((1,) + FACTOR_SIZES[:0:-1])[::-1]
        return factors @ strides

    @staticmethod
    def _unflatten(flat: np.ndarray) -> np.ndarray:
        return np.stack(np.unravel_index(flat, FACTOR_SIZES), axis=1).astype(np.int64)

    @property
    def factors_num_values(self) -> list[int]:
        return list(FACTOR_SIZES)

    @property
    def observation_shape(self) -> tuple[int, int, int]:
        return (*self._images.shape[1:3], 1)

    @property
    def factor_names(self) -> list[str]:
        return list(FACTOR_NAMES)

    @property
    def num_images(self) -> int:
        return len(self._images)

    def sample_factors(self, num: int, random_state: np.random.RandomState) -> np.ndarray:
        """Uniform factor rows, int64 (num, 5): over the grid, or over the stored rows."""
        if self.is_full_grid:
            return super().sample_factors(num, random_state)
        return self._present[random_state.randint(len(self._present), size=num)]

    def sample_observations_from_factors(
        self, factors: np.ndarray, random_state: np.random.RandomState
    ) -> np.ndarray:
        """The stored images of factor rows (num, 5), float32 (num, 64, 64, 1) in {0, 1}."""
        factors = np.asarray(factors)
        if factors.ndim != 2 or factors.shape[1] != len(FACTOR_SIZES):
            raise DatasetError(
                f"factors must be (num, 5) rows of {FACTOR_NAMES}, got {factors.shape}"
            )
        if (factors < 0).any() or (factors >= np.array(FACTOR_SIZES)).any():
            raise DatasetError(f"factors outside the dSprites grid {FACTOR_SIZES}")
        flat = self._flat_index(factors.astype(np.int64))
        position = np.minimum(np.searchsorted(self._sorted_flat, flat), len(self._sorted_flat) - 1)
        missing = self._sorted_flat[position] != flat
        if missing.any():
            rows = factors[missing][:5].tolist()
            raise DatasetError(
                f"{int(missing.sum())} factor rows are not in this dSprites file, e.g. {rows} "
                f"(it holds {self.num_images} of {NUM_IMAGES} images); sample factors with "
                "sample_factors() or use the full file for metrics that vary one factor at a time"
            )
        images = self._images[self._order[position]]
        return images[..., None].astype(np.float32)
