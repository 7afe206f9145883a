//! The Python layer, `mixtura._core`: thin wrappers that convert types, release the GIL around
//! every computation and map errors to Python exceptions. Everything else lives in the crate.

use numpy::ndarray::{Array1, Array2};
use numpy::prelude::*;
use numpy::{PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::create_exception;
use pyo3::exceptions::{PyKeyboardInterrupt, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;
use std::sync::Arc;

use crate::distributions::{
    Bernoulli, Component, ComponentStats, Discrete, Distribution, Exponential, External,
    ExternalDistribution, Family, Gamma, IndependentComponents, LogNormal, MultivariateGaussian,
    Normal, Poisson, Statistics, Uniform,
};
use crate::em::{EpochLog, FitOptions};
use crate::error::Error;
use crate::format::{self, JsonStyle};
use crate::from_samples::{Components, FromSamplesOptions};
use crate::kmeans::{Init, Kmeans, KmeansOptions};
use crate::mixture::{GeneralMixtureModel, MixtureStats};
use crate::parallel::{Cancel, Threads};

create_exception!(
    mixtura._core,
    MixturaError,
    PyValueError,
    "An invalid argument, data set or model document (a ValueError)."
);

impl From<Error> for PyErr {
    fn from(e: Error) -> PyErr {
        match e {
            Error::Interrupted(m) => PyKeyboardInterrupt::new_err(m),
            Error::Foreign { message, origin } => origin
                .take::<PyErr>()
                .unwrap_or_else(|| MixturaError::new_err(message)),
            other => MixturaError::new_err(other.to_string()),
        }
    }
}

/// The Rust error that carries a Python exception to the Python boundary, where it is raised
/// as it was.
fn external_error(e: PyErr, context: String) -> Error {
    let msg = format!("{context}: {e}");
    Error::foreign(msg, e)
}

type Batch = (Array2<f64>, Option<Array1<f64>>);

/// Batches from Python: `factory()` returns an iterator of `(X, weights)` pairs (X a float64
/// 2-D array, weights a float64 1-D array or None). An epoch reads `per_epoch` batches, moving
/// on through the data and starting a new pass when one ends, or one whole pass when
/// `per_epoch` is None.
struct PySource {
    factory: Py<PyAny>,
    per_epoch: Option<usize>,
    iter: Option<Py<PyAny>>,
}

impl PySource {
    /// The next batch of the current pass, or None at its end.
    fn next_batch(&mut self) -> Result<Option<Batch>, Error> {
        Python::attach(|py| -> PyResult<Option<Batch>> {
            if self.iter.is_none() {
                let it = self.factory.call0(py)?.bind(py).try_iter()?;
                self.iter = Some(it.into_any().unbind());
            }
            let it = self.iter.as_ref().expect("set above").bind(py);
            match it.call_method0("__next__") {
                Ok(item) => {
                    let (x, w): (PyReadonlyArray2<'_, f64>, Option<PyReadonlyArray1<'_, f64>>) =
                        item.extract()?;
                    Ok(Some((
                        x.as_array().to_owned(),
                        w.map(|w| w.as_array().to_owned()),
                    )))
                }
                Err(e) if e.is_instance_of::<pyo3::exceptions::PyStopIteration>(py) => {
                    self.iter = None;
                    Ok(None)
                }
                Err(e) => Err(e),
            }
        })
        .map_err(|e| external_error(e, "reading a batch of X failed".into()))
    }
}

impl crate::em::BatchSource for PySource {
    fn next_epoch(
        &mut self,
        f: &mut dyn FnMut(
            numpy::ndarray::ArrayView2<f64>,
            Option<numpy::ndarray::ArrayView1<f64>>,
        ) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let mut taken = 0usize;
        let mut empty_passes = 0;
        loop {
            if self.per_epoch == Some(taken) {
                return Ok(());
            }
            match self.next_batch()? {
                Some((x, w)) => {
                    empty_passes = 0;
                    taken += 1;
                    f(x.view(), w.as_ref().map(|w| w.view()))?;
                }
                None if self.per_epoch.is_none() => return Ok(()),
                None => {
                    empty_passes += 1;
                    if empty_passes > 1 {
                        return Err(Error::data("X", "the batches hold no data"));
                    }
                }
            }
        }
    }
}

/// A Python object with pomegranate's distribution protocol, as a mixture component.
struct PyExternal {
    obj: Py<PyAny>,
    name: String,
    d: usize,
}

impl PyExternal {
    fn call<T>(
        &self,
        what: &str,
        f: impl FnOnce(Python<'_>, &Bound<'_, PyAny>) -> PyResult<T>,
    ) -> Result<T, Error> {
        Python::attach(|py| {
            f(py, self.obj.bind(py))
                .map_err(|e| external_error(e, format!("{}.{what} failed", self.name)))
        })
    }
}

impl ExternalDistribution for PyExternal {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn dim(&self) -> usize {
        self.d
    }

    fn log_probability(
        &self,
        x: numpy::ndarray::ArrayView2<f64>,
        out: &mut [f64],
    ) -> Result<(), Error> {
        self.call("log_probability", |py, obj| {
            let arr = x.to_pyarray(py);
            let res = obj.call_method1("log_probability", (arr,))?;
            let np = py.import("numpy")?;
            let flat =
                np.call_method1("ravel", (np.call_method1("asarray", (res, "float64"))?,))?;
            let values: Vec<f64> = flat.call_method0("tolist")?.extract()?;
            if values.len() != out.len() {
                return Err(PyValueError::new_err(format!(
                    "log_probability returned {} values for {} rows",
                    values.len(),
                    out.len()
                )));
            }
            out.copy_from_slice(&values);
            Ok(())
        })
    }

    fn summarize(&self, x: numpy::ndarray::ArrayView2<f64>, weights: &[f64]) -> Result<(), Error> {
        self.call("summarize", |py, obj| {
            obj.call_method1(
                "summarize",
                (x.to_pyarray(py), PyArray1::from_slice(py, weights)),
            )?;
            Ok(())
        })
    }

    fn from_summaries(&self, inertia: f64) -> Result<(), Error> {
        self.call("from_summaries", |_, obj| {
            obj.call_method1("from_summaries", (inertia,))?;
            Ok(())
        })
    }

    fn clear_summaries(&self) {
        // Called on the way out of a fit too, so a failure here must not replace the error that
        // ended the fit: it is ignored.
        Python::attach(|py| {
            let _ = self.obj.bind(py).call_method0("clear_summaries");
        });
    }

    fn is_frozen(&self) -> bool {
        Python::attach(|py| {
            self.obj
                .bind(py)
                .getattr("frozen")
                .and_then(|f| f.is_truthy())
                .unwrap_or(false)
        })
    }

    fn n_parameters(&self) -> Option<usize> {
        if self.is_frozen() {
            return Some(0);
        }
        Python::attach(|py| {
            let obj = self.obj.bind(py);
            if let Ok(n) = obj
                .getattr("n_parameters")
                .and_then(|n| n.extract::<usize>())
            {
                return Some(n);
            }
            // Count the numbers in `parameters`.
            let params = obj.getattr("parameters").ok()?;
            let np = py.import("numpy").ok()?;
            let flat = np.call_method1("hstack", (params,)).ok()?;
            flat.getattr("size").ok()?.extract::<usize>().ok()
        })
    }

    fn to_value(&self) -> serde_json::Value {
        let doc = Python::attach(|py| -> PyResult<String> {
            let d = self.obj.bind(py).call_method0("to_dict")?;
            py.import("json")?.call_method1("dumps", (d,))?.extract()
        });
        doc.ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_else(|| {
                serde_json::json!({"class": "Distribution", "name": self.name, "parameters": null, "frozen": self.is_frozen()})
            })
    }

    fn sample(&self, seed: u64) -> Vec<f64> {
        Python::attach(|py| -> PyResult<Vec<f64>> {
            let kwargs = PyDict::new(py);
            kwargs.set_item("random_state", seed)?;
            let s = self.obj.bind(py).call_method("sample", (), Some(&kwargs))?;
            let np = py.import("numpy")?;
            np.call_method1("ravel", (np.call_method1("asarray", (s, "float64"))?,))?
                .call_method0("tolist")?
                .extract()
        })
        .unwrap_or_else(|_| vec![f64::NAN; self.d])
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

fn threads(n_jobs: i64) -> PyResult<Threads> {
    Ok(Threads::from_n_jobs(n_jobs)?)
}

fn style(indent: Option<usize>, item_separator: &str, key_separator: &str) -> JsonStyle {
    JsonStyle {
        indent,
        item_separator: item_separator.into(),
        key_separator: key_separator.into(),
    }
}

/// A distribution (any built-in family).
#[pyclass(module = "mixtura._core", name = "Distribution")]
#[derive(Clone)]
pub struct PyDistribution {
    inner: Component,
}

/// The statistics of a distribution over some rows.
#[pyclass(module = "mixtura._core", name = "DistributionSummary")]
#[derive(Clone)]
pub struct PyDistributionSummary {
    inner: ComponentStats,
}

#[pymethods]
impl PyDistributionSummary {
    /// Adds the statistics of `other` into these.
    fn merge(&mut self, other: PyRef<'_, PyDistributionSummary>) -> PyResult<()> {
        Ok(self.inner.merge(&other.inner)?)
    }
}

#[pymethods]
impl PyDistribution {
    #[staticmethod]
    #[pyo3(signature = (mean, std, min_std=0.0, frozen=false))]
    fn normal(mean: f64, std: f64, min_std: f64, frozen: bool) -> PyResult<Self> {
        let mut d = Normal::new(mean, std)?.with_min_std(min_std)?;
        d.frozen = frozen;
        Ok(PyDistribution {
            inner: Component::Normal(d),
        })
    }

    #[staticmethod]
    #[pyo3(signature = (means, covariance, frozen=false))]
    fn multivariate_gaussian(
        means: PyReadonlyArray1<'_, f64>,
        covariance: PyReadonlyArray2<'_, f64>,
        frozen: bool,
    ) -> PyResult<Self> {
        let mut d = MultivariateGaussian::new(
            means.as_array().to_owned(),
            covariance.as_array().to_owned(),
        )?;
        d.frozen = frozen;
        Ok(PyDistribution {
            inner: Component::MultivariateGaussian(d),
        })
    }

    #[staticmethod]
    #[pyo3(signature = (distributions, weights=None, frozen=false))]
    fn independent(
        distributions: Vec<PyRef<'_, PyDistribution>>,
        weights: Option<Vec<f64>>,
        frozen: bool,
    ) -> PyResult<Self> {
        let children = distributions.iter().map(|d| d.inner.clone()).collect();
        let mut d = IndependentComponents::new(children, weights)?;
        d.frozen = frozen;
        Ok(PyDistribution {
            inner: Component::IndependentComponents(d),
        })
    }

    /// A univariate distribution of a named family from its parameters, in pomegranate's order.
    #[staticmethod]
    #[pyo3(signature = (name, parameters, frozen=false, min_std=0.0))]
    fn univariate(name: &str, parameters: Vec<f64>, frozen: bool, min_std: f64) -> PyResult<Self> {
        let need = match name {
            "ExponentialDistribution" | "PoissonDistribution" | "BernoulliDistribution" => 1,
            _ => 2,
        };
        if parameters.len() != need {
            return Err(MixturaError::new_err(format!(
                "invalid parameters: {name} takes {need} parameters, got {}",
                parameters.len()
            )));
        }
        let p = &parameters;
        let mut inner = match name {
            "NormalDistribution" => {
                Component::Normal(Normal::new(p[0], p[1])?.with_min_std(min_std)?)
            }
            "LogNormalDistribution" => {
                let mut d = LogNormal::new(p[0], p[1])?;
                d.min_std = Normal::blank().with_min_std(min_std)?.min_std;
                Component::LogNormal(d)
            }
            "ExponentialDistribution" => Component::Exponential(Exponential::new(p[0])?),
            "GammaDistribution" => Component::Gamma(Gamma::new(p[0], p[1])?),
            "PoissonDistribution" => Component::Poisson(Poisson::new(p[0])?),
            "UniformDistribution" => Component::Uniform(Uniform::new(p[0], p[1])?),
            "BernoulliDistribution" => Component::Bernoulli(Bernoulli::new(p[0])?),
            other => {
                return Err(MixturaError::new_err(format!(
                    "invalid name: {other} is not a univariate family"
                )))
            }
        };
        inner.set_frozen(frozen);
        Ok(PyDistribution { inner })
    }

    /// A discrete distribution over `keys` (strings) with their probabilities.
    #[staticmethod]
    #[pyo3(signature = (keys, probabilities, dtype, frozen=false))]
    fn discrete(
        keys: Vec<String>,
        probabilities: Vec<f64>,
        dtype: String,
        frozen: bool,
    ) -> PyResult<Self> {
        let mut d = Discrete::new(keys, probabilities, dtype)?;
        d.frozen = frozen;
        Ok(PyDistribution {
            inner: Component::Discrete(d),
        })
    }

    /// A distribution implemented in Python: any object with pomegranate's distribution
    /// protocol (`d`, `log_probability`, `summarize`, `from_summaries`, `clear_summaries`).
    #[staticmethod]
    fn external(obj: Py<PyAny>, name: String, d: usize) -> PyResult<Self> {
        if d == 0 {
            return Err(MixturaError::new_err(
                "invalid d: a distribution needs at least one feature",
            ));
        }
        Ok(PyDistribution {
            inner: Component::External(External(Arc::new(PyExternal { obj, name, d }))),
        })
    }

    /// The family's default distribution over `d` features.
    #[staticmethod]
    fn blank(name: &str, d: usize) -> PyResult<Self> {
        let family = Family::from_name(name)
            .ok_or_else(|| MixturaError::new_err(format!("unknown distribution class {name}")))?;
        Ok(PyDistribution {
            inner: family.blank(d)?,
        })
    }

    /// The maximum-likelihood fit of a family to `X`.
    #[staticmethod]
    #[pyo3(signature = (name, x, weights=None))]
    fn fit_new(
        py: Python<'_>,
        name: &str,
        x: PyReadonlyArray2<'_, f64>,
        weights: Option<PyReadonlyArray1<'_, f64>>,
    ) -> PyResult<Self> {
        let family = Family::from_name(name)
            .ok_or_else(|| MixturaError::new_err(format!("unknown distribution class {name}")))?;
        let x = x.as_array();
        let w: Vec<f64> = match &weights {
            Some(w) => w.as_array().to_vec(),
            None => vec![1.0; x.nrows()],
        };
        let probe = family.blank(x.ncols())?;
        check_rows(&probe, &x, Some(&w))?;
        let inner = py.detach(|| Component::fit_new(family, x, &w))?;
        Ok(PyDistribution { inner })
    }

    #[staticmethod]
    fn from_json(text: &str) -> PyResult<Self> {
        Ok(PyDistribution {
            inner: Component::from_json(text)?,
        })
    }

    #[pyo3(signature = (indent=Some(4), item_separator=",", key_separator=" : "))]
    fn to_json(&self, indent: Option<usize>, item_separator: &str, key_separator: &str) -> String {
        format::to_json_string(
            &format::component_to_value(&self.inner),
            &style(indent, item_separator, key_separator),
        )
    }

    #[getter]
    fn name(&self) -> String {
        self.inner.name()
    }

    #[getter]
    fn d(&self) -> usize {
        self.inner.dim()
    }

    #[getter]
    fn frozen(&self) -> bool {
        self.inner.is_frozen()
    }

    #[setter]
    fn set_frozen(&mut self, frozen: bool) {
        self.inner.set_frozen(frozen)
    }

    /// The parameters in pomegranate's order (`[mean, std]`, `[means, covariance]`, ...; for a
    /// discrete distribution `[keys, probabilities]`).
    fn parameters<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let floats = |v: &[f64]| -> PyResult<Vec<Bound<'py, PyAny>>> {
            v.iter()
                .map(|x| Ok(x.into_pyobject(py)?.into_any()))
                .collect()
        };
        Ok(match &self.inner {
            Component::Normal(d) => floats(&[d.mean(), d.std()])?,
            Component::LogNormal(d) => floats(&[d.mu(), d.sigma()])?,
            Component::Exponential(d) => floats(&[d.rate()])?,
            Component::Gamma(d) => floats(&[d.alpha(), d.beta()])?,
            Component::Poisson(d) => floats(&[d.lambda()])?,
            Component::Uniform(d) => floats(&[d.start(), d.end()])?,
            Component::Bernoulli(d) => floats(&[d.p()])?,
            Component::Discrete(d) => vec![
                d.keys().to_vec().into_pyobject(py)?.into_any(),
                d.probabilities().to_vec().into_pyobject(py)?.into_any(),
            ],
            Component::External(_) => vec![],
            Component::MultivariateGaussian(d) => vec![
                d.means().to_pyarray(py).into_any(),
                d.covariance().to_pyarray(py).into_any(),
            ],
            Component::IndependentComponents(d) => vec![
                self.children()?.into_pyobject(py)?.into_any(),
                d.weights().to_vec().into_pyobject(py)?.into_any(),
            ],
        })
    }

    /// The smallest standard deviation a fit may produce (normal and log-normal only).
    #[getter]
    fn min_std(&self) -> Option<f64> {
        match &self.inner {
            Component::Normal(d) => Some(d.min_std),
            Component::LogNormal(d) => Some(d.min_std),
            _ => None,
        }
    }

    /// The type of a discrete distribution's keys.
    #[getter]
    fn dtype(&self) -> Option<String> {
        match &self.inner {
            Component::Discrete(d) => Some(d.dtype().to_string()),
            _ => None,
        }
    }

    /// The external object behind an external distribution.
    fn external_object(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        match &self.inner {
            Component::External(e) => {
                e.0.as_any()
                    .downcast_ref::<PyExternal>()
                    .map(|p| p.obj.clone_ref(py))
            }
            _ => None,
        }
    }

    /// The per-feature distributions of an independent-components distribution.
    fn children(&self) -> PyResult<Vec<PyDistribution>> {
        match &self.inner {
            Component::IndependentComponents(d) => Ok(d
                .distributions()
                .iter()
                .map(|c| PyDistribution { inner: c.clone() })
                .collect()),
            _ => Ok(vec![]),
        }
    }

    #[pyo3(signature = (x, n_jobs=1))]
    fn log_probability<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f64>,
        n_jobs: i64,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let x = x.as_array();
        check_rows(&self.inner, &x, None)?;
        let t = threads(n_jobs)?;
        let out = py.detach(|| {
            t.install(|| {
                let mut out = vec![0.0; x.nrows()];
                self.inner.log_probability_into(x, &mut out).map(|_| out)
            })
        })??;
        Ok(PyArray1::from_vec(py, out))
    }

    #[pyo3(signature = (x, weights=None))]
    fn summarize(
        &self,
        py: Python<'_>,
        x: PyReadonlyArray2<'_, f64>,
        weights: Option<PyReadonlyArray1<'_, f64>>,
    ) -> PyResult<PyDistributionSummary> {
        let x = x.as_array();
        let w: Vec<f64> = match &weights {
            Some(w) => w.as_array().to_vec(),
            None => vec![1.0; x.nrows()],
        };
        check_rows(&self.inner, &x, Some(&w))?;
        let stats = py.detach(|| {
            let mut st = self.inner.new_stats();
            self.inner.accumulate(x, &w, &mut st).map(|_| st)
        })?;
        Ok(PyDistributionSummary { inner: stats })
    }

    #[pyo3(signature = (summary, inertia=0.0, pseudocount=0.0))]
    fn from_summaries(
        &mut self,
        summary: PyRef<'_, PyDistributionSummary>,
        inertia: f64,
        pseudocount: f64,
    ) -> PyResult<()> {
        crate::validate::unit("inertia", inertia)?;
        if !(pseudocount >= 0.0) || !pseudocount.is_finite() {
            return Err(MixturaError::new_err(format!(
                "invalid pseudocount: must be non-negative and finite, got {pseudocount}"
            )));
        }
        Ok(self
            .inner
            .from_summaries_smoothed(&summary.inner, inertia, pseudocount)?)
    }

    fn sample<'py>(
        &self,
        py: Python<'py>,
        n: usize,
        seed: u64,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let d = self.inner.dim();
        let mut out = crate::validate::zeros_checked(n, d)?;
        for mut row in out.rows_mut() {
            self.inner
                .sample_into(&mut rng, row.as_slice_mut().expect("contiguous"));
        }
        Ok(out.into_pyarray(py))
    }

    fn copy(&self) -> Self {
        self.clone()
    }

    fn __eq__(&self, other: PyRef<'_, PyDistribution>) -> bool {
        self.inner == other.inner
    }
}

