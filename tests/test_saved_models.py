"""The pretrained models shipped in saved_models/: each loads, and its three formats agree."""

import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from keras_gvae.saving import load_model

ROOT = Path(__file__).resolve().parents[1] / "saved_models"
RUNS = sorted(p.name for p in ROOT.iterdir() if (p / "model.keras").exists())


def test_every_documented_model_is_shipped():
    reproduce = (ROOT / "reproduce.sh").read_text()
    assert RUNS == sorted(["guided_shapes", "guided_mnist", "supervised_position"])
    # Not shipped (issue #23): it reconstructed a grey smear and is_heart at chance.
    assert "--out saved_models/supervised_shapes" not in reproduce
    for name in RUNS:
        assert f"--out saved_models/{name}" in reproduce
        config = json.loads((ROOT / name / "config.json").read_text())
        assert config["out"] == f"saved_models/{name}"


@pytest.mark.parametrize("name", RUNS)
def test_keras_saved_model_and_tflite_decode_alike(name):
    run = ROOT / name
    model = load_model(run / "model.keras", compile=False)
    z = np.random.default_rng(0).standard_normal((4, model.latent_dim)).astype("float32")
    expected = model.decode(z).numpy()
    assert expected.shape == (4, *model.image_shape)
    assert 0.0 <= expected.min() and expected.max() <= 1.0

    served = tf.saved_model.load(str(run / "saved_model" / "1")).signatures["decode"]
    np.testing.assert_allclose(served(z=tf.constant(z))["image"].numpy(), expected, atol=1e-5)

    pytest.importorskip("ai_edge_litert", reason="the LiteRT interpreter runs .tflite files")
    from keras_gvae.export import load_interpreter

    runner = load_interpreter(run / "decoder.tflite").get_signature_runner("serving_default")
    (got,) = runner(z=z).values()
    np.testing.assert_allclose(got.reshape(expected.shape), expected, atol=1e-4)
