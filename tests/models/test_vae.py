import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gvae import VAE, GuidedVAE, losses
from tests import closed_forms
from tests.helpers import changed, run_model_saving_test, weights_snapshot

SHAPES = [(28, 28, 1), (32, 32, 3)]


def binary_images(n, shape, seed=0):
    return (np.random.default_rng(seed).random((n, *shape)) > 0.5).astype("float32")


@pytest.mark.parametrize("cls", [VAE, GuidedVAE])
@pytest.mark.parametrize("shape", SHAPES)
def test_shapes_of_public_methods(cls, shape):
    model = cls(input_shape=shape, latent_dim=8)
    x = binary_images(3, shape)
    z_mean, z_log_var = model.encode(x)
    assert z_mean.shape == (3, 8) and z_log_var.shape == (3, 8)
    images = model.decode(z_mean).numpy()
    assert images.shape == (3, *shape) and images.min() >= 0 and images.max() <= 1
    assert model(x).shape == (3, *shape)
    assert model.latent_dim == 8
    s1, s2 = model.sample(4, seed=7), model.sample(4, seed=7)
    assert s1.shape == (4, *shape)
    np.testing.assert_array_equal(s1, s2)
    t = model.traverse(x=x[0], units=[0, 3], values=[-1.0, 0.0, 1.0])
    assert t.shape == (2, 3, *shape)


def test_traversal_changes_only_along_the_swept_unit():
    model = VAE(input_shape=(28, 28, 1), latent_dim=4)
    base = np.array([0.1, -0.2, 0.3, 0.0], "float32")
    t = model.traverse(z=base, units=[1], values=[-0.2, 2.0])
    np.testing.assert_allclose(t[0, 0], model.decode(base[None]).numpy()[0], atol=1e-6)
    assert np.abs(t[0, 1] - t[0, 0]).max() > 0
    with pytest.raises(ValueError, match="units must be in"):
        model.traverse(units=[4])
    with pytest.raises(ValueError, match="decoder must be one of"):
        model.traverse(decoder="sub")


@pytest.mark.parametrize("beta", [1.0, 4.0])
def test_loss_is_reconstruction_plus_beta_kl(beta):
    model = VAE(input_shape=(28, 28, 1), latent_dim=6, beta=beta, seed=3)
    x = binary_images(8, (28, 28, 1))
    terms = model.compute_loss_terms(x)
    np.testing.assert_allclose(
        terms["loss"], terms["reconstruction"] + beta * terms["kl"], rtol=1e-6
    )
    # KL of the model equals the closed form on its own posterior.
    z_mean, z_log_var = model.encode(x)
    np.testing.assert_allclose(
        terms["kl"], tf.reduce_mean(closed_forms.gaussian_kl(z_mean, z_log_var)), rtol=1e-5
    )


def closed_form_kl(z_mean, z_log_var, units):
    """Batch mean of 0.5 * sum_j (mu_j^2 + exp(lv_j) - lv_j - 1) over ``units``, in float64."""
    mu = np.asarray(z_mean, np.float64)[:, units]
    lv = np.asarray(z_log_var, np.float64)[:, units]
    return np.mean(np.sum(0.5 * (mu**2 + np.exp(lv) - lv - 1.0), axis=1))


def test_the_models_kl_is_the_closed_form_over_the_chosen_units():
    """VAE's ``kl`` (every unit; GuidedVAE's too) and GuidedVAE's content KL (the units after
    the deformation units) are the closed form, computed through the models."""
    x = binary_images(8, (28, 28, 1))
    vae = VAE(input_shape=(28, 28, 1), latent_dim=7, seed=3)
    guided = GuidedVAE(input_shape=(28, 28, 1), latent_dim=7, content_beta=3.0, seed=3)
    for model in (vae, guided):
        z_mean, z_log_var = model.encode(x)
        # Away from the prior, and some units far from it, so every term counts.
        z_mean = z_mean + np.linspace(-2.0, 2.0, 7, dtype="float32")
        z_log_var = z_log_var + np.linspace(-1.5, 1.0, 7, dtype="float32")
        kl = model.elbo_terms(x, z_mean, z_mean, z_log_var)["kl"]
        expected = closed_form_kl(z_mean, z_log_var, slice(None))
        assert expected > 1.0
        np.testing.assert_allclose(float(kl), expected, rtol=1e-6)
    content = slice(guided.num_deformation, None)  # 5 deformation units, 2 content units
    np.testing.assert_allclose(
        float(guided.content_kl(z_mean, z_log_var)),
        closed_form_kl(z_mean, z_log_var, content),
        rtol=1e-6,
    )


