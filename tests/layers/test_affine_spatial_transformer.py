import numpy as np
import pytest
import tensorflow as tf

from keras_gvae.layers import AffineSpatialTransformer, affine_theta
from tests.helpers import run_layer_serialization_test


@pytest.fixture
def images():
    return np.random.default_rng(0).random((3, 12, 12, 2)).astype("float32")


def test_identity_warp_returns_its_input(images):
    theta = np.tile(np.array([[[1, 0, 0], [0, 1, 0]]], "float32"), (3, 1, 1))
    np.testing.assert_array_equal(AffineSpatialTransformer()(images, theta), images)
    identity = affine_theta(scale_x=tf.ones(3), angle=tf.zeros(3), size=(12, 12))
    np.testing.assert_allclose(AffineSpatialTransformer()(images, identity), images, atol=1e-6)


def test_quarter_turn_matches_np_rot90(images):
    theta = affine_theta(angle=tf.fill([3], np.pi / 2), size=(12, 12))
    out = AffineSpatialTransformer()(images, theta).numpy()
    for i in range(3):
        np.testing.assert_allclose(out[i], np.rot90(images[i]), atol=1e-5)
    half = AffineSpatialTransformer()(
        images, affine_theta(angle=tf.fill([3], np.pi), size=(12, 12))
    )
    np.testing.assert_allclose(half[0], np.rot90(images[0], 2), atol=1e-5)


def test_translation_by_whole_pixels_shifts_and_zero_fills(images):
    # translate_x = 1 is (W - 1) / 2 = 5.5 px; 2/5.5 moves by exactly 2 px to the right.
    theta = affine_theta(translate_x=tf.fill([3], 2 / 5.5), size=(12, 12))
    out = AffineSpatialTransformer()(images, theta).numpy()
    np.testing.assert_allclose(out[:, :, 2:], images[:, :, :-2], atol=1e-5)
    np.testing.assert_array_equal(out[:, :, :2], 0.0)
    down = affine_theta(translate_y=tf.fill([3], 1 / 5.5), size=(12, 12))
    out = AffineSpatialTransformer()(images, down).numpy()
    np.testing.assert_allclose(out[:, 1:], images[:, :-1], atol=1e-5)


def test_scaling_up_by_two_magnifies_the_centre():
    img = np.zeros((1, 9, 9, 1), "float32")
    img[0, 4, 4, 0] = 1.0  # the centre pixel
    out = AffineSpatialTransformer()(
        img, affine_theta(scale_x=tf.constant([2.0]), scale_y=tf.constant([2.0]), size=(9, 9))
    )
    out = out.numpy()[0, :, :, 0]
    # The centre stays, and the blob spreads to the 4-neighbours at weight 1/2.
    assert out[4, 4] == pytest.approx(1.0)
    assert out[4, 5] == pytest.approx(0.5) and out[3, 4] == pytest.approx(0.5)
    assert out.sum() > 1.5


def test_bilinear_weights_interpolate_between_pixels():
    img = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
    theta = np.array([[[1, 0, 0.5], [0, 1, 0]]], "float32")  # read half a pixel to the right
    out = AffineSpatialTransformer()(img, theta).numpy()[0, :, :, 0]
    np.testing.assert_allclose(out[:, :3], img[0, :, :3, 0] + 0.5)
    np.testing.assert_allclose(out[:, 3], img[0, :, 3, 0] * 0.5)  # half outside -> zeros


def test_gradients_flow_to_theta(images):
    theta = tf.Variable(affine_theta(angle=tf.fill([3], 0.3), size=(12, 12)))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(AffineSpatialTransformer()(images, theta) ** 2)
    grad = tape.gradient(loss, theta)
    assert np.all(np.isfinite(grad)) and np.abs(grad).sum() > 0


def test_config_round_trip():
    run_layer_serialization_test(AffineSpatialTransformer(name="warp"))
