//! Expectation-maximisation: the fit loop, written once, with pomegranate 0.14's stopping rule.

use std::ops::Range;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use ndarray::{ArrayView1, ArrayView2};

use crate::rows::{Element, Rows};

use crate::distributions::{Distribution, Statistics};
use crate::error::{Error, Result};
use crate::mixture::{GeneralMixtureModel, Labels, MixtureStats};
use crate::parallel::{Cancel, Threads};
use crate::validate::{
    at_least_one, check_batch_weights, check_data, check_labels, check_observed, check_producible,
    check_threads, check_weights, has_observed, non_negative, not_nan, unit,
};

/// The options of [`GeneralMixtureModel::fit`]. [`FitOptions::default`] gives pomegranate's
/// defaults; [`check`](FitOptions::check) validates them (fit calls it before any work).
///
/// Two options are equal when their values are; the [`cancel`](#structfield.cancel) flag, a
/// handle on a flag rather than a value, is not compared.
///
/// Options are written as a builder, each setter named after its field, or field by field:
///
/// ```
/// use mixtura::{FitOptions, Threads};
///
/// let opts = FitOptions::default()
///     .max_iterations(50)
///     .stop_threshold(1e-3)
///     .batch_size(1_000)
///     .threads(Threads::Count(2));
/// opts.check()?; // the fit checks them too, once, before any work
/// let mut same = FitOptions::default();
/// same.max_iterations = 50;
/// same.stop_threshold = 1e-3;
/// same.batch_size = Some(1_000);
/// same.threads = Threads::Count(2);
/// assert_eq!(same, opts);
/// # Ok::<(), mixtura::Error>(())
/// ```
///
/// Later versions may add fields (the struct is `#[non_exhaustive]`), so options start from
/// `default()`, not from a struct literal:
///
/// ```compile_fail
/// let opts = mixtura::FitOptions { max_iterations: 50, ..Default::default() };
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FitOptions {
    /// Weight of the old parameters in each update, in [0, 1] (default 0).
    pub inertia: f64,
    /// Added to each component's responsibility sum before the weights are normalised (default 0).
    pub pseudocount: f64,
    /// Stop when the log-likelihood improves by this much or less in one iteration (default 0.1).
    pub stop_threshold: f64,
    /// The most M-steps to run (default 1e8); 0 leaves the model as it is.
    pub max_iterations: u64,
    /// Mini-batches: rows per batch (`None`, the default: the whole data set is one batch).
    pub batch_size: Option<usize>,
    /// Mini-batches: batches per epoch, i.e. per M-step (`None`, the default: all of them, an
    /// exact update).
    /// Successive epochs move on through the data and wrap around.
    pub batches_per_epoch: Option<usize>,
    /// Decay of the step size: the new estimate gets weight `(1 - inertia) * (2 + t)^-lr_decay`
    /// at iteration `t` (default 0, no decay).
    pub lr_decay: f64,
    /// The threads to use (default [`Threads::Current`]); the result does not depend on them.
    pub threads: Threads,
    /// A flag another thread can set to stop the fit (checked before every chunk of rows); a
    /// new flag by default. Clones of the options share it (see [`Cancel`]).
    pub cancel: Cancel,
}

setters!(FitOptions {
    inertia: f64,
    pseudocount: f64,
    stop_threshold: f64,
    max_iterations: u64,
    lr_decay: f64,
    threads: Threads,
    cancel: Cancel,
} optional {
    batch_size: usize,
    batches_per_epoch: usize,
});

