//! The options of k-means: how the initial centroids are chosen ([`Init`]) and the options of a
//! fit ([`KmeansOptions`], checked by [`KmeansOptions::check`] before any work).

use ndarray::Array2;

use crate::error::{Error, Result};
use crate::parallel::Threads;
use crate::validate::{at_least_one, check_threads, finite_centroids, not_nan, unit};

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
    /// The initialisation for one of pomegranate's names: `"first-k"`, `"random"`, `"kmeans++"`,
    /// `"kmeans||"`.
    ///
    /// ```
    /// use mixtura::Init;
    /// assert_eq!(Init::from_name("kmeans||").unwrap(), Init::KMeansParallel);
    /// assert!(Init::from_name("kmeans").is_err());
    /// ```
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
#[non_exhaustive]
pub struct KmeansOptions {
    /// The number of clusters (given to [`new`](KmeansOptions::new); no default).
    pub k: usize,
    /// How the initial centroids are chosen (default [`Init::KMeansPlusPlus`]).
    pub init: Init,
    /// Runs from different initial centroids; the one with the smallest total distance is kept
    /// (`first-k` and given centroids always run once; default 1).
    pub n_init: usize,
    /// The most Lloyd updates per run (default 1000).
    pub max_iterations: u64,
    /// Stop a run when the total squared distance decreases by this much or less (default
    /// 1e-3).
    pub stop_threshold: f64,
    /// The seed of the random generator (ChaCha8; default 0).
    pub seed: u64,
    /// The threads to use (default [`Threads::Current`]); the result does not depend on them.
    pub threads: Threads,
    /// The weight of the previous centroids in each update, in `[0, 1]`: a centroid moves to
    /// `inertia * old + (1 - inertia) * mean` (0, the default, moves it to the mean).
    pub inertia: f64,
    /// Whether each update uses only the statistics of the last epoch (`true`, Lloyd's
    /// algorithm) or of every epoch so far (`false`, pomegranate's default for `Kmeans.fit`: the
    /// statistics accumulate over the iterations of a run; the default).
    pub clear_summaries: bool,
    /// The rows of a batch: `Some(b)` cuts the data into batches of `b` rows (the last may be
    /// shorter), and the initial centroids are chosen from the first batch only, as pomegranate
    /// does; `None`, the default, is one batch of every row.
    pub batch_size: Option<usize>,
    /// The batches summarised per update (per epoch): successive epochs move on through the
    /// batches, the last epoch of a pass taking those left, then start again at the first
    /// (pomegranate's schedule). `None`, the default: every batch.
    pub batches_per_epoch: Option<usize>,
}

setters!(KmeansOptions {
    k: usize,
    init: Init,
    n_init: usize,
    max_iterations: u64,
    stop_threshold: f64,
    seed: u64,
    threads: Threads,
    inertia: f64,
    clear_summaries: bool,
} optional {
    batch_size: usize,
    batches_per_epoch: usize,
});

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
            inertia: 0.0,
            clear_summaries: false,
            batch_size: None,
            batches_per_epoch: None,
        }
    }

    /// Checks the options that do not depend on the data; the error names the offending one.
    /// [`Kmeans::fit`](super::Kmeans::fit) and [`Kmeans::initial_centroids`](super::Kmeans::initial_centroids) call it before any work.
    pub fn check(&self) -> Result<()> {
        at_least_one("k", Some(self.k))?;
        at_least_one("n_init", Some(self.n_init))?;
        not_nan("stop_threshold", self.stop_threshold)?;
        unit("inertia", self.inertia)?;
        at_least_one("batch_size", self.batch_size)?;
        at_least_one("batches_per_epoch", self.batches_per_epoch)?;
        if let Init::Centroids(c) = &self.init {
            finite_centroids("init", c)?;
        }
        check_threads(self.threads)
    }
}
