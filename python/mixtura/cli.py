"""The command line.

    mixtura fit DATA [-k 2 | --select 1..10] [--family F[,F...]] [--columns C,...] [-o model.json]
    mixtura predict MODEL DATA [--proba] [--log-proba] [--log-likelihood]
    mixtura score MODEL DATA
    mixtura sample MODEL [-n 1000]
    mixtura info MODEL
    mixtura plot MODEL DATA -o fit.png

DATA is a CSV, TSV, NPY or Parquet file (Parquet needs pyarrow), chosen by its extension. Errors
are one line on standard error naming the file (and the row and column where there is one), with
exit status 2.
"""

import argparse
import csv
import os
import re
import sys
import time

import numpy as np

from . import __version__
from .callbacks import Callback
from .distributions import (
    BernoulliDistribution,
    DiscreteDistribution,
    ExponentialDistribution,
    GammaDistribution,
    IndependentComponentsDistribution,
    LogNormalDistribution,
    MultivariateGaussianDistribution,
    NormalDistribution,
    PoissonDistribution,
    UniformDistribution,
)
from .gmm import GeneralMixtureModel

# The families of --family: one class per column, or "gaussian" for one full-covariance
# component over all the columns ("diagonal" is "normal", the name --covariance used).
_FAMILIES = {
    "normal": NormalDistribution,
    "lognormal": LogNormalDistribution,
    "exponential": ExponentialDistribution,
    "gamma": GammaDistribution,
    "poisson": PoissonDistribution,
    "uniform": UniformDistribution,
    "bernoulli": BernoulliDistribution,
    "discrete": DiscreteDistribution,
    "gaussian": MultivariateGaussianDistribution,
    "diagonal": NormalDistribution,
}

# Cells of a text file that are missing values.
_MISSING = {"", "na", "n/a", "nan", "null", "none"}


class DataError(ValueError):
    """An input that cannot be used; its message names the file, and the row and column where
    there is one."""


class Table:
    """The columns of a data file: ``columns[j]`` is a float64 array (NPY, numeric Parquet
    columns), a float32 one (a float32 NPY file, memory-mapped: ``matrix`` is then its rows) or
    an object array of text or values with None for missing cells."""

    def __init__(self, path, names, columns, first_row, row_numbers=None, matrix=None):
        self.path = path
        self.names = list(names)
        self.columns = list(columns)
        self._first_row = first_row
        self._row_numbers = row_numbers
        # The float32 rows of an NPY file as they are (read in place, a block at a time).
        self.matrix = matrix

    def __len__(self):
        return len(self.columns[0]) if self.columns else 0

    def row(self, i):
        """The row of the file that holds data row ``i`` (1-based, as an editor counts lines of a
        text file, the header included)."""
        if self._row_numbers is not None:
            return self._row_numbers[i]
        return self._first_row + i

    def where(self, i, j):
        return f"{self.path}: row {self.row(i)}, column {self.names[j]!r}"

    def select(self, spec):
        """The table restricted to the columns of ``--columns`` (names, or 1-based positions)."""
        if spec is None:
            return self
        chosen = []
        for token in (t.strip() for t in spec.split(",")):
            if token in self.names:
                chosen.append(self.names.index(token))
            elif token.isdigit() and 1 <= int(token) <= len(self.names):
                chosen.append(int(token) - 1)
            else:
                raise DataError(f"{self.path}: no column {token!r} (columns: {', '.join(self.names)})")
        whole = chosen == list(range(len(self.names)))
        return Table(self.path, [self.names[j] for j in chosen], [self.columns[j] for j in chosen],
                     self._first_row, self._row_numbers,
                     matrix=self.matrix if whole else None)

    def is_numeric(self, j):
        col = self.columns[j]
        if col.dtype != object:
            return True
        try:
            self.numbers(j)
            return True
        except DataError:
            return False

    def is_text(self, j):
        """Whether column ``j`` holds no number at all (only words, or missing cells)."""
        col = self.columns[j]
        if col.dtype != object:
            return False
        for v in col:
            if v is None:
                continue
            try:
                float(v)
                return False
            except (TypeError, ValueError):
                pass
        return True

    def numbers(self, j):
        """Column ``j`` as float64 (missing cells NaN); a DataError names the first cell that is
        not a number."""
        col = self.columns[j]
        if col.dtype != object:
            return np.asarray(col, dtype=np.float64)
        try:
            return np.array(["nan" if v is None else v for v in col], dtype=np.float64)
        except (TypeError, ValueError):
            pass
        out = np.empty(len(col))
        for i, v in enumerate(col):
            try:
                out[i] = np.nan if v is None else float(v)
            except (TypeError, ValueError):
                raise DataError(f"{self.where(i, j)}: {v!r} is not a number") from None
        return out

    def symbols(self, j):
        """Column ``j`` as an object array of symbols (None for missing cells)."""
        col = self.columns[j]
        if col.dtype != object:
            return np.array([None if v != v else v for v in col.tolist()], dtype=object)
        return col


