import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gvae.layers import GuidanceDecoder, transform_parameter_names
from keras_gvae.layers.affine_spatial_transformer import AffineSpatialTransformer, affine_theta
from tests.helpers import run_layer_serialization_test


def make(transforms=("scale", "rotation", "translation")):
    layer = GuidanceDecoder(image_shape=(16, 16, 1), num_content=3, transforms=transforms)
    layer.build()
    return layer


def test_parameter_layout_is_canonical():
    assert transform_parameter_names(("translation", "scale")) == (
        "scale_x", "scale_y", "translate_x", "translate_y")
    with pytest.raises(ValueError, match="subset of"):
        transform_parameter_names(("shear",))
    with pytest.raises(ValueError, match="subset of"):
        transform_parameter_names(())


def test_output_is_the_content_warped_by_the_driven_affine_map():
    layer = make()
    rng = np.random.default_rng(0)
    z_def = rng.normal(size=(4, 5)).astype("float32")
    z_cont = rng.normal(size=(4, 3)).astype("float32")
    content = layer.content(z_cont)
    np.testing.assert_allclose(
        content, tf.reshape(tf.sigmoid(z_cont @ layer.basis + layer.basis_bias), (4, 16, 16, 1)),
        rtol=1e-5)
    p = layer.transform_parameters(z_def)
    theta = affine_theta(p["scale_x"], p["scale_y"], p["angle"],
                         p["translate_x"], p["translate_y"], size=(16, 16))
    np.testing.assert_allclose(layer(z_def, z_cont),
                               AffineSpatialTransformer()(content, theta), atol=1e-6)
    out = layer(z_def, z_cont).numpy()
    assert out.shape == (4, 16, 16, 1) and out.min() >= 0 and out.max() <= 1


def test_transforms_stay_within_their_soft_bounds():
    layer = make()
    z = np.linspace(-50, 50, 11, dtype="float32")[:, None] * np.ones((1, 5), "float32")
    layer.map_out_kernel.assign(layer.map_out_kernel * 100.0)
    p = {k: v.numpy() for k, v in layer.transform_parameters(z).items()}
    for name in ("scale_x", "scale_y"):
        assert np.all(p[name] > 0.25 - 1e-6) and np.all(p[name] < 4.0 + 1e-6)
    for name in ("translate_x", "translate_y"):
        assert np.all(np.abs(p[name]) <= 1.5 + 1e-6)


def test_each_parameter_depends_only_on_its_own_unit():
    layer = make()
    z = np.zeros((2, 5), "float32")
    z[1, 2] = 1.5  # only the angle unit changes
    p = {k: v.numpy() for k, v in layer.transform_parameters(z).items()}
    for name in ("scale_x", "scale_y", "translate_x", "translate_y"):
        assert p[name][0] == p[name][1]
    assert p["angle"][0] != p["angle"][1]


def test_subset_of_transforms():
    layer = make(("rotation",))
    assert layer.num_deformation == 1
    out = layer(np.zeros((2, 1), "float32"), np.zeros((2, 3), "float32"))
    assert out.shape == (2, 16, 16, 1)


def test_config_round_trip_and_weights():
    layer = make(("scale", "translation"))
    clone = run_layer_serialization_test(layer)
    clone.build()
    assert [w.shape for w in clone.weights] == [w.shape for w in layer.weights]
    assert keras.ops.shape(layer.basis) == (3, 256)
