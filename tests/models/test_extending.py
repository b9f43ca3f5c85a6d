"""The extension contract of VAE (its docstring, "Extending"): a user-defined subclass
trains through each extension point, and the supervised model's terms are serializable."""

import json
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gvae import VAE, SupervisedGuidedVAE
from keras_gvae.models.terms import AdversarialInhibition, Excitation, LinearWarmup, MMDInhibition
from keras_gvae.saving import load_model
from tests.helpers import (
    as_json,
    changed,
    run_layer_serialization_test,
    run_model_saving_test,
    weights_snapshot,
)

SHAPE = (28, 28, 1)
SAVED = Path(__file__).resolve().parents[2] / "saved_models"


def images(n=16, seed=0):
    return (np.random.default_rng(seed).random((n, *SHAPE)) > 0.6).astype("float32")


def labels(n=16, seed=0):
    return (np.random.default_rng(seed + 1).random((n, 2)) > 0.5).astype("float32")


# ---------------------------------------------------------------- extension point 1: the loss hook
@keras.saving.register_keras_serializable(package="keras_gvae_tests")
class SparseCodeVAE(VAE):
    """A VAE with an L1 penalty on the sampled code, added through the loss hook."""

    METRIC_NAMES = VAE.METRIC_NAMES + ("l1",)

    def __init__(self, l1_weight=1.0, **kwargs):
        super().__init__(**kwargs)
        self.l1_weight = float(l1_weight)

    def guidance_terms(self, x, z, z_mean, z_log_var, training=False):
        l1 = tf.reduce_mean(tf.reduce_sum(tf.abs(z), axis=1))
        return self.l1_weight * l1, {"l1": l1}

    def get_config(self):
        return {**super().get_config(), "l1_weight": self.l1_weight}


def fitted_weights(model, x, steps=3):
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = model.fit(x, epochs=steps, batch_size=len(x), verbose=0, shuffle=False).history
    return model.get_weights(), history


def test_a_loss_hook_term_is_minimised_and_reported(tmp_path):
    x = images()
    plain = VAE(input_shape=SHAPE, latent_dim=4, seed=0)
    weights = plain.get_weights()
    runs = {}
    for name, model in (
        ("plain", plain),
        ("off", SparseCodeVAE(l1_weight=0.0, input_shape=SHAPE, latent_dim=4, seed=0)),
        ("on", SparseCodeVAE(l1_weight=20.0, input_shape=SHAPE, latent_dim=4, seed=0)),
    ):
        model.set_weights(weights)
        runs[name] = (model, *fitted_weights(model, x))
    # The hook's term is reported in fit's history and evaluate's results.
    _, _, history = runs["on"]
    assert set(history) == {"loss", "reconstruction", "kl", "l1"}
    model = runs["on"][0]
    assert set(model.evaluate(x, verbose=0, return_dict=True)) == set(history)
    terms = model.compute_loss_terms(x)
    np.testing.assert_allclose(
        terms["loss"], terms["reconstruction"] + terms["kl"] + 20.0 * terms["l1"], rtol=1e-6
    )
    # At weight 0 the hook changes nothing; at weight 20 it changes the training and shrinks
    # the code.
    for a, b in zip(runs["plain"][1], runs["off"][1], strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(
        not np.array_equal(a, b) for a, b in zip(runs["plain"][1], runs["on"][1], strict=True)
    )
    spread = {
        name: float(np.exp(0.5 * run[0].encode(x)[1].numpy()).sum(1).mean())
        for name, run in runs.items()
    }
    assert spread["on"] < 0.5 * spread["off"]  # the sample's noise is most of its L1 norm
    restored = run_model_saving_test(model, x[:4], tmp_path / "sparse.keras")
    assert restored.l1_weight == 20.0


class UndeclaredTermVAE(SparseCodeVAE):
    METRIC_NAMES = VAE.METRIC_NAMES


def test_a_hook_term_without_a_metric_is_refused():
    model = UndeclaredTermVAE(input_shape=SHAPE, latent_dim=4, seed=0)
    model.compile(optimizer="adam")
    with pytest.raises(ValueError, match="'l1', which has no metric; add its name to METRIC_NAMES"):
        model.train_on_batch(images(4))


# ---------------------------------------------------------------- extension point 2: the step
@keras.saving.register_keras_serializable(package="keras_gvae_tests")
class ProbedVAE(VAE):
    """Two phases per batch: (1) the VAE update; (2) a probe that learns each image's mean
    intensity from the code phase 1 sampled (handed over, gradient stopped), with its own
    optimizer. The VAE's optimizer never touches the probe."""

    METRIC_NAMES = VAE.METRIC_NAMES + ("probe",)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.probe = keras.layers.Dense(1, name="probe")
        self.probe.build((None, self.latent_dim))

    def optimizer_variables(self):
        probe = {id(v) for v in self.probe.trainable_variables}
        return {
            "optimizer": [v for v in self.trainable_variables if id(v) not in probe],
            "probe_optimizer": self.probe.trainable_variables,
        }

    def train_step(self, data):
        x, _ = self.unpack_batch(data)
        vae, probe = self.optimizer_variables().values()
        with tf.GradientTape() as tape:
            code = self.encode_and_sample(x, training=True)
            terms = self.compute_loss_terms(x, training=True, code=code)
        self.minimize(terms["loss"], vae, tape)
        target = tf.reduce_mean(x, axis=[1, 2, 3])
        with tf.GradientTape() as tape:
            guess = self.probe(tf.stop_gradient(code.z))[:, 0]
            terms["probe"] = tf.reduce_mean(tf.square(guess - target))
        self.minimize(terms["probe"], probe, tape, self.probe_optimizer)
        return self.update_metrics(terms)


def test_a_two_phase_step_trains_each_part_with_its_own_optimizer(tmp_path):
    x = images(32)
    model = ProbedVAE(input_shape=SHAPE, latent_dim=4, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))  # probe_optimizer: a copy
    assert isinstance(model.probe_optimizer, keras.optimizers.Adam)
    assert model.probe_optimizer is not model.optimizer
    before = weights_snapshot(model.trainable_variables)
    history = model.fit(x, epochs=2, batch_size=16, verbose=0).history
    assert set(history) == {"loss", "reconstruction", "kl", "probe"}
    assert all(np.isfinite(v[-1]) for v in history.values())
    assert changed(before, model.trainable_variables) == set(before)
    assert model.optimizer.iterations.numpy() == model.probe_optimizer.iterations.numpy() == 4
    # Each optimizer holds state for its own variables only (Adam: 2 slots per variable).
    vae, probe = model.optimizer_variables().values()
    assert len(model.optimizer.variables) - 2 * len(vae) == len(
        model.probe_optimizer.variables
    ) - 2 * len(probe)
    # The extra optimizer is saved with the model and restored by load_model.
    restored = run_model_saving_test(model, x[:4], tmp_path / "probed.keras")
    for a, b in zip(
        model.probe_optimizer.variables, restored.probe_optimizer.variables, strict=True
    ):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    restored.fit(x, epochs=1, batch_size=16, verbose=0)
    assert restored.probe_optimizer.iterations.numpy() == 6


