"""GeneralMixtureModel with pomegranate 0.14's API."""

import sys
import time
from typing import Any

import numpy as np

from . import _checks, _core, _frames
from .callbacks import Callback, History
from .distributions import (
    _PROTOCOL,
    DiscreteDistribution,
    Distribution,
    Document,
    IndependentComponentsDistribution,
    _child_core,
    _dtype_name,
    _external_core,
    _is_custom,
    _is_missing,
    _read_text,
    encode_rows,
)


def _discrete_children(dist):
    """The discrete distribution of each column of a component (None for other columns)."""
    if isinstance(dist, DiscreteDistribution):
        return [dist]
    if isinstance(dist, IndependentComponentsDistribution):
        return [c if isinstance(c, DiscreteDistribution) else None for c in dist.distributions]
    return [None] * dist.d


def _aligned_core(dist, columns):
    """The Rust object of a component, its discrete distributions re-expressed over the model's
    symbols of their column (``columns[j]`` is the list of symbols of column j, or None)."""
    if _is_custom(dist):
        return _external_core(dist)
    if isinstance(dist, DiscreteDistribution):
        return _discrete_core(dist, columns[0])
    if isinstance(dist, IndependentComponentsDistribution) and any(c is not None for c in columns):
        children = [
            _discrete_core(c, columns[j]) if columns[j] is not None else _child_core(c)
            for j, c in enumerate(dist.distributions)
        ]
        return _core.Distribution.independent(children, [float(v) for v in dist.weights], dist.frozen)
    return dist._core


def _discrete_core(dist, keys):
    table = dict(dist.items())
    if keys is None or list(keys) == dist.keys():
        return dist._core
    return _core.Distribution.discrete(
        [str(k) for k in keys], [float(table.get(k, 0.0)) for k in keys], dist.dtype, dist.frozen
    )


def _relabel(core, keys):
    """A discrete Rust distribution fitted on codes 0..k-1, with the symbols ``keys`` instead."""
    _, probs = core.parameters()
    return _core.Distribution.discrete(
        [str(k) for k in keys], list(probs), _dtype_name(keys[0]), core.frozen
    )


def _dask_module(*values):
    """``mixtura.dask`` when one of ``values`` is a Dask collection, else None (Dask is imported
    only then: a collection exists only once Dask has been imported)."""
    if "dask" not in sys.modules:
        return None
    from . import dask as dask_support

    return dask_support if any(dask_support.is_dask_collection(v) for v in values) else None


def _symbols(column):
    """The distinct symbols of a data column, in order of first appearance."""
    return [v for v in dict.fromkeys(list(column)) if not _is_missing(v)]


__all__ = ["GeneralMixtureModel"]

_INITS = ("first-k", "random", "kmeans++", "kmeans||")


_FIT_OPTIONS = ("inertia", "pseudocount", "stop_threshold", "max_iterations", "batch_size",
                "batches_per_epoch", "lr_decay", "n_jobs")


def _fit_options(inertia, pseudocount, stop_threshold, max_iterations, batch_size,
                 batches_per_epoch, lr_decay, n_jobs):
    """The options of a fit as one ``_core.FitOptions``: their types are checked here, their
    values in Rust."""
    return _core.FitOptions(
        inertia=_checks.real(inertia, "inertia"),
        pseudocount=_checks.real(pseudocount, "pseudocount"),
        stop_threshold=_checks.real(stop_threshold, "stop_threshold"),
        max_iterations=_checks.real(max_iterations, "max_iterations"),
        batch_size=_checks.optional_integer(batch_size, "batch_size"),
        batches_per_epoch=_checks.optional_integer(batches_per_epoch, "batches_per_epoch"),
        lr_decay=_checks.real(lr_decay, "lr_decay"),
        n_jobs=_checks.n_jobs(n_jobs),
    )


def _fit_keywords(options):
    """The keyword arguments of ``fit`` that give ``options``."""
    return {name: getattr(options, name) for name in _FIT_OPTIONS}


def _batch_factory(X, encode):
    """For data given as batches (out of core), a function returning an iterator of
    ``(X_batch, weights_batch)`` pairs of float64 arrays; None for array-like data.

    Batches come from a function returning an iterable of batches (called once per pass), an
    object with a ``batches()`` method (pomegranate's data generators), or any other re-iterable
    object; each batch is ``X`` or ``(X, weights)``.
    """
    if isinstance(X, (np.ndarray, list, tuple, str, bytes)) or hasattr(X, "__array__"):
        return None
    if callable(X):
        make = X
    elif hasattr(X, "batches") and callable(X.batches):
        make = X.batches
    elif hasattr(X, "__iter__"):
        if iter(X) is X:
            raise TypeError(
                "X is an iterator, which can be read only once, but fitting reads the data once "
                "per iteration: pass a function that returns a new iterator of batches, or an "
                "object that can be iterated again"
            )
        make = lambda: iter(X)  # noqa: E731
    else:
        return None

    def factory():
        for item in make():
            if isinstance(item, tuple) and len(item) == 2:
                Xb, wb = item
            elif isinstance(item, tuple) and len(item) == 3:
                # (X, y, weights) from a labelled data generator: a mixture does not use y.
                Xb, _, wb = item
            else:
                Xb, wb = item, None
            Xb = encode(Xb)
            yield Xb, _checks.as_weights(wb)

    return factory