def test_guided_loss_adds_weighted_sub_reconstruction_and_orthogonality():
    model = GuidedVAE(
        input_shape=(28, 28, 1),
        latent_dim=8,
        beta=2.0,
        sub_weight=0.25,
        orthogonality_weight=3.0,
        seed=3,
    )
    terms = model.compute_loss_terms(binary_images(8, (28, 28, 1)))
    expected = (
        terms["reconstruction"]
        + 2.0 * terms["kl"]
        + 0.25 * terms["sub_reconstruction"]
        + 3.0 * terms["orthogonality"]
    )
    np.testing.assert_allclose(terms["loss"], expected, rtol=1e-6)
    np.testing.assert_allclose(
        terms["orthogonality"],
        losses.orthogonality_penalty(model.guidance_decoder.basis),
        rtol=1e-6,
    )


def given_code(batch, latent_dim, seed=0):
    """A LatentCode chosen by the test (not sampled by the model)."""
    from keras_gvae.models.vae import LatentCode

    rng = np.random.default_rng(seed)
    z_mean, z_log_var, z = (rng.normal(size=(batch, latent_dim)).astype("float32") for _ in "abc")
    return LatentCode(tf.constant(z), tf.constant(z_mean), tf.constant(0.5 * z_log_var))


def kl_closed_form(z_mean, z_log_var):
    """KL(N(m, exp(v)) || N(0, I)) per image: 0.5 sum_j (exp(v_j) + m_j^2 - 1 - v_j)."""
    m, v = np.float64(z_mean), np.float64(z_log_var)
    return 0.5 * np.sum(np.exp(v) + m**2 - 1.0 - v, axis=1)


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "grey"])
def test_bernoulli_reconstruction_term_is_the_summed_pixel_log_likelihood(binary):
    model = VAE(input_shape=(28, 28, 1), latent_dim=4, beta=3.0, seed=0)
    rng = np.random.default_rng(1)
    x = rng.random((5, 28, 28, 1)).astype("float32")
    x = (x > 0.5).astype("float32") if binary else x
    code = given_code(5, 4)
    terms = model.compute_loss_terms(x, code=code)
    # -log p(x|z) = -sum over pixels [x log p + (1 - x) log(1 - p)], p the decoded mean of
    # the given z; averaged over the batch.
    p = np.float64(keras.ops.sigmoid(model.decode_logits(code.z)))
    per_image = -np.sum(x * np.log(p) + (1 - x) * np.log1p(-p), axis=(1, 2, 3))
    np.testing.assert_allclose(terms["reconstruction"], per_image.mean(), rtol=1e-5)
    kl = kl_closed_form(code.z_mean, code.z_log_var).mean()
    np.testing.assert_allclose(terms["kl"], kl, rtol=1e-5)
    np.testing.assert_allclose(terms["loss"], per_image.mean() + 3.0 * kl, rtol=1e-5)


def test_gaussian_reconstruction_term_is_the_sum_of_squared_errors_plus_a_constant():
    model = VAE(input_shape=(28, 28, 1), latent_dim=4, likelihood="gaussian", seed=0)
    x = np.random.default_rng(2).random((5, 28, 28, 1)).astype("float32")
    code = given_code(5, 4, seed=3)
    terms = model.elbo_terms(x, *code)
    # Normal(mu, sqrt(1/2)) per pixel: (x - mu)^2 + 0.5 log(pi), summed over the D pixels.
    mu = np.float64(keras.ops.sigmoid(model.decode_logits(code.z)))
    per_image = np.sum((x - mu) ** 2, axis=(1, 2, 3)) + 28 * 28 * 0.5 * np.log(np.pi)
    np.testing.assert_allclose(terms["reconstruction"], per_image.mean(), rtol=1e-5)
    np.testing.assert_allclose(
        terms["loss"],
        per_image.mean() + kl_closed_form(code.z_mean, code.z_log_var).mean(),
        rtol=1e-5,
    )


