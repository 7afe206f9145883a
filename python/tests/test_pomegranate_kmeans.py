"""Differential tests of ``Kmeans`` (and of the k-means initialisation of ``from_samples``)
against pomegranate 0.14.8 (the ``protopunica`` package), with the oracle harness of
``test_pomegranate.py`` (one oracle launch per test group; skipped when the oracle is missing).

Only deterministic initialisations are compared (first-k and given centroids): the random ones
draw from different generators. Where pomegranate 0.14.8 differs by a bug, the cases avoid it:

- its ``summarize`` and stop rule add up unweighted distances (mixtura weighs them, as the
  centroids are weighted means), so weighted fits run a fixed number of iterations;
- it leaves a centroid coordinate unchanged when the weighted sum of its values is exactly 0
  (mixtura moves it to the mean, 0): the data have no such cluster;
- without ``batch_size`` it initialises on the first ``1 / n_jobs`` of the rows: ``n_jobs=1``.
"""

import json

import numpy as np
import pytest

import mixtura
from mixtura import Kmeans
from test_pomegranate import assert_close, oracle

RTOL = 1e-12
ATOL = 1e-12


def _data():
    rng = np.random.RandomState(7)
    X = np.vstack([rng.randn(40, 3) + [0, 0, 0], rng.randn(35, 3) * 0.7 + [4, 1, -2],
                   rng.randn(25, 3) * 1.3 + [-3, 5, 2]])
    X = X[rng.permutation(len(X))]
    Xn = X.copy()
    Xn[rng.rand(*X.shape) < 0.1] = np.nan
    Xn[3] = [np.nan, 0.5, np.nan]
    w = rng.uniform(0.2, 3.0, size=len(X))
    return X, Xn, w


X, XN, W = _data()
SMALL = np.array([[0.0], [1.0], [2.0], [10.0], [3.0], [4.0]])
START = np.array([[0.5, 0.5, 0.5], [3.0, 1.0, -1.0], [-2.0, 4.0, 1.0]])

# name -> (data, weights, constructor init, fit keywords)
FIT_CASES = {
    "small-2-iterations": ("small", None, "first-k", {"max_iterations": 2}),
    "small-cleared": ("small", None, "first-k", {"max_iterations": 2, "clear_summaries": True}),
    "first-k": ("X", None, "first-k", {}),
    "first-k-nan": ("XN", None, "first-k", {}),
    "first-k-cleared": ("X", None, "first-k", {"clear_summaries": True}),
    "first-k-auto": ("X", None, "first-k", {"clear_summaries": "auto"}),
    "first-k-inertia": ("X", None, "first-k", {"inertia": 0.3, "max_iterations": 6}),
    "weighted": ("XN", "W", "first-k",
                 {"stop_threshold": float("-inf"), "max_iterations": 5}),
    "weighted-cleared": ("X", "W", "first-k",
                         {"stop_threshold": float("-inf"), "max_iterations": 5,
                          "clear_summaries": True}),
    "minibatch": ("X", None, "first-k", {"batch_size": 10, "batches_per_epoch": 1}),
    "minibatch-ragged": ("XN", None, "first-k",
                         {"batch_size": 13, "batches_per_epoch": 3, "max_iterations": 9,
                          "stop_threshold": float("-inf")}),
    "minibatch-cleared": ("X", None, "first-k",
                          {"batch_size": 20, "batches_per_epoch": 2, "clear_summaries": True,
                           "max_iterations": 7, "stop_threshold": float("-inf")}),
    "batch-size-alone": ("X", None, "first-k", {"batch_size": 30}),
    "given-centroids": ("X", None, "START", {}),
    "given-centroids-nan": ("XN", None, "START", {"max_iterations": 3}),
    "given-no-update": ("X", None, "START", {"max_iterations": 0}),
}

