//! Distributions: the [`Distribution`] trait that a mixture component implements, the built-in
//! families, and [`Component`], the enum of the built-in families that the Python layer and the
//! JSON format use.

mod independent;
mod multivariate_gaussian;
mod normal;

pub use independent::IndependentComponents;
pub use multivariate_gaussian::{MultivariateGaussian, MultivariateGaussianStats, PairwiseStats};
pub use normal::{Normal, NormalStats, COLLAPSED_VARIANCE};

use std::fmt::Debug;

use ndarray::ArrayView2;
use rand_core::RngCore;

use crate::error::{Error, Result};

/// Sufficient statistics: values that can be merged. Merging the statistics of two blocks of rows
/// gives the statistics of both blocks together.
pub trait Statistics: Clone + Send + Sync + Debug {
    /// Adds `other` into `self`.
    fn merge(&mut self, other: &Self) -> Result<()>;
}

/// A probability distribution that can be a mixture component.
///
/// Rows of the arrays it is given have exactly [`dim`](Distribution::dim) columns; the caller
/// checks that. A missing value is a NaN.
pub trait Distribution: Clone + Send + Sync + Debug {
    /// The sufficient statistics this distribution collects.
    type Stats: Statistics;

    /// The number of features (1 for a univariate distribution).
    fn dim(&self) -> usize;

    /// The log-density of each row of `x`, shape `(rows, dim)`, written into `out` (`rows` long).
    /// A value outside the support gets `-inf`; a missing value (NaN) adds 0.
    fn log_probability_into(&self, x: ArrayView2<f64>, out: &mut [f64]) -> Result<()>;

    /// Empty statistics for this distribution.
    fn new_stats(&self) -> Self::Stats;

    /// Adds the rows of `x`, shape `(rows, dim)`, with the given per-row weights, to `stats`.
    fn accumulate(&self, x: ArrayView2<f64>, weights: &[f64], stats: &mut Self::Stats)
        -> Result<()>;

    /// Sets the parameters to `inertia * old + (1 - inertia) * mle(stats)`; does nothing when the
    /// distribution is frozen or the statistics hold (almost) no weight.
    fn from_summaries(&mut self, stats: &Self::Stats, inertia: f64) -> Result<()>;

    /// [`from_summaries`](Distribution::from_summaries) with a pseudocount added to every
    /// category count; families without categories ignore it (the default).
    fn from_summaries_smoothed(
        &mut self,
        stats: &Self::Stats,
        inertia: f64,
        pseudocount: f64,
    ) -> Result<()> {
        let _ = pseudocount;
        self.from_summaries(stats, inertia)
    }

    /// Whether `accumulate` only writes into the statistics it is given (true for every
    /// built-in family). A distribution that keeps its statistics elsewhere returns false, and
    /// mixtures holding it summarise their rows in order on one thread.
    fn stateless_statistics(&self) -> bool {
        true
    }

    /// Discards statistics kept outside the `Stats` values (nothing by default).
    fn clear_summaries(&self) {}

    /// Whether the distribution is frozen (its parameters do not change in `from_summaries`).
    fn is_frozen(&self) -> bool;

    /// Draws one sample into `out` (`dim` long).
    fn sample_into(&self, rng: &mut dyn RngCore, out: &mut [f64]);
}

/// The built-in distribution families, as one type.
#[derive(Debug, Clone, PartialEq)]
pub enum Component {
    /// A univariate normal.
    Normal(Normal),
    /// A full-covariance multivariate Gaussian.
    MultivariateGaussian(MultivariateGaussian),
    /// Independent univariate distributions, one per feature.
    IndependentComponents(IndependentComponents),
}

/// The statistics of a [`Component`].
// One value per component and chunk: the size difference between the variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum ComponentStats {
    /// Statistics of a [`Normal`].
    Normal(NormalStats),
    /// Statistics of a [`MultivariateGaussian`].
    MultivariateGaussian(MultivariateGaussianStats),
    /// Statistics of an [`IndependentComponents`], one per feature.
    IndependentComponents(Vec<ComponentStats>),
}

/// The families a component can be fitted as, for `from_samples`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// [`Normal`].
    Normal,
    /// [`MultivariateGaussian`].
    MultivariateGaussian,
}

impl Family {
    /// The family's pomegranate class name.
    pub fn name(self) -> &'static str {
        match self {
            Family::Normal => "NormalDistribution",
            Family::MultivariateGaussian => "MultivariateGaussianDistribution",
        }
    }

    /// The family for a pomegranate class name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "NormalDistribution" => Some(Family::Normal),
            "MultivariateGaussianDistribution" => Some(Family::MultivariateGaussian),
            _ => None,
        }
    }

    /// Whether the family is univariate.
    pub fn is_univariate(self) -> bool {
        matches!(self, Family::Normal)
    }

    /// The family's default distribution over `d` features (pomegranate's `blank`).
    pub fn blank(self, d: usize) -> Result<Component> {
        match self {
            Family::Normal if d == 1 => Ok(Component::Normal(Normal::blank())),
            Family::Normal => Err(Error::param(
                "distributions",
                "NormalDistribution is univariate; use IndependentComponentsDistribution for several features",
            )),
            Family::MultivariateGaussian => {
                Ok(Component::MultivariateGaussian(MultivariateGaussian::blank(d)?))
            }
        }
    }
}

