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


def numpy_bilinear(images, theta):
    """Direct per-pixel bilinear sampling with zeros outside, and its adjoint matrix."""
    n, h, w, c = images.shape
    out = np.zeros_like(images, dtype=np.float64)
    adjoint = np.zeros((n, h * w, h * w))  # output pixel <- source pixel weights
    for b in range(n):
        for i in range(h):
            for j in range(w):
                px, py = j - (w - 1) / 2, i - (h - 1) / 2
                sx = theta[b, 0, 0] * px + theta[b, 0, 1] * py + theta[b, 0, 2] + (w - 1) / 2
                sy = theta[b, 1, 0] * px + theta[b, 1, 1] * py + theta[b, 1, 2] + (h - 1) / 2
                x0, y0 = int(np.floor(sx)), int(np.floor(sy))
                for yi, xi, weight in (
                    (y0, x0, (1 - (sy - y0)) * (1 - (sx - x0))),
                    (y0, x0 + 1, (1 - (sy - y0)) * (sx - x0)),
                    (y0 + 1, x0, (sy - y0) * (1 - (sx - x0))),
                    (y0 + 1, x0 + 1, (sy - y0) * (sx - x0)),
                ):
                    if 0 <= yi < h and 0 <= xi < w:
                        out[b, i, j] += weight * images[b, yi, xi]
                        adjoint[b, i * w + j, yi * w + xi] += weight
    return out, adjoint


def test_matches_direct_bilinear_sampling_and_its_adjoint_at_every_border():
    """Random maps that read across all four borders and far outside: values and the image
    gradient equal a direct per-pixel sampler (zeros outside) and its transpose."""
    rng = np.random.default_rng(3)
    images = rng.random((6, 7, 9, 2)).astype("float32")
    theta = affine_theta(
        scale_x=tf.constant(rng.uniform(0.4, 3.0, 6), tf.float32),
        scale_y=tf.constant(rng.uniform(0.4, 3.0, 6), tf.float32),
        angle=tf.constant(rng.uniform(-3.0, 3.0, 6), tf.float32),
        translate_x=tf.constant(rng.uniform(-2.5, 2.5, 6), tf.float32),
        translate_y=tf.constant(rng.uniform(-2.5, 2.5, 6), tf.float32),
        size=(7, 9),
    ).numpy()
    expected, adjoint = numpy_bilinear(images, theta)
    x = tf.Variable(images)
    upstream = rng.standard_normal(images.shape).astype("float32")
    with tf.GradientTape() as tape:
        out = AffineSpatialTransformer()(x, tf.constant(theta))
        loss = tf.reduce_sum(out * upstream)
    np.testing.assert_allclose(out.numpy(), expected, atol=1e-5)
    want = np.einsum("bpq,bpc->bqc", adjoint, upstream.reshape(6, 63, 2)).reshape(images.shape)
    np.testing.assert_allclose(tape.gradient(loss, x).numpy(), want, atol=1e-4)
    assert np.any(expected == 0) and np.any(expected > 0)  # some reads fell outside
