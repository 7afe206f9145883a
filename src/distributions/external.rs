//! Distributions implemented outside Rust (for example a Python class with pomegranate's
//! distribution protocol), which keep their own statistics.

use std::fmt;
use std::sync::Arc;

use ndarray::ArrayView2;
use serde_json::Value;

use crate::error::Result;

/// A distribution that lives outside the crate and keeps its sufficient statistics itself, as
/// pomegranate's protocol does: `summarize` adds to them, `from_summaries` consumes them.
/// Mixtures holding one summarise their rows in order, on one thread.
pub trait ExternalDistribution: Send + Sync {
    /// The class name.
    fn name(&self) -> String;
    /// The number of features.
    fn dim(&self) -> usize;
    /// The log-density of each row of `x`, shape `(rows, dim)`, into `out`.
    fn log_probability(&self, x: ArrayView2<f64>, out: &mut [f64]) -> Result<()>;
    /// Adds the weighted rows to the distribution's own statistics.
    fn summarize(&self, x: ArrayView2<f64>, weights: &[f64]) -> Result<()>;
    /// New parameters from the distribution's own statistics, which it then clears.
    fn from_summaries(&self, inertia: f64) -> Result<()>;
    /// Discards the distribution's own statistics.
    fn clear_summaries(&self);
    /// Whether the distribution is frozen.
    fn is_frozen(&self) -> bool;
    /// The number of free parameters, when known.
    fn n_parameters(&self) -> Option<usize>;
    /// The distribution's document, for the model's JSON.
    fn to_value(&self) -> Value;
    /// One sample, drawn with the given seed (NaN when the distribution cannot sample).
    fn sample(&self, seed: u64) -> Vec<f64>;
    /// The implementing value, for callers that know its type.
    fn as_any(&self) -> &dyn std::any::Any;
}

/// A shared handle on an [`ExternalDistribution`]; two handles are equal when they share the
/// same distribution.
#[derive(Clone)]
pub struct External(pub Arc<dyn ExternalDistribution>);

impl PartialEq for External {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl fmt::Debug for External {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "External({})", self.0.name())
    }
}