class _Training:
    """Runs the callbacks and the verbose printout of one fit."""

    def __init__(self, callbacks, verbose):
        if callbacks is None:
            callbacks = []
        callbacks = list(callbacks)
        for cb in callbacks:
            if not isinstance(cb, Callback) and not all(
                hasattr(cb, h) for h in ("on_training_begin", "on_epoch_end", "on_training_end")
            ):
                raise TypeError(f"callbacks must be Callback objects, got {cb!r}")
        self.history = History()
        self.callbacks = [self.history] + callbacks
        self.verbose = bool(verbose)
        self.pass_model = len(callbacks) > 0
        self.model: Any = None
        self.last_logs = None
        self.begun = False

    def begin(self, model):
        """Starts the clock; the callbacks' ``on_training_begin`` runs as soon as the model
        exists (at once for ``fit``; for ``from_samples``, once k-means has built it), so that
        their ``model`` is set there, as in pomegranate."""
        self.start = time.time()
        self.bind(model)

    def bind(self, model):
        self.model = model
        for cb in self.callbacks:
            cb.model = model
        if model is not None:
            self._start()

    def _start(self):
        if not self.begun:
            self.begun = True
            for cb in self.callbacks:
                cb.on_training_begin()

    def on_epoch(self, logs, current):
        if current is not None:
            self.model._adopt(current)
        if self.verbose:
            print(f"[{logs['epoch']}] Improvement: {logs['improvement']}\tTime (s): {logs['duration']:.4}")
        self.last_logs = logs
        # Without callbacks of the user's the model is not passed: the history begins here.
        self._start()
        for cb in self.callbacks:
            cb.on_epoch_end(logs)

    def end(self, report):
        if self.verbose:
            total = report["log_probability"] - report["initial_log_probability"]
            print(f"Total Improvement: {total}")
            print(f"Total Time (s): {time.time() - self.start:.4f}")
        for cb in self.callbacks:
            cb.on_training_end(self._final_logs(report["initial_log_probability"]))

    def fail(self):
        """Ends the callbacks of a fit that raised (so that, say, a CSVLogger closes its file);
        an error they raise in turn does not hide the fit's own. Callbacks that never began
        (the model was never built) are not ended."""
        if not self.begun:
            return
        for cb in self.callbacks:
            try:
                cb.on_training_end(self._final_logs(None))
            except Exception:
                pass

    def _final_logs(self, initial):
        return self.last_logs or {
            "epoch": 0,
            "improvement": 0.0,
            "total_improvement": 0.0,
            "log_probability": initial,
            "last_log_probability": initial,
            "initial_log_probability": initial,
            "epoch_start_time": self.start,
            "epoch_end_time": time.time(),
            "duration": 0.0,
            "n_seen_batches": None,
            "learning_rate": None,
        }