/// Checks rows for a single distribution: width, at least one row, no infinity, and weights.
fn check_rows(
    dist: &Component,
    x: &numpy::ndarray::ArrayView2<'_, f64>,
    weights: Option<&[f64]>,
) -> Result<(), Error> {
    crate::validate::check_data(x, dist.dim())?;
    if let Some(w) = weights {
        crate::validate::check_weights(&numpy::ndarray::ArrayView1::from(w), x.nrows())?;
    }
    Ok(())
}

/// The statistics of a mixture over some rows.
#[pyclass(module = "mixtura._core", name = "MixtureSummary")]
#[derive(Clone)]
pub struct PyMixtureSummary {
    inner: MixtureStats<ComponentStats>,
}

#[pymethods]
impl PyMixtureSummary {
    /// Adds the statistics of `other` into these.
    fn merge(&mut self, other: PyRef<'_, PyMixtureSummary>) -> PyResult<()> {
        Ok(self.inner.merge(&other.inner)?)
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

/// A general mixture model.
#[pyclass(module = "mixtura._core", name = "Mixture")]
#[derive(Clone)]
pub struct PyMixture {
    inner: GeneralMixtureModel,
}

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

#[allow(clippy::too_many_arguments)]
fn fit_options(
    inertia: f64,
    pseudocount: f64,
    stop_threshold: f64,
    max_iterations: u64,
    batch_size: Option<usize>,
    batches_per_epoch: Option<usize>,
    lr_decay: f64,
    n_jobs: i64,
) -> PyResult<FitOptions> {
    let opts = FitOptions {
        inertia,
        pseudocount,
        stop_threshold,
        max_iterations,
        batch_size,
        batches_per_epoch,
        lr_decay,
        threads: threads(n_jobs)?,
        cancel: Cancel::new(),
    };
    opts.check()?;
    Ok(opts)
}

/// Runs a fit with the GIL released, calling `callback(log, model_or_None)` with the GIL after
/// every epoch (the model is passed when `pass_model` is true).
///
/// The fit runs as a job on its pool while this thread watches for Ctrl-C (Python handles
/// signals on its main thread only) every 50 ms; a signal sets `cancel`, which the fit checks
/// before every chunk of rows, so it stops promptly and keeps the parameters of its last
/// complete M-step; the KeyboardInterrupt is then raised.
#[allow(clippy::too_many_arguments)]
fn run_fit(
    py: Python<'_>,
    model: &mut GeneralMixtureModel,
    fit: impl FnOnce(
            &mut GeneralMixtureModel,
            &mut dyn FnMut(&EpochLog, &GeneralMixtureModel) -> Result<(), Error>,
        ) -> Result<crate::em::FitReport, Error>
        + Send,
    callback: Option<Py<PyAny>>,
    pass_model: bool,
    threads: Threads,
    cancel: Cancel,
) -> PyResult<crate::em::FitReport> {
    let mut python_error: Option<PyErr> = None;
    let mut signal: Option<PyErr> = None;
    let result = py.detach(|| {
        let mut on_epoch = |log: &EpochLog, m: &GeneralMixtureModel| -> Result<(), Error> {
            Python::attach(|py| {
                let outcome = py.check_signals().and_then(|_| match &callback {
                    Some(cb) => {
                        let d = epoch_dict(py, log)?;
                        let current = if pass_model {
                            Py::new(py, PyMixture { inner: m.clone() })?.into_any()
                        } else {
                            py.None()
                        };
                        cb.call1(py, (d, current)).map(|_| ())
                    }
                    None => Ok(()),
                });
                outcome.map_err(|e| {
                    let msg = e.to_string();
                    python_error = Some(e);
                    Error::Interrupted(msg)
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
    match (result, signal, python_error) {
        // A Ctrl-C is raised even when the fit finished before it saw the cancel flag: Python
        // has consumed the signal, and the user asked to stop.
        (_, Some(e), _) | (Err(_), None, Some(e)) => Err(e),
        (r, None, _) => Ok(r?),
    }
}

fn report_dict<'py>(py: Python<'py>, r: &crate::em::FitReport) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("initial_log_probability", r.initial_log_probability)?;
    d.set_item("log_probability", r.log_probability)?;
    d.set_item("n_iterations", r.n_iterations())?;
    d.set_item("converged", r.converged)?;
    d.set_item("duration", r.duration)?;
    Ok(d)
}

#[pymethods]
impl PyMixture {
    #[new]
    #[pyo3(signature = (distributions, weights=None, frozen=false))]
    fn new(
        distributions: Vec<PyRef<'_, PyDistribution>>,
        weights: Option<Vec<f64>>,
        frozen: bool,
    ) -> PyResult<Self> {
        let dists = distributions.iter().map(|d| d.inner.clone()).collect();
        let mut inner = GeneralMixtureModel::new(dists, weights.as_deref())?;
        inner.frozen = frozen;
        Ok(PyMixture { inner })
    }

    #[staticmethod]
    fn from_json(text: &str) -> PyResult<Self> {
        Ok(PyMixture {
            inner: GeneralMixtureModel::from_json(text)?,
        })
    }

    #[pyo3(signature = (indent=Some(4), item_separator=",", key_separator=" : "))]
    fn to_json(&self, indent: Option<usize>, item_separator: &str, key_separator: &str) -> String {
        format::to_json_string(
            &format::mixture_to_value(&self.inner),
            &style(indent, item_separator, key_separator),
        )
    }

    fn distributions(&self) -> Vec<PyDistribution> {
        self.inner
            .distributions()
            .iter()
            .map(|c| PyDistribution { inner: c.clone() })
            .collect()
    }

    fn weights<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        self.inner.weights().to_pyarray(py)
    }

    #[getter]
    fn frozen(&self) -> bool {
        self.inner.frozen
    }

    #[pyo3(signature = (x, n_jobs=1))]
    fn log_probability<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f64>,
        n_jobs: i64,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let x = x.as_array();
        let t = threads(n_jobs)?;
        let out: Array1<f64> = py.detach(|| self.inner.log_probability(x, t))?;
        Ok(out.into_pyarray(py))
    }

    #[pyo3(signature = (x, n_jobs=1))]
    fn predict_log_proba<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f64>,
        n_jobs: i64,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let x = x.as_array();
        let t = threads(n_jobs)?;
        let out = py.detach(|| self.inner.predict_log_proba(x, t))?;
        Ok(out.into_pyarray(py))
    }

    #[pyo3(signature = (x, n_jobs=1))]
    fn predict_proba<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f64>,
        n_jobs: i64,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let x = x.as_array();
        let t = threads(n_jobs)?;
        let out = py.detach(|| self.inner.predict_proba(x, t))?;
        Ok(out.into_pyarray(py))
    }

    #[pyo3(signature = (x, n_jobs=1))]
    fn predict<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f64>,
        n_jobs: i64,
    ) -> PyResult<Bound<'py, PyArray1<i32>>> {
        let x = x.as_array();
        let t = threads(n_jobs)?;
        let out = py.detach(|| self.inner.predict(x, t))?;
        Ok(out.mapv(|v| v as i32).into_pyarray(py))
    }

    #[pyo3(signature = (x, weights=None, n_jobs=1))]
    fn summarize(
        &self,
        py: Python<'_>,
        x: PyReadonlyArray2<'_, f64>,
        weights: Option<PyReadonlyArray1<'_, f64>>,
        n_jobs: i64,
    ) -> PyResult<PyMixtureSummary> {
        let x = x.as_array();
        let w = weights.as_ref().map(|w| w.as_array());
        let t = threads(n_jobs)?;
        let inner = py.detach(|| self.inner.summarize(x, w, t))?;
        Ok(PyMixtureSummary { inner })
    }

    #[pyo3(signature = (summary, inertia=0.0, pseudocount=0.0))]
    fn from_summaries(
        &mut self,
        summary: PyRef<'_, PyMixtureSummary>,
        inertia: f64,
        pseudocount: f64,
    ) -> PyResult<()> {
        Ok(self
            .inner
            .from_summaries(&summary.inner, inertia, pseudocount)?)
    }

    fn sample<'py>(
        &self,
        py: Python<'py>,
        n: usize,
        seed: u64,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        Ok(self.inner.sample(n, &mut rng)?.into_pyarray(py))
    }

