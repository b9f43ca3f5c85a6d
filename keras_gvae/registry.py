"""What each model name and dataset name stands for, in one place.

``gvae train`` and ``gvae evaluate`` (and the examples) look these up instead of comparing
names: which class a ``model`` name builds, whether it trains on labels, its default beta;
which likelihood a dataset gets, what its label columns are called, which column names the
classes of a few-shot task, and which ground-truth factor data it offers for the
disentanglement metrics. Importing this module imports no TensorFlow (the CLI's parser
reads it).

Example:
>>> from keras_gvae import registry
>>> registry.model_entry("beta-vae").default_beta
4.0
>>> registry.dataset_entry("celeb_a").likelihood
'gaussian'
>>> registry.label_names("mnist", 1)
['digit']
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from pathlib import Path


@dataclasses.dataclass(frozen=True)
class ModelEntry:
    """One ``model`` name.

    Args:
        name: str, the name (``gvae train --model NAME``, ``TrainConfig.model``).
        class_name: str, the class in ``keras_gvae.models`` it builds.
        default_beta: float, the KL weight when none is given.
        needs_labels: bool, whether it trains on ``(images, labels)`` of named attributes
            (``TrainConfig.attributes``).
    """

    name: str
    class_name: str
    default_beta: float = 1.0
    needs_labels: bool = False

    def model_class(self):
        return getattr(importlib.import_module("keras_gvae.models"), self.class_name)


@dataclasses.dataclass(frozen=True)
class DatasetEntry:
    """One dataset name of `keras_gvae.data.load`.

    Args:
        name: str, the name.
        likelihood: str, the decoder's likelihood when none is given ("bernoulli" for binary
            and near-binary images, "gaussian" for natural ones).
        label_names: tuple of str, the names of its label columns, in order; labels with
            another number of columns (attributes instead of factors) are ``label_0``,
            ``label_1``...
        few_shot_column: int, the label column whose values are the classes of a few-shot
            task on this dataset.
        ground_truth: callable ``data_dir -> GroundTruthData`` of the dataset's factors for
            the disentanglement metrics (it imports what it needs when called), or None when
            the dataset has no factor grid (the metrics do not apply).
        test_split: str or None, the split of images kept apart from training, which
            ``gvae train`` holds out for its evaluation (None: the dataset has none).
    """

    name: str
    likelihood: str = "bernoulli"
    label_names: tuple[str, ...] = ()
    few_shot_column: int = 0
    ground_truth: Callable[..., object] | None = None
    test_split: str | None = None


MODELS: dict[str, ModelEntry] = {
    entry.name: entry
    for entry in (
        ModelEntry("guided", "GuidedVAE"),
        ModelEntry("vae", "VAE"),
        ModelEntry("beta-vae", "VAE", default_beta=4.0),
        ModelEntry("supervised", "SupervisedGuidedVAE", needs_labels=True),
        # beta weighs the total correlation in these two (their KL weight is 1).
        ModelEntry("beta-tcvae", "BetaTCVAE", default_beta=6.0),
        ModelEntry("guided-beta-tcvae", "GuidedBetaTCVAE", default_beta=6.0),
    )
}


def _shapes_ground_truth(data_dir):
    from keras_gvae.data.shapes import ShapesData

    return ShapesData()


def _dsprites_ground_truth(data_dir):
    from keras_gvae.data import DSpritesData

    if data_dir is None:
        raise ValueError("dataset 'dsprites' needs data_dir: a dSprites .npz or its folder")
    return DSpritesData(Path(data_dir))


_SHAPES_FACTORS = ("color", "shape", "scale", "orientation", "pos_x", "pos_y")
DATASETS: dict[str, DatasetEntry] = {
    entry.name: entry
    for entry in (
        # Shapes label with the 6 latent classes (dSprites' order), or with attributes.
        # The few-shot classes are the shapes (column 1). Only the full grid has ground
        # truth: the restricted variants cannot hold one factor fixed and redraw the others.
        DatasetEntry(
            "shapes",
            label_names=_SHAPES_FACTORS,
            few_shot_column=1,
            ground_truth=_shapes_ground_truth,
        ),
        DatasetEntry("shapes_binary", label_names=_SHAPES_FACTORS, few_shot_column=1),
        DatasetEntry("shapes_binary_upright", label_names=_SHAPES_FACTORS, few_shot_column=1),
        DatasetEntry(
            "dsprites",
            label_names=_SHAPES_FACTORS,
            few_shot_column=1,
            ground_truth=_dsprites_ground_truth,
        ),
        DatasetEntry("mnist", label_names=("digit",), test_split="test"),
        DatasetEntry("omniglot", label_names=("alphabet", "character"), test_split="test"),
        DatasetEntry("celeb_a", likelihood="gaussian", test_split="test"),
    )
}


def _unknown(kind, name, known):
    return ValueError(f"unknown {kind} {name!r}; expected one of {sorted(known)}")


def model_entry(name: str) -> ModelEntry:
    if name not in MODELS:
        raise _unknown("model", name, MODELS)
    return MODELS[name]


def model_names() -> tuple[str, ...]:
    """Every model name, in registration order."""
    return tuple(MODELS)


def dataset_entry(name: str) -> DatasetEntry:
    """The entry of dataset ``name``; datasets registered with `keras_gvae.data` but not
    here get the defaults (Bernoulli likelihood, ``label_J`` columns, no ground truth)."""
    return DATASETS.get(name) or DatasetEntry(name)


def label_names(dataset: str, columns: int) -> list[str]:
    """Names of the ``columns`` label columns of ``dataset``: its registered names when it
    has that many, else ``label_0``, ``label_1``..."""
    known = dataset_entry(dataset).label_names
    if len(known) == columns:
        return list(known)
    return [f"label_{j}" for j in range(columns)]


def ground_truth_data(dataset: str, data_dir=None):
    """The `GroundTruthData` of ``dataset`` for the disentanglement metrics, or None when it
    has none (MNIST, CelebA, Omniglot, the restricted shapes variants).

    Raises:
        ValueError: the dataset needs files (dSprites) and ``data_dir`` is None.
    """
    make = dataset_entry(dataset).ground_truth
    return None if make is None else make(data_dir)
