"""The public Kmeans class: pomegranate 0.14's API (given centroids, distance, mini-batches,
summarize / from_summaries / clear_summaries, documents), its laws and its errors."""

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mixtura
from mixtura import Kmeans, MixturaError, _core


def _blobs(n=300, seed=0):
    rng = np.random.RandomState(seed)
    X = np.vstack([rng.randn(n // 3, 2) + c for c in ([0, 0], [6, 1], [2, 7])])
    return X[rng.permutation(len(X))]


X = _blobs()
START = [[0.5, 0.5], [4.5, 1.5], [1.5, 5.5]]


def test_given_centroids_are_a_usable_model():
    km = Kmeans(3, init=START)
    assert km.k == 3 and km.d == 2
    np.testing.assert_array_equal(km.centroids, START)
    labels = km.predict(X, n_jobs=2)
    expected = ((X[:, None, :] - np.array(START)[None]) ** 2).sum(-1).argmin(1)
    np.testing.assert_array_equal(labels, expected)
    # A method's name: nothing to predict with before a fit; d is 0 as in pomegranate.
    km = Kmeans(3)
    assert km.centroids is None and km.d == 0
    with pytest.raises(ValueError, match="not fitted"):
        km.predict(X)
    with pytest.raises(ValueError, match="not fitted"):
        km.to_json()


def test_fit_continues_from_the_models_centroids():
    km = Kmeans(3, init="first-k").fit(X, max_iterations=1, clear_summaries=True)
    once = km.centroids
    km.fit(X, max_iterations=1, clear_summaries=True)
    again = Kmeans(3, init=once).fit(X, max_iterations=1, clear_summaries=True)
    np.testing.assert_array_equal(km.centroids, again.centroids)
    # Centroids may be set, as pomegranate's public attribute.
    km.centroids = START
    np.testing.assert_array_equal(km.centroids, START)
    with pytest.raises(ValueError, match="k=3"):
        km.centroids = [[0.0, 0.0]]


def test_stateful_statistics():
    km = Kmeans(3, init=START)
    total = km.summarize(X[:100]) + km.summarize(X[100:], weights=np.ones(len(X) - 100))
    np.testing.assert_allclose(total, km.distance(X).min(axis=1).sum(), rtol=1e-12)
    km.from_summaries(clear_summaries=False)
    step = km.centroids
    # The same as one Lloyd update from the same centroids.
    ref = Kmeans(3, init=START).fit(X, max_iterations=1, clear_summaries=True)
    np.testing.assert_allclose(step, ref.centroids, rtol=1e-12)
    # Kept statistics apply again: centroids already at their means stay, inertia or not.
    km.from_summaries(inertia=0.5)
    np.testing.assert_allclose(km.centroids, step, rtol=1e-12)
    # Cleared: from_summaries without statistics leaves the centroids.
    km.from_summaries()
    np.testing.assert_allclose(km.centroids, step, rtol=1e-12)
    km.summarize(X)
    km.clear_summaries()
    km.from_summaries()
    np.testing.assert_allclose(km.centroids, step, rtol=1e-12)
    with pytest.raises(ValueError, match="inertia"):
        km.summarize(X)
        km.from_summaries(inertia=2.0)
    with pytest.raises(ValueError, match="not fitted"):
        Kmeans(3).summarize(X)
    with pytest.raises(ValueError):
        km.summarize(np.ones((3, 5)))


def test_clear_summaries_options():
    a = Kmeans(3, init="first-k").fit(X, clear_summaries="auto")
    b = Kmeans(3, init="first-k").fit(X, clear_summaries=True)
    np.testing.assert_array_equal(a.centroids, b.centroids)
    c = Kmeans(3, init="first-k").fit(X, batch_size=50, batches_per_epoch=2,
                                      clear_summaries="auto", max_iterations=5)
    d = Kmeans(3, init="first-k").fit(X, batch_size=50, batches_per_epoch=2,
                                      clear_summaries=False, max_iterations=5)
    np.testing.assert_array_equal(c.centroids, d.centroids)
    with pytest.raises(ValueError, match="clear_summaries"):
        Kmeans(3).fit(X, clear_summaries="sometimes")


def test_documents_and_pickle(tmp_path):
    km = Kmeans.from_samples(3, X, init="kmeans++", random_state=0)
    text = km.to_json()
    assert text.startswith('{\n    "class" : "Kmeans",\n    "k" : 3,\n    "centroids" : [')
    for loaded in (Kmeans.from_json(text), mixtura.from_json(text), Kmeans.from_dict(km.to_dict()),
                   mixtura.from_dict(km.to_dict()), Kmeans.from_yaml(km.to_yaml()),
                   pickle.loads(pickle.dumps(km))):
        assert isinstance(loaded, Kmeans)
        np.testing.assert_array_equal(loaded.centroids, km.centroids)
    path = tmp_path / "km.json"
    path.write_text(text)
    np.testing.assert_array_equal(Kmeans.from_json(str(path)).centroids, km.centroids)
    unfitted = pickle.loads(pickle.dumps(Kmeans(4, init="random", n_init=2)))
    assert (unfitted.k, unfitted.init, unfitted.n_init, unfitted.centroids) == (4, "random", 2, None)
    for bad in ('{"class": "Kmeans", "k": 2, "centroids": [[1.0]]}',
                '{"class": "Kmeans", "k": 1, "centroids": [[NaN]]}',
                '{"class": "Kmeans", "k": 1}',
                '{"class": "GeneralMixtureModel", "k": 1, "centroids": [[1.0]]}'):
        with pytest.raises(MixturaError):
            Kmeans.from_json(bad)


def test_verbose_prints_pomegranates_lines(capsys):
    Kmeans(3, init="first-k").fit(X, verbose=True, max_iterations=3,
                                  stop_threshold=float("-inf"))
    out = capsys.readouterr().out.splitlines()
    assert [line.split("]")[0] for line in out[:3]] == ["[1", "[2", "[3"]
    assert "Improvement: " in out[0] and "\tTime (s): " in out[0]
    assert out[3].startswith("Total Improvement: ") and out[4].startswith("Total Time (s): ")


def test_bad_arguments_name_the_parameter():
    with pytest.raises(ValueError, match="init"):
        Kmeans(3, init="nope")
    with pytest.raises(TypeError, match="k"):
        Kmeans("3")
    with pytest.raises(ValueError, match="batch_size"):
        Kmeans(3).fit(X, batch_size=0)
    with pytest.raises(ValueError, match="batch_size"):
        Kmeans(5, init="first-k").fit(X, batch_size=4)
    with pytest.raises(ValueError, match="batches_per_epoch"):
        Kmeans(3).fit(X, batch_size=10, batches_per_epoch=0)
    with pytest.raises(ValueError, match="inertia"):
        Kmeans(3).fit(X, inertia=-0.1)
    with pytest.raises(TypeError, match="inertia"):
        Kmeans(3).fit(X, inertia="a lot")
    with pytest.raises(TypeError):
        Kmeans(3).fit(X, lr_decay=0.5)
    with pytest.raises(ValueError, match="X"):
        Kmeans(3, init=START).predict(np.ones((2, 3)))
    with pytest.raises(ValueError, match="X"):
        Kmeans(3, init=START).distance([[np.inf, 0.0]])


def test_n_jobs_does_not_change_kmeans():
    rng = np.random.RandomState(1)
    Y = rng.randn(5000, 4)
    Y[rng.rand(*Y.shape) < 0.05] = np.nan
    fits = [Kmeans(4, init="kmeans++", n_init=2).fit(Y, n_jobs=j, random_state=3,
                                                    batch_size=700, batches_per_epoch=2)
            for j in (1, 2, 3)]
    for f in fits[1:]:
        np.testing.assert_array_equal(f.centroids, fits[0].centroids)
        np.testing.assert_array_equal(f.distance(Y, n_jobs=3), fits[0].distance(Y))


rows = st.lists(st.lists(st.floats(-1e3, 1e3), min_size=2, max_size=2), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(a=rows, b=rows, wa=st.floats(0.1, 5.0), wb=st.floats(0.1, 5.0))
def test_statistics_of_a_merged_with_b_are_those_of_both(a, b, wa, wb):
    core = _core.Kmeans(np.array(START))
    A, B = np.array(a), np.array(b)
    sa = core.summarize(A, np.full(len(A), wa))
    sb = core.summarize(B, np.full(len(B), wb))
    both = core.summarize(np.vstack([A, B]), np.r_[np.full(len(A), wa), np.full(len(B), wb)])
    sa.merge(sb)
    np.testing.assert_allclose(sa.sums, both.sums, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(sa.weights, both.weights, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(sa.distance, both.distance, rtol=1e-12, atol=1e-9)
    # Statistics are values: rebuilt from their parts, they are the same.
    again = _core.KmeansSummary(sa.sums, sa.weights, sa.distance)
    np.testing.assert_array_equal(again.sums, sa.sums)


@settings(max_examples=40, deadline=None)
@given(c=st.lists(st.lists(st.floats(-1e6, 1e6), min_size=3, max_size=3), min_size=1,
                  max_size=5))
def test_documents_round_trip_exactly(c):
    km = Kmeans(len(c), init=c)
    loaded = Kmeans.from_json(km.to_json())
    np.testing.assert_array_equal(loaded.centroids, np.array(c))
    assert loaded.to_json() == km.to_json()
