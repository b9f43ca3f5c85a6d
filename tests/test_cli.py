import json
import shutil
import zipfile

import numpy as np
import pytest
from PIL import Image

from keras_gvae.cli.main import main

TINY = ["--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "8", "--quiet"]
RUN_FILES = {
    "model.keras",
    "training_state.json",
    "history.csv",
    "metrics.json",
    "config.json",
    "reconstructions.png",
    "traversal.png",
    "MODEL_CARD.md",
    ".keras_gvae.json",
}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "guided"
    assert (
        main(["train", *TINY, "--latent-dim", "7", "--eval-images", "16", "--out", str(out)]) == 0
    )
    return out


def test_train_writes_a_complete_run_directory(run_dir):
    assert {p.name for p in run_dir.iterdir()} == RUN_FILES
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert set(metrics["final_epoch"]) == {
        "loss",
        "reconstruction",
        "kl",
        "sub_reconstruction",
        "orthogonality",
    }
    assert all(np.isfinite(v) for v in metrics["evaluation"].values())
    assert (run_dir / "history.csv").read_text().splitlines()[0].startswith("epoch,")
    traversal = Image.open(run_dir / "traversal.png")
    # Two panels (main and sub decoder), 7 rows of 64-pixel tiles.
    assert traversal.width > 2 * 9 * 64 and traversal.height >= 7 * 64
    config = json.loads((run_dir / "config.json").read_text())
    assert config["model"] == "guided" and config["latent_dim"] == 7
    card = (run_dir / "MODEL_CARD.md").read_text()
    assert "gvae train --epochs 1 --steps-per-epoch 2" in card and "| reconstruction |" in card
    assert not list(run_dir.parent.glob(".*partial*"))


def test_slim_export_run_has_a_small_model_and_deployables(tmp_path):
    out = tmp_path / "slim"
    args = ["train", *TINY, "--latent-dim", "7", "--eval-images", "8", "--slim", "--export"]
    assert main([*args, "--out", str(out)]) == 0
    assert {"saved_model", "decoder.tflite"} <= {p.name for p in out.iterdir()}
    assert (out / "saved_model" / "1" / "saved_model.pb").is_file()
    from keras_gvae.saving import load_model

    model = load_model(out, compile=False)
    assert getattr(model, "optimizer", None) is None
    assert "TFLite decoder: max abs error" in (out / "MODEL_CARD.md").read_text()


def test_existing_out_is_not_overwritten_without_the_flag(run_dir, capsys):
    before = (run_dir / "metrics.json").read_bytes()
    assert main(["train", *TINY, "--out", str(run_dir)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert (run_dir / "metrics.json").read_bytes() == before


def test_a_failing_run_leaves_no_directory(tmp_path, capsys):
    out = tmp_path / "bad"
    assert main(["train", *TINY, "--dataset", "no_such_dataset", "--out", str(out)]) == 2
    assert "no_such_dataset" in capsys.readouterr().err
    assert not out.exists() and not list(tmp_path.iterdir())


def test_traverse_draws_a_saved_model(run_dir, tmp_path):
    out = tmp_path / "t.png"
    assert main(["traverse", str(run_dir / "model.keras"), "--out", str(out), "--steps", "5"]) == 0
    assert Image.open(out).size[1] >= 7 * 64


def test_unknown_option_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["train", "--no-such-flag"])
    assert exc.value.code == 2
    assert "unrecognized arguments: --no-such-flag" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "--epochs", "zero"])
    assert "expected a positive integer" in capsys.readouterr().err


