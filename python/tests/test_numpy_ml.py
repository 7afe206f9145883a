"""mixtura.numpy_ml.GMM: numpy-ml's API (both generations) on the Rust engine, its bugs fixed."""

import time

import numpy as np
import pytest

from mixtura import _checks, _core
from mixtura.numpy_ml import GMM


def data(n=900, seed=0):
    rng = np.random.RandomState(seed)
    a = rng.multivariate_normal([0, 0], [[1, 0.5], [0.5, 2]], n * 2 // 3)
    b = rng.multivariate_normal([5, 3], [[0.5, -0.1], [-0.1, 0.4]], n - n * 2 // 3)
    return np.vstack([a, b])


def log_pdf(X, mu, sigma):
    d = X.shape[1]
    L = np.linalg.cholesky(sigma)
    z = np.linalg.solve(L, (X - mu).T)
    return -0.5 * np.sum(z * z, axis=0) - np.sum(np.log(np.diag(L))) - 0.5 * d * np.log(2 * np.pi)


def reference_em(X, pi, mu, sigma, iterations):
    """EM for a full-covariance mixture, written from its formulas (Bishop, PRML, 9.2.2)."""
    for _ in range(iterations):
        lp = np.column_stack([log_pdf(X, m, s) + np.log(p) for p, m, s in zip(pi, mu, sigma)])
        lse = np.logaddexp.reduce(lp, axis=1)
        Q = np.exp(lp - lse[:, None])
        nk = Q.sum(axis=0)
        pi = nk / len(X)
        mu = (Q.T @ X) / nk[:, None]
        sigma = np.array([((X - mu[c]).T * Q[:, c]) @ (X - mu[c]) / nk[c] for c in range(len(pi))])
    return pi, mu, sigma


def test_fit_is_em_from_kmeans_plus_plus_and_learns_pi():
    X = data()
    g = GMM(C=2, seed=7)
    assert g.fit(X, max_iter=6, tol=0.0) == 0
    mu0 = _core.Kmeans.initial_centroids(2, X, init="kmeans++", seed=_checks.seed(7))
    pi, mu, sigma = reference_em(X, np.full(2, 0.5), mu0, np.array([np.eye(2)] * 2), 6)
    P = g.parameters
    np.testing.assert_allclose(P["pi"], pi, rtol=1e-10)
    np.testing.assert_allclose(P["mu"], mu, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(P["sigma"], sigma, rtol=1e-10, atol=1e-12)
    assert not np.allclose(P["pi"], 0.5)  # numpy-ml never learned pi
    lp = np.column_stack([log_pdf(X, m, s) + np.log(p) for p, m, s in zip(pi, mu, sigma)])
    np.testing.assert_allclose(g.elbo, np.sum(np.logaddexp.reduce(lp, axis=1)), rtol=1e-10)
    assert g.is_fit
    assert P["Q"].shape == (len(X), 2)
    np.testing.assert_allclose(P["Q"].sum(axis=1), 1.0)


def test_both_api_generations():
    X = data()
    g = GMM(C=2, seed=1)
    assert g.hyperparameters == {"C": 2, "seed": 1}
    assert g.elbo is None and not g.is_fit
    g.fit(X)
    assert (g.C, g.N, g.d) == (2, len(X), 2)
    assert g.pi.shape == (2,) and g.mu.shape == (2, 2) and g.sigma.shape == (2, 2, 2)
    assert g.Q.shape == (len(X), 2)
    assert g.best_elbo == g.elbo
    np.testing.assert_array_equal(g.best_mu, g.mu)
    assert g.likelihood_lower_bound() == pytest.approx(g.elbo, rel=1e-12)
    assert g.likelihood_lower_bound(X[:10]) < 0
    soft = g.predict(X)
    assert soft.shape == (len(X), 2)
    for c in range(2):
        np.testing.assert_allclose(soft[:, c], log_pdf(X, g.mu[c], g.sigma[c]), rtol=1e-10)
    hard = g.predict(X, soft_labels=False)
    np.testing.assert_array_equal(hard, np.argmax(soft + np.log(g.pi), axis=1))


def test_seeds_and_max_iter_zero(capsys):
    X = data()
    a, b, c = GMM(2, seed=0), GMM(2, seed=0), GMM(2, seed=1)
    for g in (a, b, c):
        g.fit(X, max_iter=1)
    np.testing.assert_array_equal(a.mu, b.mu)
    assert GMM(2).fit(X) == 0
    assert GMM(2, seed=3).fit(X, max_iter=2, tol=-1.0) == 0
    g = GMM(2, seed=3)
    assert g.fit(X, max_iter=0) == 0
    assert g.is_fit
    np.testing.assert_array_equal(g.pi, [0.5, 0.5])
    np.testing.assert_array_equal(g.sigma, [np.eye(2)] * 2)
    g.fit(X, max_iter=3, tol=0.0, verbose=True)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(".")[0] for line in lines] == ["1", "2", "3"]
    assert all(". Lower bound: " in line for line in lines)


def test_collapse_returns_minus_one(capsys):
    X = np.vstack([np.zeros((5, 2)), np.ones((5, 2)) * 3])
    assert GMM(C=2, seed=0).fit(X) == -1
    assert "Singular matrix: components collapsed" in capsys.readouterr().out


def test_fast_on_1e5_rows():
    X = data(100_000)
    start = time.perf_counter()
    assert GMM(C=3, seed=0).fit(X) == 0
    assert time.perf_counter() - start < 5.0  # numpy-ml's Python loops take minutes