class GeneralMixtureModel(Document):
    """A mixture of distributions of the same dimension.

    Parameters
    ----------
    distributions : list of distributions, shape (n_components,)
        Initialised components, all with the same ``d``. One component is allowed
        (pomegranate 0.14 required two).
    weights : array-like, shape (n_components,), optional
        Prior probabilities of the components, normalised to sum to 1 (uniform by default).

    Attributes
    ----------
    distributions : numpy object array of the components
    weights : numpy array
        The natural logs of the prior probabilities (as in pomegranate).
    n : int
        The number of components.
    d : int
        The number of features.
    summaries : numpy array
        The responsibility sums collected by ``summarize``.
    frozen : bool
        When true, ``fit`` and ``from_summaries`` change nothing.
    feature_names : list of str or None
        The column names of the pandas DataFrame the model was fitted to (by ``fit`` or
        ``from_samples``), when all of them are strings; None otherwise. A DataFrame given later
        must have these columns in this order. The JSON document (pomegranate's format) does not
        hold them: a model read from JSON has none; copies and pickles keep them.
    """

    # The statistics collected by summarize (a _core.MixtureSummary), or None.
    _summary: Any

    def __init__(self, distributions, weights=None):
        if isinstance(distributions, Distribution) or not hasattr(distributions, "__len__"):
            raise TypeError("distributions must be a list of initialised distributions")
        dists = list(distributions)
        if len(dists) == 0:
            raise ValueError("distributions must hold at least one distribution")
        for j, dist in enumerate(dists):
            if isinstance(dist, type):
                raise TypeError("must have initialized distributions in list")
            if not isinstance(dist, Distribution) and not _is_custom(dist):
                raise TypeError(
                    f"distributions[{j}] must be a distribution (or have {', '.join(_PROTOCOL)}), "
                    f"got {dist!r}"
                )
        if any(dist.d != dists[0].d for dist in dists):
            raise TypeError("mis-matching dimensions between distributions in list")
        if weights is not None:
            w = _checks.as_vector(weights, "weights")
        else:
            w = None
        self.distributions = np.empty(len(dists), dtype=object)
        self.distributions[:] = dists
        columns = self._columns()
        core = _core.Mixture([_aligned_core(d, columns) for d in dists],
                             None if w is None else list(w))
        self._probabilities = core.weights()
        self.frozen = False
        self.name = "Model"
        self.feature_names = None
        self.clear_summaries()

    # -- the Rust object behind the model --------------------------------------------------------
    def _columns(self):
        """The model's symbols of each discrete column (None for numeric columns): the symbols of
        all the components' discrete distributions of that column, in order of appearance."""
        d = self.distributions[0].d
        per_component = [_discrete_children(dist) for dist in self.distributions]
        columns: list = []
        for j in range(d):
            dists = [children[j] for children in per_component]
            if all(c is None for c in dists):
                columns.append(None)
                continue
            if any(c is None for c in dists):
                raise TypeError(f"column {j} is discrete in some components and not in others")
            keys = []
            seen = set()
            for c in dists:
                for k in c.keys():
                    if k not in seen:
                        seen.add(k)
                        keys.append(k)
            columns.append(keys)
        return columns

    def _core_model(self):
        columns = self._columns()
        return _core.Mixture(
            [_aligned_core(dist, columns) for dist in self.distributions],
            [float(p) for p in self._probabilities],
            self.frozen,
        )

    def _adopt(self, core):
        columns = self._columns()
        for dist, c in zip(self.distributions, core.distributions()):
            if _is_custom(dist):
                continue
            for j, child in enumerate(_discrete_children(dist)):
                if child is not None:
                    child._set_keys(columns[j])
            dist._set_core(c)
        self._probabilities = core.weights()

    @classmethod
    def _from_core(cls, core):
        model = cls.__new__(cls)
        model.distributions = np.empty(len(core.distributions()), dtype=object)
        model.distributions[:] = [Distribution._wrap(c) for c in core.distributions()]
        model._probabilities = core.weights()
        model.frozen = core.frozen
        model.name = "Model"
        model.feature_names = None
        model.clear_summaries()
        return model

    # -- attributes ------------------------------------------------------------------------------
    @property
    def weights(self):
        """The natural logs of the component priors."""
        with np.errstate(divide="ignore"):
            return np.log(self._probabilities)

    @weights.setter
    def weights(self, log_weights):
        p = np.exp(_checks.as_vector(log_weights, "weights"))
        columns = self._columns()
        core = _core.Mixture([_aligned_core(d, columns) for d in self.distributions], list(p))
        self._probabilities = core.weights()

    @property
    def n(self):
        return len(self.distributions)

    @property
    def d(self):
        return self.distributions[0].d

    # -- probabilities ---------------------------------------------------------------------------
    def _X(self, X):
        _frames.check_names(X, self.feature_names)
        columns = self._columns()
        codes = [None if keys is None else {k: i for i, k in enumerate(keys)} for keys in columns]
        return encode_rows(X, self.d, codes, float32=True)

    def log_probability(self, X, n_jobs=1, batch_size=None):
        """The log-density of each sample under the mixture, shape (n_samples,) (a lazy Dask
        array for Dask data)."""
        if dx := _dask_module(X):
            return dx.rows_map(self, X, "log_probability")
        return self._core_model().log_probability(self._X(X), _checks.n_jobs(n_jobs))

    def probability(self, X, n_jobs=1, batch_size=None):
        """The density of each sample under the mixture, shape (n_samples,)."""
        if _dask_module(X):
            return self.log_probability(X).map_blocks(np.exp)
        return np.exp(self.log_probability(X, n_jobs=n_jobs))

    def predict_log_proba(self, X, n_jobs=1, batch_size=None):
        """The log posterior probability of each component, shape (n_samples, n_components)."""
        if dx := _dask_module(X):
            return dx.rows_map(self, X, "predict_log_proba", k=self.n)
        return self._core_model().predict_log_proba(self._X(X), _checks.n_jobs(n_jobs))

    def predict_proba(self, X, n_jobs=1, batch_size=None):
        """The posterior probability of each component, shape (n_samples, n_components)."""
        if dx := _dask_module(X):
            return dx.rows_map(self, X, "predict_proba", k=self.n)
        return self._core_model().predict_proba(self._X(X), _checks.n_jobs(n_jobs))

    def predict(self, X, n_jobs=1, batch_size=None):
        """The most probable component of each sample, shape (n_samples,)."""
        if dx := _dask_module(X):
            return dx.rows_map(self, X, "predict")
        return self._core_model().predict(self._X(X), _checks.n_jobs(n_jobs))

    def score(self, X, y, n_jobs=1, client=None):
        """The accuracy of ``predict(X)`` against the labels ``y``."""
        if dx := _dask_module(X, y):
            return dx.score(self, X, y, client)
        y = np.asarray(y)
        pred = self.predict(X, n_jobs=n_jobs)
        if y.shape != pred.shape:
            raise ValueError(f"y must have one label per sample ({pred.shape[0]}), got shape {y.shape}")
        return float(np.mean(pred == y))

    def sample(self, n=1, random_state=None):
        """Draws ``n`` samples; a single sample (not in an array) when ``n`` is 1. Discrete
        columns hold their symbols, as in pomegranate (an object array when the rows also hold
        numbers)."""
        n = _checks.integer(n, "n", minimum=0)
        columns = self._columns()
        out = self._core_model().sample(n, _checks.seed(random_state))
        if any(keys is not None for keys in columns):
            symbols = np.empty(out.shape, dtype=object)
            for j, keys in enumerate(columns):
                codes = out[:, j]
                symbols[:, j] = ([float(c) for c in codes] if keys is None
                                 else [keys[int(c)] for c in codes])
            if all(keys is not None for keys in columns):
                # Only symbols: numpy's array of them, as pomegranate returns.
                symbols = np.array(symbols.tolist())
            out = symbols
        if self.d == 1:
            out = out[:, 0]
            if n == 1:
                return float(out[0]) if out.dtype.kind == "f" else out[0]
            return out
        return out[0] if n == 1 else out

    # -- model selection -------------------------------------------------------------------------
    @property
    def n_parameters(self):
        """The number of free parameters: those of the unfrozen components and the free weights
        (none when the model is frozen)."""
        n = self._core_model().n_parameters()
        if n is None:
            raise ValueError("a component cannot tell its number of parameters; give it an "
                             "n_parameters attribute")
        return n

    def bic(self, X, n_jobs=1):
        """The Bayesian information criterion ``-2 log L + p log n`` on ``X`` (lower is better)."""
        return self._core_model().bic(self._X(X), _checks.n_jobs(n_jobs))

    def aic(self, X, n_jobs=1):
        """The Akaike information criterion ``-2 log L + 2 p`` on ``X`` (lower is better)."""
        return self._core_model().aic(self._X(X), _checks.n_jobs(n_jobs))

    @classmethod
    def select_n_components(cls, distributions, X, max_components, criterion="bic",
                            min_components=1, **kwargs):
        """Fits ``from_samples`` for each number of components from ``min_components`` to
        ``max_components`` and returns ``(best_model, table)``: the model with the lowest
        criterion (``'bic'`` or ``'aic'``) and one dict per k with ``n_components``,
        ``log_likelihood``, ``n_parameters``, ``bic`` and ``aic``. ``kwargs`` go to
        ``from_samples``."""
        if criterion not in ("bic", "aic"):
            raise ValueError(f"criterion must be 'bic' or 'aic', got {criterion!r}")
        lo = _checks.integer(min_components, "min_components", minimum=1)
        hi = _checks.integer(max_components, "max_components", minimum=lo)
        kwargs.pop("return_history", None)
        table: list = []
        best: Any = None
        for k in range(lo, hi + 1):
            model = cls.from_samples(distributions, k, X, **kwargs)
            row = {
                "n_components": k,
                "log_likelihood": float(np.sum(model.log_probability(X))),
                "n_parameters": model.n_parameters,
                "bic": model.bic(X),
                "aic": model.aic(X),
            }
            table.append(row)
            if best is None or row[criterion] < best[0]:
                best = (row[criterion], model)
        return best[1], table

    # -- statistics ------------------------------------------------------------------------------
    def summarize(self, X, weights=None, n_jobs=1, client=None):
        """The E-step: adds the sufficient statistics of ``X`` to the stored summaries and returns
        the weighted log-likelihood of ``X``. For Dask data, each partition is summarised where
        it lives (on ``client``, or the current Dask client or scheduler)."""
        if dx := _dask_module(X, weights):
            summary = dx.summarize(self, X, weights, client)
        else:
            Xm = self._X(X)
            w = _checks.as_weights(weights)
            summary = self._core_model().summarize(Xm, w, _checks.n_jobs(n_jobs))
        if self._summary is None:
            self._summary = summary
        else:
            self._summary.merge(summary)
        self.summaries = self._summary.responsibilities
        return summary.log_likelihood

    def from_summaries(self, inertia=0.0, pseudocount=0.0):
        """The M-step: new parameters from the stored summaries, which are then cleared; returns
        the model (as pomegranate does)."""
        inertia = _checks.real(inertia, "inertia")
        pseudocount = _checks.real(pseudocount, "pseudocount")
        if self._summary is None or self.frozen:
            self.clear_summaries()
            return self
        core = self._core_model()
        core.from_summaries(self._summary, inertia, pseudocount)
        self._adopt(core)
        self.clear_summaries()
        return self

    def clear_summaries(self):
        """Discards the stored summaries."""
        self._summary = None
        self.summaries = np.zeros(len(self.distributions))

    # -- fitting ---------------------------------------------------------------------------------
    def fit(self, X, weights=None, inertia=0.0, pseudocount=0.0, stop_threshold=0.1,
            max_iterations=1e8, batch_size=None, batches_per_epoch=None, lr_decay=0.0,
            # pomegranate's signature; the list is copied, never changed.
            callbacks=[], return_history=False, verbose=False, n_jobs=1, y=None,  # noqa: B006
            client=None):
        """Fits the mixture by EM from its current parameters.

        Stops when the total log-likelihood improves by ``stop_threshold`` or less in one
        iteration, or after ``max_iterations`` M-steps (0 leaves the model as it is). Returns
        ``self``, or ``(self, history)`` with ``return_history``.

        ``y`` makes the fit semi-supervised: ``y[i]`` is the component of sample ``i``, or -1
        when unknown. The components start from the labelled samples, labelled samples always
        count for their component, and the stop rule watches the log-likelihood of the
        unlabelled samples (pomegranate's semi-supervised semantics).

        Rows that no component can produce (density 0 under every component, such as a
        negative value under exponential components, or a row so far out that every density
        underflows to 0) take no part in the statistics or in the stop rule, and make the
        log-likelihood ``-inf``. Raises ``ValueError`` when ``X`` has no observed value (every
        value NaN) or no component can produce any of its rows.

        ``X`` (and ``weights``) may be Dask collections: a ``dask.array.Array`` chunked by rows
        or a Dask DataFrame. Each iteration then summarises every partition where it lives, on
        ``client`` (or the current Dask client, or Dask's default scheduler), and runs the
        M-step here; ``batches_per_epoch`` counts partitions, and ``batch_size`` does not apply
        (the partitions are the batches).
        """
        if dx := _dask_module(X, weights):
            if y is not None:
                raise ValueError("y (semi-supervised fitting) does not apply to Dask data")
            options = _fit_options(inertia, pseudocount, stop_threshold, max_iterations, batch_size,
                                   batches_per_epoch, lr_decay, n_jobs)
            return dx.fit(self, X, weights, options, callbacks, return_history, verbose, client)
        factory = _batch_factory(X, self._X)
        if factory is not None:
            if weights is not None or y is not None or batch_size is not None:
                raise ValueError(
                    "weights, y and batch_size do not apply when X gives its own batches; "
                    "give (X, weights) batches instead"
                )
            return self._fit_batches(factory, inertia, pseudocount, stop_threshold,
                                     max_iterations, batches_per_epoch, lr_decay, callbacks,
                                     return_history, verbose, n_jobs)
        Xm = self._X(X)
        if self.feature_names is None:
            self.feature_names = _frames.names(X)
        w = _checks.as_weights(weights)
        labels = None
        if y is not None:
            labels = np.asarray(y)
            integral = labels.dtype.kind in "iu" or (
                labels.dtype.kind == "f" and np.all(labels == np.round(labels)))
            if labels.ndim != 1 or not integral:
                raise TypeError("y must be a 1-D array of integer labels (-1 for unlabelled)")
            labels = np.ascontiguousarray(labels, dtype=np.int64)
        options = _fit_options(inertia, pseudocount, stop_threshold, max_iterations, batch_size,
                               batches_per_epoch, lr_decay, n_jobs)
        # Refused before any callback begins.
        _core.check_weights_and_labels(len(Xm), w, labels, self.n)
        return self._train(
            lambda core, training: core.fit(Xm, w, labels=labels, options=options,
                                            callback=training.on_epoch,
                                            pass_model=training.pass_model),
            callbacks, return_history, verbose)

    def _fit_batches(self, factory, inertia, pseudocount, stop_threshold, max_iterations,
                     batches_per_epoch, lr_decay, callbacks, return_history, verbose, n_jobs):
        options = _fit_options(inertia, pseudocount, stop_threshold, max_iterations, None,
                               batches_per_epoch, lr_decay, n_jobs)
        return self._train(
            lambda core, training: core.fit_source(factory, options=options,
                                                   callback=training.on_epoch,
                                                   pass_model=training.pass_model),
            callbacks, return_history, verbose)

    def _train(self, run, callbacks, return_history, verbose):
        """Runs ``run(core, training)``, a fit of the Rust model ``core`` that reports to
        ``training``, with the callbacks; the model takes the fitted parameters, even when the
        fit raises."""
        training = _Training(callbacks, verbose)
        training.begin(self)
        core = self._core_model()
        try:
            report = run(core, training)
        except BaseException:
            training.fail()
            raise
        finally:
            self._adopt(core)
        training.end(report)
        self.clear_summaries()
        return (self, training.history) if return_history else self

    @classmethod
    def from_samples(cls, distributions, n_components, X, weights=None, n_init=1,
                     init="kmeans++", max_kmeans_iterations=1, inertia=0.0, pseudocount=0.0,
                     stop_threshold=0.1, max_iterations=1e8, batch_size=None,
                     # pomegranate's signature; the list is copied, never changed.
                     batches_per_epoch=None, lr_decay=0.0, callbacks=[],  # noqa: B006
                     return_history=False, verbose=False, n_jobs=1, random_state=None,
                     client=None):
        """Builds a mixture from data: k-means clusters ``X``, each component is fitted to its
        cluster, then EM refines the model.

        Parameters
        ----------
        distributions : class, list of classes, or list of distributions
            One class for every component (a univariate class on several columns becomes an
            IndependentComponentsDistribution of it); a list with one class per column of ``X``
            (IndependentComponentsDistribution components); for one-column ``X``, a list of
            univariate classes, one per component; or initialised distributions, which are then
            only fitted.
        n_components : int
        X : array-like, shape (n_samples, n_features)
        init : {'first-k', 'random', 'kmeans++'}
        n_init : int
            Whole fits (k-means and EM) from different initialisations; the best
            log-likelihood wins.
        random_state : int, numpy RandomState or Generator, or None
        client : dask.distributed.Client, optional
            For Dask data (``X`` a ``dask.array.Array`` chunked by rows or a Dask DataFrame):
            k-means initialises on the first partition (as pomegranate initialises on the first
            batch), then EM runs on every partition where it lives, on this client (or the
            current one, or Dask's default scheduler).
        """
        if isinstance(distributions, (list, tuple, np.ndarray)) and len(distributions) > 0 and all(
            isinstance(dist, Distribution) or _is_custom(dist) for dist in distributions
        ):
            model = cls(distributions)
            return model.fit(X, weights, inertia=inertia, pseudocount=pseudocount,
                             stop_threshold=stop_threshold, max_iterations=max_iterations,
                             batch_size=batch_size, batches_per_epoch=batches_per_epoch,
                             lr_decay=lr_decay, callbacks=callbacks,
                             return_history=return_history, verbose=verbose, n_jobs=n_jobs,
                             client=client)
        dx = _dask_module(X, weights)
        if dx is not None:
            if batch_size is not None:
                raise ValueError("batch_size does not apply to Dask data: the partitions are the "
                                 "batches; rechunk X to choose their size")
            first, first_w = dx.first_partition(X, weights, client)
            return cls._from_first_batch(
                distributions, n_components, first, first_w, n_init, init, max_kmeans_iterations,
                n_jobs, random_state, return_history,
                lambda model: model.fit(
                    X, weights, inertia=inertia, pseudocount=pseudocount,
                    stop_threshold=stop_threshold, max_iterations=max_iterations,
                    batches_per_epoch=batches_per_epoch, lr_decay=lr_decay, callbacks=callbacks,
                    return_history=True, verbose=verbose, n_jobs=n_jobs, client=client))
        factory = _batch_factory(X, lambda b: _checks.as_matrix(b))
        if factory is not None:
            if weights is not None:
                raise ValueError("weights do not apply when X gives its own batches; give "
                                 "(X, weights) batches instead")
            try:
                first, first_w = next(iter(factory()))
            except StopIteration:
                raise ValueError("X gave no batches") from None
            return cls._from_first_batch(
                distributions, n_components, first, first_w, n_init, init, max_kmeans_iterations,
                n_jobs, random_state, return_history,
                lambda model: model.fit(
                    X, inertia=inertia, pseudocount=pseudocount, stop_threshold=stop_threshold,
                    max_iterations=max_iterations, batches_per_epoch=batches_per_epoch,
                    lr_decay=lr_decay, callbacks=callbacks, return_history=True,
                    verbose=verbose, n_jobs=n_jobs))
        names = _frames.names(X)
        shape = np.shape(X)
        if len(shape) not in (1, 2):
            raise ValueError(f"X must be 2-D, of shape (n_samples, n_features); got shape {shape}")
        d = 1 if len(shape) == 1 else shape[1]
        layout, classes = cls._layout(distributions, d)
        n_components = _checks.integer(n_components, "n_components", minimum=1)
        if layout == _core.Layout.MIXED and n_components != len(classes):
            n_components = len(classes)
        if not isinstance(init, str):
            raise TypeError(f"init must be a string, one of {', '.join(_INITS)}")
        n_init = _checks.integer(n_init, "n_init", minimum=1)
        max_k = _checks.real(max_kmeans_iterations, "max_kmeans_iterations")
        seed = _checks.seed(random_state)
        options = _core.FromSamplesOptions(
            n_components, init=init, n_init=n_init, max_kmeans_iterations=max_k, seed=seed,
            fit=_fit_options(inertia, pseudocount, stop_threshold, max_iterations, batch_size,
                             batches_per_epoch, lr_decay, n_jobs))

        column_classes = classes if layout == _core.Layout.PER_FEATURE else [classes[0]] * d
        discrete = [c is DiscreteDistribution for c in column_classes]
        if (layout == _core.Layout.MIXED and any(discrete)
                and not all(c is DiscreteDistribution for c in classes)):
            raise ValueError("a one-column mixture cannot mix DiscreteDistribution with other classes")
        column_keys = [None] * d
        if any(discrete):
            arr = np.asarray(_frames.values(X), dtype=object).reshape(-1, d)
            for j in range(d):
                if discrete[j]:
                    column_keys[j] = _symbols(arr[:, j])
                    if not column_keys[j]:
                        raise ValueError(f"X column {j} holds no symbol that is not missing")
            codes = [None if k is None else {s: i for i, s in enumerate(k)} for k in column_keys]
            Xm = encode_rows(arr, d, codes)
        else:
            Xm = _checks.as_rows(X)
        w = _checks.as_weights(weights)

        if any(not issubclass(c, Distribution) for c in classes):
            model, history = cls._from_samples_custom(layout, classes, Xm, w, options, callbacks,
                                                      True, verbose)
            model.feature_names = names
            return (model, history) if return_history else model

        def family(c, j):
            """The class name and, for a discrete class, the number of symbols of column j."""
            keys = column_keys[j]
            return c._family, (len(keys) if c is DiscreteDistribution else None)

        if layout == _core.Layout.PER_FEATURE:
            families = [family(c, j) for j, c in enumerate(classes)]
        else:
            families = [family(c, 0) for c in classes]
        training = _Training(callbacks, verbose)
        holder = {}

        def relabel(core):
            # The Rust fit sees the codes 0..k-1 of discrete columns: give back their symbols.
            if not any(discrete):
                return core
            comps = []
            for c in core.distributions():
                if c.name == DiscreteDistribution._family:
                    comps.append(_relabel(c, column_keys[0]))
                elif c.name == IndependentComponentsDistribution._family:
                    children = [
                        _relabel(ch, column_keys[j]) if column_keys[j] is not None else ch
                        for j, ch in enumerate(c.children())
                    ]
                    comps.append(_core.Distribution.independent(
                        children, list(c.parameters()[1]), c.frozen))
                else:
                    comps.append(c)
            return _core.Mixture(comps, list(core.weights()), core.frozen)

        def on_epoch(logs, current):
            if current is not None:
                current = relabel(current)
                if "model" not in holder:
                    holder["model"] = cls._from_core(current)
                    training.bind(holder["model"])
                    current = None
            training.on_epoch(logs, current)

        _core.check_weights_and_labels(len(Xm), w)
        training.begin(None)
        try:
            core, report = _core.Mixture.from_samples(
                families, layout, Xm, options, w, callback=on_epoch,
                pass_model=training.pass_model)
        except BaseException:
            training.fail()
            raise
        core = relabel(core)
        if "model" in holder:
            model = holder["model"]
            model._adopt(core)
        else:
            model = cls._from_core(core)
        training.bind(model)
        training.end(report)
        model.feature_names = names
        return (model, training.history) if return_history else model

    @classmethod
    def _from_first_batch(cls, distributions, n_components, first, first_w, n_init, init,
                          max_kmeans_iterations, n_jobs, random_state, return_history, fit):
        """from_samples on data in batches (or partitions): as pomegranate, k-means initialises
        on the first batch, ``first`` (with weights ``first_w``), then ``fit(model)`` runs EM on
        all of them and returns ``(model, history)``; the best of ``n_init`` such fits."""
        n_init = _checks.integer(n_init, "n_init", minimum=1)
        rng = np.random.RandomState(_checks.seed(random_state) % 2**32)
        best: Any = None
        for _ in range(n_init):
            model = cls.from_samples(
                distributions, n_components, first, weights=first_w, init=init,
                max_kmeans_iterations=max_kmeans_iterations, max_iterations=0,
                n_jobs=n_jobs, random_state=int(rng.randint(0, 2**31)))
            model, history = fit(model)
            score = (history.log_probabilities or [history.initial_log_probability])[-1]
            if best is None or score > best[0]:
                best = (score, model, history)
        _, model, history = best
        return (model, history) if return_history else model

    @classmethod
    def _from_samples_custom(cls, layout, classes, Xm, w, options, callbacks, return_history,
                             verbose):
        """from_samples with classes written in Python: k-means in Rust, then each component from
        its class's ``from_samples`` on its cluster, then EM (holding the GIL for the Python
        components)."""
        k = options.n_components
        n_jobs = options.fit.n_jobs
        rng = np.random.RandomState(options.seed % 2**32)
        best: Any = None
        # As pomegranate, k-means and the first components see the first batch only.
        m = len(Xm) if options.fit.batch_size is None else min(options.fit.batch_size, len(Xm))
        if m < k:
            raise ValueError(f"batch_size: the first batch ({m} rows) initialises k-means and "
                             f"must hold at least n_components ({k}) rows")
        X0, w0 = Xm[:m], None if w is None else w[:m]
        for _ in range(options.n_init):
            km = _core.Kmeans.fit(k, X0, w0, init=options.init, n_init=1,
                                  max_iterations=options.max_kmeans_iterations,
                                  seed=int(rng.randint(0, 2**62)), n_jobs=n_jobs)
            labels = km.predict(X0, n_jobs)
            dists, shares = [], []
            for j in range(k):
                rows = labels == j
                wj = None if w0 is None else w0[rows]
                # Classes written in Python get float64 rows, as from float64 data (their
                # from_samples would otherwise compute in float32).
                Xj = np.asarray(X0[rows], dtype=np.float64)
                if layout == _core.Layout.PER_FEATURE:
                    dists.append(IndependentComponentsDistribution(
                        [c.from_samples(Xj[:, f], weights=wj) for f, c in enumerate(classes)]))
                else:
                    c = classes[j] if layout == _core.Layout.MIXED else classes[0]
                    dists.append(c.from_samples(Xj, weights=wj))
                shares.append(float(rows.sum() if wj is None else wj.sum()))
            model = cls(dists, weights=shares)
            model, history = model.fit(Xm, w, callbacks=callbacks, return_history=True,
                                       verbose=verbose, **_fit_keywords(options.fit))
            score = history.log_probabilities[-1] if history.log_probabilities else (
                history.initial_log_probability)
            if best is None or score > best[0]:
                best = (score, model, history)
        _, model, history = best
        return (model, history) if return_history else model

    @staticmethod
    def _layout(distributions, d):
        """pomegranate's reading of ``distributions`` in from_samples: the layout and the
        classes."""
        def check(c, where):
            if not isinstance(c, type):
                raise TypeError(f"{where} must be a distribution class, got {c!r}")
            if issubclass(c, Distribution):
                if c._family is None:
                    raise TypeError(f"{where} must be a distribution class, got {c!r}")
                if c is IndependentComponentsDistribution:
                    raise ValueError(
                        "from_samples cannot build IndependentComponentsDistribution from its "
                        "class; pass a list with one distribution class per column instead"
                    )
            elif not hasattr(c, "from_samples"):
                raise TypeError(f"{where} must be a distribution class with from_samples, got {c!r}")
            return c

        def univariate(c):
            return c._univariate if issubclass(c, Distribution) else getattr(c, "d", 1) == 1

        if isinstance(distributions, (list, tuple)):
            classes = [check(c, f"distributions[{j}]") for j, c in enumerate(distributions)]
            if len(classes) == 0:
                raise ValueError("distributions must not be empty")
            # As pomegranate, a list as long as X is wide comes first: for one-column X, a
            # one-class list gives IndependentComponentsDistribution components of that class.
            if d == 1 and len(classes) != 1:
                if not all(univariate(c) for c in classes):
                    raise ValueError("a list of component classes for one-column X must be univariate")
                return _core.Layout.MIXED, classes
            if len(classes) != d:
                raise ValueError(
                    f"distributions must have one class per column of X ({d}), got {len(classes)}"
                )
            if not all(univariate(c) for c in classes):
                raise ValueError("per-column distribution classes must be univariate")
            return _core.Layout.PER_FEATURE, classes
        c = check(distributions, "distributions")
        if issubclass(c, Distribution) and c._univariate and d > 1:
            return _core.Layout.PER_FEATURE, [c] * d
        return _core.Layout.EACH, [c]

    # -- state -----------------------------------------------------------------------------------
    def freeze(self):
        """Freezes the model: fitting changes neither components nor weights."""
        self.frozen = True

    def thaw(self):
        """Thaws the model."""
        self.frozen = False

    def copy(self):
        """A deep copy (new distribution objects)."""
        import copy as _copy

        dists = [d.copy() if isinstance(d, Distribution) else _copy.deepcopy(d)
                 for d in self.distributions]
        model = type(self)(dists, weights=self._probabilities)
        model.frozen = self.frozen
        model.feature_names = None if self.feature_names is None else list(self.feature_names)
        return model

    # -- serialisation ---------------------------------------------------------------------------
    def to_json(self, separators=(",", " : "), indent=4):
        """The pomegranate 0.14 JSON document of the model."""
        item, key = separators
        return self._core_model().to_json(indent, item, key)

    @classmethod
    def from_json(cls, s):
        """A model from JSON text or a file name (pomegranate 0.14's format)."""
        return cls._from_core(_core.Mixture.from_json(_read_text(s)))

    def __reduce__(self):
        return (_restore_model, (self.to_json(separators=(",", ":"), indent=None), self.frozen,
                                 self.feature_names))

    def __repr__(self):
        return self.to_json()


def _restore_model(text, frozen, feature_names=None):
    model = GeneralMixtureModel.from_json(text)
    model.frozen = frozen
    model.feature_names = feature_names
    return model
