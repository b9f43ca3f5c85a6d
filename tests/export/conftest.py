"""Fixtures of the export tests: tiny models, exported once per session."""

import keras
import pytest
import tensorflow as tf

from keras_gvae import VAE, GuidedVAE
from tests.export.tiny_models import AttributeGuidedVAE, shape_images, train_briefly


@pytest.fixture(scope="session")
def serving_model():
    """The shape examples/serving targets (gvae train's default): 64x64x1, latent 10."""
    keras.utils.set_random_seed(0)
    return AttributeGuidedVAE(input_shape=(64, 64, 1), latent_dim=10)


@pytest.fixture(scope="session")
def serving_export(serving_model, tmp_path_factory):
    from keras_gvae.export import export_saved_model

    return export_saved_model(serving_model, tmp_path_factory.mktemp("serving") / "gvae")


@pytest.fixture(scope="session")
def loaded_export(serving_export):
    return tf.saved_model.load(str(serving_export))


@pytest.fixture(scope="session")
def trained_vae():
    """VAE 32x32x1, latent 4, trained 40 steps on shapes images."""
    keras.utils.set_random_seed(1)
    model = VAE(input_shape=(32, 32, 1), latent_dim=4, seed=1)
    return train_briefly(model, shape_images(512, 32), steps=40)


@pytest.fixture(scope="session")
def trained_guided():
    """GuidedVAE 28x28x1, latent 7, trained 30 steps on shapes images."""
    keras.utils.set_random_seed(2)
    model = GuidedVAE(input_shape=(28, 28, 1), latent_dim=7, seed=2)
    return train_briefly(model, shape_images(512, 28), steps=30)
