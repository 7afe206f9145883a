//! `Kmeans`: k-means centroids, their fit and the seeding alone.

use numpy::prelude::*;
use numpy::{PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;

use super::options::iteration_limit;
use super::{on_rows, weights_view};
use crate::kmeans::{Init, Kmeans, KmeansOptions};

/// k-means centroids and their fit.
#[pyclass(module = "mixtura._core", name = "Kmeans")]
#[derive(Clone)]
pub struct PyKmeans {
    inner: Kmeans,
}

#[pymethods]
impl PyKmeans {
    /// k-means with the given centroids, shape `(k, d)`.
    #[new]
    fn new(centroids: PyReadonlyArray2<'_, f64>) -> PyResult<Self> {
        Ok(PyKmeans {
            inner: Kmeans::new(centroids.as_array().to_owned())?,
        })
    }

    /// Fits k-means to `x`, shape `(n, d)`: the seeding `init` (or the given `centroids`),
    /// then Lloyd updates; the best of `n_init` runs is kept.
    #[allow(clippy::too_many_arguments)]
    #[staticmethod]
    #[pyo3(signature = (k, x, weights=None, init="kmeans++", n_init=1, max_iterations=1000.0,
        stop_threshold=1e-3, seed=0, n_jobs=1, centroids=None))]
    fn fit(
        py: Python<'_>,
        k: usize,
        x: PyReadonlyArray2<'_, f64>,
        weights: Option<PyReadonlyArray1<'_, f64>>,
        init: &str,
        n_init: usize,
        max_iterations: f64,
        stop_threshold: f64,
        seed: u64,
        n_jobs: i64,
        centroids: Option<PyReadonlyArray2<'_, f64>>,
    ) -> PyResult<Self> {
        let max_iterations = iteration_limit("max_iterations", max_iterations)?;
        let init = match centroids {
            Some(c) => {
                Init::Centroids(Kmeans::new(c.as_array().to_owned())?.centroids().to_owned())
            }
            None => Init::from_name(init)?,
        };
        let w = weights_view(&weights);
        let inner = on_rows(py, &x, n_jobs, |x, threads| {
            let opts = KmeansOptions {
                k,
                init,
                n_init,
                max_iterations,
                stop_threshold,
                seed,
                threads,
            };
            Kmeans::fit(x, w, &opts)
        })?;
        Ok(PyKmeans { inner })
    }

    /// The initial centroids `fit` would start from (the seeding alone).
    #[staticmethod]
    #[pyo3(signature = (k, x, weights=None, init="kmeans++", seed=0, n_jobs=1))]
    fn initial_centroids<'py>(
        py: Python<'py>,
        k: usize,
        x: PyReadonlyArray2<'py, f64>,
        weights: Option<PyReadonlyArray1<'py, f64>>,
        init: &str,
        seed: u64,
        n_jobs: i64,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let init = Init::from_name(init)?;
        let w = weights_view(&weights);
        let c = on_rows(py, &x, n_jobs, |x, threads| {
            let opts = KmeansOptions {
                k,
                init,
                n_init: 1,
                max_iterations: 0,
                stop_threshold: 0.0,
                seed,
                threads,
            };
            Kmeans::initial_centroids(x, w, &opts)
        })?;
        Ok(c.into_pyarray(py))
    }

    /// The centroids, shape `(k, d)`.
    #[getter]
    fn centroids<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f64>> {
        self.inner.centroids().to_pyarray(py)
    }

    /// The weighted sum of squared distances to the nearest centroid.
    #[getter]
    fn inertia(&self) -> f64 {
        self.inner.inertia
    }

    /// The index of the nearest centroid of each row.
    #[pyo3(signature = (x, n_jobs=1))]
    fn predict<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f64>,
        n_jobs: i64,
    ) -> PyResult<Bound<'py, PyArray1<i32>>> {
        let out = on_rows(py, &x, n_jobs, |x, t| self.inner.predict(x, t))?;
        Ok(out.mapv(|v| v as i32).into_pyarray(py))
    }
}
