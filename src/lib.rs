//! # mixtura
//!
//! General mixture models fitted by multithreaded expectation-maximisation: mixtures of normal,
//! full-covariance multivariate Gaussian and per-feature independent distributions, initialised by
//! k-means, with the model format of pomegranate 0.14.
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

pub mod distributions;
mod em;
mod error;
pub mod format;
mod from_samples;
pub mod kmeans;
pub mod linalg;
mod mixture;
pub mod parallel;
#[cfg(feature = "python")]
mod python;

pub use distributions::{
    Component, ComponentStats, Distribution, Family, IndependentComponents, MultivariateGaussian,
    Normal, Statistics,
};
pub use em::{EpochLog, FitOptions, FitReport};
pub use error::{Error, Result};
pub use format::Model;
pub use from_samples::{Components, FromSamplesOptions};
pub use kmeans::{Init, Kmeans, KmeansOptions};
pub use mixture::{GeneralMixtureModel, MixtureStats};
pub use parallel::Threads;
