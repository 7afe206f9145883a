"""Wide data under a memory limit: a covariance (or its factors, statistics and work spaces)
larger than memory is a clean MemoryError or ValueError, never an abort of the interpreter.

Each case runs in a child interpreter whose address space is limited (``RLIMIT_AS``) to what it
already uses plus a margin, so nothing here allocates more than that margin (at most 1.5 GB).
The child catches the exception and prints its type; a signal (SIGABRT) fails the test.
"""

import subprocess
import sys
import textwrap

import pytest

resource = pytest.importorskip("resource")

if not sys.platform.startswith("linux"):
    pytest.skip("the address-space limit is measured in /proc", allow_module_level=True)

MB = 1 << 20

# The child: builds what it needs, limits its address space, then runs the call.
CHILD = """
import ctypes
import resource
import numpy as np
import mixtura as mx
from mixtura import GeneralMixtureModel, MultivariateGaussianDistribution as MGD


def used():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize")


# Start the thread pools before the limit (their stacks are address space too).
GeneralMixtureModel.from_samples(MGD, 2, np.random.RandomState(0).randn(50, 2))
{setup}
# Return the memory the allocator keeps from the set-up, so that the margin is what the call has.
ctypes.CDLL(None).malloc_trim(0)
limit = used() + {margin}
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
try:
    {call}
    print("ok")
except (MemoryError, ValueError) as e:
    print(type(e).__name__, e)
"""


def run_limited(setup, call, margin):
    code = CHILD.format(setup=textwrap.dedent(setup), call=call, margin=margin)
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
    # A negative code is a signal (SIGABRT from a failed allocation).
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-2000:])
    return proc.stdout.strip().splitlines()[-1]


def assert_clean_error(out, fragment="does not fit in memory"):
    kind = out.split(" ", 1)[0]
    assert kind in ("MemoryError", "MixturaError", "ValueError"), out
    if kind != "MemoryError":
        assert fragment in out, out


# d = 12000: one 12000 x 12000 matrix (1.15 GB) fits in the margin of 1.5 GB, two do not; d =
# 20000: not even one (3.2 GB).
WIDE = [(12000, 1500 * MB), (20000, 1500 * MB)]


@pytest.mark.parametrize("d,margin", WIDE)
def test_from_samples_of_wide_data_is_an_error(d, margin):
    setup = f"X = np.random.RandomState(1).randn(2, {d})"
    out = run_limited(setup, "GeneralMixtureModel.from_samples(MGD, 1, X)", margin)
    assert_clean_error(out)


@pytest.mark.parametrize("d,margin", WIDE)
def test_distribution_from_samples_of_wide_data_is_an_error(d, margin):
    setup = f"X = np.random.RandomState(1).randn(2, {d})"
    out = run_limited(setup, "MGD.from_samples(X)", margin)
    assert_clean_error(out)


@pytest.mark.parametrize("d,margin", WIDE)
def test_blank_of_a_huge_dimension_is_an_error(d, margin):
    out = run_limited("", f"MGD.blank({d})", margin)
    assert_clean_error(out)


def test_constructor_with_a_huge_identity_is_an_error():
    # The identity (1.15 GB) fits; the constructor's copy and factors do not.
    setup = "d = 12000"
    out = run_limited(setup, "MGD(np.zeros(d), np.eye(d))", 1500 * MB)
    assert_clean_error(out)


@pytest.mark.parametrize("margin", [8 * MB, 160 * MB, 180 * MB])
def test_fit_of_a_wide_model_under_a_tight_limit_is_an_error(margin):
    # A model of two 1500 x 1500 covariances (18 MB each), built before the limit: the fit's
    # plan, statistics and work spaces, and the new covariances need more than the margin (which
    # of them fails first depends on the margin). The copies of the components the model hands
    # to the engine share their matrices: they take none of it.
    setup = """
    d = 1500
    model = GeneralMixtureModel([MGD.blank(d), MGD(np.ones(d), np.eye(d))])
    X = np.random.RandomState(1).randn(4, d)
    """
    out = run_limited(setup, "model.fit(X, max_iterations=1)", margin)
    assert_clean_error(out)


@pytest.mark.parametrize("margin", [4 * MB, 8 * MB])
def test_sampling_a_wide_model_copies_none_of_its_matrices(margin):
    # Sampling draws from the components' own factors (18 MB each): the model handed to the
    # engine shares them, so a margin far below one matrix is enough.
    setup = """
    d = 1500
    model = GeneralMixtureModel([MGD.blank(d), MGD(np.ones(d), np.eye(d))])
    """
    assert run_limited(setup, "model.sample(2, random_state=0)", margin) == "ok"


MANY_ROWS = "X = np.random.RandomState(1).standard_normal((60000, 1000))"


def test_fit_of_many_rows_takes_no_copy_of_them():
    # The rows (480 MB) exist; the fit works through copies of a chunk of rows at a time, so a
    # margin of 200 MB (less than half a copy of the rows) is enough.
    assert run_limited(MANY_ROWS, "MGD.from_samples(X)", 200 * MB) == "ok"