_FIT_SCRIPT = r'''
data = {"small": arr("small"), "X": arr("X"), "XN": arr("XN")}
for name, (key, wkey, init, kw) in payload["cases"].items():
    init = arr("START") if init == "START" else init
    w = None if wkey is None else arr(wkey)
    km = pg.Kmeans(3 if key != "small" else 2, init=init, n_init=1)
    km.fit(data[key], weights=w, **kw)
    result[name] = km.centroids
'''


@pytest.fixture(scope="module")
def fitted():
    return oracle(_FIT_SCRIPT, {"cases": FIT_CASES, "small": SMALL, "X": X, "XN": XN, "W": W,
                                "START": START})


@pytest.mark.parametrize("name", sorted(FIT_CASES))
def test_fit_matches_pomegranate(fitted, name):
    key, wkey, init, kw = FIT_CASES[name]
    data = {"small": SMALL, "X": X, "XN": XN}[key]
    init = START if init == "START" else init
    km = Kmeans(3 if key != "small" else 2, init=init, n_init=1)
    km.fit(data, weights=None if wkey is None else W, **kw)
    assert_close(km.centroids, fitted[name], RTOL, ATOL, name)


def test_accumulated_statistics_pin_pomegranate_numbers():
    # The example: pomegranate keeps the statistics of every iteration by default.
    km = Kmeans(2, init="first-k").fit(SMALL, max_iterations=2)
    np.testing.assert_array_equal(km.centroids.ravel(), [0.75, 4.625])
    km = Kmeans(2, init="first-k").fit(SMALL, max_iterations=2, clear_summaries=True)
    np.testing.assert_allclose(km.centroids.ravel(), [1.0, 17.0 / 3.0], rtol=1e-15)


def test_minibatches_differ_from_the_full_batch():
    full = Kmeans(3, init="first-k").fit(X).centroids
    mini = Kmeans(3, init="first-k").fit(X, batch_size=5, batches_per_epoch=1).centroids
    assert not np.allclose(full, mini)
    # batch_size alone only cuts the work: the same centroids.
    chunked = Kmeans(3, init="first-k").fit(X, batch_size=7).centroids
    np.testing.assert_allclose(chunked, full, rtol=1e-12)


_PREDICT_SCRIPT = r'''
km = pg.Kmeans(3, init=arr("START"))
result["predict"] = km.predict(arr("XN"))
result["distance"] = km.distance(arr("XN"))
result["json"] = km.to_json()
result["d"] = km.d
result["k"] = km.k
fitted = pg.Kmeans(3, init="first-k", n_init=1).fit(arr("X"))
result["fitted_json"] = fitted.to_json()
result["fitted_dict"] = fitted.to_dict()
loaded = pg.Kmeans.from_json(payload["ours"])
result["loaded_centroids"] = loaded.centroids
result["loaded_predict"] = loaded.predict(arr("X"))
'''


@pytest.fixture(scope="module")
def given():
    ours = Kmeans(3, init="first-k", n_init=1).fit(XN, max_iterations=4).to_json()
    return ours, oracle(_PREDICT_SCRIPT, {"START": START, "X": X, "XN": XN, "ours": ours})


def test_given_centroids_predict_before_any_fit(given):
    _, res = given
    km = Kmeans(3, init=START)
    assert (km.k, km.d) == (res["k"], res["d"]) == (3, 3)
    np.testing.assert_array_equal(km.centroids, START)
    np.testing.assert_array_equal(km.predict(XN), res["predict"])
    np.testing.assert_array_equal(km.predict(XN, n_jobs=2), res["predict"])


def test_distance_skips_missing_values_as_pomegranate(given):
    _, res = given
    km = Kmeans(3, init=START)
    assert_close(km.distance(XN), res["distance"], 1e-13, 1e-13, "distance")
    # Squared Euclidean distances over the observed coordinates.
    row = XN[3]
    seen = ~np.isnan(row)
    expected = ((START[:, seen] - row[seen]) ** 2).sum(axis=1)
    np.testing.assert_allclose(km.distance(XN[3:4])[0], expected, rtol=1e-15)
    np.testing.assert_array_equal(km.distance(XN, n_jobs=2), km.distance(XN))


