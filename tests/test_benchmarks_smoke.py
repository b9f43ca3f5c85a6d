"""The benchmark scripts' ``main`` runs end to end with minimal sizes (no timing asserts)."""

import json
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import load_benchmark as load_script


@pytest.mark.slow
def test_pipeline_vs_training_runs(tmp_path):
    script = load_script("pipeline_vs_training")
    out = tmp_path / "pipeline.md"
    text = script.main(
        [
            "--datasets",
            "shapes",
            "--batches",
            "2",
            "--warmup",
            "1",
            "--steps",
            "2",
            "--warmup-steps",
            "1",
            "--memory-batches",
            "1",
            "--repeats",
            "1",
            "--output",
            str(out),
        ]
    )
    assert out.read_text() == text
    (row,) = table_rows(text)[1:]  # under the header
    assert row[:2] == ["shapes (train)", "64x64x1"]  # one row per dataset asked for
    pipeline, training, ratio = number(row[3]), number(row[4]), number(row[5])
    assert pipeline > 0 and training > 0
    assert ratio == pytest.approx(pipeline / training, rel=0.02, abs=0.06)


@pytest.mark.slow
def test_evaluation_protocol_runs(tmp_path):
    script = load_script("evaluation_protocol")
    out = tmp_path / "protocol.md"
    text = script.main(
        [
            "--epochs",
            "1",
            "--steps-per-epoch",
            "1",
            "--metrics",
            "mig,sap,factor_vae",
            "--num-train",
            "128",
            "--num-test",
            "32",
            "--num-eval",
            "4",
            "--num-variance-estimate",
            "64",
            "--no-what-if",
            "--output",
            str(out),
        ]
    )
    assert out.read_text() == text
    walls = {r[0]: number(r[1]) for r in table_rows(text) if r[0] in CALLS}
    # The full call and each metric asked for are timed; the sum row adds the metrics up.
    assert set(walls) == set(CALLS) and walls["**all**"] > 0
    alone = [walls[m] for m in ("mig", "sap", "factor_vae")]
    assert walls["sum"] == pytest.approx(sum(alone), abs=0.21)  # 4 roundings


CALLS = ("**all**", "mig", "sap", "factor_vae", "sum")


def table_rows(text):
    """The cells of every Markdown table row of ``text`` but the header separators."""
    rows = [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in text.splitlines()
        if line.startswith("|")
    ]
    return [r for r in rows if not all(set(c) <= set("-:") for c in r)]


def number(cell):
    """A table cell's number: ``**12.5x**`` -> 12.5, ``1,234`` -> 1234.0."""
    return float(cell.strip("*x ").replace(",", ""))


def test_two_worker_makespan():
    makespan = load_script("evaluation_protocol").two_worker_makespan
    assert makespan([4.0, 3.0, 3.0]) == 6.0
    assert makespan([5.0]) == 5.0
    assert makespan([]) == 0.0


@pytest.mark.slow
def test_supervised_attribute_control_runs(tmp_path):
    script = load_script("supervised_attribute_control")
    out = tmp_path / "control.md"
    row = script.main(
        [
            "--steps",
            "2",
            "--eval-images",
            "1000",
            "--config",
            '{"inhibition": [{"class_name": "keras_gvae>AdversarialInhibition", "config": {}},'
            ' {"class_name": "keras_gvae>MMDInhibition", "config": {"weight": 1.0}}]}',
            "--output",
            str(out),
        ]
    )
    text = out.read_text()
    assert text.startswith("# Supervised Guided-VAE") and text.rstrip().endswith(row)
    assert (
        "| shapes_binary_upright | is_heart,large | 2 | 0.001 | inhibition=["
        "AdversarialInhibition(weight=200.0, input='sample', steps=1, hidden_units=[32, 32]), "
        "MMDInhibition(weight=1.0, standardize=False, unbiased=False)] |"
    ) in row
    saved = tmp_path / "m.keras"
    row = script.main(
        [
            "--steps",
            "1",
            "--eval-images",
            "1000",
            "--output",
            str(out),
            "--save",
            str(saved),
            "--seed",
            "3",
            "--config",
            '{"latent_dim": 4}',
        ]
    )
    assert len(out.read_text().strip().splitlines()) == len(text.strip().splitlines()) + 1
    assert "| seed=3, latent_dim=4 |" in row and "(majority 0." in row
    from keras_gvae.saving import load_model

    assert load_model(saved, compile=False).latent_dim == 4


