//! Distributions: the [`Distribution`] trait that a mixture component implements, the built-in
//! families, and [`Component`], the enum of the built-in families that the Python layer and the
//! JSON format use.
//!
//! # Implementing `Distribution`
//!
//! A type of yours is a mixture component when it implements [`Distribution`]:
//! `GeneralMixtureModel<YourType>` then fits by EM, predicts, samples and summarises in parts
//! like a mixture of the built-in families, on as many threads as it is given, with results that
//! do not depend on the thread count.
//!
//! What the crate asks of an implementation:
//!
//! - [`dim`](Distribution::dim): the number of features; every array it is given has that many
//!   columns (the crate checks).
//! - [`log_probability_into`](Distribution::log_probability_into): the log-density of each row of
//!   a block (a few hundred rows at a time), `-inf` outside the support. A missing value is a NaN
//!   and adds 0 (the feature is left out).
//! - Statistics: an associated type [`Stats`](Distribution::Stats) that implements
//!   [`Statistics`]: a value (no shared state) whose [`merge`](Statistics::merge) adds another
//!   one, so that the statistics of two blocks merged are those of both blocks.
//!   [`new_stats`](Distribution::new_stats) gives empty ones,
//!   [`accumulate`](Distribution::accumulate) adds the rows of a block with their weights (the
//!   responsibilities times the sample weights; a weight may be 0). The crate summarises blocks
//!   of a fixed size on its threads and merges them in row order, so an implementation needs no
//!   locking and gets the same numbers on any number of threads.
//! - [`from_summaries`](Distribution::from_summaries): the M-step. New parameters
//!   `inertia * old + (1 - inertia) * mle(stats)`; nothing changes when the distribution is frozen
//!   or the statistics hold (almost) no weight (a component that no row chose keeps its
//!   parameters).
//! - [`is_frozen`](Distribution::is_frozen), [`n_parameters`](Distribution::n_parameters) (for
//!   the BIC and AIC; `None` when unknown) and [`sample_into`](Distribution::sample_into) (one
//!   sample, from the generator it is given, so that a seeded generator gives the same rows).
//!
//! The other methods have defaults: [`from_summaries_smoothed`](Distribution::from_summaries_smoothed)
//! (pseudocounts of categories), [`try_new_stats`](Distribution::try_new_stats) and
//! [`check_sample`](Distribution::check_sample) (work spaces that may not fit in memory),
//! [`gaussian`](Distribution::gaussian) and [`gaussian_stats`](Distribution::gaussian_stats) (a
//! Gaussian form for the crate's fused kernels), [`stateless_statistics`](Distribution::stateless_statistics)
//! and [`clear_summaries`](Distribution::clear_summaries) (statistics kept outside the `Stats`
//! values).
//!
//! A Rayleigh distribution, `p(x) = x / s^2 exp(-x^2 / (2 s^2))` for `x >= 0`, whose
//! maximum-likelihood `s^2` is `sum w x^2 / (2 sum w)`:
//!
//! ```
//! use mixtura::ndarray::{array, ArrayView2};
//! use mixtura::rand_core::RngCore;
//! use mixtura::{Distribution, FitOptions, GeneralMixtureModel, Result, Statistics, Threads};
//!
//! #[derive(Debug, Clone, PartialEq)]
//! struct Rayleigh {
//!     scale: f64,
//!     frozen: bool,
//! }
//!
//! /// The weight and the weighted sum of squares of the rows seen.
//! #[derive(Debug, Clone, PartialEq)]
//! struct RayleighStats {
//!     weight: f64,
//!     sum_squares: f64,
//! }
//!
//! impl Statistics for RayleighStats {
//!     fn merge(&mut self, other: &Self) -> Result<()> {
//!         self.weight += other.weight;
//!         self.sum_squares += other.sum_squares;
//!         Ok(())
//!     }
//! }
//!
//! impl Distribution for Rayleigh {
//!     type Stats = RayleighStats;
//!
//!     fn dim(&self) -> usize {
//!         1
//!     }
//!
//!     fn log_probability_into(&self, x: ArrayView2<f64>, out: &mut [f64]) -> Result<()> {
//!         let s2 = self.scale * self.scale;
//!         for (o, &v) in out.iter_mut().zip(x.column(0)) {
//!             *o = if v.is_nan() {
//!                 0.0 // missing
//!             } else if v < 0.0 {
//!                 f64::NEG_INFINITY
//!             } else {
//!                 v.ln() - s2.ln() - v * v / (2.0 * s2)
//!             };
//!         }
//!         Ok(())
//!     }
//!
//!     fn new_stats(&self) -> RayleighStats {
//!         RayleighStats { weight: 0.0, sum_squares: 0.0 }
//!     }
//!
//!     fn accumulate(&self, x: ArrayView2<f64>, weights: &[f64], stats: &mut RayleighStats)
//!         -> Result<()> {
//!         for (&v, &w) in x.column(0).iter().zip(weights) {
//!             if !v.is_nan() {
//!                 stats.weight += w;
//!                 stats.sum_squares += w * v * v;
//!             }
//!         }
//!         Ok(())
//!     }
//!
//!     fn from_summaries(&mut self, stats: &RayleighStats, inertia: f64) -> Result<()> {
//!         if self.frozen || stats.weight < 1e-8 {
//!             return Ok(());
//!         }
//!         let mle = (stats.sum_squares / (2.0 * stats.weight)).sqrt();
//!         self.scale = inertia * self.scale + (1.0 - inertia) * mle;
//!         Ok(())
//!     }
//!
//!     fn is_frozen(&self) -> bool {
//!         self.frozen
//!     }
//!
//!     fn n_parameters(&self) -> Option<usize> {
//!         Some(if self.frozen { 0 } else { 1 })
//!     }
//!
//!     fn sample_into(&self, rng: &mut dyn RngCore, out: &mut [f64]) {
//!         let u = ((rng.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
//!         out[0] = self.scale * (-2.0 * u.ln()).sqrt();
//!     }
//! }
//!
//! let x = array![[0.1], [0.2], [0.15], [0.3], [3.0], [4.5], [5.0], [3.8]];
//! let mut model = GeneralMixtureModel::new(
//!     vec![Rayleigh { scale: 0.5, frozen: false }, Rayleigh { scale: 2.0, frozen: false }],
//!     None,
//! )?;
//! let report = model.fit(x.view(), None, &FitOptions::default())?;
//! assert!(report.log_probability > report.initial_log_probability);
//! let labels = model.predict(x.view(), Threads::Current)?;
//! assert_eq!(labels.to_vec(), vec![0, 0, 0, 0, 1, 1, 1, 1]);
//! # Ok::<(), mixtura::Error>(())
//! ```
//!
//! `GeneralMixtureModel<Rayleigh>` has every method of a mixture that does not depend on the
//! component type: [`fit`](crate::GeneralMixtureModel::fit),
//! [`fit_source`](crate::GeneralMixtureModel::fit_source) (out of core),
//! [`summarize`](crate::GeneralMixtureModel::summarize) and
//! [`from_summaries`](crate::GeneralMixtureModel::from_summaries) (statistics in parts),
//! [`predict`](crate::GeneralMixtureModel::predict), [`sample`](crate::GeneralMixtureModel::sample),
//! [`bic`](crate::GeneralMixtureModel::bic), and
//! [`from_samples_like`](crate::GeneralMixtureModel::from_samples_like) builds one from data
//! (k-means, then EM) from a blank distribution of yours. The JSON format and
//! [`IndependentComponents`] hold [`Component`]s: to mix a distribution of yours with the
//! built-in families there (as a component, or as one feature's distribution), or to write it
//! in a model's document, wrap it with
//! [`External::from_distribution`] (it also needs `PartialEq`, and `serde::Serialize` for its
//! parameters in the document); nothing more to implement. Mixtures holding such a component
//! summarise their rows on one thread, since its statistics live inside it between the E-step
//! and the M-step. [`GeneralMixtureModel::from_json_with`](crate::GeneralMixtureModel::from_json_with)
//! reads its documents back. [`ExternalDistribution`] is for distributions that keep their
//! statistics themselves (a Python class, say).