impl PartialEq for FitOptions {
    fn eq(&self, other: &Self) -> bool {
        // Every field but the flag, named so that a new field is not forgotten here.
        let FitOptions {
            inertia,
            pseudocount,
            stop_threshold,
            max_iterations,
            batch_size,
            batches_per_epoch,
            lr_decay,
            threads,
            cancel: _,
        } = self;
        *inertia == other.inertia
            && *pseudocount == other.pseudocount
            && *stop_threshold == other.stop_threshold
            && *max_iterations == other.max_iterations
            && *batch_size == other.batch_size
            && *batches_per_epoch == other.batches_per_epoch
            && *lr_decay == other.lr_decay
            && *threads == other.threads
    }
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            inertia: 0.0,
            pseudocount: 0.0,
            stop_threshold: 0.1,
            max_iterations: 100_000_000,
            batch_size: None,
            batches_per_epoch: None,
            lr_decay: 0.0,
            threads: Threads::Current,
            cancel: Cancel::default(),
        }
    }
}

impl FitOptions {
    /// Checks every option; the error names the offending one.
    pub fn check(&self) -> Result<()> {
        unit("inertia", self.inertia)?;
        non_negative("pseudocount", self.pseudocount)?;
        not_nan("stop_threshold", self.stop_threshold)?;
        at_least_one("batch_size", self.batch_size)?;
        at_least_one("batches_per_epoch", self.batches_per_epoch)?;
        non_negative("lr_decay", self.lr_decay)?;
        check_threads(self.threads)
    }
}

/// Data read in batches, for out-of-core fitting: every call of
/// [`next_epoch`](BatchSource::next_epoch) hands the batches of one epoch to a function, one at
/// a time. An I/O error becomes the crate's [`Error::Io`] through `?`.
///
/// ```
/// use mixtura::ndarray::{Array2, ArrayView1, ArrayView2};
/// use mixtura::{BatchSource, Component, FitOptions, GeneralMixtureModel, Normal, Result};
/// use std::io::BufRead;
///
/// /// One number per line, read in batches of 100 rows (a file would be opened here instead).
/// struct Lines(String);
///
/// impl BatchSource for Lines {
///     fn next_epoch(
///         &mut self,
///         f: &mut dyn FnMut(ArrayView2<f64>, Option<ArrayView1<f64>>) -> Result<()>,
///     ) -> Result<()> {
///         let mut rows = Vec::new();
///         for line in std::io::Cursor::new(self.0.as_bytes()).lines() {
///             rows.push(line?.parse().unwrap_or(f64::NAN));
///             if rows.len() == 100 {
///                 f(Array2::from_shape_vec((100, 1), std::mem::take(&mut rows)).unwrap().view(), None)?;
///             }
///         }
///         f(Array2::from_shape_vec((rows.len(), 1), rows).unwrap().view(), None)
///     }
/// }
///
/// let text: String = (0..1000).map(|i| format!("{}\n", (i % 2) as f64 * 5.0 + (i % 7) as f64 * 0.1)).collect();
/// let mut model = GeneralMixtureModel::new(
///     vec![Component::Normal(Normal::new(0.0, 1.0)?), Component::Normal(Normal::new(4.0, 1.0)?)],
///     None,
/// )?;
/// let report = model.fit_source(&mut Lines(text), &FitOptions::default(), |_, _| Ok(()))?;
/// assert!(report.converged);
/// # Ok::<(), mixtura::Error>(())
/// ```
pub trait BatchSource {
    /// Calls `f` on each batch of the next epoch, in order, with its rows, shape `(m, d)`, and
    /// optional sample weights, shape `(m,)`; stops at the first error.
    #[allow(clippy::type_complexity)]
    fn next_epoch(
        &mut self,
        f: &mut dyn FnMut(ArrayView2<f64>, Option<ArrayView1<f64>>) -> Result<()>,
    ) -> Result<()>;
}

/// A [`BatchSource`] over batches held in memory (each epoch reads all of them), for tests and
/// for data that arrive as separate arrays.
#[derive(Debug, Clone)]
pub struct InMemoryBatches {
    /// The batches: rows, shape `(m, d)`, and optional weights, shape `(m,)`.
    pub batches: Vec<(ndarray::Array2<f64>, Option<ndarray::Array1<f64>>)>,
}