def read_table(path):
    """The columns of a CSV, TSV, NPY or Parquet file (by its extension; other names are read as
    CSV, or as TSV when the first line has tabs and no commas)."""
    ext = os.path.splitext(str(path))[1].lower()
    if ext == ".npy":
        return _read_npy(path)
    if ext in (".parquet", ".pq"):
        return _read_parquet(path)
    return _read_text_table(path, ext)


def _read_npy(path):
    try:
        # Memory-mapped: a float32 file stays float32 and is read where it is.
        X = np.load(path, allow_pickle=False, mmap_mode="r")
    except ValueError as e:
        raise DataError(f"{path}: not a numeric NPY array ({e})") from None
    if X.ndim == 1:
        X = X.reshape(-1, 1)
    if X.ndim != 2 or X.dtype.kind not in "biuf":
        raise DataError(f"{path}: an NPY file must hold a 1-D or 2-D array of numbers, got "
                        f"{X.ndim}-D {X.dtype}")
    if X.shape[0] == 0:
        raise DataError(f"{path} holds no rows")
    matrix = None
    if X.dtype == np.float32:
        matrix = X
    else:
        X = X.astype(np.float64)
    return Table(path, [f"x{j}" for j in range(X.shape[1])], [X[:, j] for j in range(X.shape[1])], 1,
                 matrix=matrix)


def _read_parquet(path):
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError(f"{path}: reading Parquet files needs pyarrow (pip install pyarrow)") from None
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as e:
        raise DataError(f"{path}: not a readable Parquet file ({e})") from None
    if table.num_rows == 0:
        raise DataError(f"{path} holds no rows")
    columns = []
    for col in table.columns:
        t = col.type
        if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t):
            columns.append(col.cast(pa.float64()).to_numpy())
        else:
            if pa.types.is_dictionary(t):
                col = col.cast(t.value_type)
            columns.append(np.array(col.to_pylist(), dtype=object))
    return Table(path, [str(n) for n in table.column_names], columns, 1)


def _read_text_table(path, ext):
    try:
        with open(path, newline="", encoding="utf-8") as f:
            text = f.read()
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a UTF-8 text file") from None
    first = text.split("\n", 1)[0]
    if ext in (".tsv", ".tab") or (ext not in (".csv", ".txt") and "\t" in first and "," not in first):
        delimiter = "\t"
    else:
        delimiter = ","
    reader = csv.reader(text.splitlines(), delimiter=delimiter)
    rows, lines = [], []
    for r in reader:
        if r and any(c.strip() for c in r):
            rows.append([c.strip() for c in r])
            lines.append(reader.line_num)
    if not rows:
        raise DataError(f"{path} holds no rows")

    def number(c):
        if c.lower() in _MISSING:
            return True
        try:
            float(c)
            return True
        except ValueError:
            return False

    # A first row that is not all numbers (or missing) is the header.
    names = None
    if not all(number(c) for c in rows[0]):
        names, rows, lines = rows[0], rows[1:], lines[1:]
        if not rows:
            raise DataError(f"{path} holds a header row and no data")
    width = len(rows[0]) if names is None else len(names)
    for r, line in zip(rows, lines):
        if len(r) != width:
            raise DataError(f"{path}: row {line} has {len(r)} fields, expected {width}")
    if names is None:
        names = [f"x{j}" for j in range(width)]
    columns = []
    for j in range(width):
        col = np.empty(len(rows), dtype=object)
        col[:] = [None if r[j].lower() in _MISSING else r[j] for r in rows]
        columns.append(col)
    return Table(path, names, columns, lines[0], lines)


