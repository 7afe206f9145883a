//! The E-step: one pass over the rows in chunks, each block through the fused kernels or the
//! components' own methods, giving the mixture's statistics; chunks merge in row order, so the
//! result does not depend on the thread count.

use std::ops::Range;
use std::sync::Mutex;

use ndarray::{s, Array2, ArrayView1, ArrayView2};

use crate::rows::{Element, Rows};

use crate::distributions::{Distribution, Statistics};
use crate::error::{Error, Result};
use crate::kernels::{Moments, Plan, Scratch};
use crate::parallel::{blocks, try_fold_chunks, Cancel, Threads};
use crate::validate::{check_batch_weights, check_weights};

use super::predict::log_sum_exp_parts;
use super::{GeneralMixtureModel, MixtureStats};

/// The work space of the general path's blocks: log-densities and responsibilities (`k x m`),
/// and a block of `f32` rows as `f64`.
type BlockWork = (Array2<f64>, Array2<f64>, Vec<f64>);

/// What the fused E-step gives for a chunk of rows.
struct FusedPart<S> {
    /// The kernels' sums over the rows without missing values.
    moments: Moments,
    /// Over all the rows of the chunk, in row order.
    log_likelihood: f64,
    unexplained: f64,
    /// The rows of the blocks with missing values, by the components' own methods (their
    /// log-likelihood is in the fields above).
    general: Option<MixtureStats<S>>,
}

/// A value from a pool shared by the threads, if it holds one.
fn take<T>(pool: &Mutex<Vec<T>>) -> Option<T> {
    pool.lock().unwrap_or_else(|e| e.into_inner()).pop()
}

/// Gives a value back to a pool.
fn give<T>(pool: &Mutex<Vec<T>>, value: T) {
    pool.lock().unwrap_or_else(|e| e.into_inner()).push(value);
}

/// Asks the processor to bring `rows` of `x` into its caches, ahead of their use, when they are
/// at most 8 KiB (a few features): those take little work per value, and each block starts on
/// a new page, where the hardware's own prefetching stops. On larger blocks it measured slower.
#[inline]
fn prefetch_rows(x: &Rows<'_>, rows: Range<usize>) {
    if rows.len() * x.ncols() <= 1024 {
        x.prefetch_head(rows, 1024);
    }
}

/// Known component labels of some rows, for semi-supervised fitting.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Labels<'a> {
    /// No labels: every row is summarised by its posterior.
    None,
    /// `labels[i]` is the component of row `i`, or -1 when unknown.
    Some(&'a [i64]),
    /// As `Some`, but rows without a label are left out.
    Only(&'a [i64]),
}

impl Labels<'_> {
    fn of(&self, i: usize) -> Option<usize> {
        match self {
            Labels::None => None,
            Labels::Some(l) | Labels::Only(l) => usize::try_from(l[i]).ok(),
        }
    }

    fn skips_unlabelled(&self) -> bool {
        matches!(self, Labels::Only(_))
    }
}

impl<D: Distribution> GeneralMixtureModel<D> {
    /// The E-step over the rows of `x`, shape `(n, d)`, with optional sample `weights`, shape
    /// `(n,)`: the statistics that [`from_summaries`](Self::from_summaries) turns into new
    /// parameters. One pass over the data, in blocks; the result does not depend on `threads`.
    ///
    /// The statistics of parts of a data set (read one at a time, or summarised on several
    /// machines) merge into those of the whole:
    ///
    /// ```
    /// use mixtura::{Component, GeneralMixtureModel, Normal, Statistics, Threads};
    /// use ndarray::{array, s};
    ///
    /// let mut model = GeneralMixtureModel::new(
    ///     vec![Component::Normal(Normal::new(0.0, 1.0)?), Component::Normal(Normal::new(4.0, 1.0)?)],
    ///     None,
    /// )?;
    /// let x = array![[0.2], [-0.4], [0.1], [4.5], [3.8], [4.1]];
    /// let mut stats = model.summarize(x.slice(s![..3, ..]), None, Threads::Current)?;
    /// stats.merge(&model.summarize(x.slice(s![3.., ..]), None, Threads::Current)?)?;
    /// model.from_summaries(&stats, 0.0, 0.0)?; // one EM step over the whole
    /// # Ok::<(), mixtura::Error>(())
    /// ```
    pub fn summarize<T: Element>(
        &self,
        x: ArrayView2<T>,
        weights: Option<ArrayView1<f64>>,
        threads: Threads,
    ) -> Result<MixtureStats<D::Stats>> {
        self.summarize_checked(x.into(), weights, threads, check_weights)
    }

    /// [`summarize`](Self::summarize) of one part of a data set summarised in parts (see
    /// [`fit_parts`](Self::fit_parts)): the same checks, except that the weights of a part may
    /// all be zero (the fit checks the whole).
    pub fn summarize_part<T: Element>(
        &self,
        x: ArrayView2<T>,
        weights: Option<ArrayView1<f64>>,
        threads: Threads,
    ) -> Result<MixtureStats<D::Stats>> {
        self.summarize_checked(x.into(), weights, threads, check_batch_weights)
    }

