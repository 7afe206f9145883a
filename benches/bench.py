"""mixtura's benchmark suite: EM for Gaussian mixtures against scikit-learn, oneDAL (daal4py) and
pomegranate 0.14.8, k-means++ seeding against scikit-learn, predict_proba / log_probability
throughput against scikit-learn, and mixtura.GaussianMixture against scikit-learn's
GaussianMixture for the four covariance types.

    make bench                              # installs the peers, runs everything (about 35-45
                                            # minutes on 2 cores, of which the d768 case about
                                            # 15) and writes benches/RESULTS.md
    .venv/bin/python benches/bench.py --quick --cases A,D --libs mixtura,sklearn
    .venv/bin/python benches/bench.py --help

Method
------
* Data: for each case a known Gaussian mixture (random weights, means and full covariances, fixed
  seed), float64, generated once into benches/.data/ and loaded by every process. All libraries
  start from the same initial parameters (uniform weights, perturbed true means, identity
  covariances) stored beside the data.
* float32 (``--dtypes``, both by default): every EM case also runs on the same rows cast to
  float32 after loading, in the same run: mixtura and scikit-learn get the float32 array, oneDAL
  runs with fptype="float" (its inputs float32); pomegranate is float64 only. Each float32 row
  says its time over the library's float64 time and how far its log-likelihood is from the
  float64 one; its extra peak memory is a percentage of the float32 data.
* Cases: A (n=100,000, d=16, k=8), B (1,000,000, 16, 16), C (200,000, 64, 8), D (1,000,000, 2, 4);
  full and diagonal covariance (mixtura: MultivariateGaussianDistribution, and
  IndependentComponentsDistribution of NormalDistribution); 1 and 2 threads. ``--quick`` divides
  every n by 10.
* Each (case, covariance, threads, library) runs in its own process, with OMP_NUM_THREADS,
  OPENBLAS_NUM_THREADS, MKL_NUM_THREADS and RAYON_NUM_THREADS set to the thread count, plus
  n_jobs=threads (mixtura, pomegranate) or daal4py.daalinit(threads) (oneDAL).
* Seconds per iteration = (T(N iterations) - T(1 iteration)) / (N - 1), the median of 3 repeats,
  with no stopping rule (tolerances 0 or -inf). N (ITERATIONS below) is 11, or 4 to 6 where an
  iteration is slow. pomegranate is slow: N=3 with 3 repeats on A and D, N=2 with a single
  repeat on B and C.
* Final mean log-likelihood per sample of X under each library's fitted model, by its own scoring
  (sklearn score, mixtura and pomegranate log_probability; oneDAL has none, so numpy computes it
  from oneDAL's fitted parameters). All must agree to 1e-6 relative at the same iteration count
  (N, and pomegranate's N); a row that does not says so.
* EM on Dask (``--cases dask``): case B in-process with 2 threads against a
  ``distributed.LocalCluster`` of 2 worker processes with 1 thread each, in one process run: the
  workers read their row partitions from the .npy file and keep them; the same initial
  parameters, iterations and seconds-per-iteration method.
* Large dimensions (``--cases d768``): n=100,000 rows of d=768 features (an embedding size),
  k=8, full covariance only, 2 threads, float64, against scikit-learn and oneDAL: a mixture of 8
  well-separated Gaussian clusters with full-rank covariances (so that no component degenerates
  in the iterations timed; oneDAL stops with an error on a singular covariance), every library
  from the same initial parameters (as above: uniform weights, means moved off the clusters',
  identity covariances). One iteration takes seconds: N=2 (LARGE_D_ITERATIONS), the median of
  the repeats (scikit-learn: one repeat); the mean log-likelihoods must agree to 1e-6 relative.
* Extra peak memory of a fit: the process's peak resident memory during its first fit
  (pomegranate's N iterations, also the warm-up; for pomegranate, its first timed fit), whose
  high-water mark is reset just before it (/proc/self/clear_refs), minus its resident memory
  after the data was loaded and the model built; in MB and as % of the data's size. The same
  for the first timed 1-iteration fit, in the warm process (not for pomegranate): the first
  fit's figure adds the process's one-time costs (the library's code paged in, its threads and
  their pools, about 1 MB for mixtura), which do not grow with the data; the memory goal is
  judged on the warm fit's.

* mixtura.GaussianMixture against sklearn.mixture.GaussianMixture (case ``gm``, on case B's
  data): for each covariance type (full, tied, diag, spherical), ``fit`` end to end from the same
  initial weights, means and precisions (identity), ``tol=0``, ``max_iter=N`` (GM_ITERATIONS), and
  seconds per iteration as above; the final lower bounds must agree to 1e-6 relative.

Peers and where they run: scikit-learn in .venv (it is a development dependency); oneDAL in
.venv-bench-onedal (benches/requirements-onedal.txt, installed by ``make bench``); pomegranate in
.venv-oracle (requirements-oracle.txt, ``make oracle``). MIXTURA_BENCH_ONEDAL_PYTHON and
MIXTURA_BENCH_POMEGRANATE_PYTHON name other interpreters. A peer that cannot be imported is
reported as "not installed" with the reason.
"""

import argparse
import datetime
import json
import math
import os
import platform
import shlex
import subprocess
import sys
import time

import numpy as np

import bench_workers
from bench_workers import DASK_PARTITIONS, IMPORT

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DATA_DIR = os.path.join(HERE, ".data")
RESULTS = os.path.join(HERE, "RESULTS.md")

CASES = {"A": (100_000, 16, 8), "B": (1_000_000, 16, 16), "C": (200_000, 64, 8),
         "D": (1_000_000, 2, 4)}
# k-means++ seeding, predict_proba throughput, the GaussianMixture front door and EM on Dask,
# all on case B; EM at d=768 on data of its own.
EXTRAS = ("kpp", "proba", "gm", "dask", "d768")
GM_COVARIANCES = ("full", "tied", "diag", "spherical")
GM_ITERATIONS = 4
COVARIANCES = ("full", "diag")
# The element types of the EM cases: float32 rows go to mixtura and scikit-learn as float32
# arrays and to oneDAL with fptype="float" (pomegranate: float64 only).
DTYPES = ("float64", "float32")
GOAL_FLOAT32 = 0.6       # mixtura float32 against its float64 s/it on B and C
LIBS = ("mixtura", "sklearn", "onedal", "pomegranate")
NAMES = {"mixtura": "mixtura", "sklearn": "scikit-learn", "onedal": "oneDAL",
         "pomegranate": "pomegranate"}
