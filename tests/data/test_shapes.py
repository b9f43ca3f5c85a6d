"""Tests of the embedded dSprites-compatible renderer ``keras_gvae.data.shapes``."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from keras_gvae.data import shapes
from keras_gvae.data.ground_truth_data import GroundTruthData
from keras_gvae.data.shapes.renderer import _render_values as render_values

SAMPLE = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "data"
    / "dsprites_sample"
    / "dsprites_sample96.npz"
)


def latents(shape=0, scale=5, orientation=0, pos_x=16, pos_y=16):
    """Latent-class rows; every argument broadcasts (ints or arrays)."""
    columns = np.broadcast_arrays(0, shape, scale, orientation, pos_x, pos_y)
    return np.stack([np.ravel(c) for c in columns], axis=1).astype(np.int64)


def centre_of_mass(images):
    """(row, column) centre of mass of each image, (N, 2)."""
    images = images.astype(np.float64)
    grid = np.arange(shapes.IMAGE_SIZE)
    area = images.sum((1, 2))
    rows = (images.sum(2) * grid).sum(1) / area
    cols = (images.sum(1) * grid).sum(1) / area
    return np.stack([rows, cols], axis=1)


def iou(a, b):
    a, b = a.astype(bool), b.astype(bool)
    return (a & b).sum((-1, -2)) / (a | b).sum((-1, -2))


# === render ===


def test_render_is_deterministic_binary_uint8():
    rows = shapes.sample_latents_classes(300, np.random.default_rng(0))
    first, second = shapes.render(rows), shapes.render(rows.copy())
    assert first.dtype == np.uint8 and first.shape == (300, 64, 64)
    assert set(np.unique(first)) <= {0, 1}
    np.testing.assert_array_equal(first, second)
    # Chunking does not change anything: rendering one at a time gives the same images.
    np.testing.assert_array_equal(
        first[:5], np.concatenate([shapes.render(r[None]) for r in rows[:5]])
    )


def test_every_sprite_mask_is_non_empty():
    shape, scale, orientation = np.meshgrid(
        np.arange(3), np.arange(6), np.arange(40), indexing="ij"
    )
    images = shapes.render(latents(shape, scale, orientation))
    assert images.shape == (3 * 6 * 40, 64, 64)
    assert (images.sum((1, 2)) > 0).all()


def test_every_position_is_non_empty_and_distinct():
    pos_x, pos_y = np.meshgrid(np.arange(32), np.arange(32), indexing="ij")
    images = shapes.render(latents(2, 0, 7, pos_x, pos_y))
    assert (images.sum((1, 2)) > 0).all()
    assert len({image.tobytes() for image in images}) == 32 * 32


def test_sprites_are_never_clipped():
    # Every sprite at the four extreme positions stays off the image border.
    shape, scale, orientation, corner = np.meshgrid(
        np.arange(3), np.arange(6), np.arange(40), [0, 31], indexing="ij"
    )
    for pos_y in (0, 31):
        images = shapes.render(latents(shape, scale, orientation, corner, pos_y))
        border = images[:, [0, -1], :].sum((1, 2)) + images[:, :, [0, -1]].sum((1, 2))
        assert (border == 0).all()


@pytest.mark.parametrize("shape", [0, 1, 2])
def test_pos_x_moves_right_along_columns_and_pos_y_down_along_rows(shape):
    steps = np.arange(32)
    expected = 15.5 + 32 * shapes.POSITION_VALUES  # sprite centre, pixel coordinates
    along_x = centre_of_mass(shapes.render(latents(shape, 5, 0, steps, 9)))
    along_y = centre_of_mass(shapes.render(latents(shape, 5, 0, 9, steps)))
    # Increasing pos_x: columns grow, rows stay (up to sub-pixel sampling); and vice versa.
    assert (np.diff(along_x[:, 1]) > 0).all() and np.ptp(along_x[:, 0]) < 0.5
    assert (np.diff(along_y[:, 0]) > 0).all() and np.ptp(along_y[:, 1]) < 0.5
    # Pixels are sampled at their centres, so the centroid is within half a pixel of the
    # symmetric sprites' centre; the heart is symmetric left-right only, lobes up.
    np.testing.assert_allclose(along_x[:, 1], expected, atol=0.5)
    if shape < 2:
        np.testing.assert_allclose(along_y[:, 0], expected, atol=0.5)
    else:
        assert (along_y[:, 0] < expected).all()


@pytest.mark.parametrize("shape", [0, 1, 2])
def test_area_grows_with_scale_like_scale_squared(shape):
    scale, pos_x, pos_y = np.meshgrid(np.arange(6), np.arange(32), np.arange(0, 32, 4))
    images = shapes.render(latents(shape, scale.ravel(), 0, pos_x.ravel(), pos_y.ravel()))
    areas = images.sum((1, 2)).reshape(scale.shape).astype(np.float64)
    assert (np.diff(areas, axis=1) > 0).all()  # At every position.
    # Averaged over the sub-pixel phases, the pixel count is the exact area at scale s:
    # (19.2 s)^2 (square), pi 12.8 s 7.2 s (ellipse), 180 pi (1 / 16) (2 / 29) 9.6^2 s^2.
    unit_area = [19.2**2, np.pi * 12.8 * 7.2, 180 * np.pi / 16 * 2 / 29 * 9.6**2][shape]
    mean_areas = areas.mean(axis=(0, 2))
    np.testing.assert_allclose(mean_areas, unit_area * shapes.SCALE_VALUES**2, rtol=0.02)


def test_orientation_2pi_equals_0():
    shape, scale, pos = np.meshgrid(np.arange(3), np.arange(6), [0, 13, 31], indexing="ij")
    np.testing.assert_array_equal(
        shapes.render(latents(shape, scale, 0, pos, pos)),
        shapes.render(latents(shape, scale, 39, pos, pos)),
    )


def test_square_quarter_turn_and_ellipse_half_turn_are_symmetries():
    # The grid step is 2*pi/39, so no grid index is exactly pi/2: check the symmetry with
    # exact angles through the renderer of continuous values.
    scale, pos_x, pos_y = (a.ravel() for a in np.meshgrid(range(6), range(0, 32, 3), [2, 17]))
    values = dict(
        scale=shapes.SCALE_VALUES[scale],
        pos_x=shapes.POSITION_VALUES[pos_x],
        pos_y=shapes.POSITION_VALUES[pos_y],
    )
    zeros = np.zeros(len(scale))
    for shape, period in [(0, np.pi / 2), (1, np.pi)]:
        kinds = np.full(len(scale), shape)
        upright = render_values(kinds, angle=zeros, **values)
        turned = render_values(kinds, angle=zeros + period, **values)
        np.testing.assert_array_equal(upright, turned)
    # On the grid, 10 steps (92.3 degrees) is close to, not equal to, the upright square.
    grid = latents(0, np.arange(6), 0, 16, 16)
    rotated = grid.copy()
    rotated[:, 3] = 10
    assert (iou(shapes.render(grid), shapes.render(rotated)) > 0.85).all()


def test_positive_orientation_is_counter_clockwise():
    # The ellipse's long axis starts along the columns and turns by +angle with y up.
    images = shapes.render(latents(1, 5, np.arange(1, 10), 16, 16)).astype(np.float64)
    rows, cols = np.mgrid[:64, :64]
    x, y = cols[None] * 1.0, -rows[None] * 1.0
    area = images.sum((1, 2))
    mx = (images * x).sum((1, 2)) / area
    my = (images * y).sum((1, 2)) / area
    cxx = (images * (x - mx[:, None, None]) ** 2).sum((1, 2))
    cyy = (images * (y - my[:, None, None]) ** 2).sum((1, 2))
    cxy = (images * (x - mx[:, None, None]) * (y - my[:, None, None])).sum((1, 2))
    axis_angle = 0.5 * np.arctan2(2 * cxy, cxx - cyy)
    np.testing.assert_allclose(axis_angle, shapes.ORIENTATION_VALUES[1:10], atol=np.radians(3))


@pytest.mark.shared_data
def test_matches_real_dsprites_sample():
    if not SAMPLE.is_file():
        pytest.skip(f"real dSprites sample {SAMPLE} is absent (it sits beside the repo in CI)")
    with np.load(SAMPLE) as sample:
        real, rows = sample["imgs"], sample["latents_classes"]
    scores = iou(shapes.render(rows), real)
    # Measured (benchmarks/results/shapes_calibration.md): square 0.9999, ellipse 0.9986,
    # heart 0.9999 mean IoU, worst image 0.987; 7 pixels differ over the 96 images.
    for shape, name in enumerate(shapes.SHAPE_NAMES):
        assert scores[rows[:, 1] == shape].mean() > 0.99, name
    assert scores.min() > 0.97


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.zeros(6, np.int64), r"shape \(N, 6\).*got shape \(6,\)"),
        (np.zeros((2, 5), np.int64), r"shape \(N, 6\).*got shape \(2, 5\)"),
        (np.zeros((2, 6), np.float32), r"integer array.*got dtype float32"),
        (np.zeros((2, 6), bool), r"integer array.*got dtype bool"),
        (latents(shape=3), r"column 1 \(shape\).*outside \[0, 2\]"),
        (latents(pos_y=-1), r"column 5 \(pos_y\).*outside \[0, 31\]"),
        (latents(orientation=40), r"column 3 \(orientation\).*outside \[0, 39\]"),
    ],
)
def test_render_rejects_bad_latents(bad, match):
    with pytest.raises(ValueError, match=match):
        shapes.render(bad)


# === attributes ===


def test_attributes_follow_the_factors():
    rows = shapes.sample_latents_classes(500, np.random.default_rng(1))
    values = shapes.attributes(rows)
    assert values.dtype == np.int32 and values.shape == (500, len(shapes.ATTRIBUTES))
    expected = {
        "is_square": rows[:, 1] == 0,
        "is_ellipse": rows[:, 1] == 1,
        "is_heart": rows[:, 1] == 2,
        "large": shapes.SCALE_VALUES[rows[:, 2]] >= 0.8,
        "right_half": 15.5 + 32 * shapes.POSITION_VALUES[rows[:, 4]] > 31.5,
        "bottom_half": 15.5 + 32 * shapes.POSITION_VALUES[rows[:, 5]] > 31.5,
    }
    assert list(shapes.ATTRIBUTES) == list(expected)
    for column, name in enumerate(expected):
        np.testing.assert_array_equal(values[:, column], expected[name], err_msg=name)
    picked = shapes.attributes(rows, ["bottom_half", "is_heart"])
    np.testing.assert_array_equal(picked, values[:, [5, 2]])


def test_bottom_half_means_lower_rows_and_right_half_means_right_columns():
    rows = shapes.sample_latents_classes(200, np.random.default_rng(2))
    centre = centre_of_mass(shapes.render(rows))
    values = shapes.attributes(rows, ["right_half", "bottom_half"]).astype(bool)
    # The heart's centroid is off its centre, so check the symmetric square and ellipse.
    symmetric = rows[:, 1] < 2
    np.testing.assert_array_equal(centre[symmetric, 1] > 31.5, values[symmetric, 0])
    np.testing.assert_array_equal(centre[symmetric, 0] > 31.5, values[symmetric, 1])


def test_unknown_attribute_lists_valid_names():
    with pytest.raises(ValueError, match="valid names are.*is_square.*bottom_half"):
        shapes.attributes(latents(), ["is_triangle"])


# === ShapesData ===


def test_shapes_data_interface():
    data = shapes.ShapesData()
    assert isinstance(data, GroundTruthData)
    assert data.factors_num_values == [3, 6, 40, 32, 32]
    assert data.num_factors == 5
    assert data.factor_names == ["shape", "scale", "orientation", "pos_x", "pos_y"]
    assert data.observation_shape == (64, 64, 1)
    factors, images = data.sample(40, np.random.RandomState(0))
    assert factors.shape == (40, 5) and (factors < data.factors_num_values).all()
    assert images.dtype == np.float32 and images.shape == (40, 64, 64, 1)
    assert set(np.unique(images)) <= {0.0, 1.0}
    again = data.sample_observations_from_factors(factors, np.random.RandomState(1))
    np.testing.assert_array_equal(images, again)
    np.testing.assert_array_equal(images[..., 0], shapes.render(shapes.to_latents_classes(factors)))


def test_to_latents_classes_adds_the_colour_column():
    factors = np.array([[2, 5, 39, 31, 0]])
    np.testing.assert_array_equal(shapes.to_latents_classes(factors), [[0, 2, 5, 39, 31, 0]])
    with pytest.raises(ValueError, match=r"\(N, 5\)"):
        shapes.to_latents_classes(np.zeros((1, 6), np.int64))


# === make_dataset ===


def take(dataset, n):
    batches = list(itertools.islice(dataset.as_numpy_iterator(), n))
    return tuple(np.stack(parts) for parts in zip(*batches, strict=True))


def test_make_dataset_batched_shapes_and_consistency():
    dataset = shapes.make_dataset(batch_size=16, seed=3, chunk_size=40)
    image_spec, label_spec = dataset.element_spec
    assert tuple(image_spec.shape) == (16, 64, 64, 1) and image_spec.dtype.name == "float32"
    assert tuple(label_spec.shape) == (16, 6) and label_spec.dtype.name == "int32"
    images, labels = take(dataset, 6)  # 96 examples, across chunk boundaries
    assert images.shape == (6, 16, 64, 64, 1) and labels.shape == (6, 16, 6)
    labels = labels.reshape(-1, 6)
    assert (labels >= 0).all() and (labels < shapes.FACTOR_SIZES).all()
    np.testing.assert_array_equal(images.reshape(-1, 64, 64), shapes.render(labels))


def test_make_dataset_is_deterministic_per_seed_and_finite_on_request():
    first = take(shapes.make_dataset(batch_size=8, seed=5, chunk_size=16), 4)
    second = take(shapes.make_dataset(batch_size=8, seed=5, chunk_size=16), 4)
    other = take(shapes.make_dataset(batch_size=8, seed=6, chunk_size=16), 4)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[1], other[1])
    finite = list(shapes.make_dataset(seed=5, num_examples=37, chunk_size=16))
    assert len(finite) == 37
    assert tuple(finite[0][0].shape) == (64, 64, 1) and tuple(finite[0][1].shape) == (6,)
    batched = list(shapes.make_dataset(batch_size=8, seed=5, num_examples=37, chunk_size=16))
    assert len(batched) == 4  # drop_remainder
    np.testing.assert_array_equal(np.stack([f[1] for f in finite[:32]]), first[1].reshape(-1, 6))


def test_make_dataset_attribute_labels_agree_with_factors():
    names = ["is_heart", "large", "bottom_half"]
    with_factors = take(shapes.make_dataset(batch_size=32, seed=7, chunk_size=64), 3)
    with_attributes = take(
        shapes.make_dataset(batch_size=32, seed=7, attributes=names, chunk_size=64), 3
    )
    np.testing.assert_array_equal(with_factors[0], with_attributes[0])
    labels = with_attributes[1].reshape(-1, 3)
    assert labels.dtype == np.int32
    factors = with_factors[1].reshape(-1, 6)
    np.testing.assert_array_equal(labels, shapes.attributes(factors, names))
    np.testing.assert_array_equal(labels[:, 0], factors[:, 1] == 2)
    with pytest.raises(ValueError, match="valid names"):
        shapes.make_dataset(attributes=["is_triangle"])


def test_factor_values_restrict_the_grid():
    rng = np.random.default_rng(0)
    rows = shapes.sample_latents_classes(2000, rng, {"shape": [0, 2], "scale": [5]})
    assert set(np.unique(rows[:, 1])) == {0, 2}
    assert set(np.unique(rows[:, 2])) == {5}
    assert len(np.unique(rows[:, 4])) == 32  # unrestricted factors keep every value
    ds = shapes.make_dataset(
        batch_size=256,
        seed=1,
        attributes=["is_heart", "large"],
        factor_values=shapes.VARIANTS["shapes_binary"],
    )
    _, labels = next(iter(ds))
    labels = labels.numpy()
    assert labels[:, 1].min() == 0 and labels[:, 1].max() == 1
    assert 0.3 < labels[:, 0].mean() < 0.7  # square vs heart, half each
    upright = shapes.sample_latents_classes(500, rng, shapes.VARIANTS["shapes_binary_upright"])
    assert set(np.unique(upright[:, 3])) == {0} and set(np.unique(upright[:, 1])) == {0, 2}
    with pytest.raises(ValueError, match="Unknown factor names"):
        shapes.sample_latents_classes(3, rng, {"colour": [0]})
    with pytest.raises(ValueError, match=r"class indices in \[0, 3\)"):
        shapes.sample_latents_classes(3, rng, {"shape": [3]})
