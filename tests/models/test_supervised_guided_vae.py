import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from keras_gvae import SupervisedGuidedVAE
from keras_gvae.models.terms import AdversarialInhibition, Excitation, MMDInhibition
from tests.helpers import changed, run_model_saving_test, weights_snapshot

SHAPE = (28, 28, 1)


def planted(n=128, seed=0):
    """Images whose top half is bright iff label 0 is on; label 1 is noise."""
    rng = np.random.default_rng(seed)
    y = (rng.random((n, 2)) > 0.5).astype("float32")
    x = (rng.random((n, *SHAPE)) < 0.2).astype("float32")
    x[y[:, 0] == 1, :14] = rng.random(((y[:, 0] == 1).sum(), 14, 28, 1)) < 0.8
    return x, y


def make(**kwargs):
    model = SupervisedGuidedVAE(
        input_shape=SHAPE, latent_dim=5, attributes=["top", "noise"], seed=0, **kwargs
    )
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3), adversary_optimizer=keras.optimizers.Adam(1e-3)
    )
    return model


def test_each_phase_moves_only_its_own_weights():
    model = make()
    x, y = planted(16)
    xt, targets, mask = model._unpack((x, y))
    vae, adv, enc = model.vae_variables, model.adversary_variables, model.encoder_variables
    every = model.trainable_variables

    before = weights_snapshot(every)
    _, z, _ = model.vae_step(xt, targets, mask)
    moved = changed(before, every)
    assert moved == {v.path for v in vae}  # encoder, decoder, excitation heads; no adversary

    before = weights_snapshot(every)
    model.adversary_step(z, targets, mask)
    assert changed(before, every) == {v.path for v in adv}

    before = weights_snapshot(every)
    model.inhibition_step(xt, targets, mask)
    assert changed(before, every) == {v.path for v in enc}
    assert model.optimizer.iterations.numpy() == 1
    assert model.adversary_optimizer.iterations.numpy() == 1
    assert model.inhibition_optimizer.iterations.numpy() == 1


def test_train_step_reports_terms_and_per_attribute_accuracies():
    model = make()
    x, y = planted(32)
    logs = model.train_on_batch(x, y, return_dict=True)
    assert set(logs) == {
        "loss",
        "reconstruction",
        "kl",
        "excitation",
        "adversary",
        "inhibition",
        "top_accuracy",
        "top_adversary_accuracy",
        "noise_accuracy",
        "noise_adversary_accuracy",
    }
    assert all(np.isfinite(v) for v in logs.values())


def test_labels_in_plus_minus_one_equal_zero_one():
    model = make()
    x, y = planted(16)
    a = [t.numpy() for t in model.check_labels(y)]
    b = [t.numpy() for t in model.check_labels(2 * y - 1)]
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_missing_labels_drop_out_of_the_loss():
    model = make()
    logits = np.array([[2.0, -1.0], [0.5, 3.0], [-2.0, 1.0]], "float32")
    y = np.array([[1, 0], [np.nan, 1], [0, np.nan]], "float32")
    targets, mask = model.check_labels(y)
    np.testing.assert_array_equal(mask, [[1, 1], [0, 1], [1, 0]])
    got = float(model._masked_bce(targets, logits, mask))
    # Only the four present labels count; the sum is divided by the batch size (3).
    bce = lambda t, v: np.log1p(np.exp(-v)) if t else np.log1p(np.exp(v))  # noqa: E731
    expected = (bce(1, 2.0) + bce(0, -1.0) + bce(1, 3.0) + bce(0, -2.0)) / 3
    assert got == pytest.approx(expected, rel=1e-5)
    # A missing_value marker behaves exactly like NaN.
    model_mv = make(missing_value=-9)
    t3, m3 = model_mv.check_labels(np.where(np.isnan(y), -9, y))
    np.testing.assert_array_equal(m3, mask)
    assert float(model._masked_bce(t3, logits, m3)) == pytest.approx(got, rel=1e-6)


def test_excitation_unit_learns_a_planted_attribute():
    model = make(excitation=Excitation(50.0))
    x, y = planted(256)
    model.fit(x, y, epochs=8, batch_size=32, verbose=0)
    xt, yt = planted(128, seed=1)
    prob = model.predict_attributes(xt)
    accuracy = ((prob[:, 0] > 0.5) == (yt[:, 0] > 0)).mean()
    assert accuracy >= 0.9
    # The unit itself separates the classes.
    z = model.encode(xt)[0].numpy()[:, 0]
    assert abs(z[yt[:, 0] == 1].mean() - z[yt[:, 0] == 0].mean()) > 0.5


