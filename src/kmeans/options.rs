//! The options of k-means: how the initial centroids are chosen ([`Init`]) and the options of a
//! fit ([`KmeansOptions`], checked by [`KmeansOptions::check`] before any work).

use ndarray::Array2;

use crate::error::{Error, Result};
use crate::parallel::Threads;
use crate::validate::{at_least_one, check_threads, finite_centroids, not_nan};

/// How the initial centroids are chosen.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Init {
    /// The first `k` rows.
    FirstK,
    /// `k` distinct rows drawn with probability proportional to their weight.
    Random,
    /// k-means++: the first centroid by weight, each next one with probability proportional to
    /// weight times the squared distance to the nearest centroid chosen so far.
    #[default]
    KMeansPlusPlus,
    /// k-means|| (Bahmani et al., 2012): a few rounds that each add about `2k` rows, chosen
    /// independently with probability proportional to weight times squared distance, then
    /// weighted k-means++ and Lloyd updates on those candidates.
    KMeansParallel,
    /// These centroids, shape `(k, d)`, every value finite.
    Centroids(Array2<f64>),
}

impl Init {
    /// The initialisation for one of pomegranate's names: `"first-k"`, `"random"`, `"kmeans++"`.
    pub fn from_name(name: &str) -> Result<Self> {
        match name {
            "first-k" => Ok(Init::FirstK),
            "random" => Ok(Init::Random),
            "kmeans++" => Ok(Init::KMeansPlusPlus),
            "kmeans||" => Ok(Init::KMeansParallel),
            _ => Err(Error::param(
                "init",
                format!("must be one of 'first-k', 'random', 'kmeans++', 'kmeans||', got '{name}'"),
            )),
        }
    }
}

/// The options of [`Kmeans::fit`](super::Kmeans::fit).
#[derive(Debug, Clone, PartialEq)]
pub struct KmeansOptions {
    /// The number of clusters.
    pub k: usize,
    /// How the initial centroids are chosen.
    pub init: Init,
    /// Runs from different initial centroids; the one with the smallest total distance is kept
    /// (`first-k` and given centroids always run once).
    pub n_init: usize,
    /// The most Lloyd updates per run.
    pub max_iterations: u64,
    /// Stop a run when the total squared distance decreases by this much or less.
    pub stop_threshold: f64,
    /// The seed of the random generator (ChaCha8).
    pub seed: u64,
    /// The threads to use; the result does not depend on them.
    pub threads: Threads,
}

impl KmeansOptions {
    /// Options for `k` clusters with pomegranate's `Kmeans.fit` defaults.
    pub fn new(k: usize) -> Self {
        KmeansOptions {
            k,
            init: Init::KMeansPlusPlus,
            n_init: 1,
            max_iterations: 1000,
            stop_threshold: 1e-3,
            seed: 0,
            threads: Threads::Current,
        }
    }

    /// Checks the options that do not depend on the data; the error names the offending one.
    /// [`Kmeans::fit`](super::Kmeans::fit) and [`Kmeans::initial_centroids`](super::Kmeans::initial_centroids) call it before any work.
    pub fn check(&self) -> Result<()> {
        at_least_one("k", Some(self.k))?;
        at_least_one("n_init", Some(self.n_init))?;
        not_nan("stop_threshold", self.stop_threshold)?;
        if let Init::Centroids(c) = &self.init {
            finite_centroids("init", c)?;
        }
        check_threads(self.threads)
    }
}
