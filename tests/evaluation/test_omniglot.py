import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from keras_gvae.evaluation import (
    load_one_shot_runs,
    omniglot_one_shot,
    one_shot_error,
    pixel_baseline,
)

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
NUM_CLASSES = 4


def _character(seed):
    """A 105x105 Omniglot-style image: dark (False) strokes on white (True)."""
    random_state = np.random.RandomState(seed)
    white = np.ones((105, 105), dtype=bool)
    for _ in range(3):
        row, col = random_state.randint(10, 80, size=2)
        white[row : row + 20, col : col + 4] = False
    return Image.fromarray(white)  # mode "1", like the real files


def _write_runs(root: Path, num_runs=2):
    """Lake's layout: runNN/{training/classMM.png, test/itemMM.png, class_labels.txt}."""
    pairings = {}
    for r in range(1, num_runs + 1):
        run = root / f"run{r:02d}"
        (run / "training").mkdir(parents=True)
        (run / "test").mkdir()
        order = np.random.RandomState(r).permutation(NUM_CLASSES)
        lines = []
        for c in range(NUM_CLASSES):
            _character(100 * r + c).save(run / "training" / f"class{c + 1:02d}.png")
        for t, c in enumerate(order):
            _character(100 * r + c).save(run / "test" / f"item{t + 1:02d}.png")
            lines.append(
                f"{run.name}/test/item{t + 1:02d}.png {run.name}/training/class{c + 1:02d}.png"
            )
        (run / "class_labels.txt").write_text("\n".join(lines) + "\n")
        pairings[run.name] = order
    return pairings


def _zip_folder(folder: Path, path: Path):
    with zipfile.ZipFile(path, "w") as archive:
        for file in sorted(folder.rglob("*")):
            archive.write(file, file.relative_to(folder).as_posix())
    return path


@pytest.fixture
def fake_runs(tmp_path):
    folder = tmp_path / "all_runs"
    pairings = _write_runs(folder)
    return folder, _zip_folder(folder, tmp_path / "all_runs.zip"), pairings


def test_loader_reads_folder_and_zip_alike(fake_runs):
    folder, archive, pairings = fake_runs
    from_folder = load_one_shot_runs(folder)
    from_zip = load_one_shot_runs(archive)
    assert [r.name for r in from_zip] == ["run01", "run02"]
    for a, b in zip(from_folder, from_zip, strict=True):
        np.testing.assert_array_equal(a.train_images, b.train_images)
        np.testing.assert_array_equal(a.test_targets, b.test_targets)
    run = from_zip[0]
    assert run.train_images.shape == (NUM_CLASSES, 28, 28, 1)
    assert run.test_images.dtype == np.float32
    assert run.train_files[0] == "class01.png" and run.test_files[0] == "item01.png"
    np.testing.assert_array_equal(run.test_targets, pairings["run01"])


def test_strokes_are_one_at_full_resolution(fake_runs):
    _, archive, _ = fake_runs
    image = load_one_shot_runs(archive, image_size=None)[0].train_images[0, ..., 0]
    expected = 1.0 - np.asarray(_character(100).convert("L"), dtype=np.float32) / 255.0
    np.testing.assert_array_equal(image, expected)
    assert set(np.unique(image)) == {0.0, 1.0} and image.mean() < 0.5
    small = load_one_shot_runs(archive, image_size=14)[0].train_images
    assert small.shape[1:] == (14, 14, 1) and 0.0 <= small.min() and small.max() <= 1.0


def test_pixel_baseline_is_exact_when_test_equals_training(fake_runs):
    _, archive, _ = fake_runs
    runs = load_one_shot_runs(archive)
    result = pixel_baseline(runs)
    assert result == {"error_rate": 0.0, "per_run": {"run01": 0.0, "run02": 0.0}}

    def constant(images):
        return np.zeros((len(images), 2))

    assert one_shot_error(runs, constant)["error_rate"] == pytest.approx(0.75)  # always class01
    both = omniglot_one_shot(archive, constant)
    assert both["error_rate"] == pytest.approx(0.75) and both["pixel_error_rate"] == 0.0


def test_missing_path(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_one_shot_runs(tmp_path / "absent.zip")
    with pytest.raises(ValueError, match="class_labels.txt"):
        load_one_shot_runs(tmp_path)


@pytest.mark.shared_data
def test_real_runs_and_pixel_baseline():
    archive = SHARED_DATA / "omniglot" / "all_runs.zip"
    if not archive.is_file():
        pytest.skip(f"{archive} is absent (the shared data folder sits beside the repo in CI)")
    runs = load_one_shot_runs(archive)
    assert [r.name for r in runs] == [f"run{i:02d}" for i in range(1, 21)]
    for run in runs:
        assert run.train_images.shape == (20, 28, 28, 1)
        assert run.test_images.shape == (20, 28, 28, 1)
        assert sorted(run.test_targets) == list(range(20))  # one test image per character
        assert 0.02 < run.train_images.mean() < 0.3  # sparse strokes = 1
    # Measured 0.7925 at 28x28 (Euclidean); Lake et al. (2015) report about 74-78%.
    error = pixel_baseline(runs)["error_rate"]
    assert 0.74 <= error <= 0.84
