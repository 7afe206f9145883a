//! `Distribution` and `DistributionSummary`: one distribution of any built-in family (or one
//! implemented in Python) and its statistics.

use std::borrow::Cow;
use std::sync::Arc;

use numpy::prelude::*;
use numpy::{PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;

use crate::callbacks::PyExternal;
use crate::errors::py_err;
use crate::errors::{invalid, MixturaError};
use crate::{style, threads, with_view, PyRows};
use mixtura::bindings::Rows;
use mixtura::distributions::{
    Bernoulli, Class, Component, ComponentStats, Discrete, Distribution, Exponential, External,
    Family, Gamma, IndependentComponents, LogNormal, MultivariateGaussian, Normal, Poisson,
    Statistics, Uniform,
};
use mixtura::Error;

/// A distribution (any built-in family).
#[pyclass(module = "mixtura._core", name = "Distribution")]
#[derive(Clone)]
pub struct PyDistribution {
    pub(super) inner: Component,
}

impl From<Component> for PyDistribution {
    fn from(inner: Component) -> Self {
        PyDistribution { inner }
    }
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
        self.inner.merge(&other.inner).map_err(py_err)
    }

    /// The statistics as plain sums, a layout per statistics type (the Python classes arrange
    /// them as pomegranate 0.14 did): normal and log-normal `[sum w, sum w x, sum w x^2]` (of
    /// `log x` for the log-normal); exponential, Poisson and Bernoulli `[sum w, sum w x]`; gamma
    /// `[sum w, sum w x, sum w log x]`; uniform `[min, max, sum w]`; discrete the weight of each
    /// symbol, then their sum; empty for the multivariate families.
    fn values(&self) -> Vec<f64> {
        match &self.inner {
            ComponentStats::Normal(s) => {
                // The sums are kept around the shift point c: x = (x - c) + c.
                let c = s.shift;
                vec![
                    s.weight,
                    s.sum + s.weight * c,
                    s.sum_squares + 2.0 * c * s.sum + s.weight * c * c,
                ]
            }
            ComponentStats::Mean(s) => vec![s.weight, s.sum],
            // Kept relative to the scale c: x = c (x / c), log x = log(x / c) + log c.
            ComponentStats::Gamma(s) => vec![
                s.weight,
                s.sum * s.scale,
                s.sum_log + s.weight * s.scale.ln(),
            ],
            ComponentStats::Range(s) => vec![s.min, s.max, s.weight],
            ComponentStats::Discrete(s) => {
                let mut v = s.counts.clone();
                v.push(s.counts.iter().sum());
                v
            }
            ComponentStats::MultivariateGaussian(_)
            | ComponentStats::IndependentComponents(_)
            | ComponentStats::External => Vec::new(),
        }
    }
}

/// The family `from_samples`-style fitting of a class name gives.
fn family(name: &str) -> PyResult<Family> {
    Family::from_name(name)
        .ok_or_else(|| MixturaError::new_err(format!("unknown distribution class {name}")))
}

/// The rows' weights: `weights` (themselves when they are contiguous), or 1 for every row; an
/// error instead of an abort when a copy does not fit in memory.
fn weights_or_ones<'a>(
    weights: &'a Option<PyReadonlyArray1<'_, f64>>,
    n: usize,
) -> Result<Cow<'a, [f64]>, Error> {
    use mixtura::bindings::{collected, filled, too_large};
    match weights {
        Some(w) => match w.as_slice() {
            Ok(values) => Ok(Cow::Borrowed(values)),
            Err(_) => collected(w.as_array().iter().copied(), || {
                too_large("weights", "a copy of the weights")
            })
            .map(Cow::Owned),
        },
        None => filled(n, 1.0, || {
            too_large("weights", format!("a weight of 1 for each of {n} rows"))
        })
        .map(Cow::Owned),
    }
}

/// `n` zeros for the rows' densities, or an error instead of an abort when they do not fit.
fn densities(n: usize) -> Result<Vec<f64>, Error> {
    mixtura::bindings::filled(n, 0.0, || {
        mixtura::bindings::too_large("data", format!("the densities of {n} rows"))
    })
}

/// Checks rows for a single distribution: width, at least one row, no infinity, and weights.
fn check_rows(dim: usize, x: &Rows<'_>, weights: Option<&[f64]>) -> Result<(), Error> {
    x.check_data(dim)?;
    if let Some(w) = weights {
        mixtura::bindings::check_weights(&numpy::ndarray::ArrayView1::from(w), x.nrows())?;
    }
    Ok(())
}

#[pymethods]
impl PyDistribution {
    /// A normal distribution `N(mean, std**2)`.
    #[staticmethod]
    #[pyo3(signature = (mean, std, min_std=0.0, frozen=false))]
    fn normal(mean: f64, std: f64, min_std: f64, frozen: bool) -> PyResult<Self> {
        let mut d = Normal::new(mean, std)
            .map_err(py_err)?
            .with_min_std(min_std)
            .map_err(py_err)?;
        d.frozen = frozen;
        Ok(Component::Normal(d).into())
    }

