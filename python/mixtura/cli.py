"""The command line: ``mixtura fit FILE -k 2`` fits a mixture to a CSV file and writes the model
as JSON; ``mixtura predict MODEL FILE`` prints the most probable component of each row."""

import argparse
import csv
import sys
import time

import numpy as np

from . import __version__
from .distributions import (
    IndependentComponentsDistribution,
    MultivariateGaussianDistribution,
    NormalDistribution,
)
from .gmm import GeneralMixtureModel

_FAMILIES = {
    "gaussian": MultivariateGaussianDistribution,
    "diagonal": NormalDistribution,
}


def read_csv(path):
    """The numeric table of a CSV file, and its column names (from a header row, if any)."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = [r for r in csv.reader(f) if r and any(c.strip() for c in r)]
    if not rows:
        raise ValueError(f"{path} holds no rows")

    def numeric(row):
        try:
            [float(c) if c.strip() != "" else float("nan") for c in row]
            return True
        except ValueError:
            return False

    names = None
    if not numeric(rows[0]):
        names, rows = [c.strip() for c in rows[0]], rows[1:]
    width = len(rows[0]) if rows else 0
    for i, r in enumerate(rows):
        if len(r) != width or not numeric(r):
            raise ValueError(f"{path}: row {i + 1 + (names is not None)} is not {width} numbers")
    X = np.array([[float(c) if c.strip() != "" else np.nan for c in r] for r in rows])
    if names is None:
        names = [f"x{j}" for j in range(width)]
    return X, names


def _fmt(v):
    return np.array2string(np.asarray(v), precision=5, suppress_small=True, separator=", ")


def summary(model, X, names, seconds, n_iterations):
    """A readable description of a fitted mixture."""
    logp = model.log_probability(X)
    lines = [
        f"GeneralMixtureModel: {model.n} components over {model.d} features ({', '.join(names)})",
        f"fitted to {X.shape[0]} rows in {n_iterations} EM iterations, {seconds:.3f} s",
        f"log-likelihood: {logp.sum():.6f} (mean per row {logp.mean():.6f})",
    ]
    for j, (dist, w) in enumerate(zip(model.distributions, np.exp(model.weights))):
        lines.append(f"component {j}: weight {w:.5f}, {dist.name}")
        if dist.name == MultivariateGaussianDistribution._family:
            lines.append(f"  means: {_fmt(dist.mu)}")
            cov = _fmt(dist.cov).replace("\n", "\n" + " " * 14)
            lines.append(f"  covariance: {cov}")
        elif dist.name == IndependentComponentsDistribution._family:
            params = [c.parameters for c in dist.distributions]
            lines.append("  means: " + _fmt([p[0] for p in params]))
            lines.append("  stds:  " + _fmt([p[1] for p in params]))
        else:
            lines.append(f"  parameters: {_fmt(dist.parameters)}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="mixtura", description=__doc__)
    parser.add_argument("--version", action="version", version=f"mixtura {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    fit = sub.add_parser("fit", help="fit a mixture to a CSV file")
    fit.add_argument("file", help="CSV file of numbers, one row per sample (a header row is allowed)")
    fit.add_argument("-k", "--components", type=int, default=2, help="number of components (2)")
    fit.add_argument("--covariance", choices=sorted(_FAMILIES), default="gaussian",
                     help="'gaussian' (full covariance) or 'diagonal' (independent normals)")
    fit.add_argument("--init", default="kmeans++", choices=["kmeans++", "random", "first-k"])
    fit.add_argument("--n-init", type=int, default=1)
    fit.add_argument("--max-kmeans-iterations", type=int, default=1)
    fit.add_argument("--max-iterations", type=float, default=1e8)
    fit.add_argument("--stop-threshold", type=float, default=0.1)
    fit.add_argument("--random-state", type=int, default=None)
    fit.add_argument("--n-jobs", type=int, default=1)
    fit.add_argument("-o", "--output", default=None, help="write the model as JSON here")

    pred = sub.add_parser("predict", help="print the most probable component of each row")
    pred.add_argument("model", help="JSON model file")
    pred.add_argument("file", help="CSV file of rows")

    args = parser.parse_args(argv)
    try:
        if args.command == "fit":
            X, names = read_csv(args.file)
            start = time.perf_counter()
            model, history = GeneralMixtureModel.from_samples(
                _FAMILIES[args.covariance], args.components, X, init=args.init,
                n_init=args.n_init, max_kmeans_iterations=args.max_kmeans_iterations,
                max_iterations=args.max_iterations, stop_threshold=args.stop_threshold,
                random_state=args.random_state, n_jobs=args.n_jobs, return_history=True)
            seconds = time.perf_counter() - start
            print(summary(model, X, names, seconds, len(history.epochs)))
            if args.output:
                with open(args.output, "w", encoding="utf-8") as f:
                    f.write(model.to_json())
                print(f"model written to {args.output}")
        else:
            model = GeneralMixtureModel.from_json(args.model)
            X, _ = read_csv(args.file)
            for label in model.predict(X):
                print(int(label))
    except (ValueError, TypeError, OSError) as e:
        print(f"mixtura: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
