import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from keras_gvae import VAE
from keras_gvae.export import export_saved_model, read_metadata, saved_model, signature_names
from tests.export.tiny_models import shape_images

ATOL = 1e-5


def run(signature, **inputs):
    return {
        k: v.numpy() for k, v in signature(**{k: tf.constant(v) for k, v in inputs.items()}).items()
    }


def saved_model_cli():
    exe = Path(sys.executable).with_name("saved_model_cli")
    found = exe if exe.exists() else shutil.which("saved_model_cli")
    if not found:
        pytest.skip(f"saved_model_cli is not installed next to {sys.executable} nor on PATH")
    return str(found)


def test_every_signature_matches_the_keras_model(serving_model, serving_export, loaded_export):
    model, sigs = serving_model, loaded_export.signatures
    assert sorted(sigs) == sorted(signature_names(model))
    assert set(sigs) >= {
        "serving_default",
        "reconstruct",
        "encode",
        "decode",
        "traverse",
        "sub_decode",
        "attributes",
        "metadata",
    }
    x = shape_images(3, 64)
    z = np.random.default_rng(0).standard_normal((3, 10)).astype("float32")
    z_mean, z_log_var = (t.numpy() for t in model.encode(x))

    for name in ("serving_default", "reconstruct"):
        out = run(sigs[name], x=x)
        assert set(out) == {"reconstruction", "z_mean", "z_log_var"}
        np.testing.assert_allclose(out["reconstruction"], model(x).numpy(), atol=ATOL)
        np.testing.assert_allclose(out["z_mean"], z_mean, atol=ATOL)
        np.testing.assert_allclose(out["z_log_var"], z_log_var, atol=ATOL)
    out = run(sigs["encode"], x=x)
    assert set(out) == {"z_mean", "z_log_var"}
    np.testing.assert_allclose(out["z_mean"], z_mean, atol=ATOL)
    np.testing.assert_allclose(out["z_log_var"], z_log_var, atol=ATOL)

    out = run(sigs["decode"], z=z)
    assert set(out) == {"image"}
    np.testing.assert_allclose(out["image"], model.decode(z).numpy(), atol=ATOL)

    values = np.array([-2.0, 0.0, 1.5, 3.0], "float32")
    out = run(sigs["traverse"], z=z, unit=np.int32(4), values=values)
    expected = np.stack([model.traverse(z=code, units=[4], values=values)[0] for code in z])
    assert out["images"].shape == (3, 4, 64, 64, 1)
    np.testing.assert_allclose(out["images"], expected, atol=ATOL)

    out = run(sigs["sub_decode"], z=z)
    assert set(out) == {"image", "content", *model.parameter_names}
    np.testing.assert_allclose(out["image"], model.sub_decode(z).numpy(), atol=ATOL)
    np.testing.assert_allclose(out["content"], model.content(z).numpy(), atol=ATOL)
    for key, value in model.transform_parameters(z).items():
        np.testing.assert_allclose(out[key], value.numpy(), atol=ATOL)

    out = run(sigs["attributes"], z=z)
    assert out["probabilities"].shape == (3, 3)
    np.testing.assert_allclose(
        out["probabilities"], model.attribute_probabilities(z).numpy(), atol=ATOL
    )

    meta = run(sigs["metadata"])
    assert [a.decode() for a in meta["attributes"]] == list(model.attributes)
    assert [p.decode() for p in meta["parameter_names"]] == list(model.parameter_names)
    assert int(meta["latent_dim"]) == 10 and meta["image_shape"].tolist() == [64, 64, 1]
    assert meta["model_class"].decode() == "AttributeGuidedVAE"
    assert [s.decode() for s in meta["signatures"]] == signature_names(model)
    on_disk = read_metadata(serving_export)
    assert on_disk["attributes"] == list(model.attributes)
    assert on_disk == json.loads(json.dumps(saved_model.model_metadata(model)))


