"""Each experiment script in examples/ runs end to end at toy sizes and writes its outputs."""

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
TOY = ["--seeds", "0", "--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "8"]


def load_example(name):
    sys.path.insert(0, str(EXAMPLES))
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def outputs(out, name):
    assert (out / f"{name}.md").read_text().startswith("# ")
    return json.loads((out / f"{name}.json").read_text())


@pytest.mark.slow
def test_shapes_disentanglement_writes_table_json_and_figures(tmp_path):
    script = load_example("shapes_disentanglement")
    script.main(
        [*TOY, "--protocol", "smoke", "--models", "VAE", "GuidedVAE", "--out", str(tmp_path)]
    )
    runs = outputs(tmp_path, "shapes_disentanglement")["runs"]
    assert [r["label"] for r in runs] == ["VAE", "GuidedVAE"]
    for run in runs:
        for key in (
            "metrics/mig",
            "metrics/factor_vae/eval_accuracy",
            "metrics/dci/disentanglement",
            "heldout/reconstruction",
            "mig_factor/pos_x",
        ):
            assert np.isfinite(run[key])
    assert runs[1]["preset"] == "guided-shapes"
    assert {p.name for p in tmp_path.glob("mi_matrix_*.png")} == {
        "mi_matrix_vae.png",
        "mi_matrix_guidedvae.png",
    }
    table = (tmp_path / "shapes_disentanglement.md").read_text()
    assert "| GuidedVAE | 1 |" in table and "MIG pos_x" in table


def test_summary_table_is_mean_and_sample_std():
    load_example("shapes_disentanglement")  # puts examples/ on the path
    from common import mean_std, summary_table

    rows = [{"label": "a", "x": 1.0}, {"label": "a", "x": 3.0}, {"label": "b", "x": 2.0}]
    assert mean_std(rows[:2], "x") == (2.0, pytest.approx(np.sqrt(2.0)))
    table = summary_table(rows, [("x", "x", 1)])
    assert "| a | 2 | 2.0 ± 1.4 |" in table and "| b | 1 | 2.0 ± 0.0 |" in table


def test_warp_probe_finds_a_unit_that_is_the_angle():
    """Spearman's |rho| is 1 for a code that is a monotone function of the applied angle."""
    script = load_example("mnist_geometry")
    angles = np.linspace(-45, 45, 50)
    codes = np.stack([np.tanh(angles / 30), np.random.default_rng(0).normal(size=50)], 1)
    rho = script.spearman(angles, codes)
    assert rho[0] == pytest.approx(1.0) and rho[1] < 0.4


def test_warp_rotates_a_digit_like_np_rot90():
    script = load_example("mnist_geometry")
    image = np.zeros((1, 28, 28, 1), np.float32)
    image[0, 3:10, 5:8] = 1.0
    turned = script.warp(image, angle=np.array([np.pi / 2]))
    np.testing.assert_allclose(turned[0, :, :, 0], np.rot90(image[0, :, :, 0]), atol=1e-5)


@pytest.mark.slow
def test_mnist_examples_run(tmp_path, shared_data):
    mnist = str(shared_data / "mnist")
    load_example("mnist_geometry").main(
        [
            "--data-dir",
            mnist,
            *TOY,
            "--test-digits",
            "64",
            "--walk-digits",
            "8",
            "--knn-train",
            "500",
            "--out",
            str(tmp_path / "g"),
        ]
    )
    run = outputs(tmp_path / "g", "mnist_geometry")["runs"][0]
    assert len(run["rho_angle"]) == 10 and run["units"][2] == "z2 (angle)"
    walk = run["traversal"]["walks"]["prior"]
    assert walk["z2 (angle)"]["verdict"]["feature"] == "angle" and walk["z9"]["verdict"] is None
    assert 0 <= walk["z3 (translate_x)"]["main"]["identity_frames"] <= 1
    assert (tmp_path / "g" / "traversal.png").is_file()
    ceiling = run["orientation_ceiling"]
    assert ceiling["all"]["n"] == 64 and 0 <= ceiling["per_digit_median"] <= 1
    load_example("classification_from_latents").main(
        [
            "--data-dir",
            mnist,
            *TOY,
            "--train-codes",
            "200",
            "--test-codes",
            "100",
            "--out",
            str(tmp_path / "c"),
        ]
    )
    runs = outputs(tmp_path / "c", "classification_from_latents")["runs"]
    labels = ["raw pixels (784)", "VAE", "GuidedVAE", "GuidedVAE (content units)"]
    assert [r["label"] for r in runs] == labels
    assert all(0 <= r["knn_error"] <= 1 and 0 <= r["knn_error_standardized"] <= 1 for r in runs)


@pytest.mark.slow
def test_few_shot_omniglot_runs(tmp_path, shared_data):
    load_example("few_shot_omniglot").main(
        ["--data-dir", str(shared_data / "omniglot"), *TOY, "--out", str(tmp_path)]
    )
    runs = outputs(tmp_path, "few_shot_omniglot")["runs"]
    assert [r["label"] for r in runs] == ["raw pixels", "VAE", "GuidedVAE"]
    low, high = runs[0]["interval95"]
    assert low <= runs[0]["error_rate"] <= high


@pytest.mark.slow
def test_real_dsprites_codes_match_the_renderer(tmp_path, shared_data):
    model = Path(__file__).resolve().parents[1] / "saved_models" / "guided_shapes"
    load_example("real_dsprites").main(
        [str(model), "--data-dir", str(shared_data / "dsprites_sample"), "--out", str(tmp_path)]
    )
    result = outputs(tmp_path, "real_dsprites")
    # The renderer differs from real dSprites by a handful of pixels, so the codes agree.
    assert result["pixels_differing"] < 20 and result["max_code_difference"] < 0.5
    assert {r["factor"] for r in result["factors"]} >= {"scale", "pos_x", "pos_y"}


ATTRIBUTE_FIELDS = (
    "unit_accuracy",
    "leakage_accuracy",
    "majority_rate",
    "control_rate",
    "head_accuracy",
    "judge_accuracy",
)


def check_supervised_run(run, out):
    for attribute in run["attributes"]:
        for field in ATTRIBUTE_FIELDS:
            assert 0.0 <= run[f"{attribute}/{field}"] <= 1.0, (attribute, field)
        assert run[f"{attribute}/leak_excess"] == pytest.approx(
            run[f"{attribute}/leakage_accuracy"] - run[f"{attribute}/majority_rate"]
        )
        met = [run[f"{attribute}/meets_{t}"] for t in ("excitation", "leak", "control")]
        assert all(isinstance(m, bool) for m in met) and run[f"{attribute}/meets_all"] == all(met)
    from PIL import Image

    with Image.open(out / run["figure"]) as image:
        assert image.format == "PNG" and image.width > 2 * image.height > 0  # a panel per unit
        image.verify()


TOY_SUPERVISED = [*TOY, "--protocol", "smoke"]


@pytest.mark.slow
def test_supervised_attributes_on_the_shapes(tmp_path):
    load_example("supervised_attributes").main(
        [*TOY_SUPERVISED, "--experiments", "position", "--out", str(tmp_path)]
    )
    result = outputs(tmp_path, "supervised_attributes")
    (run,) = result["runs"]
    assert run["label"] == "position" and run["attributes"] == ["right_half", "bottom_half"]
    assert (run["num_fit"], run["num_test"], run["latent_dim"], run["beta"]) == (200, 100, 4, 8.0)
    mmd = run["model_kwargs/inhibition"][1]
    assert mmd["class_name"] == "keras_gvae>MMDInhibition" and mmd["config"]["unbiased"] is True
    assert run["lr_schedule"] == "cosine"
    check_supervised_run(run, tmp_path)
    assert run["figure"] == "sweep_position.png"
    table = (tmp_path / "supervised_attributes.md").read_text()
    assert "| position | right_half | 1 |" in table and "| position | bottom_half | 1 |" in table
    assert "control (≥ 0.90)" in table and "CelebA" not in table


@pytest.mark.slow
@pytest.mark.shared_data
def test_supervised_attributes_on_the_celeba_sample(tmp_path, shared_data):
    load_example("supervised_attributes").main(
        [
            *TOY_SUPERVISED,
            "--experiments",
            "celeba",
            "--celeba-dir",
            str(shared_data / "celeba_sample"),
            "--out",
            str(tmp_path),
        ]
    )
    (run,) = outputs(tmp_path, "supervised_attributes")["runs"]
    assert run["attributes"] == ["Smiling", "Male"]
    assert (run["num_fit"], run["num_test"]) == (160, 40)
    check_supervised_run(run, tmp_path)
    assert all(0.0 <= run[f"{a}/judge_test_accuracy"] <= 1.0 for a in run["attributes"])
    assert "far too few" in (tmp_path / "supervised_attributes.md").read_text()


def test_supervised_attributes_skips_an_absent_celeba_sample(tmp_path, capsys):
    load_example("supervised_attributes").main(
        [
            "--experiments",
            "celeba",
            "--celeba-dir",
            str(tmp_path / "nowhere"),
            "--out",
            str(tmp_path),
        ]
    )
    assert "skipping celeba: the CelebA sample folder" in capsys.readouterr().out
    result = outputs(tmp_path, "supervised_attributes")
    assert result["runs"] == [] and "nowhere" in result["skipped"]["celeba"]
    assert "Skipped celeba" in (tmp_path / "supervised_attributes.md").read_text()


def test_supervised_attributes_rejects_an_unknown_experiment():
    script = load_example("supervised_attributes")
    with pytest.raises(SystemExit) as exit_info:
        script.parse_args(["--experiments", "position", "smiles"])
    message = str(exit_info.value)
    assert "\n" not in message and "'smiles'" in message
    assert all(name in message for name in ("position", "shape+size", "celeba"))


def test_moment_orientation_reads_a_known_turn_of_a_bar():
    """The pixel-moment orientation is the ceiling's yardstick: a vertical bar reads 0, the
    same bar turned by warp() reads the turn, and a bar drawn leaning right is negative."""
    geometry = load_example("mnist_geometry")
    bar = np.zeros((1, 28, 28, 1), np.float32)
    bar[0, 4:24, 13:15, 0] = 1.0
    assert abs(geometry.moment_orientation(bar)[0]) < 1e-9
    for degrees in (20.0, -30.0):
        turned = geometry.warp(bar, angle=np.radians([degrees]))
        assert geometry.moment_orientation(turned)[0] == pytest.approx(degrees, abs=0.5)
    lean = np.zeros((1, 28, 28, 1), np.float32)
    for y in range(4, 24):
        lean[0, y, int(round(14 + (14 - y) * 0.3)), 0] = 1.0
    assert geometry.moment_orientation(lean)[0] == pytest.approx(
        -np.degrees(np.arctan(0.3)), abs=1.5
    )


@pytest.mark.slow
def test_budget_curves_measure_along_one_run_resume_and_leave_training_unchanged(tmp_path):
    """Milestones 1x and 2x of one run; extending the run resumes its backup and keeps the
    1x measurement; the measurements do not change the training (the final weights equal a
    plain fit of the same settings)."""
    import keras

    script = load_example("budget_curves")
    from common import train_model

    tiny = ["--unit-epochs", "1", "--steps-per-epoch", "2", "--batch-size", "8"]
    sizes = ["--shape-images", "12", "--mig-points", "200", "--seeds", "0"]
    common_args = [*tiny, *sizes, "--models", "GuidedVAE (guided-shapes)", "--out", str(tmp_path)]
    script.main([*common_args, "--milestones", "1", "--max-multiple", "1"])
    first = outputs(tmp_path, "budget_curves")["rows"]
    assert [r["multiple"] for r in first] == [1]
    script.main([*common_args, "--milestones", "1", "2", "--max-multiple", "2"])
    rows = outputs(tmp_path, "budget_curves")["rows"]
    assert [(r["multiple"], r["images"]) for r in rows] == [(1, 16), (2, 32)]
    assert rows[0]["mig"] == first[0]["mig"]  # kept, not measured again
    for row in rows:
        assert 0.0 <= row["shape_check/right_shape"] <= 1.0
        assert np.isfinite(row["heldout/reconstruction"]) and np.isfinite(row["mig"])
    assert (tmp_path / "budget_curves.png").stat().st_size > 0

    spec = next(s for s in script.SPECS if s.label == "GuidedVAE (guided-shapes)")
    config = spec.config(0, epochs=2, steps_per_epoch=2, batch_size=8, learning_rate=1e-3)
    plain, _ = train_model(config)
    run_dir = tmp_path / "runs" / f"{script.slug(spec.label)}-s0"
    backups = sorted((run_dir / "backup").glob("step-*.weights.h5"))
    assert backups[-1].name == "step-000000004.weights.h5"
    resumed = keras.models.clone_model(plain)
    resumed.compile(optimizer="adam")
    resumed.optimizer.build(resumed.trainable_variables)
    resumed.load_weights(backups[-1])
    for a, b in zip(plain.weights, resumed.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)


def test_every_budget_curves_spec_builds_the_model_it_names():
    # A spec's settings reach the model (a misspelt argument would fail only after the
    # 40-minute run that uses it): the class, latent_dim, beta and every plain model argument.
    from keras_gvae.training import build_model

    script = load_example("budget_curves")
    for spec in script.SPECS:
        config = spec.config(0)
        model = build_model(config, (64, 64, 1))
        assert model.latent_dim == (spec.latent_dim or 10), spec.label
        if spec.beta is not None:
            assert model.beta == spec.beta, spec.label
        model_config = model.get_config()
        for key, value in spec.model_kwargs.items():
            if not isinstance(value, dict):  # a serialized Ramp is compared as its object
                expected = list(value) if isinstance(value, list | tuple) else value
                got = model_config[key]
                assert (list(got) if isinstance(got, list | tuple) else got) == expected, (
                    spec.label,
                    key,
                )