    /// The E-step over every row of `x` after the checks of the rows and, by `check_w`, of
    /// the weights.
    fn summarize_checked(
        &self,
        x: Rows<'_>,
        weights: Option<ArrayView1<f64>>,
        threads: Threads,
        check_w: fn(&ArrayView1<f64>, usize) -> Result<()>,
    ) -> Result<MixtureStats<D::Stats>> {
        self.check(&x)?;
        if let Some(w) = &weights {
            check_w(w, x.nrows())?;
        }
        threads.install(|| {
            self.summarize_rows(x, weights, 0..x.nrows(), Labels::None, &Cancel::default())
        })?
    }

    /// [`summarize`](Self::summarize) over a range of rows, without checks, on the current pool.
    pub(crate) fn summarize_rows(
        &self,
        x: Rows<'_>,
        weights: Option<ArrayView1<f64>>,
        rows: Range<usize>,
        labels: Labels<'_>,
        cancel: &Cancel,
    ) -> Result<MixtureStats<D::Stats>> {
        let parallel = self.parallel_statistics();
        // The fused kernels serve mixtures of Gaussians, for rows without labels or NaN.
        let plan = match labels {
            Labels::None => Plan::new(
                self.distributions.iter().map(|d| d.gaussian()),
                self.log_weights.as_slice().expect("1-D"),
            )?,
            _ => None,
        };
        // Either way, chunks are merged as they come, in row order: memory stays bounded for
        // any number of rows.
        let Some(plan) = plan else {
            if !parallel {
                // A component keeps its statistics itself (a Python class): it gets all the
                // rows in one call, as pomegranate gives a whole batch to `summarize`.
                cancel.check()?;
                let mut stats = self.new_stats()?;
                let mut work = self.block_work();
                if !rows.is_empty() {
                    self.summarize_block(
                        &x,
                        weights.as_ref(),
                        rows,
                        labels,
                        &mut work,
                        &mut stats,
                    )?;
                }
                return Ok(stats);
            }
            let chunk_stats = |chunk: Range<usize>| -> Result<_> {
                cancel.check()?;
                let mut stats = self.new_stats()?;
                let mut work = self.block_work();
                for block in blocks(chunk) {
                    self.summarize_block(
                        &x,
                        weights.as_ref(),
                        block,
                        labels,
                        &mut work,
                        &mut stats,
                    )?;
                }
                Ok(stats)
            };
            let merge = |mut total: MixtureStats<D::Stats>, part| {
                total.merge(&part)?;
                Ok(total)
            };
            return try_fold_chunks(parallel, rows, self.new_stats()?, chunk_stats, merge);
        };
        // Work spaces and sums are taken from these and given back: once each thread has its
        // own, a chunk allocates nothing, and the heaps of the threads stay small.
        let (scratches, spare) = (Mutex::new(Vec::new()), Mutex::new(Vec::new()));
        let chunk_part = |chunk: Range<usize>| -> Result<FusedPart<D::Stats>> {
            cancel.check()?;
            let mut scratch = match take(&scratches) {
                Some(s) => s,
                None => plan.scratch()?,
            };
            let moments = match take(&spare) {
                Some(m) => m,
                None => plan.moments()?,
            };
            let mut part = FusedPart {
                moments,
                log_likelihood: 0.0,
                unexplained: 0.0,
                general: None,
            };
            let done =
                self.fused_chunk(&plan, &x, weights.as_ref(), chunk, &mut scratch, &mut part);
            give(&scratches, scratch);
            done.map(|()| part)
        };
        let merge = |mut total: MixtureStats<D::Stats>, mut part: FusedPart<D::Stats>| {
            match part.general.take() {
                // The chunk's rows of the general path, then the kernels' sums, as one value.
                Some(mut chunk) => {
                    chunk.log_likelihood = part.log_likelihood;
                    chunk.unexplained = part.unexplained;
                    self.add_moments(&plan, &mut part.moments, &mut chunk)?;
                    total.merge(&chunk)?;
                }
                None => {
                    total.log_likelihood += part.log_likelihood;
                    total.unexplained += part.unexplained;
                    self.add_moments(&plan, &mut part.moments, &mut total)?;
                }
            }
            part.moments.clear();
            give(&spare, part.moments);
            Ok(total)
        };
        try_fold_chunks(parallel, rows, self.new_stats()?, chunk_part, merge)
    }

