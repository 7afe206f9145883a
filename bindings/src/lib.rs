//! The Python layer, `mixtura._core`: thin wrappers that convert types, release the GIL around
//! every computation and map errors to Python exceptions. Everything else lives in the library
//! (`mixtura`).
//!
//! A file per Python class: [`distribution`], [`mixture`], [`kmeans`] and [`gaussian`]; the
//! options of a fit in [`options`]; the adapters that call back into Python in [`callbacks`];
//! the exceptions in [`errors`]. The crate is the library's Python extension (built by maturin
//! into a cdylib); it uses the library's public API and `mixtura::bindings`.

// `from_summaries` is pomegranate's name for the M-step, which updates `self`.
#![allow(clippy::wrong_self_convention)]

/// The adapters that call back into Python.
mod callbacks;
/// `Distribution` and `DistributionSummary`.
mod distribution;
/// The exceptions, and the errors' conversion.
mod errors;
/// `GaussianMixture`.
mod gaussian;
/// `Kmeans`.
mod kmeans;
/// `Mixture` and `MixtureSummary`.
mod mixture;
/// `FitOptions`, `FromSamplesOptions` and `Layout`.
mod options;

use crate::errors::py_err;
use numpy::ndarray::ArrayView1;
use numpy::{PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;

use mixtura::bindings::Rows;
use mixtura::Error;
use mixtura::JsonStyle;
use mixtura::Threads;

/// Labels as numpy's integers of type `T` (a copy, checked: an error instead of an abort when
/// it does not fit in memory).
fn labels_as<T: numpy::Element>(
    labels: &numpy::ndarray::Array1<usize>,
    cast: impl Fn(usize) -> T,
) -> PyResult<numpy::ndarray::Array1<T>> {
    let out = mixtura::bindings::collected(labels.iter().map(|&j| cast(j)), || {
        mixtura::bindings::too_large("data", format!("a label for each of {} rows", labels.len()))
    })
    .map_err(py_err)?;
    Ok(numpy::ndarray::Array1::from_vec(out))
}

/// The threads of `n_jobs` (positive, or -1 for all cores).
fn threads(n_jobs: i64) -> PyResult<Threads> {
    Threads::from_n_jobs(n_jobs).map_err(py_err)
}

/// The layout of a document's text, from `to_json`'s arguments.
fn style(indent: Option<usize>, item_separator: &str, key_separator: &str) -> JsonStyle {
    let mut style = JsonStyle::default();
    style.indent = indent;
    style.item_separator = item_separator.into();
    style.key_separator = key_separator.into();
    style
}

/// The optional sample weights as a view.
fn weights_view<'a>(weights: &'a Option<PyReadonlyArray1<'_, f64>>) -> Option<ArrayView1<'a, f64>> {
    weights.as_ref().map(|w| w.as_array())
}

/// Rows from Python: a 2-D float64 or float32 array in any layout (C or Fortran order, strided,
/// a memmap), read where it is (float32 rows are converted a block at a time by the crate).
#[derive(FromPyObject)]
pub(crate) enum PyRows<'py> {
    /// float64 rows.
    F64(PyReadonlyArray2<'py, f64>),
    /// float32 rows.
    F32(PyReadonlyArray2<'py, f32>),
}

impl PyRows<'_> {
    /// The rows as the crate reads them.
    fn rows(&self) -> Rows<'_> {
        match self {
            PyRows::F64(a) => Rows::F64(a.as_array()),
            PyRows::F32(a) => Rows::F32(a.as_array()),
        }
    }
}

/// `$f` of the view `$v` inside the [`Rows`] `$x`, whichever its element type (the crate's
/// functions over rows are generic over it).
macro_rules! with_view {
    ($x:expr, $v:ident => $f:expr) => {
        match $x {
            mixtura::bindings::Rows::F64($v) => $f,
            mixtura::bindings::Rows::F32($v) => $f,
        }
    };
}
pub(crate) use with_view;