@pytest.mark.parametrize("content", [b"", b"not a zip at all", "truncated"])
def test_unreadable_or_corrupt_model_paths(tmp_path, run_dir, capsys, content):
    path = tmp_path / "m.keras"
    if content == "truncated":
        data = (run_dir / "model.keras").read_bytes()
        path.write_bytes(data[: len(data) // 2])
    else:
        path.write_bytes(content)
    assert main(["traverse", str(path), "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "corrupt or truncated" in err
    assert main(["traverse", str(tmp_path / "missing.keras"), "--out", "x.png"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_a_zip_without_a_config_is_rejected(tmp_path, capsys):
    path = tmp_path / "empty.keras"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("hello.txt", "hi")
    assert main(["traverse", str(path), "--out", str(tmp_path / "x.png")]) == 2
    assert "must contain config.json" in capsys.readouterr().err


def test_evaluate_writes_metrics_and_the_mi_picture(run_dir, tmp_path, capsys):
    out = tmp_path / "eval"
    code = main(
        [
            "evaluate",
            str(run_dir),
            "--metrics",
            "mig,modularity_explicitness,probes",
            "--num-train",
            "300",
            "--num-test",
            "200",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "disentanglement/mig" in printed
    metrics = json.loads((out / "metrics.json").read_text())["metrics"]
    assert 0.0 <= metrics["disentanglement/mig"] <= 1.0
    assert 0.0 <= metrics["probes/shape/linear"] <= 1.0
    assert Image.open(out / "mi_matrix.png").size[0] > 100
    assert "## Evaluation" not in (run_dir / "MODEL_CARD.md").read_text()  # --out elsewhere


def test_evaluating_a_run_in_place_states_its_metrics_in_its_model_card(run_dir, tmp_path):
    """The default --out (RUN/evaluation) also writes the metrics into RUN/MODEL_CARD.md; a
    second evaluation replaces that section and keeps the rest of the card."""
    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    before = (run / "MODEL_CARD.md").read_text()
    for extra, metrics in (
        (["--metrics", "mig"], "mig"),
        (["--metrics", "sap", "--overwrite"], "sap"),
    ):
        args = ["evaluate", str(run), *extra, "--num-train", "300", "--num-test", "200"]
        assert main(args) == 0
        card = (run / "MODEL_CARD.md").read_text()
        value = json.loads((run / "evaluation" / "metrics.json").read_text())["metrics"]
        assert card.startswith(before.rstrip("\n") + "\n\n## Evaluation\n")
        assert card.count("## Evaluation") == 1
        assert f"`gvae {' '.join(args)}`" in card
        assert f"| disentanglement/{metrics} | {value[f'disentanglement/{metrics}']:.4g} |" in card
    assert "disentanglement/mig" not in card  # the first section was replaced


def test_evaluate_rejects_unknown_metrics(run_dir, capsys):
    assert main(["evaluate", str(run_dir), "--metrics", "mig,bogus"]) == 2
    assert "bogus" in capsys.readouterr().err


def test_train_on_a_folder_of_images(tmp_path):
    folder = tmp_path / "digits"
    rng = np.random.default_rng(0)
    for label in ("a", "b"):
        (folder / label).mkdir(parents=True)
        for i in range(12):
            pixels = (rng.random((28, 28)) > 0.5).astype(np.uint8) * 255
            Image.fromarray(pixels, mode="L").save(folder / label / f"{i}.png")
    out = tmp_path / "run"
    args = [
        "train",
        *TINY,
        "--dataset",
        str(folder),
        "--model",
        "vae",
        "--latent-dim",
        "4",
        "--eval-images",
        "8",
        "--out",
        str(out),
    ]
    assert main(args) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["dataset"] == str(folder)
    from keras_gvae.saving import load_model

    assert load_model(out, compile=False).image_shape == (28, 28, 1)


def test_supervised_train_with_model_arguments(tmp_path, capsys):
    out = tmp_path / "sup"
    args = [
        "train",
        *TINY,
        "--model",
        "supervised",
        "--dataset",
        "shapes_binary_upright",
        "--attributes",
        "is_heart,large",
        "--eval-images",
        "8",
        "--model-arg",
        "joint_inhibition=true",
        "--model-arg",
        "mmd_weight=10",
        "--model-arg",
        "adversary_input=mean",
        "--clip-norm",
        "5",
        "--lr-schedule",
        "cosine",
    ]
    assert main([*args, "--out", str(out)]) == 0
    from keras_gvae.saving import load_model

    # The clip norm reaches all three optimizers and survives the round trip.
    trained = load_model(out / "model.keras")
    assert [
        o.global_clipnorm
        for o in (trained.optimizer, trained.adversary_optimizer, trained.inhibition_optimizer)
    ] == [5.0, 5.0, 5.0]
    assert "clipped to global norm 5.0" in (out / "MODEL_CARD.md").read_text()
    # So does the cosine schedule: over the run's 1 x 2 steps, ending at a rate of 0.
    for optimizer in (trained.optimizer, trained.adversary_optimizer, trained.inhibition_optimizer):
        assert optimizer.get_config()["learning_rate"]["config"]["decay_steps"] == 2
        assert int(optimizer.iterations) == 2
        assert float(optimizer.learning_rate) == pytest.approx(0.0, abs=1e-12)
    assert "with cosine decay to 0" in (out / "MODEL_CARD.md").read_text()
    assert "--clip-norm 5" in (out / "MODEL_CARD.md").read_text()

    model = load_model(out)
    assert (model.joint_inhibition, model.mmd_weight, model.adversary_input) == (True, 10.0, "mean")
    config = json.loads((out / "config.json").read_text())
    assert config["model_kwargs"] == {
        "joint_inhibition": True,
        "mmd_weight": 10,
        "adversary_input": "mean",
    }
    # gvae evaluate measures attribute control on the run's own dataset.
    assert (
        main(
            [
                "evaluate",
                str(out),
                "--metrics",
                "attributes",
                "--num-train",
                "200",
                "--num-test",
                "100",
                "--out",
                str(tmp_path / "eval"),
            ]
        )
        == 0
    )
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())["metrics"]
    for name in ("is_heart", "large"):
        assert {
            f"attributes/{name}/{key}"
            for key in (
                "head_accuracy",
                "unit_accuracy",
                "leakage_accuracy",
                "leakage_stderr",
                "majority_rate",
                "judge_accuracy",
                "control_rate",
            )
        } <= set(metrics)
        assert 0.0 <= metrics[f"attributes/{name}/control_rate"] <= 1.0
    capsys.readouterr()
    # Unknown and reserved names are refused before anything is written.
    assert main(["train", *TINY, "--model-arg", "nope=1", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "unknown model arguments ['nope']" in err and "sub_weight" in err
    assert main(["train", *TINY, "--model-arg", "latent_dim=3", "--out", str(tmp_path / "y")]) == 2
    assert "--latent-dim" in capsys.readouterr().err
    assert main(["train", *TINY, "--clip-norm", "0", "--out", str(tmp_path / "z")]) == 2
    assert "--clip-norm 0.0: expected a finite number above 0" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "--lr-schedule", "linear"])
    assert "invalid choice: 'linear'" in capsys.readouterr().err
    assert not any((tmp_path / name).exists() for name in "xyz")
    with pytest.raises(SystemExit):
        main(["train", "--model-arg", "no-equals-sign"])
    assert "expected NAME=VALUE" in capsys.readouterr().err
