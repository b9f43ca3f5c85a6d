import argparse

import numpy as np
import pytest
import tensorflow as tf

from keras_gvae import VAE
from keras_gvae.cli import export as export_cli
from keras_gvae.cli import main as cli_main
from tests.export.tiny_models import shape_images


@pytest.fixture
def gvae(monkeypatch):
    """``gvae`` with the export command registered (main.py's registry is the lead's)."""
    monkeypatch.setitem(cli_main.COMMANDS, "export", "keras_gvae.cli.export")
    return cli_main.main


def parse(*argv):
    parser = argparse.ArgumentParser()
    export_cli.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_export_command_writes_and_reports_every_file(tmp_path, gvae, capsys):
    model = VAE(input_shape=(32, 32, 1), latent_dim=4)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    model.save(run_dir / "model.keras")
    np.save(tmp_path / "images.npy", shape_images(32, 32))
    code = gvae(
        [
            "export",
            str(run_dir),
            "--saved-model",
            str(tmp_path / "serving"),
            "--version",
            "2",
            "--tflite",
            str(tmp_path / "decoder.tflite"),
            "--tflite-encoder",
            str(tmp_path / "encoder.tflite"),
            "--quantize",
            "float16",
            "--images",
            str(tmp_path / "images.npy"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"wrote SavedModel {tmp_path / 'serving' / '2'}" in out
    assert "signatures: serving_default, reconstruct, encode, decode, traverse, metadata" in out
    for name in ("decoder.tflite", "encoder.tflite"):
        assert (tmp_path / name).is_file()
        assert str(tmp_path / name) in out
    assert "size KB" in out and "max abs error" in out
    assert out.count("float16") == 2
    decode = tf.saved_model.load(str(tmp_path / "serving" / "2")).signatures["decode"]
    z = np.zeros((1, 4), "float32")
    np.testing.assert_allclose(
        decode(z=tf.constant(z))["image"].numpy(), model.decode(z).numpy(), atol=1e-5
    )


@pytest.mark.parametrize(
    "argv, message",
    [
        (["export", "{tmp}/missing.keras", "--tflite", "{tmp}/d.tflite"], "no such file"),
        (["export", "{tmp}", "--tflite", "{tmp}/d.tflite"], "directory without model.keras"),
        (
            ["export", "{tmp}/m.keras", "--tflite", "{tmp}/d.tflite", "--quantize", "int4"],
            "unknown --quantize 'int4'; choose one of none, dynamic, float16, int8",
        ),
        (["export", "{tmp}/m.keras"], "nothing to export"),
        (
            ["export", "{tmp}/m.keras", "--tflite-encoder", "{tmp}/e.tflite", "--quantize", "int8"],
            "needs --images",
        ),
        (
            ["export", "{tmp}/m.keras", "--tflite-sub", "{tmp}/s.tflite", "--quantize", "int8"],
            "not offered for --tflite-sub",
        ),
    ],
)
def test_errors_exit_with_code_2_and_a_clear_message(tmp_path, gvae, capsys, argv, message):
    code = gvae([a.format(tmp=tmp_path) for a in argv])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("gvae export: error:") and message in err
    assert not list(tmp_path.glob("*.tflite"))


def test_run_raises_value_error_for_a_model_without_sub_decoder(tmp_path):
    VAE(input_shape=(32, 32, 1), latent_dim=4).save(tmp_path / "m.keras")
    args = parse(str(tmp_path / "m.keras"), "--tflite-sub", str(tmp_path / "s.tflite"))
    with pytest.raises(ValueError, match="VAE has no sub-decoder"):
        export_cli.run(args)
    assert export_cli.HELP
