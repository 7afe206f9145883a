//! The general mixture model: log-probabilities, posteriors, statistics and sampling.

use std::ops::Range;
use std::sync::Mutex;

use ndarray::{s, Array1, Array2, ArrayView1, ArrayView2, Axis};
use rand_core::RngCore;

use crate::distributions::{uniform01, Component, Distribution, Statistics};
use crate::error::{Error, Result};
use crate::kernels::{exp_nonpositive, Moments, Plan, Scratch};
use crate::parallel::{blocks, chunk_rows, try_fold_chunks, Cancel, Threads};

/// A mixture of distributions of the same dimension: `p(x) = sum_j weights[j] * p_j(x)`.
///
/// `D` is the component type: [`Component`] (any built-in family) by default, or a type of the
/// caller's that implements [`Distribution`].
#[derive(Debug, Clone, PartialEq)]
pub struct GeneralMixtureModel<D: Distribution = Component> {
    pub(crate) distributions: Vec<D>,
    /// The prior probabilities, as given (normalised) or fitted; the JSON holds these exact
    /// values, so documents round-trip bit for bit.
    pub(crate) weights: Array1<f64>,
    pub(crate) log_weights: Array1<f64>,
    /// When true, `from_summaries` changes nothing (neither components nor weights).
    pub frozen: bool,
}

/// The sufficient statistics of a mixture over some rows: per-component statistics weighted by
/// the responsibilities, the responsibility sums, and the weighted log-likelihood of the rows.
#[derive(Debug, Clone, PartialEq)]
pub struct MixtureStats<S> {
    /// One statistics value per component.
    pub components: Vec<S>,
    /// `sum_i w_i r_ij` per component `j`.
    pub responsibilities: Vec<f64>,
    /// `sum_i w_i log p(x_i)` over the rows that the mixture can produce (`p(x_i) > 0`).
    pub log_likelihood: f64,
    /// `sum_i w_i` over the rows that no component can produce (`p(x_i) = 0`, such as a negative
    /// value under Exponential components). They take no part in the statistics; the
    /// log-likelihood of the data is `-inf` when this is positive (see
    /// [`total_log_likelihood`](MixtureStats::total_log_likelihood)).
    pub unexplained: f64,
}

impl<S> MixtureStats<S> {
    /// `sum_i w_i log p(x_i)` over all rows: `-inf` when some rows of positive weight have
    /// density 0.
    pub fn total_log_likelihood(&self) -> f64 {
        if self.unexplained > 0.0 {
            f64::NEG_INFINITY
        } else {
            self.log_likelihood
        }
    }
}

impl<S: Statistics> Statistics for MixtureStats<S> {
    fn merge(&mut self, other: &Self) -> Result<()> {
        if self.components.len() != other.components.len() {
            return Err(Error::param(
                "summaries",
                "statistics of mixtures with different numbers of components cannot be merged",
            ));
        }
        for (a, b) in self.components.iter_mut().zip(&other.components) {
            a.merge(b)?;
        }
        for (a, b) in self
            .responsibilities
            .iter_mut()
            .zip(&other.responsibilities)
        {
            *a += b;
        }
        self.log_likelihood += other.log_likelihood;
        self.unexplained += other.unexplained;
        Ok(())
    }
}

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
fn prefetch_rows(x: &ArrayView2<f64>, rows: Range<usize>) {
    if let Some(xs) = x.as_slice() {
        let d = x.ncols();
        let (a, b) = (rows.start * d, (rows.end * d).min(xs.len()));
        if b - a <= 1024 {
            crate::kernels::prefetch(&xs[a..b]);
        }
    }
}

/// What [`GeneralMixtureModel::rows_into`] writes for each row.
#[derive(Debug, Clone, Copy)]
enum RowValues {
    /// `log p(x)`.
    LogDensity,
    /// `log P(j | x)` per component.
    LogPosterior,
    /// `P(j | x)` per component.
    Posterior,
    /// The index of the largest `log w_j + log p_j(x)` (the first on ties), as a number.
    Best,
}

