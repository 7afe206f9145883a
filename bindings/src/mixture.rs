//! `Mixture` and `MixtureSummary`: a general mixture model, its statistics, and its fits, which
//! run with the GIL released and call a Python callback after every epoch.

use std::sync::Mutex;

use numpy::ndarray::{Array1, ArrayView1};
use numpy::prelude::*;
use numpy::{PyArray1, PyArray2, PyReadonlyArray1};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::callbacks::PySource;
use crate::distribution::PyDistribution;
use crate::errors::py_err;
use crate::options::{Layout, PyFitOptions, PyFromSamplesOptions};
use crate::{on_rows, style, weights_view, with_view, PyRows};
use mixtura::bindings::check_observed;
use mixtura::bindings::Rows;
use mixtura::distributions::{Component, ComponentStats, Normal, Statistics};
use mixtura::Error;
use mixtura::{Cancel, Threads};
use mixtura::{EpochLog, FitReport};
use mixtura::{GeneralMixtureModel, MixtureStats};

/// The statistics of a mixture over some rows.
#[pyclass(module = "mixtura._core", name = "MixtureSummary")]
#[derive(Clone)]
pub struct PyMixtureSummary {
    inner: MixtureStats<ComponentStats>,
    /// The number of rows summarised.
    rows: u64,
    /// Whether some value of the rows is observed (not NaN).
    observed: bool,
    /// Whether some row has a positive weight.
    weighted: bool,
}

impl PyMixtureSummary {
    /// The statistics of the rows `x` with `weights`, and what the data rules need of them.
    fn of_rows(
        inner: MixtureStats<ComponentStats>,
        x: &Rows<'_>,
        weights: Option<ArrayView1<'_, f64>>,
    ) -> Self {
        PyMixtureSummary {
            inner,
            rows: x.nrows() as u64,
            observed: x.has_observed(),
            weighted: weights.is_none_or(|w| w.iter().any(|v| *v > 0.0)) && x.nrows() > 0,
        }
    }
}

#[pymethods]
impl PyMixtureSummary {
    /// Adds the statistics of `other` into these.
    fn merge(&mut self, other: PyRef<'_, PyMixtureSummary>) -> PyResult<()> {
        self.inner.merge(&other.inner).map_err(py_err)?;
        self.rows += other.rows;
        self.observed |= other.observed;
        self.weighted |= other.weighted;
        Ok(())
    }

    /// The statistics as bytes (exactly; `from_bytes` reads them back).
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.encode())
    }

    /// Statistics from the bytes of `to_bytes`.
    #[staticmethod]
    fn from_bytes(data: &[u8]) -> PyResult<Self> {
        if data.len() < 24 {
            return Err(py_err(Error::param(
                "summaries",
                "the bytes are not mixture statistics",
            )));
        }
        let (head, stats) = data.split_at(24);
        let word = |i: usize| f64::from_le_bytes(head[8 * i..8 * i + 8].try_into().expect("8"));
        let (rows, observed, weighted) = (word(0), word(1), word(2));
        let flag = |v: f64| -> PyResult<bool> {
            match v {
                0.0 => Ok(false),
                1.0 => Ok(true),
                _ => Err(py_err(Error::param(
                    "summaries",
                    "the bytes are not mixture statistics",
                ))),
            }
        };
        if !(rows >= 0.0 && rows == rows.trunc() && rows < 2f64.powi(63)) {
            return Err(py_err(Error::param(
                "summaries",
                "the bytes are not mixture statistics",
            )));
        }
        Ok(PyMixtureSummary {
            inner: MixtureStats::from_bytes(stats).map_err(py_err)?,
            rows: rows as u64,
            observed: flag(observed)?,
            weighted: flag(weighted)?,
        })
    }

    /// Pickles as bytes.
    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
        py: Python<'py>,
    ) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyBytes>,))> {
        let from_bytes = slf.get_type().getattr("from_bytes")?;
        Ok((from_bytes, (PyBytes::new(py, &slf.borrow().encode()),)))
    }

    /// The number of rows summarised.
    #[getter]
    fn rows(&self) -> u64 {
        self.rows
    }

    /// The responsibility sums per component.
    #[getter]
    fn responsibilities<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_slice(py, &self.inner.responsibilities)
    }

    /// The weighted log-likelihood of the rows (`-inf` when some have density 0).
    #[getter]
    fn log_likelihood(&self) -> f64 {
        self.inner.total_log_likelihood()
    }

    /// The total weight of the rows that no component can produce.
    #[getter]
    fn unexplained(&self) -> f64 {
        self.inner.unexplained
    }

    /// Every number of the statistics: per component, in a fixed order.
    fn values(&self) -> Vec<Vec<f64>> {
        self.inner.components.iter().map(|c| c.values()).collect()
    }
}

