import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from keras_gvae import VAE
from keras_gvae.export import (
    QUANTIZE_MODES,
    TFLITE_ERROR_BOUNDS,
    ExportVerificationError,
    export_tflite_decoder,
    export_tflite_encoder,
    load_interpreter,
)
from tests.export.tiny_models import shape_images
from tests.helpers import load_benchmark

pytest.importorskip(
    "ai_edge_litert", reason="the LiteRT interpreter (ai-edge-litert) runs .tflite files"
)


def tflite_ops(path):
    """The builtin ops of a .tflite file (listing them is a benchmark's job, not the library's)."""
    return load_benchmark("export_tflite").tflite_ops(path)


def litert_error(path, input_name, inputs, expected):
    """Max abs error of the .tflite file at ``path`` run by LiteRT, measured here (not the
    report)."""
    runner = load_interpreter(path).get_signature_runner("serving_default")
    got = runner(**{input_name: np.asarray(inputs, np.float32)})
    return max(float(np.max(np.abs(got[k] - v))) for k, v in expected.items())


@pytest.mark.parametrize("quantize", QUANTIZE_MODES)
def test_decoder_within_its_bound_in_every_mode(tmp_path, trained_vae, quantize):
    model = trained_vae
    images = shape_images(64, 32, seed=5)
    path = tmp_path / "decoder.tflite"
    report = export_tflite_decoder(model, path, quantize=quantize, representative_data=images)
    bound = TFLITE_ERROR_BOUNDS["decoder"][quantize]
    assert report.path == path and report.size_bytes == path.stat().st_size
    assert report.quantize == quantize and report.part == "decoder"
    assert report.error_bound == bound and 0 <= report.max_abs_error <= bound
    assert report.mean_abs_error <= report.max_abs_error
    assert report.inputs == ("z",) and report.outputs == ("image",)
    assert report.num_verified == 64 + 64
    ops = tflite_ops(path)
    assert not any(op.startswith("CUSTOM") for op in ops), ops
    # Independently: prior samples and encoded real images, through the file on disk.
    z = np.concatenate(
        [np.random.default_rng(9).standard_normal((16, 4)), model.encode(images[:16])[0].numpy()]
    ).astype("float32")
    assert litert_error(path, "z", z, {"image": model.decode(z).numpy()}) <= bound
    if quantize is None:
        assert report.max_abs_error <= 1e-5
    if quantize == "int8":
        assert "QUANTIZE" in ops and "DEQUANTIZE" in ops
    assert list(tmp_path.iterdir()) == [path]


@pytest.mark.parametrize("quantize", QUANTIZE_MODES)
def test_encoder_within_its_bound_in_every_mode(tmp_path, trained_vae, quantize):
    model = trained_vae
    images = shape_images(96, 32, seed=6)
    path = tmp_path / "encoder.tflite"
    report = export_tflite_encoder(model, path, quantize=quantize, representative_data=images[:64])
    bound = TFLITE_ERROR_BOUNDS["encoder"][quantize]
    assert report.part == "encoder" and report.max_abs_error <= bound
    assert report.inputs == ("x",) and report.outputs == ("z_log_var", "z_mean")
    z_mean, z_log_var = (t.numpy() for t in model.encode(images[64:]))
    assert litert_error(path, "x", images[64:], {"z_mean": z_mean, "z_log_var": z_log_var}) <= bound


def test_int8_encoder_needs_real_images(tmp_path, trained_vae):
    with pytest.raises(
        ValueError, match="int8 quantization of the encoder needs representative_data"
    ):
        export_tflite_encoder(trained_vae, tmp_path / "e.tflite", quantize="int8")
    with pytest.raises(ValueError, match=r"expected images shaped \(N, 32, 32, 1\)"):
        export_tflite_encoder(
            trained_vae,
            tmp_path / "e.tflite",
            quantize="int8",
            representative_data=np.zeros((4, 28, 28, 1)),
        )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("quantize", [None, "dynamic", "float16"])
