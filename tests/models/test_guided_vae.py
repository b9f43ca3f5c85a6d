"""GuidedVAE's guidance options: what reaches the sub-decoder and what its gradient trains."""

import numpy as np
import pytest
import tensorflow as tf

from keras_gvae import GuidedVAE
from keras_gvae.layers.guidance_decoder import centred_blob_logits

ISOTROPIC = ("uniform_scale", "rotation", "translation")


def small(**kwargs):
    return GuidedVAE(input_shape=(28, 28, 1), latent_dim=7, seed=0, **kwargs)


def batch(n=4, seed=0):
    return (np.random.default_rng(seed).random((n, 28, 28, 1)) > 0.7).astype("float32")


def test_sub_input_mean_reads_the_posterior_mean_not_the_sample():
    x = tf.constant(batch())
    for sub_input in ("sample", "mean"):
        model = small(sub_input=sub_input)
        z_mean, z_log_var = model.encode(x)
        z1, z2 = z_mean + 1.0, z_mean - 1.0  # two different "samples"
        a = model.guidance_terms(x, z1, z_mean, z_log_var)[1]["sub_reconstruction"]
        b = model.guidance_terms(x, z2, z_mean, z_log_var)[1]["sub_reconstruction"]
        if sub_input == "mean":
            assert float(a) == float(b)
        else:
            assert float(a) != float(b)
    with pytest.raises(ValueError, match="sub_input must be one of"):
        small(sub_input="mode")


