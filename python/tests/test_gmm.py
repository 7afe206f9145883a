import io
import contextlib
import pickle

import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp

import mixtura
from mixtura import (
    CSVLogger,
    GeneralMixtureModel,
    History,
    IndependentComponentsDistribution,
    LambdaCallback,
    ModelCheckpoint,
    MultivariateGaussianDistribution,
    NormalDistribution,
)


def two_normals():
    return GeneralMixtureModel([NormalDistribution(5, 2), NormalDistribution(1, 1)])


def mgd_model():
    return GeneralMixtureModel(
        [
            MultivariateGaussianDistribution([0.0, 50.0], [[1.0, 0.0], [0.0, 50.0]]),
            MultivariateGaussianDistribution([5.0, 80.0], [[1.0, 0.0], [0.0, 50.0]]),
        ],
        weights=[0.4, 0.6],
    )


# -- construction ---------------------------------------------------------------------------------


def test_constructor_attributes():
    m = GeneralMixtureModel(
        [NormalDistribution(0, 1), NormalDistribution(3, 1)], weights=[1.0, 3.0]
    )
    np.testing.assert_allclose(np.exp(m.weights), [0.25, 0.75])
    assert m.n == 2 and m.d == 1 and m.frozen is False
    assert m.distributions.dtype == object and len(m.distributions) == 2
    np.testing.assert_array_equal(m.summaries, [0.0, 0.0])
    assert GeneralMixtureModel([NormalDistribution(0, 1)]).n == 1


def test_constructor_errors():
    with pytest.raises(ValueError):
        GeneralMixtureModel([])
    with pytest.raises(TypeError, match="initialized"):
        GeneralMixtureModel([NormalDistribution, NormalDistribution])
    with pytest.raises(TypeError, match="dimensions"):
        GeneralMixtureModel(
            [NormalDistribution(0, 1), MultivariateGaussianDistribution([0, 0], np.eye(2))]
        )
    with pytest.raises(ValueError, match="weights"):
        GeneralMixtureModel([NormalDistribution(0, 1), NormalDistribution(1, 1)], weights=[1.0])
    with pytest.raises(ValueError, match="weights"):
        GeneralMixtureModel(
            [NormalDistribution(0, 1), NormalDistribution(1, 1)], weights=[-1.0, 2.0]
        )


# -- probabilities --------------------------------------------------------------------------------


def test_documented_example():
    clf = two_normals()
    np.testing.assert_allclose(
        clf.predict_proba([[5], [7], [1]]),
        [[0.99932952, 0.00067048], [0.99999995, 0.00000005], [0.06337894, 0.93662106]],
        atol=1e-8,
    )
    clf.fit([[1], [5], [7], [8], [2]])
    np.testing.assert_allclose(
        clf.predict_proba([[5], [7], [1]]),
        [[1.0, 0.0], [1.0, 0.0], [0.00004383, 0.99995617]],
        atol=1e-8,
    )
    np.testing.assert_allclose(
        clf.distributions[0].parameters, [6.6571359101390755, 1.2639830514274502], rtol=1e-10
    )
    np.testing.assert_allclose(
        clf.distributions[1].parameters, [1.498707696758334, 0.4999983303277837], rtol=1e-10
    )


