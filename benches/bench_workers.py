"""The measured side of mixtura's benchmarks (benches/bench.py): each job runs in a fresh process
of its library's interpreter, as ``python benches/bench_workers.py JOB`` (JOB a JSON object whose
"kind" names the worker), and prints one line ``RESULT {...}``: times, peak memory, mean
log-likelihoods. It needs only numpy and the library measured, so that oneDAL's and
pomegranate's environments can run it.
"""

import contextlib
import gc
import json
import math
import platform
import sys
import threading
import time

import numpy as np

IMPORT = {"mixtura": "mixtura", "sklearn": "sklearn", "onedal": "daal4py",
          "pomegranate": "protopunica"}
DASK_PARTITIONS = 8      # row partitions of B on the cluster


def _status_bytes(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


class PeakMemory:
    """The peak resident memory of this process during a ``with`` block, above its resident
    memory at the start: the kernel's high-water mark, reset at the start through
    /proc/self/clear_refs, or where that cannot be written, VmRSS sampled every millisecond."""

    def __enter__(self):
        gc.collect()
        self.base = _status_bytes("VmRSS")
        self._stop = None
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            self.method = "VmHWM"
        except OSError:
            self.method = "VmRSS sampled every 1 ms"
            self._peak = self.base
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(0.001):
            self._peak = max(self._peak, _status_bytes("VmRSS"))

    def __exit__(self, *exc):
        if self._stop is None:
            peak = _status_bytes("VmHWM")
        else:
            self._stop.set()
            self._thread.join()
            peak = max(self._peak, _status_bytes("VmRSS"))
        self.extra = max(0, peak - self.base)
        return False


def numpy_mean_log_likelihood(X, weights, means, covariances, chunk=65536):
    """The mean log-density of the rows of X under a Gaussian mixture; ``covariances`` of shape
    (k, d, d), or (k, d) for diagonal ones."""
    n, d = X.shape
    k = len(weights)
    diagonal = covariances.ndim == 2
    maps, logdets = [], []
    for j in range(k):
        if diagonal:
            maps.append(1.0 / np.sqrt(covariances[j]))
            logdets.append(0.5 * np.sum(np.log(covariances[j])))
        else:
            L = np.linalg.cholesky(covariances[j])
            maps.append(np.linalg.inv(L).T)
            logdets.append(np.sum(np.log(np.diag(L))))
    total = 0.0
    for start in range(0, n, chunk):
        xb = X[start:start + chunk]
        lp = np.empty((len(xb), k))
        for j in range(k):
            diff = xb - means[j]
            z = diff * maps[j] if diagonal else diff @ maps[j]
            lp[:, j] = (np.log(weights[j]) - 0.5 * np.einsum("ij,ij->i", z, z) - logdets[j]
                        - 0.5 * d * math.log(2 * math.pi))
        top = lp.max(axis=1)
        total += float(np.sum(top + np.log(np.exp(lp - top[:, None]).sum(axis=1))))
    return total / n


def mean_squared_distance(X, centers, chunk=65536):
    """Mean over rows of the squared distance to the nearest center (k-means' potential / n)."""
    c2 = np.einsum("ij,ij->i", centers, centers)
    total = 0.0
    for start in range(0, len(X), chunk):
        xb = X[start:start + chunk]
        d2 = np.einsum("ij,ij->i", xb, xb)[:, None] - 2 * xb @ centers.T + c2
        total += float(np.maximum(d2.min(axis=1), 0).sum())
    return total / len(X)


def blas_threads():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    counts = [p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"]
    return max(counts) if counts else None


# ------------------------------------------------------------------------------------------------
# The libraries' EM, behind one interface: new(iterations) -> unfitted object; fit(obj) -> fitted
# model (the only timed call); mean_ll(fitted); iterations(fitted, requested); threads_seen().


class MixturaEM:
    def __init__(self, X, init, cov, threads):
        import mixtura

        self.mx, self.X, self.init, self.cov, self.threads = mixtura, X, init, cov, threads

    def new(self, iterations):
        mx, init = self.mx, self.init
        if self.cov == "full":
            dists = [mx.MultivariateGaussianDistribution(m, c)
                     for m, c in zip(init["means"], init["covariances"])]
        else:
            dists = [mx.IndependentComponentsDistribution(
                [mx.NormalDistribution(mu, math.sqrt(v)) for mu, v in zip(m, np.diag(c))])
                for m, c in zip(init["means"], init["covariances"])]
        return mx.GeneralMixtureModel(dists, weights=init["weights"]), iterations

    def fit(self, obj):
        model, iterations = obj
        model.fit(self.X, max_iterations=iterations, stop_threshold=-np.inf, n_jobs=self.threads)
        return model

    def mean_ll(self, model):
        return float(np.mean(model.log_probability(self.X, n_jobs=self.threads)))

    def iterations(self, model, requested):
        return requested

    def threads_seen(self):
        return self.threads


class SklearnEM:
    def __init__(self, X, init, cov, threads):
        from sklearn.mixture import GaussianMixture

        self.GM, self.X, self.init, self.threads = GaussianMixture, X, init, threads
        self.cov = cov
        covs = init["covariances"]
        if cov == "full":
            self.precisions = np.array([np.linalg.inv(c) for c in covs])
        else:
            self.precisions = np.array([1.0 / np.diag(c) for c in covs])

    def new(self, iterations):
        k = len(self.init["weights"])
        return self.GM(k, covariance_type=self.cov, tol=0.0, reg_covar=0.0, max_iter=iterations,
                       n_init=1, init_params="random_from_data", random_state=0,
                       weights_init=self.init["weights"], means_init=self.init["means"],
                       precisions_init=self.precisions)

    def fit(self, gm):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning: tol=0 never converges
            gm.fit(self.X)
        return gm

    def mean_ll(self, gm):
        return float(gm.score(self.X))

    def iterations(self, gm, requested):
        return int(gm.n_iter_)

    def threads_seen(self):
        return blas_threads()


class OneDalEM:
    def __init__(self, X, init, cov, threads):
        import daal4py

        daal4py.daalinit(threads)
        self.d4p, self.X, self.threads = daal4py, X, threads
        k, d = init["means"].shape
        self.k = k
        self.storage = "full" if cov == "full" else "diagonal"
        # float32 rows: oneDAL's float computing (fptype="float"), its inputs as float32.
        dtype = X.dtype
        self.fptype = "float" if dtype == np.float32 else "double"
        self.weights = np.ascontiguousarray(init["weights"].reshape(1, k), dtype=dtype)
        self.means = np.ascontiguousarray(init["means"], dtype=dtype)
        if cov == "full":
            self.covs = [np.ascontiguousarray(c, dtype=dtype) for c in init["covariances"]]
        else:
            self.covs = [np.ascontiguousarray(np.diag(c).reshape(1, d), dtype=dtype)
                         for c in init["covariances"]]

    def new(self, iterations):
        return self.d4p.em_gmm(nComponents=self.k, maxIterations=iterations, accuracyThreshold=0.0,
                               covarianceStorage=self.storage, fptype=self.fptype)

    def fit(self, algorithm):
        return algorithm.compute(self.X, self.weights, self.means, self.covs)

    def mean_ll(self, result):
        covs = np.array([np.asarray(c) for c in result.covariances])
        if self.storage == "diagonal":
            covs = covs.reshape(self.k, -1)
        return numpy_mean_log_likelihood(self.X, np.ravel(result.weights), np.asarray(result.means),
                                         covs)

    def iterations(self, result, requested):
        return int(np.ravel(result.nIterations)[0])

    def threads_seen(self):
        return int(self.d4p.num_threads())


class PomegranateEM(MixturaEM):
    """pomegranate 0.14.8 (the protopunica package), the same API as mixtura. Its fit summarises
    X in one batch unless batch_size is given, so with n_jobs > 1 the batches are n / n_jobs."""

    def __init__(self, X, init, cov, threads):
        import protopunica

        self.mx, self.X, self.init, self.cov, self.threads = protopunica, X, init, cov, threads

    def fit(self, obj):
        model, iterations = obj
        batch = None if self.threads == 1 else -(-len(self.X) // self.threads)
        model.fit(self.X, max_iterations=iterations, stop_threshold=-np.inf, n_jobs=self.threads,
                  batch_size=batch)
        return model

    def mean_ll(self, model):
        return float(np.mean(model.log_probability(self.X)))


ADAPTERS = {"mixtura": MixturaEM, "sklearn": SklearnEM, "onedal": OneDalEM,
            "pomegranate": PomegranateEM}


# ------------------------------------------------------------------------------------------------
# Workers (one process each)


def load(job):
    X = np.load(job["data"])  # read whole into memory: every page is touched
    with np.load(job["params"]) as p:
        params = {key: p[key] for key in p.files}
    init = {key[len("init_"):]: v for key, v in params.items() if key.startswith("init_")}
    X = np.ascontiguousarray(X)
    if job.get("dtype") == "float32":
        X = X.astype(np.float32)
    return X, params, init


def worker_em(job):
    X, _, init = load(job)
    lib = ADAPTERS[job["lib"]](X, init, job["cov"], job["threads"])
    n_iter, mem_iter = job["iterations"], job["mem_iterations"]
    ll = {}
    mem = None
    if mem_iter:
        # The first fit: peak memory (above the data), a warm-up, and a log-likelihood.
        obj = lib.new(mem_iter)
        with PeakMemory() as mem:
            fitted = lib.fit(obj)
        if mem_iter in job["ll_at"]:
            ll[str(mem_iter)] = lib.mean_ll(fitted)
        del obj, fitted

    per_iteration, t1s, tns, done = [], [], [], []
    warm = None
    for _ in range(job["repeats"]):
        gc.collect()
        obj = lib.new(1)
        # Without a first fit of its own (pomegranate, slow), memory is measured on this one;
        # with one, this first 1-iteration fit gives the memory of a fit in a warm process (the
        # first fit's includes the one-time costs of the process: code paged in, threads, pools).
        measure = PeakMemory() if mem is None or warm is None else contextlib.nullcontext()
        with measure:
            start = time.perf_counter()
            fitted = lib.fit(obj)
            t1 = time.perf_counter() - start
        if mem is None:
            mem = measure
        elif warm is None:
            warm = measure
        done1 = lib.iterations(fitted, 1)
        del obj, fitted
        gc.collect()
        obj = lib.new(n_iter)
        start = time.perf_counter()
        fitted = lib.fit(obj)
        tn = time.perf_counter() - start
        done_n = lib.iterations(fitted, n_iter)
        t1s.append(t1)
        tns.append(tn)
        done.append(done_n)
        if done_n > done1:
            per_iteration.append((tn - t1) / (done_n - done1))
    ll[str(n_iter)] = lib.mean_ll(fitted)
    for m in job["ll_at"]:
        if str(m) not in ll:
            ll[str(m)] = lib.mean_ll(lib.fit(lib.new(m)))
    return {
        "seconds_per_iteration": float(np.median(per_iteration)) if per_iteration else None,
        "t1": t1s, "tn": tns, "iterations_done": done, "mean_ll": ll,
        "extra_peak_bytes": mem.extra, "memory_method": mem.method, "data_bytes": X.nbytes,
        "warm_extra_peak_bytes": warm.extra if warm is not None else None,
        "threads_seen": lib.threads_seen(),
    }


def _median_time(f, repeats):
    f()  # warm-up
    times = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def worker_kpp(job):
    X, params, _ = load(job)
    k, threads, repeats = len(params["weights"]), job["threads"], job["repeats"]
    out = {"threads_seen": threads}
    if job["lib"] == "sklearn":
        from sklearn.cluster import kmeans_plusplus

        seeds = iter(range(1000))
        centers = []
        out["seconds"] = _median_time(
            lambda: centers.append(kmeans_plusplus(X, k, random_state=next(seeds))[0]), repeats)
        out["threads_seen"] = blas_threads()
    else:
        from mixtura import Kmeans

        seeds = iter(range(1000))
        centers = []

        def seed():
            km = Kmeans(k, init="kmeans++", n_init=1).fit(X, max_iterations=0, n_jobs=threads,
                                                          random_state=next(seeds))
            centers.append(km.centroids)

        out["seconds"] = _median_time(seed, repeats)
        given = centers[0]
        out["assignment_seconds"] = _median_time(
            lambda: Kmeans(k, init=given, n_init=1).fit(X, max_iterations=0, n_jobs=threads),
            repeats)
    out["potential"] = float(np.median([mean_squared_distance(X, c) for c in centers]))
    return out


def worker_proba(job):
    X, params, _ = load(job)
    weights, means, covs = params["weights"], params["means"], params["covariances"]
    k, d = means.shape
    threads, repeats = job["threads"], job["repeats"]
    if job["lib"] == "sklearn":
        from sklearn.mixture import GaussianMixture

        gm = GaussianMixture(k, covariance_type="full")
        gm.weights_, gm.means_, gm.covariances_ = weights, means, covs
        chol = np.array([np.linalg.inv(np.linalg.cholesky(c)).T for c in covs])
        gm.precisions_cholesky_ = chol
        gm.precisions_ = np.array([c @ c.T for c in chol])
        gm.converged_, gm.n_iter_, gm.lower_bound_, gm.n_features_in_ = True, 0, -np.inf, d
        proba, logp = gm.predict_proba, gm.score_samples
        seen = blas_threads()
    else:
        import mixtura as mx

        model = mx.GeneralMixtureModel(
            [mx.MultivariateGaussianDistribution(m, c) for m, c in zip(means, covs)],
            weights=weights)

        def proba(X):
            return model.predict_proba(X, n_jobs=threads)

        def logp(X):
            return model.log_probability(X, n_jobs=threads)

        seen = threads
    return {
        "predict_proba_seconds": _median_time(lambda: proba(X), repeats),
        "log_probability_seconds": _median_time(lambda: logp(X), repeats),
        "proba_column_means": [float(v) for v in proba(X).mean(axis=0)],
        "mean_log_probability": float(np.mean(logp(X))),
        "threads_seen": seen,
    }


def gm_start(init, cov):
    """The initial parameters of the GaussianMixture comparison: the shared weights and means,
    identity precisions in the shape of ``cov``."""
    k, d = init["means"].shape
    precisions = {"full": np.repeat(np.eye(d)[None], k, axis=0), "tied": np.eye(d),
                  "diag": np.ones((k, d)), "spherical": np.ones(k)}[cov]
    return {"weights_init": init["weights"], "means_init": init["means"],
            "precisions_init": precisions}


def worker_gm(job):
    import warnings

    X, _, init = load(job)
    cov, threads, n_iter = job["cov"], job["threads"], job["iterations"]
    k = len(init["weights"])
    if job["lib"] == "sklearn":
        from sklearn.mixture import GaussianMixture

        extra = {}
    else:
        from mixtura import GaussianMixture

        extra = {"n_jobs": threads}

    def fit(iterations):
        gm = GaussianMixture(k, covariance_type=cov, tol=0.0, max_iter=iterations,
                             **gm_start(init, cov), **extra)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning: tol=0 never converges
            start = time.perf_counter()
            gm.fit(X)
            return time.perf_counter() - start, gm

    t1s, tns = [], []
    for _ in range(job["repeats"]):
        gc.collect()
        t1s.append(fit(1)[0])
        gc.collect()
        tn, gm = fit(n_iter)
        tns.append(tn)
    t1, tn = float(np.median(t1s)), float(np.median(tns))
    return {
        "fit_seconds": tn, "seconds_per_iteration": (tn - t1) / (n_iter - 1),
        "iterations": int(gm.n_iter_), "lower_bound": float(gm.lower_bound_),
        "threads_seen": threads if job["lib"] == "mixtura" else blas_threads(),
    }
def _npy_rows(path, start, stop):
    """Rows start..stop of a .npy file, read where this runs (a Dask worker)."""
    return np.array(np.load(path, mmap_mode="r")[start:stop])


def _fit_seconds(lib, iterations):
    """Seconds of one fit of ``iterations`` iterations, and the fitted model."""
    gc.collect()
    obj = lib.new(iterations)
    start = time.perf_counter()
    fitted = lib.fit(obj)
    return time.perf_counter() - start, fitted


def worker_dask(job):
    """EM on case B: in-process with job["threads"] threads, and on a LocalCluster of 2 worker
    processes of 1 thread each, whose workers read their partitions of the .npy file themselves
    (kept in their memory: persist); the same initial parameters and iterations. The two are
    timed in turns, repeat by repeat, so that a change of the machine's load falls on both."""
    import dask.array as da
    from distributed import Client, LocalCluster, wait

    X, _, init = load(job)
    n, d = X.shape
    n_iter = job["iterations"]
    out = {"partitions": DASK_PARTITIONS}
    cuts = np.linspace(0, n, DASK_PARTITIONS + 1).astype(int)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=40) as cluster, Client(cluster) as client:
        # The partitions are read on the workers in turn, half on each (left to itself, the
        # scheduler may put more on one, and an iteration then waits for that one or moves
        # partitions between them).
        workers = sorted(client.scheduler_info()["workers"])
        futures = [client.submit(_npy_rows, job["data"], int(a), int(b), pure=False,
                                 workers=[workers[i % len(workers)]])
                   for i, (a, b) in enumerate(zip(cuts[:-1], cuts[1:]))]
        parts = [da.from_delayed(f, shape=(int(b - a), d), dtype=np.float64)
                 for f, a, b in zip(futures, cuts[:-1], cuts[1:])]
        Xd = da.concatenate(parts).persist()
        wait(Xd)
        libs = {"inprocess": MixturaEM(X, init, job["cov"], job["threads"]),
                "dask": MixturaEM(Xd, init, job["cov"], 1)}
        per_iteration = {name: [] for name in libs}
        fitted = {}
        for lib in libs.values():
            lib.fit(lib.new(1))  # warm-up
        for _ in range(job["repeats"]):
            for name, lib in libs.items():
                t1, _ = _fit_seconds(lib, 1)
                tn, fitted[name] = _fit_seconds(lib, n_iter)
                per_iteration[name].append((tn - t1) / (n_iter - 1))
        for name in libs:
            out[f"{name}_seconds"] = float(np.median(per_iteration[name]))
            out[f"{name}_all"] = per_iteration[name]
        out["inprocess_mean_ll"] = libs["inprocess"].mean_ll(fitted["inprocess"])
        out["dask_mean_ll"] = float(np.mean(fitted["dask"].log_probability(Xd)).compute())
        out["workers"] = len(client.scheduler_info()["workers"])
    return out


def worker_probe(job):
    import importlib
    from importlib import metadata

    importlib.import_module(IMPORT[job["lib"]])
    dists = {"mixtura": ["mixtura"], "sklearn": ["scikit-learn"],
             "onedal": ["scikit-learn-intelex", "daal4py", "daal"],
             "pomegranate": ["protopunica"]}[job["lib"]]
    versions = []
    for dist in dists:
        try:
            versions.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            pass
    versions.append(f"numpy {np.__version__}")
    return {"versions": ", ".join(versions), "python": platform.python_version()}


WORKERS = {"em": worker_em, "kpp": worker_kpp, "proba": worker_proba, "gm": worker_gm,
           "dask": worker_dask,
           "probe": worker_probe}


def main(argv):
    job = json.loads(argv[0])
    print("RESULT " + json.dumps(WORKERS[job["kind"]](job)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