impl Component {
    /// The pomegranate class name of the component.
    pub fn name(&self) -> &'static str {
        match self {
            Component::Normal(_) => "NormalDistribution",
            Component::MultivariateGaussian(_) => "MultivariateGaussianDistribution",
            Component::IndependentComponents(_) => "IndependentComponentsDistribution",
        }
    }

    /// Sets the frozen flag.
    pub fn set_frozen(&mut self, frozen: bool) {
        match self {
            Component::Normal(d) => d.frozen = frozen,
            Component::MultivariateGaussian(d) => d.frozen = frozen,
            Component::IndependentComponents(d) => d.frozen = frozen,
        }
    }

    /// The maximum-likelihood fit of `family` to the rows of `x`, shape `(n, d)`, starting from
    /// the family's blank distribution (which is returned unchanged when the rows hold no weight).
    pub fn fit_new(family: Family, x: ArrayView2<f64>, weights: &[f64]) -> Result<Component> {
        let mut c = family.blank(x.ncols())?;
        // Two passes: the statistics are moments around the distribution's mean, so the second
        // pass, around the first pass's mean, gives an accurate (co)variance even for data far
        // from the blank distribution's mean of 0.
        for _ in 0..2 {
            let mut st = c.new_stats();
            c.accumulate(x, weights, &mut st)?;
            c.from_summaries(&st, 0.0)?;
        }
        Ok(c)
    }
}

macro_rules! dispatch {
    ($self:expr, $d:ident => $e:expr) => {
        match $self {
            Component::Normal($d) => $e,
            Component::MultivariateGaussian($d) => $e,
            Component::IndependentComponents($d) => $e,
        }
    };
}

impl Distribution for Component {
    type Stats = ComponentStats;

    fn dim(&self) -> usize {
        dispatch!(self, d => d.dim())
    }

    fn log_probability_into(&self, x: ArrayView2<f64>, out: &mut [f64]) -> Result<()> {
        dispatch!(self, d => d.log_probability_into(x, out))
    }

    fn new_stats(&self) -> ComponentStats {
        match self {
            Component::Normal(d) => ComponentStats::Normal(d.new_stats()),
            Component::MultivariateGaussian(d) => {
                ComponentStats::MultivariateGaussian(d.new_stats())
            }
            Component::IndependentComponents(d) => {
                ComponentStats::IndependentComponents(d.new_stats())
            }
        }
    }

    fn accumulate(
        &self,
        x: ArrayView2<f64>,
        weights: &[f64],
        stats: &mut ComponentStats,
    ) -> Result<()> {
        match (self, stats) {
            (Component::Normal(d), ComponentStats::Normal(s)) => d.accumulate(x, weights, s),
            (Component::MultivariateGaussian(d), ComponentStats::MultivariateGaussian(s)) => {
                d.accumulate(x, weights, s)
            }
            (Component::IndependentComponents(d), ComponentStats::IndependentComponents(s)) => {
                d.accumulate(x, weights, s)
            }
            _ => Err(Error::param(
                "summaries",
                "the statistics belong to a distribution of another family",
            )),
        }
    }

    fn from_summaries(&mut self, stats: &ComponentStats, inertia: f64) -> Result<()> {
        match (self, stats) {
            (Component::Normal(d), ComponentStats::Normal(s)) => d.from_summaries(s, inertia),
            (Component::MultivariateGaussian(d), ComponentStats::MultivariateGaussian(s)) => {
                d.from_summaries(s, inertia)
            }
            (Component::IndependentComponents(d), ComponentStats::IndependentComponents(s)) => {
                d.from_summaries(s, inertia)
            }
            _ => Err(Error::param(
                "summaries",
                "the statistics belong to a distribution of another family",
            )),
        }
    }

    fn is_frozen(&self) -> bool {
        dispatch!(self, d => d.is_frozen())
    }

    fn sample_into(&self, rng: &mut dyn RngCore, out: &mut [f64]) {
        dispatch!(self, d => d.sample_into(rng, out))
    }
}

impl Statistics for ComponentStats {
    fn merge(&mut self, other: &Self) -> Result<()> {
        match (self, other) {
            (ComponentStats::Normal(a), ComponentStats::Normal(b)) => a.merge(b),
            (ComponentStats::MultivariateGaussian(a), ComponentStats::MultivariateGaussian(b)) => {
                a.merge(b)
            }
            (
                ComponentStats::IndependentComponents(a),
                ComponentStats::IndependentComponents(b),
            ) => a.merge(b),
            _ => Err(Error::param(
                "summaries",
                "statistics of distributions of different families cannot be merged",
            )),
        }
    }
}

/// A uniform draw in the open interval (0, 1), from the top 53 bits of one `u64`.
pub(crate) fn uniform01(rng: &mut dyn RngCore) -> f64 {
    ((rng.next_u64() >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
}

/// A standard normal draw (Box-Muller; one of the pair is used, which keeps the draw count per
/// sample fixed and the streams reproducible).
pub(crate) fn standard_normal(rng: &mut dyn RngCore) -> f64 {
    let u1 = uniform01(rng);
    let u2 = uniform01(rng);
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}
