"""A NaN stops training naming the step and the term, and keeps the last good state;
a damaged .keras file is refused as damaged."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gvae import backup
from keras_gvae.callbacks import NonFiniteLossError
from keras_gvae.models import VAE
from keras_gvae.saving import ModelLoadError, load_model
from keras_gvae.training import TrainConfig, train


@pytest.fixture
def saved_model(tmp_path):
    model = VAE(input_shape=(28, 28, 1), latent_dim=2)
    path = tmp_path / "model.keras"
    model.save(path)
    return path


def test_a_truncated_model_file_is_refused_as_damaged(saved_model):
    data = saved_model.read_bytes()
    saved_model.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelLoadError, match="damaged") as err:
        load_model(saved_model)
    assert str(saved_model) in str(err.value)


def test_a_model_file_with_flipped_bytes_is_refused_as_damaged(saved_model):
    data = bytearray(saved_model.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(64)  # inside the weights, not the zip directory
    saved_model.write_bytes(bytes(data))
    with pytest.raises(ModelLoadError, match="damaged") as err:
        load_model(saved_model)
    assert str(saved_model) in str(err.value)


@pytest.mark.slow
def test_a_nan_stops_training_names_step_and_term_and_keeps_the_good_state(tmp_path, monkeypatch):
    # From the 4th step on, the KL term is NaN (so its gradients and then the weights are).
    original = VAE.compute_loss_terms

    def poisoned(self, x, training=False):
        terms = dict(original(self, x, training=training))
        if training:
            scale = tf.where(self.optimizer.iterations >= 3, np.nan, 1.0)
            terms["loss"] = terms["loss"] - terms["kl"] + terms["kl"] * scale
            terms["kl"] = terms["kl"] * scale
        return terms

    monkeypatch.setattr(VAE, "compute_loss_terms", poisoned)
    out = tmp_path / "run"
    config = TrainConfig(
        model="vae",
        epochs=3,
        steps_per_epoch=2,
        batch_size=8,
        latent_dim=4,
        eval_images=8,
        verbose=0,
        backup_every=1,
        save_best=True,
        out=str(out),
    )
    with pytest.raises(NonFiniteLossError) as err:
        train(config)
    message = str(err.value)
    assert message.startswith(
        "training stopped at step 4 (epoch 2): non-finite loss term(s) kl=NaN"
    )
    assert "last good backup (step 3)" in message and "best.keras" in message
    assert err.value.step == 4 and "kl" in err.value.terms
    assert not out.exists()  # nothing looks complete
    (partial,) = tmp_path.glob(".run.partial-*")
    assert err.value.kept_partial == str(partial)
    metrics = json.loads((partial / "metrics.json").read_text())
    assert metrics["status"] == "failed" and metrics["failed_at_step"] == 4
    assert metrics["last_backup_step"] == 3 and metrics["best_model"] == "best.keras"
    assert backup.read_state(partial / "backup")["steps"] == 3
    best = load_model(partial / "best.keras")
    assert all(np.all(np.isfinite(keras.ops.convert_to_numpy(w))) for w in best.weights)
    # Epoch 2 ended with NaN weights: the best model is epoch 1's.
    assert json.loads((partial / "best.keras.json").read_text())["epoch"] == 1
