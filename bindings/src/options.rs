//! The options that cross the boundary as one object each: `FitOptions` (an EM fit),
//! `FromSamplesOptions` (the initialisation of `from_samples`, and its fit) and `Layout` (how
//! `from_samples` reads its families). Built in Python by keyword, converted to the crate's
//! options here, in one place.

use pyo3::prelude::*;

use crate::errors::invalid;
use crate::errors::py_err;
use crate::threads;
use mixtura::distributions::{Class, Family};
use mixtura::Cancel;
use mixtura::Error;
use mixtura::FitOptions;
use mixtura::Init;
use mixtura::{Components, FromSamplesOptions};

/// An iteration limit as Python gives it: a whole, non-negative number (pomegranate's default
/// is the float `1e8`); infinity, or anything from 2^64 up, means no limit.
pub(super) fn iteration_limit(name: &str, v: f64) -> Result<u64, Error> {
    mixtura::bindings::not_nan(name, v)?;
    if v < 0.0 {
        return Err(Error::param(name, format!("must be non-negative, got {v}")));
    }
    // 2^64 is exactly representable; every whole f64 below it fits in a u64.
    if v >= 18_446_744_073_709_551_616.0 {
        return Ok(u64::MAX);
    }
    if v.fract() != 0.0 {
        return Err(Error::param(
            name,
            format!("must be a whole number, got {v}"),
        ));
    }
    Ok(v as u64)
}

/// A count that may be absent: a negative one is refused as the crate refuses 0.
fn optional_count(name: &str, v: Option<i64>) -> Result<Option<usize>, Error> {
    v.map(|v| usize::try_from(v).map_err(|_| Error::param(name, "must be at least 1")))
        .transpose()
}

/// The options of an EM fit, by keyword, with pomegranate's names and defaults. Every value is
/// checked when the options are built (by the crate's rules, the errors naming the Python
/// parameters), so a fit given them only converts them.
#[pyclass(module = "mixtura._core", name = "FitOptions", frozen, get_all)]
#[derive(Clone, Debug)]
pub struct PyFitOptions {
    inertia: f64,
    pseudocount: f64,
    stop_threshold: f64,
    max_iterations: u64,
    batch_size: Option<usize>,
    batches_per_epoch: Option<usize>,
    lr_decay: f64,
    n_jobs: i64,
}

#[pymethods]
impl PyFitOptions {
    /// Options by keyword, checked.
    #[new]
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (*, inertia=0.0, pseudocount=0.0, stop_threshold=0.1,
        max_iterations=1e8, batch_size=None, batches_per_epoch=None, lr_decay=0.0, n_jobs=1))]
    fn new(
        inertia: f64,
        pseudocount: f64,
        stop_threshold: f64,
        max_iterations: f64,
        batch_size: Option<i64>,
        batches_per_epoch: Option<i64>,
        lr_decay: f64,
        n_jobs: i64,
    ) -> PyResult<Self> {
        let options = PyFitOptions {
            inertia,
            pseudocount,
            stop_threshold,
            max_iterations: iteration_limit("max_iterations", max_iterations).map_err(py_err)?,
            batch_size: optional_count("batch_size", batch_size).map_err(py_err)?,
            batches_per_epoch: optional_count("batches_per_epoch", batches_per_epoch)
                .map_err(py_err)?,
            lr_decay,
            n_jobs,
        };
        options.to_rust()?;
        Ok(options)
    }
}

impl Default for PyFitOptions {
    fn default() -> Self {
        let d = FitOptions::default();
        PyFitOptions {
            inertia: d.inertia,
            pseudocount: d.pseudocount,
            stop_threshold: d.stop_threshold,
            max_iterations: d.max_iterations,
            batch_size: d.batch_size,
            batches_per_epoch: d.batches_per_epoch,
            lr_decay: d.lr_decay,
            n_jobs: 1,
        }
    }
}

impl PyFitOptions {
    /// The crate's options of `options`, or of the defaults when None.
    pub(super) fn to_rust_or_default(options: Option<&PyFitOptions>) -> PyResult<FitOptions> {
        match options {
            Some(o) => o.to_rust(),
            None => PyFitOptions::default().to_rust(),
        }
    }