mod discrete;
mod external;
mod family;
mod independent;
mod multivariate_gaussian;
mod normal;
mod symmetric;
mod univariate;

pub use discrete::{Discrete, DiscreteStats};
pub use external::{External, ExternalDistribution};
pub use family::{Class, Family};
pub use independent::IndependentComponents;
pub use multivariate_gaussian::{MultivariateGaussian, MultivariateGaussianStats, PairwiseStats};
pub use normal::{Normal, NormalStats, COLLAPSED_VARIANCE};
pub use univariate::{
    Bernoulli, Exponential, Gamma, GammaStats, LogNormal, MeanStats, Poisson, RangeStats, Uniform,
};

use std::fmt::Debug;

use ndarray::ArrayView2;
use rand_core::RngCore;

use crate::error::{Error, Result};
use crate::kernels::{Gaussian, GaussianMoments};
use crate::rows::{for_f64_blocks, Element};

/// Sufficient statistics: values that can be merged. Merging the statistics of two blocks of rows
/// gives the statistics of both blocks together.
pub trait Statistics: Clone + Send + Sync + Debug {
    /// Adds `other` into `self`.
    fn merge(&mut self, other: &Self) -> Result<()>;
}

/// A probability distribution that can be a mixture component.
///
/// Rows of the arrays it is given have exactly [`dim`](Distribution::dim) columns; the caller
/// checks that. A missing value is a NaN. The [module's guide](self#implementing-distribution)
/// says what an implementation must do, with an example.
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

    /// [`new_stats`](Distribution::new_stats), or an error when they do not fit in memory (a
    /// family whose statistics grow with its dimension checks their allocation here; the
    /// default calls `new_stats`). The crate's fits call this one.
    fn try_new_stats(&self) -> Result<Self::Stats> {
        Ok(self.new_stats())
    }

    /// Adds the rows of `x`, shape `(rows, dim)`, with the given per-row weights, to `stats`.
    fn accumulate(
        &self,
        x: ArrayView2<f64>,
        weights: &[f64],
        stats: &mut Self::Stats,
    ) -> Result<()>;

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

    /// The number of free parameters that fitting estimates (0 when frozen), for the BIC and
    /// AIC; `None` when it is not known.
    fn n_parameters(&self) -> Option<usize>;

    /// Draws one sample into `out` (`dim` long).
    fn sample_into(&self, rng: &mut dyn RngCore, out: &mut [f64]);

    /// Checks, before drawing, that the work space of [`sample_into`](Distribution::sample_into)
    /// fits in memory (an error when it does not); nothing to check by default.
    fn check_sample(&self) -> Result<()> {
        Ok(())
    }

    /// This distribution as a Gaussian (full or diagonal covariance), when it is one: mixtures
    /// whose components are all Gaussians of one form run the crate's fused kernels. `None` by
    /// default.
    fn gaussian(&self) -> Option<Gaussian<'_>> {
        None
    }

    /// The statistics that `accumulate` would have collected, from the moments the fused
    /// kernels computed (around the means of [`gaussian`](Distribution::gaussian)). Needed
    /// (and only called) when `gaussian` returns `Some`.
    fn gaussian_stats(&self, moments: &GaussianMoments<'_>) -> Option<Self::Stats> {
        let _ = moments;
        None
    }
}