def test_bad_labels_and_config_errors():
    model = make()
    x, y = planted(8)
    with pytest.raises(ValueError, match=r"labels must have shape \(batch, 2\)"):
        model.train_on_batch(x, y[:, :1])
    with pytest.raises(ValueError, match="trains on \\(images, labels\\)"):
        model.train_on_batch(x)
    with pytest.raises(ValueError, match="must exceed the number of attributes"):
        SupervisedGuidedVAE(input_shape=SHAPE, latent_dim=2, attributes=["a", "b"])
    with pytest.raises(ValueError, match="distinct indices"):
        SupervisedGuidedVAE(
            input_shape=SHAPE, latent_dim=5, attributes=["a", "b"], attribute_units=[1, 1]
        )


def test_config_and_keras_round_trip_restore_all_three_optimizers(tmp_path):
    model = make(attribute_units=[3, 1])
    x, y = planted(32)
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    clone = SupervisedGuidedVAE.from_config(model.get_config())
    assert clone.attribute_units == [3, 1] and clone.attributes == ["top", "noise"]
    restored = run_model_saving_test(model, x[:4], tmp_path / "s.keras")
    for name in ("optimizer", "adversary_optimizer", "inhibition_optimizer"):
        a, b = getattr(model, name), getattr(restored, name)
        assert len(a.variables) == len(b.variables)
        for va, vb in zip(a.variables, b.variables, strict=True):
            np.testing.assert_array_equal(va.numpy(), vb.numpy())
    restored.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert restored.adversary_optimizer.iterations.numpy() == 4


