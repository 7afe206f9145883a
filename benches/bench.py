"""A first benchmark: seconds per EM iteration of mixtura and scikit-learn on the same data and
the same initial parameters, full and diagonal covariance, 1 and 2 threads.

    make bench

Seconds per iteration = (T(N iterations) - T(1 iteration)) / (N - 1), median of 3. Each library
starts from the same parameters; the final mean log-likelihoods are printed side by side so that
a row computing something else shows. (The full side-by-side suite with oneDAL and pomegranate
is still to come.)
"""

import os
import subprocess
import sys
import time

import numpy as np

CASES = {"A": (100_000, 16, 8), "D": (1_000_000, 2, 4)}
ITERATIONS = 6


def data(n, d, k, seed=0):
    rng = np.random.RandomState(seed)
    centers = rng.randn(k, d) * 4
    labels = rng.randint(k, size=n)
    return np.ascontiguousarray(centers[labels] + rng.randn(n, d)), centers


def time_mixtura(X, centers, cov_type, threads, iterations):
    from mixtura import (GeneralMixtureModel, IndependentComponentsDistribution,
                         MultivariateGaussianDistribution, NormalDistribution)

    d = X.shape[1]
    if cov_type == "full":
        dists = [MultivariateGaussianDistribution(c, np.eye(d)) for c in centers]
    else:
        dists = [IndependentComponentsDistribution([NormalDistribution(m, 1.0) for m in c])
                 for c in centers]
    model = GeneralMixtureModel(dists)
    t = time.perf_counter()
    model.fit(X, max_iterations=iterations, stop_threshold=-np.inf, n_jobs=threads)
    return time.perf_counter() - t, model.log_probability(X, n_jobs=threads).mean()


def time_sklearn(X, centers, cov_type, iterations):
    import warnings

    from sklearn.mixture import GaussianMixture

    k, d = centers.shape
    prec = np.array([np.eye(d)] * k) if cov_type == "full" else np.ones((k, d))
    gm = GaussianMixture(k, covariance_type=cov_type, weights_init=np.full(k, 1 / k),
                         means_init=centers, precisions_init=prec, reg_covar=0.0, tol=0.0,
                         max_iter=iterations, random_state=0)
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gm.fit(X)
    return time.perf_counter() - t, gm.score(X)


def one(case, lib, cov_type, threads):
    n, d, k = CASES[case]
    X, centers = data(n, d, k)
    runs = []
    for _ in range(3):
        if lib == "mixtura":
            t1, _ = time_mixtura(X, centers, cov_type, threads, 1)
            tn, ll = time_mixtura(X, centers, cov_type, threads, ITERATIONS)
        else:
            t1, _ = time_sklearn(X, centers, cov_type, 1)
            tn, ll = time_sklearn(X, centers, cov_type, ITERATIONS)
        runs.append((tn - t1) / (ITERATIONS - 1))
    print(f"{np.median(runs)} {ll}")


def main():
    if len(sys.argv) > 1:
        one(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    print(f"{'case':6}{'cov':6}{'threads':>8}{'mixtura s/it':>15}{'sklearn s/it':>15}"
          f"{'ratio':>8}{'mean loglik (mixtura / sklearn)':>40}")
    for case in CASES:
        for cov_type in ("full", "diag"):
            for threads in (1, 2):
                row = {}
                for lib in ("mixtura", "sklearn"):
                    env = dict(os.environ, OMP_NUM_THREADS=str(threads),
                               OPENBLAS_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
                    out = subprocess.run([sys.executable, __file__, case, lib, cov_type, str(threads)],
                                         capture_output=True, text=True, env=env, check=True).stdout
                    secs, ll = map(float, out.split())
                    row[lib] = (secs, ll)
                m, s = row["mixtura"], row["sklearn"]
                print(f"{case:6}{cov_type:6}{threads:>8}{m[0]:>15.4f}{s[0]:>15.4f}"
                      f"{s[0] / m[0]:>8.2f}{m[1]:>20.6f} / {s[1]:<.6f}")


if __name__ == "__main__":
    main()
