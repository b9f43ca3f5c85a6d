import csv
import math

import keras
import numpy as np
import pytest

from keras_gvae.evaluation import DisentanglementCallback
from tests.evaluation.fakes import PixelFactorsData


class TinyEncoder(keras.Model):
    """Flatten + Dense posterior mean (identity-initialised) and a zero log-variance."""

    def __init__(self, latent_dim=3, **kwargs):
        super().__init__(**kwargs)
        self.flatten = keras.layers.Flatten()
        self.mean = keras.layers.Dense(latent_dim, kernel_initializer="identity")

    def encode(self, x):
        z_mean = self.mean(self.flatten(x))
        return z_mean, keras.ops.zeros_like(z_mean)

    def call(self, x):
        return self.encode(x)[0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("callback")
    data = PixelFactorsData()
    factors, x = data.sample(64, np.random.RandomState(0))
    model = TinyEncoder()
    model.compile(optimizer=keras.optimizers.SGD(1e-3), loss="mse")
    callback = DisentanglementCallback(
        data,
        metrics=("mig", "factor_vae"),
        every_n_epochs=2,
        log_dir=str(tmp_path / "logs"),
        num_train=200,
        num_eval=20,
        num_variance_estimate=100,
        batch_size=16,
    )
    csv_path = tmp_path / "log.csv"
    history = model.fit(
        x,
        factors.astype("float32"),
        epochs=4,
        batch_size=32,
        verbose=0,
        callbacks=[callback, keras.callbacks.CSVLogger(str(csv_path))],
    )
    return history, csv_path, tmp_path / "logs"


def test_metrics_land_in_history_and_csv(trained):
    history, csv_path, _ = trained
    mig = history.history["mig"]
    assert len(mig) == 4  # epochs 0 and 2 by period, 3 as the last epoch, NaN at 1
    assert math.isnan(mig[1]) and all(mig[i] > 0.9 for i in (0, 2, 3))
    assert history.history["factor_vae/eval_accuracy"][0] == 1.0
    with open(csv_path) as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 4 and float(rows[0]["mig"]) == pytest.approx(mig[0])


def test_tensorboard_scalars_are_written(trained):
    import tensorflow as tf

    history, _, log_dir = trained
    (events,) = [p for p in log_dir.iterdir() if p.name.startswith("events.out.tfevents")]
    scalars = {}
    for record in tf.data.TFRecordDataset(str(events)):
        event = tf.compat.v1.Event.FromString(record.numpy())
        for value in event.summary.value:
            assert value.metadata.plugin_data.plugin_name == "scalars"
            scalars[(value.tag, event.step)] = float(tf.make_ndarray(value.tensor))
    assert sorted(step for tag, step in scalars if tag == "mig") == [0, 2, 3]
    assert scalars[("mig", 0)] == pytest.approx(history.history["mig"][0], rel=1e-6)


def test_rejects_a_bad_period():
    with pytest.raises(ValueError, match="every_n_epochs"):
        DisentanglementCallback(PixelFactorsData(), every_n_epochs=0)
