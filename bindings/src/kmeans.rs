//! `Kmeans` and `KmeansSummary`: k-means centroids, their fit, the seeding alone, and the
//! statistics behind pomegranate's `summarize` / `from_summaries`.

use numpy::prelude::*;
use numpy::{PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;

use crate::errors::py_err;
use crate::options::iteration_limit;
use crate::{on_rows, style, weights_view, with_view, PyRows};
use mixtura::{Init, Kmeans, KmeansOptions, KmeansRun, KmeansStats};

/// The statistics of k-means over some rows (additive: `merge` gives those of both sets).
#[pyclass(module = "mixtura._core", name = "KmeansSummary")]
#[derive(Clone)]
pub struct PyKmeansSummary {
    inner: KmeansStats,
}

#[pymethods]
impl PyKmeansSummary {
    /// Statistics from their parts: `sums` and `weights`, shape `(k, d)`, and `distance`.
    #[new]
    fn new(
        sums: PyReadonlyArray2<'_, f64>,
        weights: PyReadonlyArray2<'_, f64>,
        distance: f64,
    ) -> PyResult<Self> {
        Ok(PyKmeansSummary {
            inner: KmeansStats::from_parts(
                sums.as_array().to_owned(),
                weights.as_array().to_owned(),
                distance,
            )
            .map_err(py_err)?,
        })
    }

    /// No statistics, for `k` centroids of `d` features.
    #[staticmethod]
    fn zeros(k: usize, d: usize) -> Self {
        PyKmeansSummary {
            inner: KmeansStats::zeros(k, d),
        }
    }

    /// Adds the statistics of `other` into these.
    fn merge(&mut self, other: PyRef<'_, PyKmeansSummary>) -> PyResult<()> {
        self.inner.merge(&other.inner).map_err(py_err)
    }

    /// Per centroid and feature, the weighted sum of the observed values.
    #[getter]
    fn sums<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f64>> {
        self.inner.sums().to_pyarray(py)
    }

    /// Per centroid and feature, the total weight of the observed values.
    #[getter]
    fn weights<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f64>> {
        self.inner.weights().to_pyarray(py)
    }

    /// The total weighted squared distance of the rows to their nearest centroid.
    #[getter]
    fn distance(&self) -> f64 {
        self.inner.distance()
    }
}

/// One run of a fit: `(initial_distance, distance, improvements, seconds, seconds_total)`.
type RunLog = (f64, f64, Vec<f64>, Vec<f64>, f64);

fn run_log(r: &KmeansRun) -> RunLog {
    (
        r.initial_distance,
        r.distance,
        r.improvements.clone(),
        r.seconds.clone(),
        r.seconds_total,
    )
}

/// k-means centroids and their fit.
#[pyclass(module = "mixtura._core", name = "Kmeans")]
#[derive(Clone)]
pub struct PyKmeans {
    inner: Kmeans,
    runs: Vec<KmeansRun>,
}

#[pymethods]
impl PyKmeans {
    /// k-means with the given centroids, shape `(k, d)`.
    #[new]
    fn new(centroids: PyReadonlyArray2<'_, f64>) -> PyResult<Self> {
        Ok(PyKmeans {
            inner: Kmeans::new(centroids.as_array().to_owned()).map_err(py_err)?,
            runs: Vec::new(),
        })
    }

    /// Fits k-means to `x`, shape `(n, d)`: the seeding `init` (or the given `centroids`) on the
    /// first batch, then pomegranate's updates; the best of `n_init` runs is kept.
    #[allow(clippy::too_many_arguments)]
    #[staticmethod]
    #[pyo3(signature = (k, x, weights=None, init="kmeans++", n_init=1, max_iterations=1000.0,
        stop_threshold=1e-3, seed=0, n_jobs=1, centroids=None, inertia=0.0,
        clear_summaries=false, batch_size=None, batches_per_epoch=None))]
    fn fit(
        py: Python<'_>,
        k: usize,
        x: PyRows<'_>,
        weights: Option<PyReadonlyArray1<'_, f64>>,
        init: &str,
        n_init: usize,
        max_iterations: f64,
        stop_threshold: f64,
        seed: u64,
        n_jobs: i64,
        centroids: Option<PyReadonlyArray2<'_, f64>>,
        inertia: f64,
        clear_summaries: bool,
        batch_size: Option<usize>,
        batches_per_epoch: Option<usize>,
    ) -> PyResult<Self> {
        let max_iterations = iteration_limit("max_iterations", max_iterations).map_err(py_err)?;
        let init = match centroids {
            Some(c) => Init::Centroids(
                Kmeans::new(c.as_array().to_owned())
                    .map_err(py_err)?
                    .centroids()
                    .to_owned(),
            ),
            None => Init::from_name(init).map_err(py_err)?,
        };
        let w = weights_view(&weights);
        let (inner, runs) = on_rows(py, &x, n_jobs, |x, threads| {
            let mut opts = KmeansOptions::new(k)
                .init(init)
                .n_init(n_init)
                .max_iterations(max_iterations)
                .stop_threshold(stop_threshold)
                .seed(seed)
                .threads(threads)
                .inertia(inertia)
                .clear_summaries(clear_summaries);
            opts.batch_size = batch_size;
            opts.batches_per_epoch = batches_per_epoch;
            Kmeans::fit_rows(x, w, &opts)
        })?;
        Ok(PyKmeans { inner, runs })
    }

    /// The initial centroids `fit` would start from (the seeding alone).
    #[staticmethod]
    #[pyo3(signature = (k, x, weights=None, init="kmeans++", seed=0, n_jobs=1))]
    fn initial_centroids<'py>(
        py: Python<'py>,
        k: usize,
        x: PyRows<'py>,
        weights: Option<PyReadonlyArray1<'py, f64>>,
        init: &str,
        seed: u64,
        n_jobs: i64,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let init = Init::from_name(init).map_err(py_err)?;
        let w = weights_view(&weights);
        let c = on_rows(py, &x, n_jobs, |x, threads| {
            let opts = KmeansOptions::new(k)
                .init(init)
                .max_iterations(0)
                .stop_threshold(0.0)
                .seed(seed)
                .threads(threads);
            with_view!(x, v => Kmeans::initial_centroids(v, w, &opts))
        })?;
        Ok(c.into_pyarray(py))
    }

    /// A model from its JSON document (pomegranate's `Kmeans` layout).
    #[staticmethod]
    fn from_json(text: &str) -> PyResult<Self> {
        Ok(PyKmeans {
            inner: Kmeans::from_json(text).map_err(py_err)?,
            runs: Vec::new(),
        })
    }

    /// The JSON document, laid out as `json.dumps` would with these arguments.
    #[pyo3(signature = (indent=Some(4), item_separator=",", key_separator=" : "),
        text_signature = "(self, /, indent=4, item_separator=',', key_separator=' : ')")]
    fn to_json(&self, indent: Option<usize>, item_separator: &str, key_separator: &str) -> String {
        self.inner
            .to_json_with(&style(indent, item_separator, key_separator))
    }

    /// The centroids, shape `(k, d)`.
    #[getter]
    fn centroids<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f64>> {
        self.inner.centroids().to_pyarray(py)
    }

    /// The weighted sum of squared distances to the nearest centroid of the fitted rows (NaN
    /// before a fit).
    #[getter]
    fn inertia(&self) -> f64 {
        self.inner.inertia
    }

    /// What each run of the last fit did: `(initial_distance, distance, improvements, seconds,
    /// seconds_total)`.
    #[getter]
    fn runs(&self) -> Vec<RunLog> {
        self.runs.iter().map(run_log).collect()
    }

    /// The index of the nearest centroid of each row.
    #[pyo3(signature = (x, n_jobs=1))]
    fn predict<'py>(
        &self,
        py: Python<'py>,
        x: PyRows<'py>,
        n_jobs: i64,
    ) -> PyResult<Bound<'py, PyArray1<i32>>> {
        let out = on_rows(
            py,
            &x,
            n_jobs,
            |x, t| with_view!(x, v => self.inner.predict(v, t)),
        )?;
        Ok(crate::labels_as(&out, |v| v as i32)?.into_pyarray(py))
    }

    /// The squared distance of each row to each centroid, NaN coordinates skipped, `(n, k)`.
    #[pyo3(signature = (x, n_jobs=1))]
    fn distance<'py>(
        &self,
        py: Python<'py>,
        x: PyRows<'py>,
        n_jobs: i64,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let out = on_rows(
            py,
            &x,
            n_jobs,
            |x, t| with_view!(x, v => self.inner.distance(v, t)),
        )?;
        Ok(out.into_pyarray(py))
    }

    /// The statistics of the rows `x` under these centroids.
    #[pyo3(signature = (x, weights=None, n_jobs=1))]
    fn summarize(
        &self,
        py: Python<'_>,
        x: PyRows<'_>,
        weights: Option<PyReadonlyArray1<'_, f64>>,
        n_jobs: i64,
    ) -> PyResult<PyKmeansSummary> {
        let w = weights_view(&weights);
        let inner = on_rows(
            py,
            &x,
            n_jobs,
            |x, t| with_view!(x, v => self.inner.summarize(v, w, t)),
        )?;
        Ok(PyKmeansSummary { inner })
    }

    /// Moves the centroids with the statistics `stats` (blended with `inertia`).
    #[pyo3(signature = (stats, inertia=0.0))]
    fn from_summaries(&mut self, stats: PyRef<'_, PyKmeansSummary>, inertia: f64) -> PyResult<()> {
        self.inner
            .from_summaries(&stats.inner, inertia)
            .map_err(py_err)
    }
}

impl PyKmeans {
    /// The Rust model.
    pub(super) fn from_model(inner: Kmeans) -> Self {
        PyKmeans {
            inner,
            runs: Vec::new(),
        }
    }
}
