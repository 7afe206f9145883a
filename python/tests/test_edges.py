"""Numbers at the edges: no NaN from finite input, and data a fit cannot use are an error."""

import math

import numpy as np
import pytest

from mixtura import (
    BernoulliDistribution,
    DiscreteDistribution,
    ExponentialDistribution,
    GammaDistribution,
    GeneralMixtureModel,
    IndependentComponentsDistribution,
    LogNormalDistribution,
    MixturaError,
    MultivariateGaussianDistribution,
    NormalDistribution,
    PoissonDistribution,
)

LN_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def two_normals():
    return GeneralMixtureModel([NormalDistribution(0, 1), NormalDistribution(1, 1)])


def two_full():
    return GeneralMixtureModel([
        MultivariateGaussianDistribution([0.0, 0.0], np.eye(2)),
        MultivariateGaussianDistribution([1.0, 1.0], np.eye(2)),
    ])


# Rows so far out that every density underflows to 0.

def test_predict_of_a_row_no_component_produces_is_the_heaviest_component():
    # Its posterior is the prior, so its most probable component is the one of largest weight,
    # on the general path (normals) and on the Gaussian kernels' (full covariance) alike.
    heavy_second = GeneralMixtureModel([NormalDistribution(0, 1), NormalDistribution(1, 1)],
                                       weights=[0.3, 0.7])
    rows = np.array([[1e200], [-2.0], [-1e200]])
    np.testing.assert_array_equal(heavy_second.predict(rows), [1, 0, 1])
    np.testing.assert_array_equal(heavy_second.predict(rows),
                                  heavy_second.predict_proba(rows).argmax(axis=1))
    full = GeneralMixtureModel([
        MultivariateGaussianDistribution([0.0, 0.0], np.eye(2)),
        MultivariateGaussianDistribution([1.0, 1.0], np.eye(2)),
    ], weights=[0.2, 0.8])
    far = np.array([[1e155, 0.0], [-1.0, -1.0]])
    np.testing.assert_array_equal(full.predict(far), [1, 0])
    exp = GeneralMixtureModel([ExponentialDistribution(1.0), ExponentialDistribution(2.0)],
                              weights=[0.9, 0.1])
    assert exp.predict(np.array([[-1.0]])).tolist() == [0]


def test_a_row_far_out_has_log_probability_minus_inf():
    model = two_normals()
    assert model.log_probability(np.array([[1e200]])).tolist() == [-math.inf]
    for d in model.distributions:
        # One sample gives a number, as in pomegranate.
        assert d.log_probability(np.array([1e200])) == -math.inf
    np.testing.assert_array_equal(model.predict_proba(np.array([[1e200]])), [[0.5, 0.5]])
    np.testing.assert_array_equal(model.predict_log_proba(np.array([[1e200]])),
                                  [[math.log(0.5)] * 2])
    full = two_full()
    lp = full.log_probability(np.array([[1e155, 0.0], [0.0, 0.0]]))
    assert lp[0] == -math.inf and np.isfinite(lp[1])
    np.testing.assert_array_equal(full.predict_proba(np.array([[1e155, 0.0]])), [[0.5, 0.5]])


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_rows_far_out_leave_the_other_rows_bitwise_the_same(n_jobs):
    rng = np.random.RandomState(5)
    for model, X in [
        (two_normals(), rng.randn(700, 1)),
        (two_full(), rng.randn(700, 2)),
        (GeneralMixtureModel([
            MultivariateGaussianDistribution(np.zeros(6), np.eye(6)),
            MultivariateGaussianDistribution(np.ones(6), 2 * np.eye(6)),
        ]), rng.randn(700, 6)),
        (GeneralMixtureModel([
            IndependentComponentsDistribution([NormalDistribution(0, 1)] * 9),
            IndependentComponentsDistribution([NormalDistribution(1, 2)] * 9),
        ]), rng.randn(700, 9)),
    ]:
        far = X.copy()
        far[::50, 0] = 1e200
        plain = model.log_probability(X, n_jobs=n_jobs)
        lp = model.log_probability(far, n_jobs=n_jobs)
        out = np.zeros(len(X), dtype=bool)
        out[::50] = True
        assert (lp[out] == -math.inf).all()
        assert lp[~out].tobytes() == plain[~out].tobytes()
        post = model.predict_proba(far, n_jobs=n_jobs)
        assert not np.isnan(post).any()
        np.testing.assert_array_equal(post[out], np.full((out.sum(), 2), 0.5))