def test_a_subclass_that_takes_over_the_step_updates_nothing_in_evaluation():
    x = images(8)
    model = ProbedVAE(input_shape=SHAPE, latent_dim=4, seed=0)
    model.compile(optimizer="adam", probe_optimizer=keras.optimizers.SGD(0.1))
    assert isinstance(model.probe_optimizer, keras.optimizers.SGD)
    before = weights_snapshot(model.weights)
    logs = model.evaluate(x, verbose=0, return_dict=True)  # the default test_step
    assert set(logs) == {"loss", "reconstruction", "kl", "probe"}
    assert not changed(before, model.weights)


# ---------------------------------------------------------------- the supervised model's terms
def test_terms_round_trip_through_their_configs():
    for term in (
        Excitation(),
        Excitation(50.0, input="mean", hidden_units=()),
        AdversarialInhibition(),
        AdversarialInhibition(10.0, "mean", steps=3, hidden_units=[8]),
        MMDInhibition(300.0, standardize=True, unbiased=True),
        LinearWarmup(1000),
    ):
        clone = run_layer_serialization_test(term)
        assert clone == term
        assert json.loads(json.dumps(keras.saving.serialize_keras_object(term)))
    with pytest.raises(ValueError, match="input must be 'mean' or 'sample'"):
        AdversarialInhibition(input="z")
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        AdversarialInhibition(steps=0)
    with pytest.raises(ValueError, match="weight must be a finite number >= 0"):
        MMDInhibition(-1.0)
    assert [float(LinearWarmup(4)(s)) for s in (0, 1, 4, 9)] == [0.0, 0.25, 1.0, 1.0]


def test_no_arguments_is_the_papers_algorithm():
    model = SupervisedGuidedVAE(input_shape=SHAPE, latent_dim=5, attributes=["a", "b"])
    assert model.excitation == Excitation(weight=200.0, input="sample", hidden_units=(32, 32))
    assert model.inhibition == (
        AdversarialInhibition(weight=200.0, input="sample", steps=1, hidden_units=(32, 32)),
    )
    assert (model.joint_inhibition, model.inhibition_warmup, model.mmd) == (False, None, None)


POSITION_TERMS = {
    "inhibition": [
        AdversarialInhibition(input="mean"),
        MMDInhibition(300.0, standardize=True, unbiased=True),
    ],
    "joint_inhibition": True,
    "inhibition_warmup": LinearWarmup(1000),
}


def supervised(**kwargs):
    return SupervisedGuidedVAE(
        input_shape=SHAPE, latent_dim=5, attributes=["a", "b"], seed=0, **kwargs
    )