def test_signatures_take_a_dynamic_batch_of_float32(loaded_export):
    for name in ("decode", "sub_decode", "attributes"):
        spec = loaded_export.signatures[name].structured_input_signature[1]["z"]
        assert spec.shape.as_list() == [None, 10] and spec.dtype == tf.float32
    spec = loaded_export.signatures["encode"].structured_input_signature[1]["x"]
    assert spec.shape.as_list() == [None, 64, 64, 1] and spec.dtype == tf.float32
    traverse = loaded_export.signatures["traverse"].structured_input_signature[1]
    assert traverse["unit"].shape.rank == 0 and traverse["unit"].dtype == tf.int32
    assert traverse["values"].shape.as_list() == [None]
    for batch in (1, 5):
        assert run(loaded_export.signatures["decode"], z=np.zeros((batch, 10), "float32"))[
            "image"
        ].shape == (batch, 64, 64, 1)


BAD_INPUTS = [
    ("traverse", {"unit": np.int32(10)}, r"unit must be in \[0, latent_dim\)"),
    ("traverse", {"unit": np.int32(-1)}, r"unit must be in \[0, latent_dim\)"),
    ("traverse", {"values": np.array([0.0, np.inf], "float32")}, "values must be finite"),
    ("traverse", {"unit": np.array([1, 2], "int32")}, r"Shape of tensor unit \[2\]"),
    ("decode", {"z": np.full((1, 10), np.nan, "float32")}, "z must be finite"),
    ("decode", {"z": np.zeros((2, 9), "float32")}, r"Shape of tensor z \[2,9\] is not compatible"),
    ("sub_decode", {"z": np.full((1, 10), np.inf, "float32")}, "z must be finite"),
    ("encode", {"x": np.full((1, 64, 64, 1), 1.5, "float32")}, r"pixel values in \[0, 1\]"),
    ("reconstruct", {"x": np.full((1, 64, 64, 1), -0.1, "float32")}, r"pixel values in \[0, 1\]"),
    ("encode", {"x": np.full((1, 64, 64, 1), np.nan, "float32")}, "x must be finite"),
    ("encode", {"x": np.zeros((1, 32, 32, 1), "float32")}, "Shape of tensor x"),
]


@pytest.mark.parametrize("signature, bad, message", BAD_INPUTS)
def test_bad_inputs_are_rejected_by_the_signature(loaded_export, signature, bad, message):
    good = {
        "traverse": {
            "z": np.zeros((2, 10), "float32"),
            "unit": np.int32(0),
            "values": np.array([0.0, 1.0], "float32"),
        },
        "decode": {},
        "sub_decode": {},
        "encode": {},
        "reconstruct": {},
    }[signature]
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        run(loaded_export.signatures[signature], **{**good, **bad})


def test_gaussian_models_accept_any_finite_pixel_values(tmp_path):
    model = VAE(input_shape=(32, 32, 1), latent_dim=4, likelihood="gaussian")
    out = export_saved_model(model, tmp_path / "vae", version=3)
    assert out == tmp_path / "vae" / "3"
    sigs = tf.saved_model.load(str(out)).signatures
    assert "sub_decode" not in sigs and "attributes" not in sigs
    x = np.full((2, 32, 32, 1), 2.0, "float32")
    np.testing.assert_allclose(
        run(sigs["reconstruct"], x=x)["reconstruction"], model(x).numpy(), atol=ATOL
    )
    with pytest.raises(tf.errors.InvalidArgumentError, match="x must be finite"):
        run(sigs["encode"], x=np.full((1, 32, 32, 1), np.nan, "float32"))
    meta = run(sigs["metadata"])
    assert meta["attributes"].shape == (0,) and meta["likelihood"] == b"gaussian"

    # An existing version is kept unless overwrite=True; then it is replaced whole.
    (out / "marker").write_text("old")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        export_saved_model(model, tmp_path / "vae", version=3)
    assert (out / "marker").exists()
    export_saved_model(model, tmp_path / "vae", version=3, overwrite=True)
    assert not (out / "marker").exists() and (out / "saved_model.pb").exists()
    assert sorted(p.name for p in (tmp_path / "vae").iterdir()) == ["3"]


