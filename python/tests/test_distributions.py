import pickle

import numpy as np
import pytest
from scipy import stats

import mixtura
from mixtura import (
    IndependentComponentsDistribution,
    MultivariateGaussianDistribution,
    NormalDistribution,
)


def test_normal_log_probability_matches_scipy():
    d = NormalDistribution(1.5, 0.7)
    x = np.linspace(-3, 5, 17)
    np.testing.assert_allclose(d.log_probability(x), stats.norm(1.5, 0.7).logpdf(x), rtol=1e-13)
    assert isinstance(d.log_probability(2.0), float)
    assert d.log_probability(2.0) == pytest.approx(stats.norm(1.5, 0.7).logpdf(2.0), rel=1e-13)
    np.testing.assert_allclose(d.probability(x), stats.norm(1.5, 0.7).pdf(x), rtol=1e-12)
    assert d.log_probability(np.nan) == 0.0


def test_normal_attributes():
    d = NormalDistribution(1.0, 2.0)
    assert d.parameters == [1.0, 2.0]
    assert d.d == 1 and d.name == "NormalDistribution" and d.frozen is False
    d.parameters = [3.0, 4.0]
    assert d.parameters == [3.0, 4.0]
    assert NormalDistribution.blank().parameters == [0.0, 1.0]


@pytest.mark.parametrize("args", [(0, 0), (0, -1), (np.nan, 1), (0, np.inf)])
def test_normal_rejects_invalid_parameters(args):
    with pytest.raises(ValueError, match="mean|std"):
        NormalDistribution(*args)


def test_normal_rejects_non_numbers():
    with pytest.raises(TypeError, match="mean"):
        NormalDistribution("a", 1)


def test_normal_fit_is_the_weighted_mle():
    x = np.array([1.0, 2.0, 4.0, 7.0])
    w = np.array([1.0, 0.5, 2.0, 1.0])
    d = NormalDistribution(0, 1).fit(x, weights=w)
    mean = np.average(x, weights=w)
    std = np.sqrt(np.average((x - mean) ** 2, weights=w))
    np.testing.assert_allclose(d.parameters, [mean, std], rtol=1e-13)
    d2 = NormalDistribution.from_samples(x, weights=w)
    np.testing.assert_allclose(d2.parameters, d.parameters, rtol=1e-15)


def test_normal_summaries_accumulate_and_inertia_blends():
    x = np.arange(10.0)
    d = NormalDistribution(0, 1)
    d.summarize(x[:3])
    d.summarize(x[3:])
    d.from_summaries()
    np.testing.assert_allclose(d.parameters, [x.mean(), x.std()], rtol=1e-13)
    assert d.summaries == [0, 0, 0]
    d2 = NormalDistribution(1.0, 1.0)
    d2.fit(x, inertia=0.25)
    np.testing.assert_allclose(d2.parameters, [0.25 * 1 + 0.75 * x.mean(), 0.25 + 0.75 * x.std()])
    d3 = NormalDistribution(1.0, 1.0)
    d3.summarize(x)
    d3.clear_summaries()
    d3.from_summaries()
    assert d3.parameters == [1.0, 1.0]


def test_normal_missing_values_are_skipped():
    d = NormalDistribution(0, 1).fit([1.0, np.nan, 3.0])
    np.testing.assert_allclose(d.parameters, [2.0, 1.0])


def test_collapsed_normal_stays_finite():
    d = NormalDistribution(0, 1).fit([2.0, 2.0, 2.0])
    assert d.parameters[0] == 2.0
    assert np.isfinite(d.parameters[1]) and d.parameters[1] > 0
    assert np.isfinite(d.log_probability(2.0))


def test_freeze_thaw():
    d = NormalDistribution(0, 1)
    d.freeze()
    assert d.frozen
    d.fit([5.0, 6.0])
    assert d.parameters == [0.0, 1.0]
    d.thaw()
    d.fit([5.0, 6.0])
    assert d.parameters == [5.5, 0.5]


