"""Deployment: SavedModel with serving signatures (TF Serving), TFLite files (LiteRT).

- :func:`export_saved_model` writes ``<base>/<version>/`` with the signatures
  ``serving_default``/``reconstruct``, ``encode``, ``decode``, ``traverse``, ``metadata``,
  and ``sub_decode`` / ``attributes`` when the model has them.
- :func:`export_tflite_decoder` and :func:`export_tflite_encoder` write ``.tflite`` files
  (optionally quantized), verified against the Keras model with the LiteRT interpreter,
  and return an :class:`ExportReport`. Timing a ``.tflite`` file and listing its ops are
  in ``benchmarks/export_tflite.py``.
"""

from keras_gvae.export.saved_model import (
    export_saved_model,
    model_metadata,
    read_metadata,
    signature_names,
)
from keras_gvae.export.tflite import (
    QUANTIZE_MODES,
    TFLITE_ERROR_BOUNDS,
    ExportReport,
    ExportVerificationError,
    TFLiteConversionError,
    export_tflite_decoder,
    export_tflite_encoder,
    load_interpreter,
)

__all__ = [
    "QUANTIZE_MODES",
    "TFLITE_ERROR_BOUNDS",
    "ExportReport",
    "ExportVerificationError",
    "TFLiteConversionError",
    "export_saved_model",
    "export_tflite_decoder",
    "export_tflite_encoder",
    "load_interpreter",
    "model_metadata",
    "read_metadata",
    "signature_names",
]
