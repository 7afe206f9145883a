"""pandas DataFrames and Series wherever arrays are accepted."""

import pickle
import subprocess
import sys

import numpy as np
import pytest

from mixtura import (
    DiscreteDistribution,
    ExponentialDistribution,
    GeneralMixtureModel,
    IndependentComponentsDistribution,
    Kmeans,
    MultivariateGaussianDistribution,
    NormalDistribution,
)

pd = pytest.importorskip("pandas")


@pytest.fixture
def faithful():
    X = np.loadtxt("data/old_faithful.csv", delimiter=",", skiprows=1)
    return X, pd.DataFrame(X, columns=["eruptions", "waiting"])


def test_frame_gives_the_same_model_as_its_array(faithful):
    X, df = faithful
    a = GeneralMixtureModel.from_samples(MultivariateGaussianDistribution, 2, X, random_state=0)
    b = GeneralMixtureModel.from_samples(MultivariateGaussianDistribution, 2, df, random_state=0)
    assert a.to_json() == b.to_json()
    assert a.feature_names is None
    assert b.feature_names == ["eruptions", "waiting"]
    for method in ("predict", "predict_proba", "predict_log_proba", "log_probability", "probability"):
        np.testing.assert_array_equal(getattr(a, method)(X), getattr(b, method)(df))
    assert a.bic(X) == b.bic(df) and a.aic(X) == b.aic(df)
    labels = a.predict(X)
    assert b.score(df, pd.Series(labels)) == 1.0
    assert a.summarize(X) == b.summarize(df)


def test_feature_names_survive_copy_and_pickle_but_not_json(faithful):
    X, df = faithful
    model = GeneralMixtureModel.from_samples(NormalDistribution, 2, df, random_state=0)
    assert model.copy().feature_names == ["eruptions", "waiting"]
    assert pickle.loads(pickle.dumps(model)).feature_names == ["eruptions", "waiting"]
    again = GeneralMixtureModel.from_json(model.to_json())
    assert again.feature_names is None
    assert "eruptions" not in model.to_json()
    np.testing.assert_array_equal(again.predict(df), model.predict(df))


def test_columns_in_another_order_are_an_error_naming_them(faithful):
    X, df = faithful
    model = GeneralMixtureModel.from_samples(MultivariateGaussianDistribution, 2, df, random_state=0)
    with pytest.raises(ValueError, match=r"another order.*\['eruptions', 'waiting'\].*\['waiting', 'eruptions'\]"):
        model.predict(df[["waiting", "eruptions"]])
    with pytest.raises(ValueError, match=r"missing \['waiting'\].*unexpected \['wait'\]"):
        model.log_probability(df.rename(columns={"waiting": "wait"}))
    with pytest.raises(ValueError, match="another order"):
        model.fit(df[["waiting", "eruptions"]])
    # Arrays and frames without string names are taken by position.
    model.predict(X)
    model.predict(pd.DataFrame(X))


def test_fit_of_an_initialised_model_sets_the_names(faithful):
    X, df = faithful
    model = GeneralMixtureModel([MultivariateGaussianDistribution([2, 55], np.eye(2) * 10),
                                 MultivariateGaussianDistribution([4.5, 80], np.eye(2) * 10)])
    assert model.feature_names is None
    model.fit(df)
    assert model.feature_names == ["eruptions", "waiting"]
    GeneralMixtureModel.from_samples([NormalDistribution(2, 1), NormalDistribution(4, 1)], 2,
                                     df[["eruptions"]])


