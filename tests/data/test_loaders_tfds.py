"""Every tfds path, through ``tfds.testing.mock_data`` (no download)."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from keras_gvae.data.celeb_a import ATTRIBUTE_NAMES
from keras_gvae.data.dsprites import DSpritesData
from keras_gvae.data.loaders import DatasetError, TFDSUnavailableError, resize_image
from keras_gvae.data.registry import load

NUM = 4


def _raw(name, split):
    return list(tfds.load(name, split=split, shuffle_files=False).as_numpy_iterator())


def _check_images(x, shape):
    assert x.shape == (NUM, *shape) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0


def test_mnist(files):
    with tfds.testing.mock_data(num_examples=NUM):
        x, y = files.collect(load("mnist", split="test", batch_size=3, shuffle=False))
        raw = _raw("mnist", "test")
    _check_images(x, (28, 28, 1))
    np.testing.assert_allclose(x, np.stack([r["image"] for r in raw]) / 255.0, atol=1e-7)
    assert y.dtype == np.int32
    np.testing.assert_array_equal(y, [r["label"] for r in raw])


def test_dsprites_is_binary_with_latents_classes(files):
    with tfds.testing.mock_data(num_examples=NUM):
        x, y = files.collect(load("dsprites", batch_size=NUM, shuffle=False))
        raw = _raw("dsprites", "train")
    _check_images(x, (64, 64, 1))
    np.testing.assert_array_equal(x, np.stack([r["image"] > 0 for r in raw]).astype(np.float32))
    keys = [
        "label_shape",
        "label_scale",
        "label_orientation",
        "label_x_position",
        "label_y_position",
    ]
    expected = [[0] + [r[k] for k in keys] for r in raw]
    assert y.shape == (NUM, 6) and y.dtype == np.int32
    np.testing.assert_array_equal(y, expected)


def test_celeb_a_crop_resize_and_attributes(files):
    chosen = ["Young", "Bald"]
    with tfds.testing.mock_data(num_examples=NUM):
        x, y = files.collect(load("celeb_a", split="validation", shuffle=False))
        _, y_sub = files.collect(load("celeb_a", attributes=chosen, shuffle=False))
        raw = _raw("celeb_a", "validation")
        raw_train = _raw("celeb_a", "train")
        with pytest.raises(DatasetError, match="unknown CelebA attributes"):
            load("celeb_a", attributes=["Beard"])
    _check_images(x, (64, 64, 3))
    crop = np.stack([r["image"][20:198] for r in raw])  # 178x178 of 218x178.
    expected = resize_image(tf.constant(crop), (64, 64)).numpy() / 255.0
    np.testing.assert_allclose(x, expected, atol=1e-6)
    np.testing.assert_array_equal(y, [[r["attributes"][a] for a in ATTRIBUTE_NAMES] for r in raw])
    assert y.dtype == np.int32 and set(np.unique(y)) <= {0, 1}
    np.testing.assert_array_equal(y_sub, [[r["attributes"][a] for a in chosen] for r in raw_train])


def test_omniglot_inverted_and_resized(files):
    with tfds.testing.mock_data(num_examples=NUM):
        ds = load("omniglot", split="small2", shuffle=False, image_size=105)
        x, y = files.collect(ds)
        x28, _ = files.collect(load("omniglot", split="small2", shuffle=False))
        raw = _raw("omniglot", "small2")
    _check_images(x, (105, 105, 1))
    grey = np.stack([tf.image.rgb_to_grayscale(r["image"]).numpy() for r in raw])
    np.testing.assert_allclose(x, (255 - grey) / 255.0, atol=1e-7)
    _check_images(x28, (28, 28, 1))
    np.testing.assert_array_equal(y, [[r["alphabet"], r["alphabet_char_id"]] for r in raw])
    assert y.dtype == np.int32 and len(ds.alphabet_names) == 50


def test_shuffled_tfds_pipeline_keeps_every_example(files):
    with tfds.testing.mock_data(num_examples=NUM):
        _, y = files.collect(load("mnist", batch_size=3, seed=1))
        raw = _raw("mnist", "train")
    assert sorted(y.tolist()) == sorted(int(r["label"]) for r in raw)


def test_ground_truth_dsprites_from_tfds():
    with tfds.testing.mock_data(num_examples=NUM):
        data = DSpritesData.from_tfds()
    assert data.num_images == NUM
    factors = data.sample_factors(3, np.random.RandomState(0))
    assert data.sample_observations_from_factors(factors, None).shape == (3, 64, 64, 1)


def test_unknown_tfds_split():
    with pytest.raises(DatasetError, match="valid splits are"):
        load("mnist", split="validation")


def test_offline_failure_names_the_local_files(monkeypatch, tmp_path):
    def offline(*args, **kwargs):
        raise OSError("Failed to establish a new connection")

    monkeypatch.setattr(tfds, "load", offline)
    with pytest.raises(
        TFDSUnavailableError, match=r"data_dir= pointing at a folder holding.*t10k-images-idx3"
    ):
        load("mnist", split="test[:10%]")
    with pytest.raises(DatasetError, match=rf"No local files were found in {tmp_path}.*img_align"):
        load("celeb_a", data_dir=tmp_path)


@pytest.mark.parametrize("name", ["mnist", "dsprites", "celeb_a", "omniglot"])
def test_a_missing_data_dir_is_refused_before_tfds_creates_it(monkeypatch, tmp_path, name):
    # Issue #14, case 4: tfds created the folder, downloaded into it and retried for minutes.
    from keras_gvae.data.loaders import DatasetNotFoundError

    monkeypatch.setattr(tfds, "load", lambda *a, **k: pytest.fail("tfds.load was called"))
    missing = tmp_path / "nonexistent"
    with pytest.raises(DatasetNotFoundError, match=f"data_dir '{missing}' does not exist"):
        load(name, data_dir=missing)
    assert not missing.exists()


def test_a_data_dir_without_local_files_is_not_a_download_cache(monkeypatch, tmp_path):
    calls = []

    def record(*args, **kwargs):
        calls.append(kwargs)
        raise AssertionError("Dataset mnist: could not find data")

    monkeypatch.setattr(tfds, "load", record)
    with pytest.raises(TFDSUnavailableError, match="nor data prepared there by tfds"):
        load("mnist", data_dir=tmp_path)
    assert calls[-1]["download"] is False and calls[-1]["data_dir"] == str(tmp_path)
    with pytest.raises(TFDSUnavailableError):
        load("mnist", data_dir=tmp_path, source="tfds")  # asked for tfds: it may download
    assert calls[-1]["download"] is True
    assert list(tmp_path.iterdir()) == []
