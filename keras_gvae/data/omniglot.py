"""Omniglot (Lake et al., 2015) from ``tensorflow_datasets`` or from its zips or folders.

Local files, in ``data_dir`` or ``data_dir/omniglot``, one per split, each a zip or an
extracted folder with the ``<alphabet>/characterNN/<drawer>.png`` layout:
``images_background`` (train), ``images_evaluation`` (test),
``images_background_small1`` (small1), ``images_background_small2`` (small2).

Preprocessing: the 105x105 scans have black strokes on white; they are inverted so that
strokes are 1 and background 0, as VAEs on Omniglot usually model them, then resized to
28x28 (bilinear with antialiasing, keeping grey levels, not binarised) as in most VAE work
(e.g. Burda et al., 2016); pass ``image_size=105`` to keep the scans' size.

Labels are int32 (2,): the alphabet id, an index into `ALPHABET_NAMES` (the sorted 50
alphabets, the same ids as tfds whichever zips are present), and the 0-based character id
within the alphabet (``characterNN`` -> NN - 1, tfds' ``alphabet_char_id``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import tensorflow as tf

from keras_gvae.data.directory import ImageFiles, decode_images
from keras_gvae.data.loaders import (
    ArrayExamples,
    DatasetError,
    DatasetNotFoundError,
    StreamExamples,
    candidate_dirs,
    check_split,
    normalize_image_size,
    reject_attributes,
    resize_array,
    resize_image,
    tfds_load,
    use_local_files,
)

TFDS_NAME = "omniglot"
DEFAULT_IMAGE_SIZE = 28
SPLIT_ARCHIVES = {
    "train": "images_background",
    "test": "images_evaluation",
    "small1": "images_background_small1",
    "small2": "images_background_small2",
}
SPLITS = tuple(SPLIT_ARCHIVES)
ALIASES = ("omniglot",)
EXPECTED_FILES = (
    "images_background.zip, images_evaluation.zip, images_background_small1.zip or "
    "images_background_small2.zip (or their extracted folders)"
)
BACKGROUND_ALPHABETS = (
    "Alphabet_of_the_Magi Anglo-Saxon_Futhorc Arcadian Armenian Asomtavruli_(Georgian) "
    "Balinese Bengali Blackfoot_(Canadian_Aboriginal_Syllabics) Braille Burmese_(Myanmar) "
    "Cyrillic Early_Aramaic Futurama Grantha Greek Gujarati Hebrew "
    "Inuktitut_(Canadian_Aboriginal_Syllabics) Japanese_(hiragana) Japanese_(katakana) "
    "Korean Latin Malay_(Jawi_-_Arabic) Mkhedruli_(Georgian) N_Ko "
    "Ojibwe_(Canadian_Aboriginal_Syllabics) Sanskrit Syriac_(Estrangelo) Tagalog Tifinagh"
).split()
EVALUATION_ALPHABETS = (
    "Angelic Atemayar_Qelisayer Atlantean Aurek-Besh Avesta Ge_ez Glagolitic Gurmukhi "
    "Kannada Keble Malayalam Manipuri Mongolian Old_Church_Slavonic_(Cyrillic) Oriya "
    "Sylheti Syriac_(Serto) Tengwar Tibetan ULOG"
).split()
ALPHABET_NAMES = sorted(BACKGROUND_ALPHABETS + EVALUATION_ALPHABETS)
_CHARACTER = re.compile(r"character(\d+)$")


def find_omniglot_archive(data_dir: str | os.PathLike | None, split: str) -> Path | None:
    """The zip (preferred) or folder of ``split`` in a candidate folder, or None."""
    base = SPLIT_ARCHIVES.get(split)
    if base is None:
        return None
    for directory in candidate_dirs(data_dir, ALIASES):
        for candidate in (directory / f"{base}.zip", directory / base):
            if candidate.exists():
                return candidate
    return None


def find_one_shot_runs(data_dir: str | os.PathLike | None) -> Path | None:
    """Lake's 20 one-shot runs, ``all_runs.zip`` (preferred) or its unpacked ``all_runs/``
    folder, in a candidate folder (``data_dir`` or its ``omniglot`` sub-folder), or None."""
    for directory in candidate_dirs(data_dir, ALIASES):
        for candidate in (directory / "all_runs.zip", directory / "all_runs"):
            if candidate.exists():
                return candidate
    return None


def _labels(files: ImageFiles, name: str) -> tuple[int, int]:
    parts = name.split("/")
    match = _CHARACTER.match(parts[-2]) if len(parts) >= 3 else None
    if match is None or parts[-3] not in ALPHABET_NAMES:
        raise DatasetError(
            f"{files.describe(name)}: expected <alphabet>/characterNN/<file>.png with one of "
            f"the 50 Omniglot alphabets ({', '.join(ALPHABET_NAMES[:3])}, ...)"
        )
    return ALPHABET_NAMES.index(parts[-3]), int(match.group(1)) - 1


def read_omniglot(
    path: str | os.PathLike,
    image_size: int | tuple[int, int] | None = DEFAULT_IMAGE_SIZE,
) -> tuple[np.ndarray, np.ndarray]:
    """Reads one Omniglot zip or folder.

    Returns:
        images uint8 (N, S, S, 1) with strokes 255 and background 0, in sorted file order,
        and labels int32 (N, 2): alphabet id, character id.
    """
    size = normalize_image_size(DEFAULT_IMAGE_SIZE if image_size is None else image_size)
    files = ImageFiles(path)
    if not files.names:
        raise DatasetNotFoundError(f"{files.path}: no Omniglot .png files found")
    labels = np.array([_labels(files, name) for name in files.names], np.int32)

    def preprocess(image: np.ndarray, label: str) -> np.ndarray:
        return resize_array(255 - image, size)

    images = np.stack(decode_images(files, files.names, "L", preprocess))
    return images, labels


def load_omniglot(
    split: str = "train",
    data_dir: str | os.PathLike | None = None,
    source: str = "auto",
    image_size: int | tuple[int, int] | None = None,
    attributes=None,
    seed: int = 0,
    shuffle: bool = True,
) -> ArrayExamples | tf.data.Dataset:
    """Unbatched Omniglot: uint8 (28, 28, 1) strokes-high images, int32 (2,) labels."""
    reject_attributes(TFDS_NAME, attributes)
    size = normalize_image_size(DEFAULT_IMAGE_SIZE if image_size is None else image_size)
    if source == "local":
        check_split(TFDS_NAME, split, SPLITS, local=True)
    found = find_omniglot_archive(data_dir, split)
    if use_local_files(TFDS_NAME, source, data_dir, found, EXPECTED_FILES):
        images, labels = read_omniglot(found, size)
        return ArrayExamples(images, labels, {"alphabet_names": ALPHABET_NAMES})
    if source == "auto" and data_dir is not None:
        present = [s for s in SPLITS if find_omniglot_archive(data_dir, s) is not None]
        if present:
            # Do not let tfds download into a folder of the user's own Omniglot files.
            raise DatasetNotFoundError(
                f"{data_dir} holds Omniglot files for the splits {present} but not for "
                f"{split!r}; choose one of those splits or add {EXPECTED_FILES}"
            )
    check_split(TFDS_NAME, split, SPLITS, local=False)
    ds = tfds_load(
        TFDS_NAME, split, data_dir, shuffle, seed, EXPECTED_FILES, searched=source == "auto"
    )

    def convert(ex):
        image = 255 - tf.image.rgb_to_grayscale(ex["image"])
        labels = tf.stack([ex["alphabet"], ex["alphabet_char_id"]])
        return resize_image(image, size), tf.cast(labels, tf.int32)

    ds = ds.map(convert, num_parallel_calls=tf.data.AUTOTUNE)
    return StreamExamples(ds, {"alphabet_names": ALPHABET_NAMES})
