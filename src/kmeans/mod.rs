//! k-means: the initial centroids (first-k, random, k-means++, k-means||) and Lloyd updates,
//! with pomegranate 0.14's semantics; missing values (NaN) are ignored coordinate by coordinate.
//!
//! - `options.rs`: [`Init`] and [`KmeansOptions`] (with `check`);
//! - `init.rs`: the initialisations;
//! - `lloyd.rs`: distances, the statistics of a Lloyd pass, reseeding of empty clusters;
//! - this file: the fitted model, [`Kmeans`], its fit and prediction.

mod init;
mod lloyd;
mod options;
#[cfg(test)]
mod tests;

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};

use crate::error::{Error, Result};
use crate::parallel::{map_chunks, Threads};
use crate::rng::seeded;
use crate::validate::{
    check_clusters, check_data, check_weights, finite_centroids, too_large, zeroed_vec,
};

use init::{kmeans_parallel, kmeans_plus_plus, random_rows};
use lloyd::{lloyd_pass, nearest, reseed_empty};
pub use options::{Init, KmeansOptions};

/// A fitted k-means model: its centroids.
#[derive(Debug, Clone, PartialEq)]
pub struct Kmeans {
    centroids: Array2<f64>,
    /// The total weighted squared distance of the fitted rows to their nearest centroid.
    pub inertia: f64,
}

impl Kmeans {
    /// k-means centroids, shape `(k, d)`.
    pub fn new(centroids: Array2<f64>) -> Result<Self> {
        if centroids.nrows() == 0 || centroids.ncols() == 0 {
            return Err(Error::param(
                "centroids",
                "must have at least one row and one column",
            ));
        }
        finite_centroids("centroids", &centroids)?;
        Ok(Kmeans {
            centroids,
            inertia: f64::NAN,
        })
    }

