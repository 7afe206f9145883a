"""GeneralMixtureModel on Dask collections, on a LocalCluster of 2 worker processes: the fit is
the in-process fit of the same rows from the same initial parameters, predictions are the same
numbers, bad partitions are the in-process errors naming the partition, Ctrl-C stops a fit and a
lost worker does not change it."""

import pickle
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mixtura import (
    DiscreteDistribution,
    ExponentialDistribution,
    GammaDistribution,
    GeneralMixtureModel,
    IndependentComponentsDistribution,
    MixturaError,
    MultivariateGaussianDistribution,
    NormalDistribution,
    PoissonDistribution,
    _checks,
    _core,
)
from mixtura.callbacks import LambdaCallback

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

RTOL = 1e-10


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0", silence_logs=40) as cluster:
        with distributed.Client(cluster) as c:
            yield c


def numbers(model):
    """Every number of a model's JSON document, in document order."""
    import json

    def walk(o):
        if isinstance(o, dict):
            return [v for k in o for v in walk(o[k])]
        if isinstance(o, list):
            return [v for x in o for v in walk(x)]
        return [float(o)] if isinstance(o, (int, float)) and not isinstance(o, bool) else []

    return np.array(walk(json.loads(model.to_json())))


def assert_same_model(a, b, rtol=RTOL):
    x, y = numbers(a), numbers(b)
    assert x.shape == y.shape
    np.testing.assert_allclose(x, y, rtol=rtol, atol=0)


def assert_same_history(ha, hb):
    assert len(ha.log_probabilities) == len(hb.log_probabilities)
    np.testing.assert_allclose(hb.log_probabilities, ha.log_probabilities, rtol=RTOL)
    np.testing.assert_allclose(hb.improvements, ha.improvements, rtol=1e-6, atol=1e-6)


def data(kind, n=3000, seed=0):
    rng = np.random.default_rng(seed)
    half = n // 2
    if kind == "mgd":
        X = np.vstack([rng.normal(0, 1, (half, 3)), rng.normal(3, 2, (n - half, 3))])
        m = GeneralMixtureModel([
            MultivariateGaussianDistribution([0.5, 0, 0], np.eye(3)),
            MultivariateGaussianDistribution([2, 2, 3], 2 * np.eye(3)),
        ])
    elif kind == "icd":
        X = np.vstack([rng.normal(0, 1, (half, 2)), rng.normal(4, 0.5, (n - half, 2))])
        m = GeneralMixtureModel([
            IndependentComponentsDistribution([NormalDistribution(1, 1), NormalDistribution(0, 2)]),
            IndependentComponentsDistribution([NormalDistribution(3, 1), NormalDistribution(3, 1)]),
        ])
    elif kind == "positive":
        X = np.column_stack([
            np.concatenate([rng.gamma(2, 1, half), rng.gamma(9, 1, n - half)]),
            np.concatenate([rng.exponential(1, half), rng.exponential(5, n - half)]),
            np.concatenate([rng.poisson(2, half), rng.poisson(9, n - half)]).astype(float),
        ])
        m = GeneralMixtureModel([
            IndependentComponentsDistribution(
                [GammaDistribution(1, 1), ExponentialDistribution(2), PoissonDistribution(1)]),
            IndependentComponentsDistribution(
                [GammaDistribution(5, 1), ExponentialDistribution(0.5), PoissonDistribution(6)]),
        ])
    else:  # a discrete column beside a numeric one
        X = np.empty((n, 2), dtype=object)
        X[:, 0] = np.concatenate([rng.normal(0, 1, half), rng.normal(3, 1, n - half)])
        X[:, 1] = np.concatenate([rng.choice(["a", "b"], half), rng.choice(["b", "c"], n - half)])
        m = GeneralMixtureModel([
            IndependentComponentsDistribution(
                [NormalDistribution(0.5, 1), DiscreteDistribution({"a": 0.4, "b": 0.4, "c": 0.2})]),
            IndependentComponentsDistribution(
                [NormalDistribution(2, 1), DiscreteDistribution({"a": 0.2, "b": 0.4, "c": 0.4})]),
        ])
    perm = rng.permutation(n)
    return X[perm], m


