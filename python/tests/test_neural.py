"""NeuralNetworkWrapper: a classifier's classes as mixture components (pomegranate 0.14's
adapter), with a Keras-like model (predict / train_on_batch on soft labels) and a scikit-learn
classifier (predict_proba / fit with sample weights)."""

import numpy as np
import pytest

import mixtura
from mixtura import GeneralMixtureModel, NeuralNetworkWrapper


def _two_blobs(n=200, seed=0):
    rng = np.random.RandomState(seed)
    X = np.vstack([rng.randn(n, 2) * 0.6 + [-2, 0], rng.randn(n, 2) * 0.6 + [2, 0.5]])
    y = np.r_[np.zeros(n, int), np.ones(n, int)]
    order = rng.permutation(len(X))
    return X[order], y[order]


class SoftmaxNet:
    """A Keras-like softmax regression: ``predict`` gives posteriors, ``train_on_batch`` takes a
    few gradient steps on soft labels; it records what it was trained on."""

    def __init__(self, d, k, seed=0):
        rng = np.random.RandomState(seed)
        self.W = rng.randn(d, k) * 0.5
        self.b = np.zeros(k)
        self.trained_on = []

    def predict(self, X):
        z = X @ self.W + self.b
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def train_on_batch(self, X, Y):
        self.trained_on.append((X.copy(), Y.copy()))
        for _ in range(50):
            G = self.predict(X) - Y / Y.sum(axis=1, keepdims=True)
            self.W -= 0.5 * X.T @ G / len(X)
            self.b -= 0.5 * G.mean(axis=0)


def test_keras_like_classifier_trains_on_the_responsibilities():
    X, _ = _two_blobs()
    net = SoftmaxNet(2, 2)
    before = net.predict(X)
    model = GeneralMixtureModel([NeuralNetworkWrapper(net, i, 2, 2) for i in range(2)],
                                weights=[0.3, 0.7])
    model.fit(X, max_iterations=1)
    # One M-step: the classifier trained once, on the whole batch, with the responsibilities
    # (its posteriors re-weighted by the mixture's weights) as soft labels.
    assert len(net.trained_on) == 1
    Xt, Yt = net.trained_on[0]
    np.testing.assert_array_equal(Xt, X)
    expected = before * [0.3, 0.7]
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(Yt, expected, rtol=1e-12)
    # The components' log-densities are the classifier's log-posteriors.
    np.testing.assert_allclose(model.distributions[1].log_probability(X[:5]),
                               np.log(net.predict(X[:5])[:, 1]), rtol=1e-15)
    np.testing.assert_allclose(model.predict_proba(X[:5]), _responsibilities(model, net, X[:5]),
                               rtol=1e-12)


def _responsibilities(model, net, X):
    p = net.predict(X) * np.exp(model.weights)
    return p / p.sum(axis=1, keepdims=True)


def test_an_epoch_of_several_batches_trains_on_all_of_them():
    X, _ = _two_blobs()
    net = SoftmaxNet(2, 2)
    model = GeneralMixtureModel([NeuralNetworkWrapper(net, i, 2, 2) for i in range(2)])
    model.fit(X, batch_size=100, batches_per_epoch=2, max_iterations=1)
    Xt, Yt = net.trained_on[0]
    assert len(Xt) == 200
    np.testing.assert_array_equal(Xt, X[:200])


def test_scikit_learn_classifier():
    linear = pytest.importorskip("sklearn.linear_model")
    X, _ = _two_blobs()
    clf = linear.LogisticRegression()
    clf.fit(X[:20], (X[:20, 0] > 0).astype(int))
    before = clf.predict_proba(X)
    model = GeneralMixtureModel([NeuralNetworkWrapper(clf, i, 2, 2) for i in range(2)])
    model.fit(X, max_iterations=1)
    # The classifier was refitted on every row once per class, weighted by the responsibility.
    ref = linear.LogisticRegression().fit(np.vstack([X, X]), np.r_[np.zeros(len(X)), np.ones(len(X))],
                                          sample_weight=np.r_[before[:, 0], before[:, 1]])
    np.testing.assert_allclose(clf.coef_, ref.coef_, rtol=1e-6)
    np.testing.assert_allclose(clf.intercept_, ref.intercept_, rtol=1e-6, atol=1e-8)
    assert list(clf.classes_) == [0, 1]


def test_a_class_the_classifier_never_saw_has_probability_zero():
    sklearn = pytest.importorskip("sklearn.linear_model")
    X, _ = _two_blobs()
    clf = sklearn.LogisticRegression().fit(X[:20], np.r_[np.zeros(10, int), np.ones(10, int)])
    w = NeuralNetworkWrapper(clf, 2, 2, 3)
    assert np.all(w.log_probability(X[:3]) == -np.inf)


def test_bad_arguments():
    net = SoftmaxNet(2, 2)
    with pytest.raises(ValueError, match="i must be below"):
        NeuralNetworkWrapper(net, 2, 2, 2)
    with pytest.raises(TypeError, match="model"):
        NeuralNetworkWrapper(object(), 0, 2, 2)
    with pytest.raises(TypeError, match="n_classes"):
        NeuralNetworkWrapper(net, 0, 2, "2")
    w = NeuralNetworkWrapper(net, 0, 2, 2)
    with pytest.raises(ValueError):
        w.log_probability(np.ones((3, 5)))
    with pytest.raises(TypeError, match="GeneralMixtureModel"):
        NeuralNetworkWrapper.from_samples(np.ones((3, 2)))
    # Nothing recorded: from_summaries does nothing; clear_summaries forgets a batch.
    w.from_summaries()
    w.summarize(np.ones((3, 2)), np.ones(3))
    w.clear_summaries()
    w.from_summaries()
    assert net.trained_on == []


def test_pomegranates_module_path():
    from mixtura.distributions.NeuralNetworkWrapper import NeuralNetworkWrapper as W

    assert W is mixtura.NeuralNetworkWrapper is mixtura.distributions.NeuralNetworkWrapper