VENVS = {"onedal": ".venv-bench-onedal", "pomegranate": ".venv-oracle"}
ENV_PYTHON = {"onedal": "MIXTURA_BENCH_ONEDAL_PYTHON",
              "pomegranate": "MIXTURA_BENCH_POMEGRANATE_PYTHON"}
INSTALL_HINT = {"onedal": "make bench installs it (benches/requirements-onedal.txt)",
                "pomegranate": "make oracle installs it (requirements-oracle.txt)"}

# N of the timings: (T(N) - T(1)) / (N - 1) spans about a second or more at full size.
ITERATIONS = {("A", "full"): 11, ("A", "diag"): 11, ("B", "full"): 4, ("B", "diag"): 6,
              ("C", "full"): 4, ("C", "diag"): 11, ("D", "full"): 11, ("D", "diag"): 11}
# pomegranate is slow (up to ~20 s an iteration on B): its (N, repeats) per case. The other
# libraries' first fit (peak memory, warm-up) runs pomegranate's N iterations, so that its
# log-likelihood can be compared with pomegranate's at the same iteration count.
POMEGRANATE = {"A": (3, 3), "B": (2, 1), "C": (2, 1), "D": (3, 3)}
EXTRA_REPEATS = 5
SEED = 20240601
DATA_VERSION = 1  # part of the cache file names: bump when the generator changes
LL_RTOL = 1e-6

# oneDAL's seconds per iteration measured on the 2-core reference machine, float64 (1, 2 threads).
TARGETS = {
    ("A", "full"): (0.060, 0.030), ("A", "diag"): (0.013, 0.0069),
    ("B", "full"): (1.17, 0.58), ("B", "diag"): (0.27, 0.13),
    ("C", "full"): (0.97, 0.48), ("C", "diag"): (0.084, 0.042),
    ("D", "full"): (0.034, 0.018), ("D", "diag"): (0.046, 0.023),
}
GOAL_SPEEDUP = 1.9       # 2 threads against 1 on B and C
GOAL_MEMORY = 0.10       # extra peak memory of a fit, fraction of the data's size
GOAL_KPP = 3.0           # k-means++ against sklearn's kmeans_plusplus on B
GOAL_PROBA = 10.0        # predict_proba against sklearn on B at 2 threads
GOAL_GM = 5.0            # GaussianMixture.fit against sklearn's on B at 2 threads, every type
GOAL_DASK = 1.3          # EM on a LocalCluster of 2 one-thread workers against 2 threads in-process
# Large dimensions: (n, d, k) of the d768 case, and N of its timings (an iteration takes seconds).
LARGE_D = (100_000, 768, 8)
LARGE_D_ITERATIONS = 2
LARGE_D_LIBS = ("mixtura", "sklearn", "onedal")


# ------------------------------------------------------------------------------------------------
# Data


def case_size(case, quick):
    n, d, k = LARGE_D if case == "d768" else CASES[case]
    return (n // 10 if quick else n), d, k


def data_paths(case, quick):
    n, d, k = case_size(case, quick)
    stem = os.path.join(DATA_DIR, f"{case}-n{n}-d{d}-k{k}-seed{SEED}-v{DATA_VERSION}")
    return stem + ".npy", stem + "-params.npz"


def _covariances_and_rows(rng, n, weights, means):
    """Full-rank covariances for the k means (eigenvalues 0.5 to 2 in random directions) and n
    rows of the mixture they make with the weights, drawn from rng in that order."""
    k, d = means.shape
    covariances = np.empty((k, d, d))
    for j in range(k):
        q, _ = np.linalg.qr(rng.standard_normal((d, d)))
        covariances[j] = (q * rng.uniform(0.5, 2.0, size=d)) @ q.T
        covariances[j] = (covariances[j] + covariances[j].T) / 2
    labels = rng.choice(k, size=n, p=weights)
    X = np.empty((n, d))
    for j in range(k):
        rows = np.flatnonzero(labels == j)
        L = np.linalg.cholesky(covariances[j])
        X[rows] = means[j] + rng.standard_normal((len(rows), d)) @ L.T
    return covariances, X


def generate(n, d, k, seed):
    """X from a known Gaussian mixture, its true parameters, and the shared initial parameters.

    The means are spread so that neighbouring components overlap about equally in every d
    (typical distance about 4 standard deviations), so that EM is still moving after a few
    iterations."""
    rng = np.random.default_rng(seed)
    spread = 4.0 / math.sqrt(2 * d)
    weights = rng.dirichlet(np.full(k, 4.0))
    means = rng.normal(0.0, spread, size=(k, d))
    covariances, X = _covariances_and_rows(rng, n, weights, means)
    params = {
        "weights": weights, "means": means, "covariances": covariances,
        "init_weights": np.full(k, 1.0 / k),
        "init_means": means + rng.normal(0.0, spread, size=(k, d)),
        "init_covariances": np.repeat(np.eye(d)[None], k, axis=0),
    }
    return X, params


def generate_separated(n, d, k, seed):
    """X from a mixture of k well-separated Gaussian clusters in d features, with full-rank
    covariances (eigenvalues 0.5 to 2 in random directions), its true parameters, and the shared
    initial parameters.

    The means are about 20 standard deviations apart and the initial means about 2 from the
    true ones (both whatever d), with near-equal weights: from the first E-step on, each
    component holds its own cluster, thousands of rows (far more than d), so that no covariance
    degenerates in the iterations timed."""
    rng = np.random.default_rng(seed)
    weights = rng.dirichlet(np.full(k, 50.0))
    means = rng.normal(0.0, 20.0 / math.sqrt(2 * d), size=(k, d))
    covariances, X = _covariances_and_rows(rng, n, weights, means)
    params = {
        "weights": weights, "means": means, "covariances": covariances,
        "init_weights": np.full(k, 1.0 / k),
        "init_means": means + rng.normal(0.0, 2.0 / math.sqrt(d), size=(k, d)),
        "init_covariances": np.repeat(np.eye(d)[None], k, axis=0),
    }
    return X, params


def ensure_data(case, quick, log):
    x_path, p_path = data_paths(case, quick)
    if os.path.exists(x_path) and os.path.exists(p_path):
        return x_path, p_path
    n, d, k = case_size(case, quick)
    log(f"generating case {case} data (n={n:,}, d={d}, k={k}) into {os.path.relpath(x_path, ROOT)}")
    os.makedirs(DATA_DIR, exist_ok=True)
    if case == "d768":
        X, params = generate_separated(n, d, k, SEED + d)
    else:
        X, params = generate(n, d, k, SEED + ord(case))
    writers = ((p_path, lambda f: np.savez(f, **params)), (x_path, lambda f: np.save(f, X)))
    for path, write in writers:
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            write(f)
        os.replace(tmp, path)
    return x_path, p_path


# ------------------------------------------------------------------------------------------------
# The driver


def relative(text):
    """Text with this checkout's location replaced by '.' (no machine paths in the results)."""
    return text.replace(ROOT + os.sep, "").replace(ROOT, ".")


def interpreter(lib):
    if lib in ("mixtura", "sklearn"):
        return sys.executable
    python = os.environ.get(ENV_PYTHON[lib])
    if not python and lib == "pomegranate":
        python = os.environ.get("MIXTURA_ORACLE_PYTHON")
    return python or os.path.join(ROOT, VENVS[lib], "bin", "python")


def run_worker(lib, job, threads, timeout):
    """Runs one job in a fresh process; returns (result dict, None) or (None, reason)."""
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS"):
        env[var] = str(threads)
    cmd = [interpreter(lib), bench_workers.__file__, json.dumps(job)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout:.0f} s"
    except OSError as e:
        return None, f"could not start {relative(cmd[0])}: {e.strerror}"
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):]), None
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    reason = lines[-1].strip() if lines else f"exit status {proc.returncode}, no output"
    return None, relative(reason)[:300]


