//! `GaussianMixture`: the scikit-learn-style Gaussian mixture of the crate, its fit (with the
//! events of scikit-learn's verbose output passed to a Python callback) and predictions.

use numpy::ndarray::{Array1, Array2, ArrayD, Ix1, Ix2, Ix3};
use numpy::prelude::*;
use numpy::{
    PyArray1, PyArray2, PyArrayDyn, PyReadonlyArray1, PyReadonlyArray2, PyReadonlyArrayDyn,
};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::invalid;
use crate::errors::py_err;
use crate::{on_rows, threads, with_view, PyRows};
use mixtura::bindings::{precision_name, shape_error};
use mixtura::Error;
use mixtura::{
    CovarianceType, Covariances, GaussianEvent, GaussianFitReport, GaussianInit, GaussianMixture,
    GaussianMixtureOptions,
};

/// Drawn rows and their components.
type Sample<'py> = (Bound<'py, PyArray2<f64>>, Bound<'py, PyArray1<i64>>);

/// A scikit-learn-style Gaussian mixture.
#[pyclass(module = "mixtura._core", name = "GaussianMixture")]
#[derive(Clone)]
pub struct PyGaussianMixture {
    inner: GaussianMixture,
}

/// Arrays of covariance type `t` from a numpy array of any dimension, named `name` in errors.
fn covariances_from(name: &str, t: CovarianceType, a: ArrayD<f64>) -> PyResult<Covariances> {
    let shape = a.shape().to_vec();
    let wrong = || {
        invalid(
            name,
            format!(
                "has the wrong number of dimensions for covariance_type '{}': shape {shape:?}",
                t.name()
            ),
        )
    };
    Ok(match t {
        CovarianceType::Full => {
            Covariances::Full(a.into_dimensionality::<Ix3>().map_err(|_| wrong())?)
        }
        CovarianceType::Tied => {
            Covariances::Tied(a.into_dimensionality::<Ix2>().map_err(|_| wrong())?)
        }
        CovarianceType::Diag => {
            Covariances::Diag(a.into_dimensionality::<Ix2>().map_err(|_| wrong())?)
        }
        CovarianceType::Spherical => {
            Covariances::Spherical(a.into_dimensionality::<Ix1>().map_err(|_| wrong())?)
        }
    })
}

/// `a` when it has the shape `want`, else the error of scikit-learn's wording for parameter
/// `name` (`what` in the message).
fn of_shape(a: ArrayD<f64>, name: &str, what: &str, want: &[usize]) -> Result<ArrayD<f64>, Error> {
    if a.shape() != want {
        return Err(shape_error(name, what, want, a.shape()));
    }
    Ok(a)
}

/// Arrays of a covariance type as a numpy array.
fn covariances_to<'py>(py: Python<'py>, c: &Covariances) -> Bound<'py, PyArrayDyn<f64>> {
    match c {
        Covariances::Full(a) => a.clone().into_dyn().into_pyarray(py),
        Covariances::Tied(a) | Covariances::Diag(a) => a.clone().into_dyn().into_pyarray(py),
        Covariances::Spherical(a) => a.clone().into_dyn().into_pyarray(py),
    }
}

/// The report of a fit as a dict: `converged`, `n_iter`, `lower_bound`, `lower_bounds`.
fn report_dict<'py>(py: Python<'py>, r: &GaussianFitReport) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("converged", r.converged)?;
    d.set_item("n_iter", r.n_iter)?;
    d.set_item("lower_bound", r.lower_bound)?;
    d.set_item("lower_bounds", r.lower_bounds.clone())?;
    Ok(d)
}

/// Runs `fit` with the GIL released; at every event the GIL is taken to check for Ctrl-C and to
/// call `callback(kind, init, n_iter, lower_bound, change, converged)` when given.
fn run<'py, T: Send>(
    py: Python<'py>,
    callback: Option<Py<PyAny>>,
    fit: impl FnOnce(&mut (dyn FnMut(&GaussianEvent) -> Result<(), Error> + Send)) -> Result<T, Error>
        + Send,
) -> PyResult<T> {
    let mut python_error: Option<PyErr> = None;
    let result = py.detach(|| {
        let mut on_event = |e: &GaussianEvent| -> Result<(), Error> {
            Python::attach(|py| {
                let outcome = py.check_signals().and_then(|_| match &callback {
                    Some(cb) => {
                        let args = match *e {
                            GaussianEvent::InitStart { init } => {
                                ("init_start", init, 0u64, f64::NAN, f64::NAN, false)
                            }
                            GaussianEvent::Iteration {
                                init,
                                n_iter,
                                lower_bound,
                                change,
                            } => ("iteration", init, n_iter, lower_bound, change, false),
                            GaussianEvent::InitEnd {
                                init,
                                lower_bound,
                                converged,
                            } => ("init_end", init, 0, lower_bound, f64::NAN, converged),
                        };
                        cb.call1(py, args).map(|_| ())
                    }
                    None => Ok(()),
                });
                outcome.map_err(|err| {
                    let msg = err.to_string();
                    python_error = Some(err);
                    Error::interrupted(msg)
                })
            })
        };
        fit(&mut on_event)
    });
    match (result, python_error) {
        (Err(_), Some(e)) => Err(e),
        (r, _) => Ok(r.map_err(py_err)?),
    }
}

