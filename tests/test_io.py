import json
import os
from pathlib import Path

import pytest

from keras_gvae import io
from keras_gvae.io import atomic_directory, atomic_file, write_json, write_text


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if ".partial" in p.name or ".old-" in p.name)


def test_write_text_creates_folders_and_replaces_whole_files(tmp_path):
    path = tmp_path / "a" / "b" / "result.md"
    write_text(path, "first\n")
    write_text(path, "second\n")
    assert path.read_text() == "second\n"
    assert _leftovers(path.parent) == []


def test_a_failed_write_keeps_the_old_file_and_leaves_no_partial(tmp_path):
    path = tmp_path / "result.md"
    write_text(path, "kept\n")
    with pytest.raises(RuntimeError, match="disk on fire"):
        with atomic_file(path, "w") as f:
            f.write("half of a new ")
            raise RuntimeError("disk on fire")
    assert path.read_text() == "kept\n"
    assert _leftovers(tmp_path) == []


def test_atomic_file_honours_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        write_text(tmp_path / "x", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "x").stat().st_mode & 0o777 == 0o640


def test_the_mutual_information_plot_is_written_like_every_output(tmp_path):
    # It had its own writer (mkstemp, then chmod 0o644 whatever the umask).
    import numpy as np

    from keras_gvae.evaluation import plot_mi_matrix

    old = os.umask(0o027)
    try:
        path = plot_mi_matrix(np.eye(2), tmp_path / "plots" / "mi.png")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o640
    assert path.read_bytes()[:4] == b"\x89PNG"
    assert sorted(p.name for p in path.parent.iterdir()) == ["mi.png"]


def test_write_json_round_trips_numpy_values(tmp_path):
    import numpy as np

    write_json(tmp_path / "m.json", {"a": np.float32(0.5), "b": np.arange(3)})
    assert json.loads((tmp_path / "m.json").read_text()) == {"a": 0.5, "b": [0, 1, 2]}


def test_atomic_directory_replaces_only_complete_runs(tmp_path):
    run = tmp_path / "run"
    with atomic_directory(run) as tmp:
        (tmp / "model.keras").write_text("v1")
    with pytest.raises(FileExistsError, match="pass overwrite=True"):
        with atomic_directory(run):
            pass
    with pytest.raises(KeyboardInterrupt):
        with atomic_directory(run, overwrite=True) as tmp:
            (tmp / "model.keras").write_text("v2, half")
            raise KeyboardInterrupt
    assert (run / "model.keras").read_text() == "v1"
    with atomic_directory(run, overwrite=True) as tmp:
        (tmp / "model.keras").write_text("v2")
    assert (run / "model.keras").read_text() == "v2"
    assert _leftovers(tmp_path) == []


# ---------------------------------------------------------------- claims, markers, commits
def test_two_writers_of_one_directory_cannot_both_win(tmp_path):
    # Issue #14, case 1: the second writer used to replace the first one's complete run.
    import threading

    from keras_gvae.io import OutputBusyError

    run = tmp_path / "c" / "run"
    inside, release, errors = threading.Event(), threading.Event(), []

    def first():
        with atomic_directory(run) as tmp:
            (tmp / "model.keras").write_text("first")
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=first)
    thread.start()
    assert inside.wait(10)
    try:
        with pytest.raises(OutputBusyError, match="being written by another keras_gvae process"):
            with atomic_directory(run, overwrite=True) as tmp:
                (tmp / "model.keras").write_text("second")
    except BaseException as err:  # pragma: no cover - keep the thread from hanging
        errors.append(err)
    finally:
        release.set()
        thread.join(10)
    assert not errors
    assert (run / "model.keras").read_text() == "first"
    assert _leftovers(run.parent) == [] and not (run.parent / ".run.lock").exists()


def test_a_directory_that_appears_meanwhile_is_not_replaced_and_the_new_one_is_kept(tmp_path):
    from keras_gvae.io import OutputExistsError

    run = tmp_path / "run"
    with pytest.raises(OutputExistsError, match="already exists") as info:
        with atomic_directory(run) as tmp:
            (tmp / "model.keras").write_text("new")
            run.mkdir()  # another program, which takes no claim
            (run / "theirs.txt").write_text("theirs")
    assert (run / "theirs.txt").read_text() == "theirs"
    assert Path(info.value.kept_partial, "model.keras").read_text() == "new"