def read_csv(path):
    """The numeric table of a CSV file, and its column names (from a header row, if any)."""
    table = read_table(path)
    return _numeric_matrix(table), table.names


def _numeric_matrix(table):
    if table.matrix is not None:
        return table.matrix
    return np.column_stack([table.numbers(j) for j in range(len(table.names))])


# -- families and data for a model ------------------------------------------------------------------
def _families(spec, table):
    """The class of each column from ``--family`` (one name for every column, or one per
    column); without it, full-covariance Gaussians when every column is numeric, else normal
    distributions for numeric columns and discrete ones for the others. Returns the
    ``from_samples`` argument and the per-column classes."""
    d = len(table.names)
    if spec is None:
        if all(table.is_numeric(j) for j in range(d)):
            return MultivariateGaussianDistribution, [MultivariateGaussianDistribution] * d
        classes: list = []
        for j in range(d):
            if table.is_numeric(j):
                classes.append(NormalDistribution)
            elif table.is_text(j):
                classes.append(DiscreteDistribution)
            else:
                # Numbers with a few words among them: most likely a mistake in the file.
                table.numbers(j)
        return classes, classes
    names = [s.strip().lower() for s in spec.split(",")]
    for name in names:
        if name not in _FAMILIES:
            raise DataError(f"--family: unknown family {name!r} (one of {', '.join(_FAMILIES)})")
    if "gaussian" in names:
        if len(names) != 1:
            raise DataError("--family: gaussian is one full-covariance component over all the "
                            "columns and cannot be mixed with per-column families")
        return MultivariateGaussianDistribution, [MultivariateGaussianDistribution] * d
    if len(names) == 1:
        names = names * d
    if len(names) != d:
        raise DataError(f"--family: {len(names)} families for {d} columns ({', '.join(table.names)})")
    classes = [_FAMILIES[n] for n in names]
    return (classes if d > 1 or len(set(classes)) > 1 else classes[0]), classes


def _data(table, discrete, keys=None):
    """The rows for a model: a float matrix, or an object matrix when some columns are discrete
    (``keys[j]`` maps the text of a symbol to the model's symbol, for files written by other
    programs whose symbols are numbers)."""
    if not any(discrete):
        return _numeric_matrix(table)
    out = np.empty((len(table), len(table.names)), dtype=object)
    for j in range(len(table.names)):
        if discrete[j]:
            col = table.symbols(j)
            if keys is not None and keys[j] is not None:
                lookup = {str(k): k for k in keys[j]}
                col = np.array([v if v is None else lookup.get(str(v), v) for v in col], dtype=object)
            out[:, j] = col
        else:
            out[:, j] = table.numbers(j)
    return out


def _model_data(model, table):
    """The rows of ``table`` for a fitted model (its discrete columns read as symbols)."""
    if len(table.names) != model.d:
        raise DataError(f"{table.path}: {len(table.names)} columns ({', '.join(table.names)}), "
                        f"but the model has {model.d} features; choose them with --columns")
    columns = model._columns()
    return _data(table, [c is not None for c in columns], columns)


def _read_model(path):
    from . import from_json

    try:
        return from_json(str(path))
    except (ValueError, TypeError, OSError) as e:
        raise DataError(f"{path}: {e}") from None


def _read_mixture(path):
    model = _read_model(path)
    if not isinstance(model, GeneralMixtureModel):
        raise DataError(f"{path}: a {type(model).__name__}, not a GeneralMixtureModel")
    return model


# -- output ------------------------------------------------------------------------------------------
def _fmt(v):
    return np.array2string(np.asarray(v), precision=5, suppress_small=True, separator=", ")


def _number(v):
    return repr(float(v))


