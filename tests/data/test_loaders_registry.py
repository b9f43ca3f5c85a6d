import importlib.util

import numpy as np
import pytest
import tensorflow as tf

from keras_gvae.data.loaders import (
    DatasetError,
    DatasetNotFoundError,
    resize_array,
    resize_image,
)
from keras_gvae.data.registry import LOADERS, available_datasets, load


def test_registry_names():
    assert available_datasets() == [
        "celeb_a",
        "dsprites",
        "mnist",
        "omniglot",
        "shapes",
        "shapes_binary",
        "shapes_binary_upright",
    ]
    assert set(LOADERS) == set(available_datasets())


def test_unknown_dataset_lists_the_available_ones():
    with pytest.raises(
        DatasetError, match="unknown dataset 'cifar10'; available: celeb_a, dsprites"
    ):
        load("cifar10")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"source": "web"}, "source must be one of"),
        ({"batch_size": 0}, "batch_size"),
        ({"image_size": (0, 3)}, "image_size"),
        ({"attributes": ["Smiling"]}, "has none"),
    ],
)
def test_bad_arguments(tmp_path, files, kwargs, message):
    files.mnist(tmp_path, "train", np.zeros((2, 28, 28)), np.zeros(2))
    with pytest.raises(DatasetError, match=message):
        load("mnist", data_dir=tmp_path, **kwargs)


def test_local_source_without_data_dir():
    with pytest.raises(DatasetNotFoundError, match="no data_dir given"):
        load("dsprites", source="local")


def test_tf_and_pillow_resizing_agree_within_one_grey_level():
    image = np.random.default_rng(0).integers(0, 256, (178, 178, 3), dtype=np.uint8)
    with_tf = resize_image(tf.constant(image), (64, 64)).numpy().astype(int)
    with_pil = resize_array(image, (64, 64)).astype(int)
    assert np.abs(with_tf - with_pil).max() <= 1


@pytest.mark.skipif(
    importlib.util.find_spec("keras_gvae.data.shapes") is None,
    reason="keras_gvae.data.shapes is not written yet",
)
def test_shapes_entry(files):
    ds = load("shapes", batch_size=8, num_examples=12, seed=0)
    x, y = files.collect(ds)
    assert x.shape == (12, 64, 64, 1) and x.dtype == np.float32
    assert y.dtype == np.int32 and y.shape == (12, 6)
    assert set(np.unique(x)) <= {0.0, 1.0}
    _, again = files.collect(ds)
    assert sorted(map(tuple, again)) == sorted(map(tuple, y))  # The same 12, reshuffled.
    endless = load("shapes", batch_size=4, attributes=["is_heart", "large"], image_size=32)
    x, y = next(iter(endless))
    assert x.shape == (4, 32, 32, 1) and y.shape == (4, 2)
    assert set(np.unique(y.numpy())) <= {0, 1}
    with pytest.raises(DatasetError, match="no tfds source"):
        load("shapes", source="tfds")


def test_with_info_says_the_shapes_stream_is_endless_and_a_fixed_sample_is_not():
    ds, info = load("shapes", batch_size=4, with_info=True)
    assert info == {"name": "shapes", "split": "train", "endless": True}
    assert ds.cardinality() == tf.data.INFINITE_CARDINALITY
    fixed, info = load("shapes", batch_size=4, num_examples=8, with_info=True)
    assert info["endless"] is False and len(list(fixed)) == 2
