"""``import keras_gvae`` keeps TensorFlow's start-up lines (oneDNN, CUDA) off the terminal,
unless the user chose a TF_CPP_MIN_LOG_LEVEL (issue #23)."""

import os
import subprocess
import sys

import pytest

# Imports the package, then builds, encodes and decodes: the first op is where TensorFlow
# probes CUDA on a machine without a GPU.
SCRIPT = """
import os
import numpy as np
import keras_gvae
model = keras_gvae.VAE(input_shape=(28, 28, 1), latent_dim=2)
model.decode(model.encode(np.zeros((1, 28, 28, 1), np.float32))[0])
print(os.environ.get("TF_CPP_MIN_LOG_LEVEL"))
"""


def run(env):
    return subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.slow
def test_import_keras_gvae_prints_nothing_on_stderr():
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    done = run(env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stderr == ""
    assert done.stdout.split() == ["2"]


@pytest.mark.slow
def test_a_log_level_the_user_set_is_left_alone():
    done = run(dict(os.environ, TF_CPP_MIN_LOG_LEVEL="1"))
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["1"]
