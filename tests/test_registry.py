"""keras_gvae.registry: what model and dataset names stand for, looked up instead of guessed."""

import zipfile
from pathlib import Path

import numpy as np
import pytest

from keras_gvae import registry
from keras_gvae.errors import ParameterError
from keras_gvae.training import TrainConfig, model_registry

DSPRITES_SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "dsprites_sample"


def test_model_entries_build_the_classes_and_set_the_defaults():
    from keras_gvae.models import VAE, BetaTCVAE, GuidedBetaTCVAE, GuidedVAE, SupervisedGuidedVAE

    assert model_registry() == {
        "guided": GuidedVAE,
        "vae": VAE,
        "beta-vae": VAE,
        "supervised": SupervisedGuidedVAE,
        "beta-tcvae": BetaTCVAE,
        "guided-beta-tcvae": GuidedBetaTCVAE,
    }
    assert TrainConfig(model="beta-vae").beta == 4.0 and TrainConfig(model="vae").beta == 1.0
    assert TrainConfig(model="beta-tcvae").beta == TrainConfig(model="guided-beta-tcvae").beta == 6
    assert [n for n in registry.model_names() if registry.model_entry(n).needs_labels] == [
        "supervised"
    ]
    with pytest.raises(
        ValueError, match=r"unknown model 'gan'; expected one of \['beta-tcvae', 'beta-vae'"
    ):
        registry.model_entry("gan")


def test_a_model_that_needs_labels_names_the_parameter():
    with pytest.raises(ParameterError, match="needs attributes") as err:
        TrainConfig(model="supervised")
    assert err.value.parameter == "attributes"
    assert TrainConfig(model="supervised", attributes="is_heart, large").attributes == (
        "is_heart",
        "large",
    )


def test_likelihood_follows_the_dataset():
    assert TrainConfig(dataset="celeb_a").likelihood == "gaussian"
    assert TrainConfig(dataset="mnist").likelihood == "bernoulli"
    assert TrainConfig(dataset="celeb_a", likelihood="bernoulli").likelihood == "bernoulli"
    # A dataset only keras_gvae.data knows gets the defaults.
    assert registry.dataset_entry("my_data") == registry.DatasetEntry("my_data")


def test_label_names():
    from keras_gvae.data.shapes import FACTOR_NAMES

    assert registry.label_names("shapes", 6) == list(FACTOR_NAMES)
    assert registry.label_names("shapes_binary", 6) == list(FACTOR_NAMES)
    # Attribute labels (another number of columns) are not the factors.
    assert registry.label_names("shapes", 2) == ["label_0", "label_1"]
    assert registry.label_names("omniglot", 2) == ["alphabet", "character"]
    assert registry.label_names("celeb_a", 3) == ["label_0", "label_1", "label_2"]


def test_few_shot_classes_are_the_shapes_on_both_shape_datasets():
    # dSprites' column 0 is its constant colour: a few-shot task on it would have one class.
    for name in ("shapes", "shapes_binary", "dsprites"):
        assert (
            registry.label_names(name, 6)[registry.dataset_entry(name).few_shot_column] == "shape"
        )
    assert registry.dataset_entry("mnist").few_shot_column == 0


def test_ground_truth_data():
    from keras_gvae.data.shapes import ShapesData

    shapes = registry.ground_truth_data("shapes")
    assert isinstance(shapes, ShapesData) and shapes.factors_num_values == [3, 6, 40, 32, 32]
    for name in ("mnist", "celeb_a", "omniglot", "shapes_binary", "shapes_binary_upright"):
        assert registry.ground_truth_data(name, "/nowhere") is None
    with pytest.raises(ValueError, match="dataset 'dsprites' needs data_dir"):
        registry.ground_truth_data("dsprites")


@pytest.mark.skipif(not DSPRITES_SAMPLE.is_dir(), reason="../shared/data/dsprites_sample is absent")
def test_dsprites_ground_truth_reads_the_file_the_loader_reads():
    from keras_gvae.data.dsprites import find_dsprites_npz

    data = registry.ground_truth_data("dsprites", DSPRITES_SAMPLE.parent)
    npz = np.load(find_dsprites_npz(DSPRITES_SAMPLE.parent))
    assert data.num_images == len(npz["imgs"])


def test_one_shot_runs_are_found_in_the_omniglot_folder(tmp_path):
    from keras_gvae.data.omniglot import find_one_shot_runs

    assert find_one_shot_runs(tmp_path) is None
    (tmp_path / "omniglot").mkdir()
    with zipfile.ZipFile(tmp_path / "omniglot" / "all_runs.zip", "w") as z:
        z.writestr("run01/class_labels.txt", "")
    assert find_one_shot_runs(tmp_path) == tmp_path / "omniglot" / "all_runs.zip"
    assert find_one_shot_runs(tmp_path / "omniglot") == tmp_path / "omniglot" / "all_runs.zip"


def test_the_cli_names_the_flag_of_a_bad_parameter(tmp_path, capsys):
    from keras_gvae.cli.main import main

    assert main(["train", "--model", "supervised", "--quiet", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("gvae train: error: model 'supervised' needs attributes")
    assert err.endswith("(--attributes)") and "\n" not in err
    assert not (tmp_path / "r").exists()
