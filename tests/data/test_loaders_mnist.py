import numpy as np
import pytest

from keras_gvae.data.loaders import DatasetError, DatasetNotFoundError
from keras_gvae.data.mnist import read_idx, read_mnist
from keras_gvae.data.registry import load


def _digits(num=12, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (num, 28, 28), dtype=np.uint8)
    labels = (np.arange(num) % 10).astype(np.uint8)
    return images, labels


@pytest.mark.parametrize("gz", [True, False])
def test_idx_round_trip(tmp_path, files, gz):
    images, labels = _digits()
    files.mnist(tmp_path, "t10k", images, labels, gz=gz)
    ds = load("mnist", split="test", data_dir=tmp_path, batch_size=5, shuffle=False)
    x, y = files.collect(ds)
    assert x.shape == (12, 28, 28, 1) and x.dtype == np.float32
    assert y.dtype == np.int32
    np.testing.assert_allclose(x[..., 0], images / 255.0, atol=1e-7)
    np.testing.assert_array_equal(y, labels)
    assert 0.0 <= x.min() and x.max() <= 1.0


def test_batches_shuffle_and_drop_remainder(tmp_path, files):
    images, labels = _digits(num=10)
    files.mnist(tmp_path, "train", images, labels)

    def epochs(seed, count=2):
        ds = load("mnist", data_dir=tmp_path, batch_size=4, drop_remainder=True, seed=seed)
        return [[y.tolist() for _, y in ds.as_numpy_iterator()] for _ in range(count)]

    first, second = epochs(seed=3)
    assert [len(batch) for batch in first] == [4, 4]
    assert first != second  # Reshuffled every epoch...
    assert epochs(seed=3) == [first, second]  # ...reproducibly for a seed.
    _, y = files.collect(load("mnist", data_dir=tmp_path, batch_size=4, seed=3))
    assert sorted(y.tolist()) == sorted(labels.tolist())


def test_subfolder_and_resize(tmp_path, files):
    images, labels = _digits(num=3)
    files.mnist(tmp_path / "mnist", "train", images, labels)
    x, y = files.collect(load("mnist", data_dir=tmp_path, image_size=14, shuffle=False))
    assert x.shape == (3, 14, 14, 1)
    np.testing.assert_array_equal(y, labels)


def test_truncated_images_file(tmp_path, files):
    images, labels = _digits(num=3)
    files.mnist(tmp_path, "train", images, labels)
    raw = files.idx_bytes(images)[:1200]
    files.idx(tmp_path / "train-images-idx3-ubyte.gz", raw)
    with pytest.raises(
        DatasetError,
        match=r"train-images-idx3-ubyte.gz: expected 2368 bytes of 3x28x28 images, got 1200",
    ):
        load("mnist", data_dir=tmp_path)


def test_truncated_gzip_stream(tmp_path, files):
    images, labels = _digits(num=3)
    files.mnist(tmp_path, "train", images, labels)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(DatasetError, match="train-images-idx3-ubyte.gz: not a complete gzip"):
        read_mnist(tmp_path, "train")


def test_wrong_magic(tmp_path, files):
    images, labels = _digits(num=3)
    files.mnist(tmp_path, "train", images, labels)
    # A labels file where the images file should be.
    files.idx(tmp_path / "train-images-idx3-ubyte.gz", files.idx_bytes(labels))
    with pytest.raises(DatasetError, match="magic number 2049.*expected 2051"):
        read_mnist(tmp_path, "train")


def test_missing_labels_file(tmp_path, files):
    images, labels = _digits(num=3)
    files.mnist(tmp_path, "train", images, labels)
    (tmp_path / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DatasetNotFoundError, match="train-labels-idx1-ubyte"):
        load("mnist", data_dir=tmp_path)


def test_count_mismatch(tmp_path, files):
    images, labels = _digits(num=3)
    files.mnist(tmp_path, "train", images, labels[:2])
    with pytest.raises(DatasetError, match="3 images but .* 2 labels"):
        read_mnist(tmp_path, "train")


def test_local_source_without_files(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="train-images-idx3-ubyte"):
        load("mnist", data_dir=tmp_path, source="local")
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nothing.gz", 2051, "images")


def test_local_split_names(tmp_path, files):
    images, labels = _digits(num=3)
    files.mnist(tmp_path, "train", images, labels)
    with pytest.raises(DatasetError, match="splits"):
        load("mnist", split="train[:2]", data_dir=tmp_path, source="local")