    /// The fused E-step of the rows of `chunk` into `part`, blocks with missing values by the
    /// general path.
    fn fused_chunk(
        &self,
        plan: &Plan,
        x: &Rows<'_>,
        weights: Option<&ArrayView1<f64>>,
        chunk: Range<usize>,
        scratch: &mut Scratch,
        part: &mut FusedPart<D::Stats>,
    ) -> Result<()> {
        let mut work = None;
        let end = chunk.end;
        for block in blocks(chunk) {
            prefetch_rows(
                x,
                block.end..(block.end + crate::parallel::BLOCK_ROWS).min(end),
            );
            let xb = x.slice(block.clone());
            if !plan.load(xb, scratch) {
                // The log-likelihood stays one sum, in row order, whichever path a block takes.
                if part.general.is_none() {
                    part.general = Some(self.new_stats()?);
                }
                let stats = part.general.as_mut().expect("set above");
                stats.log_likelihood = part.log_likelihood;
                stats.unexplained = part.unexplained;
                let work = work.get_or_insert_with(|| self.block_work());
                self.summarize_block(x, weights, block, Labels::None, work, stats)?;
                part.log_likelihood = stats.log_likelihood;
                part.unexplained = stats.unexplained;
                continue;
            }
            let wb = weights.map(|w| w.slice(s![block.clone()]));
            let copied = wb
                .as_ref()
                .filter(|w| w.as_slice().is_none())
                .map(|w| w.to_vec());
            let wb = copied
                .as_deref()
                .or_else(|| wb.as_ref().and_then(|w| w.as_slice()));
            let t = plan.summarize(xb, wb, scratch, &mut part.moments);
            if let Some(b) = t.invalid {
                return Err(Error::data(
                    "data",
                    format!("the log-probability of row {} is not a number: a component computed a NaN or infinite log-density", block.start + b),
                ));
            }
            part.log_likelihood += t.log_likelihood;
            part.unexplained += t.unexplained;
        }
        Ok(())
    }

    /// Adds the kernels' sums `m` to `stats`, as the components' own statistics.
    fn add_moments(
        &self,
        plan: &Plan,
        m: &mut Moments,
        stats: &mut MixtureStats<D::Stats>,
    ) -> Result<()> {
        for (j, dist) in self.distributions.iter().enumerate() {
            stats.responsibilities[j] += m.weight[j];
            let part = dist.gaussian_stats(&plan.moments_of(m, j)).ok_or_else(|| {
                let d = dist.dim();
                Error::param(
                    "distributions",
                    format!(
                        "a {d} x {d} matrix of statistics of component {j} does not fit in \
                         memory (or the component gave no statistics)"
                    ),
                )
            })?;
            stats.components[j].merge(&part)?;
        }
        Ok(())
    }

    /// Work space of [`summarize_block`](Self::summarize_block): log-densities,
    /// responsibilities, and a block of `f32` rows as `f64`.
    fn block_work(&self) -> BlockWork {
        let k = self.n_components();
        (Array2::zeros((k, 0)), Array2::zeros((k, 0)), Vec::new())
    }

    /// The E-step of the rows of `block` by the components' own methods, added to `stats`.
    fn summarize_block(
        &self,
        x: &Rows<'_>,
        weights: Option<&ArrayView1<f64>>,
        block: Range<usize>,
        labels: Labels<'_>,
        (lp, resp, buf): &mut BlockWork,
        stats: &mut MixtureStats<D::Stats>,
    ) -> Result<()> {
        let (k, m) = (self.n_components(), block.len());
        let xb = x.block(block.clone(), buf);
        if lp.ncols() != m {
            // For Python components `m` is the whole batch: checked, an error instead of an
            // abort when k x m values do not fit in memory.
            *lp = block_work(k, m)?;
            *resp = block_work(k, m)?;
        }
        self.log_joint_block(xb, lp)?;
        for (b, i) in block.enumerate() {
            let w = weights.map_or(1.0, |w| w[i]);
            let label = labels.of(i);
            if label.is_some() || labels.skips_unlabelled() {
                // A labelled row belongs to its component (responsibility 1) and is not
                // part of the log-likelihood that the stop rule watches.
                resp.column_mut(b).fill(0.0);
                if let Some(j) = label {
                    resp[[j, b]] = w;
                    stats.responsibilities[j] += w;
                }
                continue;
            }
            let col = lp.column(b);
            let (m, log_s) = log_sum_exp_parts(col.iter().copied());
            let total = m + log_s;
            if w == 0.0 || !total.is_finite() {
                resp.column_mut(b).fill(0.0);
                if w != 0.0 {
                    if total == f64::NEG_INFINITY {
                        stats.unexplained += w;
                    } else {
                        return Err(Error::data(
                            "data",
                            format!("the log-probability of row {i} is {total}: a component computed a NaN or infinite log-density"),
                        ));
                    }
                }
                continue;
            }
            stats.log_likelihood += w * total;
            for j in 0..k {
                let r = w * ((lp[[j, b]] - m) - log_s).exp();
                resp[[j, b]] = r;
                stats.responsibilities[j] += r;
            }
        }
        for (j, dist) in self.distributions.iter().enumerate() {
            let r = resp.row(j);
            let r = r.as_slice().expect("contiguous");
            dist.accumulate(xb, r, &mut stats.components[j])?;
        }
        Ok(())
    }
}

/// The `k x m` work space of a block of `m` rows (all the rows of a batch for components that
/// take whole batches), or an error naming the rows when it does not fit in memory.
pub(super) fn block_work(k: usize, m: usize) -> Result<Array2<f64>> {
    crate::validate::zeroed(k, m, || {
        crate::validate::too_large(
            "data",
            format!("the log-densities of {m} rows under {k} components"),
        )
    })
}
