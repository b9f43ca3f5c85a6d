"""TFLite export of the decoder(s) and the encoder, verified with the LiteRT interpreter.

Two jobs: convert (Keras -> SavedModel -> builtin-op flatbuffer) and verify (the file run by
LiteRT against the Keras model before it is renamed into place). Timing a file and listing its
ops are benchmarks' jobs: ``benchmarks/export_tflite.py`` (``tflite_latency_ms``, ``tflite_ops``).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
import tempfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from keras_gvae.io import check_output, staged_file

QUANTIZE_MODES = (None, "dynamic", "float16", "int8")
"""``quantize=`` values. ``"none"`` is accepted as an alias of None."""

# Largest max-abs difference from the Keras model that a verified export may have, per
# part and quantization mode. Decoder errors are in pixel units (images in [0, 1]);
# encoder errors in latent units (z_mean and z_log_var). Measured with the LiteRT
# interpreter (XNNPACK, x86) on prior samples plus encoded shapes images for GuidedVAE
# 28x28/latent 7, VAE 32x32/latent 4 and GuidedVAE 64x64/latent 10, untrained and
# trained 200-300 steps (benchmarks/results/export_tflite.md); the comment gives the
# largest value seen and the bound leaves a margin of >= 2.4x. Errors grow with training
# (sharper logits, larger z_log_var), so a long-trained model may need error_bound=.
# Max errors come from a few pixels: mean abs errors are 10-100x smaller.
# "int8" is full-integer inside with float32 inputs and outputs; it is not offered for
# the sub-decoder (quantized sampling coordinates: max error 0.35-0.6).
TFLITE_ERROR_BOUNDS = {
    "decoder": {
        None: 1e-5,  # 7.2e-7
        "dynamic": 2e-1,  # 6.3e-2
        "float16": 5e-3,  # 6.0e-4
        "int8": 3e-1,  # 1.25e-1
    },
    "sub_decoder": {
        None: 5e-5,  # 1.1e-5: TFLite's SIN/COS/EXP move sampling points by ~1e-6 px
        "dynamic": 1e-2,  # 1.3e-3
        "float16": 5e-2,  # 1.9e-2: float16 content basis, logits over 4096 pixels
    },
    "encoder": {
        None: 1e-4,  # 7.6e-6
        "dynamic": 4e-1,  # 1.4e-1
        "float16": 1e-2,  # 2.3e-3
        "int8": 3e-1,  # 1.05e-1
    },
}

NUM_PRIOR_SAMPLES = 256
NUM_VERIFY = 64


class ExportVerificationError(RuntimeError):
    """The converted model differs from the Keras model by more than its bound."""


class TFLiteConversionError(RuntimeError):
    """The TFLite converter rejected the model (names the unsupported ops when it can)."""


class LiteRTMissingError(ImportError, RuntimeError):
    """The ``ai-edge-litert`` package (the ``litert`` extra) is not installed."""


LITERT_INSTALL = 'pip install "keras_gvae[litert]"'


def require_litert():
    """Raises :class:`LiteRTMissingError` unless the LiteRT interpreter, which verifies every
    ``.tflite`` file before it is written, can be imported; cheap, for checks before training."""
    try:
        from ai_edge_litert.interpreter import Interpreter  # noqa: F401
    except ImportError as err:
        raise LiteRTMissingError(
            "writing .tflite files needs the LiteRT interpreter (ai-edge-litert), which is not "
            f"installed: {LITERT_INSTALL}"
        ) from err


@dataclasses.dataclass(frozen=True)
class ExportReport:
    """What an export wrote and how well it matches the Keras model.

    Attributes:
        path: Path of the ``.tflite`` file.
        part: "decoder", "sub_decoder" or "encoder".
        quantize: None, "dynamic", "float16" or "int8".
        size_bytes: int, file size.
        max_abs_error: float, largest absolute difference from the Keras model over all
            verification inputs and outputs (pixels for decoders, latent units for the
            encoder).
        mean_abs_error: float, the mean absolute difference over the same values.
        error_bound: float, the bound the error was checked against.
        num_verified: int, how many inputs the error was measured on.
        inputs: tuple of the signature's input names.
        outputs: tuple of the signature's output names.
    """

    path: Path
    part: str
    quantize: str | None
    size_bytes: int
    max_abs_error: float
    mean_abs_error: float
    error_bound: float
    num_verified: int
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]

    def summary(self) -> str:
        """One line: file, size, error against its bound."""
        return (
            f"{self.path} ({self.part}, quantize={self.quantize or 'none'}): "
            f"{self.size_bytes / 1024:.1f} KB, max abs error {self.max_abs_error:.2e} "
            f"(bound {self.error_bound:.2g}, {self.num_verified} inputs)"
        )

    def as_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["path"] = str(self.path)
        d["inputs"], d["outputs"] = list(self.inputs), list(self.outputs)
        return d


def export_tflite_decoder(
    model,
    path,
    quantize=None,
    representative_data=None,
    which="main",
    error_bound=None,
    seed=0,
    overwrite=True,
) -> ExportReport:
    """Converts a decoder ``z -> image`` to a ``.tflite`` file and verifies it.

    The file has one signature, ``serving_default``, with input ``z`` (batch,
    latent_dim) float32 (batch size resizable) and output ``image`` (batch, H, W, C)
    float32 in [0, 1] (the sigmoid is included). Only TFLite builtin ops are allowed
    (no SELECT_TF_OPS, so no TensorFlow runtime on the device): the built-in backbones
    and the GuidedVAE sub-decoder (FLOOR, CAST, GATHER for the bilinear warp) convert.

    Quantization modes:

    - None: float32.
    - "dynamic": int8 weights, float activations (dynamic-range kernels). A quarter of
      the size, but on x86 LiteRT the hybrid TRANSPOSE_CONV kernel is ~15x slower than
      the float one (25 ms vs 0.6 ms for the 64x64 decoder): prefer "float16" or "int8"
      for decoders.
    - "float16": float16 weights, float32 compute on CPU.
    - "int8": full-integer kernels (TFLITE_BUILTINS_INT8) with float32 input and output
      tensors: the file quantizes ``z`` on entry and dequantizes the image on exit, so
      callers use the same float API in every mode. Calibrated on the representative
      codes (below).

    The conversion goes Keras -> SavedModel (``keras.export.ExportArchive``) ->
    ``TFLiteConverter.from_saved_model``. The file is written under a temporary name,
    run with the LiteRT interpreter against the Keras model, and renamed onto ``path``
    only if its max abs error is within the bound.

    Args:
        model: a keras_gvae model.
        path: str or Path of the ``.tflite`` file to write.
        quantize: None (or "none"), "dynamic", "float16" or "int8". Defaults to None.
        representative_data: optional latent codes (N, latent_dim) or images
            (N, H, W, C) (encoded to their posterior means). Used with
            ``NUM_PRIOR_SAMPLES`` prior samples ``N(0, I)`` to calibrate "int8", and
            (up to 256) with ``NUM_VERIFY`` other prior samples to verify.
        which: the renderer, a key of ``model.decoders()``: "main", or "sub" for the
            GuidedVAE sub-decoder. Defaults to "main".
        error_bound: optional float, overrides ``TFLITE_ERROR_BOUNDS[part][quantize]``.
        seed: int, seeds the prior samples.
        overwrite: bool, replace an existing file at ``path`` (never a directory). Defaults
            to True; ``gvae export`` passes its ``--overwrite``.

    Returns:
        An :class:`ExportReport`.

    Raises:
        ValueError: unknown ``quantize`` or ``which``, or data of the wrong shape.
        TFLiteConversionError: the converter failed (the message names the ops it could
            not convert).
        ExportVerificationError: the error exceeds the bound; nothing is written.
        OutputExistsError: ``path`` exists (and ``overwrite`` is False) or is a directory.
        LiteRTMissingError: the ``ai-edge-litert`` package (the ``litert`` extra) is not
            installed (an ImportError).

    Example:
    >>> report = export_tflite_decoder(
    ...     model, "decoder.tflite", quantize="float16")  # doctest: +SKIP
    >>> print(report.summary())  # doctest: +SKIP
    """
    quantize = normalize_quantize(quantize)
    renderers = model.decoders()
    if which not in renderers:
        raise ValueError(f"which must be one of {tuple(renderers)}; got {which!r}")
    if which != "main" and quantize == "int8":
        raise ValueError(
            f"int8 is not offered for the {which!r} decoder: full-integer kernels quantize the "
            "warp's sampling coordinates, which moves pixels by whole cells (measured max abs "
            "error 0.35-0.6). Use quantize='dynamic' or 'float16' (the sub-decoder is tens of KB)."
        )
    render = renderers[which]
    if which == "main":  # without decode's NaN check: TFLite builtins have no Assert op
        render = functools.partial(model.decode, validate=False)
    part = "decoder" if which == "main" else f"{which}_decoder"
    latent_dim = int(model.latent_dim)
    rng = np.random.default_rng(seed)
    given = None if representative_data is None else _codes(model, representative_data)
    calibration = rng.standard_normal((NUM_PRIOR_SAMPLES, latent_dim)).astype(np.float32)
    if given is not None:
        calibration = np.concatenate([calibration, given[:NUM_PRIOR_SAMPLES]])
    verify = rng.standard_normal((NUM_VERIFY, latent_dim)).astype(np.float32)
    if given is not None:
        verify = np.concatenate([verify, given[:256]])

    def reference(z):
        return {"image": keras.ops.convert_to_numpy(render(z))}

    return _export(
        fn=lambda z: {"image": render(z)},
        input_name="z",
        input_spec=tf.TensorSpec((None, latent_dim), tf.float32, name="z"),
        reference=reference,
        calibration=calibration,
        verify=verify,
        path=path,
        part=part,
        quantize=quantize,
        error_bound=error_bound,
        model=model,
        overwrite=overwrite,
    )


def export_tflite_encoder(
    model,
    path,
    quantize=None,
    representative_data=None,
    error_bound=None,
    seed=0,
    overwrite=True,
) -> ExportReport:
    """Converts the encoder ``x -> (z_mean, z_log_var)`` to a ``.tflite`` file and verifies it.

    One signature, ``serving_default``: input ``x`` (batch, H, W, C) float32, outputs
    ``z_mean`` and ``z_log_var`` (batch, latent_dim) float32. The file does not check
    its input (no NaN or [0, 1] assertions: TFLite builtins have no Assert op). The
    quantization modes, the conversion route and the atomic, verified write are those
    of :func:`export_tflite_decoder`.

    Args:
        model: a keras_gvae model.
        path: str or Path of the ``.tflite`` file.
        quantize: None (or "none"), "dynamic", "float16" or "int8".
        representative_data: images (N, H, W, C) in the model's input range. Required
            for "int8" (calibration); otherwise used (up to 256) for verification, which
            falls back to ``NUM_VERIFY`` uniform-noise images (a weaker check) without it.
        error_bound: optional float, overrides ``TFLITE_ERROR_BOUNDS["encoder"][quantize]``.
        seed: int, seeds the noise images.
        overwrite: bool, replace an existing file at ``path``. Defaults to True.

    Returns:
        An :class:`ExportReport`.

    Raises:
        ValueError: unknown ``quantize``, "int8" without ``representative_data``, or
            images of the wrong shape. And the errors of :func:`export_tflite_decoder`.
    """
    quantize = normalize_quantize(quantize)
    shape = tuple(int(s) for s in model.image_shape)
    images = None
    if representative_data is not None:
        images = _images(model, representative_data)
    elif quantize == "int8":
        from keras_gvae.errors import ParameterError

        raise ParameterError(
            "representative_data",
            "int8 quantization of the encoder needs representative_data=, real images shaped "
            f"(N, {', '.join(map(str, shape))}) (a few hundred), to calibrate the activation "
            "ranges",
        )
    rng = np.random.default_rng(seed)
    verify = images[:256] if images is not None else rng.random((NUM_VERIFY, *shape), np.float32)

    # The file holds no checks (TFLite builtins have no Assert op), so neither does the graph.
    def reference(x):
        z_mean, z_log_var = model.encode(x, validate=False)
        return {
            "z_mean": keras.ops.convert_to_numpy(z_mean),
            "z_log_var": keras.ops.convert_to_numpy(z_log_var),
        }

    def fn(x):
        z_mean, z_log_var = model.encode(x, validate=False)
        return {"z_mean": z_mean, "z_log_var": z_log_var}

    return _export(
        fn=fn,
        input_name="x",
        input_spec=tf.TensorSpec((None, *shape), tf.float32, name="x"),
        reference=reference,
        calibration=images[:NUM_PRIOR_SAMPLES] if images is not None else None,
        verify=verify,
        path=path,
        part="encoder",
        quantize=quantize,
        error_bound=error_bound,
        model=model,
        overwrite=overwrite,
    )


def normalize_quantize(quantize):
    """None for "none"/None; otherwise checks ``quantize`` is a known mode."""
    if quantize is None or (isinstance(quantize, str) and quantize.lower() == "none"):
        return None
    if quantize not in QUANTIZE_MODES:
        raise ValueError(f"quantize must be one of none, dynamic, float16, int8; got {quantize!r}")
    return quantize


def load_interpreter(path):
    """A LiteRT ``Interpreter`` for ``path`` with tensors allocated."""
    require_litert()
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path))
    interpreter.allocate_tensors()
    return interpreter


# ---------------------------------------------------------------------------- internals
def _export(
    fn,
    input_name,
    input_spec,
    reference,
    calibration,
    verify,
    path,
    part,
    quantize,
    error_bound,
    model,
    overwrite,
):
    if error_bound is None:
        error_bound = TFLITE_ERROR_BOUNDS.get(part, TFLITE_ERROR_BOUNDS["sub_decoder"])[quantize]
    bound = float(error_bound)
    path = Path(path)
    require_litert()
    check_output(path, overwrite=overwrite)  # before the slow conversion
    content = _convert(model, fn, input_spec, quantize, calibration, input_name, part)
    # Written beside ``path`` under a temporary name, verified from that file, then renamed.
    with staged_file(path, overwrite=overwrite) as tmp:
        tmp.write_bytes(content)
        interpreter = load_interpreter(tmp)
        runner = interpreter.get_signature_runner("serving_default")
        details = interpreter.get_signature_list()["serving_default"]
        error, total, count = 0.0, 0.0, 0
        for start in range(0, len(verify), 32):
            batch = np.ascontiguousarray(verify[start : start + 32], np.float32)
            got = runner(**{input_name: batch})
            for key, value in reference(batch).items():
                diff = np.abs(got[key].astype(np.float64) - value)
                error = max(error, float(np.max(diff)))
                total, count = total + float(np.sum(diff)), count + diff.size
        if not math.isfinite(error) or error > bound:
            raise ExportVerificationError(
                f"the TFLite {part} (quantize={quantize or 'none'}) differs from the Keras model "
                f"by up to {error:.3g} on {len(verify)} inputs, above the bound {bound:.3g}; "
                "nothing was written. Pass representative_data closer to real use, another "
                "quantize mode, or a looser error_bound if this is acceptable."
            )
        del runner, interpreter
    return ExportReport(
        path=path,
        part=part,
        quantize=quantize,
        size_bytes=path.stat().st_size,
        max_abs_error=error,
        mean_abs_error=total / max(count, 1),
        error_bound=bound,
        num_verified=len(verify),
        inputs=tuple(details["inputs"]),
        outputs=tuple(sorted(details["outputs"])),
    )


def _convert(model, fn, input_spec, quantize, calibration, input_name, part):
    """Keras -> SavedModel (one endpoint) -> TFLite flatbuffer bytes."""
    archive = keras.export.ExportArchive()
    archive.track(model)
    # The endpoint's argument name becomes the signature's input name.
    endpoint = {"z": lambda z: fn(z), "x": lambda x: fn(x)}[input_name]
    archive.add_endpoint("serving_default", endpoint, input_signature=[input_spec])
    with tempfile.TemporaryDirectory(prefix="keras_gvae_tflite_") as tmp:
        archive.write_out(tmp, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(tmp)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        if quantize is not None:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if quantize == "float16":
            converter.target_spec.supported_types = [tf.float16]
        if quantize == "int8":
            samples = np.asarray(calibration, np.float32)

            def representative_dataset():
                for sample in samples:
                    yield [sample[None]]

            converter.representative_dataset = representative_dataset
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            # Float32 in, float32 out (the defaults, stated): same API in every mode.
            converter.inference_input_type = tf.float32
            converter.inference_output_type = tf.float32
        try:
            return converter.convert()
        except Exception as err:  # noqa: BLE001 - re-raised with the unsupported ops named
            ops = sorted(set(re.findall(r"\b(tf\.[A-Za-z0-9_]+|tfl\.[A-Za-z0-9_]+)", str(err))))
            named = f"unsupported ops: {', '.join(ops)}" if ops else "see the converter's message"
            raise TFLiteConversionError(
                f"TFLite conversion of the {part} (quantize={quantize or 'none'}) with the "
                f"builtin op set only failed; {named}.\nConverter: {str(err)[-2000:]}"
            ) from err


def _images(model, data):
    images = np.asarray(data, np.float32)
    shape = tuple(int(s) for s in model.image_shape)
    if images.ndim != 4 or images.shape[1:] != shape or len(images) == 0:
        raise ValueError(
            f"expected images shaped (N, {', '.join(map(str, shape))}) with N >= 1; got "
            f"{images.shape}"
        )
    return images


def _codes(model, data):
    """Latent codes from codes (N, latent_dim) or images (N, H, W, C) (posterior means)."""
    data = np.asarray(data, np.float32)
    latent_dim = int(model.latent_dim)
    if data.ndim == 2 and data.shape[1] == latent_dim and len(data):
        return data
    if data.ndim == 4:
        images = _images(model, data)[:NUM_PRIOR_SAMPLES]
        means = [
            keras.ops.convert_to_numpy(model.encode(images[i : i + 64])[0])
            for i in range(0, len(images), 64)
        ]
        return np.concatenate(means).astype(np.float32)
    raise ValueError(
        f"representative_data for the decoder must be latent codes (N, {latent_dim}) or "
        f"images (N, {', '.join(map(str, model.image_shape))}); got shape {data.shape}"
    )
