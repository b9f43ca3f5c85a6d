"""A run killed at its very end (after its last backup: before model.keras, while writing it,
or just before the run directory is committed) is finished by the same command or by
``--resume``, bit for bit like a run never killed (issue #23)."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_gvae.saving import load_model
from tests.helpers import tiny_train_command

STEPS = 2
TINY = tiny_train_command(STEPS)
ENV = dict(os.environ, TF_DETERMINISTIC_OPS="1", CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="3")

# Runs `gvae` with a fault injected: the process SIGKILLs itself at one point of the end of
# the run (every training step and backup is done by then).
KILLER = """
import os, signal, sys
import keras_gvae.io as io
import keras_gvae.training.loop as loop

def die():
    os.kill(os.getpid(), signal.SIGKILL)

def before_model(model, path, overwrite=True):
    die()

def while_writing_model(model, path, overwrite=True):
    with io.staged_file(path, suffix=".keras") as tmp:
        model.save(tmp)
        data = tmp.read_bytes()
        tmp.write_bytes(data[: len(data) // 2])
        die()

def before_commit(*args):
    die()

point = sys.argv[1]
if point == "before_commit":
    io._commit_directory = before_commit
else:
    loop.save_model_atomic = {"before_model": before_model,
                              "while_writing_model": while_writing_model}[point]
from keras_gvae.cli.main import main
sys.exit(main(sys.argv[2:]))
"""

# Kill point -> how the killed run is finished ("same": the same command again).
CASES = {"before_model": "same", "while_writing_model": "resume", "before_commit": "same"}


def gvae(*args):
    return [sys.executable, "-m", "keras_gvae.cli.main", *args]


def all_weights(path):
    model = load_model(path)
    return [keras.ops.convert_to_numpy(v) for v in model.weights + model.optimizer.variables]


@pytest.fixture(scope="module")
def killed_runs(tmp_path_factory):
    """The uninterrupted reference run and one run killed at each point, started together."""
    root = tmp_path_factory.mktemp("end")
    procs = {"reference": subprocess.Popen(gvae(*TINY, "--out", str(root / "reference")), env=ENV)}
    for point in CASES:
        command = [sys.executable, "-c", KILLER, point, *TINY, "--out", str(root / point)]
        procs[point] = subprocess.Popen(command, env=ENV, stderr=subprocess.DEVNULL)
    codes = {name: proc.wait(timeout=900) for name, proc in procs.items()}
    assert codes["reference"] == 0
    assert all(codes[point] == -9 for point in CASES), codes  # each killed itself
    return root


@pytest.mark.slow
@pytest.mark.parametrize("point", CASES)
def test_a_run_killed_after_its_last_backup_is_finished_bit_for_bit(killed_runs, point):
    out = killed_runs / point
    (partial,) = killed_runs.glob(f".{point}.partial-*")
    assert not out.exists()
    rows = (partial / "history.csv").read_text().splitlines()
    assert len(rows) == 3 and "NA" in rows[-1]  # both epochs logged; val_* columns empty
    if point == "while_writing_model":
        assert list(partial.glob(".model.keras.partial-*")), "no half-written model.keras"
    if CASES[point] == "same":
        command = gvae(*TINY, "--out", str(out))
    else:
        command = gvae("train", "--resume", str(partial), "--quiet")
    again = subprocess.run(command, env=ENV, capture_output=True, text=True, timeout=900)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "warning" not in again.stderr  # its own partial is taken over, not reported
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["status"] == "complete" and metrics["resumed_from_step"] == 2 * STEPS
    assert not list(killed_runs.glob(f".{point}.*")), "the partial became the run"
    left = sorted(p.name for p in out.iterdir() if p.name.startswith("."))
    assert left == [".keras_gvae.json"]  # no backup, resume key, lock or half-written file
    assert not (out / "backup").exists()
    for a, b in zip(
        all_weights(killed_runs / "reference" / "model.keras"),
        all_weights(out / "model.keras"),
        strict=True,
    ):
        np.testing.assert_array_equal(a, b)


def test_a_full_disk_at_the_end_keeps_the_run_and_says_the_same_command_finishes_it(
    tmp_path, monkeypatch, capsys
):
    import errno

    import keras_gvae.training.loop as loop
    from keras_gvae.cli.main import main

    def full_disk(model, path, overwrite=True):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    out = tmp_path / "run"
    with monkeypatch.context() as patched:
        patched.setattr(loop, "save_model_atomic", full_disk)
        assert main([*TINY, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    (partial,) = tmp_path.glob(".run.partial-*")
    assert err.startswith("gvae train: error: [Errno 28] No space left") and "\n" not in err
    assert f"the unfinished run is kept in {partial}; the same command goes on" in err
    assert "rename" not in err  # there is no model.keras to use yet
    assert main([*TINY, "--out", str(out)]) == 0
    assert json.loads((out / "metrics.json").read_text())["resumed_from_step"] == 2 * STEPS