impl BatchSource for InMemoryBatches {
    fn next_epoch(
        &mut self,
        f: &mut dyn FnMut(ArrayView2<f64>, Option<ArrayView1<f64>>) -> Result<()>,
    ) -> Result<()> {
        for (x, w) in &self.batches {
            f(x.view(), w.as_ref().map(|w| w.view()))?;
        }
        Ok(())
    }
}

/// What one epoch (one M-step and the E-step after it) did; the fields of pomegranate's
/// callback `logs`.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochLog {
    /// The epoch number, from 1.
    pub epoch: u64,
    /// `log_probability - last_log_probability`, over the rows of positive density (rows that no
    /// component can produce are left out of the stop rule, so that one such row does not make
    /// every improvement NaN).
    pub improvement: f64,
    /// `log_probability - initial_log_probability`, over the rows of positive density.
    pub total_improvement: f64,
    /// The weighted log-likelihood of the epoch's rows under the parameters after this epoch's
    /// M-step (`-inf` when some row has density 0).
    pub log_probability: f64,
    /// The same, one epoch earlier.
    pub last_log_probability: f64,
    /// The log-likelihood under the initial parameters.
    pub initial_log_probability: f64,
    /// Seconds since the Unix epoch when the epoch started.
    pub epoch_start_time: f64,
    /// Seconds since the Unix epoch when the epoch ended.
    pub epoch_end_time: f64,
    /// Seconds the epoch took.
    pub duration: f64,
    /// The weight of the old parameters in this epoch's update (pomegranate's `step`).
    pub learning_rate: f64,
}

/// The outcome of a fit.
#[derive(Debug, Clone, PartialEq)]
pub struct FitReport {
    /// One entry per epoch (per M-step).
    pub epochs: Vec<EpochLog>,
    /// The log-likelihood under the initial parameters.
    pub initial_log_probability: f64,
    /// The log-likelihood under the final parameters.
    pub log_probability: f64,
    /// Whether the fit stopped because the improvement fell to `stop_threshold` or below (rather
    /// than at `max_iterations`).
    pub converged: bool,
    /// Seconds the whole fit took.
    pub duration: f64,
}

impl FitReport {
    /// The number of M-steps run.
    pub fn n_iterations(&self) -> usize {
        self.epochs.len()
    }
}

fn unix_time() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The row ranges of the batches of one epoch.
fn epoch_batches(n: usize, opts: &FitOptions, epoch: u64, each_batch: bool) -> Vec<Range<usize>> {
    let size = opts.batch_size.unwrap_or(n).min(n).max(1);
    let count = n.div_ceil(size);
    let per_epoch = opts.batches_per_epoch.unwrap_or(count).min(count);
    if per_epoch == count && !each_batch {
        return std::iter::once(0..n).collect();
    }
    epoch_parts(count, Some(per_epoch), epoch)
        .into_iter()
        .map(|i| i * size..((i + 1) * size).min(n))
        .collect()
}

/// The parts (batches, or the partitions of a distributed data set), of `count`, that epoch
/// `epoch` reads: `per_epoch` of them (all when `None`) in order, each epoch moving on from
/// where the last one stopped and wrapping around.
pub fn epoch_parts(count: usize, per_epoch: Option<usize>, epoch: u64) -> Vec<usize> {
    if count == 0 {
        return Vec::new();
    }
    let per_epoch = per_epoch.unwrap_or(count).min(count);
    let first = (epoch as u128 * per_epoch as u128 % count as u128) as usize;
    (0..per_epoch).map(|b| (first + b) % count).collect()
}

impl<D: Distribution> GeneralMixtureModel<D> {
    /// Fits the mixture to `x`, shape `(n, d)`, with optional sample `weights`, shape `(n,)`, by EM
    /// from its current parameters. See [`fit_with`](Self::fit_with).
    pub fn fit<T: Element>(
        &mut self,
        x: ArrayView2<T>,
        weights: Option<ArrayView1<f64>>,
        opts: &FitOptions,
    ) -> Result<FitReport> {
        self.fit_with(x, weights, opts, |_, _| Ok(()))
    }