impl PyMixtureSummary {
    /// The bytes of `to_bytes`: the number of rows and the two flags, then the statistics.
    fn encode(&self) -> Vec<u8> {
        let head = [
            self.rows as f64,
            f64::from(u8::from(self.observed)),
            f64::from(u8::from(self.weighted)),
        ];
        let mut out: Vec<u8> = head.iter().flat_map(|v| v.to_le_bytes()).collect();
        out.extend(self.inner.to_bytes());
        out
    }
}

/// A general mixture model.
#[pyclass(module = "mixtura._core", name = "Mixture")]
#[derive(Clone)]
pub struct PyMixture {
    inner: GeneralMixtureModel,
}

impl From<GeneralMixtureModel> for PyMixture {
    fn from(inner: GeneralMixtureModel) -> Self {
        PyMixture { inner }
    }
}

/// The dict that an epoch callback receives (pomegranate's callback logs).
fn epoch_dict<'py>(py: Python<'py>, log: &EpochLog) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("epoch", log.epoch)?;
    d.set_item("duration", log.duration)?;
    d.set_item("total_improvement", log.total_improvement)?;
    d.set_item("improvement", log.improvement)?;
    d.set_item("log_probability", log.log_probability)?;
    d.set_item("last_log_probability", log.last_log_probability)?;
    d.set_item("epoch_start_time", log.epoch_start_time)?;
    d.set_item("epoch_end_time", log.epoch_end_time)?;
    d.set_item("n_seen_batches", py.None())?;
    d.set_item("learning_rate", log.learning_rate)?;
    d.set_item("initial_log_probability", log.initial_log_probability)?;
    Ok(d)
}

/// The dict describing a finished fit.
fn report_dict<'py>(py: Python<'py>, r: &FitReport) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("initial_log_probability", r.initial_log_probability)?;
    d.set_item("log_probability", r.log_probability)?;
    d.set_item("n_iterations", r.n_iterations())?;
    d.set_item("converged", r.converged)?;
    d.set_item("duration", r.duration)?;
    Ok(d)
}

/// Calls `callback(log, model_or_None)` after an epoch (the model is passed when `pass_model`
/// is true).
fn epoch_callback(
    py: Python<'_>,
    callback: Option<&Py<PyAny>>,
    pass_model: bool,
    log: &EpochLog,
    m: &GeneralMixtureModel,
) -> PyResult<()> {
    let Some(cb) = callback else {
        return Ok(());
    };
    let d = epoch_dict(py, log)?;
    let current = if pass_model {
        Py::new(py, PyMixture::from(m.try_clone().map_err(py_err)?))?.into_any()
    } else {
        py.None()
    };
    cb.call1(py, (d, current)).map(|_| ())
}

/// The Python side of a fit: the callback `callback(log, model_or_None)` called with the GIL
/// after every epoch (the model is passed when `pass_model` is true).
struct Watch {
    callback: Option<Py<PyAny>>,
    pass_model: bool,
}