/// The index of the largest value (the first on ties).
fn best(joint: &[f64]) -> usize {
    let mut best = 0;
    for j in 1..joint.len() {
        if joint[j] > joint[best] {
            best = j;
        }
    }
    best
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

/// Checks labels against `n` rows and `k` components: each in `-1..k`.
pub(crate) fn check_labels(labels: &[i64], n: usize, k: usize) -> Result<()> {
    if labels.len() != n {
        return Err(Error::data(
            "y",
            format!(
                "must have one label per row of X ({n}), got {}",
                labels.len()
            ),
        ));
    }
    if let Some(bad) = labels.iter().find(|&&l| l < -1 || l >= k as i64) {
        return Err(Error::data(
            "y",
            format!("labels must be component indices 0..{k} or -1 for unlabelled rows, got {bad}"),
        ));
    }
    Ok(())
}

/// Checks that `x` has `d` columns, at least one row and no infinite value (NaN is a missing
/// value and allowed).
pub(crate) fn check_data(x: &ArrayView2<f64>, d: usize) -> Result<()> {
    if x.ncols() != d {
        return Err(Error::data(
            "X",
            format!(
                "must have {d} columns (the model's dimension), got {}",
                x.ncols()
            ),
        ));
    }
    if x.nrows() == 0 {
        return Err(Error::data("X", "must have at least one row"));
    }
    if x.iter().any(|v| v.is_infinite()) {
        return Err(Error::data(
            "X",
            "contains an infinite value; use NaN for a missing value",
        ));
    }
    Ok(())
}

/// Checks sample weights against `n` rows: finite, non-negative, not all zero.
pub(crate) fn check_weights(w: &ArrayView1<f64>, n: usize) -> Result<()> {
    if w.len() != n {
        return Err(Error::data(
            "weights",
            format!("must have one weight per row of X ({n}), got {}", w.len()),
        ));
    }
    if w.iter().any(|v| !v.is_finite() || *v < 0.0) {
        return Err(Error::data("weights", "must be finite and non-negative"));
    }
    if !w.iter().any(|v| *v > 0.0) {
        return Err(Error::data("weights", "must not all be zero"));
    }
    Ok(())
}

/// `weights` normalised to sum to 1 (they must be finite, non-negative, not all zero). Weights
/// that already sum to 1 up to rounding are kept exactly as they are.
fn normalised_weights(weights: &[f64], k: usize) -> Result<Array1<f64>> {
    if weights.len() != k {
        return Err(Error::param(
            "weights",
            format!(
                "must have one weight per distribution ({k}), got {}",
                weights.len()
            ),
        ));
    }
    if weights.iter().any(|v| !v.is_finite() || *v < 0.0) {
        return Err(Error::param("weights", "must be finite and non-negative"));
    }
    let total: f64 = weights.iter().sum();
    if !(total > 0.0) || !total.is_finite() {
        return Err(Error::param("weights", "must have a positive, finite sum"));
    }
    if (total - 1.0).abs() <= 4.0 * f64::EPSILON * k as f64 {
        return Ok(Array1::from(weights.to_vec()));
    }
    Ok(weights.iter().map(|w| w / total).collect())
}

/// `log sum_j exp(v_j)` as `(m, log s)`: the maximum `m` and the log of `s = sum_j exp(v_j - m)`
/// (in [1, k]), so that neither overflows nor underflows. Posteriors are `(v_j - m) - log s`:
/// subtracting the total `m + log s` instead would lose `log s` when `|m|` is huge.
#[inline]
pub(crate) fn log_sum_exp_parts(v: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let m = v.clone().fold(f64::NEG_INFINITY, f64::max);
    if m == f64::NEG_INFINITY || m.is_nan() {
        return (m, 0.0);
    }
    (m, v.map(|x| (x - m).exp()).sum::<f64>().ln())
}

impl<D: Distribution> GeneralMixtureModel<D> {
    /// A mixture of `distributions` (at least one, all of the same dimension) with prior `weights`
    /// (normalised to sum to 1; uniform when `None`).
    pub fn new(distributions: Vec<D>, weights: Option<&[f64]>) -> Result<Self> {
        let k = distributions.len();
        if k == 0 {
            return Err(Error::param(
                "distributions",
                "must hold at least one distribution",
            ));
        }
        let d = distributions[0].dim();
        if let Some(j) = distributions.iter().position(|c| c.dim() != d) {
            return Err(Error::param(
                "distributions",
                format!(
                    "all distributions must have the same dimension, but distribution 0 has {d} and distribution {j} has {}",
                    distributions[j].dim()
                ),
            ));
        }
        let weights = match weights {
            Some(w) => normalised_weights(w, k)?,
            None => Array1::from_elem(k, 1.0 / k as f64),
        };
        Ok(GeneralMixtureModel {
            distributions,
            log_weights: weights.mapv(f64::ln),
            weights,
            frozen: false,
        })
    }

    /// The components.
    pub fn distributions(&self) -> &[D] {
        &self.distributions
    }

    /// The components, mutable. A change of a component's dimension is caught by the next call
    /// that uses data.
    pub fn distributions_mut(&mut self) -> &mut [D] {
        &mut self.distributions
    }

    /// The prior probabilities of the components, shape `(n_components,)`.
    pub fn weights(&self) -> ArrayView1<'_, f64> {
        self.weights.view()
    }

    /// The natural logs of the prior probabilities, shape `(n_components,)`.
    pub fn log_weights(&self) -> ArrayView1<'_, f64> {
        self.log_weights.view()
    }

    /// Replaces the prior probabilities (normalised to sum to 1).
    pub fn set_weights(&mut self, weights: &[f64]) -> Result<()> {
        self.weights = normalised_weights(weights, self.distributions.len())?;
        self.log_weights = self.weights.mapv(f64::ln);
        Ok(())
    }

    /// The number of components.
    pub fn n_components(&self) -> usize {
        self.distributions.len()
    }

    /// The number of features.
    pub fn dim(&self) -> usize {
        self.distributions[0].dim()
    }

    fn check(&self, x: &ArrayView2<f64>) -> Result<()> {
        let d = self.dim();
        if let Some(j) = self.distributions.iter().position(|c| c.dim() != d) {
            return Err(Error::param(
                "distributions",
                format!("distribution {j} no longer has the model's dimension {d}"),
            ));
        }
        check_data(x, d)
    }

    /// Fills `lp`, shape `(n_components, rows)`, with `log w_j + log p_j(x_i)` for the rows of
    /// `xb`.
    fn log_joint_block(&self, xb: ArrayView2<f64>, lp: &mut Array2<f64>) -> Result<()> {
        for (j, dist) in self.distributions.iter().enumerate() {
            let mut row = lp.row_mut(j);
            let out = row
                .as_slice_mut()
                .expect("rows of a standard layout array are contiguous");
            dist.log_probability_into(xb, out)?;
            let lw = self.log_weights[j];
            for v in out.iter_mut() {
                *v += lw;
            }
        }
        Ok(())
    }

    /// Whether the rows may be summarised on several threads (every component keeps its
    /// statistics in the values it is given).
    fn parallel_statistics(&self) -> bool {
        self.distributions.iter().all(|d| d.stateless_statistics())
    }

    /// The log-density of each row of `x`, shape `(n, d)` -> `(n,)`.
    pub fn log_probability(&self, x: ArrayView2<f64>, threads: Threads) -> Result<Array1<f64>> {
        self.check(&x)?;
        let mut out = zeros_checked(x.nrows(), 1)?;
        let flat = out.as_slice_mut().expect("a new array is contiguous");
        threads.install(|| self.rows_into(x, flat, RowValues::LogDensity))??;
        Ok(out.into_shape_with_order(x.nrows()).expect("n values"))
    }

    /// The log posterior probability of each component for each row of `x`, shape `(n, d)` ->
    /// `(n, n_components)`. A row that no component can have produced gets the prior.
    pub fn predict_log_proba(&self, x: ArrayView2<f64>, threads: Threads) -> Result<Array2<f64>> {
        self.check(&x)?;
        let n = x.nrows();
        let k = self.n_components();
        let mut out = zeros_checked(n, k)?;
        let flat = out.as_slice_mut().expect("a new array is contiguous");
        threads.install(|| self.rows_into(x, flat, RowValues::LogPosterior))??;
        Ok(out)
    }

    /// The posterior probability of each component for each row of `x`, shape `(n, d)` ->
    /// `(n, n_components)`.
    pub fn predict_proba(&self, x: ArrayView2<f64>, threads: Threads) -> Result<Array2<f64>> {
        self.check(&x)?;
        let (n, k) = (x.nrows(), self.n_components());
        let mut out = zeros_checked(n, k)?;
        let flat = out.as_slice_mut().expect("a new array is contiguous");
        threads.install(|| self.rows_into(x, flat, RowValues::Posterior))??;
        Ok(out)
    }

    /// Writes `values` of every row of `x` into `out` (row-major, `n x 1` for log-densities,
    /// `n x k` for posteriors), in parallel over chunks. A row that no component can produce
    /// gets the prior as its posterior.
    fn rows_into(&self, x: ArrayView2<f64>, out: &mut [f64], values: RowValues) -> Result<()> {
        use rayon::prelude::*;
        let (n, k) = (x.nrows(), self.n_components());
        let width = match values {
            RowValues::LogDensity | RowValues::Best => 1,
            _ => k,
        };
        let size = chunk_rows(n);
        let prior = |row: &mut [f64]| match values {
            RowValues::Posterior => row.copy_from_slice(self.weights.as_slice().expect("1-D")),
            _ => row.copy_from_slice(self.log_weights.as_slice().expect("1-D")),
        };
        let per_row = |joint: &[f64], (m, log_s): (f64, f64), row: &mut [f64]| match values {
            RowValues::LogDensity => row[0] = m + log_s,
            RowValues::Best => row[0] = best(joint) as f64,
            _ if !m.is_finite() => prior(row),
            RowValues::LogPosterior => {
                for (o, v) in row.iter_mut().zip(joint) {
                    *o = (v - m) - log_s;
                }
            }
            RowValues::Posterior => {
                for (o, v) in row.iter_mut().zip(joint) {
                    *o = exp_nonpositive((v - m) - log_s);
                }
            }
        };
        let plan = Plan::new(
            self.distributions.iter().map(|d| d.gaussian()),
            self.log_weights.as_slice().expect("1-D"),
        );
        let work = |(c, part): (usize, &mut [f64])| -> Result<()> {
            let start = c * size;
            let mut joint = vec![0.0; k];
            let mut lp = Array2::<f64>::zeros((k, 0));
            let mut scratch = plan.as_ref().map(Plan::scratch);
            for block in blocks(start..(start + size).min(n)) {
                let xb = x.slice(s![block.clone(), ..]);
                let m = block.len();
                let loaded = match (&plan, &mut scratch) {
                    (Some(p), Some(s)) => p.load(xb, s),
                    _ => false,
                };
                if let (Some(p), Some(s), true) = (&plan, &mut scratch, loaded) {
                    if matches!(values, RowValues::LogDensity | RowValues::Posterior) {
                        // The kernels' own log-sum-exp.
                        p.posteriors(xb, s);
                        for (b, i) in block.enumerate() {
                            let row = &mut part[(i - start) * width..(i - start + 1) * width];
                            match values {
                                RowValues::LogDensity => row[0] = s.acc[b],
                                _ if s.max[b] == f64::NEG_INFINITY => prior(row),
                                _ => {
                                    for (j, o) in row.iter_mut().enumerate() {
                                        *o = s.lp[j * m + b] * s.y[b];
                                    }
                                }
                            }
                        }
                        continue;
                    }
                }
                let fused = match (&plan, &mut scratch) {
                    (Some(p), Some(s)) if loaded => {
                        p.log_joint(xb, s);
                        Some(&s.lp[..k * m])
                    }
                    _ => {
                        if lp.ncols() != m {
                            lp = Array2::zeros((k, m));
                        }
                        self.log_joint_block(xb, &mut lp)?;
                        None
                    }
                };
                for (b, i) in block.enumerate() {
                    for j in 0..k {
                        joint[j] = match fused {
                            Some(f) => f[j * m + b],
                            None => lp[[j, b]],
                        };
                    }
                    let parts = log_sum_exp_parts(joint.iter().copied());
                    let row = &mut part[(i - start) * width..(i - start + 1) * width];
                    per_row(&joint, parts, row);
                }
            }
            Ok(())
        };
        if n == 0 {
            return Ok(());
        }
        if self.parallel_statistics() {
            out.par_chunks_mut(size * width)
                .enumerate()
                .try_for_each(work)
        } else {
            out.chunks_mut(size * width).enumerate().try_for_each(work)
        }
    }

    /// The most probable component of each row of `x`, shape `(n, d)` -> `(n,)`: the argmax of
    /// `log w_j + log p_j(x)` (the first on ties).
    pub fn predict(&self, x: ArrayView2<f64>, threads: Threads) -> Result<Array1<usize>> {
        self.check(&x)?;
        let n = x.nrows();
        let mut out = zeros_checked(n, 1)?;
        let flat = out.as_slice_mut().expect("a new array is contiguous");
        threads.install(|| self.rows_into(x, flat, RowValues::Best))??;
        Ok(flat.iter().map(|&j| j as usize).collect())
    }

    /// Empty statistics for this mixture.
    pub fn new_stats(&self) -> MixtureStats<D::Stats> {
        MixtureStats {
            components: self.distributions.iter().map(|d| d.new_stats()).collect(),
            responsibilities: vec![0.0; self.n_components()],
            log_likelihood: 0.0,
            unexplained: 0.0,
        }
    }

    /// The E-step over the rows of `x`, shape `(n, d)`, with optional sample `weights`, shape
    /// `(n,)`: the statistics that [`from_summaries`](Self::from_summaries) turns into new
    /// parameters. One pass over the data, in blocks; the result does not depend on `threads`.
    pub fn summarize(
        &self,
        x: ArrayView2<f64>,
        weights: Option<ArrayView1<f64>>,
        threads: Threads,
    ) -> Result<MixtureStats<D::Stats>> {
        self.check(&x)?;
        if let Some(w) = &weights {
            check_weights(w, x.nrows())?;
        }
        threads.install(|| {
            self.summarize_rows(x, weights, 0..x.nrows(), Labels::None, &Cancel::default())
        })?
    }

    /// [`summarize`](Self::summarize) over a range of rows, without checks, on the current pool.
    pub(crate) fn summarize_rows(
        &self,
        x: ArrayView2<f64>,
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
            ),
            _ => None,
        };
        // Either way, chunks are merged as they come, in row order: memory stays bounded for
        // any number of rows.
        let Some(plan) = plan else {
            let chunk_stats = |chunk: Range<usize>| -> Result<_> {
                cancel.check()?;
                let mut stats = self.new_stats();
                let mut work = self.block_work();
                for block in blocks(chunk) {
                    self.summarize_block(
                        x,
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
            return try_fold_chunks(parallel, rows, self.new_stats(), chunk_stats, merge);
        };
        // Work spaces and sums are taken from these and given back: once each thread has its
        // own, a chunk allocates nothing, and the heaps of the threads stay small.
        let (scratches, spare) = (Mutex::new(Vec::new()), Mutex::new(Vec::new()));
        let chunk_part = |chunk: Range<usize>| -> Result<FusedPart<D::Stats>> {
            cancel.check()?;
            let mut scratch = take(&scratches).unwrap_or_else(|| plan.scratch());
            let mut part = FusedPart {
                moments: take(&spare).unwrap_or_else(|| plan.moments()),
                log_likelihood: 0.0,
                unexplained: 0.0,
                general: None,
            };
            let done = self.fused_chunk(&plan, x, weights.as_ref(), chunk, &mut scratch, &mut part);
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
        try_fold_chunks(parallel, rows, self.new_stats(), chunk_part, merge)
    }

    /// The fused E-step of the rows of `chunk` into `part`, blocks with missing values by the
    /// general path.
    fn fused_chunk(
        &self,
        plan: &Plan,
        x: ArrayView2<f64>,
        weights: Option<&ArrayView1<f64>>,
        chunk: Range<usize>,
        scratch: &mut Scratch,
        part: &mut FusedPart<D::Stats>,
    ) -> Result<()> {
        let mut work = None;
        let end = chunk.end;
        for block in blocks(chunk) {
            prefetch_rows(
                &x,
                block.end..(block.end + crate::parallel::BLOCK_ROWS).min(end),
            );
            let xb = x.slice(s![block.clone(), ..]);
            if !plan.load(xb, scratch) {
                // The log-likelihood stays one sum, in row order, whichever path a block takes.
                let stats = part.general.get_or_insert_with(|| self.new_stats());
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
                    "X",
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
                Error::param("distributions", "a Gaussian component gave no statistics")
            })?;
            stats.components[j].merge(&part)?;
        }
        Ok(())
    }

    /// Work space of [`summarize_block`](Self::summarize_block).
    fn block_work(&self) -> (Array2<f64>, Array2<f64>) {
        let k = self.n_components();
        (Array2::zeros((k, 0)), Array2::zeros((k, 0)))
    }

    /// The E-step of the rows of `block` by the components' own methods, added to `stats`.
    fn summarize_block(
        &self,
        x: ArrayView2<f64>,
        weights: Option<&ArrayView1<f64>>,
        block: Range<usize>,
        labels: Labels<'_>,
        (lp, resp): &mut (Array2<f64>, Array2<f64>),
        stats: &mut MixtureStats<D::Stats>,
    ) -> Result<()> {
        let (k, m) = (self.n_components(), block.len());
        let xb = x.slice(s![block.clone(), ..]);
        if lp.ncols() != m {
            *lp = Array2::zeros((k, m));
            *resp = Array2::zeros((k, m));
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
                            "X",
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

    /// The M-step: new parameters from `stats`. Each unfrozen component moves to
    /// `inertia * old + (1 - inertia) * mle`; the weights become the responsibility sums plus
    /// `pseudocount`, normalised (inertia does not apply to them, as in pomegranate). Nothing
    /// changes when the mixture is frozen, or when an error is returned.
    pub fn from_summaries(
        &mut self,
        stats: &MixtureStats<D::Stats>,
        inertia: f64,
        pseudocount: f64,
    ) -> Result<()> {
        check_unit("inertia", inertia)?;
        if !(pseudocount >= 0.0) || !pseudocount.is_finite() {
            return Err(Error::param(
                "pseudocount",
                format!("must be non-negative and finite, got {pseudocount}"),
            ));
        }
        if stats.components.len() != self.n_components() {
            return Err(Error::param(
                "summaries",
                "the statistics belong to a mixture with another number of components",
            ));
        }
        if self.frozen {
            return Ok(());
        }
        // All or nothing: an error leaves every component as it was.
        let mut updated = self.distributions.clone();
        for (dist, st) in updated.iter_mut().zip(&stats.components) {
            dist.from_summaries_smoothed(st, inertia, pseudocount)?;
        }
        self.distributions = updated;
        let counts: Vec<f64> = stats
            .responsibilities
            .iter()
            .map(|r| r + pseudocount)
            .collect();
        let total: f64 = counts.iter().sum();
        if total > 0.0 && total.is_finite() {
            self.weights = counts.iter().map(|c| c / total).collect();
            self.log_weights = self.weights.mapv(f64::ln);
        }
        Ok(())
    }

    /// The number of free parameters: those of the unfrozen components, and the `k - 1` free
    /// weights unless the model is frozen; `None` when a component cannot tell.
    pub fn n_parameters(&self) -> Option<usize> {
        if self.frozen {
            return Some(0);
        }
        let components: Option<usize> = self.distributions.iter().map(|d| d.n_parameters()).sum();
        Some(components? + self.n_components() - 1)
    }

    /// The Bayesian information criterion on `x`, shape `(n, d)`: `-2 log L + p log n`, with
    /// `p` the [number of free parameters](Self::n_parameters) (lower is better).
    pub fn bic(&self, x: ArrayView2<f64>, threads: Threads) -> Result<f64> {
        let (log_l, p) = self.criterion_parts(x, threads)?;
        Ok(-2.0 * log_l + p * (x.nrows() as f64).ln())
    }

    /// The Akaike information criterion on `x`, shape `(n, d)`: `-2 log L + 2 p` (lower is
    /// better).
    pub fn aic(&self, x: ArrayView2<f64>, threads: Threads) -> Result<f64> {
        let (log_l, p) = self.criterion_parts(x, threads)?;
        Ok(-2.0 * log_l + 2.0 * p)
    }

    fn criterion_parts(&self, x: ArrayView2<f64>, threads: Threads) -> Result<(f64, f64)> {
        let p = self.n_parameters().ok_or_else(|| {
            Error::param(
                "distributions",
                "a component cannot tell its number of parameters (give it n_parameters)",
            )
        })?;
        let log_l = self.log_probability(x, threads)?.sum();
        Ok((log_l, p as f64))
    }

    /// Draws `n` rows from the mixture, shape `(n, d)`: a component by its weight, then a sample
    /// of it.
    pub fn sample(&self, n: usize, rng: &mut dyn RngCore) -> Result<Array2<f64>> {
        let d = self.dim();
        let weights = self.weights();
        let mut out = zeros_checked(n, d)?;
        for mut row in out.axis_iter_mut(Axis(0)) {
            let j = choose_weighted(weights.iter().copied(), rng);
            let row = row.as_slice_mut().expect("contiguous");
            self.distributions[j].sample_into(rng, row);
        }
        Ok(out)
    }
}

/// An `(n, d)` array of zeros, or an error naming `n` when it cannot be allocated (instead of
/// aborting the process).
pub(crate) fn zeros_checked(n: usize, d: usize) -> Result<Array2<f64>> {
    let too_many = || {
        Error::param(
            "n",
            format!("{n} samples of {d} features do not fit in memory"),
        )
    };
    let len = n.checked_mul(d).ok_or_else(too_many)?;
    // A fallible probe, then zeroed memory from the allocator: large blocks come as fresh pages,
    // zero without being written, so the threads that fill the array touch them first.
    let mut probe: Vec<f64> = Vec::new();
    probe.try_reserve_exact(len).map_err(|_| too_many())?;
    drop(probe);
    Array2::from_shape_vec((n, d), vec![0.0; len]).map_err(|_| too_many())
}

/// Picks an index with probability proportional to its (non-negative) weight.
pub(crate) fn choose_weighted(
    weights: impl Iterator<Item = f64> + Clone,
    rng: &mut dyn RngCore,
) -> usize {
    let total: f64 = weights.clone().sum();
    let target = uniform01(rng) * total;
    let mut acc = 0.0;
    let mut last_positive = 0;
    for (i, w) in weights.enumerate() {
        if w > 0.0 {
            last_positive = i;
            acc += w;
            if target < acc {
                return i;
            }
        }
    }
    last_positive
}

/// Checks that a value is in [0, 1].
pub(crate) fn check_unit(name: &str, v: f64) -> Result<()> {
    if !(0.0..=1.0).contains(&v) {
        return Err(Error::param(
            name,
            format!("must be between 0 and 1, got {v}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distributions::Normal;
    use ndarray::array;

    fn two_normals() -> GeneralMixtureModel {
        GeneralMixtureModel::new(
            vec![
                Component::Normal(Normal::new(5.0, 2.0).unwrap()),
                Component::Normal(Normal::new(1.0, 1.0).unwrap()),
            ],
            None,
        )
        .unwrap()
    }

    #[test]
    fn posteriors_match_the_documented_example() {
        let m = two_normals();
        let p = m
            .predict_proba(array![[5.0], [7.0], [1.0]].view(), Threads::Current)
            .unwrap();
        assert!((p[[0, 0]] - 0.99932952).abs() < 1e-8);
        assert!((p[[2, 1]] - 0.93662106).abs() < 1e-8);
        for row in p.rows() {
            assert!((row.sum() - 1.0).abs() < 1e-12);
        }
        assert_eq!(
            m.predict(array![[5.0], [7.0], [1.0]].view(), Threads::Current)
                .unwrap(),
            array![0, 0, 1]
        );
    }

    #[test]
    fn missing_rows_get_the_prior() {
        let m = GeneralMixtureModel::new(
            vec![
                Component::Normal(Normal::new(0.0, 1.0).unwrap()),
                Component::Normal(Normal::new(1.0, 1.0).unwrap()),
            ],
            Some(&[0.25, 0.75]),
        )
        .unwrap();
        let x = array![[f64::NAN]];
        assert!(m.log_probability(x.view(), Threads::Current).unwrap()[0].abs() < 1e-15);
        let p = m.predict_proba(x.view(), Threads::Current).unwrap();
        assert!((p[[0, 0]] - 0.25).abs() < 1e-15);
    }

    #[test]
    fn rejects_bad_construction() {
        assert!(GeneralMixtureModel::<Component>::new(vec![], None).is_err());
        let n = Component::Normal(Normal::blank());
        assert!(GeneralMixtureModel::new(vec![n.clone(), n.clone()], Some(&[1.0])).is_err());
        assert!(GeneralMixtureModel::new(vec![n.clone(), n.clone()], Some(&[-1.0, 2.0])).is_err());
        assert!(GeneralMixtureModel::new(vec![n.clone(), n], Some(&[0.0, 0.0])).is_err());
    }

    #[test]
    fn rejects_bad_data() {
        let m = two_normals();
        assert!(m
            .log_probability(array![[1.0, 2.0]].view(), Threads::Current)
            .is_err());
        assert!(m
            .log_probability(Array2::zeros((0, 1)).view(), Threads::Current)
            .is_err());
        assert!(m
            .log_probability(array![[f64::INFINITY]].view(), Threads::Current)
            .is_err());
        let w = array![1.0, -1.0];
        assert!(m
            .summarize(
                array![[1.0], [2.0]].view(),
                Some(w.view()),
                Threads::Current
            )
            .is_err());
    }
}