def with_missing(X, seed=1):
    X = X.copy()
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(X), 40, replace=False)
    X[rows, rng.integers(0, X.shape[1], 40)] = np.nan
    return X


@pytest.mark.parametrize("kind", ["mgd", "icd", "positive", "discrete"])
def test_fit_is_the_in_process_fit(client, kind):
    X, m = data(kind)
    if kind != "discrete":
        X = with_missing(X)
    w = np.random.default_rng(2).uniform(0, 2, len(X))
    options = dict(max_iterations=8, stop_threshold=1e-9, inertia=0.1, pseudocount=0.5)
    a, ha = m.copy().fit(X, w, return_history=True, **options)
    Xd = da.from_array(X, chunks=(700, X.shape[1])).persist()
    wd = da.from_array(w, chunks=700)
    b, hb = m.copy().fit(Xd, wd, return_history=True, client=client, **options)
    assert_same_model(a, b)
    assert_same_history(ha, hb)
    # Weights as a numpy array beside Dask rows, and the current client by default.
    c = m.copy().fit(Xd, w, **options)
    assert c.to_json() == b.to_json()


def test_fit_runs_to_the_stop_rule_and_is_reproducible(client):
    X, m = data("mgd", n=2000)
    a, ha = m.copy().fit(X, return_history=True)
    Xd = da.from_array(X, chunks=(300, 3)).persist()
    b, hb = m.copy().fit(Xd, return_history=True)
    assert_same_model(a, b)
    assert_same_history(ha, hb)
    # The merge tree is fixed: the same partitions give the same bits on every run.
    c = m.copy().fit(Xd)
    assert c.to_json() == b.to_json()
    # Chunks of columns are joined into rows (the same row partitions, the same bits).
    d = m.copy().fit(da.from_array(X, chunks=(300, 1)))
    assert d.to_json() == b.to_json()


def test_rows_that_are_not_persisted_are_computed_once_per_fit(client):
    X, m = data("mgd", n=2000)
    w = np.random.default_rng(5).uniform(0.5, 1.5, len(X))
    Xd = da.from_array(X, chunks=(400, 3))
    a = m.copy().fit(X, w, max_iterations=5, stop_threshold=-np.inf)
    with distributed.get_task_stream(client) as stream:
        b = m.copy().fit(Xd, w, max_iterations=5, stop_threshold=-np.inf)
    assert_same_model(a, b)
    keys = [t["key"] for t in stream.data]
    reads = [k for k in keys if isinstance(k, tuple) and k[0] == Xd.name]
    assert len(reads) == Xd.numblocks[0], keys


def test_mini_batches_are_partitions(client):
    X, m = data("icd", n=2000)
    options = dict(max_iterations=6, stop_threshold=-np.inf, batches_per_epoch=2, lr_decay=0.5)
    a = m.copy().fit(X, batch_size=500, **options)
    b = m.copy().fit(da.from_array(X, chunks=(500, 2)), **options)
    assert_same_model(a, b)
    with pytest.raises(ValueError, match="batch_size"):
        m.copy().fit(da.from_array(X, chunks=(500, 2)), batch_size=500)


def test_callbacks_see_every_epoch(client):
    X, m = data("icd", n=1000)
    seen_a, seen_b = [], []
    a = m.copy().fit(X, max_iterations=4, stop_threshold=-1,
                     callbacks=[LambdaCallback(on_epoch_end=lambda logs: seen_a.append(logs))])
    b = m.copy().fit(da.from_array(X, chunks=(250, 2)), max_iterations=4, stop_threshold=-1,
                     callbacks=[LambdaCallback(on_epoch_end=lambda logs: seen_b.append(logs))])
    assert [s["epoch"] for s in seen_b] == [s["epoch"] for s in seen_a] == [1, 2, 3, 4]
    np.testing.assert_allclose([s["log_probability"] for s in seen_b],
                               [s["log_probability"] for s in seen_a], rtol=RTOL)
    assert_same_model(a, b)


