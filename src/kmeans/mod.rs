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

use std::ops::Range;
use std::time::Instant;

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};

use crate::error::{Error, Result};
use crate::parallel::{blocks, chunk_rows, Threads, BLOCK_ROWS};
use crate::rng::seeded;
use crate::rows::{Element, Rows};
use crate::validate::{
    check_clusters, check_data, check_observed, check_threads, finite_centroids, too_large, unit,
    zeroed, zeroed_vec,
};
use crate::weights::{contiguous_weights, Weights};
use rayon::prelude::*;

use init::{kmeans_parallel, kmeans_plus_plus, random_rows};
pub use lloyd::KmeansStats;
use lloyd::{distance, each_row_into, lloyd_pass, nearest, reseed_empty, BlockFlags};
pub use options::{Init, KmeansOptions};

/// A fitted k-means model: its centroids.
///
/// ```
/// use mixtura::{Init, Kmeans, KmeansOptions, Threads};
/// use ndarray::array;
///
/// let x = array![[0.0, 0.1], [0.2, -0.1], [-0.1, 0.0], [5.0, 5.1], [5.2, 4.9], [4.9, 5.0]];
/// let opts = KmeansOptions::new(2).init(Init::KMeansPlusPlus).seed(7).n_init(3);
/// let model = Kmeans::fit(x.view(), None, &opts)?;
/// let labels = model.predict(x.view(), Threads::Current)?;
/// assert_eq!(labels[0], labels[2]);
/// assert_ne!(labels[0], labels[4]);
/// assert_eq!(model.centroids().dim(), (2, 2));
/// let back = Kmeans::from_json(&model.to_json())?;
/// assert_eq!(back.centroids(), model.centroids());
/// # Ok::<(), mixtura::Error>(())
/// ```
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
    /// Each run (`n_init` of them, one for first-k and given centroids) chooses initial
    /// centroids from the first batch, then follows pomegranate 0.14's loop: summarise an epoch's
    /// batches under the current centroids (each row goes to its nearest centroid), update each
    /// centroid to the weighted mean of the values summarised for it (blended with `inertia`; a
    /// coordinate without values stays, and a centroid without any row moves to the row farthest
    /// from its centroid), and repeat while the total squared distance of an epoch decreases by
    /// more than `stop_threshold` than the epoch before, at most `max_iterations` updates.
    /// With `clear_summaries == false` the statistics accumulate over the epochs of a run. The run
    /// whose last epoch has the smallest total distance is kept.
    pub fn fit<T: Element>(
        x: ArrayView2<T>,
        weights: Option<ArrayView1<f64>>,
        opts: &KmeansOptions,
    ) -> Result<Self> {
        Ok(Self::fit_rows(x.into(), weights, opts)?.0)
    }

    /// [`fit`](Kmeans::fit), also returning what each run did (pomegranate's verbose output).
    pub fn fit_logged<T: Element>(
        x: ArrayView2<T>,
        weights: Option<ArrayView1<f64>>,
        opts: &KmeansOptions,
    ) -> Result<(Self, Vec<KmeansRun>)> {
        Self::fit_rows(x.into(), weights, opts)
    }

    /// [`fit_logged`](Kmeans::fit_logged) of rows of either element type.
    #[doc(hidden)]
    pub fn fit_rows(
        x: Rows<'_>,
        weights: Option<ArrayView1<f64>>,
        opts: &KmeansOptions,
    ) -> Result<(Self, Vec<KmeansRun>)> {
        Self::check_fit(x, opts)?;
        let n = x.nrows();
        let given = contiguous_weights(weights, n)?;
        Self::fit_weighted(x, Weights::new(given.as_deref(), n), opts)
    }

    /// The checks of a fit of `x` with `opts`, but those of the weights.
    pub(crate) fn check_fit(x: Rows<'_>, opts: &KmeansOptions) -> Result<()> {
        opts.check()?;
        let (n, d) = x.dim();
        x.check_data(d)?;
        if d == 0 {
            return Err(Error::data("data", "must have at least one column"));
        }
        check_clusters("k", opts.k, n)?;
        // Data without any observed value would leave every centroid at 0.
        check_observed(x.has_observed())?;
        centroids_fit(opts.k, d)
    }

    /// [`fit_rows`](Kmeans::fit_rows) after [`check_fit`](Kmeans::check_fit), with one weight
    /// per row, checked by the caller ([`check_weights`](crate::validate::check_weights)).
    pub(crate) fn fit_weighted(
        x: Rows<'_>,
        w: Weights<'_>,
        opts: &KmeansOptions,
    ) -> Result<(Self, Vec<KmeansRun>)> {
        let (n, d) = x.dim();
        let k = opts.k;
        let batches = batches(n, opts.batch_size);
        let per_epoch = opts
            .batches_per_epoch
            .unwrap_or(batches.len())
            .min(batches.len());
        // The initial centroids come from the first batch, as pomegranate's.
        let first = batches[0].clone();
        let init_needs_rows = !matches!(opts.init, Init::Centroids(_));
        if init_needs_rows && first.len() < k {
            return Err(Error::param(
                "batch_size",
                format!(
                    "the first batch has {} rows, fewer than k ({k}), to choose the centroids from",
                    first.len()
                ),
            ));
        }
        let (x0, w0) = (x.slice(first.clone()), w.slice(first.clone()));
        let mut rng = seeded(opts.seed);
        // What the passes find of the blocks of each batch, for every run.
        let flags = BlockFlags::new(&batches)?;
        let runs = match opts.init {
            Init::FirstK | Init::Centroids(_) => 1,
            _ => opts.n_init,
        };
        opts.threads.install(|| {
            let mut best: Option<Kmeans> = None;
            let mut log = Vec::with_capacity(runs);
            for _ in 0..runs {
                let started = Instant::now();
                // k-means++ gives the statistics of the first batch under its centroids.
                let mut seeded = None;
                let mut centroids = match &opts.init {
                    Init::FirstK => x0.select(&(0..k).collect::<Vec<_>>()),
                    Init::Random => x0.select(&random_rows(w0, k, &mut rng)?),
                    Init::KMeansPlusPlus => {
                        let f0 = flags.batch(0, first.len());
                        let (c, stats) = kmeans_plus_plus(x0, w0, k, &mut rng, per_epoch == 1, f0)?;
                        seeded = stats;
                        c
                    }
                    Init::KMeansParallel => kmeans_parallel(x0, w0, k, &mut rng)?,
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
                let mut model = Kmeans {
                    centroids,
                    inertia: f64::NAN,
                };
                let mut run = KmeansRun::default();
                let mut summaries = KmeansStats::zeros(k, d);
                let mut epoch = 0..0;
                let mut next = 0;
                let (mut iteration, mut improvement) = (0u64, f64::INFINITY);
                let mut last = f64::NAN;
                while improvement > opts.stop_threshold && iteration <= opts.max_iterations {
                    let epoch_started = Instant::now();
                    if iteration > 0 {
                        model.update(&summaries, opts.inertia);
                        let rows = &batches[epoch.clone()];
                        reseed_empty(x, w, rows, &summaries, &mut model.centroids);
                        if opts.clear_summaries {
                            summaries = KmeansStats::zeros(k, d);
                        }
                    }
                    epoch = next..(next + per_epoch).min(batches.len());
                    next += per_epoch;
                    if next >= batches.len() {
                        next = 0;
                    }
                    let stats = match seeded.take() {
                        Some(stats) if iteration == 0 => stats,
                        _ => model.summarize_rows(x, w, &batches, epoch.clone(), &flags),
                    };
                    summaries.merge(&stats)?;
                    if iteration > 0 {
                        improvement = last - stats.distance;
                        run.improvements.push(improvement);
                        run.seconds.push(epoch_started.elapsed().as_secs_f64());
                    } else {
                        run.initial_distance = stats.distance;
                    }
                    last = stats.distance;
                    iteration += 1;
                }
                model.inertia = last;
                run.distance = last;
                run.seconds_total = started.elapsed().as_secs_f64();
                log.push(run);
                if best.as_ref().is_none_or(|b| model.inertia < b.inertia) {
                    best = Some(model);
                }
            }
            Ok((best.expect("at least one run"), log))
        })?
    }

    /// The statistics of `x`, shape `(n, d)`, with optional sample `weights`, under these
    /// centroids (pomegranate's `summarize`): each row goes to its nearest centroid.
    pub fn summarize<T: Element>(
        &self,
        x: ArrayView2<T>,
        weights: Option<ArrayView1<f64>>,
        threads: Threads,
    ) -> Result<KmeansStats> {
        check_threads(threads)?;
        let (n, d) = x.dim();
        check_data(&x, self.centroids.ncols())?;
        let given = contiguous_weights(weights, n)?;
        let w = Weights::new(given.as_deref(), n);
        let k = self.centroids.nrows();
        drop(zeroed_vec::<f64>(&[k, d, 2], || {
            too_large(
                "data",
                format!("statistics of {k} centroids of {d} features"),
            )
        })?);
        let flags = BlockFlags::of_rows(n)?;
        threads.install(|| lloyd_pass(x.into(), w, self.centroids.view(), flags.batch(0, n)))
    }

    /// Moves the centroids with `stats` (pomegranate's `from_summaries`): every coordinate with
    /// summarised values goes to `inertia * old + (1 - inertia) * mean`, the others stay.
    /// `inertia` is in `[0, 1]`; `stats` must be of this model's shape.
    pub fn from_summaries(&mut self, stats: &KmeansStats, inertia: f64) -> Result<()> {
        unit("inertia", inertia)?;
        if stats.sums.dim() != self.centroids.dim() {
            return Err(Error::param(
                "stats",
                format!(
                    "statistics of shape {:?} do not fit centroids of shape {:?}",
                    stats.sums.dim(),
                    self.centroids.dim()
                ),
            ));
        }
        self.update(stats, inertia);
        Ok(())
    }

    /// The squared Euclidean distance of each row of `x`, shape `(n, d)`, to each centroid,
    /// shape `(n, k)`, over the coordinates observed in the row (NaN coordinates are skipped),
    /// as pomegranate's `Kmeans.distance`.
    pub fn distance<T: Element>(&self, x: ArrayView2<T>, threads: Threads) -> Result<Array2<f64>> {
        check_threads(threads)?;
        check_data(&x, self.centroids.ncols())?;
        let x = Rows::from(x);
        let (n, k) = (x.nrows(), self.centroids.nrows());
        let mut out = zeroed(n, k, || {
            too_large(
                "data",
                format!("a distance matrix of {n} rows and {k} centroids"),
            )
        })?;
        let c = self.centroids.view();
        let rows = chunk_rows(n).max(1);
        let flat = out.as_slice_mut().expect("a new array is contiguous");
        threads.install(|| {
            flat.par_chunks_mut(rows * k.max(1))
                .enumerate()
                .for_each(|(chunk, block)| {
                    let start = chunk * rows;
                    let part = x.slice(start..(start + rows).min(n));
                    let mut buf = Vec::new();
                    for (b, out) in
                        blocks(0..part.nrows()).zip(block.chunks_mut(k.max(1) * BLOCK_ROWS))
                    {
                        let xb = part.block(b, &mut buf);
                        for (row, o) in xb.rows().into_iter().zip(out.chunks_mut(k.max(1))) {
                            for (v, cj) in o.iter_mut().zip(c.rows()) {
                                *v = distance(row, cj);
                            }
                        }
                    }
                })
        })?;
        Ok(out)
    }

    /// The centroids moved by `stats`, as [`from_summaries`](Kmeans::from_summaries).
    fn update(&mut self, stats: &KmeansStats, inertia: f64) {
        for ((c, s), w) in self
            .centroids
            .iter_mut()
            .zip(stats.sums.iter())
            .zip(stats.weights.iter())
        {
            if *w > 0.0 {
                *c = if inertia == 0.0 {
                    s / w
                } else {
                    inertia * *c + (1.0 - inertia) * (s / w)
                };
            }
        }
    }

    /// The statistics of the batches `epoch` of `batches` (summarised in order and merged),
    /// with the flags of their blocks.
    fn summarize_rows(
        &self,
        x: Rows<'_>,
        w: Weights<'_>,
        batches: &[Range<usize>],
        epoch: Range<usize>,
        flags: &BlockFlags,
    ) -> KmeansStats {
        let pass = |i: usize| {
            let r = batches[i].clone();
            let f = flags.batch(i, r.len());
            lloyd_pass(x.slice(r.clone()), w.slice(r), self.centroids.view(), f)
        };
        if epoch.len() == 1 {
            return pass(epoch.start);
        }
        let (k, d) = self.centroids.dim();
        KmeansStats::total(k, d, epoch.map(pass))
    }

    /// The initial centroids that [`fit`](Kmeans::fit) would start its first run from (`opts.k`
    /// of them, chosen by `opts.init` with `opts.seed`), without the Lloyd updates.
    pub fn initial_centroids<T: Element>(
        x: ArrayView2<T>,
        weights: Option<ArrayView1<f64>>,
        opts: &KmeansOptions,
    ) -> Result<Array2<f64>> {
        Self::initial_centroids_rows(x.into(), weights, opts)
    }

    /// [`initial_centroids`](Kmeans::initial_centroids) of rows of either element type.
    pub(crate) fn initial_centroids_rows(
        x: Rows<'_>,
        weights: Option<ArrayView1<f64>>,
        opts: &KmeansOptions,
    ) -> Result<Array2<f64>> {
        opts.check()?;
        let (n, d) = x.dim();
        x.check_data(d)?;
        let k = opts.k;
        check_clusters("k", k, n)?;
        centroids_fit(k, d)?;
        let given = contiguous_weights(weights, n)?;
        let w = Weights::new(given.as_deref(), n);
        let mut rng = seeded(opts.seed);
        opts.threads.install(|| {
            let mut c = match &opts.init {
                Init::FirstK => x.select(&(0..k).collect::<Vec<_>>()),
                Init::Random => x.select(&random_rows(w, k, &mut rng)?),
                Init::KMeansPlusPlus => {
                    let flags = BlockFlags::of_rows(n)?;
                    kmeans_plus_plus(x, w, k, &mut rng, false, flags.batch(0, n))?.0
                }
                Init::KMeansParallel => kmeans_parallel(x, w, k, &mut rng)?,
                Init::Centroids(c) => c.clone(),
            };
            c.mapv_inplace(|v| if v.is_nan() { 0.0 } else { v });
            Ok(c)
        })?
    }

    /// The nearest centroid of each row of `x`, shape `(n, d)` -> `(n,)`.
    pub fn predict<T: Element>(&self, x: ArrayView2<T>, threads: Threads) -> Result<Array1<usize>> {
        check_data(&x, self.centroids.ncols())?;
        self.predict_rows(x.into(), threads)
    }

    /// [`predict`](Kmeans::predict) of rows of either element type, after their checks.
    pub(crate) fn predict_rows(&self, x: Rows<'_>, threads: Threads) -> Result<Array1<usize>> {
        let c = self.centroids.view();
        let n = x.nrows();
        // The labels written in place by chunks of rows: one vector of them (checked), not one
        // per chunk and then their concatenation.
        let mut labels = zeroed_vec::<usize>(&[n], || {
            too_large("data", format!("a label for each of {n} rows"))
        })?;
        threads.install(|| each_row_into(x, &mut labels, |row, o| *o = nearest(row, &c).0))?;
        Ok(Array1::from_vec(labels))
    }
}

/// What one run of [`Kmeans::fit_logged`] did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KmeansRun {
    /// The total squared distance of the first epoch, under the initial centroids.
    pub initial_distance: f64,
    /// The total squared distance of the last epoch, under the run's final centroids.
    pub distance: f64,
    /// Per update, the decrease of the epoch's total squared distance.
    pub improvements: Vec<f64>,
    /// Per update, the seconds it took (the update and the epoch's pass).
    pub seconds: Vec<f64>,
    /// The seconds of the whole run.
    pub seconds_total: f64,
}

/// The row ranges of the batches: one of every row without a batch size.
fn batches(n: usize, batch_size: Option<usize>) -> Vec<Range<usize>> {
    match batch_size {
        None => std::iter::once(0..n).collect(),
        Some(b) => (0..n)
            .step_by(b.max(1))
            .map(|s| s..(s + b).min(n))
            .collect(),
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
