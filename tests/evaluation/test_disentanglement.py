import math

import pytest

from keras_gvae.evaluation import METRICS, evaluate_disentanglement
from tests.evaluation.fakes import flatten

SMALL = {
    "num_train": 120,
    "num_test": 60,
    "num_eval": 40,
    "num_variance_estimate": 200,
    "batch_size": 16,
}


def test_registry_lists_the_six_metrics():
    assert list(METRICS) == [
        "mig",
        "sap",
        "dci",
        "modularity_explicitness",
        "factor_vae",
        "beta_vae",
    ]
    assert all(callable(fn) for fn in METRICS.values())


def test_all_metrics_give_a_flat_dict_of_floats(data):
    scores = evaluate_disentanglement(data, flatten, "all", seed=0, **SMALL)
    assert set(scores) == {
        "mig",
        "sap",
        "dci/disentanglement",
        "dci/completeness",
        "dci/informativeness_train",
        "dci/informativeness_test",
        "modularity_explicitness/modularity",
        "modularity_explicitness/explicitness_train",
        "modularity_explicitness/explicitness_test",
        "factor_vae/train_accuracy",
        "factor_vae/eval_accuracy",
        "factor_vae/num_active_dims",
        "beta_vae/train_accuracy",
        "beta_vae/eval_accuracy",
    }
    assert all(isinstance(v, float) and math.isfinite(v) for v in scores.values())
    for key in ("mig", "dci/disentanglement", "factor_vae/eval_accuracy"):
        assert scores[key] > 0.9


def test_subset_is_deterministic_and_independent_of_other_metrics(data):
    alone = evaluate_disentanglement(data, flatten, ["mig"], seed=4, num_train=200)
    together = evaluate_disentanglement(data, flatten, ["sap", "mig"], seed=4, num_train=200)
    assert alone == {"mig": together["mig"]}
    assert evaluate_disentanglement(data, flatten, "mig", seed=4, num_train=200) == alone


def test_unknown_metric_and_unused_size(data):
    with pytest.raises(ValueError, match="Unknown metrics"):
        evaluate_disentanglement(data, flatten, ["mig", "irs"])
    with pytest.raises(ValueError, match="num_variance_estimate"):
        evaluate_disentanglement(data, flatten, ["mig"], num_variance_estimate=10)