    /// The centroids, shape `(k, d)`.
    pub fn centroids(&self) -> ArrayView2<'_, f64> {
        self.centroids.view()
    }

    /// Fits k-means to `x`, shape `(n, d)`, with optional sample `weights`, shape `(n,)`.
    ///
    /// Each run chooses initial centroids, then repeats Lloyd updates (assign every row to its
    /// nearest centroid, move each centroid to the weighted mean of its rows; a centroid without
    /// rows stays where it is) while the total distance decreases by more than `stop_threshold`,
    /// at most `max_iterations` times. With the default of from_samples (`max_iterations = 1`)
    /// that is exactly one update.
    pub fn fit(
        x: ArrayView2<f64>,
        weights: Option<ArrayView1<f64>>,
        opts: &KmeansOptions,
    ) -> Result<Self> {
        opts.check()?;
        let (n, d) = x.dim();
        check_data(&x, d)?;
        if d == 0 {
            return Err(Error::data("X", "must have at least one column"));
        }
        let k = opts.k;
        check_clusters("k", k, n)?;
        centroids_fit(k, d)?;
        let ones;
        let w = match weights {
            Some(w) => {
                check_weights(&w, n)?;
                w
            }
            None => {
                ones = Array1::<f64>::ones(n);
                ones.view()
            }
        };
        let w_owned: Vec<f64>;
        let w_slice: &[f64] = match w.as_slice() {
            Some(s) => s,
            None => {
                w_owned = w.to_vec();
                &w_owned
            }
        };
        let mut rng = seeded(opts.seed);
        let runs = match opts.init {
            Init::FirstK | Init::Centroids(_) => 1,
            _ => opts.n_init,
        };
        opts.threads.install(|| {
            let mut best: Option<Kmeans> = None;
            for _ in 0..runs {
                // k-means++ gives the first Lloyd statistics with its centroids.
                let mut seeded = None;
                let mut centroids = match &opts.init {
                    Init::FirstK => x.slice(ndarray::s![..k, ..]).to_owned(),
                    Init::Random => {
                        let rows = random_rows(w_slice, k, &mut rng)?;
                        Array2::from_shape_fn((k, d), |(j, c)| x[[rows[j], c]])
                    }
                    Init::KMeansPlusPlus => {
                        let (c, stats) = kmeans_plus_plus(x, w_slice, k, &mut rng, true);
                        seeded = stats;
                        c
                    }
                    Init::KMeansParallel => kmeans_parallel(x, w_slice, k, &mut rng),
                    Init::Centroids(c) => {
                        if c.dim() != (k, d) {
                            return Err(Error::param(
                                "init",
                                format!("the given centroids must have shape ({k}, {d})"),
                            ));
                        }
                        c.clone()
                    }
                };
                centroids.mapv_inplace(|v| if v.is_nan() { 0.0 } else { v });
                let mut stats = match seeded {
                    Some(stats) => stats,
                    None => lloyd_pass(x, w, centroids.view()),
                };
                let mut it = 0;
                while it < opts.max_iterations {
                    for j in 0..k {
                        for c in 0..d {
                            if stats.weights[[j, c]] > 0.0 {
                                centroids[[j, c]] = stats.sums[[j, c]] / stats.weights[[j, c]];
                            }
                        }
                    }
                    reseed_empty(x, w, &stats, &mut centroids);
                    let last = stats.distance;
                    stats = lloyd_pass(x, w, centroids.view());
                    it += 1;
                    if !(last - stats.distance > opts.stop_threshold) {
                        break;
                    }
                }
                let run = Kmeans {
                    centroids,
                    inertia: stats.distance,
                };
                if best.as_ref().is_none_or(|b| run.inertia < b.inertia) {
                    best = Some(run);
                }
            }
            Ok(best.expect("at least one run"))
        })?
    }

    /// The initial centroids that [`fit`](Kmeans::fit) would start its first run from (`opts.k`
    /// of them, chosen by `opts.init` with `opts.seed`), without the Lloyd updates.
    pub fn initial_centroids(
        x: ArrayView2<f64>,
        weights: Option<ArrayView1<f64>>,
        opts: &KmeansOptions,
    ) -> Result<Array2<f64>> {
        opts.check()?;
        let (n, d) = x.dim();
        check_data(&x, d)?;
        let k = opts.k;
        check_clusters("k", k, n)?;
        centroids_fit(k, d)?;
        let w: Vec<f64> = match weights {
            Some(w) => {
                check_weights(&w, n)?;
                w.to_vec()
            }
            None => vec![1.0; n],
        };
        let mut rng = seeded(opts.seed);
        opts.threads.install(|| {
            let mut c = match &opts.init {
                Init::FirstK => x.slice(ndarray::s![..k, ..]).to_owned(),
                Init::Random => {
                    let rows = random_rows(&w, k, &mut rng)?;
                    Array2::from_shape_fn((k, d), |(j, c)| x[[rows[j], c]])
                }
                Init::KMeansPlusPlus => kmeans_plus_plus(x, &w, k, &mut rng, false).0,
                Init::KMeansParallel => kmeans_parallel(x, &w, k, &mut rng),
                Init::Centroids(c) => c.clone(),
            };
            c.mapv_inplace(|v| if v.is_nan() { 0.0 } else { v });
            Ok(c)
        })?
    }

    /// The nearest centroid of each row of `x`, shape `(n, d)` -> `(n,)`.
    pub fn predict(&self, x: ArrayView2<f64>, threads: Threads) -> Result<Array1<usize>> {
        check_data(&x, self.centroids.ncols())?;
        let c = self.centroids.view();
        let parts = threads.install(|| {
            map_chunks(0..x.nrows(), |chunk| {
                chunk.map(|i| nearest(x.row(i), &c).0).collect::<Vec<_>>()
            })
        })?;
        Ok(parts.into_iter().flatten().collect())
    }
}

/// Checks, before k-means starts, that the `k x d` arrays it holds at once fit in memory (the
/// centroids, the best run's, and the sums and weights of a Lloyd pass): an error naming `k`
/// instead of an abort part-way.
fn centroids_fit(k: usize, d: usize) -> Result<()> {
    let err = || too_large("k", format!("an array of {k} centroids of {d} features"));
    drop(zeroed_vec::<f64>(&[k, d, 4], err)?);
    Ok(())
}
