//! Prediction: log-densities, posteriors and the most probable component of each row, in
//! parallel over chunks, by the fused kernels where the mixture has a Gaussian form.

use ndarray::{Array1, Array2, ArrayView2};

use crate::distributions::Distribution;
use crate::error::Result;
use crate::kernels::{exp_nonpositive, Plan};
use crate::parallel::{chunk_rows, Threads, BLOCK_ROWS};
use crate::rows::{Element, Rows};
use crate::validate::zeros_checked;

use super::GeneralMixtureModel;

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

/// `log sum_j exp(v_j)` as `(m, log s)`: the maximum `m` and the log of `s = sum_j exp(v_j - m)`
/// (in [1, k]), so that neither overflows nor underflows. Posteriors are `(v_j - m) - log s`:
/// subtracting the total `m + log s` instead would lose `log s` when `|m|` is huge.
#[inline]
pub(super) fn log_sum_exp_parts(v: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let m = v.clone().fold(f64::NEG_INFINITY, f64::max);
    if m == f64::NEG_INFINITY || m.is_nan() {
        return (m, 0.0);
    }
    (m, v.map(|x| (x - m).exp()).sum::<f64>().ln())
}

impl<D: Distribution> GeneralMixtureModel<D> {
    /// Fills `lp`, shape `(n_components, rows)`, with `log w_j + log p_j(x_i)` for the rows of
    /// `xb`.
    pub(super) fn log_joint_block(&self, xb: ArrayView2<f64>, lp: &mut Array2<f64>) -> Result<()> {
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

    /// The log-density of each row of `x`, shape `(n, d)` -> `(n,)`.
    pub fn log_probability<T: Element>(
        &self,
        x: ArrayView2<T>,
        threads: Threads,
    ) -> Result<Array1<f64>> {
        let x = Rows::from(x);
        self.check(&x)?;
        let mut out = zeros_checked(x.nrows(), 1)?;
        let flat = out.as_slice_mut().expect("a new array is contiguous");
        threads.install(|| self.rows_into(x, flat, RowValues::LogDensity))??;
        Ok(out.into_shape_with_order(x.nrows()).expect("n values"))
    }

    /// The log posterior probability of each component for each row of `x`, shape `(n, d)` ->
    /// `(n, n_components)`. A row that no component can have produced gets the prior.
    pub fn predict_log_proba<T: Element>(
        &self,
        x: ArrayView2<T>,
        threads: Threads,
    ) -> Result<Array2<f64>> {
        let x = Rows::from(x);
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
    pub fn predict_proba<T: Element>(
        &self,
        x: ArrayView2<T>,
        threads: Threads,
    ) -> Result<Array2<f64>> {
        let x = Rows::from(x);
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
    fn rows_into(&self, x: Rows<'_>, out: &mut [f64], values: RowValues) -> Result<()> {
        use rayon::prelude::*;
        let (n, k) = (x.nrows(), self.n_components());
        let width = match values {
            RowValues::LogDensity | RowValues::Best => 1,
            _ => k,
        };
        // A component that keeps its statistics itself (a Python class) gets all the rows in one
        // call, as in pomegranate; the others take chunks of blocks.
        let parallel = self.parallel_statistics();
        let size = if parallel { chunk_rows(n) } else { n.max(1) };
        let block_rows = if parallel { BLOCK_ROWS } else { size };
        let prior = |row: &mut [f64]| match values {
            RowValues::Posterior => row.copy_from_slice(self.weights.as_slice().expect("1-D")),
            _ => row.copy_from_slice(self.log_weights.as_slice().expect("1-D")),
        };
        let per_row = |joint: &[f64], (m, log_s): (f64, f64), row: &mut [f64]| match values {
            RowValues::LogDensity => row[0] = m + log_s,
            // A row that no component can produce: its posterior is the prior, and so is its
            // most probable component.
            RowValues::Best if !m.is_finite() => {
                row[0] = best(self.log_weights.as_slice().expect("1-D")) as f64
            }
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
        )?;
        let work = |(c, part): (usize, &mut [f64])| -> Result<()> {
            let start = c * size;
            let mut joint = vec![0.0; k];
            let mut lp = Array2::<f64>::zeros((k, 0));
            let mut scratch = plan.as_ref().map(Plan::scratch).transpose()?;
            // A block of `f32` rows as `f64`, for the components' own methods.
            let mut buf = Vec::new();
            let end = (start + size).min(n);
            for block in (start..end)
                .step_by(block_rows)
                .map(|b| b..(b + block_rows).min(end))
            {
                let xb = x.slice(block.clone());
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
                            lp = super::estep::block_work(k, m)?;
                        }
                        self.log_joint_block(x.block(block.clone(), &mut buf), &mut lp)?;
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
        if parallel {
            out.par_chunks_mut(size * width)
                .enumerate()
                .try_for_each(work)
        } else {
            out.chunks_mut(size * width).enumerate().try_for_each(work)
        }
    }

    /// The most probable component of each row of `x`, shape `(n, d)` -> `(n,)`: the argmax of
    /// `log w_j + log p_j(x)` (the first on ties).
    pub fn predict<T: Element>(&self, x: ArrayView2<T>, threads: Threads) -> Result<Array1<usize>> {
        let x = Rows::from(x);
        self.check(&x)?;
        let n = x.nrows();
        let mut out = zeros_checked(n, 1)?;
        let flat = out.as_slice_mut().expect("a new array is contiguous");
        threads.install(|| self.rows_into(x, flat, RowValues::Best))??;
        crate::validate::labels_of(flat)
    }
}