def test_probabilities_match_scipy(faithful):
    m = mgd_model()
    comps = [
        stats.multivariate_normal(d.mu, d.cov).logpdf(faithful) for d in m.distributions
    ]
    joint = np.column_stack(comps) + m.weights
    want = logsumexp(joint, axis=1)
    np.testing.assert_allclose(m.log_probability(faithful), want, rtol=1e-12)
    np.testing.assert_allclose(m.probability(faithful), np.exp(want), rtol=1e-11)
    post = joint - want[:, None]
    np.testing.assert_allclose(m.predict_log_proba(faithful), post, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(m.predict_proba(faithful), np.exp(post), rtol=1e-9, atol=1e-15)
    np.testing.assert_array_equal(m.predict(faithful), np.argmax(joint, axis=1))
    labels = m.predict(faithful)
    assert m.score(faithful, labels) == 1.0
    assert m.score(faithful, 1 - labels) == 0.0


def test_input_shapes():
    m = two_normals()
    assert m.log_probability([1.0, 2.0]).shape == (2,)
    with pytest.raises(TypeError):
        m.log_probability(5)
    with pytest.raises(ValueError, match="X"):
        m.log_probability([[1.0, 2.0]])
    with pytest.raises(TypeError, match="X"):
        m.predict([["a"]])
    with pytest.raises(ValueError, match="X"):
        m.predict([[np.inf]])
    mg = mgd_model()
    assert mg.log_probability([1.0, 60.0]).shape == (1,)
    with pytest.raises(ValueError, match="X"):
        mg.log_probability(np.zeros((2, 3)))


def test_all_missing_rows_get_the_prior():
    m = GeneralMixtureModel(
        [NormalDistribution(0, 1), NormalDistribution(3, 1)], weights=[0.25, 0.75]
    )
    assert m.log_probability([[np.nan]])[0] == pytest.approx(0.0, abs=1e-15)
    np.testing.assert_allclose(m.predict_proba([[np.nan]]), [[0.25, 0.75]])


# -- statistics -----------------------------------------------------------------------------------


def test_summarize_and_from_summaries_equal_one_em_step(faithful):
    a = mgd_model()
    b = mgd_model()
    logp = a.summarize(faithful[:100])
    logp += a.summarize(faithful[100:])
    assert logp == pytest.approx(b.log_probability(faithful).sum(), rel=1e-12)
    assert a.summaries.sum() == pytest.approx(len(faithful))
    a.from_summaries()
    np.testing.assert_array_equal(a.summaries, [0.0, 0.0])
    b.fit(faithful, max_iterations=1)
    for da, db in zip(a.distributions, b.distributions):
        np.testing.assert_allclose(da.mu, db.mu, rtol=1e-12)
        np.testing.assert_allclose(da.cov, db.cov, rtol=1e-10)
    np.testing.assert_allclose(a.weights, b.weights, rtol=1e-12)
    c = mgd_model()
    c.summarize(faithful)
    c.clear_summaries()
    c.from_summaries()
    assert c.to_json() == mgd_model().to_json()


def test_pseudocount_smooths_weights():
    m = GeneralMixtureModel([NormalDistribution(0, 1), NormalDistribution(100, 1)])
    m.summarize(np.zeros((10, 1)))
    m.from_summaries(pseudocount=5)
    np.testing.assert_allclose(np.exp(m.weights), [15 / 20, 5 / 20], rtol=1e-9)


# -- fitting --------------------------------------------------------------------------------------


def test_fit_stops_by_the_rule_and_history_matches(faithful):
    m, hist = mgd_model().fit(faithful, return_history=True)
    assert isinstance(hist, History)
    assert hist.epochs == list(range(1, len(hist.epochs) + 1))
    assert all(i > 0.1 for i in hist.improvements[:-1])
    assert hist.improvements[-1] <= 0.1
    assert hist.log_probabilities[-1] == pytest.approx(m.log_probability(faithful).sum(), rel=1e-12)
    assert hist.initial_log_probability == pytest.approx(
        mgd_model().log_probability(faithful).sum(), rel=1e-12
    )
    np.testing.assert_allclose(
        hist.total_improvement, np.array(hist.log_probabilities) - hist.initial_log_probability
    )
    assert hist.learning_rates == [0.0] * len(hist.epochs)
    assert len(hist.epoch_durations) == len(hist.epochs)


def test_max_iterations_counts_m_steps(faithful):
    for n in [1, 2, 5]:
        _, hist = mgd_model().fit(faithful, max_iterations=n, stop_threshold=-np.inf,
                                  return_history=True)
        assert hist.epochs == list(range(1, n + 1))
    m = mgd_model()
    assert m.fit(faithful, max_iterations=0) is m
    assert m.to_json() == mgd_model().to_json()


def test_sample_weights_equal_duplicated_rows(faithful):
    X = faithful[:60]
    w = np.arange(60) % 3
    a = mgd_model().fit(X, weights=w.astype(float), max_iterations=4)
    b = mgd_model().fit(np.repeat(X, w, axis=0), max_iterations=4)
    for da, db in zip(a.distributions, b.distributions):
        np.testing.assert_allclose(da.mu, db.mu, rtol=1e-9)
        np.testing.assert_allclose(da.cov, db.cov, rtol=1e-8)
    with pytest.raises(ValueError, match="weights"):
        mgd_model().fit(X, weights=np.ones(5))
    with pytest.raises(ValueError, match="weights"):
        mgd_model().fit(X, weights=-np.ones(60))


def test_frozen_model_and_components(faithful):
    m = mgd_model()
    m.freeze()
    m.fit(faithful)
    assert m.to_json() == mgd_model().to_json()
    m.thaw()
    m.distributions[0].freeze()
    m.fit(faithful, max_iterations=3)
    assert m.distributions[0].frozen
    np.testing.assert_array_equal(m.distributions[0].mu, mgd_model().distributions[0].mu)
    np.testing.assert_array_equal(m.distributions[0].cov, mgd_model().distributions[0].cov)
    assert m.distributions[1].to_json() != mgd_model().distributions[1].to_json()
    assert not np.allclose(m.weights, mgd_model().weights)


def test_fit_arguments_are_checked(faithful):
    m = mgd_model()
    for kwargs, name in [
        ({"inertia": 2.0}, "inertia"),
        ({"stop_threshold": np.nan}, "stop_threshold"),
        ({"max_iterations": -1}, "max_iterations"),
        ({"n_jobs": 0}, "n_jobs"),
        ({"batch_size": 0}, "batch_size"),
        ({"pseudocount": -1.0}, "pseudocount"),
    ]:
        with pytest.raises(ValueError, match=name):
            m.fit(faithful, **kwargs)
    with pytest.raises(TypeError, match="n_jobs"):
        m.fit(faithful, n_jobs="2")


def test_batch_size_only_chunks_the_work(faithful):
    a = mgd_model().fit(faithful)
    b = mgd_model().fit(faithful, batch_size=50)
    assert a.to_json() == b.to_json()


def test_verbose_prints_progress(faithful):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        mgd_model().fit(faithful, verbose=True)
    text = out.getvalue()
    assert "[1] Improvement:" in text and "Total Improvement:" in text and "Total Time (s):" in text


def test_callbacks(faithful, tmp_path):
    seen = []
    csv = tmp_path / "log.csv"
    ckpt = ModelCheckpoint(name=str(tmp_path / "ckpt"), verbose=False)
    m, hist = mgd_model().fit(
        faithful,
        max_iterations=3,
        stop_threshold=-np.inf,
        callbacks=[
            LambdaCallback(on_epoch_end=lambda logs: seen.append(logs["epoch"])),
            CSVLogger(str(csv)),
            ckpt,
        ],
        return_history=True,
    )
    assert seen == [1, 2, 3]
    lines = csv.read_text().splitlines()
    assert lines[0] == (
        "epoch,duration,total_improvement,improvement,log_probability,last_log_probability,"
        "epoch_start_time,epoch_end_time,n_seen_batches,learning_rate"
    )
    assert len(lines) == 4
    # Each checkpoint holds the model as it was after that epoch.
    third = GeneralMixtureModel.from_json(str(tmp_path / "ckpt.3.json"))
    assert third.to_json() == m.to_json()
    second = GeneralMixtureModel.from_json(str(tmp_path / "ckpt.2.json"))
    assert second.to_json() != m.to_json()


def test_callback_exception_propagates_and_keeps_the_model(faithful):
    class Boom(Exception):
        pass

    def stop(logs):
        if logs["epoch"] == 2:
            raise Boom()

    m = mgd_model()
    with pytest.raises(Boom):
        m.fit(faithful, stop_threshold=-np.inf, max_iterations=10,
              callbacks=[LambdaCallback(on_epoch_end=stop)])
    ref = mgd_model().fit(faithful, max_iterations=2, stop_threshold=-np.inf)
    assert m.to_json() == ref.to_json()


# -- from_samples ---------------------------------------------------------------------------------


def test_from_samples_finds_the_clusters(blobs):
    m = GeneralMixtureModel.from_samples(MultivariateGaussianDistribution, 3, blobs, random_state=1)
    means = np.array(sorted(d.mu.tolist() for d in m.distributions))
    np.testing.assert_allclose(means, [[0.0, 0.0], [2.0, 7.0], [6.0, 1.0]], atol=0.2)
    np.testing.assert_allclose(np.sort(np.exp(m.weights)), [1 / 3] * 3, atol=0.02)


@pytest.mark.parametrize("init", ["first-k", "random", "kmeans++"])
def test_from_samples_inits_are_reproducible(blobs, init):
    a = GeneralMixtureModel.from_samples(NormalDistribution, 3, blobs, init=init, random_state=7)
    b = GeneralMixtureModel.from_samples(NormalDistribution, 3, blobs, init=init, random_state=7)
    assert a.to_json() == b.to_json()
    assert all(d.name == "IndependentComponentsDistribution" for d in a.distributions)


def test_from_samples_global_numpy_seed(blobs):
    np.random.seed(3)
    a = GeneralMixtureModel.from_samples(MultivariateGaussianDistribution, 3, blobs)
    np.random.seed(3)
    b = GeneralMixtureModel.from_samples(MultivariateGaussianDistribution, 3, blobs)
    assert a.to_json() == b.to_json()


def test_from_samples_n_init_keeps_the_best(blobs):
    single = [
        GeneralMixtureModel.from_samples(
            MultivariateGaussianDistribution, 3, blobs, init="random", random_state=s,
            max_iterations=2,
        ).log_probability(blobs).sum()
        for s in range(3)
    ]
    best = GeneralMixtureModel.from_samples(
        MultivariateGaussianDistribution, 3, blobs, init="random", n_init=5, random_state=0,
        max_iterations=2,
    )
    assert best.log_probability(blobs).sum() >= min(single)


def test_from_samples_component_layouts(blobs):
    per_feature = GeneralMixtureModel.from_samples(
        [NormalDistribution, NormalDistribution], 2, blobs, random_state=0
    )
    assert per_feature.d == 2 and per_feature.n == 2
    one_col = blobs[:, :1]
    mixed = GeneralMixtureModel.from_samples(
        [NormalDistribution, NormalDistribution, NormalDistribution], 3, one_col, random_state=0
    )
    assert mixed.n == 3 and mixed.distributions[0].name == "NormalDistribution"
    pre = GeneralMixtureModel.from_samples(
        [NormalDistribution(0, 1), NormalDistribution(5, 1)], 2, one_col
    )
    assert pre.n == 2


def test_from_samples_errors(blobs):
    with pytest.raises(ValueError, match="n_components"):
        GeneralMixtureModel.from_samples(NormalDistribution, 0, blobs)
    with pytest.raises(ValueError, match="X"):
        GeneralMixtureModel.from_samples(MultivariateGaussianDistribution, 3, blobs[:2])
    with pytest.raises(ValueError, match="init"):
        GeneralMixtureModel.from_samples(MultivariateGaussianDistribution, 2, blobs, init="nope")
    with pytest.raises(ValueError, match="distributions"):
        GeneralMixtureModel.from_samples([NormalDistribution] * 3, 2, blobs)
    with pytest.raises(TypeError, match="random_state"):
        GeneralMixtureModel.from_samples(NormalDistribution, 2, blobs, random_state="x")
    with pytest.raises(ValueError, match="random_state"):
        GeneralMixtureModel.from_samples(NormalDistribution, 2, blobs, random_state=-1)
    with pytest.raises(ValueError, match="IndependentComponents"):
        GeneralMixtureModel.from_samples(IndependentComponentsDistribution, 2, blobs)


def test_from_samples_history_and_callbacks(blobs):
    models = []
    m, hist = GeneralMixtureModel.from_samples(
        MultivariateGaussianDistribution, 3, blobs, random_state=0, return_history=True,
        callbacks=[LambdaCallback(on_training_end=lambda logs: models.append(logs["epoch"]))],
    )
    assert len(hist.epochs) >= 1 and models == [hist.epochs[-1]]
    assert hist.log_probabilities[-1] == pytest.approx(m.log_probability(blobs).sum(), rel=1e-12)


# -- threads --------------------------------------------------------------------------------------


def test_n_jobs_gives_identical_results():
    rng = np.random.RandomState(0)
    X = np.vstack([rng.randn(30000, 3), rng.randn(30000, 3) + 4])
    models = [
        GeneralMixtureModel.from_samples(
            MultivariateGaussianDistribution, 2, X, random_state=0, n_jobs=n, max_iterations=5
        )
        for n in (1, 2, 4)
    ]
    texts = {m.to_json() for m in models}
    assert len(texts) == 1
    for n in (2, 4, -1):
        np.testing.assert_array_equal(models[0].predict_proba(X), models[0].predict_proba(X, n_jobs=n))
        np.testing.assert_array_equal(
            models[0].log_probability(X), models[0].log_probability(X, n_jobs=n)
        )


# -- copies and files -----------------------------------------------------------------------------


def test_copy_is_deep(faithful):
    m = mgd_model()
    c = m.copy()
    assert c.to_json() == m.to_json()
    assert all(a is not b for a, b in zip(c.distributions, m.distributions))
    c.fit(faithful)
    assert m.to_json() == mgd_model().to_json()


def test_json_and_pickle_round_trips(faithful, tmp_path):
    m = mgd_model().fit(faithful)
    text = m.to_json()
    assert GeneralMixtureModel.from_json(text).to_json() == text
    assert mixtura.from_json(text).to_json() == text
    path = tmp_path / "model.json"
    path.write_text(text)
    assert GeneralMixtureModel.from_json(str(path)).to_json() == text
    assert pickle.loads(pickle.dumps(m)).to_json() == text
    m.freeze()
    assert pickle.loads(pickle.dumps(m)).frozen
    assert GeneralMixtureModel.from_dict(m.to_dict()).to_json() == text
    np.testing.assert_array_equal(
        GeneralMixtureModel.from_json(text).predict_proba(faithful), m.predict_proba(faithful)
    )


def test_pomegranate_json_layout():
    m = GeneralMixtureModel(
        [NormalDistribution(0, 1), NormalDistribution(3, 1)], weights=[0.25, 0.75]
    )
    assert m.to_json().startswith('{\n    "class" : "GeneralMixtureModel",\n    "distributions" : [\n')
    assert m.to_json().endswith('"weights" : [\n        0.25,\n        0.75\n    ]\n}')


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "{}",
        '{"class": "GeneralMixtureModel", "distributions": [], "weights": []}',
        '{"class": "GeneralMixtureModel", "distributions": [{"class": "Distribution", '
        '"name": "NormalDistribution", "parameters": [0, -1], "frozen": false}], "weights": [1]}',
    ],
)
def test_malformed_json_is_a_value_error(text):
    with pytest.raises(ValueError):
        GeneralMixtureModel.from_json(text)


