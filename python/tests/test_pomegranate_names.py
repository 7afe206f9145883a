"""Small names of pomegranate 0.14 that its users' code reads: the model's name (the default
prefix of ModelCheckpoint's files) and the utils module's GPU switches."""

import os

import numpy as np
import pytest

import mixtura
from mixtura import GeneralMixtureModel, ModelCheckpoint, NormalDistribution


def test_a_mixture_is_named_model_as_in_pomegranate(tmp_path):
    m = GeneralMixtureModel([NormalDistribution(0, 1), NormalDistribution(4, 1)])
    assert m.name == "Model"
    fitted = GeneralMixtureModel.from_samples(NormalDistribution, 2, np.arange(10.0),
                                              random_state=0)
    assert fitted.name == "Model"
    assert GeneralMixtureModel.from_json(fitted.to_json()).name == "Model"
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        m.fit(np.arange(10.0), max_iterations=2, callbacks=[ModelCheckpoint(verbose=False)])
    finally:
        os.chdir(cwd)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Model.1.json", "Model.2.json"]


def test_the_gpu_switches_of_pomegranates_utils():
    from mixtura.utils import disable_gpu, enable_gpu, is_gpu_enabled

    assert is_gpu_enabled() is False
    disable_gpu()
    with pytest.warns(UserWarning, match="CPU"):
        enable_gpu()
    assert mixtura.utils.is_gpu_enabled() is False


def test_from_summaries_of_a_mixture_returns_it():
    m = GeneralMixtureModel([NormalDistribution(0, 1), NormalDistribution(3, 1)])
    assert m.from_summaries() is m
    m.summarize(np.array([[0.0], [3.0]]))
    assert m.from_summaries() is m
    m.freeze()
    m.summarize(np.array([[0.0], [3.0]]))
    assert m.from_summaries() is m


def test_a_single_sample_gives_a_number_however_it_is_given():
    from mixtura import IndependentComponentsDistribution, MultivariateGaussianDistribution

    n = NormalDistribution(0, 1)
    for x in (0.5, [0.5], np.array([0.5]), np.array([[0.5]]), [[0.5]]):
        assert np.ndim(n.log_probability(x)) == 0
        assert "{:.4}".format(n.probability(x)) == "0.3521"
    assert n.log_probability(np.array([[0.5], [0.7]])).shape == (2,)
    g = MultivariateGaussianDistribution([0, 0], np.eye(2))
    i = IndependentComponentsDistribution([NormalDistribution(0, 1), NormalDistribution(0, 1)])
    for dist in (g, i):
        for x in ([0.5, 0.2], np.array([[0.5, 0.2]]), [[0.5, 0.2]]):
            assert np.ndim(dist.log_probability(x)) == 0
            assert abs(dist.log_probability(x) - -1.9828770664085473) < 1e-12
        assert dist.probability(np.array([[0.5, 0.2], [1, 1]])).shape == (2,)


def test_from_samples_passes_the_fit_keywords_on():
    from mixtura import DiscreteDistribution, MultivariateGaussianDistribution

    # pomegranate 0.14: the blank distribution fitted with the keywords.
    d = NormalDistribution.from_samples(np.array([5.0, 7, 8]), inertia=0.5)
    np.testing.assert_allclose(d.parameters, [3.3333333333333335, 1.1236095644623239], rtol=1e-12)
    g = MultivariateGaussianDistribution.from_samples(np.array([[5.0, 7], [8, 1], [2, 2]]),
                                                     inertia=0.5)
    np.testing.assert_allclose(g.parameters[0], [2.5, 1.6666666666666667], rtol=1e-12)
    np.testing.assert_allclose(g.parameters[1], [[3.5, -0.5], [-0.5, 3.944444444444444]],
                               rtol=1e-12)
    assert NormalDistribution.from_samples(np.array([5.0, 7, 8])).parameters[0] == 6.666666666666667
    with pytest.raises(TypeError, match="bogus"):
        NormalDistribution.from_samples(np.array([5.0, 7, 8]), bogus=1)
    with pytest.raises(TypeError, match="inertia"):
        DiscreteDistribution.from_samples(["a", "b", "a"], inertia=0.5)
    with pytest.raises(TypeError, match="bogus"):
        mixtura.IndependentComponentsDistribution.from_samples([[1.0, 2], [3, 4]], bogus=1)
    # pomegranate 0.14.8: keys= adds symbols with count 0 (then smoothed by pseudocount).
    d = DiscreteDistribution.from_samples(["a", "b", "a"], keys=["a", "b", "c"])
    assert d.parameters[0] == {"a": 2 / 3, "b": 1 / 3, "c": 0.0}
    d = DiscreteDistribution.from_samples(["a", "b", "a"], pseudocount=1, keys=["a", "b", "c"])
    np.testing.assert_allclose([d.parameters[0][k] for k in "abc"], [0.5, 1 / 3, 1 / 6])


def test_a_normal_with_zero_std_is_both_errors_pomegranate_code_may_catch():
    for caught in (ValueError, ZeroDivisionError, mixtura.MixturaError):
        with pytest.raises(caught, match="std"):
            NormalDistribution(1.0, 0)
    with pytest.raises(ValueError) as e:
        NormalDistribution(1.0, -1)
    assert not isinstance(e.value, ZeroDivisionError)