def test_sample_is_seeded():
    d = NormalDistribution(3, 2)
    a = d.sample(1000, random_state=5)
    b = d.sample(1000, random_state=5)
    assert a.shape == (1000,)
    np.testing.assert_array_equal(a, b)
    assert abs(a.mean() - 3) < 0.3 and abs(a.std() - 2) < 0.3
    assert isinstance(d.sample(random_state=1), float)


def test_copy_is_independent():
    d = NormalDistribution(0, 1)
    c = d.copy()
    c.fit([4.0, 6.0])
    assert d.parameters == [0.0, 1.0]
    assert c.parameters == [5.0, 1.0]


def test_json_pickle_round_trips():
    for d in [
        NormalDistribution(0.1, 2.0 / 3.0),
        MultivariateGaussianDistribution([1.0, 2.0], [[2.0, 0.3], [0.3, 1.0]], frozen=True),
        IndependentComponentsDistribution(
            [NormalDistribution(0, 1), NormalDistribution(1e-7, 3.5)], weights=[1.0, 0.5]
        ),
    ]:
        text = d.to_json()
        back = type(d).from_json(text)
        assert back.to_json() == text
        assert mixtura.from_json(text).to_json() == text
        assert pickle.loads(pickle.dumps(d)).to_json() == text
        assert d.to_dict()["name"] == d.name
        assert type(d).from_dict(d.to_dict()).to_json() == text


def test_json_layout_is_pomegranates():
    assert NormalDistribution(0, 1).to_json() == (
        '{\n    "class" : "Distribution",\n    "name" : "NormalDistribution",\n'
        '    "parameters" : [\n        0.0,\n        1.0\n    ],\n    "frozen" : false\n}'
    )
    assert NormalDistribution(0, 1).to_json(separators=(",", ":"), indent=None) == (
        '{"class":"Distribution","name":"NormalDistribution","parameters":[0.0,1.0],"frozen":false}'
    )


def test_multivariate_gaussian_matches_scipy():
    mu = np.array([1.0, -1.0, 0.5])
    cov = np.array([[2.0, 0.3, 0.1], [0.3, 1.0, -0.2], [0.1, -0.2, 0.7]])
    d = MultivariateGaussianDistribution(mu, cov)
    X = np.random.RandomState(1).randn(50, 3)
    np.testing.assert_allclose(
        d.log_probability(X), stats.multivariate_normal(mu, cov).logpdf(X), rtol=1e-12
    )
    assert isinstance(d.log_probability(X[0]), float)
    assert d.d == 3
    np.testing.assert_array_equal(d.mu, mu)
    np.testing.assert_array_equal(d.cov, cov)
    p = d.parameters
    assert len(p) == 2 and np.array_equal(p[0], mu) and np.array_equal(p[1], cov)


def test_multivariate_gaussian_missing_values_use_the_marginal():
    mu = np.array([1.0, -1.0, 0.5])
    cov = np.array([[2.0, 0.3, 0.1], [0.3, 1.0, -0.2], [0.1, -0.2, 0.7]])
    d = MultivariateGaussianDistribution(mu, cov)
    x = np.array([[0.2, np.nan, 1.0], [np.nan, np.nan, np.nan]])
    want = stats.multivariate_normal(mu[[0, 2]], cov[np.ix_([0, 2], [0, 2])]).logpdf([0.2, 1.0])
    out = d.log_probability(x)
    assert out[0] == pytest.approx(want, rel=1e-12)
    assert out[1] == 0.0


def test_multivariate_gaussian_fit_is_the_weighted_mle():
    rng = np.random.RandomState(2)
    X = rng.randn(200, 3) @ np.array([[1.0, 0.5, 0.0], [0.0, 1.0, 0.3], [0.0, 0.0, 1.0]]) + 10
    w = rng.rand(200)
    d = MultivariateGaussianDistribution.from_samples(X, weights=w)
    mean = np.average(X, axis=0, weights=w)
    cov = np.cov(X.T, aweights=w, bias=True)
    np.testing.assert_allclose(d.mu, mean, rtol=1e-12)
    np.testing.assert_allclose(d.cov, cov, rtol=1e-10)
    assert MultivariateGaussianDistribution.blank(3).d == 3


