"""The local readers on the real files of ../shared/data (skipped when it is absent)."""

import numpy as np
import pytest

from keras_gvae.data.celeb_a import ATTRIBUTE_NAMES
from keras_gvae.data.dsprites import DSpritesData
from keras_gvae.data.mnist import read_mnist
from keras_gvae.data.omniglot import BACKGROUND_ALPHABETS, read_omniglot
from keras_gvae.data.registry import load

pytestmark = pytest.mark.shared_data


def test_mnist_idx(shared_data, files):
    images, labels = read_mnist(shared_data / "mnist", "test")
    assert images.shape == (10000, 28, 28, 1) and images.dtype == np.uint8
    counts = np.bincount(labels, minlength=10)
    assert counts.sum() == 10000 and len(counts) == 10 and counts.min() > 800
    train_images, train_labels = read_mnist(shared_data / "mnist", "train")
    assert train_images.shape == (60000, 28, 28, 1) and np.bincount(train_labels).sum() == 60000
    x, y = next(iter(load("mnist", split="test", data_dir=shared_data, batch_size=10000)))
    assert x.shape == (10000, 28, 28, 1) and float(x.numpy().max()) == 1.0
    np.testing.assert_array_equal(np.sort(y.numpy()), np.sort(labels))


def test_dsprites_sample(shared_data):
    x, y = next(iter(load("dsprites", data_dir=shared_data, batch_size=200, shuffle=False)))
    assert x.shape == (96, 64, 64, 1) and y.shape == (96, 6)
    assert set(np.unique(x.numpy())) == {0.0, 1.0}
    assert (y.numpy()[:, 0] == 0).all() and y.numpy()[:, 1].max() <= 2
    data = DSpritesData(shared_data / "dsprites_sample")
    factors = data.sample_factors(10, np.random.RandomState(0))
    observations = data.sample_observations_from_factors(factors, None)
    assert observations.shape == (10, 64, 64, 1) and observations.max() == 1.0


def test_celeba_sample(shared_data, files):
    ds = load("celeb_a", data_dir=shared_data, batch_size=64, shuffle=False)
    x, y = files.collect(ds)
    assert x.shape == (200, 64, 64, 3) and y.shape == (200, 40)
    assert ds.attribute_names == ATTRIBUTE_NAMES
    csv = (shared_data / "celeba_sample" / "celeba_small_H64_W64_N200.csv").read_text().splitlines()
    first = [int(v) for v in csv[1].split(",")[1:]]
    np.testing.assert_array_equal(y[0], (np.array(first) > 0).astype(np.int32))
    assert 0.0 <= x.min() and x.max() <= 1.0 and x.std() > 0.1


@pytest.mark.parametrize("split, count", [("small1", 2720), ("small2", 3120)])
def test_omniglot_small_zips(shared_data, split, count):
    images, labels = read_omniglot(shared_data / "omniglot" / f"images_background_{split}.zip")
    assert images.shape == (count, 28, 28, 1) and labels.shape == (count, 2)
    # Strokes are high after inversion: most pixels are background (0).
    assert np.median(images) == 0 and images.max() == 255
    from keras_gvae.data.omniglot import ALPHABET_NAMES

    alphabets = {ALPHABET_NAMES[i] for i in np.unique(labels[:, 0])}
    assert len(alphabets) == 5 and alphabets <= set(BACKGROUND_ALPHABETS)
    # Every character has 20 drawers.
    _, per_character = np.unique(labels, axis=0, return_counts=True)
    assert (per_character == 20).all()