    /// Fits by EM, calling `on_epoch` after every epoch with the epoch's log and the model as it is
    /// then. An error from `on_epoch` stops the fit and is returned; so does
    /// [`opts.cancel`](FitOptions#structfield.cancel). Either way the model keeps the parameters of the last
    /// epoch reported to `on_epoch` (the initial ones when none was). An [`Error::Interrupted`]
    /// (from the flag or from `on_epoch`) after the first E-step carries the report of the epochs
    /// reported so far ([`Error::partial_report`]), the last one describing the model as it is
    /// left.
    ///
    /// The loop is pomegranate 0.14's: the E-step under the initial parameters gives the initial
    /// log-likelihood; each epoch runs an M-step and then the E-step under the new parameters; the
    /// fit stops when the improvement of the total (weighted, not per-sample) log-likelihood is at
    /// most `stop_threshold`, or after `max_iterations` M-steps. Rows of density 0 under every
    /// component (out of every component's support, or so far out that every density
    /// underflows to 0, such as `1e200` under normals of unit variance) take no part in the
    /// statistics or in the stop rule, and make the log-likelihood `-inf`. A NaN log-likelihood
    /// (only a user's component can produce one) is an error.
    ///
    /// Errors ([`Error::InvalidData`] for `data`) when `x` has no observed value (every value
    /// NaN), and when no component can produce any row of positive weight (checked on the
    /// statistics of the first E-step, under the initial parameters).
    pub fn fit_with<T: Element>(
        &mut self,
        x: ArrayView2<T>,
        weights: Option<ArrayView1<f64>>,
        opts: &FitOptions,
        on_epoch: impl FnMut(&EpochLog, &Self) -> Result<()>,
    ) -> Result<FitReport> {
        self.fit_labelled(x.into(), weights, None, opts, on_epoch)
    }

    /// Semi-supervised EM: `labels[i]` is the component of row `i`, or -1 when unknown
    /// (pomegranate's `BayesModel` semantics). The components and weights start as the
    /// maximum-likelihood estimates from the labelled rows; each iteration then counts the
    /// labelled rows for their own component and the unlabelled ones by their posteriors, and
    /// the stop rule watches the log-likelihood of the unlabelled rows.
    pub fn fit_semisupervised<T: Element>(
        &mut self,
        x: ArrayView2<T>,
        weights: Option<ArrayView1<f64>>,
        labels: &[i64],
        opts: &FitOptions,
        on_epoch: impl FnMut(&EpochLog, &Self) -> Result<()>,
    ) -> Result<FitReport> {
        self.fit_labelled(x.into(), weights, Some(labels), opts, on_epoch)
    }