    /// The number of free parameters (None when a component cannot tell).
    fn n_parameters(&self) -> Option<usize> {
        self.inner.n_parameters()
    }

    #[pyo3(signature = (x, n_jobs=1))]
    fn bic(&self, py: Python<'_>, x: PyReadonlyArray2<'_, f64>, n_jobs: i64) -> PyResult<f64> {
        let x = x.as_array();
        let t = threads(n_jobs)?;
        Ok(py.detach(|| self.inner.bic(x, t))?)
    }

    #[pyo3(signature = (x, n_jobs=1))]
    fn aic(&self, py: Python<'_>, x: PyReadonlyArray2<'_, f64>, n_jobs: i64) -> PyResult<f64> {
        let x = x.as_array();
        let t = threads(n_jobs)?;
        Ok(py.detach(|| self.inner.aic(x, t))?)
    }

    /// Fits by EM in place; returns a dict describing the fit.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (x, weights=None, inertia=0.0, pseudocount=0.0, stop_threshold=0.1,
        max_iterations=100_000_000, batch_size=None, batches_per_epoch=None, lr_decay=0.0,
        n_jobs=1, callback=None, pass_model=false, labels=None))]
    fn fit<'py>(
        &mut self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f64>,
        weights: Option<PyReadonlyArray1<'py, f64>>,
        inertia: f64,
        pseudocount: f64,
        stop_threshold: f64,
        max_iterations: u64,
        batch_size: Option<usize>,
        batches_per_epoch: Option<usize>,
        lr_decay: f64,
        n_jobs: i64,
        callback: Option<Py<PyAny>>,
        pass_model: bool,
        labels: Option<PyReadonlyArray1<'py, i64>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let opts = fit_options(
            inertia,
            pseudocount,
            stop_threshold,
            max_iterations,
            batch_size,
            batches_per_epoch,
            lr_decay,
            n_jobs,
        )?;
        let x = x.as_array();
        let w = weights.as_ref().map(|w| w.as_array());
        let labels = labels.as_ref().map(|l| l.as_array().to_vec());
        let report = run_fit(
            py,
            &mut self.inner,
            |m, cb| match &labels {
                Some(l) => m.fit_semisupervised(x, w, l, &opts, |log, m| cb(log, m)),
                None => m.fit_with(x, w, &opts, |log, m| cb(log, m)),
            },
            callback,
            pass_model,
            opts.threads,
            opts.cancel.clone(),
        )?;
        report_dict(py, &report)
    }

    /// Fits by EM in place on batches from `factory` (see [`PySource`]); returns a dict
    /// describing the fit.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (factory, batches_per_epoch=None, inertia=0.0, pseudocount=0.0,
        stop_threshold=0.1, max_iterations=100_000_000, lr_decay=0.0, n_jobs=1, callback=None,
        pass_model=false))]
    fn fit_source<'py>(
        &mut self,
        py: Python<'py>,
        factory: Py<PyAny>,
        batches_per_epoch: Option<usize>,
        inertia: f64,
        pseudocount: f64,
        stop_threshold: f64,
        max_iterations: u64,
        lr_decay: f64,
        n_jobs: i64,
        callback: Option<Py<PyAny>>,
        pass_model: bool,
    ) -> PyResult<Bound<'py, PyDict>> {
        let opts = fit_options(
            inertia,
            pseudocount,
            stop_threshold,
            max_iterations,
            None,
            batches_per_epoch,
            lr_decay,
            n_jobs,
        )?;
        let mut source = PySource {
            factory,
            per_epoch: batches_per_epoch,
            iter: None,
        };
        let report = run_fit(
            py,
            &mut self.inner,
            |m, cb| m.fit_source(&mut source, &opts, |log, m| cb(log, m)),
            callback,
            pass_model,
            opts.threads,
            opts.cancel.clone(),
        )?;
        report_dict(py, &report)
    }

    /// Builds a mixture from data (k-means, then EM); returns `(mixture, fit dict)`.
    #[allow(clippy::too_many_arguments)]
    #[staticmethod]
    #[pyo3(signature = (families, layout, n_components, x, weights=None, init="kmeans++",
        n_init=1, max_kmeans_iterations=1, seed=0, inertia=0.0, pseudocount=0.0,
        stop_threshold=0.1, max_iterations=100_000_000, batch_size=None, batches_per_epoch=None,
        lr_decay=0.0, n_jobs=1, callback=None, pass_model=false))]
    fn from_samples<'py>(
        py: Python<'py>,
        families: Vec<String>,
        layout: &str,
        n_components: usize,
        x: PyReadonlyArray2<'py, f64>,
        weights: Option<PyReadonlyArray1<'py, f64>>,
        init: &str,
        n_init: usize,
        max_kmeans_iterations: u64,
        seed: u64,
        inertia: f64,
        pseudocount: f64,
        stop_threshold: f64,
        max_iterations: u64,
        batch_size: Option<usize>,
        batches_per_epoch: Option<usize>,
        lr_decay: f64,
        n_jobs: i64,
        callback: Option<Py<PyAny>>,
        pass_model: bool,
    ) -> PyResult<(PyMixture, Bound<'py, PyDict>)> {
        let fams = families
            .iter()
            .map(|n| {
                Family::from_name(n).ok_or_else(|| {
                    MixturaError::new_err(format!(
                        "invalid distributions: {n} cannot be fitted by from_samples"
                    ))
                })
            })
            .collect::<PyResult<Vec<_>>>()?;
        let spec = match (layout, fams.as_slice()) {
            ("each", [f]) => Components::Each(*f),
            ("per_feature", _) => Components::PerFeature(fams),
            ("mixed", _) => Components::Mixed(fams),
            _ => {
                return Err(MixturaError::new_err(
                    "invalid layout: expected 'each' with one class, 'per_feature' or 'mixed'",
                ))
            }
        };
        let opts = FromSamplesOptions {
            n_components,
            init: Init::from_name(init)?,
            n_init,
            max_kmeans_iterations,
            seed,
            fit: fit_options(
                inertia,
                pseudocount,
                stop_threshold,
                max_iterations,
                batch_size,
                batches_per_epoch,
                lr_decay,
                n_jobs,
            )?,
        };
        let x = x.as_array();
        let w = weights.as_ref().map(|w| w.as_array());
        let mut holder = GeneralMixtureModel::new(vec![Component::Normal(Normal::blank())], None)?;
        let report = run_fit(
            py,
            &mut holder,
            |slot, cb| {
                let (m, r) =
                    GeneralMixtureModel::from_samples_with(&spec, x, w, &opts, |log, m| {
                        cb(log, m)
                    })?;
                *slot = m;
                Ok(r)
            },
            callback,
            pass_model,
            opts.fit.threads,
            opts.fit.cancel.clone(),
        )?;
        let d = report_dict(py, &report)?;
        Ok((PyMixture { inner: holder }, d))
    }

    fn copy(&self) -> Self {
        self.clone()
    }
}