def test_sub_decoder_converts_with_builtin_ops_only(tmp_path, trained_guided, quantize):
    model = trained_guided
    path = tmp_path / "sub.tflite"
    report = export_tflite_decoder(
        model,
        path,
        quantize=quantize,
        which="sub",
        representative_data=shape_images(32, 28),
    )
    assert report.part == "sub_decoder"
    assert report.max_abs_error <= TFLITE_ERROR_BOUNDS["sub_decoder"][quantize]
    # The bilinear warp: FLOOR, CAST and GATHER, all builtins (no Flex/SELECT_TF_OPS).
    ops = tflite_ops(path)
    assert {"FLOOR", "CAST", "GATHER"} <= set(ops)
    assert not any(op.startswith("CUSTOM") for op in ops), ops
    z = np.random.default_rng(4).standard_normal((8, 7)).astype("float32")
    assert litert_error(path, "z", z, {"image": model.sub_decode(z).numpy()}) <= report.error_bound


def test_guided_main_decoder_unquantized_matches(tmp_path, trained_guided):
    path = tmp_path / "d.tflite"
    report = export_tflite_decoder(trained_guided, path)
    assert report.max_abs_error <= 1e-5
    # The benchmark times the written file through the same LiteRT signature.
    assert load_benchmark("export_tflite").tflite_latency_ms(path, runs=3) > 0


def test_int8_sub_decoder_is_refused(tmp_path, trained_guided):
    with pytest.raises(ValueError, match="int8 is not offered for the 'sub' decoder"):
        export_tflite_decoder(trained_guided, tmp_path / "s.tflite", quantize="int8", which="sub")


def test_bad_arguments(tmp_path):
    model = VAE(input_shape=(32, 32, 1), latent_dim=4)
    with pytest.raises(ValueError, match="quantize must be one of none, dynamic, float16, int8"):
        export_tflite_decoder(model, tmp_path / "d.tflite", quantize="int4")
    with pytest.raises(ValueError, match=r"which must be one of \('main',\)"):
        export_tflite_decoder(model, tmp_path / "d.tflite", which="sub")
    with pytest.raises(ValueError, match=r"latent codes \(N, 4\) or images"):
        export_tflite_decoder(model, tmp_path / "d.tflite", representative_data=np.zeros((3, 5)))
    assert list(tmp_path.iterdir()) == []


def test_a_failed_verification_writes_nothing(tmp_path, trained_vae):
    path = tmp_path / "decoder.tflite"
    path.write_bytes(b"previous version")
    with pytest.raises(ExportVerificationError, match="above the bound 0; nothing was written"):
        export_tflite_decoder(trained_vae, path, quantize="dynamic", error_bound=0.0)
    assert path.read_bytes() == b"previous version"
    assert list(tmp_path.iterdir()) == [path]


def test_on_device_example_decodes_without_tensorflow(tmp_path, trained_guided):
    from PIL import Image

    model = trained_guided
    path = tmp_path / "decoder.tflite"
    export_tflite_decoder(model, path, quantize="float16")
    script = Path(__file__).resolve().parents[2] / "examples" / "tflite_decode.py"
    png = tmp_path / "unit2.png"
    code = textwrap.dedent(
        f"""
        import runpy, sys
        sys.argv = ["tflite_decode.py", {str(path)!r}, "--unit", "2", "--values", "5",
                    "--scale", "1", "--out", {str(png)!r}]
        try:
            runpy.run_path({str(script)!r}, run_name="__main__")
        except SystemExit as done:
            assert not done.code, done.code
        heavy = sorted(m for m in ("tensorflow", "keras", "keras_gvae") if m in sys.modules)
        assert not heavy, heavy
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    picture = np.asarray(Image.open(png), np.float32) / 255
    assert picture.shape == (2 + 30, 2 + 5 * 30)
    z = np.zeros((5, 7), "float32")
    z[:, 2] = np.linspace(-2.5, 2.5, 5)
    expected = model.decode(z).numpy()
    for i in range(5):
        tile = picture[2:30, 2 + 30 * i : 30 + 30 * i]
        bound = TFLITE_ERROR_BOUNDS["decoder"]["float16"] + 1 / 255
        assert np.abs(tile - expected[i, ..., 0]).max() <= bound