@pytest.mark.parametrize("version", [0, -1, "2", 1.0, True])
def test_version_must_be_a_positive_int(tmp_path, serving_model, version):
    with pytest.raises(ValueError, match="version must be a positive int"):
        export_saved_model(serving_model, tmp_path, version=version)


def test_a_failing_export_leaves_no_partial_directory(tmp_path, monkeypatch, serving_model):
    # Fails after the SavedModel is complete in the temporary directory (the last step).
    def fail(path, obj):
        raise OSError("disk full")

    monkeypatch.setattr(saved_model, "write_json", fail)
    base = tmp_path / "gvae"
    with pytest.raises(OSError, match="disk full"):
        export_saved_model(serving_model, base, version=1)
    assert not base.exists()  # nor the base folder it created


def test_saved_model_cli_shows_and_runs_the_signatures(serving_export, serving_model):
    cli = saved_model_cli()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    shown = subprocess.run(
        [cli, "show", "--all", "--dir", str(serving_export)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert shown.returncode == 0, shown.stderr[-2000:]
    for name in signature_names(serving_model):
        assert f"signature_def['{name}']" in shown.stdout
    assert "inputs['unit'] tensor_info:\n        dtype: DT_INT32\n        shape: ()" in shown.stdout
    assert "outputs['probabilities']" in shown.stdout

    # saved_model_cli of TF 2.21 only takes Python literals in --input_exprs (no np.*).
    z = "[" + ",".join(["[" + ",".join(["0.0"] * 10) + "]"] * 2) + "]"
    ran = subprocess.run(
        [
            cli,
            "run",
            "--dir",
            str(serving_export),
            "--tag_set",
            "serve",
            "--signature_def",
            "traverse",
            "--input_exprs",
            f"z={z};unit=10;values=[0.0,1.0]",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert ran.returncode != 0
    assert "keras_gvae: unit must be in [0, latent_dim) = [0, 10)" in ran.stderr


@pytest.mark.slow
def test_fresh_process_reload_with_tf_and_tfsmlayer(tmp_path, serving_export, serving_model):
    z = np.random.default_rng(3).standard_normal((4, 10)).astype("float32")
    np.save(tmp_path / "z.npy", z)
    code = textwrap.dedent(
        f"""
        import numpy as np, tensorflow as tf, keras
        z = np.load({str(tmp_path / "z.npy")!r})
        loaded = tf.saved_model.load({str(serving_export)!r})
        decoded = loaded.signatures["decode"](z=tf.constant(z))["image"].numpy()
        np.save({str(tmp_path / "tf.npy")!r}, decoded)
        layer = keras.layers.TFSMLayer({str(serving_export)!r}, call_endpoint="decode")
        np.save({str(tmp_path / "tfsm.npy")!r}, keras.ops.convert_to_numpy(layer(z)["image"]))
        sub = keras.layers.TFSMLayer({str(serving_export)!r}, call_endpoint="sub_decode")
        np.save({str(tmp_path / "sub.npy")!r}, keras.ops.convert_to_numpy(sub(z)["image"]))
        print("ok")
        """
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env
    )
    assert done.returncode == 0, done.stderr[-3000:]
    expected = serving_model.decode(z).numpy()
    np.testing.assert_allclose(np.load(tmp_path / "tf.npy"), expected, atol=ATOL)
    np.testing.assert_allclose(np.load(tmp_path / "tfsm.npy"), expected, atol=ATOL)
    np.testing.assert_allclose(
        np.load(tmp_path / "sub.npy"), serving_model.sub_decode(z).numpy(), atol=ATOL
    )
