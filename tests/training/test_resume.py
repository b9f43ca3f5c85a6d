"""Kill-and-resume: a run killed with SIGKILL and started again ends as an uninterrupted one."""

import json
import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from keras_gvae import backup
from keras_gvae.io import resumable_partial
from keras_gvae.saving import load_model
from tests.helpers import tiny_train_command

STEPS = 4
TINY = tiny_train_command(STEPS)
ENV = dict(os.environ, TF_DETERMINISTIC_OPS="1", CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="3")


def gvae(*args):
    return [sys.executable, "-m", "keras_gvae.cli.main", *args]


def state_of(out):
    """The backup state of the partial run directory of ``out``, or None."""
    partials = sorted(out.parent.glob(f".{out.name}.partial-*"))
    return backup.read_state(partials[0] / "backup") if partials else None


def all_weights(path):
    model = load_model(path)
    variables = model.weights + model.optimizer.variables
    return [keras.ops.convert_to_numpy(v) for v in variables]


@pytest.mark.slow
def test_a_run_killed_mid_epoch_resumes_and_ends_bit_for_bit_like_an_uninterrupted_one(tmp_path):
    reference, killed = tmp_path / "reference", tmp_path / "killed"
    uninterrupted = subprocess.Popen(
        gvae(*TINY, "--out", str(reference)),
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    command = gvae(*TINY, "--backup-every", "3", "--out", str(killed))
    proc = subprocess.Popen(command, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while (
        (state := state_of(killed)) is None and proc.poll() is None and time.monotonic() < deadline
    ):
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert state is not None and not killed.exists(), "the run finished before it could be killed"
    partial = resumable_partial(
        killed,
        json.loads(
            (next(killed.parent.glob(".killed.partial-*")) / ".keras_gvae.resume.json").read_text()
        ),
    )
    assert partial is not None
    killed_at = backup.read_state(partial / "backup")["steps"]
    assert 0 < killed_at < 2 * STEPS

    again = subprocess.run(command, env=ENV, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "StalePartialWarning" not in again.stderr  # its own partial is resumed, not reported
    metrics = json.loads((killed / "metrics.json").read_text())
    assert metrics["resumed_from_step"] == killed_at
    assert not list(tmp_path.glob(".killed.*")), "the resumed partial became the run"
    assert not (killed / "backup").exists() and not (killed / ".keras_gvae.resume.json").exists()
    rows = (killed / "history.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["0", "1"]
    assert uninterrupted.wait(timeout=600) == 0, uninterrupted.stderr.read()[-2000:]
    for a, b in zip(all_weights(reference), all_weights(killed), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.slow
def test_fit_resumable_restores_weights_optimizer_and_noise_state_exactly(tmp_path):
    import dataclasses

    from keras_gvae.training import TrainConfig, build_model, fit_resumable, training_data

    config = TrainConfig(
        model="vae",
        epochs=2,
        steps_per_epoch=3,
        batch_size=8,
        latent_dim=4,
        eval_images=8,
        verbose=0,
        seed=5,
        backup_every=2,
    )

    def fresh():
        keras.utils.set_random_seed(config.seed)
        train, _, _, shape = training_data(config)
        return build_model(config, shape), train

    model, train = fresh()
    assert fit_resumable(model, train, config, tmp_path / "a")[1] == 0
    expected = [keras.ops.convert_to_numpy(v) for v in model.weights + model.optimizer.variables]
    # 2 steps, "killed", then the full run in a new model from the backup.
    model, train = fresh()
    fit_resumable(
        model, train, dataclasses.replace(config, epochs=1, steps_per_epoch=2), tmp_path / "b"
    )
    assert backup.read_state(tmp_path / "b" / "backup")["steps"] == 2
    model, train = fresh()
    histories, restored = fit_resumable(model, train, config, tmp_path / "b")
    assert restored == 2
    assert [len(h["loss"]) for h in histories] == [1, 1]  # the rest of epoch 0, then epoch 1
    got = [keras.ops.convert_to_numpy(v) for v in model.weights + model.optimizer.variables]
    for a, b in zip(expected, got, strict=True):
        np.testing.assert_array_equal(a, b)
    assert backup.read_state(tmp_path / "b" / "backup")["steps"] == 6
    assert [p.name for p in (tmp_path / "b" / "backup").glob("*.h5")] == [
        "step-000000006.weights.h5"
    ]


def test_training_backup_refuses_an_interval_below_one():
    with pytest.raises(ValueError, match="at least 1 step"):
        backup.TrainingBackup("x", every=0)
