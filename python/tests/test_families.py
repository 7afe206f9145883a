"""Every distribution family: densities against scipy.stats, maximum-likelihood fits against
closed forms, support, degenerate data, serialisation, and use inside mixtures."""

import pickle

import numpy as np
import pytest
from scipy import special, stats

import mixtura
from mixtura import (
    BernoulliDistribution,
    DiscreteDistribution,
    ExponentialDistribution,
    GammaDistribution,
    GeneralMixtureModel,
    IndependentComponentsDistribution,
    LambdaCallback,
    LogNormalDistribution,
    MultivariateGaussianDistribution,
    NormalDistribution,
    PoissonDistribution,
    UniformDistribution,
)

CASES = [
    (NormalDistribution(1.5, 0.7), stats.norm(1.5, 0.7).logpdf, np.linspace(-2, 4, 13)),
    (LogNormalDistribution(0.3, 0.8), stats.lognorm(0.8, scale=np.exp(0.3)).logpdf,
     np.linspace(0.05, 6, 13)),
    (ExponentialDistribution(2.5), stats.expon(scale=1 / 2.5).logpdf, np.linspace(0, 4, 13)),
    (GammaDistribution(2.5, 1.5), stats.gamma(2.5, scale=1 / 1.5).logpdf, np.linspace(0.05, 8, 13)),
    (PoissonDistribution(3.5), stats.poisson(3.5).logpmf, np.arange(0, 13.0)),
    (UniformDistribution(-1.0, 3.0), stats.uniform(-1, 4).logpdf, np.linspace(-1, 3, 13)),
    (BernoulliDistribution(0.3), stats.bernoulli(0.3).logpmf, np.array([0.0, 1.0, 1.0, 0.0])),
]