/// Runs a fit with the GIL released, calling the callback of `watch` after every epoch; returns
/// the dict describing the fit.
///
/// The fit runs as a job on its pool while this thread watches for Ctrl-C (Python handles
/// signals on its main thread only) every 50 ms; a signal sets `cancel`, which the fit checks
/// before every chunk of rows, so it stops promptly and keeps the parameters of its last
/// complete M-step; the KeyboardInterrupt is then raised.
fn run_fit<'py>(
    py: Python<'py>,
    model: &mut GeneralMixtureModel,
    fit: impl FnOnce(
            &mut GeneralMixtureModel,
            &mut dyn FnMut(&EpochLog, &GeneralMixtureModel) -> Result<(), Error>,
        ) -> Result<FitReport, Error>
        + Send,
    watch: Watch,
    threads: &Threads,
    cancel: &Cancel,
) -> PyResult<Bound<'py, PyDict>> {
    let Watch {
        callback,
        pass_model,
    } = watch;
    let mut python_error: Option<PyErr> = None;
    let mut signal: Option<PyErr> = None;
    let result = py.detach(|| {
        let mut on_epoch = |log: &EpochLog, m: &GeneralMixtureModel| -> Result<(), Error> {
            Python::attach(|py| {
                let outcome = py
                    .check_signals()
                    .and_then(|_| epoch_callback(py, callback.as_ref(), pass_model, log, m));
                outcome.map_err(|e| {
                    let msg = e.to_string();
                    python_error = Some(e);
                    Error::interrupted(msg)
                })
            })
        };
        let watch = || {
            if signal.is_none() {
                if let Err(e) = Python::attach(|py| py.check_signals()) {
                    signal = Some(e);
                    cancel.cancel();
                }
            }
        };
        let done = threads.run_watched(
            || fit(model, &mut on_epoch),
            std::time::Duration::from_millis(50),
            watch,
        )?;
        done.unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            let msg = format!("internal error in mixtura (please report it): {what}");
            Err(Error::foreign(msg.clone(), PyRuntimeError::new_err(msg)))
        })
    });
    let report = match (result, signal, python_error) {
        // A Ctrl-C is raised even when the fit finished before it saw the cancel flag: Python
        // has consumed the signal, and the user asked to stop.
        (_, Some(e), _) | (Err(_), None, Some(e)) => return Err(e),
        (r, None, _) => r.map_err(py_err)?,
    };
    report_dict(py, &report)
}

#[pymethods]
impl PyMixture {
    /// A mixture of `distributions`, with prior `weights` (normalised; uniform by default).
    #[new]
    #[pyo3(signature = (distributions, weights=None, frozen=false))]
    fn new(
        distributions: Vec<PyRef<'_, PyDistribution>>,
        weights: Option<Vec<f64>>,
        frozen: bool,
    ) -> PyResult<Self> {
        let dists = distributions
            .iter()
            .map(|d| d.inner.try_clone())
            .collect::<Result<_, Error>>()
            .map_err(py_err)?;
        let mut inner = GeneralMixtureModel::new(dists, weights.as_deref()).map_err(py_err)?;
        inner.frozen = frozen;
        Ok(PyMixture { inner })
    }

    /// A mixture from its JSON document.
    #[staticmethod]
    fn from_json(text: &str) -> PyResult<Self> {
        Ok(GeneralMixtureModel::from_json(text).map_err(py_err)?.into())
    }