def probe(lib):
    """(True, versions) when lib's interpreter imports it, else (False, reason)."""
    python = interpreter(lib)
    install_failed = None
    if lib in VENVS:
        venv = os.path.join(ROOT, VENVS[lib])
        failed = os.path.join(venv, "install-failed")
        if os.path.exists(failed) and not os.path.exists(os.path.join(venv, ".created")):
            with open(failed, errors="replace") as f:
                tail = [line.strip() for line in f if line.strip()]
            install_failed = relative(
                "pip install failed: " + (tail[-1] if tail else "see " + failed))[:300]
    if not os.path.exists(python):
        hint = f" ({INSTALL_HINT[lib]})" if lib in INSTALL_HINT else ""
        return False, install_failed or f"no interpreter {relative(python)}{hint}"
    result, error = run_worker(lib, {"kind": "probe", "lib": lib}, 1, 300)
    if error:
        return False, install_failed or f"import {IMPORT[lib]} failed: {error}"
    return True, f"{result['versions']} (Python {result['python']}, {relative(python)})"


def machine():
    cpu = "unknown CPU"
    flags = set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and cpu == "unknown CPU":
                    cpu = value.strip()
                elif key.strip() == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    ram = _meminfo_gib()
    simd = ", ".join(f for f in ("avx2", "fma", "avx512f") if f in flags) or "none of avx2/avx512f"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (f"{cpu}; {cores} logical CPUs available ({os.cpu_count()} online); "
            f"{ram} RAM; SIMD: {simd}; {platform.system()} {platform.release()}")


def load_average():
    """The 1, 5 and 15 minute load averages: well above 0 before a run, other processes compete
    for the cores and the timings are disturbed."""
    try:
        return ", ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "unknown"


def _meminfo_gib():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def fmt_time(s):
    if s is None or not math.isfinite(s):
        return "–"
    if s < 1e-3:
        return f"{s * 1e6:.3g} µs"
    if s < 1:
        return f"{s * 1e3:.3g} ms"
    return f"{s:.3g} s"


def fmt_ratio(r):
    return "–" if r is None or not math.isfinite(r) else f"{r:.2f}×"