def test_mixed_columns_object_categorical_and_missing_values():
    rng = np.random.RandomState(0)
    n = 200
    first = rng.rand(n) < 0.5
    df = pd.DataFrame({
        "x": np.where(first, rng.normal(0, 1, n), rng.normal(6, 1, n)),
        "y": np.where(first, rng.exponential(1, n), rng.exponential(5, n)),
        "colour": pd.Categorical(np.where(first, "red", "blue")),
        "shape": pd.Series(np.where(first, "round", "square"), dtype=object),
    })
    df.loc[3, "x"] = np.nan
    df.loc[4, "colour"] = np.nan
    df.loc[5, "shape"] = None
    df["y"] = df["y"].astype("Float64")
    df.loc[6, "y"] = pd.NA
    families = [NormalDistribution, ExponentialDistribution, DiscreteDistribution, DiscreteDistribution]
    model = GeneralMixtureModel.from_samples(families, 2, df, random_state=0)
    assert model.feature_names == ["x", "y", "colour", "shape"]
    labels = model.predict(df)
    assert (labels[first] == labels[first][0]).all() and (labels[~first] != labels[first][0]).all()
    keys = sorted(model.distributions[0].distributions[2].keys())
    assert keys == ["blue", "red"]
    # The same rows as an object array give the same model.
    rows = df.astype(object).where(df.notna(), None).to_numpy()
    same = GeneralMixtureModel.from_samples(families, 2, rows, random_state=0)
    assert same.to_json() == model.to_json()
    assert np.isfinite(model.log_probability(df)).all()


def test_a_text_column_for_numeric_families_is_named():
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "label": ["a", "b", "a"]})
    with pytest.raises(TypeError, match="column 'label' is not numeric"):
        GeneralMixtureModel.from_samples(NormalDistribution, 2, df)


def test_nullable_integer_and_boolean_columns():
    df = pd.DataFrame({"n": pd.array([1, 2, None, 30, 31, 29], dtype="Int64"),
                       "b": pd.array([True, False, True, None, False, True], dtype="boolean")})
    model = GeneralMixtureModel.from_samples(NormalDistribution, 2, df, random_state=0)
    assert np.isfinite(model.log_probability(df)).all()


def test_distributions_take_frames_and_series():
    s = pd.Series([1.0, 2.0, np.nan, 4.0], name="x")
    d = NormalDistribution.from_samples(s)
    assert d.parameters[0] == pytest.approx(7 / 3)
    np.testing.assert_array_equal(d.log_probability(s), d.log_probability(s.to_numpy()))
    d.fit(pd.Series([1.0, 3.0]))
    assert d.parameters[0] == 2.0
    cat = pd.Series(pd.Categorical(["a", "b", "a", None]))
    dd = DiscreteDistribution.from_samples(cat)
    assert dd.parameters[0] == {"a": 2 / 3, "b": 1 / 3}
    np.testing.assert_allclose(dd.log_probability(pd.Series(["a", "b"])), np.log([2 / 3, 1 / 3]))
    df = pd.DataFrame({"u": [0.0, 1.0, 2.0], "v": [1.0, 1.5, 2.5]})
    mg = MultivariateGaussianDistribution.from_samples(df)
    np.testing.assert_allclose(mg.mu, [1.0, 5 / 3])
    ic = IndependentComponentsDistribution.from_samples(
        pd.DataFrame({"u": [0.0, 1.0, 2.0], "s": ["a", "b", "b"]}),
        distributions=[NormalDistribution, DiscreteDistribution])
    assert ic.distributions[1].parameters[0] == {"a": 1 / 3, "b": 2 / 3}
    assert np.isfinite(ic.log_probability(pd.DataFrame({"u": [1.0], "s": ["a"]})))


def test_kmeans_takes_frames(faithful):
    X, df = faithful
    a = Kmeans.from_samples(2, X, random_state=0)
    b = Kmeans.from_samples(2, df, random_state=0)
    np.testing.assert_array_equal(a.centroids, b.centroids)
    np.testing.assert_array_equal(a.predict(X), b.predict(df))
    np.testing.assert_array_equal(a.distance(X), b.distance(df))
    assert a.feature_names is None and b.feature_names == ["eruptions", "waiting"]
    assert pickle.loads(pickle.dumps(b)).feature_names == ["eruptions", "waiting"]
    with pytest.raises(ValueError, match="another order"):
        b.predict(df[["waiting", "eruptions"]])


def test_pandas_is_not_imported_by_mixtura():
    code = "import sys, mixtura, numpy as np; mixtura.NormalDistribution.from_samples(np.ones(3)); " \
           "print('pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
