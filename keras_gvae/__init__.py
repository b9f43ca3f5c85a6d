"""keras_gvae: the Guided Variational Autoencoder (Ding et al., CVPR 2020) for Keras 3.

Importing the package registers every layer and model with Keras, so
``keras.saving.load_model("model.keras")`` restores them with ``safe_mode`` on.

The one exception is the ``gvae`` command itself (the console script, or
``python -m keras_gvae.cli.main``): it parses its arguments (and answers ``--help``) before
TensorFlow is imported, and each command imports the models it needs. The names below are
then loaded on first access.
"""

import os as _os
import sys as _sys

# TensorFlow's start-up lines (oneDNN, CUDA) are kept off the terminal on import, unless the
# user chose a TF_CPP_MIN_LOG_LEVEL (or imported TensorFlow first).
_QUIET = "tensorflow" not in _sys.modules and "TF_CPP_MIN_LOG_LEVEL" not in _os.environ
if "tensorflow" not in _sys.modules:
    _os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0.dev0"

__all__ = [
    "BetaTCVAE",
    "GuidedBetaTCVAE",
    "GuidedVAE",
    "SupervisedGuidedVAE",
    "VAE",
    "layers",
    "losses",
    "models",
    "presets",
    "__version__",
]

_MODULES = ("layers", "losses", "models", "presets")
_MODELS = ("BetaTCVAE", "GuidedBetaTCVAE", "GuidedVAE", "SupervisedGuidedVAE", "VAE")


def _started_as_gvae():
    argv0 = _os.path.basename(_sys.argv[0]) if _sys.argv else ""
    if argv0 in ("gvae", "gvae.exe", "gvae-script.py"):
        return True
    orig = list(getattr(_sys, "orig_argv", ()))
    return argv0 == "-m" and any(
        a == "-m" and b == "keras_gvae.cli.main" for a, b in zip(orig, orig[1:], strict=False)
    )


def __getattr__(name):
    import importlib

    if name in _MODULES:
        return importlib.import_module(f"keras_gvae.{name}")
    if name in _MODELS:
        return getattr(importlib.import_module("keras_gvae.models"), name)
    raise AttributeError(f"module 'keras_gvae' has no attribute {name!r}")


if not _started_as_gvae():
    if _QUIET:
        from keras_gvae._startup import import_tensorflow_quietly

        import_tensorflow_quietly("keras", "tensorflow_probability")
    from keras_gvae import layers, losses, models, presets  # noqa: E402
    from keras_gvae.models import (  # noqa: E402
        VAE,
        BetaTCVAE,
        GuidedBetaTCVAE,
        GuidedVAE,
        SupervisedGuidedVAE,
    )