def describe(model, names=None):
    """The lines of a readable description of any model: a mixture, a distribution or k-means."""
    from .kmeans import Kmeans

    if isinstance(model, Kmeans):
        lines = [f"Kmeans: {model.k} centroids over {model.d} features"]
        for j, c in enumerate(np.asarray(model.centroids)):
            lines.append(f"centroid {j}: {_fmt(c)}")
        return lines
    if not isinstance(model, GeneralMixtureModel):
        return [f"{type(model).__name__}", *_describe_distribution(model, "")]
    names = names or [f"x{j}" for j in range(model.d)]
    lines = [f"GeneralMixtureModel: {model.n} components over {model.d} features ({', '.join(names)})"]
    for j, (dist, w) in enumerate(zip(model.distributions, np.exp(model.weights))):
        lines.append(f"component {j}: weight {w:.5f}, {dist.name}")
        lines.extend(_describe_distribution(dist, "  ", names))
    return lines


def _describe_distribution(dist, indent, names=None):
    if dist.name == MultivariateGaussianDistribution.__name__:
        cov = _fmt(dist.cov).replace("\n", "\n" + indent + " " * 12)
        return [f"{indent}means: {_fmt(dist.mu)}", f"{indent}covariance: {cov}"]
    if dist.name == IndependentComponentsDistribution.__name__:
        children = list(dist.distributions)
        if all(c.name == NormalDistribution.__name__ for c in children):
            params = [c.parameters for c in children]
            return [f"{indent}means: {_fmt([p[0] for p in params])}",
                    f"{indent}stds:  {_fmt([p[1] for p in params])}"]
        names = names or [f"x{j}" for j in range(len(children))]
        return [f"{indent}{names[j] if j < len(names) else j}: {c.name} {_parameters(c)}"
                for j, c in enumerate(children)]
    return [f"{indent}parameters: {_parameters(dist)}"]


def _parameters(dist):
    if dist.name == DiscreteDistribution.__name__:
        return "{" + ", ".join(f"{k!r}: {p:.5g}" for k, p in dist.items()) + "}"
    try:
        return _fmt(dist.parameters)
    except (ValueError, TypeError):
        return str(dist.parameters)


class _Progress(Callback):
    """One line per EM iteration on standard error: iteration, log-likelihood, improvement and
    the time it took."""

    def on_epoch_end(self, logs):
        print(f"iteration {logs['epoch']}: log-likelihood {logs['log_probability']:.6f}, "
              f"improvement {logs['improvement']:.6g}, {logs['duration']:.3f} s",
              file=sys.stderr, flush=True)


def _progress_callbacks():
    """The progress printer, when standard error is a terminal; nothing otherwise."""
    try:
        tty = sys.stderr.isatty()
    except (AttributeError, ValueError):
        tty = False
    return [_Progress()] if tty else []


def _write_csv(rows, header, out):
    writer = csv.writer(out, lineterminator="\n")
    if header is not None:
        writer.writerow(header)
    writer.writerows(rows)


def _parse_range(spec):
    m = re.fullmatch(r"\s*(\d+)\s*(?:\.\.\s*(\d+)\s*)?", spec)
    if not m:
        raise DataError(f"--select: expected a range such as 1..10, got {spec!r}")
    lo, hi = (int(m.group(1)), int(m.group(2))) if m.group(2) else (1, int(m.group(1)))
    if lo < 1 or hi < lo:
        raise DataError(f"--select: the range {spec!r} must go up from at least 1")
    return lo, hi


# -- commands ----------------------------------------------------------------------------------------
def _fit(args):
    table = read_table(args.file).select(args.columns)
    spec = args.family
    if spec is None and args.covariance is not None:
        spec = args.covariance
    distributions, classes = _families(spec, table)
    discrete = [c is DiscreteDistribution for c in classes]
    X = _data(table, discrete)
    options = dict(init=args.init, n_init=args.n_init,
                   max_kmeans_iterations=args.max_kmeans_iterations,
                   max_iterations=args.max_iterations, stop_threshold=args.stop_threshold,
                   random_state=args.random_state, n_jobs=args.n_jobs)
    start = time.perf_counter()
    try:
        if args.select is not None:
            lo, hi = _parse_range(args.select)
            model, rows = GeneralMixtureModel.select_n_components(
                distributions, X, hi, criterion=args.criterion, min_components=lo, **options)
            print(f"{'k':>3} {'log-likelihood':>16} {'parameters':>10} {'BIC':>14} {'AIC':>14}")
            for r in rows:
                mark = "  <- best" if r["n_components"] == model.n else ""
                print(f"{r['n_components']:>3} {r['log_likelihood']:>16.6f} {r['n_parameters']:>10} "
                      f"{r['bic']:>14.6f} {r['aic']:>14.6f}{mark}")
            n_iterations = None
        else:
            model, history = GeneralMixtureModel.from_samples(
                distributions, args.components, X, return_history=True,
                callbacks=_progress_callbacks(), **options)
            n_iterations = len(history.epochs)
    except (ValueError, TypeError) as e:
        raise DataError(f"{table.path}: {_name_columns(str(e), table.names)}") from None
    seconds = time.perf_counter() - start
    print(summary(model, X, table.names, seconds, n_iterations))
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(model.to_json())
        print(f"model written to {args.output}")