def test_distribution_summaries_in_pomegranates_layout():
    from mixtura import (
        BernoulliDistribution,
        DiscreteDistribution,
        ExponentialDistribution,
        GammaDistribution,
        IndependentComponentsDistribution,
        LogNormalDistribution,
        MultivariateGaussianDistribution,
        PoissonDistribution,
        UniformDistribution,
    )

    # pomegranate 0.14.8's summaries, empty and after summarize([1, 2, 3], weights [1, 1, 2]).
    x, w = np.array([1.0, 2, 3]), np.array([1.0, 1, 2])
    cases = [
        (NormalDistribution(1, 2), x, [0, 0, 0], [4.0, 9.0, 23.0]),
        (LogNormalDistribution(0, 1), x, [0, 0, 0], [4.0, 2.890371757896165, 2.8943509355433656]),
        (ExponentialDistribution(1), x, [0, 0], [4.0, 9.0]),
        (GammaDistribution(2, 1), x, [0, 0, 0], [9.0, 2.8903717578961645, 4.0]),
        (PoissonDistribution(2), x, [0, 0], [9.0, 4.0]),
        (UniformDistribution(0, 4), x, [np.inf, -np.inf, 0], [1.0, 3.0, 4.0]),
        (BernoulliDistribution(0.3), np.array([0.0, 1, 1]), [0.0, 0.0], [4.0, 3.0]),
    ]
    for dist, data, empty, full in cases:
        assert dist.summaries == empty, dist.name
        dist.summarize(data, w)
        np.testing.assert_allclose(dist.summaries, full, rtol=1e-13, err_msg=dist.name)
        dist.from_summaries()
        assert dist.summaries == empty, dist.name
    d = DiscreteDistribution({"a": 0.5, "b": 0.5})
    assert d.summaries == [{"a": 0, "b": 0}, 0]
    d.summarize(["a", "b", "a"], w)
    assert d.summaries == [{"a": 3.0, "b": 1.0}, 4.0]
    g = MultivariateGaussianDistribution([0, 0], np.eye(2))
    i = IndependentComponentsDistribution([NormalDistribution(0, 1), ExponentialDistribution(1)])
    for dist in (g, i):
        assert dist.summaries == []
        dist.summarize(np.array([[1.0, 2], [3, 4]]))
        assert dist.summaries == []


def test_uniform_accepts_an_empty_interval_as_pomegranate():
    from mixtura import UniformDistribution

    u = UniformDistribution(5, 2)
    assert u.parameters == [5.0, 2.0]
    assert np.all(u.log_probability(np.array([1.0, 2, 3, 5, 6])) == -np.inf)
    u.fit(np.array([1.0, 3]))
    assert u.parameters == [1.0, 3.0]
    assert UniformDistribution.blank().parameters == [0.0, 0.0]
    # pomegranate gave +inf at the point of a zero-width interval (NaN in a mixture): mixtura -inf.
    assert UniformDistribution.blank().log_probability(0.0) == -np.inf
    m = GeneralMixtureModel([UniformDistribution(5, 2), UniformDistribution(0, 10)])
    np.testing.assert_allclose(m.log_probability(np.array([[3.0]])), [np.log(0.5 / 10)])
    np.testing.assert_array_equal(m.predict_proba(np.array([[3.0]])), [[0.0, 1.0]])


def test_an_int_random_state_is_the_random_state_it_seeds():
    from mixtura import Kmeans, MultivariateGaussianDistribution

    X = np.random.RandomState(0).randn(300, 2)
    X[:150] += 4
    for k in (0, 7, 2**32 - 1):
        a = GeneralMixtureModel.from_samples(MultivariateGaussianDistribution, 2, X,
                                             random_state=k, init="random")
        b = GeneralMixtureModel.from_samples(MultivariateGaussianDistribution, 2, X,
                                             random_state=np.random.RandomState(k), init="random")
        assert a.to_json() == b.to_json()
    ka, kb = Kmeans(2, init="random"), Kmeans(2, init="random")
    ka.fit(X, random_state=3)
    kb.fit(X, random_state=np.random.RandomState(3))
    np.testing.assert_array_equal(ka.centroids, kb.centroids)
    for bad in (-1, 2**32):
        with pytest.raises(ValueError, match="random_state"):
            GeneralMixtureModel.from_samples(NormalDistribution, 2, X[:, 0], random_state=bad)


def test_poisson_between_counts_is_pomegranates_continuous_extension():
    from mixtura import PoissonDistribution

    # pomegranate 0.14.8's numbers: x log(lambda) - lambda - lgamma(x + 1) for every x >= 0.
    p = PoissonDistribution(2.5)
    np.testing.assert_allclose(p.log_probability(np.array([0.0, 1.5, 2, 3.7])),
                               [-2.5, -1.41024677, -1.36056572, -1.84612944], rtol=1e-8)
    assert p.log_probability(-1.0) == -np.inf
    # A mixture of Poisson distributions over a real-valued column fits, never -inf everywhere.
    x = np.random.RandomState(0).gamma(2.0, 2.0, 500)[:, None]
    m = GeneralMixtureModel.from_samples(PoissonDistribution, 2, x, random_state=0)
    assert np.isfinite(m.log_probability(x)).all()
