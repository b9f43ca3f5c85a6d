"""Test helpers in the keras-hub style: one call per round trip."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np


def run_layer_serialization_test(layer):
    """get_config -> from_config -> identical config; serialize/deserialize the object."""
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    revived = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(revived) is type(layer)
    assert revived.get_config() == config
    return clone


def run_model_saving_test(model, x, path, fresh_process=False):
    """Saves ``model`` as .keras, reloads it (optionally in a new Python process with
    safe_mode on and no custom objects), and checks equal weights and outputs."""
    model.save(path)
    expected = keras.ops.convert_to_numpy(model.predict(x, verbose=0))
    if fresh_process:
        np.save(str(path) + ".x.npy", x)
        code = textwrap.dedent(
            f"""
            import numpy as np, keras, keras_gvae
            m = keras.saving.load_model({str(path)!r}, safe_mode=True)
            x = np.load({str(path) + ".x.npy"!r})
            np.save({str(path) + ".y.npy"!r}, m.predict(x, verbose=0))
            print(type(m).__name__)
            """
        )
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr[-3000:]
        assert done.stdout.strip().splitlines()[-1] == type(model).__name__
        got = np.load(str(path) + ".y.npy")
        np.testing.assert_array_equal(got, expected)
        return None
    restored = keras.saving.load_model(path)
    assert type(restored) is type(model)
    assert as_json(restored.get_config()) == as_json(model.get_config())
    for a, b in zip(model.weights, restored.weights, strict=True):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))
    np.testing.assert_array_equal(restored.predict(x, verbose=0), expected)
    return restored


def as_json(config):
    """A config as plain JSON values (tuples become lists), for comparisons."""
    return json.loads(json.dumps(config))


def weights_snapshot(variables):
    return {v.path: keras.ops.convert_to_numpy(v).copy() for v in variables}


def changed(before, variables):
    """Paths of ``variables`` whose value differs from the snapshot ``before``."""
    return {
        v.path
        for v in variables
        if not np.array_equal(before[v.path], keras.ops.convert_to_numpy(v))
    }


def tiny_train_command(steps):
    """``gvae train`` arguments (without ``--out``) for a tiny two-epoch VAE run of ``steps``
    steps per epoch, seed 5: the subprocess tests' run."""
    return [
        "train",
        "--model",
        "vae",
        "--epochs",
        "2",
        "--steps-per-epoch",
        str(steps),
        "--batch-size",
        "8",
        "--latent-dim",
        "4",
        "--eval-images",
        "8",
        "--quiet",
        "--seed",
        "5",
    ]


BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load_benchmark(name):
    """The module of the script ``benchmarks/<name>.py`` (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module