def test_rows_far_out_take_no_part_in_a_fit():
    rng = np.random.RandomState(1)
    X = np.concatenate([rng.randn(200) - 2, rng.randn(200) + 3])[:, None]
    far = X.copy()
    far[17, 0] = 1e200
    w = np.ones(len(X))
    w[17] = 0.0
    a = GeneralMixtureModel([NormalDistribution(-1, 1), NormalDistribution(1, 1)])
    _, history = a.fit(far, return_history=True)
    b = GeneralMixtureModel([NormalDistribution(-1, 1), NormalDistribution(1, 1)])
    b.fit(X, weights=w)
    assert a.to_json() == b.to_json()
    assert history.log_probabilities[-1] == -math.inf
    assert math.isfinite(b.log_probability(X).sum())


# Standard deviations so small that 1 / (2 sigma^2) overflows.

def test_a_tiny_standard_deviation_gives_finite_log_densities():
    got = NormalDistribution(0, 1e-155).log_probability(np.array([0.0]))
    assert got == -math.log(1e-155) - LN_SQRT_2PI
    assert abs(got - 355.98) < 0.01
    got = LogNormalDistribution(0, 1e-160).log_probability(np.array([1.0]))
    assert got == -math.log(1e-160) - LN_SQRT_2PI
    d = NormalDistribution(0, 1e-160)
    np.testing.assert_allclose(d.log_probability(np.array([1e-160, -2e-160])),
                               -math.log(1e-160) - LN_SQRT_2PI - np.array([0.5, 2.0]))
    assert d.log_probability(np.array([1.0])) == -math.inf


def test_a_component_of_tiny_std_keeps_its_rows():
    model = GeneralMixtureModel([NormalDistribution(0, 1e-160), NormalDistribution(1, 1)])
    np.testing.assert_allclose(model.predict_proba([[0.0]]), [[1.0, 0.0]], atol=1e-150)
    assert model.predict([[0.0], [1.0]]).tolist() == [0, 1]
    assert np.isfinite(model.log_probability([[0.0], [1e-160], [1.0]])).all()
    ic = GeneralMixtureModel([
        IndependentComponentsDistribution([NormalDistribution(0, 1e-160), NormalDistribution(0, 1)]),
        IndependentComponentsDistribution([NormalDistribution(1, 1), NormalDistribution(1, 1)]),
    ])
    np.testing.assert_allclose(ic.predict_proba([[0.0, 0.0]]), [[1.0, 0.0]], atol=1e-150)
    assert np.isfinite(ic.log_probability([[0.0, 0.0], [1.0, 1.0]])).all()


def test_fits_on_data_1e_160_apart_give_no_nan():
    X = np.array([0.0, 1e-160] * 50)[:, None]
    for model in [
        GeneralMixtureModel.from_samples(NormalDistribution, 2, X, random_state=0),
        GeneralMixtureModel.from_samples([NormalDistribution], 2, X, random_state=0),
        GeneralMixtureModel([NormalDistribution(0, 1e-160), NormalDistribution(1, 1)]).fit(X),
    ]:
        for v in (model.log_probability(X), model.predict_proba(X)):
            assert not np.isnan(v).any()
        assert "NaN" not in model.to_json()


# Data a fit cannot use.

def test_data_without_an_observed_value_are_an_error():
    X = np.full((6, 1), np.nan)
    with pytest.raises(ValueError, match="X: has no observed value"):
        two_normals().fit(X)
    with pytest.raises(MixturaError, match="no observed value"):
        GeneralMixtureModel.from_samples(NormalDistribution, 2, X)
    with pytest.raises(ValueError, match="no observed value"):
        GeneralMixtureModel.from_samples(MultivariateGaussianDistribution, 2,
                                         np.full((6, 2), np.nan))
    with pytest.raises(ValueError, match="no observed value"):
        GeneralMixtureModel.from_samples(NormalDistribution, 2, X, init="first-k")


