"""``gvae train --resume RUN_DIR``: a finished run goes on for more epochs from its optimizer
state."""

import json
import shutil
from pathlib import Path

import keras
import numpy as np
import pytest

from keras_gvae.cli.main import main
from keras_gvae.saving import load_model
from keras_gvae.training import TrainConfig, resume_config, train

TINY = dict(model="vae", steps_per_epoch=2, batch_size=8, latent_dim=4, eval_images=8, verbose=0)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "run"
    train(TrainConfig(epochs=1, out=str(out), **TINY))
    return out


def test_resume_refuses_what_it_cannot_continue(finished, tmp_path):
    with pytest.raises(ValueError, match="has trained 1 epochs; expected epochs=N with N above 1"):
        resume_config(finished, epochs=1)
    with pytest.raises(ValueError, match="expected a run directory"):
        resume_config(tmp_path)
    slim = tmp_path / "slim"
    train(TrainConfig(epochs=1, out=str(slim), slim=True, **TINY))
    with pytest.raises(ValueError, match="without optimizer state"):
        resume_config(slim, epochs=2)


def test_a_moved_or_copied_run_resumes_where_it_is(finished, tmp_path, monkeypatch):
    # config.json records the directory the run was first written to; resuming a copy must
    # replace the copy, never that original (nor a path relative to another directory).
    copy = tmp_path / "copy" / "run"
    shutil.copytree(finished, copy)
    config = resume_config(copy, epochs=2)
    assert (config.out, config.resume, config.overwrite) == (str(copy), str(copy), True)
    partial = copy.parent / ".run.partial-0a1b2c3d"
    copy.rename(partial)
    monkeypatch.chdir(tmp_path)  # config.json's "out" is absolute here; the answer is not
    config = resume_config(partial.relative_to(tmp_path), epochs=2)
    assert Path(config.out).resolve() == (partial.parent / "run").resolve() and not config.overwrite


def test_resume_with_other_settings_is_one_line_error(finished, capsys):
    assert main(["train", "--resume", str(finished), "--epochs", "2", "--seed", "3"]) == 2
    assert "expected only --epochs beside it, got --seed" in capsys.readouterr().err


@pytest.mark.parametrize(
    "flags", [["--save-best"], ["--precision", "mixed_bfloat16"], ["--eval-images", "16"]]
)
def test_resume_refuses_a_flag_of_the_recipe_in_one_line(finished, flags, capsys):
    # Each would change the weights or the measured numbers of the continued run.
    assert main(["train", "--resume", str(finished), "--epochs", "2", *flags]) == 2
    err = capsys.readouterr().err
    assert f"expected only --epochs beside it, got {flags[0]}" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_a_finished_run_continues_from_its_optimizer_state(finished, tmp_path, capsys):
    before = load_model(finished / "model.keras")
    assert int(before.optimizer.iterations) == 2
    assert main(["train", "--resume", str(finished), "--epochs", "3", "--quiet"]) == 0
    assert "resumed from step 2" in capsys.readouterr().out
    after = load_model(finished / "model.keras")
    assert int(after.optimizer.iterations) == 6  # 2 + 2 more epochs x 2 steps, same Adam state
    metrics = json.loads((finished / "metrics.json").read_text())
    assert metrics["status"] == "complete" and metrics["resumed_from_step"] == 2
    config = json.loads((finished / "config.json").read_text())
    assert config["epochs"] == 3 and config["resume"] == str(finished)
    rows = (finished / "history.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["0", "1", "2"]
    assert not list(finished.parent.glob(".run.*"))
    # Bit for bit the same as one 3-epoch run.
    straight = tmp_path / "straight"
    train(TrainConfig(epochs=3, out=str(straight), **TINY))
    reference = load_model(straight / "model.keras")
    for a, b in zip(
        reference.weights + reference.optimizer.variables,
        after.weights + after.optimizer.variables,
        strict=True,
    ):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))
