"""CelebA (Liu et al., 2015) from ``tensorflow_datasets`` or from local images and attributes.

Preprocessing follows the Guided-VAE authors: the central 178x178 square of each 178x218
aligned face (rows 20..197), resized to 64x64 (bilinear with antialiasing). In general the
central square of side min(H, W) is taken, then resized to ``image_size`` only if its size
differs, so an already cropped 64x64 sample keeps its exact pixels. (The 200-face
``celeba_sample`` was cut as a 160x160 centre crop, tighter than the authors' 178x178; it is
used as it is, not re-cropped, since the cut-away border cannot be restored.)

Local files, in ``data_dir`` (or ``data_dir/celeba``, ``celeb_a``, ``CelebA``,
``celeba_sample``; the official ``Anno/``, ``Img/``, ``Eval/`` sub-folders work too):

- attributes: ``list_attr_celeba.txt`` (official: the image count, the 40 names, then
  ``000001.jpg -1  1 ...``), else ``list_attr_celeba.csv`` or the only CSV whose header is
  ``image_id,<attribute names>`` with +1/-1 (or 1/0) values;
- images: ``img_align_celeba/`` (a folder), ``img_align_celeba.zip``, the only zip in the
  folder, or image files directly in it; matched to attribute rows by file name;
- splits: ``list_eval_partition.txt`` (or ``.csv``) maps images to train (0), validation
  (1) and test (2). Without it only ``split="train"`` exists and holds every image.

Labels are the 40 attributes (or the ``attributes`` subset, in the order given) as int32 in
{0, 1}; ``ds.attribute_names`` lists them.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import tensorflow as tf

from keras_gvae.data.directory import ImageFiles, decode_images
from keras_gvae.data.loaders import (
    ArrayExamples,
    DatasetError,
    DatasetNotFoundError,
    StreamExamples,
    candidate_dirs,
    center_crop_array,
    center_crop_square,
    check_split,
    normalize_image_size,
    resize_array,
    resize_image,
    tfds_load,
    use_local_files,
)

TFDS_NAME = "celeb_a"
SPLITS = ("train", "validation", "test")
DEFAULT_IMAGE_SIZE = 64
ATTRIBUTES_FILE = "list_attr_celeba.txt"
PARTITION_FILE = "list_eval_partition.txt"
ALIASES = ("celeb_a", "celeba", "CelebA", "celeba_sample")
EXPECTED_FILES = (
    f"{ATTRIBUTES_FILE} (or an attributes CSV: image_id then attribute columns of +1/-1) "
    "and the images as img_align_celeba/ or a zip of them "
    f"({PARTITION_FILE} too for the validation and test splits)"
)
ATTRIBUTE_NAMES = (
    "5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips "
    "Big_Nose Black_Hair Blond_Hair Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin "
    "Eyeglasses Goatee Gray_Hair Heavy_Makeup High_Cheekbones Male Mouth_Slightly_Open "
    "Mustache Narrow_Eyes No_Beard Oval_Face Pale_Skin Pointy_Nose Receding_Hairline "
    "Rosy_Cheeks Sideburns Smiling Straight_Hair Wavy_Hair Wearing_Earrings Wearing_Hat "
    "Wearing_Lipstick Wearing_Necklace Wearing_Necktie Young"
).split()


class AttributeTable(NamedTuple):
    """Attributes read from a file: names (K,), file names (N,), values int32 (N, K) in {0, 1}."""

    names: list[str]
    files: list[str]
    values: np.ndarray


def _parse_values(path: Path, rows: list[list[str]], first_line: int, width: int) -> np.ndarray:
    for i, row in enumerate(rows):
        if len(row) != width + 1:
            raise DatasetError(
                f"{path.name}:{first_line + i}: expected a file name and {width} values, "
                f"got {len(row) - 1} values"
            )
    try:
        values = np.array([row[1:] for row in rows], dtype=np.int64).reshape(len(rows), width)
    except ValueError:
        for i, row in enumerate(rows):
            try:
                [int(v) for v in row[1:]]
            except ValueError as err:
                raise DatasetError(
                    f"{path.name}:{first_line + i}: non-integer value ({err})"
                ) from err
        raise
    bad = ~np.isin(values, (-1, 0, 1))
    if bad.any():
        line = first_line + int(np.argmax(bad.any(axis=1)))
        raise DatasetError(f"{path.name}:{line}: attribute values must be +1/-1 (or 1/0)")
    return (values > 0).astype(np.int32)


def read_attributes_txt(path: str | os.PathLike) -> AttributeTable:
    """Reads the official ``list_attr_celeba.txt`` format, validating count and widths."""
    path = Path(path)
    lines = path.read_text().splitlines()
    if len(lines) < 2:
        raise DatasetError(f"{path.name}: expected an image count line and a names line")
    try:
        count = int(lines[0].strip())
    except ValueError as err:
        raise DatasetError(
            f"{path.name}:1: expected the number of images, got {lines[0]!r}"
        ) from err
    names = lines[1].split()
    rows = [line.split() for line in lines[2:] if line.strip()]
    if len(rows) != count:
        raise DatasetError(
            f"{path.name}: the first line says {count} images, found {len(rows)} rows"
        )
    values = _parse_values(path, rows, 3, len(names))
    return AttributeTable(names, [row[0] for row in rows], values)


def read_attributes_csv(path: str | os.PathLike) -> AttributeTable:
    """Reads a CSV whose header is ``image_id,<names...>`` and rows ``000001.jpg,-1,1,...``."""
    path = Path(path)
    with open(path, newline="") as f:
        rows = [row for row in csv.reader(f) if row]
    if not rows or len(rows[0]) < 2:
        raise DatasetError(f"{path.name}: expected a header 'image_id,<attribute names>'")
    names = [name.strip() for name in rows[0][1:]]
    body = [[cell.strip() for cell in row] for row in rows[1:]]
    return AttributeTable(names, [row[0] for row in body], _parse_values(path, body, 2, len(names)))


def select_attributes(names: Sequence[str], attributes: Sequence[str] | None) -> list[int]:
    """Column indices of ``attributes`` (in the given order) among ``names``; all if None."""
    if attributes is None:
        return list(range(len(names)))
    if isinstance(attributes, str):
        attributes = [attributes]
    unknown = [a for a in attributes if a not in names]
    if unknown:
        raise DatasetError(f"unknown CelebA attributes {unknown}; valid names: {', '.join(names)}")
    if not attributes:
        raise DatasetError("attributes= must name at least one attribute")
    return [list(names).index(a) for a in attributes]


def _is_attribute_csv(path: Path) -> bool:
    with open(path, newline="") as f:
        header = next(csv.reader(f), [])
    return len(header) > 1 and any(name.strip() in ATTRIBUTE_NAMES for name in header[1:])


def find_attributes_file(directory: Path) -> Path | None:
    """``list_attr_celeba.txt`` (also in ``Anno/``), ``list_attr_celeba.csv`` or one CSV."""
    for candidate in (
        directory / ATTRIBUTES_FILE,
        directory / "Anno" / ATTRIBUTES_FILE,
        directory / "list_attr_celeba.csv",
    ):
        if candidate.is_file():
            return candidate
    csvs = [p for p in sorted(directory.glob("*.csv")) if _is_attribute_csv(p)]
    if len(csvs) > 1:
        raise DatasetError(
            f"{directory}: several attribute CSVs ({', '.join(p.name for p in csvs)}); "
            f"keep one or name it list_attr_celeba.csv"
        )
    return csvs[0] if csvs else None


def find_celeb_a_dir(data_dir: str | os.PathLike | None) -> Path | None:
    """The first candidate folder holding an attributes file, or None."""
    for directory in candidate_dirs(data_dir, ALIASES):
        if find_attributes_file(directory) is not None:
            return directory
    return None


def _find_images(directory: Path) -> ImageFiles:
    for folder in (directory, directory / "Img"):
        for candidate in (folder / "img_align_celeba", folder / "img_align_celeba.zip"):
            if candidate.exists():
                return ImageFiles(candidate)
    zips = sorted(directory.glob("*.zip"))
    if len(zips) > 1:
        raise DatasetError(
            f"{directory}: several zips ({', '.join(p.name for p in zips)}); "
            "name the CelebA one img_align_celeba.zip"
        )
    return ImageFiles(zips[0] if zips else directory)


def _read_partition(directory: Path, split: str) -> set[str] | None:
    """File names of ``split`` from the partition file, or None if there is none."""
    for path in (directory / PARTITION_FILE, directory / "Eval" / PARTITION_FILE):
        if path.is_file():
            rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
            break
    else:
        path = directory / "list_eval_partition.csv"
        if not path.is_file():
            return None
        with open(path, newline="") as f:
            rows = [row for row in csv.reader(f) if row][1:]
    wanted = str(SPLITS.index(split))
    try:
        return {row[0] for row in rows if row[1].strip() == wanted}
    except IndexError as err:
        raise DatasetError(f"{path.name}: expected lines '<file name> <0|1|2>'") from err


def read_celeb_a(
    directory: str | os.PathLike,
    split: str = "train",
    image_size: int | tuple[int, int] | None = DEFAULT_IMAGE_SIZE,
    attributes: Sequence[str] | None = None,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Reads, crops and resizes local CelebA images with their attributes.

    Returns:
        images uint8 (N, S, S, 3), labels int32 (N, K) in {0, 1}, and the K attribute names.

    Raises:
        DatasetNotFoundError: no attributes file, or attribute rows whose image is missing.
        DatasetError: malformed attributes, unknown attribute names, unreadable or non-RGB
            images (named), or a split other than "train" without a partition file.
    """
    check_split(TFDS_NAME, split, SPLITS, local=True)
    directory = Path(directory)
    size = normalize_image_size(DEFAULT_IMAGE_SIZE if image_size is None else image_size)
    attributes_file = find_attributes_file(directory)
    if attributes_file is None:
        raise DatasetNotFoundError(f"{directory}: missing {EXPECTED_FILES}")
    if attributes_file.suffix == ".csv":
        table = read_attributes_csv(attributes_file)
    else:
        table = read_attributes_txt(attributes_file)
    columns = select_attributes(table.names, attributes)
    rows = list(range(len(table.files)))
    partition = _read_partition(directory, split)
    if partition is not None:
        rows = [i for i in rows if table.files[i] in partition]
    elif split != "train":
        raise DatasetError(
            f"{directory}: split {split!r} needs {PARTITION_FILE}; without it only "
            "split='train' (every image) is available"
        )
    files = _find_images(directory)
    by_basename = {name.rsplit("/", 1)[-1]: name for name in files.names}
    missing = [table.files[i] for i in rows if table.files[i] not in by_basename]
    if missing:
        raise DatasetNotFoundError(
            f"{files.path}: {len(missing)} images listed in {attributes_file.name} are missing, "
            f"e.g. {', '.join(missing[:5])}"
        )

    def preprocess(image: np.ndarray, label: str) -> np.ndarray:
        if image.shape[-1] != 3:
            raise DatasetError(
                f"{label}: expected an RGB face image, got {image.shape[-1]} channel"
            )
        return resize_array(center_crop_array(image), size)

    names = [by_basename[table.files[i]] for i in rows]
    images = decode_images(files, names, None, preprocess)
    images = np.stack(images) if images else np.zeros((0, *size, 3), np.uint8)
    labels = table.values[rows][:, columns]
    return images, labels, [table.names[c] for c in columns]


