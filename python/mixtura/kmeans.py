"""k-means clustering with pomegranate 0.14's API."""

from . import _checks, _core

__all__ = ["Kmeans"]


class Kmeans:
    """k-means clustering, as used to initialise mixtures.

    Parameters
    ----------
    k : int
        The number of clusters.
    init : {'kmeans++', 'kmeans||', 'random', 'first-k'} or array-like of shape (k, d), optional
        How the initial centroids are chosen, or the initial centroids themselves.
    n_init : int, optional
        Runs from different initial centroids; the one with the smallest total squared distance
        is kept.

    Attributes
    ----------
    centroids : numpy array, shape (k, d), after fitting
    """

    def __init__(self, k, init="kmeans++", n_init=10):
        self.k = _checks.integer(k, "k", minimum=1)
        if isinstance(init, str):
            self._centroids = None
        else:
            self._centroids = _checks.as_matrix(init, None, "init")
            if self._centroids.shape[0] != self.k:
                raise ValueError(f"init must hold k={self.k} centroids, got {self._centroids.shape[0]}")
        self.init = init
        self.n_init = _checks.integer(n_init, "n_init", minimum=1)
        self._core = None

    @property
    def centroids(self):
        if self._core is None:
            raise ValueError("the model is not fitted yet; call fit first")
        return self._core.centroids

    @property
    def d(self):
        return self.centroids.shape[1]

    def fit(self, X, weights=None, inertia=0.0, stop_threshold=1e-3, max_iterations=1e3,
            batch_size=None, batches_per_epoch=None, lr_decay=0.0, clear_summaries=False,
            verbose=False, n_jobs=1, random_state=None):
        """Fits the centroids to ``X`` with Lloyd updates; returns self."""
        Xm = _checks.as_matrix(X)
        w = _checks.as_weights(weights)
        self._core = _core.Kmeans.fit(
            self.k, Xm, w, init=self.init if self._centroids is None else "first-k",
            n_init=self.n_init, centroids=self._centroids,
            max_iterations=_checks.real(max_iterations, "max_iterations"),
            stop_threshold=_checks.real(stop_threshold, "stop_threshold"),
            seed=_checks.seed(random_state), n_jobs=_checks.n_jobs(n_jobs))
        return self

    def initial_centroids(self, X, weights=None, n_jobs=1, random_state=None):
        """The centroids ``fit`` would start from (its ``init``, for one run), without fitting:
        the k-means++ (or k-means||, random, first-k) seeding alone, shape (k, n_features)."""
        if self._centroids is not None:
            return self._centroids.copy()
        Xm = _checks.as_matrix(X)
        w = _checks.as_weights(weights)
        return _core.Kmeans.initial_centroids(
            self.k, Xm, w, init=self.init, seed=_checks.seed(random_state),
            n_jobs=_checks.n_jobs(n_jobs))

    def predict(self, X, n_jobs=1):
        """The nearest centroid of each sample."""
        if self._core is None:
            raise ValueError("the model is not fitted yet; call fit first")
        return self._core.predict(_checks.as_matrix(X, self.d), _checks.n_jobs(n_jobs))

    def fit_predict(self, X, weights=None, **kwargs):
        """Fits, then predicts ``X``."""
        return self.fit(X, weights, **kwargs).predict(X)

    @classmethod
    def from_samples(cls, k, X, weights=None, init="kmeans++", n_init=10, inertia=0.0,
                     stop_threshold=0.1, max_iterations=1e3, batch_size=None,
                     batches_per_epoch=None, lr_decay=0.0, clear_summaries=False,
                     verbose=False, n_jobs=1, random_state=None):
        """A fitted Kmeans model."""
        model = cls(k, init=init, n_init=n_init)
        return model.fit(X, weights, stop_threshold=stop_threshold,
                         max_iterations=max_iterations, n_jobs=n_jobs,
                         random_state=random_state)

    def __repr__(self):
        init = self.init if isinstance(self.init, str) else "<centroids>"
        return f"Kmeans(k={self.k}, init={init!r}, n_init={self.n_init})"