    #[doc(hidden)]
    pub fn fit_labelled(
        &mut self,
        x: Rows<'_>,
        weights: Option<ArrayView1<f64>>,
        labels: Option<&[i64]>,
        opts: &FitOptions,
        mut on_epoch: impl FnMut(&EpochLog, &Self) -> Result<()>,
    ) -> Result<FitReport> {
        opts.check()?;
        x.check_data(self.dim())?;
        if let Some(w) = &weights {
            check_weights(w, x.nrows())?;
        }
        check_observed(x.has_observed())?;
        if let Some(l) = labels {
            check_labels(l, x.nrows(), self.n_components())?;
        }
        let n = x.nrows();
        let started = Instant::now();
        let summarize_with = |model: &Self, epoch: u64, labels: Labels<'_>| -> Result<_> {
            opts.threads.install(|| {
                let mut total = model.new_stats()?;
                // Components that keep their statistics themselves (Python classes) are given
                // each batch in one call, as pomegranate gives them; the others see the same
                // sums whether or not the epoch is cut into batches.
                let each_batch = !model.parallel_statistics();
                for rows in epoch_batches(n, opts, epoch, each_batch) {
                    total.merge(&model.summarize_rows(
                        x,
                        weights,
                        rows,
                        labels,
                        &opts.cancel,
                    )?)?;
                }
                Ok(total)
            })?
        };
        let semi = labels.map_or(Labels::None, Labels::Some);
        let mut summarize = |model: &Self, epoch: u64| summarize_with(model, epoch, semi);
        if let Some(l) = labels {
            if l.iter().any(|&v| v >= 0) {
                // Start the components from the maximum-likelihood estimates of their labelled
                // rows (a component without labelled rows keeps its parameters). The weights stay
                // as they are, for EM to estimate from all rows: weights from the labelled counts
                // alone would give a component without labels weight 0, and it could never
                // take any unlabelled row.
                let first = summarize_with(self, 0, Labels::Only(l))?;
                let (weights, log_weights) = (self.weights.clone(), self.log_weights.clone());
                self.from_summaries(&first, 0.0, opts.pseudocount)?;
                self.weights = weights;
                self.log_weights = log_weights;
            }
        }
        self.run_em(opts, &mut on_epoch, &mut summarize, started)
    }

    /// Fits by EM on data read in batches from `source`, one pass of the source per epoch, with
    /// one batch in memory at a time (out of core). `opts.batch_size` and
    /// `opts.batches_per_epoch` do not apply: the source decides what an epoch reads. The rules
    /// on the data are those of [`fit_with`](Self::fit_with), over an epoch's batches together
    /// (an error when none of them holds an observed value, or when no component can produce
    /// any row of the first epoch). A batch without rows is skipped.
    pub fn fit_source(
        &mut self,
        source: &mut dyn BatchSource,
        opts: &FitOptions,
        mut on_epoch: impl FnMut(&EpochLog, &Self) -> Result<()>,
    ) -> Result<FitReport> {
        opts.check()?;
        let d = self.dim();
        let started = Instant::now();
        let mut summarize = |model: &Self, _epoch: u64| -> Result<MixtureStats<D::Stats>> {
            let mut total = model.new_stats()?;
            let (mut rows, mut observed) = (0usize, false);
            source.next_epoch(&mut |x, w| {
                if let Some(w) = &w {
                    check_batch_weights(w, x.nrows())?;
                }
                if x.nrows() == 0 && x.ncols() == d {
                    // An empty batch (the tail of a reader, say) adds nothing: skipped.
                    return Ok(());
                }
                check_data(&x, d)?;
                rows += x.nrows();
                observed = observed || has_observed(&x);
                let part = opts.threads.install(|| {
                    model.summarize_rows(x.into(), w, 0..x.nrows(), Labels::None, &opts.cancel)
                })??;
                total.merge(&part)
            })?;
            if rows == 0 {
                return Err(Error::data("data", "the batches of an epoch held no rows"));
            }
            check_observed(observed)?;
            Ok(total)
        };
        self.run_em(opts, &mut on_epoch, &mut summarize, started)
    }

    /// Fits by EM on a data set held in `parts` parts (the partitions of a distributed data
    /// set) that `summarize` summarises: `summarize(model, parts)` returns the statistics of
    /// those parts under `model`, merged (the caller decides where and in which order; a
    /// distributed driver summarises each part where it lives and merges the values in a
    /// tree). Each epoch reads the parts of [`epoch_parts`] for `opts.batches_per_epoch`
    /// (all of them by default, an exact EM step); `opts.batch_size` does not apply. The loop,
    /// the stop rule, the callbacks and the checks on the statistics are those of
    /// [`fit_with`](Self::fit_with); the checks on the rows of the parts are `summarize`'s.
    pub fn fit_parts(
        &mut self,
        parts: usize,
        opts: &FitOptions,
        mut summarize: impl FnMut(&Self, &[usize]) -> Result<MixtureStats<D::Stats>>,
        mut on_epoch: impl FnMut(&EpochLog, &Self) -> Result<()>,
    ) -> Result<FitReport> {
        opts.check()?;
        if parts == 0 {
            return Err(Error::data("data", "has no parts (partitions)"));
        }
        let started = Instant::now();
        let mut summarize = |model: &Self, epoch: u64| {
            summarize(model, &epoch_parts(parts, opts.batches_per_epoch, epoch))
        };
        self.run_em(opts, &mut on_epoch, &mut summarize, started)
    }

    fn run_em(
        &mut self,
        opts: &FitOptions,
        on_epoch: &mut impl FnMut(&EpochLog, &Self) -> Result<()>,
        summarize: &mut impl FnMut(&Self, u64) -> Result<MixtureStats<D::Stats>>,
        started: Instant,
    ) -> Result<FitReport> {
        for d in &self.distributions {
            d.clear_summaries();
        }
        let result = self.em_loop(opts, on_epoch, summarize, started);
        for d in &self.distributions {
            d.clear_summaries();
        }
        result
    }

    fn em_loop(
        &mut self,
        opts: &FitOptions,
        on_epoch: &mut impl FnMut(&EpochLog, &Self) -> Result<()>,
        summarize: &mut impl FnMut(&Self, u64) -> Result<MixtureStats<D::Stats>>,
        started: Instant,
    ) -> Result<FitReport> {
        let mut stats = summarize(self, 0)?;
        // Data that no component can produce at all would fit nothing: an error, before any
        // M-step (rows that only some components cannot produce are fine).
        check_producible(stats.responsibilities.iter().sum(), stats.unexplained)?;
        // The stop rule watches the log-likelihood of the rows the model can produce: rows of
        // density 0 (out of every component's support) would make it -inf, and every improvement
        // NaN. The logs report the whole log-likelihood.
        let initial = stats.log_likelihood;
        let initial_total = stats.total_log_likelihood();
        let mut last = initial;
        let mut last_total = initial_total;
        let mut epochs = Vec::new();
        let mut converged = false;
        let mut it: u64 = 1;
        while it <= opts.max_iterations {
            let start_time = unix_time();
            let t0 = Instant::now();
            let step = 1.0 - (1.0 - opts.inertia) * (2.0 + it as f64).powf(-opts.lr_decay);
            let reported = self.clone();
            self.from_summaries(&stats, step, opts.pseudocount)?;
            stats = match summarize(self, it) {
                Ok(s) => s,
                Err(e @ Error::Interrupted { .. }) => {
                    // Stopped inside the E-step: go back to the parameters the last epoch
                    // reported, so that the history describes the model.
                    *self = reported;
                    return Err(with_report(e, &epochs, initial_total, last_total, started));
                }
                Err(e) => return Err(e),
            };
            let logp = stats.log_likelihood;
            let total = stats.total_log_likelihood();
            let improvement = logp - last;
            let log = EpochLog {
                epoch: it,
                improvement,
                total_improvement: logp - initial,
                log_probability: total,
                last_log_probability: last_total,
                initial_log_probability: initial_total,
                epoch_start_time: start_time,
                epoch_end_time: unix_time(),
                duration: t0.elapsed().as_secs_f64(),
                learning_rate: step,
            };
            let answer = on_epoch(&log, self);
            epochs.push(log);
            if let Err(e) = answer {
                return Err(with_report(e, &epochs, initial_total, total, started));
            }
            last = logp;
            last_total = total;
            it += 1;
            if improvement.is_nan() {
                return Err(Error::data(
                    "data",
                    format!("the log-likelihood became NaN in iteration {}", it - 1),
                ));
            }
            if improvement <= opts.stop_threshold {
                converged = true;
                break;
            }
        }
        Ok(FitReport {
            epochs,
            initial_log_probability: initial_total,
            log_probability: last_total,
            converged,
            duration: started.elapsed().as_secs_f64(),
        })
    }
}