def test_multivariate_gaussian_collapsed_gets_small_identity():
    d = MultivariateGaussianDistribution.from_samples(np.array([[1.0, 2.0], [1.0, 2.0]]))
    np.testing.assert_array_equal(d.cov, 1e-5 * np.eye(2))


def test_multivariate_gaussian_rejects_invalid_parameters():
    with pytest.raises(ValueError, match="covariance"):
        MultivariateGaussianDistribution([0, 0], [[1, 2], [2, 1]])
    with pytest.raises(ValueError, match="covariance"):
        MultivariateGaussianDistribution([0, 0, 0], [[1, 0], [0, 1]])
    with pytest.raises(ValueError, match="covariance"):
        MultivariateGaussianDistribution([0, 0], [[1, 0.5], [0, 1]])
    with pytest.raises(ValueError, match="X"):
        MultivariateGaussianDistribution([0, 0], np.eye(2)).log_probability([[1.0, 2.0, 3.0]])


def test_multivariate_gaussian_sample():
    d = MultivariateGaussianDistribution([1.0, -2.0], [[1.0, 0.8], [0.8, 1.0]])
    s = d.sample(20000, random_state=3)
    assert s.shape == (20000, 2)
    np.testing.assert_allclose(s.mean(axis=0), [1.0, -2.0], atol=0.05)
    np.testing.assert_allclose(np.cov(s.T), [[1.0, 0.8], [0.8, 1.0]], atol=0.05)
    assert d.sample(random_state=1).shape == (2,)


def test_independent_components():
    n1, n2 = NormalDistribution(0, 1), NormalDistribution(5, 2)
    d = IndependentComponentsDistribution([n1, n2], weights=[1.0, 0.5])
    X = np.array([[0.1, 4.0], [1.0, np.nan]])
    want = [
        stats.norm(0, 1).logpdf(0.1) + 0.5 * stats.norm(5, 2).logpdf(4.0),
        stats.norm(0, 1).logpdf(1.0),
    ]
    np.testing.assert_allclose(d.log_probability(X), want, rtol=1e-13)
    assert d.d == 2
    assert d.parameters[0][0] is n1 and d.parameters[1] == [1.0, 0.5]
    d.fit(np.array([[1.0, 10.0], [3.0, 20.0]]))
    # The child objects are updated in place.
    assert n1.parameters == [2.0, 1.0] and n2.parameters == [15.0, 5.0]
    n2.freeze()
    d.fit(np.array([[0.0, 0.0], [2.0, 2.0]]))
    assert n1.parameters == [1.0, 1.0] and n2.parameters == [15.0, 5.0]
    fitted = IndependentComponentsDistribution.from_samples(np.array([[1.0, 10.0], [3.0, 20.0]]))
    assert [c.parameters for c in fitted.distributions] == [[2.0, 1.0], [15.0, 5.0]]


def test_independent_components_rejects_bad_input():
    with pytest.raises(TypeError):
        IndependentComponentsDistribution([NormalDistribution, NormalDistribution(0, 1)])
    with pytest.raises(ValueError, match="weights"):
        IndependentComponentsDistribution([NormalDistribution(0, 1)], weights=[1.0, 2.0])
    with pytest.raises(ValueError, match="univariate"):
        IndependentComponentsDistribution(
            [MultivariateGaussianDistribution([0, 0], np.eye(2))]
        )


def test_small_spread_far_from_zero_is_estimated_accurately():
    rng = np.random.RandomState(0)
    x = 1e6 + rng.randn(1000) * 1e-3
    d = NormalDistribution.from_samples(x)
    np.testing.assert_allclose(d.parameters, [x.mean(), x.std()], rtol=1e-6)
    X = np.column_stack([x, 5e5 + rng.randn(1000) * 1e-3])
    g = MultivariateGaussianDistribution.from_samples(X)
    np.testing.assert_allclose(g.cov[0, 0], x.var(), rtol=1e-5)