def test_a_dataframe_and_a_one_column_array(client):
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    X, m = data("icd", n=1500)
    w = np.random.default_rng(4).uniform(0, 3, len(X))
    frame = dd.from_pandas(pd.DataFrame({"u": X[:, 0], "v": X[:, 1], "w": w}), npartitions=3)
    df = frame[["u", "v"]]
    a = m.copy().fit(X, max_iterations=5)
    b = m.copy().fit(df, max_iterations=5)
    assert_same_model(a, b)
    # Weights as a column of the same frame.
    assert_same_model(m.copy().fit(X, w, max_iterations=5),
                      m.copy().fit(df, frame["w"], max_iterations=5))
    np.testing.assert_array_equal(b.predict(df).compute(), a.predict(X))
    y = a.predict(X)
    assert b.score(df, y) == a.score(X, y)
    with pytest.raises(ValueError, match="one label per sample"):
        b.score(df, y[:-1])
    # A 1-D array is one column, as in-process.
    m1 = GeneralMixtureModel([NormalDistribution(0, 1), NormalDistribution(3, 1)])
    a1 = m1.copy().fit(X[:, 0], max_iterations=5)
    b1 = m1.copy().fit(da.from_array(X[:, 0], chunks=400), max_iterations=5)
    assert_same_model(a1, b1)
    np.testing.assert_allclose(b1.predict_proba(da.from_array(X[:, 0], chunks=400)).compute(),
                               a1.predict_proba(X[:, 0]), rtol=1e-12, atol=1e-300)


def test_what_does_not_apply_to_dask_data(client):
    X, m = data("icd", n=600)
    Xd = da.from_array(X, chunks=(200, 2))
    with pytest.raises(ValueError, match="y"):
        m.copy().fit(Xd, y=np.zeros(len(X), dtype=int))

    class Shifted:
        """A component written in Python (pomegranate's protocol)."""

        d = 2

        def __init__(self):
            self.inner = IndependentComponentsDistribution(
                [NormalDistribution(0, 1), NormalDistribution(0, 1)])

        def log_probability(self, X):
            return self.inner.log_probability(X)

        def summarize(self, X, weights=None):
            self.inner.summarize(X, weights)

        def from_summaries(self, inertia=0.0):
            self.inner.from_summaries(inertia)

        def clear_summaries(self):
            self.inner.clear_summaries()

    with pytest.raises(TypeError, match="written in Python"):
        GeneralMixtureModel([Shifted(), m.distributions[1]]).fit(Xd)


def test_empty_partitions_take_no_part(client):
    X, m = data("mgd", n=1200)
    Xd = da.from_array(X, chunks=((500, 0, 700), (3,)))
    a = m.copy().fit(X, max_iterations=4)
    b = m.copy().fit(Xd, max_iterations=4)
    assert_same_model(a, b)
    labels = b.predict(Xd).compute()
    assert labels.shape == (1200,) and labels.dtype == np.int32
    assert b.predict_proba(Xd).compute().shape == (1200, 2)


def test_predictions_are_the_in_process_numbers(client):
    X, m = data("mgd")
    X = with_missing(X)
    model = m.copy().fit(X, max_iterations=3)
    Xd = da.from_array(X, chunks=(700, 3))
    for method in ("log_probability", "predict_proba", "predict_log_proba", "predict", "probability"):
        lazy = getattr(model, method)(Xd)
        assert isinstance(lazy, da.Array), method
        # The same numbers, to rounding: a row's kernel lanes depend on its place in its block.
        np.testing.assert_allclose(lazy.compute(), getattr(model, method)(X), rtol=1e-12,
                                   atol=1e-300, err_msg=method)
    y = model.predict(X)
    y[:100] = 1 - y[:100]
    assert model.score(Xd, y) == model.score(X, y)
    assert model.score(Xd, da.from_array(y, chunks=700), client=client) == model.score(X, y)


