//! # mixtura
//!
//! General mixture models fitted by multithreaded expectation-maximisation: mixtures of normal,
//! full-covariance multivariate Gaussian and per-feature independent distributions, initialised by
//! k-means, with the model format of pomegranate 0.14.
//!
//! - [`GeneralMixtureModel`] holds the components and their weights; it predicts
//!   ([`predict`](GeneralMixtureModel::predict), [`predict_proba`](GeneralMixtureModel::predict_proba),
//!   [`log_probability`](GeneralMixtureModel::log_probability)), fits by EM
//!   ([`fit`](GeneralMixtureModel::fit), options in [`FitOptions`]) and builds itself from data
//!   ([`from_samples`](GeneralMixtureModel::from_samples): k-means, then EM).
//! - Components are the built-in families ([`Component`]) or any type implementing
//!   [`Distribution`] (the [guide](distributions#implementing-distribution) to writing one);
//!   their sufficient statistics ([`Statistics`]) are values that merge, so a
//!   program can [`summarize`](GeneralMixtureModel::summarize) data in parts (out of core, or on
//!   several machines), [`merge`](Statistics::merge) the parts and call
//!   [`from_summaries`](GeneralMixtureModel::from_summaries).
//! - Every call takes [`Threads`]: a thread count, or the rayon pool the caller runs in. Results
//!   do not depend on the thread count. A [`Cancel`] flag stops a fit from another thread.
//! - Rows are `f64` or `f32` ([`Element`]), in any layout: `f32` rows are read in place, and
//!   mixtures of diagonal Gaussians in eight features or more and of full-covariance ones in
//!   fewer than 128 compute on them in `f32` lanes (with `f64` sums: within about `1e-7` of the
//!   `f64` results, the same bits on any number of threads); everything else converts them a
//!   block at a time and gives the results of the same values as `f64`, bit for bit.
//!   Parameters are always `f64`.
//! - Out of core: [`fit_source`](GeneralMixtureModel::fit_source) reads the data from a
//!   [`BatchSource`] once per epoch.
//! - Models read and write pomegranate 0.14's JSON ([`GeneralMixtureModel::to_json`],
//!   [`GeneralMixtureModel::from_json`], or serde), the same documents as the Python package.
//!
//! ```
//! use mixtura::{Components, Family, FromSamplesOptions, GeneralMixtureModel, Threads};
//! use ndarray::array;
//!
//! let x = array![[0.0, 0.1], [0.2, -0.1], [-0.1, 0.0], [5.0, 5.1], [5.2, 4.9], [4.9, 5.0]];
//! let mut opts = FromSamplesOptions::new(2);
//! opts.seed = 1;
//! let (model, report) = GeneralMixtureModel::from_samples(
//!     &Components::Each(Family::MultivariateGaussian), x.view(), None, &opts)?;
//! let labels = model.predict(x.view(), Threads::Current)?;
//! assert_eq!(labels[0], labels[1]);
//! assert_ne!(labels[0], labels[3]);
//! assert!(report.log_probability.is_finite());
//! let back = GeneralMixtureModel::from_json(&model.to_json())?;
//! assert_eq!(back, model);
//! # Ok::<(), mixtura::Error>(())
//! ```
#![warn(missing_docs)]
// `!(x > 0.0)` is used on purpose: unlike `x <= 0.0` it also rejects NaN.
#![allow(clippy::neg_cmp_op_on_partial_ord)]
// `from_summaries` is pomegranate's name for the M-step, which updates `self`.
#![allow(clippy::wrong_self_convention)]

/// Chainable setters for the fields of an options struct: `opts.name(value)` sets the field
/// `name` and returns the options, so that options are written as a builder
/// (`FitOptions::default().max_iterations(20).threads(Threads::Count(4))`) and checked once,
/// by the call that takes them. The fields listed under `optional` are `Option`s, set to
/// `Some(value)`.
macro_rules! setters {
    ($t:ident { $($name:ident: $ty:ty),* $(,)? } $(optional { $($opt:ident: $oty:ty),* $(,)? })?) => {
        impl $t {
            $(
                #[doc = concat!("Sets [`", stringify!($name), "`](#structfield.", stringify!($name), ").")]
                #[must_use]
                pub fn $name(mut self, $name: $ty) -> Self {
                    self.$name = $name;
                    self
                }
            )*
            $($(
                #[doc = concat!("Sets [`", stringify!($opt), "`](#structfield.", stringify!($opt), ") to `Some(", stringify!($opt), ")`.")]
                #[must_use]
                pub fn $opt(mut self, $opt: $oty) -> Self {
                    self.$opt = Some($opt);
                    self
                }
            )*)?
        }
    };
}

pub mod distributions;
mod em;
mod error;
mod format;
mod from_samples;
mod gaussian;
mod kernels;
mod kmeans;
mod linalg;
mod mixture;
mod parallel;
mod rng;
mod rows;
mod special;
mod validate;
mod weights;

pub use distributions::{
    Bernoulli, Class, Component, ComponentStats, Discrete, Distribution, Exponential, External,
    ExternalDistribution, Family, Gamma, IndependentComponents, LogNormal, MultivariateGaussian,
    Normal, Poisson, Statistics, Uniform,
};
pub use em::{epoch_parts, BatchSource, EpochLog, FitOptions, FitReport, InMemoryBatches};
pub use error::{Error, Origin, Result};
pub use format::{JsonStyle, Model};
pub use from_samples::{Components, FromSamplesOptions};
pub use gaussian::{
    CovarianceType, Covariances, GaussianEvent, GaussianFitReport, GaussianInit, GaussianMixture,
    GaussianMixtureOptions,
};
pub use kernels::{Gaussian, GaussianMoments};
pub use kmeans::{Init, Kmeans, KmeansOptions, KmeansRun, KmeansStats};
pub use mixture::{GeneralMixtureModel, MixtureStats};
pub use parallel::{available_cores, max_threads, Cancel, Threads};
pub use rows::Element;

// The crates whose types the API takes and returns (arrays, random generators, documents of
// external distributions), so that a program names them as `mixtura::ndarray` and so on
// without pinning versions that match this crate's.
pub use ndarray;
pub use rand_core;
pub use serde;
pub use serde_json;

/// What the crate's Python extension (the package in `bindings/`, built on this crate) uses
/// beside the public API: the checks whose messages the Python layer shares, the generator of
/// seeds, the kernel path, the rows of either element type. Not part of the API: it may change
/// in any release.
#[doc(hidden)]
pub mod bindings {
    pub use crate::format::UNKNOWN_HINT;
    pub use crate::gaussian::{precision_name, shape_error};
    pub use crate::kernels::dispatch::{Isa, Level};
    pub use crate::rng::seeded;
    pub use crate::rows::Rows;
    pub use crate::validate::{
        check_data, check_labels, check_observed, check_weights, collected, copied, filled,
        non_negative, not_nan, too_large, unit, zeros_checked,
    };
}

/// The README's Rust example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
