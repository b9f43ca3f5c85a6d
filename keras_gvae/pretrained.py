"""Pretrained models by name, like keras-hub's presets: run directories found in folders.

A pretrained model is a run directory (a folder holding ``model.keras``, as `gvae train`
writes it); its name is the folder's name. The folders searched, first match wins:

1. each folder listed in the environment variable ``KERAS_GVAE_PRETRAINED`` (separated by
   ``os.pathsep``, ":" on Linux), in order;
2. the repository's ``saved_models/`` (beside the ``keras_gvae`` package in a clone or an
   editable install).

The names are read from the folders every time, never from a list in the code.

Example:
>>> from keras_gvae.pretrained import list_pretrained, load_pretrained
>>> list_pretrained()  # doctest: +SKIP
['guided_mnist', 'guided_shapes', 'supervised_position']
>>> model = load_pretrained("guided_shapes")  # doctest: +SKIP
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "KERAS_GVAE_PRETRAINED"
# The repository's shipped run directories (absent from a wheel install).
REPOSITORY_MODELS = Path(__file__).resolve().parents[1] / "saved_models"


class UnknownPretrainedError(ValueError):
    """A name that is neither a model file, a run directory nor a pretrained model's name."""


def search_path():
    """The folders searched for pretrained models, in order (existing or not)."""
    listed = [Path(p) for p in os.environ.get(ENV_VAR, "").split(os.pathsep) if p.strip()]
    return [*listed, REPOSITORY_MODELS]


def _runs(folder):
    """``{name: run directory}`` of the folder's sub-folders that hold ``model.keras``."""
    if not folder.is_dir():
        return {}
    return {
        entry.name: entry
        for entry in sorted(folder.iterdir())
        if not entry.name.startswith(".") and (entry / "model.keras").is_file()
    }


def pretrained_models():
    """``{name: run directory}`` of every pretrained model found (first folder wins)."""
    found = {}
    for folder in search_path():
        for name, path in _runs(folder).items():
            found.setdefault(name, path)
    return dict(sorted(found.items()))


def list_pretrained():
    """The names of the pretrained models found, sorted."""
    return list(pretrained_models())


def pretrained_path(name):
    """The run directory of the pretrained model ``name``.

    Raises:
        UnknownPretrainedError: no folder of :func:`search_path` holds a run called ``name``;
            the message lists the names found.
    """
    found = pretrained_models()
    if name in found:
        return found[name]
    where = f"saved_models/ or ${ENV_VAR}"
    if not found:
        raise UnknownPretrainedError(
            f"unknown pretrained model {name!r}: no pretrained models found in {where}; expected "
            f"a .keras file, a run directory, or set {ENV_VAR} to a folder of run directories"
        )
    raise UnknownPretrainedError(
        f"unknown pretrained model {name!r}; expected a .keras file, a run directory or one of: "
        f"{', '.join(found)} (from {where})"
    )


def resolve_model(name_or_path):
    """A path for `keras_gvae.saving.load_model`: ``name_or_path`` itself when it exists or
    looks like a path (has a folder separator or ends in ``.keras``), else the run directory
    of the pretrained model of that name (:func:`pretrained_path`)."""
    text = str(name_or_path)
    path = Path(text)
    if path.exists() or path.suffix == ".keras" or os.sep in text or "/" in text:
        return path
    return pretrained_path(text)


def load_pretrained(name, compile=False):
    """Loads the pretrained model ``name`` (see :func:`list_pretrained`).

    Args:
        name: str, a pretrained model's name, e.g. "guided_shapes"; a path to a ``.keras``
            file or run directory also works.
        compile: bool, also restore the optimizers and compile. Defaults to False (enough
            to encode, decode, sample and traverse).

    Returns:
        The model (a `keras_gvae.VAE`, `GuidedVAE` or `SupervisedGuidedVAE`).
    """
    from keras_gvae.saving import load_model

    return load_model(resolve_model(name), compile=compile)
