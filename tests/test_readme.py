"""The README's Python blocks run as written, with tiny budgets, so they cannot drift from the
library (issue #23: its quick start saved an untrained model)."""

import re
from pathlib import Path

import keras
import numpy as np
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"

# Every ```python block of the README, named by a line only it holds, with the text
# replacements that shrink its budget (each must be found exactly once, so a changed budget
# in the README fails here instead of running for minutes).
BLOCKS = {
    "quick start": (
        "model = keras_gvae.GuidedVAE(input_shape=(64, 64, 1), latent_dim=10)",
        {
            'load("shapes", batch_size=64)': 'load("shapes", batch_size=8)',
            "epochs=10, steps_per_epoch=100": "epochs=1, steps_per_epoch=2",
        },
    ),
    "supervised on CelebA": (
        'load("celeb_a", data_dir="celeba/"',
        {'data_dir="celeba/"': "data_dir=CELEBA", "epochs=10)": "epochs=1, steps_per_epoch=2)"},
    ),
    "supervised terms": ("from keras_gvae.models import AdversarialInhibition", {}),
    "TensorBoard": (
        "from keras_gvae.callbacks import TensorBoard",
        {
            'load("shapes", batch_size=64)': 'load("shapes", batch_size=8)',
            "epochs=10,\n    steps_per_epoch=100,": "epochs=1,\n    steps_per_epoch=2,",
            'metrics=("mig",))': 'metrics=("mig",), num_train=200)',
        },
    ),
    "pretrained by name": ("from keras_gvae.pretrained import list_pretrained", {}),
}

# The later blocks go on from the quick start: its imports are in scope.
PRELUDE = "import keras\nimport keras_gvae\nfrom keras_gvae.data import load\n"


def readme_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def block(name):
    marker, replacements = BLOCKS[name]
    (code,) = [b for b in readme_blocks() if marker in b]
    for old, new in replacements.items():
        assert code.count(old) == 1, f"the README's {name} block no longer holds {old!r}"
        code = code.replace(old, new)
    return code


def run(name, tmp_path, monkeypatch, **names):
    monkeypatch.chdir(tmp_path)  # the blocks write guided.keras, logs/
    namespace = dict(names)
    exec(compile(PRELUDE + block(name), f"README.md ({name})", "exec"), namespace)
    return namespace


def test_every_python_block_of_the_readme_is_tested():
    blocks = readme_blocks()
    named = [[b for b in blocks if marker in b] for marker, _ in BLOCKS.values()]
    assert [len(found) for found in named] == [1] * len(BLOCKS)
    assert len(blocks) == len(BLOCKS), "a new README block: add it to BLOCKS"


@pytest.mark.slow
def test_quick_start_saves_the_model_it_trained(tmp_path, monkeypatch):
    ns = run("quick start", tmp_path, monkeypatch)
    restored = ns["restored"]
    assert int(restored.optimizer.iterations) == 2  # the fitted model, not a fresh one
    for a, b in zip(ns["model"].weights, restored.weights, strict=True):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))
    assert ns["samples"].shape == (16, 64, 64, 1)
    assert ns["rows"].shape[1:] == (9, 64, 64, 1)


@pytest.mark.slow
def test_supervised_celeba_block(tmp_path, monkeypatch, shared_data):
    ns = run("supervised on CelebA", tmp_path, monkeypatch, CELEBA=shared_data / "celeba_sample")
    assert int(ns["model"].optimizer.iterations) == 2


def test_supervised_terms_block(tmp_path, monkeypatch):
    ns = run("supervised terms", tmp_path, monkeypatch)
    assert ns["model"].joint_inhibition is True


@pytest.mark.slow
def test_tensorboard_block_logs_the_metric(tmp_path, monkeypatch):
    ns = run("TensorBoard", tmp_path, monkeypatch)
    assert "mig" in ns["model"].history.history
    assert list((tmp_path / "logs" / "guided" / "train").glob("events.out.tfevents.*"))


def test_pretrained_block_loads_the_shipped_shapes_model(tmp_path, monkeypatch):
    monkeypatch.delenv("KERAS_GVAE_PRETRAINED", raising=False)
    ns = run("pretrained by name", tmp_path, monkeypatch)
    assert "guided_shapes" in ns["list_pretrained"]()
    assert type(ns["model"]).__name__ == "GuidedVAE" and ns["model"].latent_dim == 10
