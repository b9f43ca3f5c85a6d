"""The shape check: known answers on the embedded shapes' own renderings."""

import numpy as np
import pytest

from keras_gvae.data.shapes import ShapesData
from keras_gvae.evaluation.shape_check import iou, shape_check


@pytest.fixture(scope="module")
def sample():
    data = ShapesData()
    factors, images = data.sample(60, np.random.RandomState(3))
    factors[:, 1] = 5  # the largest scale: the three shapes differ by many pixels
    images = data.sample_observations_from_factors(factors, None)
    return data, factors, images


def render(data):
    return lambda f: data.sample_observations_from_factors(f, None)


def test_iou_closed_forms():
    a = np.zeros((3, 4, 4, 1))
    b = np.zeros((3, 4, 4, 1))
    a[0, :2] = 1  # 8 pixels
    b[0, 1:3] = 1  # 8 pixels, 4 shared: 4 / 12
    a[1] = 1
    b[1] = 0.4  # below the threshold: empty, IoU 0
    assert iou(a, b) == pytest.approx([4 / 12, 0.0, 1.0])  # both empty: 1


def test_the_inputs_themselves_draw_every_shape(sample):
    data, factors, images = sample
    result = shape_check(images, images, factors, render(data))
    assert result["right_shape"] == 1.0
    assert result["iou_input"] == 1.0 and result["iou_true_shape"] == 1.0
    assert {result[f"right_shape_{k}"] for k in range(3)} == {1.0}


def test_a_decoder_that_draws_the_wrong_shape_fails(sample):
    data, factors, images = sample
    wrong = factors.copy()
    wrong[:, 0] = (wrong[:, 0] + 1) % 3
    result = shape_check(
        data.sample_observations_from_factors(wrong, None), images, factors, render(data)
    )
    assert result["right_shape"] == 0.0
    assert result["iou_input"] < 0.95


def test_an_empty_image_draws_no_shape(sample):
    data, factors, images = sample
    blank = np.zeros_like(images)
    result = shape_check(blank, images, factors, render(data))
    assert result["right_shape"] == 0.0 and result["iou_input"] == 0.0


def test_mismatched_lengths_are_refused(sample):
    data, factors, images = sample
    with pytest.raises(ValueError, match="same length"):
        shape_check(images[:3], images, factors, render(data))