/// The options of a fit from the Python arguments.
#[allow(clippy::too_many_arguments)]
fn options(
    n_components: usize,
    covariance_type: &str,
    tol: f64,
    reg_covar: f64,
    max_iter: u64,
    n_init: usize,
    init_params: &str,
    seed: u64,
    n_jobs: i64,
) -> PyResult<GaussianMixtureOptions> {
    let mut o = GaussianMixtureOptions::new(n_components);
    o.covariance_type = CovarianceType::from_name(covariance_type).map_err(py_err)?;
    o.tol = tol;
    o.reg_covar = reg_covar;
    o.max_iter = max_iter;
    o.n_init = n_init;
    o.init = GaussianInit::from_name(init_params).map_err(py_err)?;
    o.seed = seed;
    o.threads = threads(n_jobs)?;
    o.check().map_err(py_err)?;
    Ok(o)
}

#[pymethods]
impl PyGaussianMixture {
    /// A mixture from fitted parameters, taken as they are: `weights` `(k,)`, `means` `(k, d)`,
    /// `covariances` and `precisions_cholesky` in the shape of `covariance_type`.
    #[new]
    fn new(
        covariance_type: &str,
        weights: PyReadonlyArray1<'_, f64>,
        means: PyReadonlyArray2<'_, f64>,
        covariances: PyReadonlyArrayDyn<'_, f64>,
        precisions_cholesky: PyReadonlyArrayDyn<'_, f64>,
    ) -> PyResult<Self> {
        let t = CovarianceType::from_name(covariance_type).map_err(py_err)?;
        let c = covariances_from("covariances", t, covariances.as_array().to_owned())?;
        let p = covariances_from(
            "precisions_cholesky",
            t,
            precisions_cholesky.as_array().to_owned(),
        )?;
        Ok(PyGaussianMixture {
            inner: GaussianMixture::from_parts(
                weights.as_array().to_owned(),
                means.as_array().to_owned(),
                c,
                p,
            )
            .map_err(py_err)?,
        })
    }

