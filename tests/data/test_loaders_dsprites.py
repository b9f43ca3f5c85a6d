import numpy as np
import pytest

from keras_gvae.data.dsprites import NUM_IMAGES, DSpritesData, read_dsprites_npz
from keras_gvae.data.loaders import DatasetError, DatasetNotFoundError
from keras_gvae.data.registry import load

# Four rows of the 1x3x6x40x32x32 grid: colour, shape, scale, orientation, pos_x, pos_y.
CLASSES = np.array(
    [[0, 0, 0, 0, 0, 0], [0, 1, 2, 3, 4, 5], [0, 2, 5, 39, 31, 31], [0, 1, 0, 8, 10, 24]]
)


def _write_npz(path, num=4, **extra):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 2, (num, 64, 64), dtype=np.uint8)
    arrays = {"imgs": images, "latents_classes": CLASSES[:num], **extra}
    np.savez(path, **arrays)
    return images


def test_npz_round_trip(tmp_path):
    images = _write_npz(tmp_path / "subset.npz")
    x, y = next(iter(load("dsprites", data_dir=tmp_path, batch_size=8, shuffle=False)))
    assert x.shape == (4, 64, 64, 1) and x.dtype == "float32"
    assert y.shape == (4, 6) and y.dtype == "int32"
    np.testing.assert_array_equal(x.numpy()[..., 0], images.astype(np.float32))
    np.testing.assert_array_equal(y.numpy(), CLASSES)
    assert set(np.unique(x.numpy())) <= {0.0, 1.0}


def test_official_name_and_subfolder(tmp_path):
    folder = tmp_path / "dsprites"
    folder.mkdir()
    _write_npz(folder / "dsprites_ndarray_co1sh3sc6or40x32x32_64x64.npz")
    _write_npz(folder / "other.npz", num=2)
    ds = load("dsprites", data_dir=tmp_path, batch_size=None, shuffle=False)
    assert sum(1 for _ in ds) == 4


def test_bad_npz_files(tmp_path):
    np.savez(tmp_path / "a.npz", imgs=np.zeros((2, 64, 64), np.uint8))
    with pytest.raises(DatasetError, match=r"missing arrays \['latents_classes'\]"):
        read_dsprites_npz(tmp_path / "a.npz")
    np.savez(tmp_path / "b.npz", imgs=np.zeros((2, 64, 64), np.uint8), latents_classes=CLASSES)
    with pytest.raises(DatasetError, match=r"must be \(2, 6\)"):
        read_dsprites_npz(tmp_path / "b.npz")
    (tmp_path / "c.npz").write_bytes(b"not a zip")
    with pytest.raises(DatasetError, match="c.npz: not a readable npz"):
        read_dsprites_npz(tmp_path / "c.npz")
    with pytest.raises(DatasetNotFoundError):
        read_dsprites_npz(tmp_path / "absent.npz")
    with pytest.raises(DatasetNotFoundError):
        load("dsprites", data_dir=tmp_path / "empty", source="local")


def test_ground_truth_data_on_a_subset(tmp_path):
    images = _write_npz(tmp_path / "subset.npz")
    data = DSpritesData(tmp_path)
    assert data.factors_num_values == [3, 6, 40, 32, 32]
    assert data.factor_names == ["shape", "scale", "orientation", "pos_x", "pos_y"]
    assert data.observation_shape == (64, 64, 1) and not data.is_full_grid
    factors = data.sample_factors(50, np.random.RandomState(0))
    assert factors.shape == (50, 5) and factors.dtype == np.int64
    assert {tuple(r) for r in factors} <= {tuple(r) for r in CLASSES[:, 1:]}
    observations = data.sample_observations_from_factors(CLASSES[::-1, 1:], None)
    assert observations.shape == (4, 64, 64, 1) and observations.dtype == np.float32
    np.testing.assert_array_equal(observations[..., 0], images[::-1])
    with pytest.raises(
        DatasetError, match=r"not in this dSprites file, e.g. \[\[1, 1, 1, 1, 1\]\]"
    ):
        data.sample_observations_from_factors(np.array([[1, 1, 1, 1, 1]]), None)
    with pytest.raises(DatasetError, match=r"\(num, 5\)"):
        data.sample_observations_from_factors(CLASSES, None)
    sampled_factors, sampled = data.sample(8, np.random.RandomState(1))
    assert sampled.shape == (8, 64, 64, 1)


def test_ground_truth_data_on_the_full_grid():
    # The whole 737280-row grid with 1x1 "images" holding a hash of the row.
    grid = np.stack(np.unravel_index(np.arange(NUM_IMAGES), (1, 3, 6, 40, 32, 32)), axis=1)
    shuffled = np.random.default_rng(0).permutation(NUM_IMAGES)
    images = (shuffled % 2).astype(np.uint8).reshape(-1, 1, 1)
    data = DSpritesData.from_arrays(images, grid[shuffled])
    assert data.is_full_grid
    factors = data.sample_factors(1000, np.random.RandomState(0))
    assert factors[:, 2].max() > 30  # Independent uniform draws cover the grid.
    observations = data.sample_observations_from_factors(factors, None)
    flat = np.ravel_multi_index(factors.T, (3, 6, 40, 32, 32))
    np.testing.assert_array_equal(observations[:, 0, 0, 0], flat % 2)