def test_json_is_pomegranate_text_both_ways(given):
    ours, res = given
    assert Kmeans(3, init=START).to_json() == res["json"]
    fitted = Kmeans(3, init="first-k", n_init=1).fit(X)
    assert fitted.to_json() == res["fitted_json"]
    assert fitted.to_dict() == res["fitted_dict"]
    # pomegranate's documents load here, and ours there.
    theirs = Kmeans.from_json(res["fitted_json"])
    np.testing.assert_array_equal(theirs.centroids, fitted.centroids)
    assert isinstance(mixtura.from_json(res["fitted_json"]), Kmeans)
    np.testing.assert_array_equal(res["loaded_centroids"], Kmeans.from_json(ours).centroids)
    np.testing.assert_array_equal(res["loaded_predict"], Kmeans.from_json(ours).predict(X))


# from_samples with batch_size on an array: k-means on the first batch only, as pomegranate.
# (With batches_per_epoch, EM's epochs differ by design: mixtura's move on through the data,
# pomegranate's restart at the first batch; the README lists it. That case compares the
# initialisation and the first M-step, on the first batch in both.)
GMM_CASES = {
    "batch-first-k": {"batch_size": 30},
    "minibatch-first-k": {"batch_size": 40, "batches_per_epoch": 1, "max_iterations": 1},
    "kmeans-iterations": {"max_kmeans_iterations": 4},
    "batch-kmeans-iterations": {"batch_size": 50, "max_kmeans_iterations": 3},
}

_GMM_SCRIPT = r'''
for name, kw in payload["cases"].items():
    m = pg.GeneralMixtureModel.from_samples(pg.MultivariateGaussianDistribution, 3, arr("X"),
                                            init="first-k", **kw)
    result[name] = json.loads(m.to_json())
'''


@pytest.fixture(scope="module")
def gmm_fits():
    return oracle(_GMM_SCRIPT, {"cases": GMM_CASES, "X": X})


@pytest.mark.parametrize("name", sorted(GMM_CASES))
def test_from_samples_initialises_on_the_first_batch(gmm_fits, name):
    kw = GMM_CASES[name]
    ours = mixtura.GeneralMixtureModel.from_samples(
        mixtura.MultivariateGaussianDistribution, 3, X, init="first-k", **kw)
    theirs = gmm_fits[name]
    doc = json.loads(ours.to_json())
    assert_close(doc["weights"], theirs["weights"], 1e-8, 1e-10, f"{name} weights")
    for a, b in zip(doc["distributions"], theirs["distributions"]):
        assert_close(a["parameters"][0], b["parameters"][0], 1e-8, 1e-10, f"{name} means")
        assert_close(a["parameters"][1], b["parameters"][1], 1e-8, 1e-10, f"{name} covariances")


def test_from_samples_array_and_batches_agree():
    # The same rows and batches give the same model whether passed as an array or as batches
    # (up to the order of the sums: an array's epoch of every batch is summarised in one pass).
    b = 30
    arr_model = mixtura.GeneralMixtureModel.from_samples(
        mixtura.NormalDistribution, 3, X, init="first-k", batch_size=b, max_iterations=5)
    batches = [X[i:i + b] for i in range(0, len(X), b)]
    gen_model = mixtura.GeneralMixtureModel.from_samples(
        mixtura.NormalDistribution, 3, lambda: iter(batches), init="first-k", max_iterations=5)
    a, g = json.loads(arr_model.to_json()), json.loads(gen_model.to_json())
    assert_close(a["weights"], g["weights"], 1e-12, 1e-14, "weights")
    for da, dg in zip(a["distributions"], g["distributions"]):
        for ca, cg in zip(da["parameters"][0], dg["parameters"][0]):
            assert_close(ca["parameters"], cg["parameters"], 1e-12, 1e-14, "parameters")
