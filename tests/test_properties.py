"""Property tests of the mathematical laws: statistics merge like the union of their rows,
n_jobs does not change results, JSON round trips are exact."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mixtura import (
    GeneralMixtureModel,
    IndependentComponentsDistribution,
    MultivariateGaussianDistribution,
    NormalDistribution,
)

finite = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False, allow_infinity=False)
positive = st.floats(min_value=1e-2, max_value=1e2)


def model_for(kind):
    if kind == "normal":
        return GeneralMixtureModel([NormalDistribution(-1, 2), NormalDistribution(3, 1)], [0.4, 0.6])
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


def rows(d):
    return hnp.arrays(np.float64, st.tuples(st.integers(2, 60), st.just(d)), elements=finite)


@settings(max_examples=40, deadline=None)
@given(kind=st.sampled_from(["normal", "icd", "mgd"]), data=st.data())
def test_summaries_of_parts_merge_to_the_summary_of_the_whole(kind, data):
    m = model_for(kind)
    X = data.draw(rows(m.d))
    cut = data.draw(st.integers(1, len(X) - 1))
    w = data.draw(hnp.arrays(np.float64, len(X), elements=st.floats(0.1, 10)))
    whole = model_for(kind)
    whole.summarize(X, w)
    parts = model_for(kind)
    parts.summarize(X[:cut], w[:cut])
    parts.summarize(X[cut:], w[cut:])
    np.testing.assert_allclose(parts.summaries, whole.summaries, rtol=1e-9, atol=1e-12)
    whole.from_summaries()
    parts.from_summaries()
    a, b = whole.to_dict(), parts.to_dict()
    np.testing.assert_allclose(a["weights"], b["weights"], rtol=1e-9, atol=1e-12)
    for da, db in zip(whole.distributions, parts.distributions):
        pa = np.hstack([np.ravel(p) for p in _flat(da)])
        pb = np.hstack([np.ravel(p) for p in _flat(db)])
        np.testing.assert_allclose(pa, pb, rtol=1e-7, atol=1e-9 * max(1.0, np.abs(pa).max()))


def _flat(d):
    if d.name == "IndependentComponentsDistribution":
        return [np.asarray(c.parameters, dtype=float) for c in d.distributions]
    return [np.asarray(p, dtype=float) for p in d.parameters]


@settings(max_examples=15, deadline=None)
@given(kind=st.sampled_from(["normal", "icd", "mgd"]), n=st.integers(1, 3000), seed=st.integers(0, 2**32 - 1))
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
