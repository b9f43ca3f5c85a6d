"""``gvae train --strategy multi-worker``: two worker processes on 127.0.0.1 ports."""

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import keras
import numpy as np
import pytest

from keras_gvae import backup
from keras_gvae.saving import load_model
from tests.helpers import tiny_train_command

STEPS = 3
TINY = tiny_train_command(STEPS)
ENV = dict(os.environ, CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="3")

# `gvae train` in a worker process, which also keeps its final weights and optimizer state
# (the other workers write no run directory) in $DUMP/worker<index>.npz.
WORKER = textwrap.dedent(
    """
    import json, os, sys
    import keras, numpy as np
    from keras_gvae.training import loop as training
    from keras_gvae.cli.main import main

    fit_resumable = training.fit_resumable

    def keep_state(model, *args, **kwargs):
        result = fit_resumable(model, *args, **kwargs)
        index = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
        state = [keras.ops.convert_to_numpy(v) for v in model.weights + model.optimizer.variables]
        np.savez(os.path.join(os.environ["DUMP"], f"worker{index}.npz"), *state)
        return result

    training.fit_resumable = keep_state
    sys.exit(main(sys.argv[1:]))
    """
)


def free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def start_workers(args, tmp_path, n=2):
    """``n`` processes running ``gvae train ARGS --strategy multi-worker``, each with its
    TF_CONFIG and its own TMPDIR (``tmp_path/tmp<i>``)."""
    cluster = {"worker": [f"127.0.0.1:{p}" for p in free_ports(n)]}
    workers = []
    for index in range(n):
        tmp = tmp_path / f"tmp{index}"
        tmp.mkdir(exist_ok=True)
        env = dict(
            ENV,
            DUMP=str(tmp_path),
            TMPDIR=str(tmp),
            TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}),
        )
        workers.append(
            subprocess.Popen(
                [sys.executable, "-c", WORKER, *args, "--strategy", "multi-worker"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    return workers


def finish(proc, timeout=300):
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err[-3000:]
    return out


def single_process(args):
    return subprocess.Popen(
        [sys.executable, "-m", "keras_gvae.cli.main", *args],
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def saved_state(path):
    model = load_model(path)
    return [keras.ops.convert_to_numpy(v) for v in model.weights + model.optimizer.variables]


def dumped_state(path):
    with np.load(path) as f:
        return [f[f"arr_{i}"] for i in range(len(f.files))]


def assert_same_run(workers, reference):
    """Workers: identical to the bit; the one-process run: equal up to float rounding (the
    gradients are summed in another order; measured 2e-7 in the weights)."""
    for a, b in zip(*workers, strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(workers[0], reference, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


# 66-75 s on 2 shared cores (36 s of CPU); CI runs slow tests too (pyproject selects all).
@pytest.mark.slow
def test_two_workers_train_as_one_process_on_the_same_global_batch(tmp_path):
    # --save-best: the held-out evaluation every epoch draws its noise from the model's
    # generators, in the loop as in `fit`.
    args = [*TINY, "--save-best"]
    reference = single_process([*args, "--out", str(tmp_path / "reference")])
    chief, worker = start_workers([*args, "--out", str(tmp_path / "run")], tmp_path)
    assert "wrote" in finish(chief)
    assert "worker done" in finish(worker)
    assert reference.wait(timeout=300) == 0, reference.stderr.read()[-3000:]

    run = tmp_path / "run"
    assert json.loads((run / "metrics.json").read_text())["status"] == "complete"
    rows = (run / "history.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["0", "1"]
    assert (run / "best.keras").is_file() and not (run / "backup").exists()
    ours, theirs = (
        json.loads((d / "metrics.json").read_text())["evaluation"]
        for d in (run, tmp_path / "reference")
    )
    assert ours == pytest.approx(theirs, rel=1e-5, abs=1e-6)
    # Only the chief wrote a run directory; the other worker removed its temporary folder.
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("tmp")) == [
        "reference",
        "run",
        "worker0.npz",
        "worker1.npz",
    ]
    assert not list((tmp_path / "tmp1").iterdir())
    workers = [dumped_state(tmp_path / f"worker{i}.npz") for i in range(2)]
    assert_same_run(workers, saved_state(tmp_path / "reference" / "model.keras"))
    # The chief's run directory holds that model.
    for a, b in zip(workers[0], saved_state(run / "model.keras"), strict=True):
        np.testing.assert_array_equal(a, b)


def test_the_chief_is_the_chief_task_else_worker_0():
    from types import SimpleNamespace

    from keras_gvae.distributed import is_chief

    def strategy(task, index, cluster):
        spec = SimpleNamespace(as_dict=lambda: cluster)
        return SimpleNamespace(
            cluster_resolver=SimpleNamespace(
                task_type=task, task_id=index, cluster_spec=lambda: spec
            )
        )

    workers = {"worker": ["a:1", "b:1"]}
    assert is_chief(strategy("worker", 0, workers))
    assert not is_chief(strategy("worker", 1, workers))
    assert is_chief(strategy("chief", 0, {"chief": ["c:1"], **workers}))
    assert not is_chief(strategy("worker", 0, {"chief": ["c:1"], **workers}))
    assert is_chief(strategy(None, None, {}))  # no TF_CONFIG: one worker


def chief_backup(out):
    partials = sorted(out.parent.glob(f".{out.name}.partial-*"))
    return backup.read_state(partials[0] / "backup") if partials else None


@pytest.mark.slow
def test_a_killed_worker_fails_the_run_and_the_same_commands_resume_it(tmp_path):
    args = [*TINY, "--steps-per-epoch", "6", "--backup-every", "1", "--out", str(tmp_path / "run")]
    reference = single_process(
        [*TINY, "--steps-per-epoch", "6", "--out", str(tmp_path / "reference")]
    )
    chief, worker = start_workers(args, tmp_path)
    deadline = time.monotonic() + 300
    while ((state := chief_backup(tmp_path / "run")) is None or state["steps"] < 2) and (
        chief.poll() is None and time.monotonic() < deadline
    ):
        time.sleep(0.01)
    worker.send_signal(signal.SIGKILL)
    worker.communicate(timeout=60)
    # The chief's collectives fail once its peer is gone (measured: 3 s); it keeps its partial.
    _, err = chief.communicate(timeout=120)
    assert chief.returncode == 2 and not (tmp_path / "run").exists(), err[-3000:]
    assert "a worker is gone" in err and "start every worker again" in err, err[-3000:]
    killed_at = chief_backup(tmp_path / "run")["steps"]
    assert 2 <= killed_at < 12

    # Both started again (new ports): the chief resumes its backup and sends it to the worker,
    # which had kept nothing.
    chief, worker = start_workers(args, tmp_path)
    assert "wrote" in finish(chief)
    assert "worker done" in finish(worker)
    assert reference.wait(timeout=300) == 0, reference.stderr.read()[-3000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["resumed_from_step"] == killed_at
    assert not list(tmp_path.glob(".run.*"))
    workers = [dumped_state(tmp_path / f"worker{i}.npz") for i in range(2)]
    assert_same_run(workers, saved_state(tmp_path / "reference" / "model.keras"))
