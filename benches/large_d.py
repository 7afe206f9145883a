"""Large dimensions: a MultivariateGaussianDistribution's construction, the log-probability of
5,000 rows, from_samples of 10,000 rows and of 2 rows at d = 500 and 1500, side by side with numpy/scipy
doing the same linear algebra on the same matrices (numpy's LAPACK/BLAS).

    .venv/bin/python benches/large_d.py [--dims 500,1500] [--repeats 5] [--threads 2]

The peer of each mixtura call:
- construction: numpy's Cholesky factor of the covariance;
- log_probability: scipy.stats.multivariate_normal.logpdf (a Cholesky factor and a triangular
  solve of the rows);
- from_samples: numpy's weighted mean and covariance (np.cov) and its Cholesky factor;
- from_samples of 2 rows (a covariance of rank one, repaired as pomegranate 0.14 does: its
  smallest eigenvalue lifted to 1e-8): np.cov, numpy's eigvalsh and the Cholesky factor of the
  repaired matrix.
Times are the best of the repeats, in seconds, with OMP/OPENBLAS/MKL threads and n_jobs set to
--threads; the repeats of a mixtura call and of its peer alternate (which goes first alternates
too), each after a rest, so that both meet the same moments of a machine whose speed drifts.
Every mixtura result is checked against its peer's (1e-8 relative).
"""

import argparse
import os
import sys
import time


# Seconds of rest before each timed call: OpenBLAS's threads spin for a while after a call
# (blas_thread_server), and on a machine of few cores would otherwise take the cores from the
# call that follows, whichever library makes it.
PAUSE = 0.3


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dims", default="500,1500")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--append-to", metavar="PATH",
                   help="also append the table to this Markdown file (make bench: RESULTS.md)")
    args = p.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "RAYON_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import numpy as np
    import scipy.stats

    import mixtura
    from mixtura import MultivariateGaussianDistribution as MGD

    def side_by_side(f, g):
        """The best times of f and of g, run in turn (f first in even repeats, g first in odd
        ones), and their last results."""
        times = ([], [])
        for r in range(args.repeats):
            outs = [None, None]
            for i in ((0, 1) if r % 2 == 0 else (1, 0)):
                time.sleep(PAUSE)
                start = time.perf_counter()
                outs[i] = (f, g)[i]()
                times[i].append(time.perf_counter() - start)
        return min(times[0]), outs[0], min(times[1]), outs[1]

    rows = []
    for d in (int(v) for v in args.dims.split(",")):
        rng = np.random.RandomState(0)
        a = rng.randn(d, d) / np.sqrt(d)
        cov = a @ a.T + np.eye(d)
        mu = rng.randn(d)
        X = rng.randn(5000, d) @ np.linalg.cholesky(cov).T + mu
        Y = rng.randn(10_000, d) * rng.uniform(0.5, 2.0, size=d) + rng.randn(d)

        t_m, dist, t_n, _ = side_by_side(lambda: MGD(mu, cov), lambda: np.linalg.cholesky(cov))
        rows.append((f"construction, d = {d}", t_m, t_n))

        t_m, lp, t_n, ref = side_by_side(
            lambda: dist.log_probability(X, n_jobs=args.threads),
            lambda: scipy.stats.multivariate_normal.logpdf(X, mu, cov))
        np.testing.assert_allclose(lp, ref, rtol=1e-8)
        rows.append((f"log_probability of 5,000 rows, d = {d}", t_m, t_n))

        t_m, fitted, t_n, _ = side_by_side(
            lambda: MGD.from_samples(Y), lambda: np.linalg.cholesky(np.cov(Y.T, bias=True)))
        np.testing.assert_allclose(fitted.parameters[1], np.cov(Y.T, bias=True), rtol=1e-8,
                                   atol=1e-12)
        rows.append((f"from_samples of 10,000 rows, d = {d}", t_m, t_n))

        def repaired(Z):
            c = np.cov(Z.T, bias=True)
            c[np.diag_indices(len(c))] -= np.linalg.eigvalsh(c)[0] - 1e-8
            np.linalg.cholesky(c)
            return c

        t_m, fitted, t_n, ref = side_by_side(lambda: MGD.from_samples(Y[:2]),
                                             lambda: repaired(Y[:2]))
        np.testing.assert_allclose(fitted.parameters[1], ref, rtol=1e-8,
                                   atol=1e-12 * np.abs(ref).max())
        rows.append((f"from_samples of 2 rows (repair), d = {d}", t_m, t_n))

    header = (f"mixtura {mixtura.__version__}, numpy {np.__version__}, {args.threads} "
              f"thread(s), best of {args.repeats}")
    print(header)
    print(f"{'':42} {'mixtura':>10} {'numpy':>10} {'ratio':>7}")
    for name, t_m, t_n in rows:
        print(f"{name:42} {t_m:10.4f} {t_n:10.4f} {t_m / t_n:7.2f}")
    if args.append_to:
        lines = ["", "## Large dimensions against numpy (benches/large_d.py)", "",
                 f"{header}; seconds; the ratio is mixtura's time over numpy's (at most 1: "
                 "mixtura no slower). The two calls alternate, each after a rest of "
                 f"{PAUSE} s (see the script).", "",
                 "| call | mixtura | numpy | ratio |", "|---|---|---|---|"]
        lines += [f"| {name} | {t_m:.4f} | {t_n:.4f} | {t_m / t_n:.2f} |"
                  for name, t_m, t_n in rows]
        with open(args.append_to, "a") as f:
            f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
