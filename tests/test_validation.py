"""keras_gvae.validation: the input checks the models and the SavedModel signatures share.

Through the models and the signatures they are tested in tests/models/test_vae.py and
tests/export/test_saved_model.py; here each check on its own, in eager mode and in a graph.
"""

import re

import numpy as np
import pytest
import tensorflow as tf

from keras_gvae import validation


def test_check_images_casts_and_refuses_other_shapes_and_dtypes_in_one_line():
    x = validation.check_images(np.zeros((2, 4, 4, 1), np.uint8), (4, 4, 1), "VAE")
    assert x.dtype == tf.float32 and x.shape == (2, 4, 4, 1)
    with pytest.raises(ValueError) as err:
        validation.check_images(np.zeros((2, 4, 4), np.float32), (4, 4, 1), "VAE")
    assert str(err.value) == (
        "VAE expects images shaped (batch, 4, 4, 1); got (2, 4, 4) (add a channel axis: "
        "x[..., None])"
    )
    with pytest.raises(ValueError, match="^images must be numeric; got dtype string$"):
        validation.check_images(np.array([["a"]]), (4, 4, 1), "VAE")


def test_check_codes_refuses_another_width():
    assert validation.check_codes(np.zeros((3, 5)), 5).dtype == tf.float32
    with pytest.raises(ValueError, match=r"^z must have shape \(batch, 5\); got \(3, 4\)$"):
        validation.check_codes(np.zeros((3, 4)), 5)


@pytest.mark.parametrize("graph", [False, True])
def test_image_values_are_checked_in_eager_mode_and_in_a_graph(graph):
    def check(x, bernoulli=True):
        run = validation.assert_image_values
        run = tf.function(run) if graph else run
        return run(tf.constant(x, tf.float32), bernoulli)

    good = np.full((1, 2, 2, 1), 0.5, np.float32)
    np.testing.assert_array_equal(check(good), good)
    np.testing.assert_array_equal(check(good * 4, bernoulli=False), good * 4)
    cases = [
        (
            good * 4,
            "keras_gvae: the Bernoulli likelihood expects pixel values in [0, 1] "
            "(scale uint8 images by 1/255); found a value above 1",
        ),
        (-good, "found a value below 0"),
        (good * np.nan, "keras_gvae: the batch contains NaN or Inf values"),
    ]
    for x, message in cases:
        with pytest.raises(tf.errors.InvalidArgumentError, match=re.escape(message)):
            check(x)
    with pytest.raises(tf.errors.InvalidArgumentError, match="the batch contains NaN or Inf"):
        check(good * np.inf, bernoulli=False)


def test_signature_checks_name_the_input():
    @tf.function(input_signature=[tf.TensorSpec((None, 2), tf.float32)])
    def codes(z):
        return validation.signature_input(z, "z", (None, 2))

    with pytest.raises(tf.errors.InvalidArgumentError, match="keras_gvae: z must be finite"):
        codes(tf.constant([[0.0, np.inf]]))
    # A loaded signature takes other shapes at run time: the check is not constant-folded.
    any_width = tf.function(
        codes.python_function, input_signature=[tf.TensorSpec((None, None), tf.float32)]
    )
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"Shape of tensor z \[1,3\]"):
        any_width(tf.zeros((1, 3)))

    images = tf.function(lambda x: validation.signature_images(x, (2, 2, 1), bernoulli=True))
    with pytest.raises(
        tf.errors.InvalidArgumentError,
        match=r"keras_gvae: x must hold pixel values in \[0, 1\] for the Bernoulli likelihood",
    ):
        images(tf.fill((1, 2, 2, 1), 1.5))

    unit = tf.function(lambda u: validation.signature_unit(u, 4))
    assert int(unit(tf.constant(3))) == 3
    with pytest.raises(
        tf.errors.InvalidArgumentError, match=r"keras_gvae: unit must be in \[0, latent_dim\)"
    ):
        unit(tf.constant(4))