def load_celeb_a(
    split: str = "train",
    data_dir: str | os.PathLike | None = None,
    source: str = "auto",
    image_size: int | tuple[int, int] | None = None,
    attributes: Sequence[str] | None = None,
    seed: int = 0,
    shuffle: bool = True,
) -> ArrayExamples | tf.data.Dataset:
    """Unbatched CelebA: uint8 (64, 64, 3) faces (or ``image_size``), int32 attributes."""
    size = normalize_image_size(DEFAULT_IMAGE_SIZE if image_size is None else image_size)
    found = find_celeb_a_dir(data_dir)
    if use_local_files(TFDS_NAME, source, data_dir, found, EXPECTED_FILES):
        images, labels, names = read_celeb_a(found, split, size, attributes)
        return ArrayExamples(images, labels, {"attribute_names": names})
    columns = select_attributes(ATTRIBUTE_NAMES, attributes)
    names = [ATTRIBUTE_NAMES[c] for c in columns]
    check_split(TFDS_NAME, split, SPLITS, local=False)
    ds = tfds_load(
        TFDS_NAME, split, data_dir, shuffle, seed, EXPECTED_FILES, searched=source == "auto"
    )

    def convert(ex):
        image = resize_image(center_crop_square(ex["image"]), size)
        labels = tf.stack([tf.cast(ex["attributes"][n], tf.int32) for n in names])
        return image, labels

    return StreamExamples(
        ds.map(convert, num_parallel_calls=tf.data.AUTOTUNE), {"attribute_names": names}
    )
