"""float32 rows: read in place by the extension (C or Fortran order, strided, memmaps).
Mixtures of normals in eight features or more, and of multivariate Gaussians in fewer than 128,
compute on them in float32 lanes (the same bits in every layout and on any number of threads,
within 1e-5 of float64); everything else converts a
block of rows to float64 at a time, so that its results equal those of the same values as
float64, bit for bit (that no whole float64 copy is made is tested under a memory limit in
test_memory.py)."""

import numpy as np
import pytest
from test_families import PythonNormal

import mixtura
from mixtura import (
    GeneralMixtureModel,
    IndependentComponentsDistribution,
    Kmeans,
    MultivariateGaussianDistribution,
    NormalDistribution,
    _checks,
)


def _rows(n=4000, d=4, seed=0):
    rng = np.random.RandomState(seed)
    centres = rng.randn(3, d) * 4
    X = np.vstack([rng.randn(n // 3, d) * (0.5 + j * 0.3) + centres[j] for j in range(3)])
    X32 = X[rng.permutation(len(X))].astype(np.float32)
    return X32, X32.astype(np.float64)


X32, X64 = _rows()


def _layouts(x32, tmp_path):
    """The same float32 rows as C order, Fortran order and a read-only memmap."""
    path = tmp_path / "rows.f32"
    x32.tofile(path)
    mm = np.memmap(path, dtype=np.float32, mode="r", shape=x32.shape)
    return {"C": x32, "F": np.asfortranarray(x32), "memmap": mm}


def test_as_rows_keeps_float32_arrays_as_they_are(tmp_path):
    for name, x in _layouts(X32, tmp_path).items():
        rows = _checks.as_rows(x)
        assert rows.dtype == np.float32, name
        assert np.shares_memory(rows, x), name
    # A 1-D float32 column is a view too; anything else is float64 as before.
    col = X32[:, 0]
    assert np.shares_memory(_checks.as_rows(col), col)
    assert _checks.as_rows(X32.tolist()).dtype == np.float64
    assert _checks.as_rows(X32.astype(np.float16)).dtype == np.float64
    assert _checks.as_matrix(X32).dtype == np.float64
    # Another byte order is copied once, as float32.
    swapped = X32.astype(">f4")
    assert _checks.as_rows(swapped).dtype == np.float32


@pytest.mark.parametrize("dist", ["full", "diagonal"])
def test_a_float32_fit_is_the_fit_of_its_float64_values(dist, tmp_path):
    # Full covariance in 128 features and normals in 4 take no float32 lanes.
    if dist == "full":
        classes = MultivariateGaussianDistribution
        x32, x64 = _rows(1500, 128, 3)
    else:
        classes = [NormalDistribution] * 4
        x32, x64 = X32, X64
    want = GeneralMixtureModel.from_samples(classes, 3, x64, max_iterations=5, random_state=1)
    for name, x in _layouts(x32, tmp_path).items():
        for n_jobs in (1, 2):
            got = GeneralMixtureModel.from_samples(
                classes, 3, x, max_iterations=5, random_state=1, n_jobs=n_jobs)
            assert got.to_json() == want.to_json(), (name, n_jobs)
            for method in ("log_probability", "predict_proba", "predict_log_proba", "predict"):
                np.testing.assert_array_equal(
                    getattr(got, method)(x, n_jobs=n_jobs), getattr(want, method)(x64), method)
            assert got.bic(x) == want.bic(x64)
    # A model fitted on float64 rows predicts float32 rows, and the other way round.
    np.testing.assert_array_equal(want.predict_proba(x32), got.predict_proba(x64))


def _parameters(model):
    """The means, standard deviations and weights of a mixture of products of normals."""
    d = model.to_dict()
    values = [p for c in d["distributions"] for n in c["parameters"][0] for p in n["parameters"]]
    return np.array(values + list(model.weights))


def test_a_wide_diagonal_float32_fit_is_within_1e5_of_the_float64_fit(tmp_path):
    # Normals per feature in eight features or more compute in float32 lanes: the same bits in
    # every layout and on any number of threads, within 1e-5 of the float64 fit.
    x32, x64 = _rows(3000, 9, 1)
    classes = [NormalDistribution] * x32.shape[1]
    want = GeneralMixtureModel.from_samples(classes, 3, x64, max_iterations=5, random_state=1)
    first = None
    for name, x in _layouts(x32, tmp_path).items():
        for n_jobs in (1, 2):
            got = GeneralMixtureModel.from_samples(
                classes, 3, x, max_iterations=5, random_state=1, n_jobs=n_jobs)
            first = first or got
            assert got.to_json() == first.to_json(), (name, n_jobs)
            np.testing.assert_allclose(_parameters(got), _parameters(want), rtol=1e-5)
            for method in ("log_probability", "predict_proba", "predict_log_proba"):
                np.testing.assert_allclose(
                    getattr(got, method)(x, n_jobs=n_jobs), getattr(got, method)(x64),
                    rtol=1e-5, atol=1e-6, err_msg=method)
            np.testing.assert_array_equal(got.predict(x), got.predict(x64))
            assert abs(got.bic(x) - want.bic(x64)) <= 1e-5 * abs(want.bic(x64))
    assert first.to_json() != want.to_json()


def test_a_full_covariance_float32_fit_is_within_1e5_of_the_float64_fit(tmp_path):
    # Multivariate Gaussians in five features or more compute in float32 lanes too.
    x32, x64 = _rows(3000, 9, 2)
    cls = MultivariateGaussianDistribution
    want = GeneralMixtureModel.from_samples(cls, 3, x64, max_iterations=5, random_state=1)
    first = None
    for name, x in _layouts(x32, tmp_path).items():
        for n_jobs in (1, 2):
            got = GeneralMixtureModel.from_samples(
                cls, 3, x, max_iterations=5, random_state=1, n_jobs=n_jobs)
            first = first or got
            assert got.to_json() == first.to_json(), (name, n_jobs)
            np.testing.assert_allclose(got.weights, want.weights, rtol=1e-5)
            for g, w in zip(got.distributions, want.distributions):
                np.testing.assert_allclose(g.mu, w.mu, rtol=1e-5)
                # Each covariance against the scale of its two variances.
                scale = np.sqrt(np.outer(np.diag(w.cov), np.diag(w.cov)))
                assert np.all(np.abs(g.cov - w.cov) <= 1e-5 * scale)
            for method in ("log_probability", "predict_proba", "predict_log_proba"):
                np.testing.assert_allclose(
                    getattr(got, method)(x, n_jobs=n_jobs), getattr(got, method)(x64),
                    rtol=1e-5, atol=1e-6, err_msg=method)
            np.testing.assert_array_equal(got.predict(x), got.predict(x64))
    assert first.to_json() != want.to_json()


def test_fit_summarize_and_missing_values_of_float32_rows():
    x32 = X32.copy()
    x32[::17, 1] = np.nan
    x64 = x32.astype(np.float64)
    start = GeneralMixtureModel([
        IndependentComponentsDistribution([NormalDistribution(m, 2.0) for m in (c, c, -c, c)])
        for c in (-3.0, 0.0, 3.0)
    ])
    a, b = start.copy(), start.copy()
    a.fit(x32[::-1], max_iterations=4, n_jobs=2)
    b.fit(np.ascontiguousarray(x64[::-1]), max_iterations=4)
    assert a.to_json() == b.to_json()
    a.clear_summaries()
    b.clear_summaries()
    assert a.summarize(x32) == b.summarize(x64)
    np.testing.assert_array_equal(a.summaries, b.summaries)


def test_kmeans_of_float32_rows_is_kmeans_of_their_float64_values(tmp_path):
    for init in ("kmeans++", "kmeans||", "random", "first-k"):
        want = Kmeans(3, init=init, n_init=2).fit(X64, random_state=3)
        for name, x in _layouts(X32, tmp_path).items():
            got = Kmeans(3, init=init, n_init=2).fit(x, random_state=3)
            np.testing.assert_array_equal(got.centroids, want.centroids, (init, name))
            np.testing.assert_array_equal(got.predict(x), want.predict(X64))
            np.testing.assert_array_equal(got.distance(x), want.distance(X64))


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_scikit_learn_fit_of_float32_rows(covariance_type):
    pytest.importorskip("sklearn")
    # Full and tied covariance in 128 features, diagonal and spherical in 4: no float32 lanes,
    # so the float32 fit is the float64 one.
    x32, x64 = (_rows(1500, 128, 3) if covariance_type in ("full", "tied") else (X32, X64))
    want = mixtura.GaussianMixture(3, covariance_type=covariance_type, random_state=0,
                                   max_iter=5).fit(x64)
    for x in (x32, np.asfortranarray(x32)):
        got = mixtura.GaussianMixture(3, covariance_type=covariance_type, random_state=0,
                                      max_iter=5, n_jobs=2).fit(x)
        # float32 in, float32 attributes out (scikit-learn's rule), from the same float64 fit.
        assert got.means_.dtype == np.float32
        np.testing.assert_array_equal(got.means_, want.means_.astype(np.float32))
        assert got.lower_bound_ == want.lower_bound_
        np.testing.assert_array_equal(got.fit_predict(x), want.predict(x64))


@pytest.mark.parametrize("covariance_type", ["diag", "full"])
def test_scikit_learn_predictions_of_float32_rows(covariance_type):
    pytest.importorskip("sklearn")
    gm = mixtura.GaussianMixture(3, covariance_type=covariance_type, random_state=0,
                                 max_iter=5).fit(X64)
    for x in (X32, np.asfortranarray(X32)):
        np.testing.assert_array_equal(gm.predict(x), gm.predict(X64))
        # float32 in, float32 out (scikit-learn's rule): diagonal in 4 features from the same
        # float64 numbers, full covariance from the float32 lanes, within float32's rounding.
        want = gm.score_samples(X64).astype(np.float32)
        if covariance_type == "diag":
            np.testing.assert_array_equal(gm.score_samples(x), want)
        else:
            np.testing.assert_allclose(gm.score_samples(x), want, rtol=1e-6)
        assert gm.predict_proba(x).dtype == np.float32


class _SeenNormal(PythonNormal):
    """A normal written in Python whose from_samples computes in the rows' own dtype (as a
    user's numpy code would) and records that dtype."""

    seen: list = []

    @classmethod
    def from_samples(cls, X, weights=None):
        X = np.asarray(X).ravel()
        cls.seen.append(X.dtype)
        return cls(X.mean(), X.std())


def test_from_samples_with_python_classes_sees_float64_rows():
    rng = np.random.RandomState(3)
    x = np.concatenate([rng.normal(1000.3, 0.7, 500), rng.normal(1003.1, 0.9, 500)])
    x32 = x.astype(np.float32)[:, None]
    fits = []
    for rows in (x32, x32.astype(np.float64)):
        _SeenNormal.seen.clear()
        fits.append(GeneralMixtureModel.from_samples(_SeenNormal, 2, rows, max_iterations=3,
                                                     random_state=1))
        assert _SeenNormal.seen and all(t == np.float64 for t in _SeenNormal.seen)
    assert fits[0].to_json() == fits[1].to_json()


def test_a_distribution_reads_float32_rows_as_their_float64_values(tmp_path):
    # log_probability, summarize, fit and from_samples of a single distribution: the float32
    # rows are read in place (a block at a time), with the results of their float64 values.
    x32 = X32.copy()
    x32[::13, 2] = np.nan
    x64 = x32.astype(np.float64)
    w = np.linspace(0.5, 2.0, len(x32))
    want = MultivariateGaussianDistribution.from_samples(x64, weights=w)
    for name, x in _layouts(x32, tmp_path).items():
        got = MultivariateGaussianDistribution.from_samples(x, weights=w)
        assert got.to_json() == want.to_json(), name
        np.testing.assert_array_equal(got.log_probability(x, n_jobs=2),
                                      want.log_probability(x64), err_msg=name)
        a, b = want.copy(), want.copy()
        a.summarize(x, w)
        b.summarize(x64, w)
        a.from_summaries()
        b.from_summaries()
        assert a.to_json() == b.to_json(), name
        ind = IndependentComponentsDistribution.from_samples(x, weights=w)
        assert ind.to_json() == IndependentComponentsDistribution.from_samples(
            x64, weights=w).to_json(), name
        np.testing.assert_array_equal(ind.log_probability(x), ind.log_probability(x64))
        col = x[:, 1]
        assert np.shares_memory(_checks.as_column_rows(col), col)
        normal = NormalDistribution.from_samples(col)
        assert normal.to_json() == NormalDistribution.from_samples(x64[:, 1]).to_json()
        np.testing.assert_array_equal(normal.log_probability(col),
                                      normal.log_probability(x64[:, 1]))
    # A float16 column is converted to float64 as before.
    assert _checks.as_column_rows(x32[:, 0].astype(np.float16)).dtype == np.float64