/// The built-in distribution families, and external ones, as one type.
#[derive(Debug, Clone, PartialEq)]
pub enum Component {
    /// A univariate normal.
    Normal(Normal),
    /// A log-normal.
    LogNormal(LogNormal),
    /// An exponential.
    Exponential(Exponential),
    /// A gamma (shape and rate).
    Gamma(Gamma),
    /// A Poisson.
    Poisson(Poisson),
    /// A uniform on an interval.
    Uniform(Uniform),
    /// A Bernoulli.
    Bernoulli(Bernoulli),
    /// A categorical distribution over named symbols.
    Discrete(Discrete),
    /// A full-covariance multivariate Gaussian.
    MultivariateGaussian(MultivariateGaussian),
    /// Independent univariate distributions, one per feature.
    IndependentComponents(IndependentComponents),
    /// A distribution implemented outside the crate.
    External(External),
}

/// The statistics of a [`Component`].
// One value per component and chunk: the size difference between the variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum ComponentStats {
    /// Statistics of a [`Normal`] or a [`LogNormal`] (of `log x`).
    Normal(NormalStats),
    /// Statistics of an [`Exponential`], a [`Poisson`] or a [`Bernoulli`].
    Mean(MeanStats),
    /// Statistics of a [`Gamma`].
    Gamma(GammaStats),
    /// Statistics of a [`Uniform`].
    Range(RangeStats),
    /// Statistics of a [`Discrete`].
    Discrete(DiscreteStats),
    /// Statistics of a [`MultivariateGaussian`].
    MultivariateGaussian(MultivariateGaussianStats),
    /// Statistics of an [`IndependentComponents`], one per feature.
    IndependentComponents(Vec<ComponentStats>),
    /// An external distribution keeps its statistics itself.
    External,
}

