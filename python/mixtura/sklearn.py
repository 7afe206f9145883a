"""GaussianMixture: scikit-learn's estimator (``sklearn.mixture.GaussianMixture``), fitted by
mixtura's Rust engine.

With scikit-learn installed the class is a scikit-learn estimator (``BaseEstimator``,
``DensityMixin``, its parameter validation, ``NotFittedError`` and ``ConvergenceWarning``); without
it, the class imports and works the same, with its own small stand-ins.
"""

import inspect
import numbers
import time
import warnings

import numpy as np

from . import _checks, _core

__all__ = ["GaussianMixture", "ConvergenceWarning", "NotFittedError"]

try:  # scikit-learn is optional: never a runtime dependency of mixtura.
    from sklearn.base import BaseEstimator as _BaseEstimator, DensityMixin as _DensityMixin
    from sklearn.exceptions import ConvergenceWarning, NotFittedError
    from sklearn.utils._param_validation import Interval, StrOptions
    from sklearn.utils.validation import check_is_fitted as _check_is_fitted

    try:
        from sklearn.utils.validation import validate_data as _validate_data
    except ImportError:  # scikit-learn before 1.6
        _validate_data = None
    _HAVE_SKLEARN = True
except ImportError:
    _HAVE_SKLEARN = False
    _validate_data = None

    class ConvergenceWarning(UserWarning):  # type: ignore[no-redef]
        """A fit stopped at its iteration limit before it converged."""

    class NotFittedError(ValueError, AttributeError):  # type: ignore[no-redef]
        """The estimator is used before it was fitted."""

    class _BaseEstimator:  # type: ignore[no-redef]
        """get_params / set_params from the constructor's signature (scikit-learn's protocol)."""

        @classmethod
        def _get_param_names(cls):
            sig = inspect.signature(cls.__init__)
            return sorted(p.name for p in sig.parameters.values() if p.name != "self")

        def get_params(self, deep=True):
            return {name: getattr(self, name) for name in self._get_param_names()}

        def set_params(self, **params):
            valid = self._get_param_names()
            for name, value in params.items():
                if name not in valid:
                    raise ValueError(
                        f"Invalid parameter {name!r} for estimator {type(self).__name__}. "
                        f"Valid parameters are: {valid!r}."
                    )
                setattr(self, name, value)
            return self

        def __repr__(self):
            defaults = {
                p.name: p.default
                for p in inspect.signature(type(self).__init__).parameters.values()
            }
            changed = [
                f"{k}={v!r}" for k, v in self.get_params().items()
                if not (isinstance(v, type(defaults.get(k))) and v == defaults.get(k))
            ]
            return f"{type(self).__name__}({', '.join(changed)})"

    class _DensityMixin:  # type: ignore[no-redef]
        _estimator_type = "DensityEstimator"


_COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
_INIT_PARAMS = ("kmeans", "k-means++", "random", "random_from_data")

_NOT_CONVERGED = (
    "Best performing initialization did not converge. Try different init parameters, or "
    "increase max_iter, tol, or check for degenerate data."
)


def _integer(value, name, minimum):
    value = _checks.integer(value, name)
    if value < minimum:
        raise ValueError(f"The '{name}' parameter must be an int >= {minimum}, got {value}")
    return value


def _real(value, name):
    value = _checks.real(value, name)
    if not value >= 0.0:
        raise ValueError(f"The '{name}' parameter must be a float >= 0, got {value}")
    return value


def _choice(value, name, options):
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"The '{name}' parameter must be one of {options}, got {value!r}")
    return value


def _optional_array(value, name):
    """An initial parameter as a float64 array (its shape and values are checked in Rust)."""
    if value is None:
        return None
    return np.ascontiguousarray(_checks._floats(value, name))