def summary(model, X, names, seconds, n_iterations):
    """A readable description of a fitted mixture."""
    logp = model.log_probability(X)
    how = "" if n_iterations is None else f" in {n_iterations} EM iterations"
    lines = describe(model, names)
    lines[1:1] = [
        f"fitted to {X.shape[0]} rows{how}, {seconds:.3f} s",
        f"log-likelihood: {logp.sum():.6f} (mean per row {logp.mean():.6f})",
    ]
    return "\n".join(lines)


def _name_columns(message, names):
    """A message about "X column j" with the column's name instead."""
    return re.sub(r"X column (\d+)",
                  lambda m: f"column {names[int(m.group(1))]!r}" if int(m.group(1)) < len(names)
                  else m.group(0), message)


def _predict(args):
    model = _read_mixture(args.model)
    table = read_table(args.file).select(args.columns)
    X = _model_data(model, table)
    try:
        labels = model.predict(X)
        if not (args.proba or args.log_proba or args.log_likelihood):
            for label in labels:
                print(int(label))
            return
        header, parts = ["component"], [labels.reshape(-1, 1).astype(object)]
        if args.proba:
            header += [f"p{j}" for j in range(model.n)]
            parts.append(model.predict_proba(X))
        if args.log_proba:
            header += [f"log_p{j}" for j in range(model.n)]
            parts.append(model.predict_log_proba(X))
        if args.log_likelihood:
            header += ["log_likelihood"]
            parts.append(model.log_probability(X).reshape(-1, 1))
    except (ValueError, TypeError) as e:
        raise DataError(f"{table.path}: {_name_columns(str(e), table.names)}") from None
    rows = ([str(int(r[0]))] + [_number(v) for v in r[1:]]
            for r in np.concatenate([p.astype(object) for p in parts], axis=1))
    _write_csv(rows, header, sys.stdout)


def _score(args):
    model = _read_mixture(args.model)
    table = read_table(args.file).select(args.columns)
    X = _model_data(model, table)
    try:
        logp = model.log_probability(X)
        bic, aic = model.bic(X), model.aic(X)
    except (ValueError, TypeError) as e:
        raise DataError(f"{table.path}: {_name_columns(str(e), table.names)}") from None
    print(f"rows: {len(logp)}")
    print(f"log-likelihood: {logp.sum():.6f} (mean per row {logp.mean():.6f})")
    print(f"BIC: {bic:.6f}")
    print(f"AIC: {aic:.6f}")


def _sample(args):
    model = _read_mixture(args.model)
    X = model.sample(max(args.n, 2), random_state=args.random_state)
    # Discrete columns come as their symbols.
    X = np.asarray(X, dtype=object).reshape(-1, model.d)[: args.n]
    out = open(args.output, "w", newline="", encoding="utf-8") if args.output else sys.stdout
    try:
        rows = ([_number(v) if isinstance(v, (float, np.floating)) else str(v) for v in r] for r in X)
        _write_csv(rows, [f"x{j}" for j in range(model.d)], out)
    finally:
        if out is not sys.stdout:
            out.close()


def _info(args):
    model = _read_model(args.model)
    print("\n".join(describe(model)))