    /// Fits a new mixture to `x`, shape `(n, d)`, with scikit-learn's semantics; returns the
    /// model and the report dict. `callback(kind, init, n_iter, lower_bound, change, converged)`
    /// is called at every event (`"init_start"`, `"iteration"`, `"init_end"`).
    #[allow(clippy::too_many_arguments)]
    #[staticmethod]
    #[pyo3(signature = (x, n_components, covariance_type, tol, reg_covar, max_iter, n_init,
        init_params, seed, n_jobs, weights_init=None, means_init=None, precisions_init=None,
        callback=None))]
    fn fit<'py>(
        py: Python<'py>,
        x: PyRows<'py>,
        n_components: usize,
        covariance_type: &str,
        tol: f64,
        reg_covar: f64,
        max_iter: u64,
        n_init: usize,
        init_params: &str,
        seed: u64,
        n_jobs: i64,
        weights_init: Option<PyReadonlyArrayDyn<'py, f64>>,
        means_init: Option<PyReadonlyArrayDyn<'py, f64>>,
        precisions_init: Option<PyReadonlyArrayDyn<'py, f64>>,
        callback: Option<Py<PyAny>>,
    ) -> PyResult<(Self, Bound<'py, PyDict>)> {
        let mut o = options(
            n_components,
            covariance_type,
            tol,
            reg_covar,
            max_iter,
            n_init,
            init_params,
            seed,
            n_jobs,
        )?;
        let x = x.rows();
        let (k, d) = (n_components, x.ncols());
        let t = o.covariance_type;
        let what = precision_name(t);
        o.weights_init = weights_init
            .map(|w| of_shape(w.as_array().to_owned(), "weights_init", "weights", &[k]))
            .transpose()
            .map_err(py_err)?
            .map(|w| w.into_dimensionality::<Ix1>().expect("checked"));
        o.means_init = means_init
            .map(|m| of_shape(m.as_array().to_owned(), "means_init", "means", &[k, d]))
            .transpose()
            .map_err(py_err)?
            .map(|m| m.into_dimensionality::<Ix2>().expect("checked"));
        o.precisions_init = precisions_init
            .map(|p| {
                let want = Covariances::expected_shape(t, k, d);
                let p = of_shape(p.as_array().to_owned(), "precisions_init", &what, &want)
                    .map_err(py_err)?;
                covariances_from("precisions_init", t, p)
            })
            .transpose()?;
        let (model, report) = run(py, callback, |on_event| {
            GaussianMixture::fit_rows(x, &o, on_event)
        })?;
        Ok((
            PyGaussianMixture { inner: model },
            report_dict(py, &report)?,
        ))
    }

    /// Continues fitting from these parameters (a warm start); returns the report dict.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (x, tol, reg_covar, max_iter, lower_bound, n_jobs, callback=None))]
    fn fit_more<'py>(
        &mut self,
        py: Python<'py>,
        x: PyRows<'py>,
        tol: f64,
        reg_covar: f64,
        max_iter: u64,
        lower_bound: f64,
        n_jobs: i64,
        callback: Option<Py<PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let t = self.inner.covariance_type();
        let o = options(
            self.inner.n_components(),
            t.name(),
            tol,
            reg_covar,
            max_iter,
            1,
            "kmeans",
            0,
            n_jobs,
        )?;
        let x = x.rows();
        let model = &mut self.inner;
        let report = run(py, callback, |on_event| {
            model.fit_more_rows(x, &o, lower_bound, on_event)
        })?;
        report_dict(py, &report)
    }

    /// The covariance type's name.
    #[getter]
    fn covariance_type(&self) -> &'static str {
        self.inner.covariance_type().name()
    }

    /// The weights, shape `(k,)`.
    #[getter]
    fn weights<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        self.inner.weights().to_pyarray(py)
    }

    /// The means, shape `(k, d)`.
    #[getter]
    fn means<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f64>> {
        self.inner.means().to_pyarray(py)
    }

    /// The covariances, in the shape of the covariance type.
    #[getter]
    fn covariances<'py>(&self, py: Python<'py>) -> Bound<'py, PyArrayDyn<f64>> {
        covariances_to(py, self.inner.covariances())
    }

    /// The precisions, in the shape of the covariance type.
    #[getter]
    fn precisions<'py>(&self, py: Python<'py>) -> Bound<'py, PyArrayDyn<f64>> {
        covariances_to(py, &self.inner.precisions())
    }

    /// The precisions' Cholesky factors, in the shape of the covariance type.
    #[getter]
    fn precisions_cholesky<'py>(&self, py: Python<'py>) -> Bound<'py, PyArrayDyn<f64>> {
        covariances_to(py, self.inner.precisions_cholesky())
    }

    /// The number of free parameters.
    fn n_parameters(&self) -> usize {
        self.inner.n_parameters()
    }

    /// The log-density of each row of `x`.
    #[pyo3(signature = (x, n_jobs=1))]
    fn score_samples<'py>(
        &self,
        py: Python<'py>,
        x: PyRows<'py>,
        n_jobs: i64,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let out = on_rows(
            py,
            &x,
            n_jobs,
            |x, t| with_view!(x, v => self.inner.score_samples(v, t)),
        )?;
        Ok(out.into_pyarray(py))
    }

    /// The posterior probabilities of the components for each row of `x`.
    #[pyo3(signature = (x, n_jobs=1))]
    fn predict_proba<'py>(
        &self,
        py: Python<'py>,
        x: PyRows<'py>,
        n_jobs: i64,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let out = on_rows(
            py,
            &x,
            n_jobs,
            |x, t| with_view!(x, v => self.inner.predict_proba(v, t)),
        )?;
        Ok(out.into_pyarray(py))
    }

    /// The most probable component of each row of `x`.
    #[pyo3(signature = (x, n_jobs=1))]
    fn predict<'py>(
        &self,
        py: Python<'py>,
        x: PyRows<'py>,
        n_jobs: i64,
    ) -> PyResult<Bound<'py, PyArray1<i64>>> {
        let out = on_rows(
            py,
            &x,
            n_jobs,
            |x, t| with_view!(x, v => self.inner.predict(v, t)),
        )?;
        Ok(crate::labels_as(&out, |v| v as i64)?.into_pyarray(py))
    }

    /// `n_samples` rows drawn with `seed`, and their components (grouped by component).
    fn sample<'py>(&self, py: Python<'py>, n_samples: usize, seed: u64) -> PyResult<Sample<'py>> {
        let (x, y): (Array2<f64>, Array1<usize>) = py
            .detach(|| self.inner.sample(n_samples, seed))
            .map_err(py_err)?;
        Ok((x.into_pyarray(py), y.mapv(|v| v as i64).into_pyarray(py)))
    }
}
