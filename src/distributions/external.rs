//! Distributions implemented outside Rust (for example a Python class with pomegranate's
//! distribution protocol), which keep their own statistics.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use ndarray::ArrayView2;
use serde_json::Value;

use crate::distributions::Distribution;
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

impl External {
    /// A [`Distribution`] of the caller's as a component beside the built-in families: in a
    /// mixture of [`Component`](crate::Component)s, or as one feature's distribution in an
    /// [`IndependentComponents`](crate::IndependentComponents). Nothing more to implement: the
    /// statistics live inside the component between the E-step and the M-step, so mixtures
    /// holding one summarise their rows on one thread (a `GeneralMixtureModel<D>` of it alone
    /// summarises on every thread). Its document is `{"class": "Distribution", "name": name,
    /// "parameters": [distribution as JSON], "frozen": ...}`, which
    /// [`from_json_with`](crate::GeneralMixtureModel::from_json_with) reads back with a reader of
    /// the caller's; `clone` copies it and `==` compares the distributions.
    ///
    /// The name must be the caller's own: a document named after a built-in class (say
    /// `"NormalDistribution"`) is read back as that class. The parameters are written by
    /// `serde_json`, which writes a non-finite number as `null`, and a value it cannot write
    /// (a map with keys that are not strings) as `null` too: the reader then sees `null`.
    ///
    /// ```
    /// use mixtura::ndarray::{array, ArrayView2};
    /// use mixtura::rand_core::RngCore;
    /// use mixtura::{Component, Distribution, External, FitOptions, GeneralMixtureModel};
    /// use mixtura::{IndependentComponents, Normal, Result, Statistics};
    ///
    /// /// An exponential distribution of the caller's (see the guide in `distributions`).
    /// #[derive(Debug, Clone, PartialEq)]
    /// struct Rate(f64);
    /// # #[derive(Debug, Clone)]
    /// # struct Sums(f64, f64);
    /// # impl Statistics for Sums {
    /// #     fn merge(&mut self, o: &Self) -> Result<()> { self.0 += o.0; self.1 += o.1; Ok(()) }
    /// # }
    /// # impl Distribution for Rate {
    /// #     type Stats = Sums;
    /// #     fn dim(&self) -> usize { 1 }
    /// #     fn log_probability_into(&self, x: ArrayView2<f64>, out: &mut [f64]) -> Result<()> {
    /// #         for (o, v) in out.iter_mut().zip(x.column(0)) {
    /// #             *o = if *v < 0.0 { f64::NEG_INFINITY } else { self.0.ln() - self.0 * v };
    /// #         }
    /// #         Ok(())
    /// #     }
    /// #     fn new_stats(&self) -> Sums { Sums(0.0, 0.0) }
    /// #     fn accumulate(&self, x: ArrayView2<f64>, w: &[f64], s: &mut Sums) -> Result<()> {
    /// #         for (v, w) in x.column(0).iter().zip(w) { s.0 += w; s.1 += w * v; }
    /// #         Ok(())
    /// #     }
    /// #     fn from_summaries(&mut self, s: &Sums, inertia: f64) -> Result<()> {
    /// #         if s.0 > 0.0 { self.0 = inertia * self.0 + (1.0 - inertia) * s.0 / s.1; }
    /// #         Ok(())
    /// #     }
    /// #     fn is_frozen(&self) -> bool { false }
    /// #     fn n_parameters(&self) -> Option<usize> { Some(1) }
    /// #     fn sample_into(&self, rng: &mut dyn RngCore, out: &mut [f64]) {
    /// #         out[0] = -(((rng.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64).ln() / self.0;
    /// #     }
    /// # }
    ///
    /// /// Its parameters in the model's document.
    /// impl serde::Serialize for Rate {
    ///     fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
    ///         self.0.serialize(s)
    ///     }
    /// }
    ///
    /// // A rate for the first feature, a normal for the second, in each component.
    /// let component = |rate: f64, mean: f64| -> Result<Component> {
    ///     Ok(Component::IndependentComponents(IndependentComponents::new(
    ///         vec![
    ///             Component::External(External::from_distribution("RateDistribution", Rate(rate))),
    ///             Component::Normal(Normal::new(mean, 1.0)?),
    ///         ],
    ///         None,
    ///     )?))
    /// };
    /// let mut model = GeneralMixtureModel::new(vec![component(5.0, 0.0)?, component(0.5, 6.0)?], None)?;
    /// let x = array![[0.1, 0.2], [0.3, -0.5], [0.2, 0.1], [2.5, 6.3], [1.0, 5.5], [4.0, 6.1]];
    /// model.fit(x.view(), None, &FitOptions::default())?;
    /// let Component::IndependentComponents(first) = &model.distributions()[0] else { unreachable!() };
    /// let Component::External(rate) = &first.distributions()[0] else { unreachable!() };
    /// let fitted: Rate = rate.distribution().unwrap();
    /// assert!(fitted.0 > 3.0);
    /// assert!(model.to_json().contains(r#""name" : "RateDistribution""#));
    /// # Ok::<(), mixtura::Error>(())
    /// ```
    pub fn from_distribution<D>(name: impl Into<String>, distribution: D) -> Self
    where
        D: Distribution + PartialEq + serde::Serialize + 'static,
    {
        let stats = distribution.new_stats();
        External(Arc::new(Adapted {
            name: name.into(),
            state: Mutex::new((distribution, stats)),
        }))
    }