@pytest.mark.slow
def test_training_step_runs(tmp_path, capsys):
    pytest.importorskip(
        "torch", reason="the PyTorch reference needs torch (pip install torch==2.13.0)"
    )
    import json

    script = load_script("training_step")
    out = tmp_path / "training_step.md"
    text = script.main(["--smoke", "--shapes", "28x28x1", "--output", str(out)])
    assert out.read_text() == text
    for kind in ("vae", "guided", "supervised"):
        assert f"| {kind} | 28x28x1 |" in text
    records = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")
    ]
    rates = [r for r in records if r["figure"] == "images_per_second"]
    # 3 models x (Keras float32, Keras mixed_bfloat16, PyTorch float32), every loss finite.
    assert len(rates) == 9 and all(r["value"] > 0 and np.isfinite(r["final_loss"]) for r in rates)
    assert {r["figure"] for r in records} >= {
        "matmul_peak_gflops",
        "keras_over_torch",
        "guidance_overhead",
        "bfloat16_speedup",
    }
    # The analytic count of the 28x28 VAE step (batch 4): ~320 MFLOP per image, as issue #16
    # estimated by hand; the supervised step counts two encoder/decoder passes.
    per_image = {r["model"]: r["gflops_per_step_analytic"] / 4 for r in rates}
    assert 0.30 < per_image["vae"] < 0.34
    assert per_image["supervised"] == pytest.approx(2 * per_image["vae"])


def test_profile_step_names_the_parts_of_a_guided_step(tmp_path):
    """The trace summary finds the convolutions of the encoder and decoder, forward and
    backward, and the sub-decoder's warp, and the table is written."""
    script = load_script("profile_step")
    out = tmp_path / "profile.md"
    (case,) = script.main(["--smoke", "--models", "guided", "--output", str(out)])
    parts = case["parts"]
    for part in ("encoder (forward)", "encoder (backward)", "decoder (backward)"):
        assert parts[part] > 0
    assert "guidance_decoder (forward)" in parts
    assert any(t.startswith("_MklNative") or "Conv2D" in t for t in case["types"])
    assert sum(parts.values()) == pytest.approx(case["op_ms_per_step"], rel=1e-6)
    assert "### guided, 16x16x1" in out.read_text()


def test_profile_step_part_of_reads_scopes_and_directions():
    part_of = load_script("profile_step").part_of
    assert part_of("gradient_tape/encoder_1/conv_3_1/convolution/X:Conv2D") == (
        "encoder",
        "backward",
    )
    assert part_of("guidance_decoder_1/warp_1/mul:Mul") == ("guidance_decoder", "forward")
    assert part_of("adam/Sqrt_9:Sqrt") == ("optimizer", "forward")
    assert part_of("z_mean_1/MatMul:MatMul") == ("posterior heads", "forward")


def test_warp_variants_agree_and_are_timed(tmp_path):
    """The three reads compute the same warp (the script asserts it) and get a time each."""
    out = tmp_path / "warp.md"
    rows = load_script("warp_variants").main(
        [
            "--shapes",
            "8x8x1,7x9x2",
            "--batch",
            "3",
            "--windows",
            "1",
            "--steps",
            "1",
            "--output",
            str(out),
        ]
    )
    assert [r["shape"] for r in rows] == ["8x8x1", "7x9x2"]
    assert all(set(r["ms"]) == {"layer", "masked", "one_gather"} for r in rows)
    assert "| 7x9x2 |" in out.read_text()


def test_factor_vae_breakdown_adds_up_to_the_library_score():
    """Same seed, same sizes: the breakdown's score is factor_vae_score's eval accuracy, and
    the per-factor shares weighted by their votes add up to it."""
    from keras_gvae.data.shapes import ShapesData
    from keras_gvae.evaluation import factor_vae_score

    script = load_script("factor_vae_per_factor")
    data = ShapesData()
    mix = np.random.default_rng(0).standard_normal((64 * 64, 6))

    def represent(x):  # a fixed random projection of the pixels
        return x.reshape(len(x), -1).astype(np.float64) @ mix

    sizes = {"num_train": 60, "num_eval": 40, "num_variance_estimate": 300, "batch_size": 16}
    score, shares, _, votes, _ = script.breakdown(data, represent, seed=3, **sizes)
    assert score == pytest.approx(
        factor_vae_score(data, represent, seed=3, **sizes)["eval_accuracy"]
    )
    assert np.nansum(shares * votes.sum(axis=1)) / votes.sum() == pytest.approx(score)


@pytest.mark.slow
def test_mig_vs_dlib_runs_without_dlib_and_its_ceiling_row_is_exact(tmp_path, capsys):
    model = Path(__file__).resolve().parents[1] / "saved_models/guided_shapes/model.keras"
    if not model.exists():
        pytest.skip("saved_models/guided_shapes is not in this checkout")
    script = load_script("mig_vs_dlib")
    out = tmp_path / "mig.json"
    script.main([str(model), "--points", "3000", "--extra-seeds", "0", "--json", str(out)])
    rows = {r["case"]: r for r in json.loads(out.read_text())["models"][0]["rows"]}
    for row in rows.values():
        assert row["mig"] == pytest.approx(np.mean(row["gaps"]))
    # A code equal to the factor's class index: 20 equal-width bins separate shape's 3 and
    # scale's 6 classes exactly (gap 1 less the other codes' small-sample MI), but merge
    # orientation's 40 and position's 32 classes (log 20 / log 40 = 0.81; 0.85).
    ceiling = rows["grid: codes = the factor classes (20-bin ceiling)"]["gaps"]
    assert min(ceiling[:2]) > 0.97
    assert all(0.7 < g < 0.9 for g in ceiling[2:])
