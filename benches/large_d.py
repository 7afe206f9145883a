"""Large dimensions: a MultivariateGaussianDistribution's construction, the log-probability of
5,000 rows, from_samples of 10,000 rows and of 2 rows at d = 500 and 1500, side by side with numpy/scipy
doing the same linear algebra on the same matrices (numpy's LAPACK/BLAS).

    .venv/bin/python benches/large_d.py [--dims 500,1500] [--repeats 3] [--threads 2]

The peer of each mixtura call:
- construction: numpy's Cholesky factor of the covariance;
- log_probability: scipy.stats.multivariate_normal.logpdf (a Cholesky factor and a triangular
  solve of the rows);
- from_samples: numpy's weighted mean and covariance (np.cov) and its Cholesky factor;
- from_samples of 2 rows (a covariance of rank one, repaired as pomegranate 0.14 does: its
  smallest eigenvalue lifted to 1e-8): np.cov, numpy's eigvalsh and the Cholesky factor of the
  repaired matrix.
Times are the best of the repeats, in seconds, with OMP/OPENBLAS/MKL threads and n_jobs set to
--threads. Every mixtura result is checked against its peer's (1e-8 relative).
"""

import argparse
import os
import sys
import time


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dims", default="500,1500")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "RAYON_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import numpy as np
    import scipy.stats

    import mixtura
    from mixtura import MultivariateGaussianDistribution as MGD

    def best(f):
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            out = f()
            times.append(time.perf_counter() - start)
        return min(times), out

    rows = []
    for d in (int(v) for v in args.dims.split(",")):
        rng = np.random.RandomState(0)
        a = rng.randn(d, d) / np.sqrt(d)
        cov = a @ a.T + np.eye(d)
        mu = rng.randn(d)
        X = rng.randn(5000, d) @ np.linalg.cholesky(cov).T + mu
        Y = rng.randn(10_000, d) * rng.uniform(0.5, 2.0, size=d) + rng.randn(d)

        t_m, dist = best(lambda: MGD(mu, cov))
        t_n, _ = best(lambda: np.linalg.cholesky(cov))
        rows.append((f"construction, d = {d}", t_m, t_n))

        t_m, lp = best(lambda: dist.log_probability(X, n_jobs=args.threads))
        t_n, ref = best(lambda: scipy.stats.multivariate_normal.logpdf(X, mu, cov))
        np.testing.assert_allclose(lp, ref, rtol=1e-8)
        rows.append((f"log_probability of 5,000 rows, d = {d}", t_m, t_n))

        t_m, fitted = best(lambda: MGD.from_samples(Y))
        t_n, _ = best(lambda: np.linalg.cholesky(np.cov(Y.T, bias=True)))
        np.testing.assert_allclose(fitted.parameters[1], np.cov(Y.T, bias=True), rtol=1e-8,
                                   atol=1e-12)
        rows.append((f"from_samples of 10,000 rows, d = {d}", t_m, t_n))

        def repaired(Z):
            c = np.cov(Z.T, bias=True)
            c[np.diag_indices(len(c))] -= np.linalg.eigvalsh(c)[0] - 1e-8
            np.linalg.cholesky(c)
            return c

        t_m, fitted = best(lambda: MGD.from_samples(Y[:2]))
        t_n, ref = best(lambda: repaired(Y[:2]))
        np.testing.assert_allclose(fitted.parameters[1], ref, rtol=1e-8,
                                   atol=1e-12 * np.abs(ref).max())
        rows.append((f"from_samples of 2 rows (repair), d = {d}", t_m, t_n))

    print(f"mixtura {mixtura.__version__}, numpy {np.__version__}, {args.threads} thread(s), "
          f"best of {args.repeats}")
    print(f"{'':42} {'mixtura':>10} {'numpy':>10} {'ratio':>7}")
    for name, t_m, t_n in rows:
        print(f"{name:42} {t_m:10.4f} {t_n:10.4f} {t_m / t_n:7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
