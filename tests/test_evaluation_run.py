"""keras_gvae.evaluation_run: gvae evaluate's groups as a library function."""

import numpy as np
import pytest

from keras_gvae.errors import ParameterError
from keras_gvae.evaluation import METRICS
from keras_gvae.evaluation_run import GROUPS, Settings, evaluate_model, select


def test_select_parses_groups_and_metric_names():
    assert select("all") == (list(GROUPS), list(METRICS))
    assert select("mig, probes") == (["disentanglement", "probes"], ["mig"])
    assert select("disentanglement") == (["disentanglement"], list(METRICS))
    assert select("few_shot") == (["few_shot"], [])
    with pytest.raises(ParameterError, match=r"unknown metrics \['bogus'\]") as err:
        select("mig,bogus")
    assert err.value.parameter == "metrics"
    with pytest.raises(ParameterError):
        select(" , ")


@pytest.fixture(scope="module")
def model():
    from keras_gvae import VAE

    return VAE(input_shape=(64, 64, 1), latent_dim=4, seed=0)


def test_evaluate_model_runs_the_selected_groups(model, tmp_path):
    settings = Settings(num_train=200, num_test=100, seed=3)
    scores = evaluate_model(model, "shapes", "mig,probes,few_shot", settings, figure_dir=tmp_path)
    assert 0.0 <= scores["disentanglement/mig"] <= 1.0
    # Probes of every label that varies: the five shapes factors (colour is constant).
    probes = {k.split("/")[1] for k in scores if k.startswith("probes/")}
    assert probes == {"shape", "scale", "orientation", "pos_x", "pos_y"}
    assert all(0.0 <= scores[f"probes/{p}/knn"] <= 1.0 for p in probes)
    # Few-shot classes are the 3 shapes.
    assert "few_shot/3way_1shot/latent" in scores and "few_shot/3way_5shot/pixels" in scores
    assert {k for k in scores if k.startswith("seconds/")} == {
        "seconds/disentanglement",
        "seconds/probes",
        "seconds/few_shot",
    }
    assert (tmp_path / "mi_matrix.png").is_file()
    # The same seed gives the same numbers; without figure_dir nothing is drawn.
    again = evaluate_model(model, "shapes", "mig", settings)
    assert again["disentanglement/mig"] == scores["disentanglement/mig"]
    assert np.isfinite(list(again.values())).all()


def test_a_dataset_without_ground_truth_has_no_disentanglement(model):
    # The restricted shapes variants are not a full factor grid.
    with pytest.raises(ValueError, match="none of the metrics 'mig' applies to dataset"):
        evaluate_model(model, "shapes_binary", "mig", Settings(num_train=50))