impl Family {
    /// Whether the family has distributions over `d` features: the error of
    /// [`blank`](Self::blank) when it has not, without building one (a multivariate
    /// Gaussian's takes two `d x d` matrices).
    pub fn check_dim(self, d: usize) -> Result<()> {
        if self.is_univariate() && d != 1 {
            return Err(Error::param(
                "distributions",
                format!(
                    "{} is univariate; use {} for several features",
                    self.name(),
                    Class::IndependentComponents.name()
                ),
            ));
        }
        if self == Family::MultivariateGaussian && d == 0 {
            return Err(Error::param("d", "must be at least 1"));
        }
        Ok(())
    }

    /// The family's default distribution over `d` features (pomegranate's `blank`).
    pub fn blank(self, d: usize) -> Result<Component> {
        self.check_dim(d)?;
        Ok(match self {
            Family::Normal => Component::Normal(Normal::blank()),
            Family::LogNormal => Component::LogNormal(LogNormal::new(0.0, 1.0)?),
            Family::Exponential => Component::Exponential(Exponential::new(1.0)?),
            Family::Gamma => Component::Gamma(Gamma::new(1.0, 1.0)?),
            Family::Poisson => Component::Poisson(Poisson::new(0.0)?),
            // pomegranate's blank uniform: the empty interval [0, 0].
            Family::Uniform => Component::Uniform(Uniform::new(0.0, 0.0)?),
            Family::Bernoulli => Component::Bernoulli(Bernoulli::new(0.5)?),
            Family::Discrete(k) => Component::Discrete(Discrete::uniform(k)?),
            Family::MultivariateGaussian => {
                Component::MultivariateGaussian(MultivariateGaussian::blank(d)?)
            }
        })
    }
}

macro_rules! dispatch {
    ($self:expr, $d:ident => $e:expr, $ext:ident => $x:expr) => {
        match $self {
            Component::Normal($d) => $e,
            Component::LogNormal($d) => $e,
            Component::Exponential($d) => $e,
            Component::Gamma($d) => $e,
            Component::Poisson($d) => $e,
            Component::Uniform($d) => $e,
            Component::Bernoulli($d) => $e,
            Component::Discrete($d) => $e,
            Component::MultivariateGaussian($d) => $e,
            Component::IndependentComponents($d) => $e,
            Component::External($ext) => $x,
        }
    };
}

impl Component {
    /// The pomegranate class name of the component.
    pub fn name(&self) -> String {
        match self {
            Component::External(e) => e.0.name(),
            other => other.class().map_or_else(String::new, |c| c.name().into()),
        }
    }

