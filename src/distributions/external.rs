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
///
/// Wrapped in an [`External`], it is a [`Component`](crate::Component), so it can sit in a
/// [`GeneralMixtureModel`](crate::GeneralMixtureModel) beside the built-in families and inside an
/// [`IndependentComponents`](crate::IndependentComponents). A type that keeps its statistics in
/// values is better written as a [`Distribution`](crate::Distribution): its mixtures summarise on
/// every thread.
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
    /// The same document as JSON text (compact or not; the model's layout is applied when it is
    /// written). The model's document keeps this text's key order; the default writes
    /// [`to_value`](ExternalDistribution::to_value), whose key order is serde_json's (sorted,
    /// unless the program turns on serde_json's `preserve_order` feature).
    fn to_json(&self) -> String {
        self.to_value().to_string()
    }
    /// One sample, drawn with the given seed (NaN when the distribution cannot sample).
    fn sample(&self, seed: u64) -> Vec<f64>;
    /// The implementing value, for callers that know its type.
    fn as_any(&self) -> &dyn std::any::Any;
    /// A copy with its own parameters and statistics: fitting the copy leaves `self` as it is.
    /// [`External`]'s `Clone` calls it, so that a cloned model is a model of its own.
    fn boxed_clone(&self) -> Box<dyn ExternalDistribution>;
    /// Whether `other` is the same distribution, for `PartialEq`. The default compares the
    /// names and the documents ([`to_json`](ExternalDistribution::to_json)), which hold the
    /// parameters and the frozen flag.
    fn equals(&self, other: &dyn ExternalDistribution) -> bool {
        self.name() == other.name() && self.to_json() == other.to_json()
    }
}

/// An [`ExternalDistribution`] as a component. `clone` copies the distribution
/// ([`boxed_clone`](ExternalDistribution::boxed_clone)); two are equal when they are the same
/// distribution or [`equals`](ExternalDistribution::equals) says they are.
pub struct External(pub Arc<dyn ExternalDistribution>);

impl External {
    /// Wraps a distribution.
    pub fn new(distribution: impl ExternalDistribution + 'static) -> Self {
        External(Arc::new(distribution))
    }
}

impl Clone for External {
    fn clone(&self) -> Self {
        External(Arc::from(self.0.boxed_clone()))
    }
}

impl PartialEq for External {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0.equals(&*other.0)
    }
}

impl fmt::Debug for External {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "External({})", self.0.name())
    }
}