    /// The crate's options (with a cancel flag of their own), checked.
    pub(super) fn to_rust(&self) -> PyResult<FitOptions> {
        let mut opts = FitOptions::default()
            .inertia(self.inertia)
            .pseudocount(self.pseudocount)
            .stop_threshold(self.stop_threshold)
            .max_iterations(self.max_iterations)
            .lr_decay(self.lr_decay)
            .threads(threads(self.n_jobs)?)
            .cancel(Cancel::new());
        opts.batch_size = self.batch_size;
        opts.batches_per_epoch = self.batches_per_epoch;
        opts.check().map_err(py_err)?;
        Ok(opts)
    }
}

/// The options of `from_samples`: the number of components, the k-means initialisation and the
/// EM fit that follows, by keyword, with pomegranate's names and defaults.
#[pyclass(module = "mixtura._core", name = "FromSamplesOptions", frozen, get_all)]
#[derive(Clone, Debug)]
pub struct PyFromSamplesOptions {
    n_components: usize,
    init: String,
    n_init: usize,
    max_kmeans_iterations: u64,
    seed: u64,
    fit: PyFitOptions,
}

#[pymethods]
impl PyFromSamplesOptions {
    /// Options by keyword; the iteration limit is checked here, the rest by the fit.
    #[new]
    #[pyo3(signature = (n_components, *, init="kmeans++", n_init=1, max_kmeans_iterations=1.0,
        seed=0, fit=None))]
    fn new(
        n_components: usize,
        init: &str,
        n_init: usize,
        max_kmeans_iterations: f64,
        seed: u64,
        fit: Option<PyRef<'_, PyFitOptions>>,
    ) -> PyResult<Self> {
        Ok(PyFromSamplesOptions {
            n_components,
            init: init.to_string(),
            n_init,
            max_kmeans_iterations: iteration_limit("max_kmeans_iterations", max_kmeans_iterations)
                .map_err(py_err)?,
            seed,
            fit: fit.map_or_else(PyFitOptions::default, |f| f.clone()),
        })
    }
}

impl PyFromSamplesOptions {
    /// The crate's options.
    pub(super) fn to_rust(&self) -> PyResult<FromSamplesOptions> {
        let mut opts = FromSamplesOptions::new(self.n_components)
            .init(Init::from_name(&self.init).map_err(py_err)?)
            .n_init(self.n_init)
            .max_kmeans_iterations(self.max_kmeans_iterations)
            .seed(self.seed);
        opts.fit = self.fit.to_rust()?;
        Ok(opts)
    }
}

/// How `from_samples` reads its list of families.
#[pyclass(module = "mixtura._core", eq, eq_int, frozen)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// One family, for every component, over all the features.
    #[pyo3(name = "EACH")]
    Each,
    /// One univariate family per feature; every component is independent components of them.
    #[pyo3(name = "PER_FEATURE")]
    PerFeature,
    /// One univariate family per component (one feature).
    #[pyo3(name = "MIXED")]
    Mixed,
}

impl Layout {
    /// The components of `from_samples`: `families` are `(class name, number of symbols)`
    /// pairs, the number of symbols given for the discrete families only.
    pub(super) fn components(self, families: &[(String, Option<usize>)]) -> PyResult<Components> {
        let fams = families
            .iter()
            .map(|(name, n_symbols)| {
                Class::from_name(name)
                    .and_then(|c| c.family(*n_symbols))
                    .ok_or_else(|| {
                        invalid(
                            "distributions",
                            format!("{name} cannot be fitted by from_samples"),
                        )
                    })
            })
            .collect::<PyResult<Vec<Family>>>()?;
        Ok(match (self, fams.as_slice()) {
            (Layout::Each, [f]) => Components::Each(*f),
            (Layout::Each, _) => {
                return Err(invalid("layout", "Layout.EACH takes exactly one family"))
            }
            (Layout::PerFeature, _) => Components::PerFeature(fams),
            (Layout::Mixed, _) => Components::Mixed(fams),
        })
    }
}
