import contextlib
import io
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


@pytest.fixture(autouse=True)
def _seed_everything():
    """conftest's seeding, without its per-test ``keras.backend.clear_session()``: most tests
    here read the files of a few module-scoped runs, and its garbage collection costs about
    0.7 s a test; the session is cleared once, after the module (below)."""
    import keras

    keras.utils.set_random_seed(1234)


@pytest.fixture(autouse=True, scope="module")
def _clear_session_after_the_module():
    yield
    import keras

    keras.backend.clear_session()


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "guided"
    assert (
        main(["train", *TINY, "--latent-dim", "7", "--eval-images", "16", "--out", str(out)]) == 0
    )
    return out


def test_train_writes_exactly_the_run_files(run_dir):
    assert {p.name for p in run_dir.iterdir()} == RUN_FILES


def test_metrics_hold_each_loss_term_of_the_last_epoch_and_finite_evaluations(run_dir):
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert set(metrics["final_epoch"]) == {
        "loss",
        "reconstruction",
        "kl",
        "sub_reconstruction",
        "orthogonality",
    }
    assert all(np.isfinite(v) for v in metrics["evaluation"].values())


def test_history_is_a_csv_with_one_row_an_epoch(run_dir):
    assert (run_dir / "history.csv").read_text().splitlines()[0].startswith("epoch,")


def test_traversal_shows_both_decoders_with_a_row_a_latent_unit(run_dir):
    traversal = Image.open(run_dir / "traversal.png")
    # Two panels (main and sub decoder), 7 rows of 64-pixel tiles.
    assert traversal.width > 2 * 9 * 64 and traversal.height >= 7 * 64


def test_config_records_the_model_and_the_typed_latent_dim(run_dir):
    config = json.loads((run_dir / "config.json").read_text())
    assert config["model"] == "guided" and config["latent_dim"] == 7


def test_model_card_states_the_command_and_a_metrics_table(run_dir):
    card = (run_dir / "MODEL_CARD.md").read_text()
    assert "gvae train --epochs 1 --steps-per-epoch 2" in card and "| reconstruction |" in card


def test_a_finished_run_leaves_no_partial_directory(run_dir):
    assert not list(run_dir.parent.glob(".*partial*"))


@pytest.fixture(scope="module")
def slim_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("slim") / "slim"
    args = ["train", *TINY, "--latent-dim", "7", "--eval-images", "8", "--slim", "--export"]
    assert main([*args, "--out", str(out)]) == 0
    return out


def test_export_writes_a_saved_model_and_a_tflite_decoder_into_the_run(slim_run):
    assert {"saved_model", "decoder.tflite"} <= {p.name for p in slim_run.iterdir()}
    assert (slim_run / "saved_model" / "1" / "saved_model.pb").is_file()


def test_a_slim_run_saves_the_model_without_its_optimizer(slim_run):
    from keras_gvae.saving import load_model

    model = load_model(slim_run, compile=False)
    assert getattr(model, "optimizer", None) is None


def test_the_model_card_of_an_export_states_the_tflite_error(slim_run):
    assert "TFLite decoder: max abs error" in (slim_run / "MODEL_CARD.md").read_text()


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


def test_a_count_that_is_not_a_number_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--epochs", "zero"])
    assert "expected a positive integer" in capsys.readouterr().err


