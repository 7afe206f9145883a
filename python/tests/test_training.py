"""Training controls: mini-batches, out-of-core batches, k-means||, Kmeans, restarts, callbacks,
semi-supervised fitting, model selection."""

import numpy as np
import pytest

from mixtura import (
    Callback,
    GeneralMixtureModel,
    Kmeans,
    LambdaCallback,
    MultivariateGaussianDistribution,
    NormalDistribution,
)


def blobs(n=400, seed=0):
    rng = np.random.RandomState(seed)
    X = np.vstack([rng.randn(n, 2), rng.randn(n, 2) * 0.7 + [5, 1], rng.randn(n, 2) * 0.5 + [1, 6]])
    return X[rng.permutation(len(X))]


def start():
    return GeneralMixtureModel(
        [
            MultivariateGaussianDistribution([0.0, 0.0], np.eye(2)),
            MultivariateGaussianDistribution([4.0, 0.0], np.eye(2)),
            MultivariateGaussianDistribution([0.0, 4.0], np.eye(2)),
        ]
    )


def test_batch_size_at_least_n_is_bitwise_the_full_batch():
    X = blobs()
    a = start().fit(X)
    for bs in [len(X), 10**6, 7]:
        assert start().fit(X, batch_size=bs).to_json() == a.to_json()


def test_mini_batches_move_on_through_the_data_and_wrap_around():
    X = blobs(50)
    bs = 40
    model = start().fit(X, batch_size=bs, batches_per_epoch=1, max_iterations=5,
                        stop_threshold=-np.inf)
    by_hand = start()
    batches = [X[i:i + bs] for i in range(0, len(X), bs)]
    for epoch in range(5):
        by_hand.summarize(batches[epoch % len(batches)])
        by_hand.from_summaries()
    for a, b in zip(model.distributions, by_hand.distributions):
        np.testing.assert_allclose(a.mu, b.mu, rtol=1e-12)
        np.testing.assert_allclose(a.cov, b.cov, rtol=1e-10)


def test_lr_decay_and_inertia_set_the_learning_rate():
    X = blobs()
    _, hist = start().fit(X, inertia=0.2, lr_decay=0.5, max_iterations=4,
                          stop_threshold=-np.inf, return_history=True)
    want = [1 - 0.8 * (2 + t) ** -0.5 for t in range(1, 5)]
    np.testing.assert_allclose(hist.learning_rates, want)


def test_batches_from_a_function_give_the_array_result():
    X = blobs()
    w = np.random.RandomState(1).uniform(0.5, 2, len(X))
    a, ha = start().fit(X, weights=w, return_history=True)
    b, hb = start().fit(lambda: ((X[i:i + 100], w[i:i + 100]) for i in range(0, len(X), 100)),
                        return_history=True)
    assert len(ha.epochs) == len(hb.epochs)
    np.testing.assert_allclose(ha.log_probabilities, hb.log_probabilities, rtol=1e-12)
    for da, db in zip(a.distributions, b.distributions):
        np.testing.assert_allclose(da.mu, db.mu, rtol=1e-12)
        np.testing.assert_allclose(da.cov, db.cov, rtol=1e-11)


def test_batches_from_reiterables_and_pomegranate_style_generators():
    X = blobs()
    chunks = [X[i:i + 250] for i in range(0, len(X), 250)]

    class Generator:
        def batches(self):
            return iter(chunks)

    class Chunks:
        def __iter__(self):
            return iter(chunks)

    ref = start().fit(X)
    for source in [Chunks(), Generator()]:
        m = start().fit(source)
        np.testing.assert_allclose(m.distributions[0].mu, ref.distributions[0].mu, rtol=1e-12)
    with pytest.raises(TypeError, match="iterator"):
        start().fit(iter(chunks))
    with pytest.raises(ValueError, match="weights"):
        start().fit(Chunks(), weights=np.ones(len(X)))
    with pytest.raises(ValueError, match="X"):
        start().fit(lambda: iter([X[:5, :1]]))


def test_from_samples_on_batches_initialises_on_the_first_batch():
    X = blobs()
    model = GeneralMixtureModel.from_samples(
        MultivariateGaussianDistribution, 3, lambda: (X[i:i + 300] for i in range(0, len(X), 300)),
        random_state=0,
    )
    means = np.array(sorted(d.mu.tolist() for d in model.distributions))
    np.testing.assert_allclose(means, [[0, 0], [1, 6], [5, 1]], atol=0.2)


