"""Property tests of the mathematical laws: statistics merge like the union of their rows,
n_jobs does not change results, JSON round trips are exact."""

import numpy as np
import pytest
from hypothesis import given, settings
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

finite = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False, allow_infinity=False)
positive = st.floats(min_value=1e-2, max_value=1e2)


def model_for(kind):
    if kind == "normal":
        return GeneralMixtureModel([NormalDistribution(-1, 2), NormalDistribution(3, 1)], [0.4, 0.6])
    if kind == "positive":
        return GeneralMixtureModel(
            [
                IndependentComponentsDistribution(
                    [LogNormalDistribution(0, 1), ExponentialDistribution(1), GammaDistribution(2, 1)]
                ),
                IndependentComponentsDistribution(
                    [LogNormalDistribution(2, 0.5), ExponentialDistribution(0.1), GammaDistribution(9, 2)]
                ),
            ]
        )
    if kind == "counts":
        return GeneralMixtureModel(
            [
                IndependentComponentsDistribution(
                    [PoissonDistribution(1), BernoulliDistribution(0.2), UniformDistribution(-1, 60)]
                ),
                IndependentComponentsDistribution(
                    [PoissonDistribution(8), BernoulliDistribution(0.7), UniformDistribution(-1, 60)]
                ),
            ]
        )
    if kind == "icd":
        return GeneralMixtureModel(
            [
                IndependentComponentsDistribution([NormalDistribution(0, 1), NormalDistribution(1, 2)]),
                IndependentComponentsDistribution([NormalDistribution(4, 1), NormalDistribution(-3, 1)]),
            ]
        )
    return GeneralMixtureModel(
        [
            MultivariateGaussianDistribution([0, 0], [[2, 0.5], [0.5, 1]]),
            MultivariateGaussianDistribution([3, -1], [[1, -0.2], [-0.2, 0.5]]),
        ]
    )


def rows(d, kind="normal"):
    if kind == "positive":
        elements = st.floats(min_value=1e-3, max_value=1e3)
    elif kind == "counts":
        return st.integers(2, 60).flatmap(
            lambda n: st.tuples(
                hnp.arrays(np.float64, (n, 1), elements=st.integers(0, 50).map(float)),
                hnp.arrays(np.float64, (n, 1), elements=st.sampled_from([0.0, 1.0])),
                hnp.arrays(np.float64, (n, 1), elements=st.floats(-1, 60)),
            ).map(lambda cols: np.hstack(cols))
        )
    else:
        elements = finite
    return hnp.arrays(np.float64, st.tuples(st.integers(2, 60), st.just(d)), elements=elements)


@settings(max_examples=60, deadline=None)
@given(kind=st.sampled_from(["normal", "icd", "mgd", "positive", "counts"]), data=st.data())
def test_summaries_of_parts_merge_to_the_summary_of_the_whole(kind, data):
    m = model_for(kind)
    X = data.draw(rows(m.d, kind))
    cut = data.draw(st.integers(1, len(X) - 1))
    w = data.draw(hnp.arrays(np.float64, len(X), elements=st.floats(0.1, 10)))
    whole = model_for(kind)
    whole.summarize(X, w)
    parts = model_for(kind)
    parts.summarize(X[:cut], w[:cut])
    parts.summarize(X[cut:], w[cut:])
    np.testing.assert_allclose(parts.summaries, whole.summaries, rtol=1e-9, atol=1e-12)
    assert parts._summary.log_likelihood == pytest.approx(whole._summary.log_likelihood, rel=1e-9)
    for a, b in zip(parts._summary.values(), whole._summary.values()):
        a, b = np.array(a), np.array(b)
        scale = max(1.0, np.abs(b[np.isfinite(b)]).max(initial=0.0))
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12 * scale)


@settings(max_examples=15, deadline=None)
@given(kind=st.sampled_from(["normal", "icd", "mgd", "positive", "counts"]), n=st.integers(1, 3000), seed=st.integers(0, 2**32 - 1))
def test_n_jobs_does_not_change_results(kind, n, seed):
    m = model_for(kind)
    X = np.reshape(m.sample(n, random_state=seed), (n, m.d))
    fits = [model_for(kind).fit(X, max_iterations=3, n_jobs=j).to_json() for j in (1, 2, 3)]
    assert fits[0] == fits[1] == fits[2]
    lp = [m.log_probability(X, n_jobs=j) for j in (1, 2, 4)]
    assert all(np.array_equal(lp[0], x) for x in lp[1:])


@settings(max_examples=60, deadline=None)
@given(
    means=st.lists(finite, min_size=1, max_size=4),
    stds=st.lists(positive, min_size=4, max_size=4),
    weights=st.lists(st.floats(1e-3, 1e3), min_size=4, max_size=4),
)
def test_json_round_trip_is_exact(means, stds, weights):
    k = len(means)
    m = GeneralMixtureModel(
        [NormalDistribution(mu, s) for mu, s in zip(means, stds)], weights=weights[:k]
    )
    text = m.to_json()
    back = GeneralMixtureModel.from_json(text)
    assert back.to_json() == text
    np.testing.assert_array_equal(back.weights, m.weights)
    for a, b in zip(back.distributions, m.distributions):
        assert a.parameters == b.parameters
