import json
import os

import pytest

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


def test_write_json_round_trips_numpy_values(tmp_path):
    import numpy as np

    write_json(tmp_path / "m.json", {"a": np.float32(0.5), "b": np.arange(3)})
    assert json.loads((tmp_path / "m.json").read_text()) == {"a": 0.5, "b": [0, 1, 2]}


def test_atomic_directory_replaces_only_complete_runs(tmp_path):
    run = tmp_path / "run"
    with atomic_directory(run) as tmp:
        (tmp / "model.keras").write_text("v1")
    with pytest.raises(FileExistsError, match="pass --overwrite"):
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
