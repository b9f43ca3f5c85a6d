import numpy as np
import pytest

from keras_gvae.data.celeb_a import ATTRIBUTE_NAMES, read_attributes_txt
from keras_gvae.data.loaders import DatasetError, DatasetNotFoundError
from keras_gvae.data.registry import load

NUM = 5


def _faces(size=8):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (NUM, size, size, 3), dtype=np.uint8)


def _signs():
    rng = np.random.default_rng(1)
    return rng.choice([-1, 1], (NUM, 40))


def _names():
    return [f"{i + 1:06d}.png" for i in range(NUM)]


def _attr_txt(signs):
    lines = [str(len(signs)), " ".join(ATTRIBUTE_NAMES)]
    lines += [
        f"{n}  " + "  ".join(f"{v:2d}" for v in row)
        for n, row in zip(_names()[: len(signs)], signs, strict=True)
    ]
    return "\n".join(lines) + "\n"


def _attr_csv(signs):
    lines = ["image_id," + ",".join(ATTRIBUTE_NAMES)]
    lines += [
        f"{n}," + ",".join(map(str, row))
        for n, row in zip(_names()[: len(signs)], signs, strict=True)
    ]
    return "\n".join(lines) + "\n"


def test_folder_with_official_attributes(tmp_path, files):
    faces, signs = _faces(), _signs()
    for name, face in zip(_names(), faces, strict=True):
        files.png(tmp_path / "img_align_celeba" / name, face)
    (tmp_path / "list_attr_celeba.txt").write_text(_attr_txt(signs))
    ds = load("celeb_a", data_dir=tmp_path, image_size=8, shuffle=False, batch_size=2)
    x, y = files.collect(ds)
    assert x.shape == (NUM, 8, 8, 3) and x.dtype == np.float32
    np.testing.assert_allclose(x, faces / 255.0, atol=1e-7)  # Square and right size: untouched.
    assert y.dtype == np.int32 and y.shape == (NUM, 40)
    np.testing.assert_array_equal(y, (signs > 0).astype(np.int32))
    assert ds.attribute_names == ATTRIBUTE_NAMES


def test_zip_with_csv_and_attribute_subset(tmp_path, files):
    faces, signs = _faces(), _signs()
    members = {f"faces/{n}": files.png_bytes(f) for n, f in zip(_names(), faces, strict=True)}
    files.zip(tmp_path / "celeba_small.zip", members)
    (tmp_path / "celeba_small.csv").write_text(_attr_csv(signs))
    chosen = ["Smiling", "Male", "Eyeglasses"]
    ds = load("celeb_a", data_dir=tmp_path, image_size=8, attributes=chosen, shuffle=False)
    x, y = files.collect(ds)
    np.testing.assert_allclose(x, faces / 255.0, atol=1e-7)
    columns = [ATTRIBUTE_NAMES.index(a) for a in chosen]
    np.testing.assert_array_equal(y, (signs[:, columns] > 0).astype(np.int32))
    assert ds.attribute_names == chosen


def test_default_size_crops_the_centre_square(tmp_path, files):
    # A 12x10 "aligned face": rows 1..10 are the central square, as 20..197 of 218x178.
    face = np.zeros((12, 10, 3), np.uint8)
    face[1:11] = 200
    (tmp_path / "list_attr_celeba.txt").write_text(_attr_txt(_signs()[:1]))
    files.png(tmp_path / "img_align_celeba" / "000001.png", face)
    x, _ = next(iter(load("celeb_a", data_dir=tmp_path, image_size=10, shuffle=False)))
    np.testing.assert_allclose(x.numpy(), 200 / 255.0, atol=1e-6)
    x, _ = next(iter(load("celeb_a", data_dir=tmp_path, shuffle=False)))
    assert x.shape == (1, 64, 64, 3)  # Default: the authors' 64x64.