def test_overwrite_replaces_only_a_marked_keras_gvae_directory_of_the_same_kind(tmp_path):
    # Issue #14, case 2: --overwrite used to delete any directory.
    from keras_gvae.io import MARKER, OutputExistsError, marker_kind

    unrelated = tmp_path / "notarun"
    unrelated.mkdir()
    (unrelated / "thesis.tex").write_text("years of work")
    with pytest.raises(OutputExistsError, match=f"not a keras_gvae run .*{MARKER}"):
        with atomic_directory(unrelated, overwrite=True) as tmp:
            (tmp / "model.keras").write_text("x")
    assert (unrelated / "thesis.tex").read_text() == "years of work"

    run = tmp_path / "run"
    with atomic_directory(run) as tmp:
        (tmp / "model.keras").write_text("v1")
    assert marker_kind(run) == "run"
    with pytest.raises(OutputExistsError, match="is a keras_gvae run, not an evaluation"):
        with atomic_directory(run, overwrite=True, kind="evaluation"):
            pass
    assert (run / "model.keras").read_text() == "v1"
    # An empty directory holds nothing to lose; a file is not a directory.
    (tmp_path / "empty").mkdir()
    with atomic_directory(tmp_path / "empty") as tmp:
        (tmp / "a").write_text("a")
    assert (tmp_path / "empty" / "a").exists()
    (tmp_path / "file").write_text("f")
    with pytest.raises(OutputExistsError, match="is a file; expected a directory"):
        with atomic_directory(tmp_path / "file", overwrite=True):
            pass
    assert (tmp_path / "file").read_text() == "f"


def test_files_are_replaced_only_when_asked(tmp_path):
    # Issue #14, case 3: output files used to be replaced silently.
    from keras_gvae.io import OutputExistsError

    path = tmp_path / "traversal.png"
    write_text(path, "mine", overwrite=False)
    with pytest.raises(OutputExistsError, match="already exists; choose another name"):
        write_text(path, "theirs", overwrite=False)
    assert path.read_text() == "mine"
    # A file that appears while the new one is written is not replaced either.
    with pytest.raises(OutputExistsError, match="appeared while it was being written"):
        with atomic_file(tmp_path / "late.png", "w", overwrite=False) as f:
            f.write("ours")
            (tmp_path / "late.png").write_text("theirs")
    assert (tmp_path / "late.png").read_text() == "theirs"
    with pytest.raises(OutputExistsError, match="is a directory"):
        write_text(tmp_path, "x", overwrite=True)
    write_text(path, "replaced", overwrite=True)
    assert path.read_text() == "replaced"
    assert _leftovers(tmp_path) == [] and not list(tmp_path.glob(".*.lock"))


def test_without_hard_links_a_file_is_still_never_replaced_unasked(tmp_path, monkeypatch):
    import errno

    from keras_gvae.io import OutputExistsError

    def no_hard_links(src, dst):
        raise OSError(errno.EPERM, "hard links are not supported here")

    monkeypatch.setattr(os, "link", no_hard_links)
    write_text(tmp_path / "a.png", "ours", overwrite=False)
    with pytest.raises(OutputExistsError, match="already exists"):
        with atomic_file(tmp_path / "late.png", "w", overwrite=False) as f:
            f.write("ours")
            (tmp_path / "late.png").write_text("theirs")
    assert (tmp_path / "a.png").read_text() == "ours"
    assert (tmp_path / "late.png").read_text() == "theirs"
    assert sorted(os.listdir(tmp_path)) == ["a.png", "late.png"]


def test_a_failure_removes_the_folders_it_created_but_keep_if_keeps_the_result(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_directory(tmp_path / "a" / "b" / "run"):
            raise RuntimeError("before anything worth keeping")
    assert list(tmp_path.iterdir()) == []

    def saved(tmp):
        return (tmp / "model.keras").exists()

    with pytest.raises(RuntimeError, match="export failed") as info:
        with atomic_directory(tmp_path / "run", keep_if=saved) as tmp:
            (tmp / "model.keras").write_text("trained")
            raise RuntimeError("export failed")
    assert Path(info.value.kept_partial, "model.keras").read_text() == "trained"
    assert not (tmp_path / "run").exists()


def test_stale_partials_of_a_killed_writer_are_reported_with_how_to_remove_them(tmp_path):
    # Issue #14, case 6: a killed run's .NAME.partial-* folder was never mentioned.
    from keras_gvae.io import StalePartialWarning

    stale = tmp_path / ".run.partial-deadbeef"
    stale.mkdir()
    (stale / "history.csv").write_text("epoch\n")
    with pytest.warns(
        StalePartialWarning,
        match=r"left by an earlier keras_gvae process.*rm -r .*"
        r"\.run\.partial-deadbeef",
    ):
        with atomic_directory(tmp_path / "run") as tmp:
            (tmp / "model.keras").write_text("v1")
    assert stale.exists()  # reported, never deleted
    assert (tmp_path / "run" / "model.keras").exists()


def test_dot_names_the_directory_itself(tmp_path, monkeypatch):
    run = tmp_path / "run"
    with atomic_directory(run) as tmp:
        (tmp / "model.keras").write_text("v1")
    (tmp_path / "x" / "y").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "x" / "y")
    with atomic_directory("../../run/sub/..", overwrite=True) as tmp:
        (tmp / "model.keras").write_text("v2")
    assert (run / "model.keras").read_text() == "v2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "x"]


