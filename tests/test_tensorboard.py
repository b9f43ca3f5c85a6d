"""TensorBoard summaries: `gvae train --tensorboard` and keras_gvae.callbacks.TensorBoard."""

import csv

import numpy as np
import pytest
from PIL import Image

from keras_gvae.cli.main import main
from keras_gvae.summaries import read_events

TINY = [
    "--epochs",
    "2",
    "--steps-per-epoch",
    "2",
    "--batch-size",
    "8",
    "--eval-images",
    "8",
    "--latent-dim",
    "7",
    "--quiet",
]
TERMS = ("loss", "reconstruction", "kl", "sub_reconstruction", "orthogonality")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("tensorboard") / "guided"
    assert main(["train", *TINY, "--tensorboard", "--save-best", "--out", str(out)]) == 0
    return out


def test_gvae_train_writes_every_loss_term_and_the_learning_rate(run_dir):
    events = read_events(run_dir / "tensorboard")
    with open(run_dir / "history.csv") as f:
        rows = list(csv.DictReader(f))
    for term in TERMS:
        # One value per epoch, the epoch's mean as in history.csv (and the run's logs).
        steps, values = zip(*events[("train", f"epoch_{term}")], strict=True)
        assert steps == (0, 1)
        np.testing.assert_allclose(values, [float(r[term]) for r in rows], rtol=1e-6)
        # --save-best evaluates the held-out images every epoch: those go to validation/.
        steps, values = zip(*events[("validation", f"epoch_{term}")], strict=True)
        assert steps == (0, 1)
        np.testing.assert_allclose(values, [float(r[f"val_{term}"]) for r in rows], rtol=1e-6)
    assert [step for step, _ in events[("train", "epoch_learning_rate")]] == [0, 1]
    assert [rate for _, rate in events[("train", "epoch_learning_rate")]] == pytest.approx(
        [1e-3, 1e-3]
    )  # the guided-shapes preset's constant rate
    assert ("train", "epoch_val_loss") not in events


def test_gvae_train_writes_reconstructions_and_both_traversals(run_dir):
    events = read_events(run_dir / "tensorboard")
    for tag in ("reconstructions", "traversal/main", "traversal/sub"):
        assert [step for step, _ in events[("train", tag)]] == [0, 1], tag
    # The last epoch's pictures are the run's own (same model, same held-out images).
    reconstructions = events[("train", "reconstructions")][-1][1]
    saved = np.asarray(Image.open(run_dir / "reconstructions.png").convert("RGB"))
    assert reconstructions.shape == saved.shape
    np.testing.assert_array_equal(reconstructions, saved)
    main_panel, sub_panel = (events[("train", f"traversal/{d}")][-1][1] for d in ("main", "sub"))
    traversal = Image.open(run_dir / "traversal.png")
    assert main_panel.shape == sub_panel.shape
    assert traversal.height == main_panel.shape[0]
    assert traversal.width == 2 * main_panel.shape[1] + 12  # side by side, a 12-pixel gap
    # 7 rows (units) of 64-pixel tiles, 9 columns (values).
    assert main_panel.shape[0] >= 7 * 64 and main_panel.shape[1] >= 9 * 64


def test_the_events_are_inside_the_finished_run_directory(run_dir):
    assert {p.name for p in (run_dir / "tensorboard").iterdir()} == {"train", "validation"}
    assert not list(run_dir.parent.glob(".*partial*"))


def test_a_resumed_run_keeps_its_events_and_adds_the_new_epochs(tmp_path):
    out = tmp_path / "guided"
    one_epoch = [*TINY[2:], "--epochs", "1"]
    assert main(["train", *one_epoch, "--tensorboard", "--out", str(out)]) == 0
    assert main(["train", "--resume", str(out), "--epochs", "2", "--tensorboard", "--quiet"]) == 0
    events = read_events(out / "tensorboard")
    for tag in ("epoch_loss", "epoch_learning_rate", "reconstructions", "traversal/sub"):
        assert [step for step, _ in events[("train", tag)]] == [0, 1], tag


def test_the_callback_logs_disentanglement_metrics_placed_before_it(tmp_path):
    import keras

    from keras_gvae.callbacks import TensorBoard
    from keras_gvae.data.shapes import ShapesData
    from keras_gvae.evaluation import DisentanglementCallback
    from keras_gvae.models import VAE

    data = ShapesData()
    x = data.sample_observations(32, np.random.RandomState(0))
    model = VAE(input_shape=(64, 64, 1), latent_dim=3, seed=0)
    model.compile(
        optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(1e-3, decay_steps=6))
    )
    metrics = DisentanglementCallback(
        data, metrics=("mig",), every_n_epochs=2, num_train=100, batch_size=16
    )
    board = TensorBoard(tmp_path, images=x[:3], image_every_n_epochs=2)
    history = model.fit(x, epochs=3, batch_size=16, verbose=0, callbacks=[metrics, board])
    events = read_events(tmp_path)
    # mig ran on epochs 0 and 2 (the last); the NaN of epoch 1 is not written.
    assert [step for step, _ in events[("train", "epoch_mig")]] == [0, 2]
    assert events[("train", "epoch_mig")][0][1] == pytest.approx(history.history["mig"][0])
    # The learning rate after each epoch's 2 steps of the cosine decay over 6.
    rates = [rate for _, rate in events[("train", "epoch_learning_rate")]]
    assert rates == pytest.approx(
        [1e-3 * 0.5 * (1 + np.cos(np.pi * s / 6)) for s in (2, 4, 6)], abs=1e-9
    )
    # A VAE has one decoder; images on epochs 0 and 2 (every 2nd, and the last).
    assert [step for step, _ in events[("train", "traversal/main")]] == [0, 2]
    assert ("train", "traversal/sub") not in events
    (_, grid), _ = events[("train", "reconstructions")]
    assert grid.ndim == 3 and grid.shape[2] == 3
    assert set(folder for folder, _ in events) == {"train"}


def test_the_callback_checks_its_period():
    from keras_gvae.callbacks import TensorBoard

    with pytest.raises(ValueError, match="image_every_n_epochs"):
        TensorBoard("logs", image_every_n_epochs=0)