def test_partition_file_splits(tmp_path, files):
    for name, face in zip(_names(), _faces(), strict=True):
        files.png(tmp_path / "img_align_celeba" / name, face)
    (tmp_path / "list_attr_celeba.txt").write_text(_attr_txt(_signs()))
    with pytest.raises(DatasetError, match="needs list_eval_partition.txt"):
        load("celeb_a", split="test", data_dir=tmp_path, image_size=8)
    parts = [0, 0, 1, 2, 2]
    (tmp_path / "list_eval_partition.txt").write_text(
        "".join(f"{n} {p}\n" for n, p in zip(_names(), parts, strict=True))
    )
    sizes = {
        split: sum(1 for _ in load("celeb_a", split=split, data_dir=tmp_path, batch_size=None))
        for split in ("train", "validation", "test")
    }
    assert sizes == {"train": 2, "validation": 1, "test": 2}


def test_unknown_attribute_lists_valid_names(tmp_path, files):
    files.png(tmp_path / "img_align_celeba" / "000001.png", _faces()[0])
    (tmp_path / "list_attr_celeba.txt").write_text(_attr_txt(_signs()[:1]))
    with pytest.raises(
        DatasetError, match=r"unknown CelebA attributes \['Smile'\]; valid names: 5_o"
    ):
        load("celeb_a", data_dir=tmp_path, attributes=["Smile"])


def test_missing_images_and_malformed_attributes(tmp_path, files):
    (tmp_path / "list_attr_celeba.txt").write_text(_attr_txt(_signs()))
    files.png(tmp_path / "img_align_celeba" / "000001.png", _faces()[0])
    with pytest.raises(DatasetNotFoundError, match="4 images listed .* missing, e.g. 000002.png"):
        load("celeb_a", data_dir=tmp_path)
    (tmp_path / "list_attr_celeba.txt").write_text(_attr_txt(_signs()).replace("5\n", "7\n", 1))
    with pytest.raises(DatasetError, match="says 7 images, found 5 rows"):
        read_attributes_txt(tmp_path / "list_attr_celeba.txt")
    (tmp_path / "list_attr_celeba.txt").write_text(
        _attr_txt(_signs()).replace("000003.png  ", "000003.png  2 ")
    )
    with pytest.raises(DatasetError, match="list_attr_celeba.txt:5: expected a file name and 40"):
        read_attributes_txt(tmp_path / "list_attr_celeba.txt")


def test_grey_or_corrupt_faces_are_named(tmp_path, files):
    (tmp_path / "list_attr_celeba.txt").write_text(_attr_txt(_signs()))
    for name, face in zip(_names(), _faces(), strict=True):
        files.png(tmp_path / "img_align_celeba" / name, face)
    files.png(tmp_path / "img_align_celeba" / "000002.png", _faces()[1], mode="L")
    with pytest.raises(DatasetError, match="000002.png: expected an RGB face image"):
        load("celeb_a", data_dir=tmp_path)
    (tmp_path / "img_align_celeba" / "000002.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    with pytest.raises(DatasetError, match="000002.png: not a readable image"):
        load("celeb_a", data_dir=tmp_path)


def test_with_info_returns_the_names_explicitly(tmp_path, files):
    faces, signs = _faces(), _signs()
    for name, face in zip(_names(), faces, strict=True):
        files.png(tmp_path / "img_align_celeba" / name, face)
    (tmp_path / "list_attr_celeba.txt").write_text(_attr_txt(signs))
    ds, info = load(
        "celeb_a", data_dir=tmp_path, image_size=8, attributes=["Male", "Smiling"], with_info=True
    )
    assert info == {
        "name": "celeb_a",
        "split": "train",
        "endless": False,
        "attribute_names": ["Male", "Smiling"],
    }
    # The attribute set on the dataset is a convenience a .map() drops; the info stays.
    assert not hasattr(ds.map(lambda x, y: (x, y)), "attribute_names")