    /// A full-covariance Gaussian: `means`, shape `(d,)`, and `covariance`, shape `(d, d)`.
    #[staticmethod]
    #[pyo3(signature = (means, covariance, frozen=false))]
    fn multivariate_gaussian(
        means: PyReadonlyArray1<'_, f64>,
        covariance: PyReadonlyArray2<'_, f64>,
        frozen: bool,
    ) -> PyResult<Self> {
        let (m, c) = (means.as_array(), covariance.as_array());
        // The copy is checked: a covariance that fits once in memory may not fit twice.
        let c = mixtura::bindings::copied(c, || {
            mixtura::bindings::too_large(
                "covariance",
                format!("a copy of the {} x {} covariance", c.nrows(), c.ncols()),
            )
        })
        .map_err(py_err)?;
        let mut d = MultivariateGaussian::new(m.to_owned(), c).map_err(py_err)?;
        d.frozen = frozen;
        Ok(Component::MultivariateGaussian(d).into())
    }

    /// Independent univariate distributions, one per feature, with optional per-feature weights.
    #[staticmethod]
    #[pyo3(signature = (distributions, weights=None, frozen=false))]
    fn independent(
        distributions: Vec<PyRef<'_, PyDistribution>>,
        weights: Option<Vec<f64>>,
        frozen: bool,
    ) -> PyResult<Self> {
        let children = distributions.iter().map(|d| d.inner.clone()).collect();
        let mut d = IndependentComponents::new(children, weights).map_err(py_err)?;
        d.frozen = frozen;
        Ok(Component::IndependentComponents(d).into())
    }

    /// A univariate distribution of a named family from its parameters, in pomegranate's order.
    #[staticmethod]
    #[pyo3(signature = (name, parameters, frozen=false, min_std=0.0))]
    fn univariate(name: &str, parameters: Vec<f64>, frozen: bool, min_std: f64) -> PyResult<Self> {
        let class = Class::from_name(name)
            .filter(|c| c.family(None).is_some_and(Family::is_univariate))
            .ok_or_else(|| invalid("name", format!("{name} is not a univariate family")))?;
        let need = class.n_parameters();
        if parameters.len() != need {
            return Err(invalid(
                "parameters",
                format!("{name} takes {need} parameters, got {}", parameters.len()),
            ));
        }
        let p = &parameters;
        let mut inner = match class {
            Class::Normal => Component::Normal(
                Normal::new(p[0], p[1])
                    .map_err(py_err)?
                    .with_min_std(min_std)
                    .map_err(py_err)?,
            ),
            Class::LogNormal => {
                let mut d = LogNormal::new(p[0], p[1]).map_err(py_err)?;
                d.min_std = Normal::blank()
                    .with_min_std(min_std)
                    .map_err(py_err)?
                    .min_std;
                Component::LogNormal(d)
            }
            Class::Exponential => Component::Exponential(Exponential::new(p[0]).map_err(py_err)?),
            Class::Gamma => Component::Gamma(Gamma::new(p[0], p[1]).map_err(py_err)?),
            Class::Poisson => Component::Poisson(Poisson::new(p[0]).map_err(py_err)?),
            Class::Uniform => Component::Uniform(Uniform::new(p[0], p[1]).map_err(py_err)?),
            Class::Bernoulli => Component::Bernoulli(Bernoulli::new(p[0]).map_err(py_err)?),
            Class::Discrete | Class::MultivariateGaussian | Class::IndependentComponents => {
                unreachable!("filtered out above")
            }
        };
        inner.set_frozen(frozen);
        Ok(inner.into())
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
        let mut d = Discrete::new(keys, probabilities, dtype).map_err(py_err)?;
        d.frozen = frozen;
        Ok(Component::Discrete(d).into())
    }

    /// A distribution implemented in Python: any object with pomegranate's distribution
    /// protocol (`d`, `log_probability`, `summarize`, `from_summaries`, `clear_summaries`).
    #[staticmethod]
    fn external(obj: Py<PyAny>, name: String, d: usize) -> PyResult<Self> {
        if d == 0 {
            return Err(invalid("d", "a distribution needs at least one feature"));
        }
        let ext = PyExternal::new(obj, name, d);
        Ok(Component::External(External(Arc::new(ext))).into())
    }

    /// The family's default distribution over `d` features.
    #[staticmethod]
    fn blank(name: &str, d: usize) -> PyResult<Self> {
        Ok(family(name)?.blank(d).map_err(py_err)?.into())
    }