@pytest.mark.parametrize("cls, value", [
    (ExponentialDistribution, -1.0),
    (PoissonDistribution, -1.0),
    (GammaDistribution, -1.0),
    (LogNormalDistribution, -1.0),
    (BernoulliDistribution, 0.5),
])
def test_data_no_component_can_produce_are_an_error(cls, value):
    X = np.full((8, 1), value) - np.arange(8)[:, None] * (value < 0)
    model = GeneralMixtureModel.from_samples(cls, 2, np.abs(X) if value < 0 else np.array(
        [[0.0], [1.0]] * 4), random_state=0)
    before = model.to_json()
    with pytest.raises(ValueError, match="no component can produce any row of X"):
        model.fit(X)
    assert model.to_json() == before
    with pytest.raises(ValueError, match="every row has density 0 under every component"):
        GeneralMixtureModel.from_samples(cls, 2, X)
    # Rows that only some components cannot produce keep the documented behaviour.
    mixed = X.copy()
    mixed[0, 0] = 1.0
    _, history = model.fit(mixed, return_history=True)
    assert history.log_probabilities[-1] == -math.inf


def test_symbols_outside_every_discrete_component_are_an_error():
    model = GeneralMixtureModel([
        DiscreteDistribution({"a": 0.5, "b": 0.5}),
        DiscreteDistribution({"a": 0.2, "b": 0.8}),
    ])
    X = np.array([["c"], ["d"], ["c"]], dtype=object)
    assert model.log_probability(X).tolist() == [-math.inf] * 3
    with pytest.raises(ValueError, match="no component can produce any row of X"):
        model.fit(X)
    mixed = np.array([["a"], ["d"], ["c"]], dtype=object)
    model.fit(mixed)
    assert np.isfinite(model.log_probability(mixed)[0])


def test_batches_without_an_observed_value_are_an_error():
    def batches():
        yield np.full((4, 1), np.nan), None
        yield np.full((3, 1), np.nan), None

    with pytest.raises(ValueError, match="no observed value"):
        two_normals().fit(batches)


def test_a_huge_standard_deviation_gives_finite_log_densities():
    # 1 / (2 sigma^2) is zero or subnormal: (x - mu)^2 overflows where x - mu is as large as
    # sigma, and inf * 0 must not give NaN.
    for sigma in (1.3407807929942597e154, 1e200, 1e300):
        d = NormalDistribution(0.0, sigma)
        got = d.log_probability(np.array([sigma, 0.0, -2 * sigma]))
        expected = -math.log(sigma) - LN_SQRT_2PI - np.array([0.5, 0.0, 2.0])
        np.testing.assert_allclose(got, expected, rtol=1e-12)
        model = GeneralMixtureModel([d, NormalDistribution(0, 1)])
        assert np.isfinite(model.log_probability(np.array([[sigma]]))).all()
        np.testing.assert_allclose(model.predict_proba(np.array([[sigma]])), [[1.0, 0.0]])


def test_rows_whose_distance_to_the_mean_overflows_have_density_zero():
    # x - mu overflows for finite x and mu near the largest double: -inf, never NaN, on the
    # components' own path and on the kernels' (whose origin, the mean of the means, overflows
    # against the rows too).
    m = GeneralMixtureModel([
        MultivariateGaussianDistribution([-1e308, 0.0], np.eye(2)),
        MultivariateGaussianDistribution([-1.7e308, 0.0], np.eye(2)),
    ])
    X = np.array([[1e308, 0.0], [-1e308, 0.0]])
    for d in m.distributions:
        assert not np.isnan(d.log_probability(X)).any()
    assert m.distributions[0].log_probability(X[:1]) == -math.inf
    lp = m.log_probability(X)
    assert lp[0] == -math.inf and np.isfinite(lp[1])
    np.testing.assert_array_equal(m.predict_proba(X), [[0.5, 0.5], [1.0, 0.0]])