@pytest.mark.parametrize("dist,logpdf,x", CASES, ids=lambda c: getattr(c, "name", ""))
def test_log_probability_matches_scipy(dist, logpdf, x):
    np.testing.assert_allclose(dist.log_probability(x), logpdf(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dist.probability(x), np.exp(logpdf(x)), rtol=1e-11)
    assert dist.log_probability(float(x[1])) == pytest.approx(logpdf(x[1]), rel=1e-12)
    assert dist.log_probability(np.nan) == 0.0


@pytest.mark.parametrize(
    "dist,outside",
    [
        (LogNormalDistribution(0, 1), [0.0, -1.0]),
        (ExponentialDistribution(1), [-0.5]),
        (GammaDistribution(2, 1), [0.0, -2.0]),
        (PoissonDistribution(2), [-1.0, -0.5]),
        (UniformDistribution(0, 1), [-0.1, 1.1]),
        (BernoulliDistribution(0.5), [0.5, 2.0]),
    ],
    ids=lambda c: getattr(c, "name", ""),
)
def test_outside_the_support_is_minus_infinity_not_nan(dist, outside):
    out = dist.log_probability(outside)
    assert np.all(out == -np.inf)


def weighted_data():
    rng = np.random.RandomState(0)
    x = rng.gamma(2.0, 1.5, 400)
    w = rng.uniform(0.2, 2.0, 400)
    return x, w


def test_mle_closed_forms():
    x, w = weighted_data()
    mean = np.average(x, weights=w)
    logs = np.log(x)
    lm = np.average(logs, weights=w)
    ls = np.sqrt(np.average((logs - lm) ** 2, weights=w))
    np.testing.assert_allclose(LogNormalDistribution.from_samples(x, w).parameters, [lm, ls], rtol=1e-12)
    np.testing.assert_allclose(ExponentialDistribution.from_samples(x, w).parameters, [1 / mean], rtol=1e-12)
    counts = np.round(x)
    np.testing.assert_allclose(PoissonDistribution.from_samples(counts, w).parameters,
                               [np.average(counts, weights=w)], rtol=1e-12)
    np.testing.assert_allclose(UniformDistribution.from_samples(x, w).parameters, [x.min(), x.max()])
    bits = (x > 2).astype(float)
    np.testing.assert_allclose(BernoulliDistribution.from_samples(bits, w).parameters,
                               [np.average(bits, weights=w)], rtol=1e-12)
    # Gamma: the MLE solves log(a) - digamma(a) = log(mean) - mean(log x), b = a / mean.
    a, b = GammaDistribution.from_samples(x, w).parameters
    assert np.log(a) - special.digamma(a) == pytest.approx(np.log(mean) - lm, rel=1e-10)
    assert b == pytest.approx(a / mean, rel=1e-12)


def test_missing_values_are_skipped_when_fitting():
    x = np.array([1.0, np.nan, 2.0, 4.0])
    for cls in [LogNormalDistribution, ExponentialDistribution, GammaDistribution, UniformDistribution]:
        a = cls.from_samples(x).parameters
        b = cls.from_samples(x[~np.isnan(x)]).parameters
        np.testing.assert_allclose(a, b, rtol=1e-14)


@pytest.mark.parametrize(
    "cls,data",
    [
        (NormalDistribution, [2.0, 2.0, 2.0]),
        (LogNormalDistribution, [2.0, 2.0]),
        (ExponentialDistribution, [0.0, 0.0]),
        (GammaDistribution, [3.0, 3.0, 3.0]),
        (UniformDistribution, [1.0, 1.0]),
        (PoissonDistribution, [0.0, 0.0]),
        (BernoulliDistribution, [1.0, 1.0]),
    ],
)
def test_collapsed_data_give_finite_parameters(cls, data):
    d = cls.from_samples(data)
    assert all(np.isfinite(p) for p in d.parameters)
    assert not np.isnan(d.log_probability(data)).any()
    assert np.isfinite(d.log_probability(data[0]))


@pytest.mark.parametrize(
    "make,name",
    [
        (lambda: LogNormalDistribution(0, 0), "sigma"),
        (lambda: ExponentialDistribution(-1), "rate"),
        (lambda: GammaDistribution(0, 1), "alpha"),
        (lambda: GammaDistribution(1, -1), "beta"),
        (lambda: PoissonDistribution(-0.5), "lambda"),
        (lambda: UniformDistribution(0, float("inf")), "end"),
        (lambda: UniformDistribution(-1.5e308, 1.5e308), "end"),
        (lambda: BernoulliDistribution(1.5), "p"),
        (lambda: DiscreteDistribution({"a": 0.5, "b": 0.2}), "probabilities"),
        (lambda: DiscreteDistribution({"a": -0.5, "b": 1.5}), "probabilities"),
        (lambda: NormalDistribution(0, -1), "std"),
        (lambda: MultivariateGaussianDistribution([0, 0], [[1, 2], [2, 1]]), "covariance"),
    ],
)
def test_invalid_parameters_name_the_parameter(make, name):
    with pytest.raises(ValueError, match=name):
        make()


ALL = [
    NormalDistribution(0.1, 2 / 3),
    LogNormalDistribution(-0.5, 1.25),
    ExponentialDistribution(0.3),
    GammaDistribution(2.5, 1e-3),
    PoissonDistribution(7.25),
    UniformDistribution(-1e-9, 1e9),
    BernoulliDistribution(0.125),
    DiscreteDistribution({"A": 0.25, "B": 0.75}),
    DiscreteDistribution({1: 0.5, 2: 0.5}),
    DiscreteDistribution({True: 0.1, False: 0.9}),
    MultivariateGaussianDistribution([1.0, 2.0], [[1.0, 0.2], [0.2, 3.0]]),
    IndependentComponentsDistribution(
        [NormalDistribution(0, 1), ExponentialDistribution(2), DiscreteDistribution({"x": 1.0})]
    ),
]


@pytest.mark.parametrize("dist", ALL, ids=lambda d: d.name)
def test_round_trips_are_exact(dist):
    text = dist.to_json()
    for back in [
        type(dist).from_json(text),
        mixtura.from_json(text),
        pickle.loads(pickle.dumps(dist)),
        dist.copy(),
    ]:
        assert type(back) is type(dist)
        assert back.to_json() == text
    # YAML sorts the keys of a mapping, so a discrete table may come back in another order.
    back = type(dist).from_yaml(dist.to_yaml())
    assert type(back) is type(dist) and back.to_dict() == dist.to_dict()
    if isinstance(dist, DiscreteDistribution):
        assert mixtura.from_json(text).keys() == dist.keys()


def test_yaml_keys_are_sorted_like_pomegranates():
    text = NormalDistribution(0, 1).to_yaml()
    assert text.splitlines()[0] == "class: Distribution"
    assert "frozen: false" in text and "name: NormalDistribution" in text


def test_discrete_distribution():
    d = DiscreteDistribution({"A": 0.5, "B": 0.3, "C": 0.2})
    assert d.log_probability("A") == pytest.approx(np.log(0.5))
    np.testing.assert_array_equal(d.log_probability(["B", "Z", None, np.nan, "nan"]),
                                  [np.log(0.3), -np.inf, 0.0, 0.0, 0.0])
    assert d.parameters == [{"A": 0.5, "B": 0.3, "C": 0.2}]
    assert d.keys() == ["A", "B", "C"] and d["B"] == 0.3
    d.fit(["A", "A", "B", "D"], weights=[1, 1, 2, 4])
    assert d.parameters == [{"A": 0.25, "B": 0.25, "C": 0.0, "D": 0.5}]
    s = d.sample(2000, random_state=1)
    assert set(s) <= {"A", "B", "D"} and abs(np.mean(s == "D") - 0.5) < 0.05
    smoothed = DiscreteDistribution.from_samples(["a", "a", "b"], pseudocount=1)
    assert smoothed.parameters == [{"a": 0.6, "b": 0.4}]
    ints = DiscreteDistribution({0: 0.5, 1: 0.5})
    assert ints.log_probability(1) == pytest.approx(np.log(0.5))
    assert ints.log_probability(1.0) == pytest.approx(np.log(0.5))
    assert ints.to_dict()["dtype"] == "int"


def test_discrete_mixture_on_symbols():
    rng = np.random.RandomState(0)
    data = np.array([rng.choice(list("ABC"), p=[0.8, 0.1, 0.1]) for _ in range(300)]
                    + [rng.choice(list("ABC"), p=[0.1, 0.2, 0.7]) for _ in range(300)], dtype=object)
    model = GeneralMixtureModel([
        DiscreteDistribution({"A": 0.6, "B": 0.2, "C": 0.2}),
        DiscreteDistribution({"A": 0.2, "B": 0.3, "C": 0.5}),
    ])
    model.fit(data[:, None])
    first, second = (d.parameters[0] for d in model.distributions)
    assert first["A"] > 0.6 and second["C"] > 0.5
    post = model.predict_proba(np.array([["A"], ["C"], [None]], dtype=object))
    assert post[0, 0] > 0.5 and post[1, 1] > 0.5
    np.testing.assert_allclose(post[2], np.exp(model.weights))
    # Components that know different symbols share the model's symbols.
    m2 = GeneralMixtureModel([DiscreteDistribution({"A": 1.0}), DiscreteDistribution({"B": 1.0})])
    np.testing.assert_allclose(m2.predict_proba([["A"], ["B"]]), [[1, 0], [0, 1]])
    assert m2.log_probability([["Z"]])[0] == -np.inf
    text = model.to_json()
    assert mixtura.from_json(text).to_json() == text


def test_heterogeneous_univariate_from_samples():
    rng = np.random.RandomState(1)
    X = np.concatenate([rng.exponential(1.0, 600), rng.lognormal(2.5, 0.2, 400)])[:, None]
    model = GeneralMixtureModel.from_samples(
        [ExponentialDistribution, LogNormalDistribution], 2, X, random_state=0
    )
    names = [d.name for d in model.distributions]
    assert names == ["ExponentialDistribution", "LogNormalDistribution"]
    assert model.distributions[0].parameters[0] == pytest.approx(1.0, rel=0.15)
    assert model.distributions[1].parameters[0] == pytest.approx(2.5, rel=0.05)
    np.testing.assert_allclose(np.exp(model.weights), [0.6, 0.4], atol=0.05)


def test_per_column_families_and_discrete_columns_in_from_samples():
    rng = np.random.RandomState(2)
    n = 300
    X = np.empty((2 * n, 3), dtype=object)
    X[:n, 0] = rng.normal(0, 1, n)
    X[n:, 0] = rng.normal(6, 1, n)
    X[:n, 1] = rng.exponential(1.0, n)
    X[n:, 1] = rng.exponential(5.0, n)
    X[:n, 2] = rng.choice(["red", "blue"], n, p=[0.9, 0.1])
    X[n:, 2] = rng.choice(["red", "blue"], n, p=[0.2, 0.8])
    model = GeneralMixtureModel.from_samples(
        [NormalDistribution, ExponentialDistribution, DiscreteDistribution], 2, X, random_state=3
    )
    labels = model.predict(X)
    j = np.bincount(labels[:n]).argmax()
    accuracy = (np.sum(labels[:n] == j) + np.sum(labels[n:] != j)) / (2 * n)
    assert accuracy > 0.97
    disc = model.distributions[j].distributions[2]
    assert isinstance(disc, DiscreteDistribution) and disc["red"] > 0.8
    assert GeneralMixtureModel.from_json(model.to_json()).predict(X).tolist() == labels.tolist()


def test_missing_values_in_mixtures():
    rng = np.random.RandomState(4)
    X = np.vstack([rng.normal(0, 1, (200, 2)), rng.normal(5, 1, (200, 2))])
    holes = X.copy()
    holes[rng.rand(*X.shape) < 0.2] = np.nan
    holes[0] = np.nan
    for cls in [NormalDistribution, MultivariateGaussianDistribution]:
        model = GeneralMixtureModel.from_samples(cls, 2, holes, random_state=0)
        assert np.isfinite(model.log_probability(holes)).all()
        assert model.log_probability(holes)[0] == pytest.approx(0.0, abs=1e-12)
        np.testing.assert_allclose(model.predict_proba(holes[:1])[0], np.exp(model.weights))
        full = model.predict(X)
        assert len(set(full[:200])) == 1 and len(set(full[200:])) == 1


class PythonNormal:
    """A normal distribution written in Python with pomegranate's distribution protocol."""

    def __init__(self, mean, std):
        self.d = 1
        self.parameters = [mean, std]
        self.frozen = False
        self.clear_summaries()

    def log_probability(self, X):
        mean, std = self.parameters
        X = np.asarray(X, dtype=float).ravel()
        return -np.log(std) - 0.5 * np.log(2 * np.pi) - (X - mean) ** 2 / (2 * std**2)

    def summarize(self, X, weights=None):
        X = np.asarray(X, dtype=float).ravel()
        w = np.ones_like(X) if weights is None else np.asarray(weights)
        self._s += np.array([w.sum(), (w * X).sum(), (w * X * X).sum()])

    def from_summaries(self, inertia=0.0):
        w, sx, sxx = self._s
        if w > 1e-8:
            mean = sx / w
            self.parameters = [mean, np.sqrt(sxx / w - mean**2)]
        self.clear_summaries()

    def clear_summaries(self):
        self._s = np.zeros(3)

    @classmethod
    def from_samples(cls, X, weights=None):
        d = cls(0.0, 1.0)
        d.summarize(X, weights)
        d.from_summaries()
        return d


def test_python_distribution_matches_the_builtin():
    rng = np.random.RandomState(5)
    X = np.concatenate([rng.normal(0, 1, 300), rng.normal(4, 0.5, 200)])[:, None]
    custom = GeneralMixtureModel([PythonNormal(-1.0, 1.0), PythonNormal(5.0, 1.0)])
    builtin = GeneralMixtureModel([NormalDistribution(-1.0, 1.0), NormalDistribution(5.0, 1.0)])
    np.testing.assert_allclose(custom.log_probability(X), builtin.log_probability(X), rtol=1e-12)
    _, h1 = custom.fit(X, max_iterations=10, return_history=True)
    _, h2 = builtin.fit(X, max_iterations=10, return_history=True)
    for c, b in zip(custom.distributions, builtin.distributions):
        np.testing.assert_allclose(c.parameters, b.parameters, rtol=1e-9)
    np.testing.assert_allclose(h1.log_probabilities, h2.log_probabilities, rtol=1e-11)
    np.testing.assert_allclose(custom.predict_proba(X), builtin.predict_proba(X), atol=1e-12)
    np.testing.assert_allclose(np.exp(custom.weights), np.exp(builtin.weights), rtol=1e-10)
    # The same with n_jobs and from_samples on the class.
    m = GeneralMixtureModel.from_samples(PythonNormal, 2, X, random_state=0, n_jobs=2)
    means = sorted(d.parameters[0] for d in m.distributions)
    assert means[0] == pytest.approx(0.0, abs=0.2) and means[1] == pytest.approx(4.0, abs=0.2)


def test_a_python_distribution_keeps_its_key_order_in_the_model_document():
    class Documented(PythonNormal):
        def to_dict(self):
            return {"class": "Distribution", "name": "Documented",
                    "parameters": [float(p) for p in self.parameters], "frozen": self.frozen}

    model = GeneralMixtureModel([Documented(0.0, 1.0), NormalDistribution(3.0, 1.0)])
    doc = model.to_json(separators=(",", ":"), indent=None)
    assert ('{"class":"Distribution","name":"Documented","parameters":[0.0,1.0],"frozen":false}'
            in doc)


def test_python_distribution_errors_propagate():
    class Broken(PythonNormal):
        def log_probability(self, X):
            raise RuntimeError("broken on purpose")

    model = GeneralMixtureModel([Broken(0, 1), PythonNormal(1, 1)])
    with pytest.raises(RuntimeError, match="broken on purpose"):
        model.fit(np.zeros((5, 1)))
    with pytest.raises(RuntimeError, match="broken on purpose"):
        model.predict(np.zeros((5, 1)))


def test_discrete_rejects_bad_input():
    with pytest.raises(TypeError):
        DiscreteDistribution([("a", 1.0)])
    with pytest.raises(ValueError):
        DiscreteDistribution.from_samples([None, np.nan])


def test_python_class_among_per_column_classes():
    rng = np.random.RandomState(6)
    X = np.vstack([rng.normal([0, 0], 1, (300, 2)), rng.normal([6, 5], 1, (300, 2))])
    custom = GeneralMixtureModel.from_samples([PythonNormal, NormalDistribution], 2, X,
                                              random_state=1)
    builtin = GeneralMixtureModel.from_samples([NormalDistribution, NormalDistribution], 2, X,
                                               random_state=1)
    assert isinstance(custom.distributions[0].distributions[0], PythonNormal)
    np.testing.assert_allclose(custom.log_probability(X), builtin.log_probability(X), rtol=1e-9)
    # An IndependentComponentsDistribution holds Python children directly, too.
    icd = IndependentComponentsDistribution([PythonNormal(0.0, 1.0), NormalDistribution(0.0, 1.0)])
    ref = IndependentComponentsDistribution([NormalDistribution(0.0, 1.0)] * 2)
    np.testing.assert_allclose(icd.log_probability(X), ref.log_probability(X), rtol=1e-12)


def test_one_class_list_on_one_column_gives_n_components():
    # pomegranate reads a list as long as X is wide as per-column classes, before the
    # one-column reading: [Normal] on one column gives n_components components.
    X = np.random.RandomState(0).rand(200, 1) * 5
    model = GeneralMixtureModel.from_samples([NormalDistribution], 3, X, random_state=0)
    assert model.n == 3
    assert all(d.name == "IndependentComponentsDistribution" for d in model.distributions)


def test_weights_setter_with_python_components():
    model = GeneralMixtureModel([PythonNormal(0.0, 1.0), PythonNormal(3.0, 1.0)])
    model.weights = np.log([0.25, 0.75])
    np.testing.assert_allclose(np.exp(model.weights), [0.25, 0.75], rtol=1e-15)


def test_discrete_copy_and_pickle_keep_symbol_types():
    dist = DiscreteDistribution({(1, 2): 0.25, "x": 0.25, 7: 0.5})
    for other in (dist.copy(), pickle.loads(pickle.dumps(dist))):
        assert other.keys() == dist.keys()
        assert other[(1, 2)] == 0.25 and other[7] == 0.5
    # Symbols are written as text in the model document: two that read the same are refused.
    with pytest.raises(ValueError, match="twice"):
        DiscreteDistribution({"7": 0.5, 7: 0.5})
    n = NormalDistribution(1.0, 2.0, min_std=0.5)
    assert pickle.loads(pickle.dumps(n)).min_std == 0.5
    ln = LogNormalDistribution(1.0, 2.0, min_std=0.25)
    assert pickle.loads(pickle.dumps(ln)).min_std == 0.25


def test_independent_from_samples_with_symbol_columns():
    X = np.array([["a", 1.5], ["b", 2.0], ["a", None], ["c", 3.0]], dtype=object)
    d = IndependentComponentsDistribution.from_samples(
        X, distributions=[DiscreteDistribution, NormalDistribution])
    assert d.distributions[0].parameters == [{"a": 0.5, "b": 0.25, "c": 0.25}]
    np.testing.assert_allclose(d.distributions[1].parameters[0], np.mean([1.5, 2.0, 3.0]))
    # Integer categories keep their integer keys.
    d = IndependentComponentsDistribution.from_samples(
        np.array([[1, 2.0], [1, 3.0], [2, 4.0]]).astype(object),
        distributions=[DiscreteDistribution, NormalDistribution])
    assert sorted(d.distributions[0].keys()) == [1, 2]
    with pytest.raises(TypeError, match="X column 1"):
        IndependentComponentsDistribution.from_samples(
            X[:, ::-1], distributions=[DiscreteDistribution, NormalDistribution])


def test_callbacks_see_the_model_in_from_samples_with_discrete_columns():
    rng = np.random.RandomState(2)
    X = np.empty((200, 2), dtype=object)
    X[:, 0] = np.concatenate([rng.normal(0, 1, 100), rng.normal(6, 1, 100)])
    X[:, 1] = rng.choice(["red", "blue"], 200)
    seen = []

    def record(logs):
        seen.append(sorted(cb.model.distributions[0].distributions[1].keys()))

    cb = LambdaCallback(on_epoch_end=record)
    model = GeneralMixtureModel.from_samples(
        [NormalDistribution, DiscreteDistribution], 2, X, random_state=0, max_iterations=3,
        stop_threshold=-np.inf, callbacks=[cb])
    assert seen == [["blue", "red"]] * 3
    assert cb.model is model


def test_python_distribution_errors_stay_with_their_call():
    import threading

    class Broken(PythonNormal):
        def __init__(self, tag):
            super().__init__(0.0, 1.0)
            self.tag = tag

        def log_probability(self, X):
            raise RuntimeError(f"broken {self.tag}")

    errors = {}

    def run(tag):
        model = GeneralMixtureModel([Broken(tag), PythonNormal(1, 1)])
        for _ in range(50):
            try:
                model.predict(np.zeros((5, 1)))
            except RuntimeError as e:
                errors.setdefault(tag, set()).add(str(e))

    threads = [threading.Thread(target=run, args=(t,)) for t in "abcd"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == {t: {f"broken {t}"} for t in "abcd"}


def test_a_python_distribution_gets_the_whole_batch_in_one_call():
    calls = {"log_probability": [], "summarize": []}

    class Recording(PythonNormal):
        def log_probability(self, X):
            calls["log_probability"].append(len(np.ravel(X)))
            return super().log_probability(X)

        def summarize(self, X, weights=None):
            calls["summarize"].append(len(np.ravel(X)))
            return super().summarize(X, weights)

    X = np.random.RandomState(1).randn(1000, 1)
    m = GeneralMixtureModel([Recording(-1.0, 1.0), Recording(1.0, 1.0)])
    m.fit(X, max_iterations=2)
    assert set(calls["summarize"]) == {1000} and set(calls["log_probability"]) == {1000}
    calls["summarize"].clear()
    m.fit(X, max_iterations=1, batch_size=300)
    # Each pass over the data gives the batches in order, one call each per component.
    passes = len(calls["summarize"]) // 8
    assert passes >= 2 and calls["summarize"] == [300, 300, 300, 300, 300, 300, 100, 100] * passes
    calls["log_probability"].clear()
    m.predict_proba(X, n_jobs=2)
    assert calls["log_probability"] == [1000, 1000]  # one call per component
