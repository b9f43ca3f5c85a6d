"""Datasets: the embedded shapes renderer, real-dataset loaders and user data.

``load(name, ...)`` returns batched ``tf.data`` pipelines for "shapes" (embedded, no
files), "mnist", "dsprites", "celeb_a" and "omniglot", from tfds or from local files.
"""

from keras_gvae.data.directory import from_directory, from_numpy, scan_folder, split_held_out
from keras_gvae.data.dsprites import DSpritesData
from keras_gvae.data.ground_truth_data import GroundTruthData
from keras_gvae.data.loaders import DatasetError, DatasetNotFoundError, TFDSUnavailableError
from keras_gvae.data.registry import LOADERS, available_datasets, load

__all__ = [
    "DSpritesData",
    "DatasetError",
    "DatasetNotFoundError",
    "GroundTruthData",
    "LOADERS",
    "TFDSUnavailableError",
    "available_datasets",
    "from_directory",
    "from_numpy",
    "load",
    "scan_folder",
    "split_held_out",
]
