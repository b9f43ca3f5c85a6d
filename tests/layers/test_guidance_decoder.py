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
        "scale_x",
        "scale_y",
        "translate_x",
        "translate_y",
    )
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
        content,
        tf.reshape(tf.sigmoid(z_cont @ layer.basis + layer.basis_bias), (4, 16, 16, 1)),
        rtol=1e-5,
    )
    p = layer.transform_parameters(z_def)
    theta = affine_theta(
        p["scale_x"], p["scale_y"], p["angle"], p["translate_x"], p["translate_y"], size=(16, 16)
    )
    np.testing.assert_allclose(
        layer(z_def, z_cont), AffineSpatialTransformer()(content, theta), atol=1e-6
    )
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


ISOTROPIC = ("uniform_scale", "rotation", "translation")


def test_uniform_scale_is_one_unit_for_both_axes():
    assert transform_parameter_names(ISOTROPIC) == ("scale", "angle", "translate_x", "translate_y")
    with pytest.raises(ValueError, match="at most one of 'scale' and 'uniform_scale'"):
        transform_parameter_names(("scale", "uniform_scale"))
    layer = make(ISOTROPIC)
    assert layer.num_deformation == 4
    z_def = np.random.default_rng(1).normal(size=(3, 4)).astype("float32")
    p = layer.transform_parameters(z_def)
    expected = affine_theta(
        p["scale"], p["scale"], p["angle"], p["translate_x"], p["translate_y"], size=(16, 16)
    )
    np.testing.assert_allclose(layer.theta(z_def), expected, atol=1e-6)


def test_max_scale_and_max_translation_bound_the_transforms():
    layer = GuidanceDecoder(
        image_shape=(16, 16, 1),
        num_content=3,
        transforms=ISOTROPIC,
        max_scale=2.0,
        max_translation=0.5,
    )
    layer.build()
    layer.map_out_kernel.assign(layer.map_out_kernel * 100.0)
    z = np.linspace(-50, 50, 11, dtype="float32")[:, None] * np.ones((1, 4), "float32")
    p = {k: v.numpy() for k, v in layer.transform_parameters(z).items()}
    assert p["scale"].min() >= 0.5 - 1e-6 and p["scale"].max() <= 2.0 + 1e-6
    assert p["scale"].max() > 1.9 and p["scale"].min() < 0.55  # the bounds are reached
    assert np.abs(p["translate_x"]).max() <= 0.5 + 1e-6
    with pytest.raises(ValueError, match="max_scale must be > 1"):
        GuidanceDecoder(image_shape=(16, 16, 1), num_content=3, max_scale=1.0)


def test_linear_map_is_a_gain_and_an_offset():
    layer = GuidanceDecoder(
        image_shape=(16, 16, 1), num_content=3, transforms=("rotation",), transform_map="linear"
    )
    layer.build()
    layer.map_gain.assign([0.7])
    layer.map_out_bias.assign([0.1])
    z = np.array([[-1.0], [0.0], [2.0]], "float32")
    np.testing.assert_allclose(
        layer.transform_parameters(z)["angle"], 0.7 * z[:, 0] + 0.1, rtol=1e-6
    )
    assert not hasattr(layer, "map_in_kernel")
    with pytest.raises(ValueError, match="transform_map must be one of"):
        GuidanceDecoder(image_shape=(16, 16, 1), num_content=3, transform_map="spline")


def test_centred_template_starts_as_a_centred_blob():
    from keras_gvae.layers.guidance_decoder import centred_blob_logits

    layer = GuidanceDecoder(image_shape=(16, 16, 1), num_content=3, template_init="centred")
    layer.build()
    template = layer.content(np.zeros((1, 3), "float32")).numpy()[0, :, :, 0]
    logits = centred_blob_logits((16, 16, 1)).reshape(16, 16)
    np.testing.assert_allclose(template, 1 / (1 + np.exp(-logits)), rtol=1e-5)
    # Symmetric about the centre, bright in the middle, dark in the corners.
    np.testing.assert_allclose(template, template[::-1, ::-1], atol=1e-6)
    assert template[7:9, 7:9].min() > 0.9 and template[0, 0] < 0.06
    zeros = make()
    assert np.all(zeros.basis_bias.numpy() == 0)  # the paper's grey start is the default
    with pytest.raises(ValueError, match="template_init must be one of"):
        GuidanceDecoder(image_shape=(16, 16, 1), num_content=3, template_init="ring")


def test_options_round_trip_through_the_config():
    layer = GuidanceDecoder(
        image_shape=(16, 16, 1),
        num_content=3,
        transforms=ISOTROPIC,
        max_scale=2.0,
        max_translation=1.0,
        transform_map="linear",
        template_init="centred",
        basis_gain=0.5,
    )
    clone = run_layer_serialization_test(layer)
    for key in ("max_scale", "max_translation", "transform_map", "template_init", "basis_gain"):
        assert getattr(clone, key) == getattr(layer, key)


def test_basis_gain_sets_the_norm_of_the_basis_rows():
    z = np.random.RandomState(0).normal(size=(4, 3)).astype("float32")
    for gain in (4.0, 1.0):
        layer = GuidanceDecoder(image_shape=(16, 16, 1), num_content=3, basis_gain=gain)
        layer.build()
        basis = layer.basis.numpy()
        # Orthogonal rows of norm `gain`: B B^T = gain^2 I.
        np.testing.assert_allclose(basis @ basis.T, gain**2 * np.eye(3), atol=1e-4 * gain**2)
    assert make().basis_gain == 4.0  # the authors' gain is the default
    # Gain 0: a zero basis, so the template is sigmoid(bias) whatever the content units say.
    layer = GuidanceDecoder(
        image_shape=(16, 16, 1), num_content=3, basis_gain=0.0, template_init="centred"
    )
    layer.build()
    assert np.all(layer.basis.numpy() == 0)
    template = layer.content(z).numpy()
    np.testing.assert_allclose(template, np.broadcast_to(template[:1], template.shape), atol=1e-7)
    with pytest.raises(ValueError, match="basis_gain must be >= 0"):
        GuidanceDecoder(image_shape=(16, 16, 1), num_content=3, basis_gain=-1.0)