    /// The JSON document, laid out as `json.dumps` would with these arguments.
    #[pyo3(signature = (indent=Some(4), item_separator=",", key_separator=" : "),
        text_signature = "(self, /, indent=4, item_separator=',', key_separator=' : ')")]
    fn to_json(&self, indent: Option<usize>, item_separator: &str, key_separator: &str) -> String {
        self.inner
            .to_json_with(&style(indent, item_separator, key_separator))
    }

    /// Copies of the components.
    fn distributions(&self) -> PyResult<Vec<PyDistribution>> {
        let copies = self.inner.distributions().iter().map(|c| c.try_clone());
        copies
            .map(|c| c.map(Into::into))
            .collect::<Result<_, Error>>()
            .map_err(py_err)
    }

    /// The prior probabilities of the components.
    fn weights<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        self.inner.weights().to_pyarray(py)
    }

    /// Whether fitting leaves the model as it is.
    #[getter]
    fn frozen(&self) -> bool {
        self.inner.frozen
    }

    /// Whether every component's statistics are values (false when a component written in
    /// Python keeps them itself: such statistics cannot travel between processes).
    fn statistics_are_values(&self) -> bool {
        self.inner.parallel_statistics()
    }

    /// The log-density of each row of `x`, shape `(n, d)`, under the mixture.
    #[pyo3(signature = (x, n_jobs=1))]
    fn log_probability<'py>(
        &self,
        py: Python<'py>,
        x: PyRows<'py>,
        n_jobs: i64,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let out: Array1<f64> = on_rows(
            py,
            &x,
            n_jobs,
            |x, t| with_view!(x, v => self.inner.log_probability(v, t)),
        )?;
        Ok(out.into_pyarray(py))
    }

    /// The log posterior of each component for each row, shape `(n, k)`.
    #[pyo3(signature = (x, n_jobs=1))]
    fn predict_log_proba<'py>(
        &self,
        py: Python<'py>,
        x: PyRows<'py>,
        n_jobs: i64,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let out = on_rows(
            py,
            &x,
            n_jobs,
            |x, t| with_view!(x, v => self.inner.predict_log_proba(v, t)),
        )?;
        Ok(out.into_pyarray(py))
    }

    /// The posterior of each component for each row, shape `(n, k)`.
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

    /// The most probable component of each row.
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

    /// The statistics of the rows of `x`, shape `(n, d)` (the E-step).
    #[pyo3(signature = (x, weights=None, n_jobs=1))]
    fn summarize(
        &self,
        py: Python<'_>,
        x: PyRows<'_>,
        weights: Option<PyReadonlyArray1<'_, f64>>,
        n_jobs: i64,
    ) -> PyResult<PyMixtureSummary> {
        let w = weights_view(&weights);
        let inner = on_rows(
            py,
            &x,
            n_jobs,
            |x, t| with_view!(x, v => self.inner.summarize(v, w, t)),
        )?;
        Ok(PyMixtureSummary::of_rows(inner, &x.rows(), w))
    }

    /// The statistics of one part (partition) of a data set summarised in parts, for
    /// `fit_parts`: as `summarize`, except that the weights of a part may all be zero.
    #[pyo3(signature = (x, weights=None, n_jobs=1))]
    fn summarize_part(
        &self,
        py: Python<'_>,
        x: PyRows<'_>,
        weights: Option<PyReadonlyArray1<'_, f64>>,
        n_jobs: i64,
    ) -> PyResult<PyMixtureSummary> {
        let w = weights_view(&weights);
        let inner = on_rows(
            py,
            &x,
            n_jobs,
            |x, t| with_view!(x, v => self.inner.summarize_part(v, w, t)),
        )?;
        Ok(PyMixtureSummary::of_rows(inner, &x.rows(), w))
    }

    /// Fits by EM in place on a data set in `parts` parts (partitions) that the Python function
    /// `summarize(mixture, parts)` summarises: it returns the merged `MixtureSummary` of the
    /// listed parts under `mixture` (None when they hold no rows). Each epoch reads the parts
    /// of `epoch_parts` (the options' `batches_per_epoch` of them, or all); `batch_size` does
    /// not apply. Runs on the calling thread (the GIL is released outside the calls to
    /// `summarize` and `callback`), so that a Ctrl-C in `summarize` stops the fit; an exception
    /// of `summarize` is raised as it is, the model keeping the parameters of its last
    /// complete epoch. Returns a dict describing the fit.
    #[pyo3(signature = (summarize, parts, options=None, callback=None, pass_model=false))]
    fn fit_parts<'py>(
        &mut self,
        py: Python<'py>,
        summarize: Py<PyAny>,
        parts: usize,
        options: Option<PyRef<'_, PyFitOptions>>,
        callback: Option<Py<PyAny>>,
        pass_model: bool,
    ) -> PyResult<Bound<'py, PyDict>> {
        let opts = PyFitOptions::to_rust_or_default(options.as_deref())?;
        if opts.batch_size.is_some() {
            return Err(py_err(Error::param(
                "batch_size",
                "does not apply to data in partitions: the partitions are the batches",
            )));
        }
        let python_error: Mutex<Option<PyErr>> = Mutex::new(None);
        let keep = |e: PyErr| {
            let msg = e.to_string();
            *python_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(e);
            Error::interrupted(msg)
        };
        let model = &mut self.inner;
        let result = py.detach(|| {
            let summarize = |m: &GeneralMixtureModel, parts: &[usize]| {
                let summary = Python::attach(|py| -> PyResult<Option<PyMixtureSummary>> {
                    let current = Py::new(py, PyMixture::from(m.try_clone().map_err(py_err)?))?;
                    let out = summarize.call1(py, (current, parts.to_vec()))?;
                    if out.is_none(py) {
                        return Ok(None);
                    }
                    Ok(Some(
                        out.extract::<PyRef<'_, PyMixtureSummary>>(py)?.clone(),
                    ))
                })
                .map_err(keep)?;
                let Some(summary) = summary.filter(|s| s.rows > 0) else {
                    return Err(Error::data("X", "the partitions of an epoch held no rows"));
                };
                check_observed(summary.observed)?;
                if !summary.weighted {
                    return Err(Error::data(
                        "weights",
                        "must not all be zero (over the partitions of an epoch)",
                    ));
                }
                Ok(summary.inner)
            };
            let on_epoch = |log: &EpochLog, m: &GeneralMixtureModel| {
                Python::attach(|py| {
                    py.check_signals()?;
                    epoch_callback(py, callback.as_ref(), pass_model, log, m)
                })
                .map_err(keep)
            };
            model.fit_parts(parts, &opts, summarize, on_epoch)
        });
        let python_error = python_error.into_inner().unwrap_or_else(|e| e.into_inner());
        let report = match (result, python_error) {
            (Err(_), Some(e)) => return Err(e),
            (r, _) => r.map_err(py_err)?,
        };
        report_dict(py, &report)
    }

    /// New parameters from `summary` (the M-step).
    #[pyo3(signature = (summary, inertia=0.0, pseudocount=0.0))]
    fn from_summaries(
        &mut self,
        summary: PyRef<'_, PyMixtureSummary>,
        inertia: f64,
        pseudocount: f64,
    ) -> PyResult<()> {
        self.inner
            .from_summaries(&summary.inner, inertia, pseudocount)
            .map_err(py_err)
    }

    /// `n` samples, shape `(n, d)`, from a ChaCha8 generator seeded with `seed`.
    fn sample<'py>(
        &self,
        py: Python<'py>,
        n: usize,
        seed: u64,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let mut rng = mixtura::bindings::seeded(seed);
        Ok(self
            .inner
            .sample(n, &mut rng)
            .map_err(py_err)?
            .into_pyarray(py))
    }

    /// The number of free parameters (None when a component cannot tell).
    fn n_parameters(&self) -> Option<usize> {
        self.inner.n_parameters()
    }

    /// The Bayesian information criterion on `x`.
    #[pyo3(signature = (x, n_jobs=1))]
    fn bic(&self, py: Python<'_>, x: PyRows<'_>, n_jobs: i64) -> PyResult<f64> {
        on_rows(
            py,
            &x,
            n_jobs,
            |x, t| with_view!(x, v => self.inner.bic(v, t)),
        )
    }

    /// The Akaike information criterion on `x`.
    #[pyo3(signature = (x, n_jobs=1))]
    fn aic(&self, py: Python<'_>, x: PyRows<'_>, n_jobs: i64) -> PyResult<f64> {
        on_rows(
            py,
            &x,
            n_jobs,
            |x, t| with_view!(x, v => self.inner.aic(v, t)),
        )
    }

    /// Fits by EM in place; returns a dict describing the fit. `labels` (one per row, -1 for
    /// unknown) make the fit semi-supervised.
    #[pyo3(signature = (x, weights=None, labels=None, options=None, callback=None,
        pass_model=false))]
    #[allow(clippy::too_many_arguments)]
    fn fit<'py>(
        &mut self,
        py: Python<'py>,
        x: PyRows<'py>,
        weights: Option<PyReadonlyArray1<'py, f64>>,
        labels: Option<PyReadonlyArray1<'py, i64>>,
        options: Option<PyRef<'_, PyFitOptions>>,
        callback: Option<Py<PyAny>>,
        pass_model: bool,
    ) -> PyResult<Bound<'py, PyDict>> {
        let opts = PyFitOptions::to_rust_or_default(options.as_deref())?;
        let x = x.rows();
        let w = weights_view(&weights);
        let labels = labels.as_ref().map(|l| l.as_array().to_vec());
        run_fit(
            py,
            &mut self.inner,
            |m, cb| {
                let labels = labels.as_deref();
                m.fit_labelled(x, w, labels, &opts, |log, m| cb(log, m))
            },
            Watch {
                callback,
                pass_model,
            },
            &opts.threads,
            &opts.cancel,
        )
    }

    /// Fits by EM in place on batches from `factory`, a function returning an iterator of
    /// `(X, weights)` pairs, read once per epoch (or `batches_per_epoch` of them; the options'
    /// `batch_size` does not apply); returns a dict describing the fit.
    #[pyo3(signature = (factory, options=None, callback=None, pass_model=false))]
    fn fit_source<'py>(
        &mut self,
        py: Python<'py>,
        factory: Py<PyAny>,
        options: Option<PyRef<'_, PyFitOptions>>,
        callback: Option<Py<PyAny>>,
        pass_model: bool,
    ) -> PyResult<Bound<'py, PyDict>> {
        let opts = PyFitOptions::to_rust_or_default(options.as_deref())?;
        let mut source = PySource::new(factory, opts.batches_per_epoch);
        run_fit(
            py,
            &mut self.inner,
            |m, cb| m.fit_source(&mut source, &opts, |log, m| cb(log, m)),
            Watch {
                callback,
                pass_model,
            },
            &opts.threads,
            &opts.cancel,
        )
    }

    /// Builds a mixture from data (k-means, then EM); returns `(mixture, fit dict)`.
    /// `families` are `(class name, number of symbols)` pairs (the number for the discrete
    /// families only), read as `layout` says.
    #[staticmethod]
    #[pyo3(signature = (families, layout, x, options, weights=None, callback=None,
        pass_model=false))]
    #[allow(clippy::too_many_arguments)]
    fn from_samples<'py>(
        py: Python<'py>,
        families: Vec<(String, Option<usize>)>,
        layout: PyRef<'_, Layout>,
        x: PyRows<'py>,
        options: PyRef<'_, PyFromSamplesOptions>,
        weights: Option<PyReadonlyArray1<'py, f64>>,
        callback: Option<Py<PyAny>>,
        pass_model: bool,
    ) -> PyResult<(PyMixture, Bound<'py, PyDict>)> {
        let spec = layout.components(&families)?;
        let opts = options.to_rust()?;
        let x = x.rows();
        let w = weights_view(&weights);
        let mut holder = GeneralMixtureModel::new(vec![Component::Normal(Normal::blank())], None)
            .map_err(py_err)?;
        let report = run_fit(
            py,
            &mut holder,
            |slot, cb| {
                let (m, r) =
                    GeneralMixtureModel::from_samples_rows(&spec, x, w, &opts, |log, m| {
                        cb(log, m)
                    })?;
                *slot = m;
                Ok(r)
            },
            Watch {
                callback,
                pass_model,
            },
            &opts.fit.threads,
            &opts.fit.cancel,
        )?;
        Ok((holder.into(), report))
    }

    /// A copy.
    fn copy(&self) -> Self {
        self.clone()
    }
}