@pytest.mark.parametrize("where", ["empty", "mine", "run"])
def test_the_working_directory_and_its_parents_are_never_an_output(tmp_path, monkeypatch, where):
    from keras_gvae.io import OutputExistsError

    here = tmp_path / where
    if where == "run":
        with atomic_directory(here) as tmp:
            (tmp / "model.keras").write_text("v1")
    else:
        here.mkdir()
    if where == "mine":
        (here / "notes.txt").write_text("mine")
    before = sorted(p.name for p in here.iterdir())
    monkeypatch.chdir(here)
    for name in (".", str(here), "sub/.."):
        with pytest.raises(OutputExistsError, match="is the current directory"):
            with atomic_directory(name, overwrite=True):
                pass
    with pytest.raises(OutputExistsError, match="is a parent of the current directory"):
        with atomic_directory("..", overwrite=True):
            pass
    assert sorted(p.name for p in here.iterdir()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [where]


def test_a_writer_with_the_same_resume_key_takes_over_the_kept_partial(tmp_path):
    import warnings

    out = tmp_path / "run"
    with pytest.raises(RuntimeError):
        with io.atomic_directory(out, keep_if=lambda tmp: True, resume_key={"seed": 1}) as tmp:
            (tmp / "work.txt").write_text("half")
            raise RuntimeError("killed")
    kept = tmp
    assert io.resumable_partial(out, {"seed": 1}) == kept
    assert io.resumable_partial(out, {"seed": 2}) is None
    with warnings.catch_warnings():
        warnings.simplefilter("error", io.StalePartialWarning)  # its own partial is not stale
        with io.atomic_directory(out, resume_key={"seed": 2}, resume_from=kept) as tmp:
            assert tmp == kept and (tmp / "work.txt").read_text() == "half"
            assert io.resumable_partial(out, {"seed": 2}) == kept  # rekeyed
    assert (out / "work.txt").read_text() == "half" and not (out / io.RESUME).exists()
    assert io.marker_kind(out) == "run" and not list(tmp_path.glob(".run.partial-*"))
    # Another key does not take it: a new partial, and the old one is reported.
    with pytest.raises(RuntimeError):
        with io.atomic_directory(tmp_path / "b", keep_if=lambda t: True, resume_key=1):
            raise RuntimeError
    with pytest.warns(io.StalePartialWarning):
        with io.atomic_directory(tmp_path / "b", resume_key=2) as tmp:
            assert not (tmp / "work.txt").exists()
    # A partial of another output is not taken over, nor rekeyed.
    (other,) = tmp_path.glob(".b.partial-*")
    with pytest.raises(ValueError, match=r"expected a kept \.c\.partial-\* of"):
        with io.atomic_directory(tmp_path / "c", resume_key=3, resume_from=other):
            pass
    assert json.loads((other / io.RESUME).read_text()) == 1
    assert not list(tmp_path.glob("c")) and not list(tmp_path.glob(".c.*"))


def test_resuming_a_partial_a_live_writer_holds_is_refused_and_leaves_its_key(tmp_path, capsys):
    # The bug: `gvae train --resume .NAME.partial-*` rewrote the partial's resume key before
    # claiming NAME, so a live writer's partial got another run's key, then was refused.
    import dataclasses

    from keras_gvae.cli.main import main
    from keras_gvae.training import TrainConfig
    from keras_gvae.training.config import resume_key

    out = tmp_path / "run"
    config = TrainConfig(epochs=1, steps_per_epoch=2, batch_size=8, out=str(out), verbose=0)
    with io.atomic_directory(out, resume_key=resume_key(config)) as live:  # the live writer
        (live / "config.json").write_text(json.dumps(dataclasses.asdict(config)))
        key = (live / io.RESUME).read_bytes()
        assert main(["train", "--resume", str(live), "--epochs", "3", "--quiet"]) == 2
        assert "being written by another keras_gvae process" in capsys.readouterr().err
        assert (live / io.RESUME).read_bytes() == key
        assert sorted(p.name for p in tmp_path.iterdir()) == [".run.lock", live.name]
        (live / "model.keras").write_text("the live writer's")
    assert (out / "model.keras").read_text() == "the live writer's"


def test_a_file_where_a_folder_is_needed_is_named_and_left_alone(tmp_path):
    from keras_gvae.io import OutputExistsError

    (tmp_path / "notes").write_text("mine")
    for write in (
        lambda: write_text(tmp_path / "notes" / "a" / "result.md", "x"),
        lambda: io.check_output(tmp_path / "notes" / "run", kind="run"),
        lambda: atomic_directory(tmp_path / "notes" / "a" / "run").__enter__(),
    ):
        with pytest.raises(OutputExistsError, match=r"notes is a file; expected a folder to write"):
            write()
    assert (tmp_path / "notes").read_text() == "mine" and os.listdir(tmp_path) == ["notes"]


def test_partial_target_inverts_the_temporary_names(tmp_path):
    # The name of every temporary directory maps back to its output, dots in NAME included;
    # names not of that form (a finished output, a bare ".partial-") have none.
    for name in ("run", "run.v2", ".hidden"):
        out = tmp_path / name
        assert io.partial_target(tmp_path / io._partial_name(out)) == out
    for name in ("run", ".partial-0a1b2c3d", "run.partial-0a1b2c3d", ".run.old-0a1b2c3d"):
        assert io.partial_target(tmp_path / name) is None