/// Runs `f` on the rows `x` and the threads of `n_jobs`, with the GIL released.
fn on_rows<T: Send>(
    py: Python<'_>,
    x: &PyRows<'_>,
    n_jobs: i64,
    f: impl FnOnce(Rows<'_>, Threads) -> Result<T, Error> + Send,
) -> PyResult<T> {
    let x = x.rows();
    let t = threads(n_jobs)?;
    py.detach(|| f(x, t)).map_err(py_err)
}

/// The number of cores this process may use.
#[pyfunction]
fn available_cores() -> usize {
    mixtura::available_cores()
}

/// The kernel path this process takes and the best one the processor has, as
/// `MIXTURA_KERNEL` names them (`"portable"`, `"avx2"`, `"avx512"`).
#[pyfunction]
fn kernel_paths() -> (&'static str, &'static str) {
    use mixtura::bindings::Isa;
    (Isa::current().level().name(), Isa::cpu().level().name())
}

/// Checks sample weights and labels against `n` rows and `k` components, so that a fit can
/// refuse them before its callbacks begin (the fit itself checks them again).
#[pyfunction]
#[pyo3(signature = (n, weights=None, labels=None, k=0))]
fn check_weights_and_labels(
    n: usize,
    weights: Option<PyReadonlyArray1<'_, f64>>,
    labels: Option<PyReadonlyArray1<'_, i64>>,
    k: usize,
) -> PyResult<()> {
    if let Some(w) = weights_view(&weights) {
        mixtura::bindings::check_weights(&w, n).map_err(py_err)?;
    }
    if let Some(l) = &labels {
        mixtura::bindings::check_labels(&l.as_array().to_vec(), n, k).map_err(py_err)?;
    }
    Ok(())
}

/// The pomegranate class names of the built-in families, from the crate's family table.
#[pyfunction]
fn class_names() -> Vec<&'static str> {
    mixtura::distributions::Class::ALL
        .iter()
        .map(|c| c.name())
        .collect()
}

/// Reads any model document; returns `("GeneralMixtureModel", Mixture)`,
/// `("Distribution", Distribution)` or `("Kmeans", Kmeans)`.
#[pyfunction]
fn model_from_json(py: Python<'_>, text: &str) -> PyResult<(&'static str, Py<PyAny>)> {
    Ok(match mixtura::Model::from_json(text).map_err(py_err)? {
        mixtura::Model::Mixture(m) => (
            "GeneralMixtureModel",
            Py::new(py, mixture::PyMixture::from(m))?.into_any(),
        ),
        mixtura::Model::Distribution(d) => (
            "Distribution",
            Py::new(py, distribution::PyDistribution::from(d))?.into_any(),
        ),
        mixtura::Model::Kmeans(m) => (
            "Kmeans",
            Py::new(py, kmeans::PyKmeans::from_model(m))?.into_any(),
        ),
    })
}

/// The module `mixtura._core`.
#[pymodule(name = "_core")]
mod core_module {
    #[pymodule_export]
    use crate::distribution::{PyDistribution, PyDistributionSummary};
    #[pymodule_export]
    use crate::errors::MixturaError;
    #[pymodule_export]
    use crate::gaussian::PyGaussianMixture;
    #[pymodule_export]
    use crate::kmeans::{PyKmeans, PyKmeansSummary};
    #[pymodule_export]
    use crate::mixture::{PyMixture, PyMixtureSummary};
    #[pymodule_export]
    use crate::options::{Layout, PyFitOptions, PyFromSamplesOptions};
    #[pymodule_export]
    use crate::{
        available_cores, check_weights_and_labels, class_names, kernel_paths, model_from_json,
    };

    /// The crate's version.
    #[pymodule_export]
    #[allow(non_upper_case_globals)]
    const __version__: &str = env!("CARGO_PKG_VERSION");
}