    /// The built-in class of the component (`None` for an external distribution).
    pub fn class(&self) -> Option<Class> {
        Some(match self {
            Component::Normal(_) => Class::Normal,
            Component::LogNormal(_) => Class::LogNormal,
            Component::Exponential(_) => Class::Exponential,
            Component::Gamma(_) => Class::Gamma,
            Component::Poisson(_) => Class::Poisson,
            Component::Uniform(_) => Class::Uniform,
            Component::Bernoulli(_) => Class::Bernoulli,
            Component::Discrete(_) => Class::Discrete,
            Component::MultivariateGaussian(_) => Class::MultivariateGaussian,
            Component::IndependentComponents(_) => Class::IndependentComponents,
            Component::External(_) => return None,
        })
    }

    /// Sets the frozen flag (an external distribution keeps its own).
    pub fn set_frozen(&mut self, frozen: bool) {
        dispatch!(self, d => d.frozen = frozen, _e => {})
    }

    /// A copy (a multivariate Gaussian's shares its `d x d` matrices with the original). It is
    /// never an error today; the `Result` is kept for the callers that check.
    pub fn try_clone(&self) -> Result<Component> {
        Ok(self.clone())
    }

    /// The maximum-likelihood fit of `family` to the rows of `x`, shape `(n, d)`, starting from
    /// the family's blank distribution (which is returned unchanged when the rows hold no weight).
    /// Rows of `f32` are read where they are, a block at a time (see [`accumulate_rows`]).
    ///
    /// [`accumulate_rows`]: Self::accumulate_rows
    pub fn fit_new<T: Element>(
        family: Family,
        x: ArrayView2<T>,
        weights: &[f64],
    ) -> Result<Component> {
        one_weight_per_row(weights, x.nrows())?;
        Self::fit_blocks(family, x.ncols(), &mut |f| {
            for_f64_blocks(x, |rows, xb| f(xb, &weights[rows]))
        })
    }

    /// [`fit_new`](Self::fit_new) of rows of `d` features that `visit` hands over a block at a
    /// time (each pass over them one call of `visit`).
    pub(crate) fn fit_blocks(
        family: Family,
        d: usize,
        visit: &mut Blocks<'_>,
    ) -> Result<Component> {
        if family == Family::MultivariateGaussian && d >= crate::linalg::BLOCKED_FROM {
            // Many features: one pass around the data's mean instead of two (each pass is a
            // d x d product over the rows, and so is the factorisation of a blank one).
            return Ok(Component::MultivariateGaussian(
                MultivariateGaussian::fit_around_mean_blocks(d, visit)?,
            ));
        }
        let mut c = family.blank(d)?;
        // Two passes: the statistics are moments around the distribution's mean, so the second
        // pass, around the first pass's mean, gives an accurate (co)variance even for data far
        // from the blank distribution's mean of 0.
        for _ in 0..2 {
            let mut st = c.try_new_stats()?;
            visit(&mut |xb, wb| c.accumulate(xb, wb, &mut st))?;
            c.from_summaries(&st, 0.0)?;
        }
        Ok(c)
    }

    /// The univariate `families[c]` fitted to column `c` of rows that `visit` hands over a block
    /// at a time, side by side: each the distribution that [`fit_blocks`](Self::fit_blocks) of
    /// its column gives (the same passes over the same blocks), with one pass over the rows for
    /// all of them.
    pub(crate) fn fit_columns(
        families: &[Family],
        visit: &mut Blocks<'_>,
    ) -> Result<Vec<Component>> {
        let mut cs = families
            .iter()
            .map(|f| f.blank(1))
            .collect::<Result<Vec<_>>>()?;
        for _ in 0..2 {
            let mut st = cs
                .iter()
                .map(|c| c.try_new_stats())
                .collect::<Result<Vec<_>>>()?;
            visit(&mut |xb, wb| {
                for (col, (c, st)) in cs.iter().zip(st.iter_mut()).enumerate() {
                    c.accumulate(xb.slice(ndarray::s![.., col..col + 1]), wb, st)?;
                }
                Ok(())
            })?;
            for (c, st) in cs.iter_mut().zip(&st) {
                c.from_summaries(st, 0.0)?;
            }
        }
        Ok(cs)
    }