def test_from_samples_initialises_on_the_first_partition(client):
    X, _ = data("mgd", n=2000)
    w = np.random.default_rng(3).uniform(0.5, 1.5, len(X))
    Xd = da.from_array(X, chunks=(600, 3))
    for init in ("kmeans++", "first-k", "kmeans||"):
        b = GeneralMixtureModel.from_samples(MultivariateGaussianDistribution, 2, Xd, weights=w,
                                             init=init, random_state=5, max_iterations=5)
        start = GeneralMixtureModel.from_samples(
            MultivariateGaussianDistribution, 2, X[:600], weights=w[:600], init=init,
            random_state=int(np.random.RandomState(_checks.seed(5) % 2**32).randint(0, 2**31)),
            max_iterations=0)
        a = start.fit(X, w, max_iterations=5)
        assert_same_model(a, b)


def test_summarize_adds_the_statistics_of_every_partition(client):
    X, m = data("positive")
    a, b = m.copy(), m.copy()
    la = a.summarize(X)
    lb = b.summarize(da.from_array(X, chunks=(1000, 3)))
    assert lb == pytest.approx(la, rel=RTOL)
    np.testing.assert_allclose(b.summaries, a.summaries, rtol=RTOL)
    a.from_summaries()
    b.from_summaries()
    assert_same_model(a, b)


def test_bad_partitions_raise_the_in_process_error_naming_the_partition(client):
    X, m = data("mgd", n=1200)
    bad = X.copy()
    bad[900, 1] = np.inf
    with pytest.raises(MixturaError, match="infinite") as in_process:
        m.copy().fit(bad)
    with pytest.raises(type(in_process.value), match="partition 2: invalid X: contains an infinite"):
        m.copy().fit(da.from_array(bad, chunks=(400, 3)))
    with pytest.raises(MixturaError, match="partition 2"):
        m.predict(da.from_array(bad, chunks=(400, 3))).compute()
    # A partition whose width is not the model's (a collection built from parts).
    from dask import delayed

    parts = [da.from_delayed(delayed(lambda a: a)(p), shape=(len(p), 3), dtype=float)
             for p in (X[:400], X[400:800, :2], X[800:])]
    with pytest.raises(MixturaError, match="must have 3 columns") as in_process:
        m.copy().fit(X[400:800, :2])
    with pytest.raises(type(in_process.value), match="partition 1: invalid X: must have 3 columns"):
        m.copy().fit(da.concatenate(parts, allow_unknown_chunksizes=True))
    w = np.ones(len(X))
    w[500] = -1
    # Weights in memory are checked before any work; weights on the cluster in their partitions.
    with pytest.raises(MixturaError, match="^invalid weights: must be finite"):
        m.copy().fit(da.from_array(X, chunks=(400, 3)), w)
    with pytest.raises(MixturaError, match="partition 1: invalid weights: must be finite"):
        m.copy().fit(da.from_array(X, chunks=(400, 3)), da.from_array(w, chunks=400))
    with pytest.raises(MixturaError, match="weights: must not all be zero"):
        m.copy().fit(da.from_array(X, chunks=(400, 3)), da.zeros(len(X), chunks=400))
    with pytest.raises(MixturaError, match="one weight per row"):
        m.copy().fit(da.from_array(X, chunks=(400, 3)), w[:-1])
    with pytest.raises(MixturaError, match="no observed value"):
        m.copy().fit(da.full((100, 3), np.nan, chunks=(50, 3)))


def test_importing_mixtura_does_not_import_dask():
    code = "import sys, mixtura; sys.exit('dask' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_without_a_client_dask_s_default_scheduler_runs_the_fit():
    code = """if True:
        import numpy as np, dask.array as da
        from mixtura import GeneralMixtureModel, NormalDistribution
        X = np.random.default_rng(0).normal(size=(3000, 1)) * [[1.0]] + np.repeat([[0.0], [4.0]], 1500, 0)
        m = GeneralMixtureModel([NormalDistribution(1, 1), NormalDistribution(3, 1)])
        a = m.copy().fit(X, max_iterations=5, verbose=True)
        b = m.copy().fit(da.from_array(X, chunks=(700, 1)), max_iterations=5, verbose=True)
        pa = [p for d in a.distributions for p in d.parameters]
        pb = [p for d in b.distributions for p in d.parameters]
        assert np.allclose(pa, pb, rtol=1e-10, atol=0), (pa, pb)
        print(float(b.log_probability(da.from_array(X, chunks=700)).sum().compute()))
    """
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("] Improvement") == 10