@pytest.mark.parametrize("scale", [0.0, 0.3])
def test_content_gradient_scales_only_the_content_units_gradient(scale):
    x = tf.constant(batch())
    full, part = small(), small(content_gradient=scale)
    part.set_weights(full.get_weights())
    z_mean, z_log_var = full.encode(x)
    z = tf.Variable(z_mean + 0.5)
    grads = []
    for model in (full, part):
        with tf.GradientTape() as tape:
            loss = model.guidance_terms(x, z, z_mean, z_log_var)[0]
        grads.append(tape.gradient(loss, z).numpy())
        values = model.guidance_terms(x, z, z_mean, z_log_var)[1]
    d = full.num_deformation
    np.testing.assert_allclose(grads[1][:, :d], grads[0][:, :d], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(grads[1][:, d:], scale * grads[0][:, d:], rtol=1e-4, atol=1e-6)
    assert np.abs(grads[0][:, d:]).max() > 0  # the paper's gradient does reach the content
    # The loss itself is unchanged.
    assert float(values["sub_reconstruction"]) == pytest.approx(
        float(full.guidance_terms(x, z, z_mean, z_log_var)[1]["sub_reconstruction"]), rel=1e-6
    )


def test_content_gradient_outside_zero_one_is_refused():
    with pytest.raises(ValueError, match=r"content_gradient must be in \[0, 1\]"):
        small(content_gradient=1.5)


def test_content_beta_adds_the_content_units_closed_form_kl_to_the_loss():
    """loss(content_beta) - loss(paper) = (content_beta - beta) * sum over content units of
    0.5 * (mu^2 + sigma^2 - log sigma^2 - 1), for the same code; the metrics are unchanged."""
    x = tf.constant(batch())
    paper, extra = small(beta=1.5), small(beta=1.5, content_beta=4.0)
    extra.set_weights(paper.get_weights())
    z_mean, z_log_var = paper.encode(x)
    z_mean, z_log_var = z_mean + 0.7, z_log_var - 0.4  # away from the prior
    code = (z_mean + 0.1, z_mean, z_log_var)
    a = paper.compute_loss_terms(x, code=code)
    b = extra.compute_loss_terms(x, code=code)
    mu, lv = z_mean.numpy()[:, 5:], z_log_var.numpy()[:, 5:]  # 5 deformation units
    kl_content = np.mean(np.sum(0.5 * (mu**2 + np.exp(lv) - lv - 1.0), axis=1))
    assert kl_content > 0.3
    assert float(b["loss"] - a["loss"]) == pytest.approx(2.5 * kl_content, rel=1e-4)
    for name in ("reconstruction", "kl", "sub_reconstruction", "orthogonality"):
        assert float(b[name]) == float(a[name])
    # content_beta equal to beta is the paper's loss exactly.
    same = small(beta=1.5, content_beta=1.5)
    same.set_weights(paper.get_weights())
    assert float(same.compute_loss_terms(x, code=code)["loss"]) == float(a["loss"])


def test_content_beta_round_trips_and_bad_values_are_refused():
    clone = GuidedVAE.from_config(small(content_beta=3.0).get_config())
    assert clone.content_beta == 3.0
    assert GuidedVAE.from_config(small().get_config()).content_beta is None
    for bad in (-1.0, float("nan")):
        with pytest.raises(ValueError, match="expected None, a finite number >= 0"):
            small(content_beta=bad)


def test_recipe_options_reach_the_sub_decoder_and_round_trip(tmp_path):
    model = small(transforms=ISOTROPIC, max_scale=2.0, template_init="centred", basis_gain=0.0)
    assert np.all(model.guidance_decoder.basis.numpy() == 0)
    assert model.parameter_names == ("scale", "angle", "translate_x", "translate_y")
    assert model.num_deformation == 4 and model.num_content == 3
    np.testing.assert_allclose(
        model.guidance_decoder.basis_bias.numpy(), centred_blob_logits((28, 28, 1)), rtol=1e-6
    )
    clone = GuidedVAE.from_config(model.get_config())
    for key in (
        "transforms",
        "max_scale",
        "max_translation",
        "transform_map",
        "template_init",
        "basis_gain",
        "sub_input",
        "content_gradient",
    ):
        assert getattr(clone, key) == getattr(model, key)


def test_a_config_saved_before_the_options_loads_as_the_paper():
    """Shipped .keras files predate these options: the missing keys mean the paper."""
    config = small().get_config()
    for key in (
        "max_scale",
        "max_translation",
        "transform_map",
        "template_init",
        "sub_input",
        "content_gradient",
        "basis_gain",
        "content_beta",
    ):
        config.pop(key)
    old = GuidedVAE.from_config(config)
    assert (
        old.max_scale,
        old.max_translation,
        old.transform_map,
        old.template_init,
        old.sub_input,
        old.content_gradient,
        old.basis_gain,
        old.content_beta,
    ) == (4.0, 1.5, "mlp", "zeros", "sample", 1.0, 4.0, None)


def test_a_recipe_step_changes_the_sub_decoder_weights():
    model = small(transforms=ISOTROPIC, max_scale=2.0, template_init="centred")
    model.compile(optimizer="adam")
    before = [w.numpy().copy() for w in model.guidance_decoder.weights]
    model.fit(batch(8), epochs=1, batch_size=8, verbose=0)
    after = [w.numpy() for w in model.guidance_decoder.weights]
    assert all(not np.array_equal(b, a) for b, a in zip(before, after, strict=True))


def test_guidance_warmup_scales_the_sub_decoder_and_content_terms_by_the_step():
    """loss(step) = ELBO + factor(step) * (sub_weight * sub + (content_beta - beta) * KL_cont)
    + orthogonality, with factor = step / n; train steps advance the counter; it is saved."""
    x = tf.constant(batch())
    full = small(content_beta=3.0)
    warm = small(content_beta=3.0, guidance_warmup=4)
    others = [w for w in warm.weights if w is not warm.guidance_step]
    for source, target in zip(full.weights, others, strict=True):
        target.assign(source)
    z_mean, z_log_var = full.encode(x)
    code = (z_mean + 0.1, z_mean, z_log_var)
    terms = full.compute_loss_terms(x, code=code)
    elbo = float(terms["reconstruction"] + terms["kl"])
    orth = float(terms["orthogonality"])
    guided = float(terms["loss"]) - elbo - orth
    assert guided > 1.0
    for step, factor in ((0, 0.0), (2, 0.5), (4, 1.0), (9, 1.0)):
        warm.guidance_step.assign(step)
        got = float(warm.compute_loss_terms(x, code=code)["loss"])
        assert got == pytest.approx(elbo + orth + factor * guided, rel=1e-5)
    warm.guidance_step.assign(0)
    warm.compile(optimizer="adam")
    warm.fit(x, epochs=1, batch_size=2, verbose=0)
    assert int(warm.guidance_step.numpy()) == 2


def test_guidance_warmup_round_trips_with_its_step(tmp_path):
    import keras

    model = small(guidance_warmup=10)
    model.compile(optimizer="adam")
    model.fit(batch(), epochs=1, batch_size=2, verbose=0)
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.guidance_warmup.steps == 10 and int(loaded.guidance_step.numpy()) == 2
    assert not hasattr(small(), "guidance_step")  # the paper's model has no counter
    with pytest.raises(ValueError, match="guidance_warmup must be None, a number of steps"):
        small(guidance_warmup="soon")


def test_ramp_is_constant_then_linear_then_constant():
    from keras_gvae.models import Ramp

    ramp = Ramp(4.0, 1.0, 2, 8)
    values = [float(ramp(step)) for step in (0, 2, 5, 8, 20)]
    assert values == pytest.approx([4.0, 4.0, 2.5, 1.0, 1.0])
    assert Ramp.from_config(ramp.get_config()) == ramp
    with pytest.raises(ValueError, match="stop must be an int > begin"):
        Ramp(4.0, 1.0, 5, 5)


def test_scheduled_content_beta_follows_the_step_closed_form(tmp_path):
    """With content_beta = Ramp(4, 1, 0, 4), loss(step) - loss(paper) = (content_beta(step)
    - beta) * KL_cont: 3 KL_cont at step 0, 1.5 at step 2, 0 from step 4 on; train steps
    advance the counter, and the schedule and the step survive a .keras round trip."""
    import keras

    from keras_gvae.models import Ramp

    x = tf.constant(batch())
    paper, annealed = small(), small(content_beta=Ramp(4.0, 1.0, 0, 4))
    others = [w for w in annealed.weights if w is not annealed.guidance_step]
    for source, target in zip(paper.weights, others, strict=True):
        target.assign(source)
    z_mean, z_log_var = paper.encode(x)
    z_mean, z_log_var = z_mean + 0.7, z_log_var - 0.4
    code = (z_mean + 0.1, z_mean, z_log_var)
    base = float(paper.compute_loss_terms(x, code=code)["loss"])
    mu, lv = z_mean.numpy()[:, 5:], z_log_var.numpy()[:, 5:]
    kl_content = np.mean(np.sum(0.5 * (mu**2 + np.exp(lv) - lv - 1.0), axis=1))
    for step, weight in ((0, 3.0), (2, 1.5), (4, 0.0), (7, 0.0)):
        annealed.guidance_step.assign(step)
        got = float(annealed.compute_loss_terms(x, code=code)["loss"])
        assert got - base == pytest.approx(weight * kl_content, rel=1e-4, abs=1e-3)
    annealed.guidance_step.assign(0)
    annealed.compile(optimizer="adam")
    annealed.fit(x, epochs=1, batch_size=2, verbose=0)
    assert int(annealed.guidance_step.numpy()) == 2
    annealed.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert loaded.content_beta == Ramp(4.0, 1.0, 0, 4)
    assert int(loaded.guidance_step.numpy()) == 2
