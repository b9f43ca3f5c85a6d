import numpy as np
import pytest

from keras_gvae.evaluation import evaluate_disentanglement
from keras_gvae.evaluation.code_table import CodeTable, identity, precompute_codes
from keras_gvae.evaluation.disentanglement_scores import _encodings
from tests.evaluation.fakes import PixelFactorsData as FakeGroundTruth


def rep(x):
    x = np.asarray(x, np.float64).reshape(len(x), -1)
    return np.tanh(x @ np.linspace(-1, 1, x.shape[1] * 3).reshape(x.shape[1], 3))


def test_code_table_returns_the_codes_of_the_factor_rows():
    data = FakeGroundTruth()
    table = precompute_codes(data, rep, batch_size=7)
    rng = np.random.RandomState(0)
    factors = data.sample_factors(50, rng)
    np.testing.assert_allclose(
        table.sample_observations_from_factors(factors, rng),
        rep(data.sample_observations_from_factors(factors, rng)),
        rtol=1e-6,
        atol=1e-6,
    )
    assert table.factors_num_values == data.factors_num_values
    assert identity(table.codes) is not None


def test_cached_and_direct_metrics_agree():
    data = FakeGroundTruth()
    kwargs = dict(
        metrics=["mig", "sap", "factor_vae", "beta_vae"],
        seed=3,
        num_train=200,
        num_test=100,
        num_eval=50,
        num_variance_estimate=200,
    )
    direct = evaluate_disentanglement(data, rep, cache_codes=False, **kwargs)
    cached = evaluate_disentanglement(data, rep, cache_codes=True, **kwargs)
    assert direct.keys() == cached.keys()
    for key in direct:
        assert cached[key] == pytest.approx(direct[key], abs=1e-6), key


def test_auto_caching_counts_the_encodings():
    import inspect

    from keras_gvae.evaluation.disentanglement_scores import METRICS

    accepted = {n: set(inspect.signature(METRICS[n]).parameters) for n in METRICS}
    # disentanglement_lib defaults: FactorVAE 64 * 15000 + 10000, BetaVAE 2 * 64 * 15000.
    assert _encodings(["factor_vae"], accepted, {}) == 64 * 15000 + 10000
    assert _encodings(["beta_vae"], accepted, {}) == 2 * 64 * 15000
    assert _encodings(["mig"], accepted, {}) == 10000
    with pytest.raises(ValueError, match="shape"):
        CodeTable([2, 3], np.zeros((5, 2)))