def table(headers, rows):
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows)]

    def line(cells):
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"

    return [line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [
        line(r) for r in rows]


def close(a, b):
    return abs(a - b) <= LL_RTOL * max(abs(a), abs(b))


def consensus(values):
    """The largest set of libraries whose values agree with one of them (mixtura's first on a
    tie); values: {lib: mean log-likelihood}."""
    libs = [lib for lib in LIBS if lib in values and math.isfinite(values[lib])]
    best = []
    for pivot in libs:
        group = [lib for lib in libs if close(values[lib], values[pivot])]
        if len(group) > len(best):
            best = group
    return best, libs


class Bench:
    def __init__(self, args):
        self.args = args
        self.quick = args.quick
        self.lines = []
        # (case, cov, threads, lib, dtype) -> result dict or {"error": reason}
        self.results = {}
        self.extras = {}    # (kind, threads, lib) -> result dict or {"error": reason}
        self.status = {}    # lib -> (ok, versions or reason)
        self.started = time.time()

    # -- output ----------------------------------------------------------------------------------
    def out(self, *lines):
        for line in lines:
            print(line, flush=True)
            self.lines.append(line)

    def log(self, message):
        print(f"[{time.time() - self.started:6.0f} s] {message}", file=sys.stderr, flush=True)

    # -- running ---------------------------------------------------------------------------------
    def iterations(self, lib, case, cov):
        if lib == "pomegranate":
            n_iter, repeats = POMEGRANATE[case]
            return n_iter, min(self.args.repeats, repeats)
        return ITERATIONS[(case, cov)], self.args.repeats

    def timeout(self):
        return 600 if self.quick else 1800

    def run(self, key, store, lib, job, threads, label):
        ok, reason = self.status[lib]
        if not ok:
            store[key] = {"error": f"not installed: {reason}"}
            return
        start = time.time()
        result, error = run_worker(lib, job, threads, self.timeout())
        store[key] = result if error is None else {"error": f"failed: {error}"}
        took = time.time() - start
        if error is None and "seconds_per_iteration" in result:
            what = f"{fmt_time(result['seconds_per_iteration'])}/it"
        elif error is None:
            what = "done"
        else:
            what = "FAILED: " + error
        self.log(f"{label} {NAMES[lib]}: {what} ({took:.1f} s)")

    def run_case(self, case):
        x_path, p_path = ensure_data(case, self.quick, self.log)
        libs = self.args.libs
        pomegranate_ok = "pomegranate" in libs and self.status["pomegranate"][0]
        for cov in self.args.covariances:
            for threads in self.args.threads:
                for dtype in self.args.dtypes:
                    for lib in libs:
                        if dtype != "float64" and lib == "pomegranate":
                            continue
                        n_iter, repeats = self.iterations(lib, case, cov)
                        ll_at = [n_iter]
                        if pomegranate_ok and lib != "pomegranate":
                            ll_at.append(POMEGRANATE[case][0])
                        job = {"kind": "em", "lib": lib, "data": x_path, "params": p_path,
                               "cov": cov, "threads": threads, "iterations": n_iter,
                               "repeats": repeats, "ll_at": ll_at, "dtype": dtype,
                               "mem_iterations": 0 if lib == "pomegranate"
                               else POMEGRANATE[case][0]}
                        self.run((case, cov, threads, lib, dtype), self.results, lib, job,
                                 threads, f"{case} {cov} {threads} thread(s) {dtype}")
        self.print_case(case)

    def run_extra(self, kind):
        if kind == "d768":
            self.run_large_d()
            return
        x_path, p_path = ensure_data("B", self.quick, self.log)
        if kind == "gm":
            # scikit-learn is slow here (seconds per iteration): one repeat of each timing.
            for cov in GM_COVARIANCES:
                for threads in self.args.threads:
                    for lib in ("mixtura", "sklearn"):
                        if lib not in self.args.libs:
                            continue
                        job = {"kind": kind, "lib": lib, "data": x_path, "params": p_path,
                               "cov": cov, "threads": threads, "iterations": GM_ITERATIONS,
                               "repeats": self.args.repeats if lib == "mixtura" else 1}
                        self.run((("gm", cov), threads, lib), self.extras, lib, job, threads,
                                 f"gm {cov} B {threads} thread(s)")
            self.print_gm()
            return
        if kind == "dask":
            if "mixtura" in self.args.libs:
                for cov in self.args.covariances:
                    job = {"kind": "dask", "lib": "mixtura", "data": x_path, "params": p_path,
                           "cov": cov, "threads": 2, "iterations": ITERATIONS[("B", cov)],
                           "repeats": self.args.repeats}
                    self.run(("dask", cov, "mixtura"), self.extras, "mixtura", job, 2,
                             f"dask B {cov}")
            self.print_dask()
            return
        for threads in self.args.threads:
            for lib in ("mixtura", "sklearn"):
                if lib not in self.args.libs:
                    continue
                job = {"kind": kind, "lib": lib, "data": x_path, "params": p_path,
                       "threads": threads, "repeats": EXTRA_REPEATS}
                self.run((kind, threads, lib), self.extras, lib, job, threads,
                         f"{kind} B {threads} thread(s)")
        (self.print_kpp if kind == "kpp" else self.print_proba)()

    def run_large_d(self):
        """EM at d=768: full covariance, 2 threads, float64, every library from the same initial
        parameters (scikit-learn, slow here, with one repeat)."""
        x_path, p_path = ensure_data("d768", self.quick, self.log)
        for lib in [lib for lib in LARGE_D_LIBS if lib in self.args.libs]:
            job = {"kind": "em", "lib": lib, "data": x_path, "params": p_path, "cov": "full",
                   "threads": 2, "iterations": LARGE_D_ITERATIONS,
                   "repeats": 1 if lib == "sklearn" else self.args.repeats,
                   "ll_at": [LARGE_D_ITERATIONS], "dtype": "float64", "mem_iterations": 0}
            self.run(("d768", lib), self.extras, lib, job, 2, "d768 full 2 threads")
        self.print_large_d()

    # -- the tables ------------------------------------------------------------------------------
    def header(self):
        a = self.args
        mode = "quick (every n divided by 10)" if self.quick else "full"
        self.out("# mixtura benchmarks", "",
                 f"- date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}",
                 f"- machine: {machine()}",
                 f"- load average at the start: {load_average()}",
                 f"- mode: {mode}; cases {','.join(a.cases)}; libraries {','.join(a.libs)}; "
                 f"threads {','.join(map(str, a.threads))}",
                 "- command: `" + " ".join(["benches/bench.py"] + [
                     shlex.quote(x) for x in sys.argv[1:]]) + "`")
        for lib in LIBS:
            if lib in a.libs or (lib == "mixtura" and set(a.cases) & set(EXTRAS)):
                ok, text = self.status[lib]
                self.out(f"- {NAMES[lib]}: {text if ok else 'not installed: ' + text}")
        self.out("", "Seconds per iteration = (T(N iterations) - T(1 iteration)) / (N - 1), median "
                 f"of {a.repeats}, every library from the same initial parameters, each run in its "
                 "own process with its threads set (OMP/OPENBLAS/MKL_NUM_THREADS, n_jobs, "
                 "daal4py.daalinit). \"vs mixtura\" is the library's time over mixtura's (above 1: "
                 "mixtura is faster). \"mean loglik\" is the final mean log-likelihood per sample "
                 "by the library's own scoring (numpy from the fitted parameters for oneDAL), "
                 f"checked against the others at the same iteration count to {LL_RTOL:g} "
                 "relative. \"extra peak\" is the peak resident memory of the process during a "
                 "fit above its memory with the data loaded, in MB and % of the data: during its "
                 "first fit, then (after the semicolon) during a fit in the warm process, which "
                 "leaves out the process's one-time costs (code paged in, threads, pools); the "
                 "memory goal takes the second. \"oneDAL "
                 "ref.\" is oneDAL's time measured on the 2-core reference machine (the goal).", "")

    def print_case(self, case):
        n, d, k = case_size(case, self.quick)
        nbytes = n * d * 8
        libs = self.args.libs
        its = [f"N={ITERATIONS[(case, cov)]} {cov}" for cov in self.args.covariances]
        p_iter, p_repeats = self.iterations("pomegranate", case, None)
        if "pomegranate" in libs:
            its.append(f"pomegranate N={p_iter} with {p_repeats} repeat(s)")
        self.out(f"## Case {case}: n={n:,}, d={d}, k={k} (data {nbytes / 1e6:.1f} MB; "
                 + ", ".join(its) + ")", "")
        rows, notes = [], []
        if "pomegranate" in libs:
            notes.append(f"pomegranate: N={p_iter} and {p_repeats} repeat(s), for time; "
                         "its log-likelihood is checked against the others' after "
                         f"{p_iter} iterations, and its memory measured during "
                         "its first 1-iteration fit. With 2 threads it gets batch_size=n/2: "
                         "pomegranate 0.14 summarises X in one batch otherwise, and n_jobs "
                         "would do nothing.")
        for cov in self.args.covariances:
            for threads in self.args.threads:
                for dtype in self.args.dtypes:
                    size = nbytes if dtype == "float64" else nbytes // 2
                    rows += self.case_rows(case, cov, threads, dtype, size, notes)
        self.out(*table(["cov", "threads", "dtype", "library", "s/it", "vs mixtura",
                         "2t speed-up",
                         "mean loglik", "agrees", "extra peak", "oneDAL ref.", "notes"], rows))
        if notes:
            self.out("")
            self.out(*[f"- {note}" for note in dict.fromkeys(notes)])
        self.out("")

    def case_rows(self, case, cov, threads, dtype, nbytes, notes):
        libs = [lib for lib in self.args.libs if dtype == "float64" or lib != "pomegranate"]
        res = {lib: self.results.get((case, cov, threads, lib, dtype)) for lib in libs}
        mix = res.get("mixtura") or {}
        groups = {}
        for lib, r in res.items():
            for m, v in ((r or {}).get("mean_ll") or {}).items():
                groups.setdefault(m, {})[lib] = v
        rows = []
        for lib in libs:
            r = res[lib] or {"error": "not run"}
            if "error" in r:
                rows.append([cov, threads, dtype, NAMES[lib], "–", "–", "–", "–", "–", "–",
                             self.reference(case, cov, threads) if lib == "mixtura" else "",
                             r["error"]])
                continue
            spi = r["seconds_per_iteration"]
            ratio = spi / mix["seconds_per_iteration"] if lib != "mixtura" and spi and \
                mix.get("seconds_per_iteration") else (1.0 if lib == "mixtura" else None)
            one = self.results.get((case, cov, 1, lib, dtype)) or {}
            speedup = one["seconds_per_iteration"] / spi if threads == 2 and spi and \
                one.get("seconds_per_iteration") else None
            n_iter = self.iterations(lib, case, cov)[0]
            ll = r["mean_ll"][str(n_iter)]
            agree = self.agreement(lib, groups.get(str(n_iter), {}))
            if "differs" in agree:
                notes.append(f"{cov}, {threads} thread(s), {dtype}: {NAMES[lib]} computed "
                             f"something else after {n_iter} iterations ({agree}).")
            row_notes = []
            if dtype != "float64":
                wide = self.results.get((case, cov, threads, lib, "float64")) or {}
                if wide.get("seconds_per_iteration") and spi:
                    row_notes.append(f"{spi / wide['seconds_per_iteration']:.2f}× its float64 "
                                     "time")
                ll64 = (wide.get("mean_ll") or {}).get(str(n_iter))
                if ll64 is not None:
                    rel = abs(ll - ll64) / abs(ll64)
                    row_notes.append("loglik = float64's" if ll == ll64 else
                                     f"loglik {rel:.1e} rel. from float64's")
            if any(done != n_iter for done in r["iterations_done"]):
                row_notes.append(f"ran {sorted(set(r['iterations_done']))} iterations of {n_iter}")
            if r["threads_seen"] is not None and r["threads_seen"] != threads:
                row_notes.append(f"{r['threads_seen']} threads seen")
            if lib == "pomegranate":
                if threads > 1:
                    row_notes.append(f"batch_size=n/{threads}")
            extra, warm = r["extra_peak_bytes"], r.get("warm_extra_peak_bytes")
            ll_text = f"{ll:.10g}" + (f" (N={n_iter})" if lib == "pomegranate" else "")
            extra_text = f"{extra / 1e6:.1f} MB ({100 * extra / nbytes:.1f}%)"
            if warm is not None:
                extra_text += f"; {warm / 1e6:.2f} MB ({100 * warm / nbytes:.1f}%)"
            rows.append([cov, threads, dtype, NAMES[lib], fmt_time(spi), fmt_ratio(ratio),
                         fmt_ratio(speedup), ll_text, agree, extra_text,
                         self.reference(case, cov, threads) if lib == "mixtura" else "",
                         "; ".join(row_notes)])
        return rows

    def reference(self, case, cov, threads):
        t = TARGETS[(case, cov)][threads - 1] if threads in (1, 2) else None
        if t is None:
            return ""
        return fmt_time(t) + (" (full n)" if self.quick else "")

    @staticmethod
    def agreement(lib, values):
        best, libs = consensus(values)
        if lib not in values or len(libs) < 2:
            return "–"
        if lib in best:
            return "yes"
        ref = [v for other, v in values.items() if other in best]
        rel = abs(values[lib] - ref[0]) / abs(ref[0])
        tie = " (no majority)" if len(best) == 1 else ""
        return (f"NO: differs from {', '.join(NAMES[b] for b in best)} by {rel:.1e} relative"
                + tie)

    def print_kpp(self):
        n, d, k = case_size("B", self.quick)
        self.out(f"## k-means++ seeding, case B (n={n:,}, d={d}, k={k})", "",
                 "mixtura: `Kmeans(k, init='kmeans++', n_init=1).fit(X, max_iterations=0)`: the "
                 "seeding, and the assignment of every row to its nearest centroid (the inertia and "
                 "the first Lloyd sums), which the seeding's last pass over the rows gives. For "
                 "comparison, the assignment pass on its own (Kmeans from given centroids, 0 Lloyd "
                 "iterations). scikit-learn: `sklearn.cluster.kmeans_plusplus`. Median of "
                 f"{EXTRA_REPEATS} seeds; \"potential\" is the median mean squared distance to the "
                 "nearest seed (lower is better).", "")
        rows = []
        for threads in self.args.threads:
            m = self.extras.get(("kpp", threads, "mixtura"), {"error": "not run"})
            s = self.extras.get(("kpp", threads, "sklearn"), {"error": "not run"})
            if "error" not in m:
                rows.append([threads, "mixtura", fmt_time(m["seconds"]), "1.00×",
                             fmt_time(m["assignment_seconds"]),
                             f"{m['potential']:.5g}", ""])
            else:
                rows.append([threads, "mixtura", "–", "–", "–", "–", m["error"]])
            if "error" not in s:
                ratio = s["seconds"] / m["seconds"] if "error" not in m else None
                rows.append([threads, "scikit-learn", fmt_time(s["seconds"]), fmt_ratio(ratio),
                             "", f"{s['potential']:.5g}",
                             "" if s["threads_seen"] in (None, threads)
                             else f"{s['threads_seen']} BLAS threads seen"])
            else:
                rows.append([threads, "scikit-learn", "–", "–", "", "–", s["error"]])
        self.out(*table(["threads", "library", "seconds", "vs mixtura",
                         "assignment pass alone", "potential", "notes"], rows), "")

    def print_dask(self):
        n, d, k = case_size("B", self.quick)
        self.out(f"## EM on Dask, case B (n={n:,}, d={d}, k={k})", "",
                 "mixtura in-process with 2 threads (n_jobs=2), against the same fit on a "
                 "`distributed.LocalCluster` of 2 worker processes with 1 thread each, the data in "
                 f"{DASK_PARTITIONS} row partitions that the workers read from the .npy file (half "
                 "on each) and keep (persist). Seconds per iteration as above (median of "
                 f"{self.args.repeats}, the two timed in turns in one process); each iteration "
                 "summarises every partition on its worker, "
                 "merges the statistics and runs the M-step in the client.", "")
        rows = []
        for cov in self.args.covariances:
            r = self.extras.get(("dask", cov, "mixtura"), {"error": "not run"})
            if "error" in r:
                rows.append([cov, "–", "–", "–", r["error"]])
                continue
            ratio = r["dask_seconds"] / r["inprocess_seconds"]
            same = close(r["dask_mean_ll"], r["inprocess_mean_ll"])
            rows.append([cov, fmt_time(r["inprocess_seconds"]), fmt_time(r["dask_seconds"]),
                         f"{ratio:.2f}×",
                         ("mean log-likelihoods agree" if same else "LOG-LIKELIHOODS DIFFER")
                         + f" ({r['dask_mean_ll']:.10g})"])
        self.out(*table(["covariance", "in-process, 2 threads", "Dask, 2 workers × 1 thread",
                         "Dask / in-process", "notes"], rows), "")

    def print_large_d(self):
        n, d, k = case_size("d768", self.quick)
        self.out(f"## Large dimensions: n={n:,}, d={d}, k={k}, full covariance, 2 threads (data "
                 f"{n * d * 8 / 1e6:.0f} MB; N={LARGE_D_ITERATIONS})", "",
                 f"{k} well-separated Gaussian clusters with full-rank covariances; every library "
                 "from the same initial parameters (uniform weights, means moved off the "
                 "clusters', identity covariances). s/it = (T(N) - T(1)) / (N - 1), the median of "
                 f"{self.args.repeats} (scikit-learn: one run); 'vs mixtura', 'mean loglik', "
                 "'agrees' and 'extra peak' as in the EM cases (extra peak measured on the "
                 "first 1-iteration fit).", "")
        libs = [lib for lib in LARGE_D_LIBS if lib in self.args.libs]
        res = {lib: self.extras.get(("d768", lib)) or {"error": "not run"} for lib in libs}
        key = str(LARGE_D_ITERATIONS)
        values = {lib: r["mean_ll"][key] for lib, r in res.items() if "error" not in r}
        mix = res.get("mixtura") or {}
        rows = []
        for lib in libs:
            r = res[lib]
            if "error" in r:
                rows.append([NAMES[lib], "–", "–", "–", "–", "–", r["error"]])
                continue
            spi = r["seconds_per_iteration"]
            ratio = 1.0 if lib == "mixtura" else (
                spi / mix["seconds_per_iteration"] if spi and mix.get("seconds_per_iteration")
                else None)
            notes = []
            if any(done != LARGE_D_ITERATIONS for done in r["iterations_done"]):
                notes.append(f"ran {sorted(set(r['iterations_done']))} iterations of "
                             f"{LARGE_D_ITERATIONS}")
            if r["threads_seen"] is not None and r["threads_seen"] != 2:
                notes.append(f"{r['threads_seen']} threads seen")
            notes.append("T(1), T(N): " + ", ".join(
                f"{fmt_time(a)}/{fmt_time(b)}" for a, b in zip(r["t1"], r["tn"])))
            extra = r["extra_peak_bytes"]
            rows.append([NAMES[lib], fmt_time(spi), fmt_ratio(ratio), f"{values[lib]:.10g}",
                         self.agreement(lib, values),
                         f"{extra / 1e6:.1f} MB ({100 * extra / r['data_bytes']:.1f}%)",
                         "; ".join(notes)])
        self.out(*table(["library", "s/it", "vs mixtura", "mean loglik", "agrees", "extra peak",
                         "notes"], rows), "")

    def print_proba(self):
        n, d, k = case_size("B", self.quick)
        self.out(f"## predict_proba and log_probability, case B, full covariance (n={n:,}, d={d}, "
                 f"k={k})", "",
                 "The true parameters of the data's mixture; mixtura: `predict_proba` and "
                 "`log_probability`; scikit-learn: `GaussianMixture.predict_proba` and "
                 f"`score_samples`. Median of {EXTRA_REPEATS} calls; the outputs are compared "
                 "through the mean log-density and the column means of the probabilities.", "")
        rows = []
        for threads in self.args.threads:
            m = self.extras.get(("proba", threads, "mixtura"), {"error": "not run"})
            s = self.extras.get(("proba", threads, "sklearn"), {"error": "not run"})
            for lib, r in (("mixtura", m), ("sklearn", s)):
                if "error" in r:
                    rows.append([threads, NAMES[lib]] + ["–"] * 5 + [r["error"]])
                    continue
                pp, lp = r["predict_proba_seconds"], r["log_probability_seconds"]
                vs_pp = vs_lp = 1.0 if lib == "mixtura" else None
                note = ""
                if lib == "sklearn" and "error" not in m:
                    vs_pp = pp / m["predict_proba_seconds"]
                    vs_lp = lp / m["log_probability_seconds"]
                    dp = max(abs(a - b) for a, b in zip(r["proba_column_means"],
                                                        m["proba_column_means"]))
                    dl = abs(r["mean_log_probability"] - m["mean_log_probability"])
                    dl /= abs(m["mean_log_probability"])
                    same = dp <= 1e-9 and dl <= 1e-9
                    note = ("outputs agree" if same else "OUTPUTS DIFFER") + \
                        f" (proba column means {dp:.1e}, mean log-density {dl:.1e} relative)"
                rows.append([threads, NAMES[lib], fmt_time(pp), f"{n / pp / 1e6:.1f}",
                             fmt_ratio(vs_pp), fmt_time(lp), fmt_ratio(vs_lp), note])
        self.out(*table(["threads", "library", "predict_proba", "M rows/s", "vs mixtura",
                         "log_probability", "vs mixtura", "notes"], rows), "")

    def print_gm(self):
        n, d, k = case_size("B", self.quick)
        self.out(f"## GaussianMixture against scikit-learn, case B (n={n:,}, d={d}, k={k})", "",
                 "`mixtura.GaussianMixture` and `sklearn.mixture.GaussianMixture` with the same "
                 "parameters: the same initial weights, means and precisions (identity), "
                 f"`tol=0`, `max_iter={GM_ITERATIONS}`, `reg_covar=1e-6`. fit = the whole `fit` "
                 f"call of {GM_ITERATIONS} iterations; s/it = (T({GM_ITERATIONS}) - T(1)) / "
                 f"{GM_ITERATIONS - 1}; mixtura the median of {self.args.repeats}, scikit-learn "
                 "one run. The final lower bounds must agree to 1e-6.", "")
        rows = []
        for cov in GM_COVARIANCES:
            for threads in self.args.threads:
                m = self.extras.get((("gm", cov), threads, "mixtura"), {"error": "not run"})
                s = self.extras.get((("gm", cov), threads, "sklearn"), {"error": "not run"})
                for lib, r in (("mixtura", m), ("sklearn", s)):
                    if "error" in r:
                        rows.append([cov, threads, NAMES[lib], "–", "–", "–", r["error"]])
                        continue
                    vs, note = (1.0, "") if lib == "mixtura" else (None, "")
                    if lib == "sklearn" and "error" not in m:
                        vs = r["fit_seconds"] / m["fit_seconds"]
                        same = close(r["lower_bound"], m["lower_bound"])
                        note = ("lower bounds agree" if same else "LOWER BOUNDS DIFFER") + \
                            f" ({r['lower_bound']:.9g} vs {m['lower_bound']:.9g})"
                    rows.append([cov, threads, NAMES[lib], fmt_time(r["fit_seconds"]),
                                 fmt_time(r["seconds_per_iteration"]), fmt_ratio(vs), note])
        self.out(*table(["covariance", "threads", "library", "fit", "s/it", "sklearn / mixtura",
                         "notes"], rows), "")

    # -- goals -----------------------------------------------------------------------------------
    def goals(self):
        rows = []
        a = self.args
        cases = [c for c in CASES if c in a.cases]
        covs = [c for c in COVARIANCES if c in a.covariances]
        threads_run = [t for t in (1, 2) if t in a.threads]

        def spi(case, cov, threads, lib, dtype="float64"):
            r = self.results.get((case, cov, threads, lib, dtype)) or {}
            return r.get("seconds_per_iteration")

        for case in cases:
            for cov in covs:
                for threads in threads_run:
                    goal = f"mixtura ≤ oneDAL s/it: {case} {cov}, {threads} thread(s)"
                    m, o = spi(case, cov, threads, "mixtura"), spi(case, cov, threads, "onedal")
                    ref = TARGETS[(case, cov)][threads - 1]
                    if m is None:
                        rows.append([goal, "not measured", "SKIP"])
                    elif o is not None:
                        rows.append([goal, f"{fmt_time(m)} vs oneDAL {fmt_time(o)} here "
                                     f"(reference {fmt_time(ref)})", "PASS" if m <= o else "FAIL"])
                    elif not self.quick:
                        rows.append([goal, f"{fmt_time(m)} vs reference {fmt_time(ref)} (oneDAL "
                                     "not measured here)", "PASS" if m <= ref else "FAIL"])
                    else:
                        rows.append([goal, f"{fmt_time(m)}; oneDAL not measured (the reference "
                                     "is for full n)", "SKIP"])
        for case in [c for c in ("B", "C") if c in cases and threads_run == [1, 2]]:
            for cov in covs:
                goal = f"mixtura 2 threads ≥ {GOAL_SPEEDUP}× 1 thread: {case} {cov}"
                one, two = spi(case, cov, 1, "mixtura"), spi(case, cov, 2, "mixtura")
                if one is None or two is None:
                    rows.append([goal, "not measured", "SKIP"])
                else:
                    rows.append([goal, f"{one / two:.2f}× ({fmt_time(one)} → {fmt_time(two)})",
                                 "PASS" if one / two >= GOAL_SPEEDUP else "FAIL"])
        for case in cases:
            goal = f"mixtura extra peak memory ≤ {GOAL_MEMORY:.0%} of the data: {case}"
            n, d, _ = case_size(case, self.quick)
            worst = None
            for cov in covs:
                for threads in threads_run:
                    for dtype in a.dtypes:
                        r = self.results.get((case, cov, threads, "mixtura", dtype)) or {}
                        # A fit's memory: that of a fit in a warm process where measured (the
                        # first fit's adds the process's one-time costs, shown beside it).
                        extra = r.get("warm_extra_peak_bytes")
                        extra = r.get("extra_peak_bytes") if extra is None else extra
                        if extra is not None:
                            size = n * d * (8 if dtype == "float64" else 4)
                            frac = extra / size
                            if worst is None or frac > worst[0]:
                                worst = (frac, f"{cov}, {threads} thread(s), {dtype}")
            if worst is None:
                rows.append([goal, "not measured", "SKIP"])
            else:
                rows.append([goal, f"at most {worst[0]:.1%} ({worst[1]})",
                             "PASS" if worst[0] <= GOAL_MEMORY else "FAIL"])
        for case in cases if "float32" in a.dtypes else []:
            for cov in covs:
                for threads in threads_run:
                    goal = f"mixtura float32 ≤ oneDAL float32 s/it: {case} {cov}, {threads} thread(s)"
                    m = spi(case, cov, threads, "mixtura", "float32")
                    o = spi(case, cov, threads, "onedal", "float32")
                    if m is None or o is None:
                        rows.append([goal, "not measured", "SKIP"])
                    else:
                        rows.append([goal, f"{fmt_time(m)} vs oneDAL {fmt_time(o)}",
                                     "PASS" if m <= o else "FAIL"])
        for case in [c for c in ("B", "C") if c in cases and "float32" in a.dtypes]:
            for cov in covs:
                for threads in threads_run:
                    goal = (f"mixtura float32 ≤ {GOAL_FLOAT32:g}× its float64 s/it: {case} {cov}, "
                            f"{threads} thread(s)")
                    m32 = spi(case, cov, threads, "mixtura", "float32")
                    m64 = spi(case, cov, threads, "mixtura")
                    if m32 is None or m64 is None:
                        rows.append([goal, "not measured", "SKIP"])
                    else:
                        rows.append([goal, f"{m32 / m64:.2f}× ({fmt_time(m32)} vs "
                                     f"{fmt_time(m64)})",
                                     "PASS" if m32 <= GOAL_FLOAT32 * m64 else "FAIL"])
        for threads in threads_run if "kpp" in a.cases else []:
            goal = (f"k-means++ ≥ {GOAL_KPP:g}× faster than scikit-learn on B: "
                    f"{threads} thread(s)")
            m = self.extras.get(("kpp", threads, "mixtura")) or {}
            s = self.extras.get(("kpp", threads, "sklearn")) or {}
            if "seconds" in m and "seconds" in s:
                r = s["seconds"] / m["seconds"]
                rows.append([goal, f"{r:.2f}× ({fmt_time(m['seconds'])} vs "
                             f"{fmt_time(s['seconds'])}; seeding with its assignment of the rows)",
                             "PASS" if r >= GOAL_KPP else "FAIL"])
            else:
                rows.append([goal, "not measured", "SKIP"])
        goal = f"predict_proba ≥ {GOAL_PROBA:g}× faster than scikit-learn on B, 2 threads"
        m = self.extras.get(("proba", 2, "mixtura")) or {}
        s = self.extras.get(("proba", 2, "sklearn")) or {}
        if "proba" not in a.cases or 2 not in threads_run:
            pass
        elif "predict_proba_seconds" in m and "predict_proba_seconds" in s:
            r = s["predict_proba_seconds"] / m["predict_proba_seconds"]
            rows.append([goal, f"{r:.2f}× ({fmt_time(m['predict_proba_seconds'])} vs "
                         f"{fmt_time(s['predict_proba_seconds'])})",
                         "PASS" if r >= GOAL_PROBA else "FAIL"])
        else:
            rows.append([goal, "not measured", "SKIP"])
        if "gm" in a.cases and 2 in threads_run:
            for cov in GM_COVARIANCES:
                goal = (f"GaussianMixture.fit ≥ {GOAL_GM:g}× faster than scikit-learn on B: {cov}, "
                        "2 threads")
                m = self.extras.get((("gm", cov), 2, "mixtura")) or {}
                s = self.extras.get((("gm", cov), 2, "sklearn")) or {}
                if "fit_seconds" in m and "fit_seconds" in s:
                    r = s["fit_seconds"] / m["fit_seconds"]
                    rows.append([goal, f"{r:.2f}× ({fmt_time(m['fit_seconds'])} vs "
                                 f"{fmt_time(s['fit_seconds'])})",
                                 "PASS" if r >= GOAL_GM else "FAIL"])
                else:
                    rows.append([goal, "not measured", "SKIP"])
            for new, old in (("tied", "full"), ("spherical", "diag")):
                goal = f"GaussianMixture s/it: {new} ≤ {old} on B, 2 threads"
                a_ = self.extras.get((("gm", new), 2, "mixtura")) or {}
                b_ = self.extras.get((("gm", old), 2, "mixtura")) or {}
                if "seconds_per_iteration" in a_ and "seconds_per_iteration" in b_:
                    x, y = a_["seconds_per_iteration"], b_["seconds_per_iteration"]
                    rows.append([goal, f"{fmt_time(x)} vs {fmt_time(y)}",
                                 "PASS" if x <= y else "FAIL"])
                else:
                    rows.append([goal, "not measured", "SKIP"])
        if "d768" in a.cases:
            goal = "d=768 EM: mixtura faster than scikit-learn and oneDAL (2 threads)"
            r = {lib: (self.extras.get(("d768", lib)) or {}).get("seconds_per_iteration")
                 for lib in LARGE_D_LIBS}
            if None in r.values():
                missing = ", ".join(NAMES[lib] for lib, v in r.items() if v is None)
                rows.append([goal, f"not measured: {missing}", "SKIP"])
            else:
                m = r["mixtura"]
                rows.append([goal, f"{fmt_time(m)} vs scikit-learn {fmt_time(r['sklearn'])}, "
                             f"oneDAL {fmt_time(r['onedal'])} (s/it)",
                             "PASS" if m < r["sklearn"] and m < r["onedal"] else "FAIL"])
        for cov in covs if "dask" in a.cases else []:
            goal = f"EM on Dask (2 workers × 1 thread) ≤ {GOAL_DASK:g}× in-process (2 threads): B {cov}"
            r = self.extras.get(("dask", cov, "mixtura")) or {}
            if "dask_seconds" in r:
                ratio = r["dask_seconds"] / r["inprocess_seconds"]
                rows.append([goal, f"{ratio:.2f}× ({fmt_time(r['dask_seconds'])} vs "
                             f"{fmt_time(r['inprocess_seconds'])})",
                             "PASS" if ratio <= GOAL_DASK else "FAIL"])
            else:
                rows.append([goal, "not measured", "SKIP"])
        counts = {v: sum(r[2] == v for r in rows) for v in ("PASS", "FAIL", "SKIP")}
        self.out("## Goals", "")
        if self.quick:
            self.out("Quick mode: n is a tenth of the goals' sizes, so these verdicts only hint.",
                     "")
        self.out(*table(["goal", "measured", "verdict"], rows), "",
                 f"**{counts['PASS']} PASS, {counts['FAIL']} FAIL, {counts['SKIP']} SKIP** "
                 f"(whole run: {(time.time() - self.started) / 60:.1f} minutes; load average at "
                 f"the end: {load_average()})")

    def main(self):
        needed = list(self.args.libs)
        if set(self.args.cases) & set(EXTRAS):
            needed += [lib for lib in ("mixtura", "sklearn") if lib in self.args.libs]
        for lib in dict.fromkeys(needed):
            self.status[lib] = probe(lib)
            if not self.status[lib][0]:
                self.log(f"{NAMES[lib]} not installed: {self.status[lib][1]}")
        self.header()
        for case in self.args.cases:
            if case in CASES:
                self.run_case(case)
            else:
                self.run_extra(case)
        self.goals()
        if self.args.write_results:
            with open(self.args.write_results, "w") as f:
                f.write("\n".join(self.lines) + "\n")
            self.log(f"wrote {relative(os.path.abspath(self.args.write_results))}")


def csv_list(allowed, transform=str):
    def parse(text):
        items = [transform(x.strip()) for x in text.split(",") if x.strip()]
        bad = [x for x in items if x not in allowed]
        if bad or not items:
            raise argparse.ArgumentTypeError(f"expected a comma-separated list of {allowed}")
        return list(dict.fromkeys(items))
    return parse


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   default=os.environ.get("MIXTURA_BENCH_QUICK", "") not in ("", "0"),
                   help="divide every n by 10 (also MIXTURA_BENCH_QUICK=1)")
    p.add_argument("--cases", type=csv_list(list(CASES) + list(EXTRAS),
                                            lambda x: x if x.lower() in EXTRAS else x.upper()),
                   default=list(CASES) + list(EXTRAS),
                   help="cases to run, of A,B,C,D,kpp,proba,gm,dask,d768 (default: all)")
    p.add_argument("--libs", type=csv_list(LIBS, str.lower), default=list(LIBS),
                   help="libraries, of mixtura,sklearn,onedal,pomegranate (default: all)")
    p.add_argument("--threads", type=csv_list([1, 2], int), default=[1, 2],
                   help="thread counts, of 1,2 (default: both)")
    p.add_argument("--covariances", type=csv_list(COVARIANCES, str.lower),
                   default=list(COVARIANCES), help="full,diag (default: both)")
    p.add_argument("--dtypes", type=csv_list(DTYPES, str.lower), default=list(DTYPES),
                   help="element types of the EM cases' rows, float64,float32 (default: both)")
    p.add_argument("--repeats", type=int, default=3, help="repeats per timing (default 3)")
    p.add_argument("--write-results", nargs="?", const=RESULTS, default=None, metavar="FILE",
                   help="also write the whole output to FILE (default benches/RESULTS.md)")
    args = p.parse_args(argv)
    if args.repeats < 1:
        p.error("--repeats must be at least 1")
    return args


def main(argv=None):
    Bench(parse_args(argv)).main()


if __name__ == "__main__":
    main()
