"""Disentanglement metrics, representation probes and few-shot evaluation.

Metrics are pure functions of codes and factors (or of a ``GroundTruthData`` and a
representation function) and never import model code; only ``callback`` imports Keras.
``plot_mi_matrix`` (matplotlib) and ``DisentanglementCallback`` (Keras) are loaded on
first access. ``evaluate_disentanglement`` runs several metrics on one representation;
running every evaluation of ``gvae evaluate`` on a trained model (which needs the datasets
and the registry) is ``keras_gvae.evaluation_run.evaluate_model``, outside this package.

Example:
>>> from keras_gvae.evaluation import evaluate_disentanglement
>>> scores = evaluate_disentanglement(data, lambda x: model.encode(x)[0].numpy(), "all")
>>> scores["mig"], scores["dci/disentanglement"]
"""

from keras_gvae.evaluation.beta_vae import beta_vae_score
from keras_gvae.evaluation.dci import (
    completeness,
    dci,
    dci_from_ground_truth,
    disentanglement,
    importance_matrix_gbt,
)
from keras_gvae.evaluation.disentanglement_scores import METRICS, evaluate_disentanglement
from keras_gvae.evaluation.factor_vae import factor_vae_score
from keras_gvae.evaluation.few_shot import few_shot_accuracy
from keras_gvae.evaluation.mig import mig, mig_from_ground_truth, mig_per_factor
from keras_gvae.evaluation.modularity_explicitness import (
    modularity,
    modularity_explicitness,
    modularity_explicitness_from_ground_truth,
)
from keras_gvae.evaluation.omniglot import (
    OneShotRun,
    load_one_shot_runs,
    omniglot_one_shot,
    one_shot_error,
    pixel_baseline,
)
from keras_gvae.evaluation.probes import knn_probe_accuracy, linear_probe_accuracy
from keras_gvae.evaluation.sap import sap, sap_from_ground_truth
from keras_gvae.evaluation.utils import (
    discrete_entropy,
    discrete_mutual_info,
    discretize,
    generate_batch_factor_code,
    mutual_information_matrix,
)

_LAZY = {
    "plot_mi_matrix": "keras_gvae.evaluation.plots",
    "DisentanglementCallback": "keras_gvae.evaluation.callback",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "METRICS",
    "DisentanglementCallback",
    "OneShotRun",
    "beta_vae_score",
    "completeness",
    "dci",
    "dci_from_ground_truth",
    "discrete_entropy",
    "discrete_mutual_info",
    "discretize",
    "disentanglement",
    "evaluate_disentanglement",
    "factor_vae_score",
    "few_shot_accuracy",
    "generate_batch_factor_code",
    "importance_matrix_gbt",
    "knn_probe_accuracy",
    "linear_probe_accuracy",
    "load_one_shot_runs",
    "mig",
    "mig_from_ground_truth",
    "mig_per_factor",
    "modularity",
    "modularity_explicitness",
    "modularity_explicitness_from_ground_truth",
    "mutual_information_matrix",
    "omniglot_one_shot",
    "one_shot_error",
    "pixel_baseline",
    "plot_mi_matrix",
    "sap",
    "sap_from_ground_truth",
]