    /// [`log_probability_into`](Distribution::log_probability_into) of rows of either element
    /// type, in any layout. Rows of `f32` are read where they are: a multivariate Gaussian
    /// converts each chunk of rows as it centres it, the other distributions take blocks of rows
    /// converted in turn into one work space, never a copy of all the rows. A row's density
    /// depends on that row alone: the same numbers as for the rows converted to `f64`.
    pub fn log_probability_rows<T: Element>(
        &self,
        x: ArrayView2<T>,
        out: &mut [f64],
    ) -> Result<()> {
        if let Component::MultivariateGaussian(g) = self {
            return g.log_probability_rows(x, out);
        }
        if out.len() != x.nrows() {
            return Err(Error::data(
                "data",
                format!(
                    "{} values for the densities of {} rows",
                    out.len(),
                    x.nrows()
                ),
            ));
        }
        for_f64_blocks(x, |rows, xb| self.log_probability_into(xb, &mut out[rows]))
    }

    /// [`accumulate`](Distribution::accumulate) of rows of either element type, in any layout:
    /// rows of `f32` are read where they are, by blocks of rows converted in turn into one work
    /// space (never a copy of all the rows), each added to `stats` in order. A multivariate
    /// Gaussian's statistics are then those of the rows converted to `f64`, bit for bit; other
    /// distributions add each block's sums in turn, which may round differently from one sum
    /// over all the rows.
    pub fn accumulate_rows<T: Element>(
        &self,
        x: ArrayView2<T>,
        weights: &[f64],
        stats: &mut ComponentStats,
    ) -> Result<()> {
        one_weight_per_row(weights, x.nrows())?;
        for_f64_blocks(x, |rows, xb| self.accumulate(xb, &weights[rows], stats))
    }
}

/// Rows handed over a block at a time: a call `visit(f)` calls `f(rows, weights)` for each block
/// in order (one pass over the rows), and stops at the first error.
pub(crate) type Blocks<'v> = dyn FnMut(&mut Block<'_>) -> Result<()> + Send + 'v;

/// What [`Blocks`] calls with each block: its rows and their weights.
pub(crate) type Block<'f> = dyn FnMut(ArrayView2<f64>, &[f64]) -> Result<()> + 'f;

/// An error unless there are as many weights as rows (`n`).
fn one_weight_per_row(weights: &[f64], n: usize) -> Result<()> {
    if weights.len() != n {
        return Err(Error::data(
            "weights",
            format!("{} weights for {n} rows", weights.len()),
        ));
    }
    Ok(())
}

fn mismatch() -> Error {
    Error::param(
        "summaries",
        "the statistics belong to a distribution of another family",
    )
}

impl Distribution for Component {
    type Stats = ComponentStats;

    fn dim(&self) -> usize {
        dispatch!(self, d => d.dim(), e => e.0.dim())
    }

    fn log_probability_into(&self, x: ArrayView2<f64>, out: &mut [f64]) -> Result<()> {
        dispatch!(self, d => d.log_probability_into(x, out), e => e.0.log_probability(x, out))
    }

    fn new_stats(&self) -> ComponentStats {
        match self {
            Component::Normal(d) => ComponentStats::Normal(d.new_stats()),
            Component::LogNormal(d) => ComponentStats::Normal(d.new_stats()),
            Component::Exponential(d) => ComponentStats::Mean(d.new_stats()),
            Component::Poisson(d) => ComponentStats::Mean(d.new_stats()),
            Component::Bernoulli(d) => ComponentStats::Mean(d.new_stats()),
            Component::Gamma(d) => ComponentStats::Gamma(d.new_stats()),
            Component::Uniform(d) => ComponentStats::Range(d.new_stats()),
            Component::Discrete(d) => ComponentStats::Discrete(d.new_stats()),
            Component::MultivariateGaussian(d) => {
                ComponentStats::MultivariateGaussian(d.new_stats())
            }
            Component::IndependentComponents(d) => {
                ComponentStats::IndependentComponents(d.new_stats())
            }
            Component::External(_) => ComponentStats::External,
        }
    }

