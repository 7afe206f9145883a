"""Every kernel path gives the same bits: fits and predictions run in fresh interpreters with
MIXTURA_KERNEL forcing the portable, AVX2 and AVX-512 paths (each capped at what this processor
has), and their model documents and prediction bytes are compared."""

import os
import subprocess
import sys

PATHS = ("portable", "avx2", "avx512")

# Fits that take each E-step path: full covariance in at most 4 features (the small-dimension
# tiles) and more (the transposed blocks), diagonal Gaussians below and from 8 features (the
# transposed and the row-major kernels), univariate normals, blocks with missing values, sample
# weights, the k-means initialisations that use the distance kernels, and GaussianMixture's four
# covariance types (tied and spherical on the full and diagonal kernels); a distribution's own
# statistics; the dense linear algebra of many features; and float32 rows (the float32 kernels
# of full covariance and of diagonal Gaussians, in 16 and 40 features: on AVX-512, vectors of
# sixteen lanes, whole and with eight after).
SCRIPT = r"""
import hashlib, sys, warnings
import numpy as np
from mixtura import _core
from mixtura import (GeneralMixtureModel as G, MultivariateGaussianDistribution as MGD,
                     NormalDistribution as N, Kmeans, GaussianMixture)

np.random.seed(0)
rng = np.random.RandomState(0)
digest = hashlib.sha256()
for d in (1, 3, 6, 9):
    X = np.concatenate([rng.randn(700, d) * 0.7 + 2, rng.randn(700, d) - 1,
                        rng.randn(700, d) * 1.5 + 0.3 * np.arange(d)])
    w = rng.uniform(0.1, 2.0, len(X))
    Xn = X.copy()
    Xn[rng.rand(*X.shape) < 0.01] = np.nan
    models = [
        (G.from_samples(MGD, 3, X, init="kmeans++", random_state=1, n_jobs=2, max_iterations=8), X),
        (G.from_samples(MGD, 3, Xn, weights=w, init="kmeans||", random_state=2, max_iterations=5), Xn),
        (G.from_samples(N if d == 1 else [N] * d, 3, X, random_state=3, max_iterations=8), X),
    ]
    for m, data in models:
        digest.update(m.to_json().encode())
        for values in (m.log_probability(data), m.predict_proba(data), m.predict(data)):
            digest.update(np.ascontiguousarray(values, dtype=float).tobytes())
    for t in ("full", "tied", "diag", "spherical"):
        gm = GaussianMixture(3, covariance_type=t, max_iter=6, tol=0, random_state=4, n_jobs=2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gm.fit(X)
        for values in (gm.weights_, gm.means_, gm.covariances_, gm.lower_bounds_,
                       gm.predict_proba(X), gm.score_samples(X)):
            digest.update(np.ascontiguousarray(values, dtype=float).tobytes())
    km = Kmeans(3, init="kmeans++")
    km.fit(X)
    digest.update(np.ascontiguousarray(km.centroids).tobytes())
    # A distribution's own statistics (the matrix products of few and of many entries).
    for data, weights in ((X, None), (X, w), (Xn, w)):
        digest.update(MGD.from_samples(data, weights=weights).to_json().encode())
# Many features: the matrix products of the covariance sums, the recursive Cholesky factor and
# triangular inverse, and the repair's reduction to tridiagonal form.
Xw = rng.randn(500, 230) * rng.uniform(0.5, 2.0, 230) + rng.randn(230)
wide = MGD.from_samples(Xw)
digest.update(wide.to_json().encode())
digest.update(np.ascontiguousarray(wide.log_probability(Xw)).tobytes())
digest.update(MGD.from_samples(Xw[:2]).to_json().encode())
digest.update(G.from_samples(MGD, 2, Xw, random_state=5, max_iterations=3).to_json().encode())
for d in (16, 40):
    centres = rng.randn(3, d) * 2
    X32 = (rng.randn(1500, d) * rng.uniform(0.5, 2.0, d) + centres[rng.randint(0, 3, 1500)])
    X32 = X32.astype(np.float32)
    for dist in (MGD, [N] * d):
        m = G.from_samples(dist, 3, X32, init="first-k", n_jobs=2, max_iterations=5)
        digest.update(m.to_json().encode())
        digest.update(np.ascontiguousarray(m.log_probability(X32)).tobytes())
print(_core.kernel_paths()[0], digest.hexdigest())
"""

RANK = {path: i for i, path in enumerate(PATHS)}


def run_on(path):
    """The kernel path taken with MIXTURA_KERNEL=path, and the digest of the fits."""
    env = dict(os.environ, MIXTURA_KERNEL=path)
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr
    taken, digest = out.stdout.split()
    return taken, digest


def test_every_kernel_path_gives_the_same_bits():
    from mixtura import _core

    cpu = _core.kernel_paths()[1]
    runs = {path: run_on(path) for path in PATHS}
    for path, (taken, _) in runs.items():
        # The path asked for, capped at what this processor has.
        assert taken == PATHS[min(RANK[path], RANK[cpu])], (path, taken, cpu)
    assert len({digest for _, digest in runs.values()}) == 1, runs


def test_an_unknown_kernel_path_means_the_processors_best():
    from mixtura import _core

    env = dict(os.environ, MIXTURA_KERNEL="no-such-path")
    out = subprocess.run([sys.executable, "-c", "from mixtura import _core; print(*_core.kernel_paths())"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    taken, cpu = out.stdout.split()
    assert taken == cpu == _core.kernel_paths()[1]