def test_gaussian_likelihood_uses_the_fixed_scale():
    model = VAE(input_shape=(28, 28, 1), latent_dim=4, likelihood="gaussian", observation_scale=0.2)
    x = np.random.default_rng(0).random((2, 28, 28, 1)).astype("float32")
    means = model.decode(np.zeros((2, 4), "float32"))
    # Normal(mean, 0.2) per pixel, summed: ((x - m) / 0.2)^2 / 2 + log 0.2 + log(2 pi) / 2.
    squares = np.sum(((x - np.float64(means)) / 0.2) ** 2, axis=(1, 2, 3))
    expected = 0.5 * squares + 28 * 28 * (np.log(0.2) + 0.5 * np.log(2 * np.pi))
    np.testing.assert_allclose(
        -model.observation_distribution(means=means).log_prob(x), expected, rtol=1e-5
    )


@pytest.mark.parametrize("cls", [VAE, GuidedVAE])
def test_one_train_step_changes_every_trainable_weight(cls):
    model = cls(input_shape=(28, 28, 1), latent_dim=7, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    before = weights_snapshot(model.trainable_variables)
    logs = model.train_on_batch(binary_images(16, (28, 28, 1)), return_dict=True)
    assert set(logs) == set(cls.METRIC_NAMES)
    assert changed(before, model.trainable_variables) == set(before)
    if cls is GuidedVAE:
        sub = {v.path for v in model.guidance_decoder.trainable_variables}
        assert sub and sub <= changed(before, model.trainable_variables)


def test_fit_reduces_the_loss_on_a_fixed_batch():
    model = GuidedVAE(input_shape=(28, 28, 1), latent_dim=7, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    x = binary_images(32, (28, 28, 1))
    history = model.fit(x, epochs=6, batch_size=32, verbose=0).history
    assert history["loss"][-1] < history["loss"][0]
    assert set(history) == set(GuidedVAE.METRIC_NAMES)
    assert set(model.evaluate(x, verbose=0, return_dict=True)) == set(GuidedVAE.METRIC_NAMES)


@pytest.mark.parametrize("cls", [VAE, GuidedVAE])
def test_config_round_trip(cls):
    kwargs = (
        {"transforms": ("rotation", "translation"), "sub_weight": 0.7} if cls is GuidedVAE else {}
    )
    model = cls(input_shape=(32, 32, 1), latent_dim=6, beta=3.0, likelihood="gaussian", **kwargs)
    config = model.get_config()
    clone = cls.from_config(config)
    assert clone.get_config() == config
    assert [w.shape for w in clone.weights] == [w.shape for w in model.weights]


@pytest.mark.parametrize("cls", [VAE, GuidedVAE])
def test_keras_file_round_trip_keeps_outputs_and_trains_on(cls, tmp_path):
    model = cls(input_shape=(28, 28, 1), latent_dim=7, seed=1)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    x = binary_images(16, (28, 28, 1))
    model.fit(x, epochs=1, batch_size=8, verbose=0)
    restored = run_model_saving_test(model, x[:4], tmp_path / "m.keras")
    assert restored.optimizer.iterations.numpy() == model.optimizer.iterations.numpy() == 2
    restored.fit(x, epochs=1, batch_size=8, verbose=0)
    assert restored.optimizer.iterations.numpy() == 4


def test_custom_encoder_and_decoder_round_trip(tmp_path):
    encoder = keras.Sequential(
        [keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(16, activation="relu")],
        name="enc",
    )
    decoder = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(64), keras.layers.Reshape((8, 8, 1))], name="dec"
    )
    model = VAE(input_shape=(8, 8, 1), latent_dim=3, encoder=encoder, decoder=decoder)
    model.compile(optimizer="adam")
    x = binary_images(4, (8, 8, 1))
    run_model_saving_test(model, x, tmp_path / "custom.keras")


def test_custom_decoder_with_wrong_output_shape_is_rejected():
    encoder = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten()])
    decoder = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(49), keras.layers.Reshape((7, 7, 1))]
    )
    with pytest.raises(ValueError, match=r"must output images shaped \(8, 8, 1\)"):
        VAE(input_shape=(8, 8, 1), latent_dim=3, encoder=encoder, decoder=decoder)


@pytest.mark.slow
def test_fresh_process_load_gives_identical_outputs(tmp_path):
    model = GuidedVAE(input_shape=(28, 28, 1), latent_dim=7, seed=1)
    model.compile(optimizer="adam")
    model.fit(binary_images(8, (28, 28, 1)), epochs=1, verbose=0)
    run_model_saving_test(
        model, binary_images(4, (28, 28, 1), seed=5), tmp_path / "g.keras", fresh_process=True
    )


