"""BetaTCVAE and GuidedBetaTCVAE: the beta-TCVAE objective through the loss hook."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gvae import VAE, BetaTCVAE, GuidedBetaTCVAE
from tests import closed_forms
from tests.helpers import changed, run_model_saving_test, weights_snapshot

SHAPE = (28, 28, 1)
# The isotropic transforms of the guided-shapes preset: 4 deformation units.
ISOTROPIC = ("uniform_scale", "rotation", "translation")


def binary_images(n, seed=0):
    return (np.random.default_rng(seed).random((n, *SHAPE)) > 0.5).astype("float32")


def twin(model):
    """A model with ``model``'s config (its seed too) and weights: a fresh one draws the same
    reparameterisation noise as ``model``'s first step."""
    clone = type(model).from_config(model.get_config())
    clone.set_weights(model.get_weights())
    return clone


def test_a_training_step_minimises_reconstruction_plus_kl_plus_beta_minus_one_tc():
    model = BetaTCVAE(input_shape=SHAPE, latent_dim=6, beta=4.0, seed=3)
    reference = twin(model)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    x = binary_images(16)
    before = weights_snapshot(model.trainable_variables)
    logs = model.train_on_batch(x, return_dict=True)
    assert set(logs) == {"loss", "reconstruction", "kl", "total_correlation"}
    assert changed(before, model.trainable_variables) == set(before)

    # The step's batch and noise, with the weights before the update, written out by hand.
    z, z_mean, z_log_var = reference.encode_and_sample(x, training=True)
    reconstruction = np.mean(closed_forms.bernoulli_nll(x, reference.decode_logits(z)))
    kl = np.mean(closed_forms.gaussian_kl(z_mean, z_log_var))
    tc = closed_forms.dlib_total_correlation(z, z_mean, z_log_var)
    np.testing.assert_allclose(logs["reconstruction"], reconstruction, rtol=1e-5)
    np.testing.assert_allclose(logs["kl"], kl, rtol=1e-5)
    np.testing.assert_allclose(logs["total_correlation"], tc, rtol=1e-5)
    np.testing.assert_allclose(logs["loss"], reconstruction + kl + 3.0 * tc, rtol=1e-5)


def test_guided_loss_is_the_guided_terms_on_the_beta_tcvae_objective():
    model = GuidedBetaTCVAE(
        input_shape=SHAPE, latent_dim=7, beta=5.0, transforms=ISOTROPIC, content_beta=3.0, seed=3
    )
    x = binary_images(8)
    code = model.encode_and_sample(x)
    terms = model.compute_loss_terms(x, code=code)
    expected = (
        terms["reconstruction"]
        + terms["kl"]  # weight 1: beta weighs the TC
        + 4.0 * terms["total_correlation"]
        + 0.5 * terms["sub_reconstruction"]
        + 1.0 * terms["orthogonality"]
        + (3.0 - 1.0) * model.content_kl(code.z_mean, code.z_log_var)  # content_beta against 1
    )
    np.testing.assert_allclose(terms["loss"], expected, rtol=1e-6)
    np.testing.assert_allclose(
        terms["total_correlation"], closed_forms.dlib_total_correlation(*code), rtol=1e-5
    )


def test_a_guided_training_step_moves_every_weight_and_reports_the_tc():
    model = GuidedBetaTCVAE(input_shape=SHAPE, latent_dim=6, transforms=ISOTROPIC, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    before = weights_snapshot(model.trainable_variables)
    logs = model.train_on_batch(binary_images(16), return_dict=True)
    assert set(logs) == set(GuidedBetaTCVAE.METRIC_NAMES) and "total_correlation" in logs
    assert changed(before, model.trainable_variables) == set(before)


def test_beta_one_is_the_vae():
    vae = VAE(input_shape=SHAPE, latent_dim=6, seed=3)
    model = BetaTCVAE(input_shape=SHAPE, latent_dim=6, beta=1.0, seed=3)
    model.set_weights(vae.get_weights())
    x = binary_images(8)
    ours, theirs = model.compute_loss_terms(x), vae.compute_loss_terms(x)
    np.testing.assert_array_equal(ours["loss"], theirs["loss"])
    assert np.isfinite(ours["total_correlation"])


def test_beta_weighs_the_tc_and_the_kl_keeps_weight_one():
    model = BetaTCVAE(input_shape=SHAPE, latent_dim=6, seed=3)
    assert model.beta == 6.0 and model.kl_weight == 1.0
    assert GuidedBetaTCVAE(input_shape=SHAPE, latent_dim=6, transforms=ISOTROPIC).beta == 6.0
    assert VAE(input_shape=SHAPE, latent_dim=6, beta=4.0).kl_weight == 4.0


@pytest.mark.parametrize("cls", [BetaTCVAE, GuidedBetaTCVAE])
def test_config_and_keras_file_round_trip(cls, tmp_path):
    kwargs = {"transforms": ISOTROPIC, "max_scale": 2.0} if cls is GuidedBetaTCVAE else {}
    model = cls(input_shape=SHAPE, latent_dim=6, beta=3.0, seed=1, **kwargs)
    config = model.get_config()
    assert config["beta"] == 3.0
    assert cls.from_config(config).get_config() == config
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    restored = run_model_saving_test(model, binary_images(4), tmp_path / "m.keras")
    assert restored.beta == 3.0 and restored.kl_weight == 1.0


def test_the_tc_gradient_reaches_the_encoder():
    model = BetaTCVAE(input_shape=SHAPE, latent_dim=6, seed=3)
    x = binary_images(8)
    with tf.GradientTape() as tape:
        tc = model.compute_loss_terms(x)["total_correlation"]
    grads = tape.gradient(tc, model.z_log_var_head.trainable_variables)
    assert all(g is not None and np.abs(g.numpy()).max() > 0 for g in grads)