def _plot(args):
    from . import plot

    model = _read_mixture(args.model)
    table = read_table(args.file).select(args.columns)
    X = _model_data(model, table)
    try:
        plot.save_fit(model, X, args.output, names=table.names)
    except (ValueError, TypeError) as e:
        raise DataError(f"{table.path}: {_name_columns(str(e), table.names)}") from None
    print(f"picture written to {args.output}")


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors as one line and exit status 2."""

    def error(self, message):
        print(f"mixtura: error: {message} (see mixtura --help)", file=sys.stderr)
        sys.exit(2)


def _parser():
    parser = _Parser(prog="mixtura", description=__doc__,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"mixtura {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def data(p):
        p.add_argument("file", help="CSV, TSV, NPY or Parquet file, one row per sample (a CSV "
                                    "or TSV file may start with a header row)")
        p.add_argument("--columns", default=None,
                       help="the columns to use, by name or 1-based position, e.g. a,c or 1,3")

    fit = sub.add_parser("fit", help="fit a mixture to a data file")
    data(fit)
    fit.add_argument("-k", "--components", type=int, default=2, help="number of components (2)")
    fit.add_argument("--select", default=None, metavar="LO..HI",
                     help="fit each number of components in LO..HI and keep the best (see "
                          "--criterion), printing the table")
    fit.add_argument("--criterion", choices=["bic", "aic"], default="bic")
    fit.add_argument("--family", default=None,
                     help="the family of every column, or a comma-separated family per column: "
                          + ", ".join(n for n in _FAMILIES if n != "diagonal")
                          + " ('gaussian': one full-covariance component over the columns; "
                            "default: gaussian for numeric data, else normal for numeric columns "
                            "and discrete for columns of words)")
    fit.add_argument("--covariance", choices=["gaussian", "diagonal"], default=None,
                     help="'gaussian' (full covariance) or 'diagonal' (independent normals)")
    fit.add_argument("--init", default="kmeans++", choices=["kmeans++", "random", "first-k", "kmeans||"])
    fit.add_argument("--n-init", type=int, default=1)
    fit.add_argument("--max-kmeans-iterations", type=int, default=1)
    fit.add_argument("--max-iterations", type=float, default=1e8)
    fit.add_argument("--stop-threshold", type=float, default=0.1)
    fit.add_argument("--random-state", type=int, default=None)
    fit.add_argument("--n-jobs", type=int, default=1)
    fit.add_argument("-o", "--output", default=None, help="write the model as JSON here")

    pred = sub.add_parser("predict", help="print the most probable component of each row, or "
                                          "probabilities and log-likelihoods as CSV")
    pred.add_argument("model", help="JSON model file")
    data(pred)
    pred.add_argument("--proba", action="store_true", help="the posterior probability of each component")
    pred.add_argument("--log-proba", action="store_true", help="their natural logarithms")
    pred.add_argument("--log-likelihood", action="store_true", help="the log-density of each row")

    score = sub.add_parser("score", help="the log-likelihood, BIC and AIC of a model on a data file")
    score.add_argument("model", help="JSON model file")
    data(score)

    sample = sub.add_parser("sample", help="draw rows from a model, as CSV")
    sample.add_argument("model", help="JSON model file")
    sample.add_argument("-n", type=int, default=1000, help="number of rows (1000)")
    sample.add_argument("--random-state", type=int, default=None)
    sample.add_argument("-o", "--output", default=None, help="write the CSV here (default: standard output)")

    info = sub.add_parser("info", help="a readable summary of a model file (mixtura's or pomegranate's)")
    info.add_argument("model", help="JSON model file")

    plot = sub.add_parser("plot", help="draw a fitted mixture over its data (needs matplotlib)")
    plot.add_argument("model", help="JSON model file")
    data(plot)
    plot.add_argument("-o", "--output", default="fit.png", help="the picture file (fit.png)")
    return parser


_COMMANDS = {"fit": _fit, "predict": _predict, "score": _score, "sample": _sample,
             "info": _info, "plot": _plot}


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        if getattr(args, "n", 0) < 0:
            raise DataError("-n must be at least 0")
        _COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print("mixtura: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of standard output went away (mixtura ... | head): not an error.
        sys.stderr.close()
        return 0
    except Exception as e:  # noqa: BLE001 - every error is one line, never a traceback
        message = " ".join(str(e).split()) or type(e).__name__
        print(f"mixtura: error: {message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
