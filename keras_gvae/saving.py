"""Loading saved keras_gvae models with errors that say what was expected."""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path


class ModelLoadError(ValueError):
    """A model path that is missing, unreadable or not a keras_gvae ``.keras`` file."""


def resolve_model_path(path):
    """A ``.keras`` file, or a run directory holding ``model.keras``, as a Path."""
    path = Path(path)
    if path.is_dir():
        candidate = path / "model.keras"
        if not candidate.is_file():
            raise ModelLoadError(
                f"{path} is a directory without model.keras; expected a run directory written "
                "by `gvae train` or a .keras model file"
            )
        return candidate
    if not path.exists():
        raise ModelLoadError(
            f"{path}: no such file; expected a .keras model file or a run directory"
        )
    return path


def load_model(path, compile=True):
    """Loads a keras_gvae model from a ``.keras`` file or a run directory.

    Imports keras_gvae first (registering its classes), loads with ``safe_mode`` on and no
    custom objects, and turns low-level failures into :class:`ModelLoadError` naming the
    file and what was expected.
    """
    import keras

    from keras_gvae.models import VAE  # registers the serializable classes

    path = resolve_model_path(path)
    if path.suffix != ".keras":
        raise ModelLoadError(f"{path}: expected a file ending in .keras (a Keras 3 model archive)")
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            broken = archive.testzip()  # reads every member and checks its CRC
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError) as err:
        raise ModelLoadError(
            f"{path}: the file is damaged (corrupt or truncated); not a readable .keras archive "
            f"({err})"
        ) from err
    if broken is not None:
        raise ModelLoadError(
            f"{path}: the file is damaged (corrupt or truncated): its member {broken} fails "
            "its checksum"
        )
    if "config.json" not in names:
        raise ModelLoadError(f"{path}: a .keras archive must contain config.json; it does not")
    _check_keras_gvae_config(path)
    try:
        model = keras.saving.load_model(path, compile=compile, safe_mode=True)
    except Exception as err:  # noqa: BLE001 - re-raised with the file name
        raise ModelLoadError(f"{path}: could not restore the model: {err}") from err
    if not isinstance(model, VAE):
        raise ModelLoadError(f"{path}: {_not_ours(type(model).__name__)}")
    return model


def _not_ours(class_name):
    return (
        f"a Keras {class_name}, not a keras_gvae model; expected a VAE, GuidedVAE or "
        "SupervisedGuidedVAE saved by keras_gvae (`gvae train` or model.save)"
    )


def _check_keras_gvae_config(path):
    """Refuses, before deserializing anything, an archive whose top object is not keras_gvae's."""
    import json

    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as err:
        raise ModelLoadError(f"{path}: its config.json is unreadable ({err})") from err
    if not isinstance(config, dict):
        raise ModelLoadError(f"{path}: its config.json does not describe a Keras object")
    # Keras' own classes (Sequential, Functional, ...) are never keras_gvae models; other
    # registered classes (keras_gvae's, or a user's subclass of VAE) are checked after loading.
    module = str(config.get("module") or "")
    if not config.get("registered_name") or module == "keras" or module.startswith("keras."):
        raise ModelLoadError(f"{path}: {_not_ours(config.get('class_name', 'object'))}")