    /// A copy of the distribution of type `D` inside, when this component was made by
    /// [`from_distribution`](External::from_distribution) from a `D`.
    pub fn distribution<D: Distribution + 'static>(&self) -> Option<D> {
        let adapted = self.0.as_any().downcast_ref::<Adapted<D>>()?;
        Some(adapted.lock().0.clone())
    }
}

/// A [`Distribution`] with its statistics kept beside it, as an [`ExternalDistribution`].
struct Adapted<D: Distribution> {
    name: String,
    state: Mutex<(D, D::Stats)>,
}

impl<D: Distribution> Adapted<D> {
    fn lock(&self) -> MutexGuard<'_, (D, D::Stats)> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl<D> ExternalDistribution for Adapted<D>
where
    D: Distribution + PartialEq + serde::Serialize + 'static,
{
    fn name(&self) -> String {
        self.name.clone()
    }

    fn dim(&self) -> usize {
        self.lock().0.dim()
    }

    fn log_probability(&self, x: ArrayView2<f64>, out: &mut [f64]) -> Result<()> {
        self.lock().0.log_probability_into(x, out)
    }

    fn summarize(&self, x: ArrayView2<f64>, weights: &[f64]) -> Result<()> {
        let mut state = self.lock();
        let (d, stats) = &mut *state;
        d.accumulate(x, weights, stats)
    }

    fn from_summaries(&self, inertia: f64) -> Result<()> {
        let mut state = self.lock();
        let (d, stats) = &mut *state;
        let taken = std::mem::replace(stats, d.try_new_stats()?);
        d.from_summaries(&taken, inertia)
    }

    fn clear_summaries(&self) {
        let mut state = self.lock();
        let (d, stats) = &mut *state;
        *stats = d.new_stats();
    }

    fn is_frozen(&self) -> bool {
        self.lock().0.is_frozen()
    }

    fn n_parameters(&self) -> Option<usize> {
        self.lock().0.n_parameters()
    }

    fn to_value(&self) -> Value {
        serde_json::from_str(&self.to_json()).unwrap_or(Value::Null)
    }

    fn to_json(&self) -> String {
        let state = self.lock();
        let parameters = serde_json::to_string(&state.0).unwrap_or_else(|_| "null".into());
        format!(
            "{{\"class\": \"Distribution\", \"name\": {}, \"parameters\": [{parameters}], \"frozen\": {}}}",
            Value::String(self.name.clone()),
            state.0.is_frozen()
        )
    }

    fn sample(&self, seed: u64) -> Vec<f64> {
        let state = self.lock();
        let mut out = vec![f64::NAN; state.0.dim()];
        state.0.sample_into(&mut crate::rng::seeded(seed), &mut out);
        out
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn boxed_clone(&self) -> Box<dyn ExternalDistribution> {
        let state = self.lock();
        Box::new(Adapted {
            name: self.name.clone(),
            state: Mutex::new(state.clone()),
        })
    }

    fn equals(&self, other: &dyn ExternalDistribution) -> bool {
        match other.as_any().downcast_ref::<Adapted<D>>() {
            Some(o) if std::ptr::eq(o, self) => true,
            // One lock at a time: `a == b` and `b == a` on two threads must not wait for each
            // other.
            Some(o) => {
                let theirs = o.lock().0.clone();
                o.name == self.name && theirs == self.lock().0
            }
            None => false,
        }
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
