"""Agreement with scikit-learn's GaussianMixture from the same initial parameters."""

import warnings

import numpy as np
import pytest

from mixtura import (
    GeneralMixtureModel,
    IndependentComponentsDistribution,
    MultivariateGaussianDistribution,
    NormalDistribution,
)

sklearn_mixture = pytest.importorskip("sklearn.mixture")


def sklearn_fit(X, weights, means, covariances, covariance_type, iterations):
    if covariance_type == "full":
        precisions = np.array([np.linalg.inv(c) for c in covariances])
    else:
        precisions = 1.0 / np.asarray(covariances)
    gm = sklearn_mixture.GaussianMixture(
        n_components=len(weights), covariance_type=covariance_type, weights_init=weights,
        means_init=means, precisions_init=precisions, reg_covar=0.0, tol=0.0,
        max_iter=iterations, random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gm.fit(X)
    return gm


def data():
    rng = np.random.RandomState(42)
    a = rng.multivariate_normal([0, 0, 0], [[1, 0.5, 0.2], [0.5, 2, 0.3], [0.2, 0.3, 1]], 700)
    b = rng.multivariate_normal([3, 1, -2], [[0.5, -0.1, 0], [-0.1, 1, 0.2], [0, 0.2, 0.3]], 500)
    c = rng.multivariate_normal([-2, 4, 1], np.eye(3) * 0.8, 300)
    return np.vstack([a, b, c])


INIT_MEANS = np.array([[0.5, 0.5, 0.0], [2.5, 0.5, -1.5], [-1.5, 3.5, 0.5]])
INIT_WEIGHTS = np.array([0.3, 0.4, 0.3])


@pytest.mark.parametrize("iterations", [1, 5, 30])
def test_full_covariance_agrees(iterations):
    X = data()
    covs = np.array([np.eye(3), np.eye(3) * 1.5, np.eye(3) * 0.7])
    gm = sklearn_fit(X, INIT_WEIGHTS, INIT_MEANS, covs, "full", iterations)
    model = GeneralMixtureModel(
        [MultivariateGaussianDistribution(m, c) for m, c in zip(INIT_MEANS, covs)],
        weights=INIT_WEIGHTS,
    )
    model.fit(X, max_iterations=iterations, stop_threshold=-np.inf)
    np.testing.assert_allclose(np.exp(model.weights), gm.weights_, rtol=1e-9)
    for j, d in enumerate(model.distributions):
        np.testing.assert_allclose(d.mu, gm.means_[j], rtol=1e-9, atol=1e-10)
        np.testing.assert_allclose(d.cov, gm.covariances_[j], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(model.log_probability(X), gm.score_samples(X), rtol=1e-9)
    np.testing.assert_allclose(model.predict_proba(X), gm.predict_proba(X), atol=1e-9)


@pytest.mark.parametrize("iterations", [1, 10])
def test_diagonal_covariance_agrees(iterations):
    X = data()
    variances = np.array([[1.0, 1.0, 1.0], [1.5, 0.5, 1.0], [0.7, 0.7, 2.0]])
    gm = sklearn_fit(X, INIT_WEIGHTS, INIT_MEANS, variances, "diag", iterations)
    model = GeneralMixtureModel(
        [
            IndependentComponentsDistribution(
                [NormalDistribution(m, np.sqrt(v)) for m, v in zip(means, var)]
            )
            for means, var in zip(INIT_MEANS, variances)
        ],
        weights=INIT_WEIGHTS,
    )
    model.fit(X, max_iterations=iterations, stop_threshold=-np.inf)
    np.testing.assert_allclose(np.exp(model.weights), gm.weights_, rtol=1e-9)
    for j, d in enumerate(model.distributions):
        params = np.array([c.parameters for c in d.distributions])
        np.testing.assert_allclose(params[:, 0], gm.means_[j], rtol=1e-9, atol=1e-10)
        np.testing.assert_allclose(params[:, 1] ** 2, gm.covariances_[j], rtol=1e-8)
    np.testing.assert_allclose(model.log_probability(X), gm.score_samples(X), rtol=1e-9)


def test_old_faithful_converges_to_sklearns_optimum(faithful):
    model = GeneralMixtureModel.from_samples(
        MultivariateGaussianDistribution, 2, faithful, random_state=0, stop_threshold=1e-9
    )
    gm = sklearn_mixture.GaussianMixture(2, reg_covar=0.0, tol=1e-12, max_iter=1000,
                                         random_state=0).fit(faithful)
    assert model.log_probability(faithful).mean() == pytest.approx(gm.score(faithful), rel=1e-8)