def test_memmap_input(tmp_path):
    X = blobs()
    path = tmp_path / "X.dat"
    mm = np.memmap(path, dtype=np.float64, mode="w+", shape=X.shape)
    mm[:] = X
    mm.flush()
    ro = np.memmap(path, dtype=np.float64, mode="r", shape=X.shape)
    assert start().fit(ro).to_json() == start().fit(X).to_json()
    m = GeneralMixtureModel.from_samples(MultivariateGaussianDistribution, 3, ro, random_state=0)
    assert m.n == 3


def test_kmeans_parallel_init_is_robust():
    X = blobs(100)
    for seed in range(40):
        model = GeneralMixtureModel.from_samples(
            MultivariateGaussianDistribution, 3, X, init="kmeans||", random_state=seed,
            max_iterations=1,
        )
        assert all(np.isfinite(d.mu).all() and np.isfinite(d.cov).all() for d in model.distributions)
    dup = np.repeat(X[:5], 40, axis=0)
    model = GeneralMixtureModel.from_samples(NormalDistribution, 3, dup, init="kmeans||", random_state=0)
    assert np.isfinite(model.log_probability(dup)).all()


def test_kmeans_class():
    X = blobs()
    km = Kmeans(3, init="kmeans||", n_init=3).fit(X, random_state=0)
    centroids = np.array(sorted(km.centroids.tolist()))
    np.testing.assert_allclose(centroids, [[0, 0], [1, 6], [5, 1]], atol=0.15)
    labels = km.predict(X)
    assert labels.shape == (len(X),) and set(labels) == {0, 1, 2}
    km2 = Kmeans.from_samples(3, X, init="kmeans++", random_state=0)
    np.testing.assert_allclose(np.sort(km2.centroids, axis=0), np.sort(km.centroids, axis=0), atol=1e-6)
    fixed = Kmeans(3, init=[[0.5, 0.5], [4.5, 1.5], [1.5, 5.5]]).fit(X, max_iterations=0)
    np.testing.assert_array_equal(fixed.centroids, [[0.5, 0.5], [4.5, 1.5], [1.5, 5.5]])
    with pytest.raises(ValueError, match="init"):
        Kmeans(3, init="nope").fit(X)
    with pytest.raises(ValueError, match="init"):
        Kmeans(2, init=[[0.0, 0.0]])
    with pytest.raises(ValueError, match="fitted"):
        Kmeans(3).predict(X)


def test_kmeans_initial_centroids_are_the_seeding_of_fit():
    X = blobs()
    for init in ("kmeans++", "kmeans||", "random", "first-k"):
        km = Kmeans(3, init=init, n_init=1)
        start = km.initial_centroids(X, random_state=4)
        assert start.shape == (3, 2)
        if init != "kmeans||":
            # Seeds are rows of X.
            assert all(any(np.array_equal(c, x) for x in X) for c in start)
        np.testing.assert_array_equal(start, km.initial_centroids(X, random_state=4, n_jobs=2))
        # fit with no Lloyd update keeps them.
        fitted = Kmeans(3, init=start).fit(X, max_iterations=0)
        np.testing.assert_array_equal(fitted.centroids, start)
    # k-means++ spreads the seeds over the three blobs.
    start = Kmeans(3).initial_centroids(X, random_state=0)
    assert len({tuple(np.round(c / 3)) for c in start}) == 3
    with pytest.raises(ValueError, match="k"):
        Kmeans(5000).initial_centroids(X)


def test_n_init_keeps_the_best_of_its_runs():
    X = blobs(60, seed=3)
    finals = []

    def record(logs):
        if finals and logs["epoch"] == 1:
            finals.append(None)
        if not finals:
            finals.append(None)
        finals[-1] = logs["log_probability"]

    model = GeneralMixtureModel.from_samples(
        MultivariateGaussianDistribution, 3, X, init="random", n_init=6, random_state=5,
        max_iterations=3, stop_threshold=-np.inf, callbacks=[LambdaCallback(on_epoch_end=record)],
    )
    assert len(finals) == 6
    assert model.log_probability(X).sum() == pytest.approx(max(finals), rel=1e-12)