    fn try_new_stats(&self) -> Result<ComponentStats> {
        match self {
            Component::MultivariateGaussian(d) => {
                Ok(ComponentStats::MultivariateGaussian(d.try_new_stats()?))
            }
            other => Ok(other.new_stats()),
        }
    }

    fn accumulate(
        &self,
        x: ArrayView2<f64>,
        weights: &[f64],
        stats: &mut ComponentStats,
    ) -> Result<()> {
        use ComponentStats as S;
        match (self, stats) {
            (Component::Normal(d), S::Normal(s)) => d.accumulate(x, weights, s),
            (Component::LogNormal(d), S::Normal(s)) => d.accumulate(x, weights, s),
            (Component::Exponential(d), S::Mean(s)) => d.accumulate(x, weights, s),
            (Component::Poisson(d), S::Mean(s)) => d.accumulate(x, weights, s),
            (Component::Bernoulli(d), S::Mean(s)) => d.accumulate(x, weights, s),
            (Component::Gamma(d), S::Gamma(s)) => d.accumulate(x, weights, s),
            (Component::Uniform(d), S::Range(s)) => d.accumulate(x, weights, s),
            (Component::Discrete(d), S::Discrete(s)) => d.accumulate(x, weights, s),
            (Component::MultivariateGaussian(d), S::MultivariateGaussian(s)) => {
                d.accumulate(x, weights, s)
            }
            (Component::IndependentComponents(d), S::IndependentComponents(s)) => {
                d.accumulate(x, weights, s)
            }
            (Component::External(e), S::External) => e.0.summarize(x, weights),
            _ => Err(mismatch()),
        }
    }

    fn from_summaries(&mut self, stats: &ComponentStats, inertia: f64) -> Result<()> {
        self.from_summaries_smoothed(stats, inertia, 0.0)
    }

    fn from_summaries_smoothed(
        &mut self,
        stats: &ComponentStats,
        inertia: f64,
        pseudocount: f64,
    ) -> Result<()> {
        use ComponentStats as S;
        match (self, stats) {
            (Component::Normal(d), S::Normal(s)) => d.from_summaries(s, inertia),
            (Component::LogNormal(d), S::Normal(s)) => d.from_summaries(s, inertia),
            (Component::Exponential(d), S::Mean(s)) => d.from_summaries(s, inertia),
            (Component::Poisson(d), S::Mean(s)) => d.from_summaries(s, inertia),
            (Component::Bernoulli(d), S::Mean(s)) => d.from_summaries(s, inertia),
            (Component::Gamma(d), S::Gamma(s)) => d.from_summaries(s, inertia),
            (Component::Uniform(d), S::Range(s)) => d.from_summaries(s, inertia),
            (Component::Discrete(d), S::Discrete(s)) => {
                d.from_summaries_smoothed(s, inertia, pseudocount)
            }
            (Component::MultivariateGaussian(d), S::MultivariateGaussian(s)) => {
                d.from_summaries(s, inertia)
            }
            (Component::IndependentComponents(d), S::IndependentComponents(s)) => {
                d.from_summaries_smoothed(s, inertia, pseudocount)
            }
            (Component::External(e), S::External) => {
                if e.0.is_frozen() {
                    e.0.clear_summaries();
                    Ok(())
                } else {
                    e.0.from_summaries(inertia)
                }
            }
            _ => Err(mismatch()),
        }
    }

    fn stateless_statistics(&self) -> bool {
        match self {
            Component::External(_) => false,
            Component::IndependentComponents(d) => d.stateless_statistics(),
            _ => true,
        }
    }

