"""Issue #23: `gvae train --dataset DIR` and `gvae evaluate RUN` on folders as users have
them: flat or in class sub-folders, grey, colour and mixed sizes, with held-out images the
run never trained on, and one line for each bad input."""

import dataclasses
import json

import numpy as np
import pytest

from keras_gvae.cli.main import main

TINY = ["--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "4", "--quiet"]
VAE = ["--model", "vae", "--latent-dim", "3", "--eval-images", "8"]


@pytest.fixture
def keras_session():
    """tests/conftest.py's seeding and clean-up, which tests/data leaves out, for the tests
    that train (the others build no model)."""
    import keras

    keras.utils.set_random_seed(1234)
    yield
    keras.backend.clear_session()


def _flat_folder(path, files, count=20, size=(28, 28)):
    """``count`` grey images, image ``i`` filled with the grey level ``10 * i``."""
    for i in range(count):
        files.png(path / f"img_{i:02d}.png", np.full(size, 10 * i, np.uint8))
    return path


def _train(folder, out, *extra):
    return main(["train", *TINY, *VAE, "--dataset", str(folder), "--out", str(out), *extra])


def test_a_flat_folder_trains_without_labels_and_never_on_its_held_out_images(
    tmp_path, files, capsys, keras_session
):
    from keras_gvae.data import split_held_out
    from keras_gvae.training import TrainConfig, make_pipeline

    folder = _flat_folder(tmp_path / "digits", files)
    assert _train(folder, tmp_path / "run") == 0
    printed = capsys.readouterr().out
    assert f"{folder}: 20 images without labels; 2 of them held out" in printed
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert (config["image_size"], config["color_mode"], config["labels"]) == (
        [28, 28],
        "grayscale",
        "none",
    )
    assert (config["held_out"], config["held_out_seed"]) == (0.1, 0)
    assert config["held_out_images"] == {
        "split": "held_out",
        "fraction": 0.1,
        "seed": 0,
        "images": 2,
    }
    # The recorded settings read the folder's training images: every image but the two
    # that split_held_out sets aside (grey level 10 * i identifies image i).
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    recorded = TrainConfig(**{k: v for k, v in config.items() if k in fields})
    trained = np.concatenate(list(make_pipeline(recorded, 0, 4, drop_remainder=False)))
    trained_levels = set(np.round(trained[:, 0, 0, 0] * 25.5).astype(int))
    _, held = split_held_out([f"img_{i:02d}.png" for i in range(20)], 0.1, seed=0)
    held_levels = {int(name[4:6]) for name in held}
    assert len(held_levels) == 2 and trained_levels == set(range(20)) - held_levels

    # gvae evaluate: the held-out images' ELBO; what needs labels is skipped, with why.
    assert main(["evaluate", str(tmp_path / "run"), "--num-train", "10", "--num-test", "8"]) == 0
    evaluation = json.loads((tmp_path / "run" / "evaluation" / "metrics.json").read_text())
    assert evaluation["metrics"]["held_out/images"] == 2.0
    assert np.isfinite(evaluation["metrics"]["held_out/negative_elbo"])
    reason = f"{folder} has no class sub-folders: its images have no labels"
    assert evaluation["skipped"]["probes"] == reason
    assert f"skipped probes: {reason}" in capsys.readouterr().out


def test_class_sub_folders_give_labels_that_evaluate_probes(tmp_path, files, keras_session):
    folder = tmp_path / "tones"
    rng = np.random.default_rng(0)
    for name, level in (("dark", 40), ("light", 210)):
        for i in range(8):
            noise = rng.normal(level, 10, (16, 16)).clip(0, 255).astype(np.uint8)
            files.png(folder / name / f"{i}.png", noise)
    assert _train(folder, tmp_path / "run") == 0
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["labels"] == "folders" and config["image_size"] == [16, 16]
    out = tmp_path / "eval"
    args = ["evaluate", str(tmp_path / "run"), "--metrics", "probes", "--out", str(out)]
    assert main([*args, "--num-train", "10", "--num-test", "6"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())["metrics"]
    # Dark and light images are told apart from the codes (16 images: 10 fit the probe).
    assert set(metrics) == {"probes/class/linear", "probes/class/knn", "seconds/probes"}
    assert 0.5 <= metrics["probes/class/knn"] <= 1.0


def test_mixed_sizes_and_colours_are_resized_to_64x64_in_rgb(
    tmp_path, files, capsys, keras_session
):
    folder = tmp_path / "photos"
    for i in range(4):
        files.png(folder / f"grey_{i}.png", np.full((20 + i, 30), 100, np.uint8))
        files.png(folder / f"colour_{i}.png", np.full((40, 32, 3), 200, np.uint8))
    assert _train(folder, tmp_path / "run") == 0
    printed = capsys.readouterr().out.splitlines()
    assert (
        f"gvae train: {folder}: 4 grey and 4 colour images; converting them all to RGB "
        "(--color-mode)" in printed
    )
    assert (
        f"gvae train: {folder}: images of 5 sizes (20x30 to 40x32); resizing them all to 64x64 "
        "(--image-size)" in printed
    )
    from keras_gvae.saving import load_model

    assert load_model(tmp_path / "run", compile=False).image_shape == (64, 64, 3)
    # A size and colours the user names are used, without a note on either.
    from keras_gvae.training import TrainConfig, make_pipeline, resolve_data

    named = TrainConfig(
        dataset=str(folder), image_size=(32, 48), color_mode="grayscale", batch_size=2
    )
    notes = []
    assert resolve_data(named, notify=lambda *note: notes.append(note)).image_size == (32, 48)
    assert [parameter for parameter, _ in notes] == ["held_out"]
    assert make_pipeline(named, 0, 2).element_spec.shape.as_list() == [2, 32, 48, 1]


def test_images_too_large_for_the_networks_are_resized_unless_a_size_is_named(
    tmp_path, files, capsys, keras_session
):
    folder = _flat_folder(tmp_path / "large", files, count=6, size=(320, 320))
    assert _train(folder, tmp_path / "run", "--batch-size", "2") == 0
    assert (
        f"{folder}: 320x320 images (the built-in networks take 28x28, or heights and widths "
        "divisible by 16 up to 256); resizing them all to 64x64 (--image-size)"
        in capsys.readouterr().out
    )
    from keras_gvae.saving import load_model

    assert load_model(tmp_path / "run", compile=False).image_shape == (64, 64, 1)


@pytest.mark.parametrize(
    "make, flags, message",
    [
        (None, ["--dataset", "/nonexistent"], "/nonexistent: no such folder"),
        (None, ["--dataset", "no_such_dataset"], "unknown dataset 'no_such_dataset'"),
        ("flat", ["--image-size", "50"], "image_size 50x50 cannot be used: the built-in"),
        ("flat", ["--image-size", "4000"], "divisible by 16 up to 256 (--image-size)"),
        ("flat", ["--labels", "folders"], "20 of its 20 images lie directly in it"),
        ("flat", ["--batch-size", "64"], "18 images to train on (2 held out), fewer than"),
        ("text", [], "notes.png: not a readable image (its bytes are not a PNG, JPEG"),
        (None, ["--dataset", "mnist", "--color-mode", "rgb"], "dataset 'mnist' has its own"),
    ],
)
def test_each_bad_input_is_one_line_naming_the_flag(tmp_path, files, capsys, make, flags, message):
    folder = tmp_path / "images"
    if make:
        _flat_folder(folder, files)
    if make == "text":
        (folder / "notes.png").write_text("a text file\n")
    args = ["train", *TINY, "--dataset", str(folder), *flags, "--out", str(tmp_path / "run")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("gvae train: error: ") and message in err
    assert "=" not in err.replace("==", "")  # no Python keyword (image_size=, labels=None)
    assert not (tmp_path / "run").exists()
