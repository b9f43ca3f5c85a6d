import numpy as np
import pytest

from keras_gvae.data.loaders import DatasetError
from keras_gvae.data.omniglot import ALPHABET_NAMES, read_omniglot
from keras_gvae.data.registry import load

# (alphabet, character folder, drawer file) -> a 105x105 scan, black strokes on white.
LAYOUT = [
    ("Latin", "character01", "0001_01.png"),
    ("Latin", "character02", "0002_01.png"),
    ("Greek", "character24", "0003_01.png"),
]


def _scan(index):
    scan = np.full((105, 105), 255, np.uint8)
    scan[10 + 20 * index : 30 + 20 * index, :] = 0  # A thick horizontal stroke.
    return scan


def _members(files, root="images_background_small1"):
    return {
        f"{root}/{a}/{c}/{f}": files.png_bytes(_scan(i), mode="1")
        for i, (a, c, f) in enumerate(LAYOUT)
    }


def test_zip_inverted_labels_and_size(tmp_path, files):
    files.zip(tmp_path / "images_background_small1.zip", _members(files))
    ds = load("omniglot", split="small1", data_dir=tmp_path, shuffle=False, image_size=105)
    x, y = files.collect(ds)
    assert x.shape == (3, 105, 105, 1) and x.dtype == np.float32
    # Sorted member order: Greek first, then the two Latin characters.
    order = [2, 0, 1]
    for row, i in enumerate(order):
        np.testing.assert_array_equal(x[row, ..., 0], (_scan(i) == 0).astype(np.float32))
    expected = [[ALPHABET_NAMES.index(LAYOUT[i][0]), int(LAYOUT[i][1][-2:]) - 1] for i in order]
    np.testing.assert_array_equal(y, expected)
    assert y.dtype == np.int32
    assert ALPHABET_NAMES.index("Balinese") == 10  # The tfds ids.


def test_default_size_is_28(tmp_path, files):
    files.zip(tmp_path / "images_background_small1.zip", _members(files))
    x, _ = next(iter(load("omniglot", split="small1", data_dir=tmp_path, shuffle=False)))
    assert x.shape == (3, 28, 28, 1)
    assert 0.0 <= float(x.numpy().min()) and float(x.numpy().max()) <= 1.0
    assert float(x.numpy()[1, 3:8].mean()) > 0.9  # Latin character01's stroke, rows 10..29.


def test_extracted_folder(tmp_path, files):
    for name, data in _members(files, "images_evaluation/images_evaluation").items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    x, y = files.collect(load("omniglot", split="test", data_dir=tmp_path, shuffle=False))
    assert x.shape == (3, 28, 28, 1) and y.shape == (3, 2)


def test_unknown_alphabet_is_named(tmp_path, files):
    members = {"images_background/Klingon/character01/0001_01.png": files.png_bytes(_scan(0))}
    files.zip(tmp_path / "images_background.zip", members)
    with pytest.raises(DatasetError, match="Klingon/character01/0001_01.png: expected <alphabet>"):
        read_omniglot(tmp_path / "images_background.zip")


def test_local_source_needs_the_archive(tmp_path):
    with pytest.raises(FileNotFoundError, match="images_background.zip"):
        load("omniglot", data_dir=tmp_path, source="local")


def test_auto_source_does_not_fall_back_to_tfds_beside_local_files(tmp_path, monkeypatch):
    import zipfile

    from keras_gvae.data import DatasetNotFoundError, load, loaders

    with zipfile.ZipFile(tmp_path / "images_background_small1.zip", "w") as z:
        z.writestr("images_background_small1/Latin/character01/0001_01.png", b"")

    def no_tfds(*args, **kwargs):
        raise AssertionError("tfds must not be called")

    monkeypatch.setattr(loaders, "tfds_load", no_tfds)
    with pytest.raises(DatasetNotFoundError, match=r"small1.*but not for 'train'"):
        load("omniglot", split="train", data_dir=tmp_path)
