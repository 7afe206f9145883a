"""mixtura.GaussianMixture against scikit-learn's GaussianMixture, and as a scikit-learn
estimator."""

import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest

import mixtura
from mixtura import GaussianMixture

sklearn = pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402
from sklearn.exceptions import ConvergenceWarning, NotFittedError  # noqa: E402
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture  # noqa: E402

TYPES = ["full", "tied", "diag", "spherical"]
NAMES = ["weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"]


def data(n=1500, seed=0):
    rng = np.random.RandomState(seed)
    a = rng.multivariate_normal([0, 0, 0], [[1, 0.5, 0.2], [0.5, 2, 0.3], [0.2, 0.3, 1]], n // 2)
    b = rng.multivariate_normal([3, 1, -2], [[0.5, -0.1, 0], [-0.1, 1, 0.2], [0, 0.2, 0.3]], n // 3)
    c = rng.multivariate_normal([-2, 4, 1], np.eye(3) * 0.8, n - n // 2 - n // 3)
    return np.vstack([a, b, c])


INIT = {
    "weights_init": np.array([0.3, 0.4, 0.3]),
    "means_init": np.array([[0.5, 0.5, 0.0], [2.5, 0.5, -1.5], [-1.5, 3.5, 0.5]]),
}
PRECISIONS = {
    "full": np.array([np.eye(3), [[1.5, 0.2, 0], [0.2, 1.5, 0.1], [0, 0.1, 1.5]], np.eye(3) * 0.7]),
    "tied": np.eye(3) * 1.2 + 0.1,
    "diag": np.array([[1, 2, 0.5], [1, 1, 1], [0.3, 1, 2.0]]),
    "spherical": np.array([1, 2, 0.5]),
}


def both(covariance_type, **kw):
    params = dict(n_components=3, covariance_type=covariance_type, **INIT, **kw)
    params["precisions_init"] = PRECISIONS[covariance_type]
    return SklearnGaussianMixture(**params), GaussianMixture(**params)


def assert_same(a, b, rtol=1e-10):
    for name in NAMES:
        x, y = getattr(a, name), getattr(b, name)
        assert x.shape == y.shape, name
        # Relative to each array's scale: entries near 0 (off-diagonal terms) have no relative
        # precision of their own.
        np.testing.assert_allclose(y, x, rtol=rtol, atol=rtol * np.max(np.abs(x)), err_msg=name)
    np.testing.assert_allclose(b.lower_bound_, a.lower_bound_, rtol=rtol)
    np.testing.assert_allclose(b.lower_bounds_, a.lower_bounds_, rtol=rtol)
    assert a.n_iter_ == b.n_iter_
    assert a.converged_ == b.converged_


@pytest.mark.parametrize("covariance_type", TYPES)
@pytest.mark.parametrize("max_iter", [1, 4, 60])
def test_same_numbers_as_sklearn_from_the_same_start(covariance_type, max_iter):
    X = data()
    a, b = both(covariance_type, max_iter=max_iter, tol=1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a.fit(X)
        b.fit(X)
    assert_same(a, b)
    np.testing.assert_allclose(b.score_samples(X), a.score_samples(X), rtol=1e-10)
    np.testing.assert_allclose(b.predict_proba(X), a.predict_proba(X), rtol=1e-8, atol=1e-12)
    np.testing.assert_array_equal(b.predict(X), a.predict(X))
    np.testing.assert_allclose(b.bic(X), a.bic(X), rtol=1e-10)
    np.testing.assert_allclose(b.aic(X), a.aic(X), rtol=1e-10)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_warm_start_and_reg_covar_agree(covariance_type):
    X = data(900, seed=1)
    a, b = both(covariance_type, max_iter=3, tol=0.0, warm_start=True, reg_covar=1e-3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(3):
            a.fit(X)
            b.fit(X)
            assert_same(a, b)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_own_initialisations_fit_well(covariance_type):
    X = data()
    reference = SklearnGaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    for init in ["kmeans", "k-means++", "random_from_data"]:
        gm = GaussianMixture(3, covariance_type=covariance_type, init_params=init, n_init=3,
                             random_state=0).fit(X)
        assert gm.converged_
        assert gm.lower_bound_ > reference.lower_bound_ - 0.05
        for name in NAMES:
            assert getattr(gm, name).shape == getattr(reference, name).shape
    gm = GaussianMixture(3, covariance_type=covariance_type, init_params="random", max_iter=500,
                         random_state=0).fit(X)
    assert gm.converged_


def test_n_init_keeps_the_best_lower_bound():
    X = data()
    runs = [GaussianMixture(3, init_params="random", random_state=0, max_iter=5, n_init=1)
            for _ in range(1)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        best = GaussianMixture(3, init_params="random", random_state=0, max_iter=5, n_init=4).fit(X)
        one = runs[0].fit(X)
    assert best.lower_bound_ >= one.lower_bound_
    assert best.lower_bound_ == best.lower_bounds_[-1]


@pytest.mark.parametrize("covariance_type", TYPES)
def test_n_jobs_gives_bitwise_identical_results(covariance_type):
    X = data(20000, seed=3)
    fits = [
        GaussianMixture(3, covariance_type=covariance_type, random_state=0, n_jobs=n).fit(X)
        for n in (1, 2, 4, None)
    ]
    for gm in fits[1:]:
        for name in NAMES:
            assert np.array_equal(getattr(gm, name), getattr(fits[0], name)), name
        assert gm.lower_bounds_ == fits[0].lower_bounds_
        assert np.array_equal(gm.score_samples(X), fits[0].score_samples(X))


def test_float32_in_float32_out():
    X = data().astype(np.float32)
    gm = GaussianMixture(3, random_state=0).fit(X)
    for name in NAMES:
        assert getattr(gm, name).dtype == np.float32, name
    assert gm.predict_proba(X).dtype == np.float32
    assert gm.score_samples(X).dtype == np.float32
    ref = GaussianMixture(3, random_state=0).fit(X.astype(np.float64))
    np.testing.assert_allclose(gm.means_, ref.means_, rtol=1e-6, atol=1e-6)


def test_fitted_attributes_methods_and_sample():
    X = data()
    gm = GaussianMixture(3, covariance_type="tied", random_state=0)
    with pytest.raises(NotFittedError):
        gm.predict(X)
    labels = gm.fit_predict(X)
    np.testing.assert_array_equal(labels, gm.predict(X))
    assert gm.n_features_in_ == 3
    assert not hasattr(gm, "feature_names_in_")
    assert gm.score(X) == pytest.approx(np.mean(gm.score_samples(X)))
    Xs, ys = gm.sample(1000)
    assert Xs.shape == (1000, 3) and ys.shape == (1000,)
    assert np.all(np.diff(ys) >= 0)
    Xs2, _ = gm.sample(1000)
    np.testing.assert_array_equal(Xs, Xs2)  # an int random_state seeds every call the same
    with pytest.raises(ValueError, match="n_samples"):
        gm.sample(0)
    with pytest.warns(ConvergenceWarning):
        GaussianMixture(3, max_iter=1, random_state=0).fit(X)


def test_pandas_feature_names():
    pd = pytest.importorskip("pandas")
    X = data()
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    gm = GaussianMixture(2, random_state=0).fit(df)
    assert list(gm.feature_names_in_) == ["a", "b", "c"]
    gm.predict(df)


def test_pickle_clone_pipeline_gridsearch():
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X = data()
    gm = GaussianMixture(3, covariance_type="diag", random_state=0).fit(X)
    back = pickle.loads(pickle.dumps(gm))
    assert np.array_equal(back.score_samples(X), gm.score_samples(X))
    c = clone(gm)
    assert c.get_params() == gm.get_params() and not hasattr(c, "means_")
    pipe = make_pipeline(StandardScaler(), GaussianMixture(3, random_state=0)).fit(X)
    assert pipe.predict(X).shape == (len(X),)
    search = GridSearchCV(
        GaussianMixture(random_state=0),
        {"n_components": [1, 2, 3], "covariance_type": ["full", "spherical"]},
        cv=3,
    ).fit(X)
    assert search.best_params_["n_components"] == 3


def test_check_estimator():
    from sklearn.utils.estimator_checks import check_estimator

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(GaussianMixture(), on_fail=None)
    failed = [(r["check_name"], r["exception"]) for r in results if r["status"] == "failed"]
    assert failed == []


@pytest.mark.parametrize(
    ("params", "name", "error"),
    [
        ({"n_components": 0}, "n_components", ValueError),
        ({"n_components": 1.5}, "n_components", TypeError),
        ({"covariance_type": "square"}, "covariance_type", ValueError),
        ({"tol": -1.0}, "tol", ValueError),
        ({"reg_covar": -1e-6}, "reg_covar", ValueError),
        ({"max_iter": -1}, "max_iter", ValueError),
        ({"n_init": 0}, "n_init", ValueError),
        ({"init_params": "kmeans++"}, "init_params", ValueError),
        ({"verbose_interval": 0}, "verbose_interval", ValueError),
        ({"n_jobs": "2"}, "n_jobs", TypeError),
        ({"n_jobs": 0}, "n_jobs", ValueError),
        ({"weights_init": [0.5, 0.6]}, "weights_init", ValueError),
        ({"weights_init": [0.2, 0.3, 0.5]}, "weights_init", ValueError),
        ({"means_init": np.zeros((2, 4))}, "means_init", ValueError),
        ({"precisions_init": -np.ones(2)}, "precisions_init", ValueError),
        ({"precisions_init": np.ones((2, 3, 3))}, "precisions_init", ValueError),
    ],
)
def test_bad_parameters_name_themselves(params, name, error):
    X = data(200)
    kw = {"n_components": 2, **params}
    if "precisions_init" in params and params["precisions_init"].ndim == 1:
        kw["covariance_type"] = "spherical"
    with pytest.raises(error, match=name):
        GaussianMixture(**kw).fit(X)


def test_bad_data():
    with pytest.raises(ValueError):
        GaussianMixture(2).fit(np.array([[1.0, np.nan], [2.0, 3.0], [1.0, 1.0]]))
    with pytest.raises(ValueError):
        GaussianMixture(2).fit(np.ones((1, 3)))
    with pytest.raises(ValueError, match="n_components"):
        GaussianMixture(5).fit(np.random.RandomState(0).randn(3, 2))
    gm = GaussianMixture(2, random_state=0).fit(data(200))
    with pytest.raises(ValueError, match="features"):
        gm.predict(np.ones((3, 2)))
    with pytest.raises(ValueError, match="ill-defined empirical covariance"):
        GaussianMixture(2, reg_covar=0.0, random_state=0).fit(np.ones((10, 2)))


def test_verbose_lines(capsys):
    X = data(300)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        GaussianMixture(2, verbose=2, verbose_interval=1, max_iter=2, tol=0, random_state=0).fit(X)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Initialization 0"
    assert out[1].startswith("  Iteration 1\t time lapse ")
    assert out[-1].startswith("Initialization did not converge. time lapse ")


def test_works_without_sklearn():
    code = """
import sys
sys.modules["sklearn"] = None
import numpy as np, pickle, warnings
import mixtura
from mixtura.sklearn import ConvergenceWarning, NotFittedError
X = np.random.RandomState(0).randn(300, 2)
gm = mixtura.GaussianMixture(2, covariance_type="spherical", random_state=0)
try:
    gm.predict(X)
except NotFittedError:
    pass
gm.fit(X)
assert gm.n_features_in_ == 2 and gm.means_.shape == (2, 2)
assert gm.get_params()["covariance_type"] == "spherical"
gm.set_params(n_components=3)
back = pickle.loads(pickle.dumps(gm))
assert np.array_equal(back.predict(X), gm.predict(X))
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    mixtura.GaussianMixture(2, max_iter=1).fit(X)
assert any(issubclass(x.category, ConvergenceWarning) for x in w)
try:
    mixtura.GaussianMixture(2, tol=-1).fit(X)
    raise AssertionError("no error")
except ValueError as e:
    assert "tol" in str(e)
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
    # Loaded on first use (it is not in __all__, so that `import mixtura` stays light).
    from mixtura import GaussianMixture

    assert mixtura.GaussianMixture is GaussianMixture


def test_sklearn_wording_of_initial_parameter_errors():
    X = data(200)
    cases = [
        ({"weights_init": np.ones((2, 1)) / 2},
         "The parameter 'weights' should have the shape of (2,), but got (2, 1)"),
        ({"weights_init": [0.3, 0.3]},
         "The parameter 'weights' should be normalized, but got sum(weights) = 0.60000"),
        ({"means_init": np.zeros((3, 3))},
         "The parameter 'means' should have the shape of (2, 3), but got (3, 3)"),
        ({"precisions_init": np.ones((2, 2, 2))},
         "The parameter 'full precision' should have the shape of (2, 3, 3), but got (2, 2, 2)"),
        ({"precisions_init": np.ones((2, 3, 3))},
         "'full precision' should be symmetric, positive-definite"),
        ({"covariance_type": "diag", "precisions_init": -np.ones((2, 3))},
         "'diag precision' should be positive"),
    ]
    for params, message in cases:
        with pytest.raises(ValueError) as e:
            GaussianMixture(2, **params).fit(X)
        assert message in str(e.value)


def test_same_fit_as_general_mixture_model_without_regularisation():
    # The README's statement: from the same start, reg_covar=0, full covariance, the same model
    # as a GeneralMixtureModel of MultivariateGaussianDistributions after the same iterations.
    X = data()
    covs = np.array([np.linalg.inv(p) for p in PRECISIONS["full"]])
    gm = GaussianMixture(3, reg_covar=0.0, tol=0.0, max_iter=8, precisions_init=PRECISIONS["full"],
                         **INIT)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm.fit(X)
    model = mixtura.GeneralMixtureModel(
        [mixtura.MultivariateGaussianDistribution(m, c) for m, c in zip(INIT["means_init"], covs)],
        weights=INIT["weights_init"],
    )
    model.fit(X, max_iterations=8, stop_threshold=-np.inf)
    np.testing.assert_allclose(np.exp(model.weights), gm.weights_, rtol=1e-9)
    for j, d in enumerate(model.distributions):
        np.testing.assert_allclose(d.mu, gm.means_[j], rtol=1e-9, atol=1e-10)
        np.testing.assert_allclose(d.cov, gm.covariances_[j], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(model.log_probability(X), gm.score_samples(X), rtol=1e-9)