    /// The maximum-likelihood fit of a family to `X`.
    #[staticmethod]
    #[pyo3(signature = (name, x, weights=None))]
    fn fit_new(
        py: Python<'_>,
        name: &str,
        x: PyRows<'_>,
        weights: Option<PyReadonlyArray1<'_, f64>>,
    ) -> PyResult<Self> {
        let family = family(name)?;
        let x = x.rows();
        let w = weights_or_ones(&weights, x.nrows()).map_err(py_err)?;
        family.check_dim(x.ncols()).map_err(py_err)?;
        check_rows(x.ncols(), &x, Some(&w[..])).map_err(py_err)?;
        let inner = py
            .detach(|| with_view!(x, v => Component::fit_new(family, v, &w)))
            .map_err(py_err)?;
        Ok(inner.into())
    }

    /// A distribution from its JSON document.
    #[staticmethod]
    fn from_json(text: &str) -> PyResult<Self> {
        Ok(Component::from_json(text).map_err(py_err)?.into())
    }

    /// The JSON document, laid out as `json.dumps` would with these arguments.
    #[pyo3(signature = (indent=Some(4), item_separator=",", key_separator=" : "),
        text_signature = "(self, /, indent=4, item_separator=',', key_separator=' : ')")]
    fn to_json(&self, indent: Option<usize>, item_separator: &str, key_separator: &str) -> String {
        self.inner
            .to_json_with(&style(indent, item_separator, key_separator))
    }

    /// The pomegranate class name.
    #[getter]
    fn name(&self) -> String {
        self.inner.name()
    }

    /// The number of features.
    #[getter]
    fn d(&self) -> usize {
        self.inner.dim()
    }

    /// Whether fitting leaves the parameters as they are.
    #[getter]
    fn frozen(&self) -> bool {
        self.inner.is_frozen()
    }

    /// Freezes or thaws the distribution.
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
            Component::IndependentComponents(d) => {
                Ok(d.distributions().iter().map(|c| c.clone().into()).collect())
            }
            _ => Ok(vec![]),
        }
    }

    /// The log-density of each row of `x`, shape `(n, d)`.
    #[pyo3(signature = (x, n_jobs=1))]
    fn log_probability<'py>(
        &self,
        py: Python<'py>,
        x: PyRows<'py>,
        n_jobs: i64,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let x = x.rows();
        check_rows(self.inner.dim(), &x, None).map_err(py_err)?;
        let t = threads(n_jobs)?;
        let out = py
            .detach(|| {
                t.install(|| {
                    let mut out = densities(x.nrows())?;
                    with_view!(x, v => self.inner.log_probability_rows(v, &mut out)).map(|_| out)
                })
            })
            .map_err(py_err)?
            .map_err(py_err)?;
        Ok(PyArray1::from_vec(py, out))
    }

    /// The statistics of the rows of `x`, shape `(n, d)`, with optional weights, shape `(n,)`.
    #[pyo3(signature = (x, weights=None))]
    fn summarize(
        &self,
        py: Python<'_>,
        x: PyRows<'_>,
        weights: Option<PyReadonlyArray1<'_, f64>>,
    ) -> PyResult<PyDistributionSummary> {
        let x = x.rows();
        let w = weights_or_ones(&weights, x.nrows()).map_err(py_err)?;
        check_rows(self.inner.dim(), &x, Some(&w[..])).map_err(py_err)?;
        let stats = py
            .detach(|| {
                let mut st = self.inner.try_new_stats()?;
                with_view!(x, v => self.inner.accumulate_rows(v, &w, &mut st)).map(|_| st)
            })
            .map_err(py_err)?;
        Ok(PyDistributionSummary { inner: stats })
    }

    /// New parameters from `summary` (the fit's rules for `inertia` and `pseudocount`).
    #[pyo3(signature = (summary, inertia=0.0, pseudocount=0.0))]
    fn from_summaries(
        &mut self,
        summary: PyRef<'_, PyDistributionSummary>,
        inertia: f64,
        pseudocount: f64,
    ) -> PyResult<()> {
        mixtura::bindings::unit("inertia", inertia).map_err(py_err)?;
        mixtura::bindings::non_negative("pseudocount", pseudocount).map_err(py_err)?;
        self.inner
            .from_summaries_smoothed(&summary.inner, inertia, pseudocount)
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
        let d = self.inner.dim();
        let mut out = mixtura::bindings::zeros_checked(n, d).map_err(py_err)?;
        self.inner.check_sample().map_err(py_err)?;
        for mut row in out.rows_mut() {
            self.inner
                .sample_into(&mut rng, row.as_slice_mut().expect("contiguous"));
        }
        Ok(out.into_pyarray(py))
    }

    /// A copy.
    fn copy(&self) -> PyResult<Self> {
        Ok(self.inner.try_clone().map_err(py_err)?.into())
    }

    /// Whether the two distributions are the same (family, parameters, frozen flag).
    fn __eq__(&self, other: PyRef<'_, PyDistribution>) -> bool {
        self.inner == other.inner
    }
}
