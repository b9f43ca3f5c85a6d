import numpy as np
import pytest

from keras_gvae.data.directory import from_directory, from_numpy
from keras_gvae.data.loaders import DatasetError, DatasetNotFoundError


def _grey(value, size=(6, 6)):
    return np.full(size, value, np.uint8)


def test_inferred_labels_from_sorted_subfolders(tmp_path, files):
    files.png(tmp_path / "zebra" / "a.png", _grey(10))
    files.png(tmp_path / "ant" / "b.png", _grey(20))
    files.png(tmp_path / "ant" / "nested" / "c.png", _grey(30))
    files.png(tmp_path / "ignored_root_file.png", _grey(40))
    ds = from_directory(tmp_path, shuffle=False, batch_size=2)
    x, y = files.collect(ds)
    assert ds.class_names == ["ant", "zebra"]
    assert x.shape == (3, 6, 6, 1) and x.dtype == np.float32
    np.testing.assert_allclose(x[:, 0, 0, 0], np.array([20, 30, 10]) / 255.0, atol=1e-7)
    np.testing.assert_array_equal(y, [0, 0, 1])
    assert y.dtype == np.int32


def test_unlabelled_rgb_zip_and_resize(tmp_path, files):
    rgb = np.zeros((4, 8, 3), np.uint8)
    rgb[..., 0] = 255
    files.zip(
        tmp_path / "images.zip",
        {"x/one.png": files.png_bytes(rgb), "two.png": files.png_bytes(rgb)},
    )
    ds = from_directory(tmp_path / "images.zip", labels=None, image_size=(2, 4), shuffle=False)
    x = files.collect(ds)
    assert x.shape == (2, 2, 4, 3)
    np.testing.assert_allclose(x[..., 0], 1.0)
    np.testing.assert_allclose(x[..., 1:], 0.0)


def test_mixed_sizes_are_reported(tmp_path, files):
    files.png(tmp_path / "a" / "small.png", _grey(1, (4, 4)))
    files.png(tmp_path / "a" / "big.png", _grey(1, (8, 8)))
    with pytest.raises(
        DatasetError, match=r"mixed sizes: .*big.png.*small.png|mixed sizes: .*small.png.*big.png"
    ):
        from_directory(tmp_path)
    x, _ = files.collect(from_directory(tmp_path, image_size=4))
    assert x.shape == (2, 4, 4, 1)


def test_mixed_channels_are_reported_unless_converted(tmp_path, files):
    files.png(tmp_path / "a" / "grey.png", _grey(100))
    files.png(tmp_path / "a" / "colour.png", np.full((6, 6, 3), 100, np.uint8))
    with pytest.raises(DatasetError, match=r"mixed channel counts: 1 channel\(s\) .*grey.png"):
        from_directory(tmp_path, color_mode="auto")
    x, _ = files.collect(from_directory(tmp_path, color_mode="grayscale"))
    assert x.shape == (2, 6, 6, 1)
    x, _ = files.collect(from_directory(tmp_path, color_mode="rgb"))
    assert x.shape == (2, 6, 6, 3)


def test_corrupt_png_is_named(tmp_path, files):
    files.png(tmp_path / "a" / "good.png", _grey(1))
    (tmp_path / "a" / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    with pytest.raises(DatasetError, match="bad.png: not a readable image"):
        from_directory(tmp_path, color_mode="grayscale")
    with pytest.raises(DatasetError, match="bad.png: not a readable image"):
        from_directory(tmp_path)


def test_empty_folder(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="found no image files"):
        from_directory(tmp_path)
    with pytest.raises(DatasetNotFoundError):
        from_directory(tmp_path / "absent")


def test_from_numpy_uint8_and_float():
    images = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3) * 10
    x, y = next(iter(from_numpy(images, np.array([3, 4]), shuffle=False)))
    assert x.shape == (2, 3, 3, 1) and x.dtype == "float32"
    np.testing.assert_allclose(x.numpy()[..., 0], images / 255.0, atol=1e-7)
    assert y.dtype == "int32" and y.numpy().tolist() == [3, 4]
    floats = np.random.default_rng(0).random((5, 4, 4, 3))
    x = next(iter(from_numpy(floats, batch_size=5, shuffle=False)))
    np.testing.assert_allclose(x.numpy(), floats.astype(np.float32))


@pytest.mark.parametrize(
    "images, message",
    [
        (np.zeros((4, 4), np.uint8), "got shape"),
        (np.zeros((1, 4, 4, 2), np.uint8), "C in"),
        (np.full((1, 4, 4), 1.5), r"\[0, 1\]"),
        (np.full((1, 4, 4), np.nan), r"\[0, 1\]"),
        (np.zeros((1, 4, 4), np.int64), "dtype int64"),
    ],
)
def test_from_numpy_rejects_bad_arrays(images, message):
    with pytest.raises(DatasetError, match=message):
        from_numpy(images)


def test_from_numpy_label_count():
    with pytest.raises(DatasetError, match="one row per image"):
        from_numpy(np.zeros((3, 4, 4), np.uint8), labels=np.zeros(2))