def test_log_probability_of_many_rows_takes_no_copy_of_them():
    # The densities centre and solve a chunk of rows at a time (480 MB of rows, 200 MB margin).
    setup = MANY_ROWS + "\ng = MGD.blank(1000)"
    assert run_limited(setup, "g.log_probability(X, n_jobs=2)", 200 * MB) == "ok"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_weights_and_densities_of_a_long_column_that_do_not_fit_are_an_error(dtype):
    # 50 million values read in place (200 or 400 MB); their weights of 1 and their densities
    # (400 MB each, as float64) do not fit in a margin of 100 MB: a clean error, not an abort.
    setup = (f"X = np.zeros(50_000_000, dtype=np.{dtype})\n"
             "normal = mx.NormalDistribution(0, 1)")
    assert_clean_error(run_limited(setup, "mx.NormalDistribution.from_samples(X)", 100 * MB))
    assert_clean_error(run_limited(setup, "normal.log_probability(X)", 100 * MB))


def test_fit_of_many_rows_whose_working_space_does_not_fit_is_an_error():
    # 16 MB do not hold the working space of a 1000-feature fit (its 1000 x 1000 matrices).
    out = run_limited(MANY_ROWS, "MGD.from_samples(X)", 16 * MB)
    assert_clean_error(out)


# float32 rows: 500,000 x 16 (32 MB), under a margin smaller than the float64 copy of them would
# take beyond the rows themselves, so that a whole copy anywhere would fail.
FLOAT32_ROWS = """
from mixtura import Kmeans
n, d = 500_000, 16
rng = np.random.RandomState(0)
X = np.empty((n, d), dtype=np.float32, order="{order}")
for s in range(0, n, 100_000):
    X[s:s + 100_000] = rng.randn(min(100_000, n - s), d) + (rng.rand(1, d) > 0.5) * 3
start = GeneralMixtureModel.from_samples(MGD, 2, X[:5000].astype(np.float64), max_iterations=1,
                                         n_jobs=2)
"""


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("call", [
    "start.fit(X, max_iterations=1, n_jobs=2)",
    "start.log_probability(X, n_jobs=2); start.predict(X, n_jobs=2)",
    "Kmeans(2).fit(X, max_iterations=3, n_jobs=2)",
    # A single distribution: its densities, statistics and fits.
    "start.distributions[0].log_probability(X, n_jobs=2)",
    "g = start.distributions[0].copy(); g.summarize(X); g.from_summaries()",
    "MGD.from_samples(X)",
    "mx.IndependentComponentsDistribution.from_samples(X)",
    # A mixture from samples: each component is fitted to its cluster's rows a block at a time.
    "GeneralMixtureModel.from_samples(MGD, 2, X, max_iterations=1, n_jobs=2)",
    "GeneralMixtureModel.from_samples(mx.NormalDistribution, 2, X, max_iterations=1, n_jobs=2)",
])
def test_float32_rows_are_never_copied_whole(order, call):
    margin = 500_000 * 16 * 4 * 3 // 4
    assert run_limited(FLOAT32_ROWS.format(order=order), call, margin) == "ok"


# A long float32 column: 40,000,000 values (160 MB). k-means++ keeps 12 bytes per row (each
# row's nearest squared distance and nearest centroid) and from_samples then 8 (the k-means
# labels); without sample weights neither allocates a weight of 1 per row (8 bytes more), so
# 600 MB are enough where they took 800 MB.
LONG_COLUMN = """
from mixtura import Kmeans
n = 40_000_000
X = np.empty((n, 1), dtype=np.float32)
for s in range(0, n, 4_000_000):
    i = np.arange(s, s + 4_000_000)
    X[s:s + 4_000_000, 0] = i % 1000 * 0.01 + (i % 3) * 20
del i
GeneralMixtureModel.from_samples(mx.NormalDistribution, 3, X[:5000], max_iterations=1, n_jobs=2)
"""


@pytest.mark.parametrize("call", [
    "Kmeans(3).fit(X, max_iterations=1, n_jobs=2)",
    "GeneralMixtureModel.from_samples(mx.NormalDistribution, 3, X, max_iterations=1,"
    " max_kmeans_iterations=1, n_jobs=2)",
])
def test_kmeans_without_weights_takes_no_weight_per_row(call):
    assert run_limited(LONG_COLUMN, call, 600 * MB) == "ok"


def test_labels_that_do_not_fit_are_an_error():
    # Predicting 40,000,000 rows takes 8 bytes per row (their labels, then 4 more as numpy's
    # integers): not in 100 MB, a clean error.
    setup = LONG_COLUMN + "model = Kmeans(3).fit(X[:5000])\n"
    assert_clean_error(run_limited(setup, "model.predict(X, n_jobs=2)", 100 * MB))
