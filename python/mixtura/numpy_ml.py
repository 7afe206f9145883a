"""GMM: numpy-ml's Gaussian mixture (``numpy_ml.gmm.GMM``), fitted by mixtura's Rust engine.

Both of numpy-ml's API generations work on the same object: the 2020 one (``hyperparameters``,
``parameters``, ``elbo``, ``is_fit``, ``likelihood_lower_bound(X)``, ``predict(X,
soft_labels=True)``) and the older one (attributes ``C, N, d, pi, Q, mu, sigma, best_elbo,
best_mu, best_pi, best_sigma`` and ``likelihood_lower_bound()`` on the training data).

numpy-ml's bugs are fixed here:

- its M-step assigned the new mixture weights to a local variable, so ``pi`` never changed from
  its random start; here ``pi`` is learned;
- its initial means were uniform in [-5, 10] whatever the data; here they are k-means++ centres
  of the data (mixtura's seeded k-means++), with uniform weights and identity covariances;
- ``seed=0`` was ignored (``if seed:``); here every integer seeds the fit, and ``seed=None``
  draws from numpy's global generator;
- ``fit(X, max_iter=0)`` crashed; here it keeps the initial parameters and returns 0.

The evidence lower bound is evaluated with the responsibilities of the parameters it is
computed for, where it is tight: it is the log-likelihood of the data, summed over the rows.
A fit stops when it changes by at most ``tol`` from one iteration to the next (measured, as the
engine measures it, on the parameters each E-step starts from). Covariances are not
regularised (``reg_covar=0``), as in numpy-ml: a component that collapses stops the fit, which
prints ``Singular matrix: components collapsed`` and returns -1.
"""

import numpy as np

from . import _checks, _core

__all__ = ["GMM"]

_COLLAPSED = "ill-defined empirical covariance"


class GMM:
    """A Gaussian mixture with full covariances, fitted by EM (numpy-ml's ``GMM``).

    Parameters
    ----------
    C : int, default=3
        The number of components.
    seed : int or None, default=None
        Seeds the initial means (k-means++); None draws from numpy's global generator.
    """

    def __init__(self, C=3, seed=None):
        self.hyperparameters = {"C": _checks.integer(C, "C", minimum=1), "seed": seed}
        self.parameters = {}
        self.elbo = None
        self.is_fit = False
        self.best_elbo = -np.inf
        self.best_pi = self.best_mu = self.best_sigma = None
        self.X = None
        self.N = self.d = None

    # -- the older API's attributes --------------------------------------------------------------

    @property
    def C(self):
        return self.hyperparameters["C"]

    @property
    def pi(self):
        return self.parameters.get("pi")

    @property
    def Q(self):
        return self.parameters.get("Q")

    @property
    def mu(self):
        return self.parameters.get("mu")

    @property
    def sigma(self):
        return self.parameters.get("sigma")

    # -- fitting ----------------------------------------------------------------------------------

    def _model(self):
        """The engine's model of the current parameters."""
        P = self.parameters
        sigma = np.ascontiguousarray(P["sigma"], dtype=np.float64)
        factors = []
        for s in sigma:
            # numpy-ml's parameters are covariances; the engine keeps the precisions' factors
            # (U with U U^T = inv(sigma): the inverse transpose of sigma's Cholesky factor).
            L = np.linalg.cholesky(s)
            factors.append(np.linalg.inv(L).T)
        return _core.GaussianMixture(
            "full",
            np.ascontiguousarray(P["pi"], dtype=np.float64),
            np.ascontiguousarray(P["mu"], dtype=np.float64),
            sigma,
            np.ascontiguousarray(factors),
        )

    def _initial(self, X):
        """Uniform weights, k-means++ centres, identity covariances."""
        C = self.C
        N, d = X.shape
        seed = self.hyperparameters["seed"]
        mu = _core.Kmeans.initial_centroids(C, X, init="kmeans++", seed=_checks.seed(seed))
        self.parameters = {
            "pi": np.full(C, 1.0 / C),
            "Q": np.zeros((N, C)),
            "mu": mu,
            "sigma": np.array([np.eye(d) for _ in range(C)]),
        }

    def fit(self, X, max_iter=100, tol=1e-3, verbose=False):
        """Fit the mixture to X by EM from a new start.

        Parameters
        ----------
        X : array-like of shape (N, d)
        max_iter : int, default=100
        tol : float, default=1e-3
            Stop when the summed evidence lower bound changes by at most this.
        verbose : bool, default=False
            Print ``"{i}. Lower bound: {value}"`` after every iteration.

        Returns
        -------
        int
            0, or -1 when a component collapsed (the reason is printed).
        """
        X = _checks.as_matrix(X)
        max_iter = _checks.integer(max_iter, "max_iter", minimum=0)
        tol = _checks.real(tol, "tol")
        N, d = X.shape
        if N < self.C:
            raise ValueError(f"X must have at least C={self.C} rows, got {N}")
        self.X, self.N, self.d = X, N, d
        self.is_fit = False
        self._initial(X)
        P = self.parameters

        def callback(kind, init, n_iter, lower_bound, change, converged):
            if kind == "iteration":
                print(f"{n_iter}. Lower bound: {lower_bound * N}")

        try:
            core, _ = _core.GaussianMixture.fit(
                X, self.C, "full", max(tol, 0.0) / N, 0.0, max_iter, 1, "kmeans", 0, -1,
                weights_init=P["pi"], means_init=P["mu"],
                precisions_init=np.array([np.eye(d) for _ in range(self.C)]),
                callback=callback if verbose else None,
            )
        except ValueError as e:
            if _COLLAPSED not in str(e):
                raise
            print("Singular matrix: components collapsed")
            return -1
        P["pi"], P["mu"], P["sigma"] = core.weights, core.means, core.covariances
        P["Q"] = core.predict_proba(X, -1)
        self.elbo = float(np.sum(core.score_samples(X, -1)))
        self.best_elbo, self.best_pi = self.elbo, P["pi"].copy()
        self.best_mu, self.best_sigma = P["mu"].copy(), P["sigma"].copy()
        self.is_fit = True
        return 0

    # -- evaluation -------------------------------------------------------------------------------

    def likelihood_lower_bound(self, X=None):
        """The summed evidence lower bound of X (by default the training data) under the current
        parameters, with the responsibilities of these parameters: the log-likelihood."""
        if X is None:
            if self.X is None:
                raise ValueError("likelihood_lower_bound() needs X before the model is fitted")
            X = self.X
        X = _checks.as_matrix(X, self.d)
        return float(np.sum(self._model().score_samples(X, -1)))

    def predict(self, X, soft_labels=True):
        """With ``soft_labels``, the log-density of each row under each component (without the
        mixture weights), shape (N, C); otherwise the most probable component of each row (with
        the mixture weights), shape (N,)."""
        if not self.is_fit:
            raise ValueError("the model must be fitted before predict")
        X = _checks.as_matrix(X, self.d)
        if not soft_labels:
            return self._model().predict(X, -1)
        P = self.parameters
        out = np.empty((X.shape[0], self.C))
        for c in range(self.C):
            L = np.linalg.cholesky(P["sigma"][c])
            one = _core.GaussianMixture(
                "full", np.ones(1), np.ascontiguousarray(P["mu"][c:c + 1]),
                np.ascontiguousarray(P["sigma"][c:c + 1]),
                np.ascontiguousarray(np.linalg.inv(L).T[None]),
            )
            out[:, c] = one.score_samples(X, -1)
        return out
