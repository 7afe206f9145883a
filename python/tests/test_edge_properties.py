"""Numbers at the edges, as a property: finite values across the whole float range (1e-300 to
1e300 scales, subnormals, zeros) never give NaN in a log-probability, a posterior or a fitted
parameter; rows of predict_proba sum to 1; what cannot be fitted is a clear ValueError."""

import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mixtura import (
    BernoulliDistribution,
    ExponentialDistribution,
    GammaDistribution,
    GeneralMixtureModel,
    IndependentComponentsDistribution,
    LogNormalDistribution,
    MultivariateGaussianDistribution,
    NormalDistribution,
    PoissonDistribution,
    UniformDistribution,
)

# Every finite double, with the edges drawn often: hypothesis favours 0, subnormals, the
# extremes and values near powers of two; the scaled draws add clusters at 1e-300 .. 1e300.
any_finite = st.floats(allow_nan=False, allow_infinity=False)
scaled = st.builds(lambda m, e: m * 10.0**e, st.floats(-10, 10), st.integers(-300, 300))
value = st.one_of(any_finite, scaled)

FAMILIES = {
    "normal": NormalDistribution,
    "lognormal": LogNormalDistribution,
    "exponential": ExponentialDistribution,
    "gamma": GammaDistribution,
    "poisson": PoissonDistribution,
    "uniform": UniformDistribution,
    "bernoulli": BernoulliDistribution,
}


def numbers(doc):
    """Every number in a model document."""
    if isinstance(doc, dict):
        return [v for x in doc.values() for v in numbers(x)]
    if isinstance(doc, list):
        return [v for x in doc for v in numbers(x)]
    if isinstance(doc, (int, float)) and not isinstance(doc, bool):
        return [float(doc)]
    return []


def check_model(model, X):
    params = numbers(json.loads(model.to_json()))
    assert not any(math.isnan(v) for v in params), model.to_json()
    logp = model.log_probability(X)
    assert not np.isnan(logp).any(), (X, logp)
    proba = model.predict_proba(X)
    assert not np.isnan(proba).any(), (X, proba)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-9)
    assert not np.isnan(model.predict_log_proba(X)).any()


def fit_or_clear_error(fit):
    """The fitted model, or None when the fit refused the data with a clear ValueError."""
    try:
        return fit()
    except ValueError as e:
        assert str(e), "an error must say why"
        return None


edge_settings = settings(max_examples=60, deadline=None,
                         suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("family", sorted(FAMILIES))
@edge_settings
@given(data=hnp.arrays(np.float64, st.integers(2, 12), elements=value), seed=st.integers(0, 9))
def test_univariate_families_at_the_edges(family, data, seed):
    X = data.reshape(-1, 1)
    cls = FAMILIES[family]
    model = fit_or_clear_error(lambda: GeneralMixtureModel.from_samples(
        cls, 2, X, random_state=seed, max_iterations=5))
    if model is not None:
        check_model(model, X)


@edge_settings
@given(data=hnp.arrays(np.float64, st.integers(1, 12), elements=value))
def test_fixed_mixtures_at_the_edges(data):
    X = data.reshape(-1, 1)
    for components in (
        [NormalDistribution(0, 1), NormalDistribution(1, 1e-3)],
        [LogNormalDistribution(0, 1), ExponentialDistribution(1e-300)],
        [GammaDistribution(2, 1e300), PoissonDistribution(1e300), UniformDistribution(-1e300, 1e300)],
    ):
        check_model(GeneralMixtureModel(components), X)


@edge_settings
@given(data=hnp.arrays(np.float64, st.tuples(st.integers(3, 10), st.just(2)), elements=value),
       seed=st.integers(0, 9))
def test_gaussians_at_the_edges(data, seed):
    for model in (
        fit_or_clear_error(lambda: GeneralMixtureModel.from_samples(
            MultivariateGaussianDistribution, 2, data, random_state=seed, max_iterations=5)),
        fit_or_clear_error(lambda: GeneralMixtureModel.from_samples(
            [NormalDistribution, NormalDistribution], 2, data, random_state=seed,
            max_iterations=5)),
        GeneralMixtureModel([
            MultivariateGaussianDistribution([0.0, 0.0], np.eye(2)),
            MultivariateGaussianDistribution([1e3, -1e3], [[1e-6, 0.0], [0.0, 1e6]]),
        ]),
        GeneralMixtureModel([
            IndependentComponentsDistribution([NormalDistribution(0, 1), NormalDistribution(0, 1)]),
            IndependentComponentsDistribution([NormalDistribution(1, 1e-100),
                                               NormalDistribution(-1, 1e100)]),
        ]),
    ):
        if model is not None:
            check_model(model, data)


@edge_settings
@given(mean=value, std=st.floats(min_value=5e-324, max_value=1e300), x=value)
def test_a_normal_at_the_edges(mean, std, x):
    for dist in (NormalDistribution(mean, std),):
        lp = dist.log_probability(np.array([x, mean]))
        assert not np.isnan(lp).any(), (mean, std, x, lp)
    model = GeneralMixtureModel([NormalDistribution(mean, std), NormalDistribution(0, 1)])
    check_model(model, np.array([[x], [mean]]))