@settings(max_examples=40, deadline=None)
@given(data=st.data(), kind=st.sampled_from(["mgd", "icd", "positive"]))
def test_statistics_travel_as_bytes_and_merge_as_the_whole(data, kind):
    _, m = globals()["data"](kind, n=10)
    core = m._core_model()
    low = 0.01 if kind == "positive" else -50.0
    X = data.draw(hnp.arrays(np.float64, st.tuples(st.integers(2, 80), st.just(m.d)),
                             elements=st.floats(low, 50.0)))
    if kind == "positive":
        X[:, 2] = np.round(X[:, 2])
    w = data.draw(hnp.arrays(np.float64, len(X), elements=st.floats(0.0, 5.0)))
    cut = data.draw(st.integers(1, len(X) - 1))
    whole = core.summarize(X, w) if w.any() else None
    first = core.summarize_part(X[:cut], w[:cut])
    second = core.summarize_part(X[cut:], w[cut:])
    back = pickle.loads(pickle.dumps(first))
    assert back.to_bytes() == first.to_bytes()
    assert _core.MixtureSummary.from_bytes(second.to_bytes()).values() == second.values()
    back.merge(second)
    assert back.rows == len(X)
    if whole is not None:
        assert back.log_likelihood == pytest.approx(whole.log_likelihood, rel=1e-9, abs=1e-9)
        np.testing.assert_allclose(back.responsibilities, whole.responsibilities, rtol=1e-9,
                                   atol=1e-12)
        for a, b in zip(back.values(), whole.values()):
            a, b = np.array(a), np.array(b)
            scale = max(1.0, np.abs(b[np.isfinite(b)]).max(initial=0.0))
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12 * scale)


def test_bytes_that_are_not_statistics_are_an_error():
    _, m = data("mgd", n=10)
    good = m._core_model().summarize(np.zeros((3, 3))).to_bytes()
    for bad in (b"", good[:-8], good + b"\0" * 8, b"\x01" * len(good)):
        with pytest.raises(MixturaError, match="summaries"):
            _core.MixtureSummary.from_bytes(bad)


CTRL_C = """
import os, signal, threading, time
import numpy as np
import dask.array as da
from distributed import Client, LocalCluster
import mixtura.dask
from mixtura import GeneralMixtureModel, LambdaCallback, NormalDistribution

# Each partition takes 50 ms on the (in-process) worker, so that the signal, sent 0.2 s after the
# third epoch, comes while the client waits for the next E-step.
summarize_part = mixtura.dask._summarize_part


def slow(*args):
    time.sleep(0.05)
    return summarize_part(*args)


mixtura.dask._summarize_part = slow

if __name__ == "__main__":
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        X = da.from_array(np.random.default_rng(0).normal(size=(20000, 1)), chunks=(2000, 1))
        m = GeneralMixtureModel([NormalDistribution(-1, 1), NormalDistribution(1, 1)])
        epochs = []

        def on_epoch(logs):
            epochs.append(logs["epoch"])
            if logs["epoch"] == 3:
                threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)).start()

        try:
            m.fit(X, max_iterations=10**6, stop_threshold=-np.inf,
                  callbacks=[LambdaCallback(on_epoch_end=on_epoch)])
        except KeyboardInterrupt:
            again = GeneralMixtureModel([NormalDistribution(-1, 1), NormalDistribution(1, 1)])
            again.fit(X.compute(), max_iterations=len(epochs), stop_threshold=-np.inf)
            assert m.to_json() == again.to_json() or np.allclose(
                [p for d in m.distributions for p in d.parameters],
                [p for d in again.distributions for p in d.parameters], rtol=1e-10)
            print("interrupted", len(epochs), sum(len(v) for v in client.processing().values()))
"""


