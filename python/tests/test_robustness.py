"""Reliability: interrupts, concurrency, determinism, degenerate data, bad arguments."""

import os
import signal
import threading
import time
import warnings

import numpy as np
import pytest

from mixtura import (
    CSVLogger,
    ExponentialDistribution,
    GeneralMixtureModel,
    IndependentComponentsDistribution,
    Kmeans,
    LambdaCallback,
    MultivariateGaussianDistribution,
    NormalDistribution,
)


@pytest.fixture
def sigint_raises():
    """Ctrl-C raises KeyboardInterrupt during the test, as in an interactive session, even
    when the tests run in a process that inherited SIGINT ignored (a background job of a
    non-interactive shell), where the signal would otherwise never reach the fit."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def big_data(n=300_000, d=8, seed=0):
    rng = np.random.RandomState(seed)
    return rng.randn(n, d)


def start_model(X, k=4):
    return GeneralMixtureModel.from_samples(
        MultivariateGaussianDistribution, k, X[:2000], random_state=0, max_iterations=0
    )


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                    reason="signals reach the main thread only")
def test_keyboard_interrupt_stops_a_long_fit_promptly_and_keeps_a_usable_model(
        sigint_raises):
    X = big_data()
    model = start_model(X)
    initial = model.to_json()
    epochs = []
    sent = []

    def interrupt():
        sent.append(time.time())
        os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Timer(0.8, interrupt)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            model.fit(X, max_iterations=10**9, stop_threshold=-np.inf,
                      callbacks=[_Recorder(epochs)])
        stopped = time.time()
    finally:
        timer.cancel()
    assert stopped - sent[0] < 1.0
    assert all(np.isfinite(d.cov).all() for d in model.distributions)
    assert np.isfinite(model.log_probability(X[:100])).all()
    # The model holds the parameters of the last epoch it reported.
    assert model.to_json() == (epochs[-1] if epochs else initial)


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                    reason="signals reach the main thread only")
def test_keyboard_interrupt_at_the_end_of_a_fit_is_not_lost(sigint_raises):
    X = big_data(20_000, 2)
    model = start_model(X, 2)

    def last_epoch(logs):
        if logs["epoch"] == 2:
            # Ctrl-C after the last E-step: the watcher sees it, but the fit has nothing left
            # to cancel and returns.
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.3)

    with pytest.raises(KeyboardInterrupt):
        model.fit(X, max_iterations=2, stop_threshold=-np.inf,
                  callbacks=[LambdaCallback(on_epoch_end=last_epoch)])
    assert np.isfinite(model.log_probability(X[:10])).all()


def test_callbacks_end_when_a_fit_raises(tmp_path):
    X = big_data(2000, 2)
    model = start_model(X, 2)
    logger = CSVLogger(str(tmp_path / "log.csv"))

    def fail(logs):
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        model.fit(X, max_iterations=5, callbacks=[logger, LambdaCallback(on_epoch_end=fail)])
    assert logger.file is None
    assert (tmp_path / "log.csv").read_text().count("\n") == 2


class _Recorder:
    def __init__(self, out):
        self.out = out
        self.model = None

    def on_training_begin(self):
        pass

    def on_epoch_end(self, logs):
        self.out.append(self.model.to_json())

    def on_training_end(self, logs):
        pass


def test_the_gil_is_released_during_a_fit():
    X = big_data(200_000)
    model = start_model(X)
    ticks = []
    stop = threading.Event()

    def tick():
        while not stop.is_set():
            ticks.append(time.time())
            time.sleep(0.005)

    t = threading.Thread(target=tick)
    t.start()
    try:
        # One fit of many iterations (about a second): held, the GIL would show as one gap.
        model.fit(X, max_iterations=100, stop_threshold=-np.inf)
    finally:
        stop.set()
        t.join()
    gaps = np.diff(ticks)
    assert len(ticks) > 20 and gaps.max() < 0.25


def test_concurrent_predictions_match_sequential_ones():
    X = big_data(20_000, 3)
    model = GeneralMixtureModel.from_samples(MultivariateGaussianDistribution, 3, X, random_state=1,
                                             max_iterations=3)
    want = model.predict_proba(X)
    results = [None] * 8

    def run(i):
        results[i] = model.predict_proba(X, n_jobs=1 + i % 3)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        np.testing.assert_array_equal(r, want)


@pytest.mark.parametrize("cls", [MultivariateGaussianDistribution, NormalDistribution])
def test_determinism_across_seeds_and_threads(cls):
    X = big_data(30_000, 3, seed=2)
    fits = [GeneralMixtureModel.from_samples(cls, 3, X, random_state=11, n_jobs=n, max_iterations=4)
            for n in (1, 2, 8)]
    assert len({m.to_json() for m in fits}) == 1
    for n in (2, 8):
        np.testing.assert_array_equal(fits[0].predict(X, n_jobs=n), fits[0].predict(X))
        np.testing.assert_array_equal(fits[0].predict_proba(X, n_jobs=n), fits[0].predict_proba(X))


def test_posteriors_stay_finite_with_very_negative_log_densities():
    model = GeneralMixtureModel([NormalDistribution(0, 1), NormalDistribution(1, 1)])
    X = np.array([[450.0], [-440.0], [1e6], [1e100]])
    logp = model.log_probability(X)
    assert np.isfinite(logp).all() and (logp < -1e4).all()
    post = model.predict_proba(X)
    assert np.isfinite(post).all()
    np.testing.assert_allclose(post.sum(axis=1), 1.0)


@pytest.mark.parametrize(
    "X",
    [
        np.ones((50, 2)),
        np.repeat([[1.0, 2.0], [3.0, 4.0]], 25, axis=0),
        np.column_stack([np.random.RandomState(0).randn(60), np.full(60, 7.0)]),
        np.random.RandomState(1).randn(80, 2) * 1e-12,
        np.random.RandomState(2).randn(80, 2) * 1e12,
    ],
    ids=["identical", "two-points", "constant-column", "tiny-scale", "huge-scale"],
)
@pytest.mark.parametrize("cls", [MultivariateGaussianDistribution, NormalDistribution])
def test_degenerate_data_give_finite_models(X, cls):
    model = GeneralMixtureModel.from_samples(cls, 3, X, random_state=0)
    doc = model.to_dict()
    flat = np.hstack([np.ravel(np.asarray(v, dtype=float)) for v in _numbers(doc)])
    assert np.isfinite(flat).all()
    assert not np.isnan(model.log_probability(X)).any()
    assert np.isfinite(model.predict_proba(X)).all()


def _numbers(doc):
    if isinstance(doc, dict):
        for v in doc.values():
            yield from _numbers(v)
    elif isinstance(doc, list):
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in doc):
            yield doc
        else:
            for v in doc:
                yield from _numbers(v)


def test_a_component_that_empties_stays_finite():
    X = np.random.RandomState(3).randn(200, 1)
    model = GeneralMixtureModel([NormalDistribution(0, 1), NormalDistribution(1e6, 1e-3)])
    model.fit(X)
    assert all(np.isfinite(d.parameters).all() for d in model.distributions)
    assert np.isfinite(model.log_probability(X)).all()


@pytest.mark.parametrize(
    "call,exc,name",
    [
        (lambda m, X: m.fit(X[:, :1]), ValueError, "X"),
        (lambda m, X: m.fit(X[:0]), ValueError, "X"),
        (lambda m, X: m.fit(np.where(X > 1, np.inf, X)), ValueError, "X"),
        (lambda m, X: m.fit(X.astype(str).astype(object) + "a"), TypeError, "X"),
        (lambda m, X: m.fit(X, weights=np.ones(3)), ValueError, "weights"),
        (lambda m, X: m.fit(X, weights=-np.ones(len(X))), ValueError, "weights"),
        (lambda m, X: m.fit(X, weights=np.zeros(len(X))), ValueError, "weights"),
        (lambda m, X: m.fit(X, weights=np.full(len(X), np.nan)), ValueError, "weights"),
        (lambda m, X: m.fit(X, max_iterations=-1), ValueError, "max_iterations"),
        (lambda m, X: m.fit(X, stop_threshold=np.nan), ValueError, "stop_threshold"),
        (lambda m, X: m.fit(X, n_jobs=0), ValueError, "n_jobs"),
        (lambda m, X: m.fit(X, n_jobs=-2), ValueError, "n_jobs"),
        (lambda m, X: m.fit(X, n_jobs=1.5), TypeError, "n_jobs"),
        (lambda m, X: m.fit(X, inertia=-0.1), ValueError, "inertia"),
        (lambda m, X: GeneralMixtureModel.from_samples(NormalDistribution, 2, X, init="x"),
         ValueError, "init"),
        (lambda m, X: GeneralMixtureModel.from_samples(NormalDistribution, 0, X), ValueError,
         "n_components"),
        (lambda m, X: GeneralMixtureModel.from_samples(NormalDistribution, 50, X[:10]), ValueError,
         "X"),
        (lambda m, X: GeneralMixtureModel.from_samples(NormalDistribution, 2, X, random_state=1.5),
         TypeError, "random_state"),
        (lambda m, X: m.predict(X[:, :1]), ValueError, "X"),
        (lambda m, X: m.sample(-1), ValueError, "n"),
        (lambda m, X: m.sample(10**15), ValueError, "n"),
    ],
)
def test_bad_arguments_name_the_parameter(call, exc, name):
    X = np.random.RandomState(0).randn(40, 2)
    model = GeneralMixtureModel([
        IndependentComponentsDistribution([NormalDistribution(0, 1), ExponentialDistribution(1)]),
        IndependentComponentsDistribution([NormalDistribution(2, 1), ExponentialDistribution(2)]),
    ])
    with pytest.raises(exc, match=name):
        call(model, X)


def _child_predicts(model_json, X, queue):
    model = GeneralMixtureModel.from_json(model_json)
    queue.put(model.predict_proba(X, n_jobs=2).tolist())


def test_forking_after_a_fit_does_not_deadlock():
    import multiprocessing as mp

    X = big_data(20_000, 3)
    model = GeneralMixtureModel.from_samples(MultivariateGaussianDistribution, 2, X, random_state=0,
                                             n_jobs=2, max_iterations=3)
    want = model.predict_proba(X[:50], n_jobs=2)
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_child_predicts, args=(model.to_json(), X[:50], queue))
    child.start()
    got = queue.get(timeout=60)
    child.join(timeout=60)
    assert child.exitcode == 0
    np.testing.assert_array_equal(np.array(got), want)


def _child_fits_wide(X, queue):
    queue.put(MultivariateGaussianDistribution.from_samples(X).parameters[1].tolist())


def test_forking_after_a_wide_fit_does_not_deadlock():
    # From 192 features on, the linear algebra runs on a pool of threads; a forked child has
    # none of its parent's threads, and must start its own rather than wait for them.
    import multiprocessing as mp

    X = np.random.RandomState(0).randn(600, 200)
    want = MultivariateGaussianDistribution.from_samples(X).parameters[1]
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_child_fits_wide, args=(X, queue))
    child.start()
    try:
        got = queue.get(timeout=60)
    finally:
        child.join(timeout=5)
        if child.is_alive():
            child.kill()
    assert child.exitcode == 0
    np.testing.assert_array_equal(np.array(got), want)


def _rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc")
def test_repeated_calls_do_not_grow_memory():
    X = np.random.RandomState(0).randn(200, 2)

    def work(n):
        for i in range(n):
            m = GeneralMixtureModel([NormalDistribution(0, 1), NormalDistribution(1, 1)])
            m.fit(X[:, :1], max_iterations=2)
            m.predict_proba(X[:, :1])
            GeneralMixtureModel.from_samples(MultivariateGaussianDistribution, 2, X, random_state=i,
                                             max_iterations=1)

    work(1000)
    before = _rss_bytes()
    work(10_000)
    grown = _rss_bytes() - before
    assert grown < 8 * 2**20, f"resident memory grew by {grown / 2**20:.1f} MiB"


def test_more_components_than_distinct_points():
    X = np.repeat([[1.0, 2.0], [3.0, 4.0]], 10, axis=0)
    for cls in (MultivariateGaussianDistribution, NormalDistribution):
        model = GeneralMixtureModel.from_samples(cls, 4, X, random_state=0)
        assert np.isfinite(model.log_probability(X)).all()
        assert np.isfinite(model.predict_proba(X)).all()
        assert np.isclose(np.exp(model.weights).sum(), 1.0)


COMPLEX = np.random.RandomState(0).randn(20, 2) + 1j


@pytest.mark.parametrize("call", [
    lambda m: GeneralMixtureModel.from_samples(MultivariateGaussianDistribution, 2, COMPLEX),
    lambda m: GeneralMixtureModel.from_samples([NormalDistribution] * 2, 2, COMPLEX),
    lambda m: m.fit(COMPLEX),
    lambda m: m.log_probability(COMPLEX),
    lambda m: m.predict(COMPLEX),
    lambda m: m.predict_proba(COMPLEX),
    lambda m: m.predict_log_proba(COMPLEX),
    lambda m: m.fit(COMPLEX.real, weights=np.ones(20) + 1j),
    lambda m: MultivariateGaussianDistribution(np.zeros(2) + 1j, np.eye(2)),
    lambda m: MultivariateGaussianDistribution(np.zeros(2), np.eye(2) + 0j),
    lambda m: NormalDistribution.from_samples(list(COMPLEX[:, 0])),
])
def test_complex_input_is_a_type_error(call):
    m = GeneralMixtureModel([MultivariateGaussianDistribution(np.zeros(2), np.eye(2)),
                             MultivariateGaussianDistribution(np.ones(2), np.eye(2))])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(TypeError, match="real numbers|array of numbers"):
            call(m)


@pytest.mark.parametrize("name, call", [
    ("n_components", lambda X: GeneralMixtureModel.from_samples(NormalDistribution, 2**64, X)),
    ("n_init", lambda X: GeneralMixtureModel.from_samples(NormalDistribution, 2, X, n_init=2**64)),
    ("batch_size", lambda X: GeneralMixtureModel.from_samples(NormalDistribution, 2, X,
                                                             batch_size=2**64)),
    ("n_jobs", lambda X: GeneralMixtureModel.from_samples(NormalDistribution, 2, X, n_jobs=2**64)),
    ("n_jobs", lambda X: GeneralMixtureModel([NormalDistribution(0, 1)]).predict(X, n_jobs=2**70)),
    ("k", lambda X: Kmeans(2**64)),
    ("d", lambda X: MultivariateGaussianDistribution.blank(2**64)),
    ("n", lambda X: NormalDistribution(0, 1).sample(2**64)),
    ("n", lambda X: GeneralMixtureModel([NormalDistribution(0, 1)]).sample(2**64)),
])
def test_huge_integer_arguments_are_value_errors_naming_them(name, call):
    X = np.random.RandomState(1).randn(20, 1)
    with pytest.raises(ValueError, match=name):
        call(X)


def test_hugely_negative_integer_arguments_are_value_errors_naming_them():
    X = np.random.RandomState(1).randn(20, 1)
    with pytest.raises(ValueError, match="n_jobs"):
        GeneralMixtureModel([NormalDistribution(0, 1)]).predict(X, n_jobs=-2**64)
    with pytest.raises(ValueError, match="batch_size"):
        GeneralMixtureModel.from_samples(NormalDistribution, 2, X, batch_size=-2**64)
