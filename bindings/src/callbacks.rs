//! The adapters through which the crate calls back into Python: batches of rows read from a
//! Python iterator, and distributions implemented in Python.

use numpy::ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use numpy::prelude::*;
use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::exceptions::{PyStopIteration, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::external_error;
use crate::PyRows;
use mixtura::distributions::ExternalDistribution;
use mixtura::BatchSource;
use mixtura::Error;

/// The rows of a batch, shape `(m, d)`, and their optional weights, shape `(m,)`.
type Batch = (Array2<f64>, Option<Array1<f64>>);

/// Batches from Python: `factory()` returns an iterator of `(X, weights)` pairs (X a float64
/// 2-D array, weights a float64 1-D array or None). An epoch reads `per_epoch` batches, moving
/// on through the data and starting a new pass when one ends, or one whole pass when
/// `per_epoch` is None.
pub(super) struct PySource {
    factory: Py<PyAny>,
    per_epoch: Option<usize>,
    iter: Option<Py<PyAny>>,
}

impl PySource {
    /// A source that reads `per_epoch` batches an epoch (a whole pass when None).
    pub(super) fn new(factory: Py<PyAny>, per_epoch: Option<usize>) -> Self {
        PySource {
            factory,
            per_epoch,
            iter: None,
        }
    }

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
                    let (x, w): (PyRows<'_>, Option<PyReadonlyArray1<'_, f64>>) = item.extract()?;
                    // A batch is copied (it lives only while Python holds it); float32 rows
                    // are converted as they are copied.
                    let x = match x {
                        PyRows::F64(a) => a.as_array().to_owned(),
                        PyRows::F32(a) => a.as_array().mapv(f64::from),
                    };
                    Ok(Some((x, w.map(|w| w.as_array().to_owned()))))
                }
                Err(e) if e.is_instance_of::<PyStopIteration>(py) => {
                    self.iter = None;
                    Ok(None)
                }
                Err(e) => Err(e),
            }
        })
        .map_err(|e| external_error(e, "reading a batch of X failed".into()))
    }
}

impl BatchSource for PySource {
    fn next_epoch(
        &mut self,
        f: &mut dyn FnMut(ArrayView2<f64>, Option<ArrayView1<f64>>) -> Result<(), Error>,
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
pub(super) struct PyExternal {
    pub(super) obj: Py<PyAny>,
    name: String,
    d: usize,
}

/// The numbers of an array-like Python value, flattened (`numpy.ravel(numpy.asarray(v,
/// "float64"))`).
fn flat_floats(py: Python<'_>, value: Bound<'_, PyAny>) -> PyResult<Vec<f64>> {
    let np = py.import("numpy")?;
    np.call_method1("ravel", (np.call_method1("asarray", (value, "float64"))?,))?
        .call_method0("tolist")?
        .extract()
}

impl PyExternal {
    /// The distribution `obj` (of class `name`) over `d` features.
    pub(super) fn new(obj: Py<PyAny>, name: String, d: usize) -> Self {
        PyExternal { obj, name, d }
    }

    /// Calls `f` on the object with the GIL; a Python error becomes the crate's, naming the
    /// method `what`.
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

    fn log_probability(&self, x: ArrayView2<f64>, out: &mut [f64]) -> Result<(), Error> {
        self.call("log_probability", |py, obj| {
            let res = obj.call_method1("log_probability", (x.to_pyarray(py),))?;
            let values = flat_floats(py, res)?;
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

    fn summarize(&self, x: ArrayView2<f64>, weights: &[f64]) -> Result<(), Error> {
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

    fn to_value(&self) -> mixtura::serde_json::Value {
        mixtura::serde_json::from_str(&self.to_json()).unwrap_or(mixtura::serde_json::Value::Null)
    }

    fn to_json(&self) -> String {
        let doc = Python::attach(|py| -> PyResult<String> {
            let d = self.obj.bind(py).call_method0("to_dict")?;
            py.import("json")?.call_method1("dumps", (d,))?.extract()
        });
        doc.ok()
            .filter(|t| mixtura::serde_json::from_str::<mixtura::serde::de::IgnoredAny>(t).is_ok())
            .unwrap_or_else(|| {
                format!(
                    "{{\"class\": \"Distribution\", \"name\": {}, \"parameters\": null, \"frozen\": {}}}",
                    mixtura::serde_json::Value::String(self.name.clone()),
                    self.is_frozen()
                )
            })
    }

    fn sample(&self, seed: u64) -> Vec<f64> {
        Python::attach(|py| -> PyResult<Vec<f64>> {
            let kwargs = PyDict::new(py);
            kwargs.set_item("random_state", seed)?;
            let s = self.obj.bind(py).call_method("sample", (), Some(&kwargs))?;
            flat_floats(py, s)
        })
        .unwrap_or_else(|_| vec![f64::NAN; self.d])
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    /// Another handle on the same Python object: a model holds the caller's distribution
    /// objects and fits them in place, as pomegranate does.
    fn boxed_clone(&self) -> Box<dyn ExternalDistribution> {
        let obj = Python::attach(|py| self.obj.clone_ref(py));
        Box::new(PyExternal::new(obj, self.name.clone(), self.d))
    }

    fn equals(&self, other: &dyn ExternalDistribution) -> bool {
        match other.as_any().downcast_ref::<PyExternal>() {
            Some(o) if o.obj.as_ptr() == self.obj.as_ptr() => true,
            _ => self.name() == other.name() && self.to_json() == other.to_json(),
        }
    }
}