def test_the_terms_are_the_only_way_to_set_them():
    # The flat arguments of before the term objects (mmd_weight, ...) are gone.
    with pytest.raises(ValueError, match="Unrecognized keyword arguments.*mmd_weight"):
        supervised(mmd_weight=1.0)
    with pytest.raises(ValueError, match="exactly one AdversarialInhibition"):
        supervised(inhibition=[MMDInhibition(1.0)])
    # Serialized terms (model_kwargs, a saved config) build the same model as the objects.
    serialized = {
        **POSITION_TERMS,
        "inhibition": [
            keras.saving.serialize_keras_object(t) for t in POSITION_TERMS["inhibition"]
        ],
    }
    assert as_json({**supervised(**serialized).get_config(), "name": ""}) == as_json(
        {**supervised(**POSITION_TERMS).get_config(), "name": ""}
    )


FLAT_KEYS = (
    "excitation_weight",
    "inhibition_weight",
    "adversary_input",
    "excitation_input",
    "adversary_steps",
    "excitation_hidden_units",
    "adversary_hidden_units",
    "mmd_weight",
    "mmd_standardize",
    "mmd_unbiased",
)


def old_style_config(model):
    """``model``'s config as saved before the term objects (the flat arguments)."""
    config = model.get_config()
    for key in ("excitation", "inhibition", "inhibition_warmup"):
        config.pop(key)
    mmd = model.mmd
    config.update(
        excitation_weight=model.excitation.weight,
        inhibition_weight=model.adversarial.weight,
        adversary_input=model.adversarial.input,
        excitation_input=model.excitation.input,
        adversary_steps=model.adversarial.steps,
        excitation_hidden_units=list(model.excitation.hidden_units),
        adversary_hidden_units=list(model.adversarial.hidden_units),
        inhibition_warmup=model.inhibition_warmup.steps if model.inhibition_warmup else 0,
        mmd_weight=0.0 if mmd is None else mmd.weight,
        mmd_standardize=False if mmd is None else mmd.standardize,
        mmd_unbiased=False if mmd is None else mmd.unbiased,
    )
    return config


def test_an_old_style_config_loads_and_trains_identically():
    model = supervised(**POSITION_TERMS)
    old = SupervisedGuidedVAE.from_config(old_style_config(model))
    assert as_json(old.get_config()) == as_json(model.get_config())
    assert not set(FLAT_KEYS) & set(old.get_config())  # saved again in the term form
    old.set_weights(model.get_weights())
    for m in (model, old):
        m.compile(optimizer=keras.optimizers.Adam(1e-3))
        m.fit(images(16), labels(16), epochs=2, batch_size=8, verbose=0, shuffle=False)
    for a, b in zip(model.get_weights(), old.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_an_old_style_config_without_mmd_weight_has_no_mmd_term():
    # At mmd_weight 0 (the flat default) the MMD options meant nothing: no MMD term, as before.
    config = old_style_config(supervised())
    config.update(mmd_weight=0.0, mmd_standardize=True)
    assert SupervisedGuidedVAE.from_config(config).inhibition == (AdversarialInhibition(),)
    del config["mmd_weight"]
    assert SupervisedGuidedVAE.from_config(config).mmd is None


@pytest.mark.parametrize("name", ["supervised_position"])
def test_the_shipped_supervised_models_restore_their_terms(name):
    saved = json.loads((SAVED / name / "config.json").read_text()).get("model_kwargs", {})
    model = load_model(SAVED / name / "model.keras", compile=False)
    assert int(model.iterations.numpy()) == 0  # saved before the model's step counter
    expected = SupervisedGuidedVAE(
        input_shape=model.image_shape,
        latent_dim=model.latent_dim,
        attributes=model.attributes,
        **saved,
    )
    assert model.excitation == expected.excitation and model.inhibition == expected.inhibition
    assert (model.joint_inhibition, model.inhibition_warmup) == (
        expected.joint_inhibition,
        expected.inhibition_warmup,
    )


def test_the_warmup_follows_the_models_own_counter_through_recompiling_and_saving(tmp_path):
    model = supervised(inhibition_warmup=LinearWarmup(10))
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.fit(images(16), labels(16), epochs=3, batch_size=16, verbose=0)
    assert int(model.iterations.numpy()) == int(model.optimizer.iterations.numpy()) == 3
    model.compile(optimizer=keras.optimizers.Adam(1e-3))  # a new optimizer starts at 0
    assert int(model.optimizer.iterations.numpy()) == 0
    assert int(model.iterations.numpy()) == 3
    assert float(model.inhibition_factor()) == pytest.approx(0.3)
    restored = run_model_saving_test(model, images(4), tmp_path / "warm.keras")
    assert int(restored.iterations.numpy()) == 3
    assert restored.inhibition_warmup == LinearWarmup(10)