class GaussianMixture(_DensityMixin, _BaseEstimator):
    """Gaussian mixture fitted by EM, with scikit-learn's API and semantics.

    A drop-in replacement for ``sklearn.mixture.GaussianMixture``: the same parameters, fitted
    attributes and methods; from the same initial parameters it gives scikit-learn's fitted
    parameters and lower bound (to rounding). The E-step and M-step run in mixtura's Rust engine,
    one pass over the data per iteration, in parallel; results do not depend on ``n_jobs``.

    Parameters
    ----------
    n_components : int, default=1
        The number of mixture components.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default='full'
        Each component's own full covariance; one shared full covariance; each component's
        diagonal covariance; each component's single variance.
    tol : float, default=1e-3
        EM stops when the lower bound (mean log-likelihood per sample) changes by less.
    reg_covar : float, default=1e-6
        Added to the diagonal of the covariances.
    max_iter : int, default=100
        The most EM iterations per initialisation.
    n_init : int, default=1
        Initialisations to run; the best lower bound is kept.
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data'}, default='kmeans'
        How initial parameters that are not given are chosen (mixtura's own seeded k-means and
        random streams: the same ``random_state`` gives other draws than scikit-learn's).
    weights_init : array-like of shape (n_components,), default=None
    means_init : array-like of shape (n_components, n_features), default=None
    precisions_init : array-like, default=None
        Initial precisions, in the shape of ``covariance_type``.
    random_state : int, RandomState instance or None, default=None
    warm_start : bool, default=False
        Continue from the last fit's parameters on the next ``fit``.
    verbose : int, default=0
    verbose_interval : int, default=10
    n_jobs : int or None, default=None
        Threads; None or -1 for every core. Results do not depend on it.

    Attributes
    ----------
    weights_, means_, covariances_, precisions_, precisions_cholesky_ : ndarray
    converged_ : bool
    n_iter_ : int
    lower_bound_ : float
    lower_bounds_ : list of float
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Defined when X has feature names that are all strings (pandas).
    """

    # The fitted attributes (annotations only: they exist once the estimator is fitted).
    weights_: np.ndarray
    means_: np.ndarray
    covariances_: np.ndarray
    precisions_: np.ndarray
    precisions_cholesky_: np.ndarray
    converged_: bool
    n_iter_: int
    lower_bound_: float
    lower_bounds_: list
    n_features_in_: int

    if _HAVE_SKLEARN:
        from numbers import Integral, Real

        _parameter_constraints: dict = {
            "n_components": [Interval(Integral, 1, None, closed="left")],
            "covariance_type": [StrOptions(set(_COVARIANCE_TYPES))],
            "tol": [Interval(Real, 0.0, None, closed="left")],
            "reg_covar": [Interval(Real, 0.0, None, closed="left")],
            "max_iter": [Interval(Integral, 0, None, closed="left")],
            "n_init": [Interval(Integral, 1, None, closed="left")],
            "init_params": [StrOptions(set(_INIT_PARAMS))],
            "weights_init": ["array-like", None],
            "means_init": ["array-like", None],
            "precisions_init": ["array-like", None],
            "random_state": ["random_state"],
            "warm_start": ["boolean"],
            "verbose": ["verbose"],
            "verbose_interval": [Interval(Integral, 1, None, closed="left")],
            "n_jobs": [Integral, None],
        }
        del Integral, Real

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weights_init=None,
        means_init=None,
        precisions_init=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        n_jobs=None,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.n_jobs = n_jobs

    # -- checks --------------------------------------------------------------------------------

    def _check_params(self):
        """The parameters' types and ranges (scikit-learn's validation when it is installed;
        the values are checked again in Rust)."""
        if _HAVE_SKLEARN and hasattr(self, "_validate_params"):
            self._validate_params()
        _integer(self.n_components, "n_components", 1)
        _choice(self.covariance_type, "covariance_type", _COVARIANCE_TYPES)
        _real(self.tol, "tol")
        _real(self.reg_covar, "reg_covar")
        _integer(self.max_iter, "max_iter", 0)
        _integer(self.n_init, "n_init", 1)
        _choice(self.init_params, "init_params", _INIT_PARAMS)
        if not isinstance(self.warm_start, (bool, np.bool_)):
            raise TypeError(f"warm_start must be a bool, got {type(self.warm_start).__name__}")
        _integer(self.verbose, "verbose", 0)
        _integer(self.verbose_interval, "verbose_interval", 1)
        if self.n_jobs is not None:
            _checks.n_jobs(self.n_jobs)

    def _n_jobs(self):
        return -1 if self.n_jobs is None else _checks.n_jobs(self.n_jobs)

    def _validate(self, X, reset, fit=False):
        """X as a float64 or float32 2-D array (scikit-learn's rules when it is installed),
        setting or checking ``n_features_in_`` (and ``feature_names_in_``)."""
        if _validate_data is not None:
            kw = {"ensure_min_samples": 2} if fit else {}
            return _validate_data(self, X, dtype=[np.float64, np.float32], reset=reset, **kw)
        names = None
        columns = getattr(X, "columns", None)
        if columns is not None and len(columns) and all(isinstance(c, str) for c in columns):
            names = np.asarray(list(columns), dtype=object)
        dtype = getattr(X, "dtype", None)
        if dtype == np.float32:
            arr = np.asarray(X, dtype=np.float32)
        else:
            arr = _checks._floats(X, "X")
        if arr.ndim != 2:
            raise ValueError(
                f"Expected a 2-D array of shape (n_samples, n_features), got {arr.ndim}-D"
            )
        if not np.all(np.isfinite(arr)):
            raise ValueError("Input X contains NaN or infinity.")
        if fit and arr.shape[0] < 2:
            raise ValueError(
                f"Found array with {arr.shape[0]} sample(s) (shape={arr.shape}) while a "
                "minimum of 2 is required."
            )
        if reset:
            self.n_features_in_ = arr.shape[1]
            if names is not None:
                self.feature_names_in_ = names
            elif hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
        elif arr.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {arr.shape[1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input."
            )
        return arr

    def _check_fitted(self):
        if _HAVE_SKLEARN:
            _check_is_fitted(self)
        elif not hasattr(self, "means_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator."
            )

    # -- fitting -------------------------------------------------------------------------------

    def _verbose_callback(self):
        """The printer of scikit-learn's verbose lines, called by the engine at its events."""
        verbose, interval = int(self.verbose), int(self.verbose_interval)
        clock = {}

        def callback(kind, init, n_iter, lower_bound, change, converged):
            now = time.time()
            if kind == "init_start":
                print(f"Initialization {init}")
                clock["init"] = clock["iter"] = now
            elif kind == "iteration":
                if n_iter % interval == 0:
                    if verbose == 1:
                        print(f"  Iteration {n_iter}")
                    else:
                        lapse = now - clock["iter"]
                        print(
                            f"  Iteration {n_iter}\t time lapse {lapse:.5f}s\t "
                            f"ll change {change:.5f}"
                        )
                        clock["iter"] = now
            else:
                message = "converged" if converged else "did not converge"
                if verbose == 1:
                    print(f"Initialization {message}.")
                else:
                    print(
                        f"Initialization {message}. time lapse {now - clock['init']:.5f}s\t "
                        f"lower bound {lower_bound:.5f}."
                    )

        return callback

    def _fit(self, X):
        self._check_params()
        X = self._validate(X, reset=True, fit=True)
        dtype = X.dtype
        # float32 rows are read in place (a block at a time); others as contiguous float64.
        X64 = _checks.as_rows(X) if dtype == np.float32 else np.ascontiguousarray(
            X, dtype=np.float64)
        n_jobs = self._n_jobs()
        callback = self._verbose_callback() if self.verbose else None
        do_init = not (self.warm_start and hasattr(self, "converged_"))
        if do_init:
            core, report = _core.GaussianMixture.fit(
                X64,
                int(self.n_components),
                self.covariance_type,
                float(self.tol),
                float(self.reg_covar),
                int(self.max_iter),
                int(self.n_init),
                self.init_params,
                _checks.seed(self.random_state),
                n_jobs,
                weights_init=_optional_array(self.weights_init, "weights_init"),
                means_init=_optional_array(self.means_init, "means_init"),
                precisions_init=_optional_array(self.precisions_init, "precisions_init"),
                callback=callback,
            )
        else:
            if self.n_features_in_ != np.shape(self.means_)[1]:
                raise ValueError("X has another number of features than the warm-started model")
            core = self._core()
            report = core.fit_more(
                X64, float(self.tol), float(self.reg_covar), int(self.max_iter),
                float(self.lower_bound_), n_jobs, callback=callback,
            )
        self.weights_ = core.weights.astype(dtype, copy=False)
        self.means_ = core.means.astype(dtype, copy=False)
        self.covariances_ = core.covariances.astype(dtype, copy=False)
        self.precisions_cholesky_ = core.precisions_cholesky.astype(dtype, copy=False)
        self.precisions_ = core.precisions.astype(dtype, copy=False)
        self.converged_ = bool(report["converged"])
        self.n_iter_ = int(report["n_iter"])
        self.lower_bound_ = float(report["lower_bound"])
        self.lower_bounds_ = list(report["lower_bounds"])
        if not self.converged_ and self.max_iter > 0:
            warnings.warn(_NOT_CONVERGED, ConvergenceWarning, stacklevel=3)
        return X64, core

    def fit(self, X, y=None):
        """Estimate the parameters by EM (``n_init`` initialisations, the best lower bound kept;
        with ``warm_start``, later calls continue from the last parameters).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        self : GaussianMixture
        """
        self._fit(X)
        return self

    def fit_predict(self, X, y=None):
        """Fit, then the most probable component of each row of X.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        X64, core = self._fit(X)
        return core.predict(X64, self._n_jobs())

    def _core(self):
        """The engine's model of the fitted attributes (as they are now)."""
        self._check_fitted()
        f64 = lambda a: np.ascontiguousarray(a, dtype=np.float64)  # noqa: E731
        return _core.GaussianMixture(
            self.covariance_type,
            f64(self.weights_),
            f64(self.means_),
            f64(self.covariances_),
            f64(self.precisions_cholesky_),
        )

    def _rows(self, X):
        """The dtype of X, and X for the engine: float32 rows as they are (read in place, a block
        at a time), others as contiguous float64."""
        self._check_fitted()
        X = self._validate(X, reset=False)
        if X.dtype == np.float32:
            return X.dtype, _checks.as_rows(X)
        return X.dtype, np.ascontiguousarray(X, dtype=np.float64)

    # -- prediction ----------------------------------------------------------------------------

    def score_samples(self, X):
        """The log-likelihood of each row of X under the model.

        Returns
        -------
        log_prob : ndarray of shape (n_samples,)
        """
        dtype, X64 = self._rows(X)
        return self._core().score_samples(X64, self._n_jobs()).astype(dtype, copy=False)

    def score(self, X, y=None):
        """The mean log-likelihood per row of X.

        Returns
        -------
        log_likelihood : float
        """
        return float(np.mean(self.score_samples(X)))

    def predict(self, X):
        """The most probable component of each row of X.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        _, X64 = self._rows(X)
        return self._core().predict(X64, self._n_jobs())

    def predict_proba(self, X):
        """The posterior probability of each component for each row of X.

        Returns
        -------
        resp : ndarray of shape (n_samples, n_components)
        """
        dtype, X64 = self._rows(X)
        return self._core().predict_proba(X64, self._n_jobs()).astype(dtype, copy=False)

    def sample(self, n_samples=1):
        """Draw rows from the fitted mixture (seeded by ``random_state``).

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,)
            The component of each row, grouped by component.
        """
        self._check_fitted()
        if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral):
            raise TypeError(f"n_samples must be an integer, got {type(n_samples).__name__}")
        if n_samples < 1:
            raise ValueError(
                f"Invalid value for 'n_samples': {n_samples} . The sampling requires at least "
                "one sample."
            )
        return self._core().sample(int(n_samples), _checks.seed(self.random_state))

    def _n_parameters(self):
        return self._core().n_parameters()

    def bic(self, X):
        """Bayesian information criterion on X (lower is better)."""
        n = np.shape(X)[0]
        return -2 * self.score(X) * n + self._n_parameters() * np.log(n)

    def aic(self, X):
        """Akaike information criterion on X (lower is better)."""
        n = np.shape(X)[0]
        return -2 * self.score(X) * n + 2 * self._n_parameters()