/// k-means centroids and their fit.
#[pyclass(module = "mixtura._core", name = "Kmeans")]
#[derive(Clone)]
pub struct PyKmeans {
    inner: Kmeans,
}

#[pymethods]
impl PyKmeans {
    #[new]
    fn new(centroids: PyReadonlyArray2<'_, f64>) -> PyResult<Self> {
        Ok(PyKmeans {
            inner: Kmeans::new(centroids.as_array().to_owned())?,
        })
    }

    #[allow(clippy::too_many_arguments)]
    #[staticmethod]
    #[pyo3(signature = (k, x, weights=None, init="kmeans++", n_init=1, max_iterations=1000,
        stop_threshold=1e-3, seed=0, n_jobs=1, centroids=None))]
    fn fit(
        py: Python<'_>,
        k: usize,
        x: PyReadonlyArray2<'_, f64>,
        weights: Option<PyReadonlyArray1<'_, f64>>,
        init: &str,
        n_init: usize,
        max_iterations: u64,
        stop_threshold: f64,
        seed: u64,
        n_jobs: i64,
        centroids: Option<PyReadonlyArray2<'_, f64>>,
    ) -> PyResult<Self> {
        let init = match centroids {
            Some(c) => {
                Init::Centroids(Kmeans::new(c.as_array().to_owned())?.centroids().to_owned())
            }
            None => Init::from_name(init)?,
        };
        let opts = KmeansOptions {
            k,
            init,
            n_init,
            max_iterations,
            stop_threshold,
            seed,
            threads: threads(n_jobs)?,
        };
        let x = x.as_array();
        let w = weights.as_ref().map(|w| w.as_array());
        let inner = py.detach(|| Kmeans::fit(x, w, &opts))?;
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
        let opts = KmeansOptions {
            k,
            init: Init::from_name(init)?,
            n_init: 1,
            max_iterations: 0,
            stop_threshold: 0.0,
            seed,
            threads: threads(n_jobs)?,
        };
        let x = x.as_array();
        let w = weights.as_ref().map(|w| w.as_array());
        let c = py.detach(|| Kmeans::initial_centroids(x, w, &opts))?;
        Ok(c.into_pyarray(py))
    }

    #[getter]
    fn centroids<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f64>> {
        self.inner.centroids().to_pyarray(py)
    }

    #[getter]
    fn inertia(&self) -> f64 {
        self.inner.inertia
    }

    #[pyo3(signature = (x, n_jobs=1))]
    fn predict<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f64>,
        n_jobs: i64,
    ) -> PyResult<Bound<'py, PyArray1<i32>>> {
        let x = x.as_array();
        let t = threads(n_jobs)?;
        let out = py.detach(|| self.inner.predict(x, t))?;
        Ok(out.mapv(|v| v as i32).into_pyarray(py))
    }
}

/// The number of cores this process may use.
#[pyfunction]
fn available_cores() -> usize {
    crate::parallel::available_cores()
}

/// Reads any model document; returns `("GeneralMixtureModel", Mixture)` or
/// `("Distribution", Distribution)`.
#[pyfunction]
fn model_from_json(py: Python<'_>, text: &str) -> PyResult<(&'static str, Py<PyAny>)> {
    Ok(match format::Model::from_json(text)? {
        format::Model::Mixture(m) => (
            "GeneralMixtureModel",
            Py::new(py, PyMixture { inner: m })?.into_any(),
        ),
        format::Model::Distribution(d) => (
            "Distribution",
            Py::new(py, PyDistribution { inner: d })?.into_any(),
        ),
    })
}

#[pymodule(name = "_core")]
mod core_module {
    #[pymodule_export]
    use super::{
        available_cores, model_from_json, MixturaError, PyDistribution, PyDistributionSummary,
        PyKmeans, PyMixture, PyMixtureSummary,
    };

    #[pymodule_export]
    #[allow(non_upper_case_globals)]
    const __version__: &str = env!("CARGO_PKG_VERSION");
}