@pytest.mark.parametrize("content", [b"", b"not a zip at all", "truncated"])
def test_an_unreadable_or_corrupt_model_file_is_named_as_such(tmp_path, run_dir, capsys, content):
    path = tmp_path / "m.keras"
    if content == "truncated":
        data = (run_dir / "model.keras").read_bytes()
        path.write_bytes(data[: len(data) // 2])
    else:
        path.write_bytes(content)
    assert main(["traverse", str(path), "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "corrupt or truncated" in err


def test_a_missing_model_path_is_named_as_missing(tmp_path, capsys):
    assert main(["traverse", str(tmp_path / "missing.keras"), "--out", "x.png"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_a_zip_without_a_config_is_rejected(tmp_path, capsys):
    path = tmp_path / "empty.keras"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("hello.txt", "hi")
    assert main(["traverse", str(path), "--out", str(tmp_path / "x.png")]) == 2
    assert "must contain config.json" in capsys.readouterr().err


@pytest.fixture(scope="module")
def evaluation(run_dir, tmp_path_factory):
    """``(out, printed)``: ``gvae evaluate`` of the run into another folder, and what it
    printed."""
    out = tmp_path_factory.mktemp("evaluations") / "eval"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
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
    return out, printed.getvalue()


def test_evaluate_prints_the_metrics(evaluation):
    _, printed = evaluation
    assert "disentanglement/mig" in printed


def test_evaluate_writes_metrics_in_their_range(evaluation):
    out, _ = evaluation
    metrics = json.loads((out / "metrics.json").read_text())["metrics"]
    assert 0.0 <= metrics["disentanglement/mig"] <= 1.0
    assert 0.0 <= metrics["probes/shape/linear"] <= 1.0


def test_evaluate_draws_the_mi_matrix(evaluation):
    out, _ = evaluation
    assert Image.open(out / "mi_matrix.png").size[0] > 100


def test_evaluating_into_another_folder_leaves_the_model_card_alone(run_dir, evaluation):
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


# Term objects as a model argument: their serialized form, as JSON.
INHIBITION = [
    {"class_name": "keras_gvae>AdversarialInhibition", "config": {"input": "mean"}},
    {"class_name": "keras_gvae>MMDInhibition", "config": {"weight": 10}},
]


@pytest.fixture(scope="module")
def supervised_run(tmp_path_factory):
    """A supervised run with model arguments, a clip norm and a cosine schedule."""
    out = tmp_path_factory.mktemp("supervised") / "sup"
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
        "inhibition=" + json.dumps(INHIBITION),
        "--clip-norm",
        "5",
        "--lr-schedule",
        "cosine",
    ]
    assert main([*args, "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def supervised_model(supervised_run):
    """The supervised run's model.keras, loaded with its three optimizers."""
    from keras_gvae.saving import load_model

    return load_model(supervised_run / "model.keras")


def optimizers_of(model):
    return (model.optimizer, model.adversary_optimizer, model.inhibition_optimizer)


def test_the_clip_norm_reaches_all_three_optimizers_and_survives_the_round_trip(
    supervised_run, supervised_model
):
    assert [o.global_clipnorm for o in optimizers_of(supervised_model)] == [5.0, 5.0, 5.0]
    assert "clipped to global norm 5.0" in (supervised_run / "MODEL_CARD.md").read_text()


def test_the_cosine_schedule_decays_each_optimizer_to_zero_over_the_run(
    supervised_run, supervised_model
):
    # Over the run's 1 x 2 steps, ending at a rate of 0.
    for optimizer in optimizers_of(supervised_model):
        assert optimizer.get_config()["learning_rate"]["config"]["decay_steps"] == 2
        assert int(optimizer.iterations) == 2
        assert float(optimizer.learning_rate) == pytest.approx(0.0, abs=1e-12)
    assert "with cosine decay to 0" in (supervised_run / "MODEL_CARD.md").read_text()


def test_the_model_card_repeats_the_clip_norm_flag(supervised_run):
    assert "--clip-norm 5" in (supervised_run / "MODEL_CARD.md").read_text()


def test_model_arguments_reach_the_model_and_its_config(supervised_run, supervised_model):
    model = supervised_model
    assert (model.joint_inhibition, model.mmd.weight, model.adversarial.input) == (
        True,
        10.0,
        "mean",
    )
    config = json.loads((supervised_run / "config.json").read_text())
    assert config["model_kwargs"] == {"joint_inhibition": True, "inhibition": INHIBITION}


def test_evaluate_measures_attribute_control_on_the_runs_own_dataset(supervised_run, tmp_path):
    assert (
        main(
            [
                "evaluate",
                str(supervised_run),
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


# Bad model arguments and training settings are refused before anything is written.
def test_an_unknown_model_argument_is_refused_naming_the_known_ones(tmp_path, capsys):
    assert main(["train", *TINY, "--model-arg", "nope=1", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "unknown model arguments ['nope']" in err and "sub_weight" in err
    assert not (tmp_path / "x").exists()


def test_a_model_argument_that_has_its_own_flag_is_refused_naming_the_flag(tmp_path, capsys):
    assert main(["train", *TINY, "--model-arg", "latent_dim=3", "--out", str(tmp_path / "y")]) == 2
    assert "--latent-dim" in capsys.readouterr().err
    assert not (tmp_path / "y").exists()


def test_a_clip_norm_of_zero_is_refused(tmp_path, capsys):
    assert main(["train", *TINY, "--clip-norm", "0", "--out", str(tmp_path / "z")]) == 2
    assert "--clip-norm 0.0: expected a finite number above 0" in capsys.readouterr().err
    assert not (tmp_path / "z").exists()


def test_an_unknown_lr_schedule_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--lr-schedule", "linear"])
    assert "invalid choice: 'linear'" in capsys.readouterr().err


def test_a_model_argument_without_an_equals_sign_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--model-arg", "no-equals-sign"])
    assert "expected NAME=VALUE" in capsys.readouterr().err