def test_semi_supervised_labels_are_honoured():
    X = blobs()
    truth = GeneralMixtureModel.from_samples(MultivariateGaussianDistribution, 3, X, random_state=0)
    clusters = truth.predict(X)
    # Label a few rows of each cluster with a permuted component index.
    perm = {0: 2, 1: 0, 2: 1}
    y = -np.ones(len(X), dtype=int)
    for c in range(3):
        rows = np.where(clusters == c)[0][:15]
        y[rows] = perm[c]
    model = start().fit(X, y=y)
    pred = model.predict(X)
    for c in range(3):
        assert np.mean(pred[clusters == c] == perm[c]) > 0.97
    # Fully labelled data give the per-class maximum-likelihood estimates.
    y_all = np.array([perm[c] for c in clusters])
    full = start().fit(X, y=y_all)
    for j in range(3):
        rows = X[y_all == j]
        np.testing.assert_allclose(full.distributions[j].mu, rows.mean(axis=0), rtol=1e-10)
        np.testing.assert_allclose(full.distributions[j].cov, np.cov(rows.T, bias=True), rtol=1e-8)
    np.testing.assert_allclose(np.exp(full.weights), np.bincount(y_all) / len(X), rtol=1e-12)
    with pytest.raises(ValueError, match="y"):
        start().fit(X, y=np.full(len(X), 3))
    with pytest.raises(ValueError, match="y"):
        start().fit(X, y=np.zeros(5, dtype=int))
    with pytest.raises(TypeError, match="y"):
        start().fit(X, y=np.full(len(X), 0.5))


def test_semi_supervised_component_without_labels_finds_its_cluster():
    X = blobs()
    truth = GeneralMixtureModel.from_samples(MultivariateGaussianDistribution, 3, X, random_state=0)
    clusters = truth.predict(X)
    # Labels for components 0 and 1 only: component 2 must take the third cluster from the
    # unlabelled rows (it starts at (0, 4), nearest the cluster around (1, 6)).
    far = int(np.argmin([np.linalg.norm(d.mu - [1, 6]) for d in truth.distributions]))
    others = [c for c in range(3) if c != far]
    y = -np.ones(len(X), dtype=int)
    for j, c in enumerate(others):
        y[np.where(clusters == c)[0][:15]] = j
    model = start().fit(X, y=y)
    assert np.exp(model.weights[2]) == pytest.approx(1 / 3, abs=0.02)
    assert np.mean(model.predict(X)[clusters == far] == 2) > 0.97


def test_model_selection(faithful):
    one = GeneralMixtureModel.from_samples(MultivariateGaussianDistribution, 1, faithful)
    np.testing.assert_allclose(one.distributions[0].mu, faithful.mean(axis=0), rtol=1e-12)
    assert one.n_parameters == 5
    sk = pytest.importorskip("sklearn.mixture")
    for k in (1, 2, 3):
        model = GeneralMixtureModel.from_samples(
            MultivariateGaussianDistribution, k, faithful, random_state=0, stop_threshold=1e-10)
        g = sk.GaussianMixture(k, reg_covar=0.0, tol=1e-12, max_iter=2000, random_state=0).fit(faithful)
        assert model.n_parameters == g._n_parameters()
        if abs(model.log_probability(faithful).mean() - g.score(faithful)) < 1e-8:
            assert model.bic(faithful) == pytest.approx(g.bic(faithful), rel=1e-9)
            assert model.aic(faithful) == pytest.approx(g.aic(faithful), rel=1e-9)
    best, table = GeneralMixtureModel.select_n_components(
        MultivariateGaussianDistribution, faithful, 4, random_state=0)
    assert [r["n_components"] for r in table] == [1, 2, 3, 4]
    assert best.n == 2 == min(table, key=lambda r: r["bic"])["n_components"]
    diag = GeneralMixtureModel.from_samples(NormalDistribution, 2, faithful, random_state=0)
    assert diag.n_parameters == 2 * 4 + 1
    diag.distributions[0].freeze()
    assert diag.n_parameters == 4 + 1
    with pytest.raises(ValueError, match="criterion"):
        GeneralMixtureModel.select_n_components(NormalDistribution, faithful, 2, criterion="x")


def test_from_samples_callbacks_see_the_model_from_on_training_begin():
    # pomegranate builds the model, then fits it: on_training_begin already has callback.model.
    from mixtura import DiscreteDistribution

    seen = []

    class Watch(Callback):
        def on_training_begin(self):
            seen.append(("begin", self.model))

        def on_training_end(self, logs):
            seen.append(("end", self.model))

    X = blobs()
    rows = np.array([["a"], ["b"], ["a"], ["b"]] * 5, dtype=object)
    for cls, data, kw in ((NormalDistribution, X, {"max_iterations": 3}),
                          (DiscreteDistribution, rows, {"max_iterations": 3}),
                          (NormalDistribution, X, {"max_iterations": 0})):
        seen.clear()
        model = GeneralMixtureModel.from_samples(cls, 2, data, callbacks=[Watch()],
                                                 random_state=0, **kw)
        assert [s[0] for s in seen] == ["begin", "end"]
        assert all(s[1] is model for s in seen)
