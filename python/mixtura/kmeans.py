"""k-means clustering with pomegranate 0.14's API."""

from . import _checks, _core, _frames
from .distributions import Document, _read_text

__all__ = ["Kmeans"]

_INITS = ("first-k", "random", "kmeans++", "kmeans||")


class Kmeans(Document):
    """k-means clustering, as used to initialise mixtures (pomegranate 0.14's ``Kmeans``).

    Parameters
    ----------
    k : int
        The number of centroids.
    init : {'kmeans++', 'kmeans||', 'random', 'first-k'} or array-like of shape (k, d), optional
        How the initial centroids are chosen, or the initial centroids themselves: a model given
        its centroids predicts at once, and ``fit`` starts from them.
    n_init : int, optional
        Runs from different initial centroids; the one with the smallest total squared distance
        is kept ('first-k' and given centroids run once).

    Attributes
    ----------
    k : int
    d : int
        The number of features (0 before the centroids are known).
    centroids : numpy array of shape (k, d), or None before a fit
        Settable, as in pomegranate.
    feature_names : list of str or None
        The column names of the pandas DataFrame the model was fitted to (when all are
        strings); a DataFrame given later must have these columns in this order. Not part of
        the JSON document.
    """

    def __init__(self, k, init="kmeans++", n_init=10):
        self.k = _checks.integer(k, "k", minimum=1)
        self._core = None
        if isinstance(init, str):
            if init not in _INITS:
                raise ValueError(f"init must be one of {', '.join(map(repr, _INITS))} or an "
                                 f"array of centroids, got {init!r}")
        else:
            centroids = _checks.as_matrix(init, None, "init")
            if centroids.shape[0] != self.k:
                raise ValueError(f"init must hold k={self.k} centroids, got {centroids.shape[0]}")
            self._core = _core.Kmeans(centroids)
        self.init = init
        n_init = _checks.integer(n_init, "n_init", minimum=1)
        self.n_init = 1 if isinstance(init, str) and init == "first-k" else n_init
        self._summaries = None
        self.feature_names = None

    def _X(self, X, d):
        _frames.check_names(X, self.feature_names)
        return _checks.as_rows(X, d)

    # -- the centroids -----------------------------------------------------------------------------
    @property
    def centroids(self):
        """The centroids, shape (k, d); None before a fit when ``init`` is a method's name."""
        return None if self._core is None else self._core.centroids

    @centroids.setter
    def centroids(self, value):
        if value is None:
            self._core = None
        else:
            centroids = _checks.as_matrix(value, None, "centroids")
            if centroids.shape[0] != self.k:
                raise ValueError(
                    f"centroids must hold k={self.k} centroids, got {centroids.shape[0]}")
            self._core = _core.Kmeans(centroids)
        self._summaries = None

    @property
    def d(self):
        return 0 if self._core is None else self._core.centroids.shape[1]

    def _fitted(self):
        if self._core is None:
            raise ValueError("the model is not fitted yet and has no centroids: call fit, or give "
                             "the centroids as init")
        return self._core

    # -- fitting ---------------------------------------------------------------------------------
    def fit(self, X, weights=None, inertia=0.0, stop_threshold=1e-3, max_iterations=1e3,
            batch_size=None, batches_per_epoch=None, clear_summaries=False, verbose=False,
            n_jobs=1, random_state=None):
        """Fits the centroids to ``X``; returns self.

        The initial centroids are the model's own when it has some (given as ``init``, or from an
        earlier fit), otherwise ``init``'s choice among the rows of the first batch. Each
        iteration updates the centroids to the means of the values summarised so far (blended
        with ``inertia``), then summarises an epoch: ``batches_per_epoch`` batches of
        ``batch_size`` rows (every row by default), moving on through the data from epoch to
        epoch. With ``clear_summaries=False`` (pomegranate's default) the statistics accumulate
        over the iterations; ``'auto'`` clears them when ``batches_per_epoch`` is None. The fit
        stops when an epoch's total squared distance improves on the last one's by
        ``stop_threshold`` or less, or after ``max_iterations`` updates.
        """
        Xm = self._X(X, self.d or None)
        w = _checks.as_weights(weights)
        if isinstance(clear_summaries, str):
            if clear_summaries != "auto":
                raise ValueError(f"clear_summaries must be True, False or 'auto', "
                                 f"got {clear_summaries!r}")
            clear_summaries = batches_per_epoch is None
        start = None if self._core is None else self._core.centroids
        seed = _checks.seed(random_state)
        core = _core.Kmeans.fit(
            self.k, Xm, w, init=self.init if isinstance(self.init, str) else "first-k",
            n_init=self.n_init, centroids=start,
            max_iterations=_checks.real(max_iterations, "max_iterations"),
            stop_threshold=_checks.real(stop_threshold, "stop_threshold"),
            seed=seed, n_jobs=_checks.n_jobs(n_jobs),
            inertia=_checks.real(inertia, "inertia"), clear_summaries=bool(clear_summaries),
            batch_size=_checks.optional_integer(batch_size, "batch_size"),
            batches_per_epoch=_checks.optional_integer(batches_per_epoch, "batches_per_epoch"))
        self._core = core
        self._summaries = None
        if self.feature_names is None:
            self.feature_names = _frames.names(X)
        if verbose:
            _print_runs(core.runs)
        return self

    @classmethod
    def from_samples(cls, k, X, weights=None, init="kmeans++", n_init=10, inertia=0.0,
                     stop_threshold=0.1, max_iterations=1e3, batch_size=None,
                     batches_per_epoch=None, clear_summaries=False, verbose=False, n_jobs=1,
                     random_state=None):
        """A Kmeans model fitted to ``X`` (see ``fit``)."""
        model = cls(k, init=init, n_init=n_init)
        return model.fit(X, weights, inertia=inertia, stop_threshold=stop_threshold,
                         max_iterations=max_iterations, batch_size=batch_size,
                         batches_per_epoch=batches_per_epoch, clear_summaries=clear_summaries,
                         verbose=verbose, n_jobs=n_jobs, random_state=random_state)

    def initial_centroids(self, X, weights=None, n_jobs=1, random_state=None):
        """The centroids ``fit`` would start from (its ``init``, for one run), without fitting:
        the model's own centroids when it has some, otherwise the k-means++ (or k-means||,
        random, first-k) seeding alone, shape (k, n_features)."""
        if self._core is not None:
            return self._core.centroids
        Xm = _checks.as_rows(X)
        w = _checks.as_weights(weights)
        return _core.Kmeans.initial_centroids(
            self.k, Xm, w, init=self.init, seed=_checks.seed(random_state),
            n_jobs=_checks.n_jobs(n_jobs))

    # -- statistics ------------------------------------------------------------------------------
    def summarize(self, X, weights=None, n_jobs=1):
        """Adds the statistics of ``X`` under the current centroids to the model's (each row to
        its nearest centroid); returns their total weighted squared distance."""
        core = self._fitted()
        stats = core.summarize(self._X(X, self.d), _checks.as_weights(weights),
                               _checks.n_jobs(n_jobs))
        if self._summaries is None:
            self._summaries = stats
        else:
            self._summaries.merge(stats)
        return stats.distance

    def from_summaries(self, inertia=0.0, clear_summaries=True):
        """Moves every centroid to the mean of the values summarised for it, blended with
        ``inertia`` (coordinates without values stay); then forgets the statistics unless
        ``clear_summaries`` is False."""
        core = self._fitted()
        inertia = _checks.real(inertia, "inertia")
        if self._summaries is not None:
            core.from_summaries(self._summaries, inertia)
        if clear_summaries:
            self.clear_summaries()

    def clear_summaries(self):
        """Forgets the statistics collected by ``summarize``."""
        self._summaries = None

    # -- prediction ------------------------------------------------------------------------------
    def predict(self, X, n_jobs=1):
        """The index of the nearest centroid of each sample (NaN coordinates are skipped)."""
        core = self._fitted()
        return core.predict(self._X(X, self.d), _checks.n_jobs(n_jobs))

    def distance(self, X, n_jobs=1):
        """The squared Euclidean distance of each sample to each centroid over its observed
        coordinates (NaN is skipped), shape (n_samples, k), as pomegranate's ``distance``."""
        core = self._fitted()
        return core.distance(self._X(X, self.d), _checks.n_jobs(n_jobs))

    def fit_predict(self, X, weights=None, **kwargs):
        """Fits, then predicts ``X``."""
        return self.fit(X, weights, **kwargs).predict(X)

    # -- serialisation ---------------------------------------------------------------------------
    def to_json(self, separators=(",", " : "), indent=4):
        """pomegranate 0.14's JSON document: ``{"class" : "Kmeans", "k" : ..., "centroids" :
        ...}``."""
        item, key = separators
        return self._fitted().to_json(indent, item, key)

    @classmethod
    def from_json(cls, s):
        """A model from JSON text or a file name (pomegranate 0.14's document)."""
        return cls._from_core(_core.Kmeans.from_json(_read_text(s)))

    @classmethod
    def _from_core(cls, core):
        centroids = core.centroids
        return cls(centroids.shape[0], centroids)

    def __reduce__(self):
        state = None if self._core is None else self._core.centroids
        return (_restore, (self.k, self.init, self.n_init, state, self.feature_names))

    def __repr__(self):
        if self._core is not None:
            return self.to_json()
        return f"Kmeans(k={self.k}, init={self.init!r}, n_init={self.n_init})"


def _restore(k, init, n_init, centroids, feature_names=None):
    model = Kmeans(k, init=init, n_init=n_init)
    if centroids is not None:
        model.centroids = centroids
    model.feature_names = feature_names
    return model


def _print_runs(runs):
    """pomegranate's verbose output of ``Kmeans.fit``, run by run."""
    for initial, last, improvements, seconds, total in runs:
        for i, (improvement, t) in enumerate(zip(improvements, seconds), start=1):
            print(f"[{i}] Improvement: {improvement}\tTime (s): {t:4.4}")
        print(f"Total Improvement: {initial - last}")
        print(f"Total Time (s): {total:.4f}")