def test_ctrl_c_cancels_the_fit_and_keeps_the_last_iteration(tmp_path):
    script = tmp_path / "ctrl_c.py"
    script.write_text(CTRL_C)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    words = done.stdout.split()
    assert words[0] == "interrupted" and int(words[1]) >= 3, done.stdout


def test_a_lost_worker_is_recomputed_and_the_fit_is_the_same(client):
    import os
    import signal
    import threading

    X, m = data("mgd", n=40000)
    Xd = da.from_array(X, chunks=(2500, 3)).persist()
    distributed.wait(Xd)
    options = dict(max_iterations=6, stop_threshold=-np.inf)
    expected = m.copy().fit(Xd, **options)
    victim, pid = sorted(client.run(os.getpid).items())[0]
    seen = []

    def kill(logs):
        seen.append(logs["epoch"])
        if logs["epoch"] == 2:
            # While the next iteration runs: the worker dies, and its partitions with it.
            threading.Timer(0.005, os.kill, (pid, signal.SIGKILL)).start()

    got = m.copy().fit(Xd, callbacks=[LambdaCallback(on_epoch_end=kill)], **options)
    assert seen == [1, 2, 3, 4, 5, 6]
    assert got.to_json() == expected.to_json()
    client.wait_for_workers(2, timeout=60)
    assert victim not in client.scheduler_info()["workers"]


def _group_tasks(stream):
    return [t for t in stream.data if "summarize_group" in str(t["key"])]


def test_each_worker_summarises_what_it_holds_in_one_call(client, monkeypatch):
    import mixtura.dask as mdask

    X, m = data("icd", n=20000)
    Xd = da.from_array(X, chunks=(2500, 2)).persist()
    distributed.wait(Xd)
    options = dict(max_iterations=4, stop_threshold=-np.inf)
    with distributed.get_task_stream(client) as stream:
        direct = m.copy().fit(Xd, **options)
    assert _group_tasks(stream) == []
    monkeypatch.setattr(mdask, "_DIRECT", False)
    with distributed.get_task_stream(client) as stream:
        tasks = m.copy().fit(Xd, **options)
    assert len(_group_tasks(stream)) >= 2 * 4  # two workers, every E-step
    # The same statistics merged in the same tree: the same bits.
    assert direct.to_json() == tasks.to_json()
    assert_same_model(direct, m.copy().fit(X, **options))


def test_partitions_not_where_planned_are_summarised_by_tasks(client, monkeypatch):
    import mixtura.dask as mdask

    X, m = data("mgd", n=20000)
    Xd = da.from_array(X, chunks=(2500, 3)).persist()
    distributed.wait(Xd)
    options = dict(max_iterations=3, stop_threshold=-np.inf)
    expected = m.copy().fit(Xd, **options)
    real = mdask._Partitions._placement

    def swapped(self, parts):
        # Every partition planned on the worker that does not hold it.
        by = real(self, parts)
        names = sorted(by, key=str)
        return {names[(j + 1) % len(names)]: by[w] for j, w in enumerate(names)}

    monkeypatch.setattr(mdask._Partitions, "_placement", swapped)
    with distributed.get_task_stream(client) as stream:
        got = m.copy().fit(Xd, **options)
    assert len(_group_tasks(stream)) >= 2 * 3
    assert got.to_json() == expected.to_json()


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_any_bytes_are_statistics_or_an_error(data):
    _, m = globals()["data"]("icd", n=10)
    good = bytearray(m._core_model().summarize(np.zeros((3, 2))).to_bytes())
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(good) - 1))
        good[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(good)))
    try:
        back = _core.MixtureSummary.from_bytes(bytes(good[:cut]))
    except MixturaError as e:
        assert "summaries" in str(e)
    else:
        assert back.to_bytes() == bytes(good[:cut])