@pytest.mark.slow
def test_three_phase_step_under_mirrored_strategy_on_two_cpus():
    code = textwrap.dedent(
        """
        import numpy as np, tensorflow as tf, keras
        cpu = tf.config.list_physical_devices("CPU")[0]
        logical = [tf.config.LogicalDeviceConfiguration()] * 2
        tf.config.set_logical_device_configuration(cpu, logical)
        import keras_gvae
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        assert strategy.num_replicas_in_sync == 2
        with strategy.scope():
            m = keras_gvae.SupervisedGuidedVAE(input_shape=(28, 28, 1), latent_dim=5,
                                               attributes=["a", "b"], seed=0)
            m.compile(optimizer=keras.optimizers.Adam(1e-3))
        rng = np.random.default_rng(0)
        x = (rng.random((64, 28, 28, 1)) > 0.5).astype("float32")
        y = (rng.random((64, 2)) > 0.5).astype("float32")
        before = [v.numpy().copy() for v in m.adversary_variables]
        h = m.fit(x, y, batch_size=16, epochs=2, verbose=0).history
        assert all(np.isfinite(v[-1]) for v in h.values()), h
        assert all(not np.array_equal(b, v.numpy()) for b, v in zip(before, m.adversary_variables))
        assert int(m.optimizer.iterations.numpy()) == 8
        assert int(m.adversary_optimizer.iterations.numpy()) == 8
        print("OK", sorted(h))
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    assert "OK" in done.stdout


def test_inhibition_options_warmup_adversary_steps_and_input():
    x, y = planted(16)
    model = make(
        inhibition_warmup=10,
        inhibition=[AdversarialInhibition(input="mean"), MMDInhibition(5.0)],
    )
    xt, targets, mask = model._unpack((x, y))
    z_mean, z_log_var = model._encode_unchecked(xt)
    z = model.reparameterize(z_mean, z_log_var)
    # Warm-up: no inhibition at step 0, half of it at step 5.
    _, objective = model.inhibition_terms(z, z_mean, targets, mask)
    assert float(objective) == 0.0
    model.iterations.assign(5)  # the model's own step counter (not the optimizer's)
    inhibition, objective = model.inhibition_terms(z, z_mean, targets, mask)
    from keras_gvae.losses import group_mmd

    mmd = sum(
        float(
            group_mmd(
                np.delete(z_mean.numpy(), u, axis=1),
                targets[:, k] * mask[:, k],
                (1 - targets[:, k]) * mask[:, k],
            )
        )
        for k, u in enumerate(model.attribute_units)
    )
    full = model.adversarial.weight * float(inhibition) + 5.0 * mmd
    assert float(objective) == pytest.approx(0.5 * full, rel=1e-4)
    # AdversarialInhibition(input="mean"): the adversaries see the posterior mean, so the inhibition
    # term does not depend on the sample; with "sample" it does.
    other = model.reparameterize(z_mean, z_log_var)
    assert float(model.inhibition_terms(other, z_mean, targets, mask)[0]) == pytest.approx(
        float(inhibition), rel=1e-6
    )
    sampled = make(inhibition=[AdversarialInhibition(input="sample")])
    a = float(sampled.inhibition_terms(z, z_mean, targets, mask)[0])
    b = float(sampled.inhibition_terms(z_mean, z_mean, targets, mask)[0])
    assert a != pytest.approx(b, rel=1e-4)
    # AdversarialInhibition(steps=2): phase 2 runs that many times per batch.
    twice = make(inhibition=[AdversarialInhibition(steps=2)])
    twice.train_on_batch(x, y)
    assert twice.optimizer.iterations.numpy() == 1
    assert twice.adversary_optimizer.iterations.numpy() == 2
    # A bad option is refused when the model builds its terms from their configs (as from
    # model_kwargs), naming the option.
    adversarial = "keras_gvae>AdversarialInhibition"
    with pytest.raises(ValueError, match=r"^input must be 'mean' or 'sample'; got 'z'$"):
        make(inhibition=[{"class_name": adversarial, "config": {"input": "z"}}])
    with pytest.raises(ValueError, match=r"^steps must be a positive integer; got 0$"):
        make(inhibition=[{"class_name": adversarial, "config": {"steps": 0}}])


@pytest.mark.parametrize("unbiased", [False, True])
def test_inhibition_objective_is_the_weighted_sum_of_the_chosen_mmd(unbiased):
    from keras_gvae.losses import group_mmd

    model = make(inhibition=[AdversarialInhibition(0.0), MMDInhibition(3.0, unbiased=unbiased)])
    rng = np.random.default_rng(2)
    z_mean = rng.normal(size=(16, 5)).astype("float32")
    targets = (rng.random((16, 2)) < 0.5).astype("float32")
    mask = np.ones_like(targets)
    _, objective = model.inhibition_terms(z_mean, z_mean, targets, mask)
    rest = [[1, 2, 3, 4], [0, 2, 3, 4]]  # units 0 and 1 are the attributes'
    expected = 3.0 * sum(
        float(group_mmd(z_mean[:, r], targets[:, k], 1 - targets[:, k], unbiased=unbiased))
        for k, r in enumerate(rest)
    )
    assert float(objective) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("source", ["mean", "sample"])
def test_excitation_heads_read_the_chosen_code(source):
    model = SupervisedGuidedVAE(
        input_shape=SHAPE,
        latent_dim=5,
        attributes=["top", "noise"],
        seed=0,
        excitation=Excitation(input=source),
    )
    model.compile(optimizer=keras.optimizers.Adam(0.0))  # the step leaves the weights as they are
    x, y = planted(16)
    xt, targets, mask = model._unpack((x, y))
    _, _, logits = model.vae_step(xt, targets, mask)
    z_mean, _ = model.encode(xt, training=True)
    on_mean = model.attribute_logits(z_mean, training=True)
    close = np.allclose(logits.numpy(), on_mean.numpy(), atol=1e-5)
    assert close == (source == "mean")
    with pytest.raises(ValueError, match=r"^input must be 'mean' or 'sample'; got 'z'$"):
        SupervisedGuidedVAE(
            input_shape=SHAPE,
            latent_dim=5,
            attributes=["top"],
            excitation={"class_name": "keras_gvae>Excitation", "config": {"input": "z"}},
        )


def test_joint_inhibition_leaves_the_adversaries_alone_in_phase_one():
    model = make(
        joint_inhibition=True,
        inhibition=[
            AdversarialInhibition(hidden_units=(8,)),
            MMDInhibition(1.0, standardize=True, unbiased=True),
        ],
        excitation=Excitation(input="mean", hidden_units=()),
    )
    x, y = planted(16)
    xt, targets, mask = model._unpack((x, y))
    every = model.trainable_variables
    before = weights_snapshot(every)
    model.vae_step(xt, targets, mask)
    assert changed(before, every) == {v.path for v in model.vae_variables}
    # A head without hidden layers is a logistic regression on its unit: 2 weights.
    assert sum(int(np.prod(v.shape)) for v in model.excitation_heads[0].trainable_variables) == 2
    clone = SupervisedGuidedVAE.from_config(model.get_config())
    for name in ("joint_inhibition", "excitation", "inhibition", "inhibition_warmup"):
        assert getattr(clone, name) == getattr(model, name), name