/// An [`Error::Interrupted`] without a report gets the report of the epochs run so far.
fn with_report(
    e: Error,
    epochs: &[EpochLog],
    initial_log_probability: f64,
    log_probability: f64,
    started: Instant,
) -> Error {
    match e {
        Error::Interrupted {
            message,
            report: None,
        } => Error::Interrupted {
            message,
            report: Some(Box::new(FitReport {
                epochs: epochs.to_vec(),
                initial_log_probability,
                log_probability,
                converged: false,
                duration: started.elapsed().as_secs_f64(),
            })),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_rotate_and_wrap() {
        let opts = FitOptions {
            batch_size: Some(4),
            batches_per_epoch: Some(1),
            ..Default::default()
        };
        assert_eq!(epoch_batches(10, &opts, 0, false), vec![0..4]);
        assert_eq!(epoch_batches(10, &opts, 1, false), vec![4..8]);
        assert_eq!(epoch_batches(10, &opts, 2, false), vec![8..10]);
        assert_eq!(epoch_batches(10, &opts, 3, false), vec![0..4]);
        let full = FitOptions {
            batch_size: Some(4),
            ..Default::default()
        };
        assert_eq!(epoch_batches(10, &full, 5, false), vec![0..10]);
        assert_eq!(epoch_batches(10, &full, 5, true), vec![0..4, 4..8, 8..10]);
        assert_eq!(epoch_parts(5, Some(2), 0), vec![0, 1]);
        assert_eq!(epoch_parts(5, Some(2), 2), vec![4, 0]);
        assert_eq!(epoch_parts(5, None, 7), vec![0, 1, 2, 3, 4]);
        assert_eq!(epoch_parts(3, Some(9), 1), vec![0, 1, 2]);
        assert!(epoch_parts(0, None, 0).is_empty());
    }

    #[test]
    fn parts_fit_as_the_whole() {
        use crate::distributions::{Component, Normal};
        use ndarray::{s, Array2};
        let x = Array2::from_shape_fn((1000, 1), |(i, _)| {
            let t = i as f64;
            if i % 3 == 0 {
                (t * 0.37).sin()
            } else {
                4.0 + (t * 0.11).cos()
            }
        });
        let model = GeneralMixtureModel::new(
            vec![
                Component::Normal(Normal::new(0.0, 1.0).unwrap()),
                Component::Normal(Normal::new(3.0, 1.0).unwrap()),
            ],
            None,
        )
        .unwrap();
        let opts = FitOptions {
            max_iterations: 20,
            ..Default::default()
        };
        let mut whole = model.clone();
        let a = whole.fit(x.view(), None, &opts).unwrap();
        let mut parted = model.clone();
        let cuts = [0, 300, 512, 1000];
        let b = parted
            .fit_parts(
                3,
                &opts,
                |m, parts| {
                    let mut total = m.new_stats()?;
                    for &p in parts {
                        let rows = x.slice(s![cuts[p]..cuts[p + 1], ..]);
                        total.merge(&m.summarize(rows, None, Threads::Current)?)?;
                    }
                    Ok(total)
                },
                |_, _| Ok(()),
            )
            .unwrap();
        assert_eq!(a.n_iterations(), b.n_iterations());
        assert!((a.log_probability - b.log_probability).abs() < 1e-9 * a.log_probability.abs());
        for (p, q) in whole.distributions().iter().zip(parted.distributions()) {
            let (Component::Normal(p), Component::Normal(q)) = (p, q) else {
                unreachable!()
            };
            assert!((p.mean() - q.mean()).abs() < 1e-12);
            assert!((p.std() - q.std()).abs() < 1e-12);
        }
    }

    #[test]
    fn options_are_checked() {
        let bad = [
            FitOptions {
                inertia: 1.5,
                ..Default::default()
            },
            FitOptions {
                stop_threshold: f64::NAN,
                ..Default::default()
            },
            FitOptions {
                batch_size: Some(0),
                ..Default::default()
            },
            FitOptions {
                lr_decay: -1.0,
                ..Default::default()
            },
            FitOptions {
                pseudocount: f64::NAN,
                ..Default::default()
            },
            FitOptions {
                threads: Threads::Count(0),
                ..Default::default()
            },
        ];
        for b in bad {
            assert!(b.check().is_err(), "{b:?}");
        }
        assert!(FitOptions::default().check().is_ok());
    }
}