def test_sample(faithful):
    m = mgd_model()
    a = m.sample(5000, random_state=2)
    assert a.shape == (5000, 2)
    np.testing.assert_array_equal(a, m.sample(5000, random_state=2))
    assert m.sample(random_state=1).shape == (2,)
    one_d = two_normals()
    assert isinstance(one_d.sample(random_state=0), float)
    assert one_d.sample(10, random_state=0).shape == (10,)


def test_sample_gives_the_symbols_of_discrete_columns():
    # pomegranate draws symbols, not codes, from discrete components (alone or in independent
    # components, where the numbers stay numbers).
    from mixtura import DiscreteDistribution, IndependentComponentsDistribution

    g = GeneralMixtureModel([DiscreteDistribution({"a": 0.9, "b": 0.1}),
                             DiscreteDistribution({"a": 0.1, "b": 0.9})])
    draws = g.sample(200, random_state=0)
    assert set(draws.tolist()) == {"a", "b"}
    assert g.sample(1, random_state=0) in ("a", "b")
    icd = IndependentComponentsDistribution([NormalDistribution(0, 1),
                                             DiscreteDistribution({"x": 0.5, 7: 0.5})])
    rows = GeneralMixtureModel([icd, icd.copy()]).sample(50, random_state=1)
    assert rows.shape == (50, 2) and rows.dtype == object
    assert all(isinstance(v, float) for v in rows[:, 0])
    assert set(rows[:, 1]) == {"x", 7}


def test_independent_components_copy_and_pickle_keep_symbol_types():
    import pickle as _pickle

    from mixtura import DiscreteDistribution, IndependentComponentsDistribution

    icd = IndependentComponentsDistribution(
        [NormalDistribution(0, 1), DiscreteDistribution({"x": 0.5, 7: 0.5})], weights=[1.0, 2.0],
        frozen=True)
    for other in (icd.copy(), _pickle.loads(_pickle.dumps(icd))):
        assert other.distributions[1].keys() == ["x", 7]
        assert other.frozen and other.to_json() == icd.to_json()
        assert other.distributions[1] is not icd.distributions[1]