    fn clear_summaries(&self) {
        match self {
            Component::External(e) => e.0.clear_summaries(),
            Component::IndependentComponents(d) => d.clear_summaries(),
            _ => {}
        }
    }

    fn is_frozen(&self) -> bool {
        dispatch!(self, d => d.is_frozen(), e => e.0.is_frozen())
    }

    fn n_parameters(&self) -> Option<usize> {
        dispatch!(self, d => d.n_parameters(), e => e.0.n_parameters())
    }

    fn gaussian(&self) -> Option<Gaussian<'_>> {
        match self {
            Component::Normal(d) => d.gaussian(),
            Component::MultivariateGaussian(d) => d.gaussian(),
            Component::IndependentComponents(d) => d.gaussian(),
            _ => None,
        }
    }

    fn gaussian_stats(&self, moments: &GaussianMoments<'_>) -> Option<ComponentStats> {
        match self {
            Component::Normal(d) => d.gaussian_stats(moments).map(ComponentStats::Normal),
            Component::MultivariateGaussian(d) => d
                .gaussian_stats(moments)
                .map(ComponentStats::MultivariateGaussian),
            Component::IndependentComponents(d) => d
                .gaussian_stats(moments)
                .map(ComponentStats::IndependentComponents),
            _ => None,
        }
    }

    fn sample_into(&self, rng: &mut dyn RngCore, out: &mut [f64]) {
        match self {
            Component::External(e) => {
                let v = e.0.sample(rng.next_u64());
                for (o, i) in out.iter_mut().zip(0..) {
                    *o = v.get(i).copied().unwrap_or(f64::NAN);
                }
            }
            other => dispatch!(other, d => d.sample_into(rng, out), _e => unreachable!()),
        }
    }

    fn check_sample(&self) -> Result<()> {
        match self {
            Component::MultivariateGaussian(d) => d.check_sample(),
            _ => Ok(()),
        }
    }
}

impl ComponentStats {
    /// Every number of the statistics, in a fixed order (for inspection, comparison and
    /// transport); external statistics have none.
    pub fn values(&self) -> Vec<f64> {
        use ComponentStats as S;
        match self {
            S::Normal(s) => vec![s.shift, s.weight, s.sum, s.sum_squares],
            S::Mean(s) => vec![s.weight, s.sum],
            S::Gamma(s) => vec![s.scale, s.weight, s.sum, s.sum_log],
            S::Range(s) => vec![s.weight, s.min, s.max],
            S::Discrete(s) => s.counts.clone(),
            S::MultivariateGaussian(s) => {
                let mut v: Vec<f64> = s.shift.iter().copied().collect();
                v.push(s.weight);
                v.extend(s.sum.iter());
                v.extend(s.sum_products.iter());
                if let Some(p) = &s.missing {
                    v.extend(p.weight.iter());
                    v.extend(p.sum.iter());
                    v.extend(p.sum_products.iter());
                }
                v
            }
            S::IndependentComponents(children) => {
                children.iter().flat_map(|c| c.values()).collect()
            }
            S::External => vec![],
        }
    }
}

impl Statistics for ComponentStats {
    fn merge(&mut self, other: &Self) -> Result<()> {
        use ComponentStats as S;
        match (self, other) {
            (S::Normal(a), S::Normal(b)) => a.merge(b),
            (S::Mean(a), S::Mean(b)) => a.merge(b),
            (S::Gamma(a), S::Gamma(b)) => a.merge(b),
            (S::Range(a), S::Range(b)) => a.merge(b),
            (S::Discrete(a), S::Discrete(b)) => a.merge(b),
            (S::MultivariateGaussian(a), S::MultivariateGaussian(b)) => a.merge(b),
            (S::IndependentComponents(a), S::IndependentComponents(b)) => a.merge(b),
            (S::External, S::External) => Ok(()),
            _ => Err(Error::param(
                "summaries",
                "statistics of distributions of different families cannot be merged",
            )),
        }
    }
}