# ---------------------------------------------------------------- bad input
def test_constructor_errors_name_what_was_expected():
    with pytest.raises(ValueError, match="No built-in backbone.*divisible by 16"):
        VAE(input_shape=(30, 30, 1))
    with pytest.raises(ValueError, match=r"\(height, width, channels\)"):
        VAE(input_shape=(28, 28))
    with pytest.raises(ValueError, match="likelihood must be one of"):
        VAE(input_shape=(28, 28, 1), likelihood="poisson")
    with pytest.raises(ValueError, match="beta must be"):
        VAE(input_shape=(28, 28, 1), beta=-1)
    with pytest.raises(ValueError, match="leaves no content unit"):
        GuidedVAE(input_shape=(28, 28, 1), latent_dim=5)
    with pytest.raises(ValueError, match="both encoder= and decoder="):
        VAE(input_shape=(28, 28, 1), encoder=keras.Sequential([keras.layers.Flatten()]))


@pytest.fixture
def small_model():
    model = VAE(input_shape=(28, 28, 1), latent_dim=4)
    model.compile(optimizer="adam")
    return model


def test_wrong_rank_shape_and_channels(small_model):
    with pytest.raises(
        ValueError, match=r"expects images shaped \(batch, 28, 28, 1\).*channel axis"
    ):
        small_model.encode(np.zeros((2, 28, 28), "float32"))
    with pytest.raises(ValueError, match=r"expects images shaped \(batch, 28, 28, 1\)"):
        small_model.fit(np.zeros((4, 32, 32, 1), "float32"), verbose=0)
    with pytest.raises(ValueError, match=r"expects images shaped \(batch, 28, 28, 1\)"):
        small_model.predict(np.zeros((2, 28, 28, 3), "float32"), verbose=0)
    with pytest.raises(ValueError, match=r"z must have shape \(batch, 4\)"):
        small_model.decode(np.zeros((2, 5), "float32"))


def test_values_outside_unit_interval_and_nan_are_rejected(small_model):
    x = np.zeros((4, 28, 28, 1), "float32")
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"expects pixel values in \[0, 1\]"):
        small_model.fit(x + 255.0, verbose=0, batch_size=4)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"below 0"):
        small_model.evaluate(x - 0.5, verbose=0, batch_size=4)
    bad = x.copy()
    bad[1, 3, 3, 0] = np.nan
    with pytest.raises(tf.errors.InvalidArgumentError, match="NaN or Inf"):
        small_model.fit(bad, verbose=0, batch_size=4)


def test_representation_function_is_the_batched_posterior_mean():
    model = GuidedVAE(input_shape=(28, 28, 1), latent_dim=7, seed=0)
    x = binary_images(10, (28, 28, 1))
    codes = model.representation_function(batch_size=4)(x)
    assert codes.shape == (10, 7)
    np.testing.assert_allclose(codes, model.encode(x)[0].numpy(), atol=1e-5)
    with pytest.raises(ValueError, match=r"expects images shaped \(batch, 28, 28, 1\)"):
        model.representation_function()(np.zeros((2, 32, 32, 1), "float32"))


def test_encode_and_predict_check_pixels_like_the_serving_signatures():
    # Issue #14, case 8: encode returned NaN or huge codes for NaN or 0-255 pixels.
    model = VAE(input_shape=(28, 28, 1), latent_dim=4)
    x = binary_images(2, (28, 28, 1))
    nan = x.copy()
    nan[0, 1, 1, 0] = np.nan
    with pytest.raises(tf.errors.InvalidArgumentError, match="NaN or Inf"):
        model.encode(nan)
    with pytest.raises(tf.errors.InvalidArgumentError, match="found a value above 1"):
        model.encode(x * 255)
    with pytest.raises(tf.errors.InvalidArgumentError, match="found a value above 1"):
        model.predict(x * 255, verbose=0)
    with pytest.raises(tf.errors.InvalidArgumentError, match="found a value below 0"):
        model.traverse(x=x[0] - 1)
    # The switch: per call, or for the model (also once predict has been traced).
    assert np.isfinite(model.encode(x * 255, validate=False)[0].numpy()).all()
    model.validate_inputs = False
    assert model.predict(x * 255, verbose=0).shape == x.shape
    assert model.get_config()["validate_inputs"] is False
    # Gaussian models take any finite values, but not NaN.
    gaussian = VAE(input_shape=(28, 28, 1), latent_dim=4, likelihood="gaussian")
    assert gaussian.encode(x * 255)[0].shape == (2, 4)
    with pytest.raises(tf.errors.InvalidArgumentError, match="NaN or Inf"):
        gaussian.predict(nan, verbose=0)
