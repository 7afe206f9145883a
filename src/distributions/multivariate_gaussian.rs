//! The multivariate Gaussian distribution with a full covariance matrix.

use std::sync::{Arc, OnceLock};

use ndarray::{s, Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut2, Axis};
use rand_core::RngCore;
use rayon::prelude::*;

use super::normal::{COLLAPSED_VARIANCE, LN_SQRT_2PI, ROUNDING_NOISE};
use super::symmetric::check_finite_symmetric;
use super::{Blocks, Distribution, Statistics};
use crate::error::{Error, Result};
use crate::kernels::{Gaussian, GaussianMoments};
use crate::linalg::{
    add_lower_products, cholesky, lower_triangular_inverse, mirror_lower, mirrored_pairs,
    reserve_products, smallest_eigenvalue, solve_lower_transposed, BLOCKED_FROM, CHUNK_ROWS,
};
use crate::rng::standard_normal;
use crate::rows::Element;
use crate::validate::{copied, square, too_large, zeroed, zeroed_vec};

/// A multivariate Gaussian `N(means, covariance)` with a full covariance matrix.
///
/// The log-density is computed through the Cholesky factor `L` of the covariance (`covariance =
/// L L^T`): `z = L^-1 (x - means)` by a triangular solve of a block of rows at once. The fused
/// kernels of a mixture use `L^-1`, computed on first use. A row with missing values (NaN) gets
/// the marginal density of its observed coordinates (0 when none is observed), and the
/// statistics use the pairwise-complete covariance estimate.
#[derive(Debug, Clone, PartialEq)]
pub struct MultivariateGaussian {
    means: Array1<f64>,
    /// The `d x d` matrices are never changed in place (a fit builds new ones): copies share
    /// them.
    covariance: Arc<Array2<f64>>,
    /// When true, `from_summaries` leaves the parameters as they are.
    pub frozen: bool,
    chol: Arc<Array2<f64>>,
    inv_chol: InverseFactor,
    log_norm: f64,
}

/// `L^-1`, computed from `L` on first use; `None` when it is not finite (the fused kernels are
/// then not used). It is a function of `L`, which a distribution never changes in place (a fit
/// builds a new one): two are equal whatever they hold, and copies share it, so a copy that
/// computes it computes it for all (and a copy takes no memory for it).
#[derive(Debug, Clone, Default)]
struct InverseFactor(Arc<OnceLock<Option<Array2<f64>>>>);

impl PartialEq for InverseFactor {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl MultivariateGaussian {
    /// `N(means, covariance)`; `covariance` must be `d x d`, symmetric and positive definite.
    pub fn new(means: Array1<f64>, covariance: Array2<f64>) -> Result<Self> {
        let d = means.len();
        if d == 0 {
            return Err(Error::param("means", "must have at least one element"));
        }
        if covariance.dim() != (d, d) {
            return Err(Error::param(
                "covariance",
                format!(
                    "must be a {d} x {d} matrix to match means, got {} x {}",
                    covariance.nrows(),
                    covariance.ncols()
                ),
            ));
        }
        if means.iter().any(|v| !v.is_finite()) {
            return Err(Error::param("means", "must be finite"));
        }
        check_finite_symmetric(covariance.view())?;
        Self::from_valid(means, covariance, false)?.ok_or(Error::NotPositiveDefinite {
            name: "covariance".into(),
        })
    }

    /// The distribution of a finite, symmetric covariance; `None` when it is not numerically
    /// positive definite, an error when its factors do not fit in memory.
    fn from_valid(
        means: Array1<f64>,
        covariance: Array2<f64>,
        frozen: bool,
    ) -> Result<Option<Self>> {
        Ok(Self::factors(&covariance)?.map(|f| Self::with_factor(means, covariance, frozen, f)))
    }

    /// The distribution of a covariance and its factor and log-normaliser ([`factors`]), its
    /// inverse factor not yet computed.
    ///
    /// [`factors`]: Self::factors
    fn with_factor(
        means: Array1<f64>,
        covariance: Array2<f64>,
        frozen: bool,
        (chol, log_norm): (Array2<f64>, f64),
    ) -> Self {
        MultivariateGaussian {
            means,
            covariance: Arc::new(covariance),
            frozen,
            chol: Arc::new(chol),
            inv_chol: InverseFactor::default(),
            log_norm,
        }
    }

    /// The Cholesky factor `L` and the log-normaliser of a covariance (`None` when it is not
    /// numerically positive definite).
    fn factors(covariance: &Array2<f64>) -> Result<Option<(Array2<f64>, f64)>> {
        let d = covariance.nrows();
        let Some(chol) = cholesky(covariance.view())? else {
            return Ok(None);
        };
        let log_det_half: f64 = chol.diag().iter().map(|v| v.ln()).sum();
        Ok(Some((chol, -(d as f64) * LN_SQRT_2PI - log_det_half)))
    }

    /// `L^-1`, computed on first use; `None` when it is not finite, or does not fit in memory
    /// or finds no thread to run on this time (then tried again at the next use). It is
    /// computed outside the cell: the computation runs on the pool, whose threads may meanwhile
    /// run other tasks that ask for the same inverse (two computations then give the same
    /// bits, and the first is kept).
    fn inverse_factor(&self) -> Option<&Array2<f64>> {
        let cell = &self.inv_chol.0;
        if cell.get().is_none() {
            let inv = lower_triangular_inverse(self.chol.view()).ok()?;
            let _ = cell.set(inv.iter().all(|v| v.is_finite()).then_some(inv));
        }
        cell.get()?.as_ref()
    }

    /// The standard `d`-dimensional Gaussian `N(0, I)`, pomegranate's `blank(d)`.
    pub fn blank(d: usize) -> Result<Self> {
        if d == 0 {
            return Err(Error::param("d", "must be at least 1"));
        }
        Self::unit_at(Array1::zeros(d))
    }

    /// `N(means, I)`, whose factors are known (the identity), without factoring it.
    fn unit_at(means: Array1<f64>) -> Result<Self> {
        let d = means.len();
        // Checked: a width that comes from data may ask for more than memory holds.
        let mut covariance = square("d", "covariance", d)?;
        covariance.diag_mut().fill(1.0);
        let mut chol = square("d", "Cholesky factor", d)?;
        chol.diag_mut().fill(1.0);
        // The sum of the log-diagonal of the identity's factor is 0.
        let log_norm = -(d as f64) * LN_SQRT_2PI;
        Ok(Self::with_factor(
            means,
            covariance,
            false,
            (chol, log_norm),
        ))
    }

    /// The maximum-likelihood fit to rows of `d` features that `visit` hands over a block at a
    /// time, in two passes without a product over the rows in the first: the weighted mean of
    /// the observed values of each column (0 for a column without any), which is near the
    /// data's mean, then the statistics around it. `N(mean, I)` when the rows hold no weight, as
    /// a fit of that blank distribution leaves it. Blocks that follow the products' chunks of
    /// rows ([`CHUNK_ROWS`]) give the sums and products of all the rows at once, bit for bit.
    pub(crate) fn fit_around_mean_blocks(d: usize, visit: &mut Blocks<'_>) -> Result<Self> {
        // On a pool, so that the products and the moments' rows spread over its threads (on
        // the calling thread alone when no pool can start: the same numbers).
        let mut fit = || {
            let mut observed = ObservedMeans::new(d);
            visit(&mut |xb, wb| {
                observed.add(xb, wb);
                Ok(())
            })?;
            let (means, any_nan) = observed.finish();
            let mut stats = MultivariateGaussianStats::try_new(means.clone())?;
            visit(&mut |xb, wb| Self::accumulate_rows(xb, wb, &mut stats, Some(any_nan)))?;
            if total_weight(&stats) < MIN_WEIGHT {
                return Self::unit_at(means);
            }
            let (fitted, cov) = moments(&stats, means.view())?;
            fitted_distribution(fitted, cov, false)
        };
        match crate::parallel::on_a_pool(&mut fit) {
            Ok(fitted) => fitted,
            Err(_) => fit(),
        }
    }

    /// A copy. It shares the `d x d` matrices (the covariance, its factor and `L^-1`, computed
    /// or not) with the original, so it takes no memory for them and is never an error today;
    /// the `Result` is kept for the callers that check.
    pub fn try_clone(&self) -> Result<Self> {
        Ok(self.clone())
    }

    /// The mean vector, shape `(d,)`.
    pub fn means(&self) -> ArrayView1<'_, f64> {
        self.means.view()
    }

    /// The covariance matrix, shape `(d, d)`.
    pub fn covariance(&self) -> ArrayView2<'_, f64> {
        self.covariance.view()
    }

    /// The log-density of each row of `x` (`f64` or `f32`, any layout) into `out`. The rows go
    /// by chunks (in parallel on a pool), each centred into a work space of at most
    /// [`centred_rows`] rows and solved in place, so that the memory taken beside `out` is a
    /// few chunks, not a copy of `x`. Each row's operations depend on that row alone: the same
    /// bits for any chunking, thread count or element type of the same values.
    pub(crate) fn log_probability_rows<T: Element>(
        &self,
        x: ArrayView2<T>,
        out: &mut [f64],
    ) -> Result<()> {
        let d = self.dim();
        if x.ncols() != d || out.len() != x.nrows() {
            return Err(Error::data(
                "data",
                format!(
                    "rows of {} features ({} values for {} rows) do not fit a distribution of {d}",
                    x.ncols(),
                    out.len(),
                    x.nrows(),
                ),
            ));
        }
        let chunk = |buf: &mut Vec<f64>, (out, x): (&mut [f64], ArrayView2<T>)| -> Result<()> {
            let len = x.nrows() * d;
            if buf.len() < len {
                buf.clear();
                buf.try_reserve_exact(len)
                    .map_err(|_| too_large("data", "a chunk of centred rows"))?;
                buf.resize(len, 0.0);
            }
            let mut y = ArrayViewMut2::from_shape((x.nrows(), d), &mut buf[..len])
                .expect("a chunk's shape");
            for (mut y, x) in y.rows_mut().into_iter().zip(x.rows()) {
                for ((y, &v), &m) in y.iter_mut().zip(x.iter()).zip(self.means.iter()) {
                    *y = v.to_f64() - m;
                }
            }
            // Each row's `L^-1 (x - means)` in its place; the same bits on every kernel path.
            solve_lower_transposed(y.view_mut(), self.chol.view());
            for (i, o) in out.iter_mut().enumerate() {
                let sq: f64 = y.row(i).iter().map(|v| v * v).sum();
                *o = if sq.is_nan() {
                    let row: Array1<f64> = x.row(i).iter().map(|v| v.to_f64()).collect();
                    self.marginal_log_density(row.view())?
                } else {
                    self.log_norm - 0.5 * sq
                };
            }
            Ok(())
        };
        // On a pool (on the calling thread alone when no pool can start: the same numbers).
        let mut all = || {
            let rows = centred_rows(x.nrows(), d);
            if x.nrows() <= rows {
                return chunk(&mut Vec::new(), (&mut *out, x));
            }
            out.par_chunks_mut(rows)
                .enumerate()
                .try_for_each_init(Vec::new, |buf, (c, out)| {
                    let (start, len) = (c * rows, out.len());
                    chunk(buf, (out, x.slice(s![start..start + len, ..])))
                })
        };
        match crate::parallel::on_a_pool(&mut all) {
            Ok(done) => done,
            Err(_) => all(),
        }
    }

    fn marginal_log_density(&self, row: ArrayView1<f64>) -> Result<f64> {
        let observed: Vec<usize> = (0..row.len()).filter(|&j| !row[j].is_nan()).collect();
        let m = observed.len();
        if m == 0 {
            return Ok(0.0);
        }
        let mut sub = square("data", "covariance of the observed features", m)?;
        for (a, &oa) in observed.iter().enumerate() {
            for (b, &ob) in observed.iter().enumerate() {
                sub[[a, b]] = self.covariance[[oa, ob]];
            }
        }
        let Some(l) = cholesky(sub.view())? else {
            return Ok(f64::NEG_INFINITY);
        };
        // Forward substitution: y = L^-1 (x_o - mu_o).
        let mut y = vec![0.0; m];
        let mut sq = 0.0;
        for a in 0..m {
            let mut s = row[observed[a]] - self.means[observed[a]];
            for b in 0..a {
                s -= l[[a, b]] * y[b];
            }
            y[a] = s / l[[a, a]];
            sq += y[a] * y[a];
        }
        if sq.is_nan() {
            // The observed values are numbers: the form overflowed (inf - inf, or inf times a
            // zero of L^-1) for a row so far out that its density is 0, as in the kernels.
            return Ok(f64::NEG_INFINITY);
        }
        let log_det_half: f64 = l.diag().iter().map(|v| v.ln()).sum();
        Ok(-(m as f64) * LN_SQRT_2PI - log_det_half - 0.5 * sq)
    }
}

/// Sufficient statistics of a [`MultivariateGaussian`], as moments around a shift point `c` (the
/// mean of the distribution that collected them). Rows without missing values go to the dense
/// moments; rows with missing values go to pairwise-complete moments, allocated on first use.
#[derive(Debug, Clone, PartialEq)]
pub struct MultivariateGaussianStats {
    /// The shift point `c`, shape `(d,)`.
    pub shift: Array1<f64>,
    /// `sum w` over complete rows.
    pub weight: f64,
    /// `sum w (x - c)` over complete rows, shape `(d,)`.
    pub sum: Array1<f64>,
    /// `sum w (x - c)(x - c)^T` over complete rows, shape `(d, d)`.
    pub sum_products: Array2<f64>,
    /// Moments of the rows with missing values, if any.
    pub missing: Option<PairwiseStats>,
}

/// Pairwise-complete moments of rows with missing values: entry `(j, k)` sums over the rows where
/// both coordinates `j` and `k` are observed.
#[derive(Debug, Clone, PartialEq)]
pub struct PairwiseStats {
    /// `W_jk = sum w`.
    pub weight: Array2<f64>,
    /// `A_jk = sum w (x_j - c_j)`.
    pub sum: Array2<f64>,
    /// `C_jk = sum w (x_j - c_j)(x_k - c_k)`.
    pub sum_products: Array2<f64>,
}

impl MultivariateGaussianStats {
    /// Empty statistics around `shift`.
    ///
    /// # Panics
    ///
    /// When the `d x d` products do not fit in memory ([`try_new`](Self::try_new) says so
    /// instead).
    pub fn new(shift: Array1<f64>) -> Self {
        Self::try_new(shift).expect("statistics that fit in memory")
    }

    /// Empty statistics around `shift`, or an error when the `d x d` products do not fit in
    /// memory.
    pub fn try_new(shift: Array1<f64>) -> Result<Self> {
        let d = shift.len();
        Ok(MultivariateGaussianStats {
            shift,
            weight: 0.0,
            sum: Array1::zeros(d),
            sum_products: square("data", "matrix of statistics", d)?,
            missing: None,
        })
    }

    /// Whether every array has the shape of `d` features (the fields are public).
    fn has_dim(&self, d: usize) -> bool {
        self.shift.len() == d
            && self.sum.len() == d
            && self.sum_products.dim() == (d, d)
            && self.missing.as_ref().is_none_or(|p| {
                p.weight.dim() == (d, d) && p.sum.dim() == (d, d) && p.sum_products.dim() == (d, d)
            })
    }

    /// A copy, or an error when it does not fit in memory.
    fn try_clone(&self) -> Result<Self> {
        let err = || {
            too_large(
                "data",
                format!("a copy of {0} x {0} statistics", self.shift.len()),
            )
        };
        Ok(MultivariateGaussianStats {
            shift: self.shift.clone(),
            weight: self.weight,
            sum: self.sum.clone(),
            sum_products: copied(self.sum_products.view(), err)?,
            missing: match &self.missing {
                Some(p) => Some(PairwiseStats {
                    weight: copied(p.weight.view(), err)?,
                    sum: copied(p.sum.view(), err)?,
                    sum_products: copied(p.sum_products.view(), err)?,
                }),
                None => None,
            },
        })
    }

    /// The same statistics around another shift point.
    fn rebased(&self, shift: &Array1<f64>) -> Result<Self> {
        let d = shift.len();
        // delta = c_old - c_new; x - c_new = (x - c_old) + delta.
        let delta = &self.shift - shift;
        let mut out = self.try_clone()?;
        out.shift = shift.clone();
        for j in 0..d {
            out.sum[j] += self.weight * delta[j];
            for k in 0..d {
                out.sum_products[[j, k]] += delta[k] * self.sum[j]
                    + delta[j] * self.sum[k]
                    + self.weight * delta[j] * delta[k];
            }
        }
        if let (Some(p), Some(q)) = (&self.missing, out.missing.as_mut()) {
            for j in 0..d {
                for k in 0..d {
                    q.sum[[j, k]] += p.weight[[j, k]] * delta[j];
                    q.sum_products[[j, k]] += delta[k] * p.sum[[j, k]]
                        + delta[j] * p.sum[[k, j]]
                        + p.weight[[j, k]] * delta[j] * delta[k];
                }
            }
        }
        Ok(out)
    }
}

impl Statistics for MultivariateGaussianStats {
    fn merge(&mut self, other: &Self) -> Result<()> {
        let d = self.shift.len();
        if !self.has_dim(d) || !other.has_dim(d) {
            return Err(Error::param(
                "summaries",
                "statistics of distributions of different dimensions cannot be merged",
            ));
        }
        let rebased;
        let other = if other.shift == self.shift {
            other
        } else {
            rebased = other.rebased(&self.shift)?;
            &rebased
        };
        // The copies that can fail first, so that an error leaves the statistics as they were.
        let copies = match (&other.missing, &self.missing) {
            (Some(p), None) => {
                let err =
                    || too_large("data", format!("a {d} x {d} matrix of pairwise statistics"));
                Some(PairwiseStats {
                    weight: copied(p.weight.view(), err)?,
                    sum: copied(p.sum.view(), err)?,
                    sum_products: copied(p.sum_products.view(), err)?,
                })
            }
            _ => None,
        };
        self.weight += other.weight;
        self.sum += &other.sum;
        self.sum_products += &other.sum_products;
        match (&other.missing, &mut self.missing) {
            (Some(p), Some(q)) => {
                q.weight += &p.weight;
                q.sum += &p.sum;
                q.sum_products += &p.sum_products;
            }
            (Some(_), None) => self.missing = copies,
            (None, _) => {}
        }
        Ok(())
    }
}

impl MultivariateGaussian {
    /// [`accumulate`](Distribution::accumulate) of rows whose width is that of `stats`, with as
    /// many weights as rows; `any_nan` says whether `x` holds a NaN, when the caller knows.
    fn accumulate_rows(
        x: ArrayView2<f64>,
        weights: &[f64],
        stats: &mut MultivariateGaussianStats,
        any_nan: Option<bool>,
    ) -> Result<()> {
        let d = x.ncols();
        // The rows go by chunks through two working copies of a chunk (checked: an error
        // instead of an abort for wide rows); the chunks' products add up to the same sums as
        // all the rows' at once ([`CHUNK_ROWS`]). Everything that can fail is allocated before
        // the statistics change.
        let n = x.nrows();
        let err = || too_large("data", "a copy of the rows");
        let mut z = zeroed(n.min(CHUNK_ROWS), d, err)?;
        let mut wz = zeroed(n.min(CHUNK_ROWS), d, err)?;
        reserve_products(d)?;
        let has_nan = |x: ArrayView2<f64>| match x.as_slice() {
            Some(values) => crate::kernels::any_nan(values),
            None => x.iter().any(|v| v.is_nan()),
        };
        // A centred value is NaN where the row's is, or where the shift is not finite: one
        // vector scan of the rows, and the chunks look for rows with missing values only if it
        // finds any.
        let maybe_nan =
            any_nan.unwrap_or_else(|| has_nan(x)) || stats.shift.iter().any(|c| !c.is_finite());
        if stats.missing.is_none() && maybe_nan {
            let what = "matrix of pairwise statistics";
            stats.missing = Some(PairwiseStats {
                weight: square("data", what, d)?,
                sum: square("data", what, d)?,
                sum_products: square("data", what, d)?,
            });
        }
        for r0 in (0..n).step_by(CHUNK_ROWS) {
            let r1 = (r0 + CHUNK_ROWS).min(n);
            let rows = r1 - r0;
            let (mut z, mut wz) = (z.slice_mut(s![..rows, ..]), wz.slice_mut(s![..rows, ..]));
            let weighted = Self::accumulate_chunk(
                x.slice(s![r0..r1, ..]),
                &weights[r0..r1],
                stats,
                z.view_mut(),
                wz.view_mut(),
                maybe_nan,
            );
            // Rows of weight 1 (as in an unweighted fit) are their own weighted rows: the
            // products then take `z` twice (the same numbers).
            let wz = if weighted { wz.view() } else { z.view() };
            add_lower_products(z.view(), wz, &mut stats.sum_products);
        }
        mirror_lower(&mut stats.sum_products);
        Ok(())
    }

    /// The part of [`accumulate`](Distribution::accumulate) for a chunk of rows: their centred
    /// rows into `z` and weighted into `wz` (both zero for rows with missing values, whose
    /// pairwise moments are added to `stats` here, allocated by the caller), their weight and
    /// sums into `stats`. The caller adds the products; `maybe_nan` is false when it found no
    /// centred value that is NaN. Returns false, leaving `wz` alone, when `maybe_nan` is false,
    /// every row has weight 1 and the statistics' vectors are contiguous: `z` is then its own
    /// weighted rows.
    fn accumulate_chunk(
        x: ArrayView2<f64>,
        weights: &[f64],
        stats: &mut MultivariateGaussianStats,
        mut z: ArrayViewMut2<f64>,
        mut wz: ArrayViewMut2<f64>,
        maybe_nan: bool,
    ) -> bool {
        let d = x.ncols();
        let slices = (
            stats.shift.as_slice(),
            stats.sum.as_slice_mut(),
            z.as_slice_mut(),
            wz.as_slice_mut(),
        );
        if let (false, (Some(shift), Some(sum), Some(z), Some(wz))) = (maybe_nan, slices) {
            // Row by row over slices (in vectors): each column's values are centred, weighted
            // and summed along the rows in their order.
            let ones = weights.iter().all(|&w| w == 1.0);
            let rows = z
                .chunks_exact_mut(d.max(1))
                .zip(wz.chunks_exact_mut(d.max(1)));
            for ((i, &w), (z, wz)) in weights.iter().enumerate().zip(rows) {
                match x.row(i).as_slice() {
                    Some(x) => {
                        for ((z, x), c) in z.iter_mut().zip(x).zip(shift) {
                            *z = x - c;
                        }
                    }
                    None => {
                        for ((z, x), c) in z.iter_mut().zip(x.row(i)).zip(shift) {
                            *z = x - c;
                        }
                    }
                }
                if ones {
                    for (s, z) in sum.iter_mut().zip(z.iter()) {
                        *s += z;
                    }
                } else {
                    for ((s, wz), z) in sum.iter_mut().zip(wz).zip(z.iter()) {
                        *wz = z * w;
                        *s += *wz;
                    }
                }
            }
            for w in weights {
                stats.weight += w;
            }
            return !ones;
        }
        let shift = stats.shift.view().insert_axis(Axis(0));
        ndarray::Zip::from(&mut z)
            .and(&x)
            .and_broadcast(&shift)
            .for_each(|z, &x, &c| *z = x - c);
        wz.assign(&z);
        let mut has_missing = false;
        for (i, mut row) in wz.rows_mut().into_iter().enumerate() {
            if maybe_nan && row.iter().any(|v| v.is_nan()) {
                has_missing = true;
                row.fill(0.0);
            } else {
                row *= weights[i];
            }
        }
        if has_missing {
            let stats_missing = stats
                .missing
                .as_mut()
                .expect("allocated by accumulate for rows with missing values");
            for (i, mut row) in z.rows_mut().into_iter().enumerate() {
                if !row.iter().any(|v| v.is_nan()) {
                    continue;
                }
                let w = weights[i];
                for j in 0..d {
                    let zj = row[j];
                    if zj.is_nan() {
                        continue;
                    }
                    for k in 0..d {
                        let zk = row[k];
                        if zk.is_nan() {
                            continue;
                        }
                        stats_missing.weight[[j, k]] += w;
                        stats_missing.sum[[j, k]] += w * zj;
                        stats_missing.sum_products[[j, k]] += w * zj * zk;
                    }
                }
                row.fill(0.0);
            }
        }
        for (i, wz_row) in wz.rows().into_iter().enumerate() {
            if !(has_missing && x.row(i).iter().any(|v| v.is_nan())) {
                stats.weight += weights[i];
            }
            stats.sum += &wz_row;
        }
        true
    }
}

impl Distribution for MultivariateGaussian {
    type Stats = MultivariateGaussianStats;

    fn dim(&self) -> usize {
        self.means.len()
    }

    fn log_probability_into(&self, x: ArrayView2<f64>, out: &mut [f64]) -> Result<()> {
        self.log_probability_rows(x, out)
    }

    fn new_stats(&self) -> MultivariateGaussianStats {
        MultivariateGaussianStats::new(self.means.clone())
    }

    fn try_new_stats(&self) -> Result<MultivariateGaussianStats> {
        MultivariateGaussianStats::try_new(self.means.clone())
    }

    fn accumulate(
        &self,
        x: ArrayView2<f64>,
        weights: &[f64],
        stats: &mut MultivariateGaussianStats,
    ) -> Result<()> {
        let d = self.dim();
        if x.ncols() != d || !stats.has_dim(d) || weights.len() != x.nrows() {
            return Err(Error::data(
                "data",
                format!(
                    "rows of {} features (statistics of {}, {} weights for {} rows) do not fit a distribution of {d}",
                    x.ncols(),
                    stats.shift.len(),
                    weights.len(),
                    x.nrows()
                ),
            ));
        }
        Self::accumulate_rows(x, weights, stats, None)
    }

    fn from_summaries(&mut self, stats: &MultivariateGaussianStats, inertia: f64) -> Result<()> {
        let d = self.dim();
        if !stats.has_dim(d) {
            return Err(Error::param(
                "summaries",
                format!(
                    "statistics of {} features cannot update a distribution of {d}",
                    stats.shift.len()
                ),
            ));
        }
        if self.frozen || total_weight(stats) < MIN_WEIGHT {
            return Ok(());
        }
        let (means, mut cov) = moments(stats, self.means.view())?;
        let means = &self.means * inertia + &means * (1.0 - inertia);
        // In place (the same operations as `old * inertia + new * (1 - inertia)`): no more
        // `d x d` temporaries. Without inertia that is `(+-0) + new`, which is `new` (no entry
        // of `cov` is -0 here, and the old covariance is finite): skipped.
        if inertia != 0.0 {
            cov.zip_mut_with(&self.covariance, |c, &old| {
                *c = old * inertia + *c * (1.0 - inertia)
            });
        }
        *self = fitted_distribution(means, cov, self.frozen)?;
        Ok(())
    }

    fn is_frozen(&self) -> bool {
        self.frozen
    }

    fn n_parameters(&self) -> Option<usize> {
        Some(if self.frozen {
            0
        } else {
            {
                let d = self.dim();
                d + d * (d + 1) / 2
            }
        })
    }

    fn gaussian(&self) -> Option<Gaussian<'_>> {
        Some(Gaussian::Full {
            means: self.means.as_slice()?,
            inv_chol: self.inverse_factor()?.view(),
            log_norm: self.log_norm,
        })
    }

    fn gaussian_stats(&self, m: &GaussianMoments<'_>) -> Option<MultivariateGaussianStats> {
        let d = m.shift.len();
        // `None` also when the products do not fit in memory (the caller reports it).
        let mut products = zeroed_vec(&[d, d], || too_large("data", "statistics")).ok()?;
        products.copy_from_slice(m.products);
        Some(MultivariateGaussianStats {
            shift: Array1::from(m.shift.to_vec()),
            weight: m.weight,
            sum: Array1::from(m.sum.to_vec()),
            sum_products: Array2::from_shape_vec((d, d), products).ok()?,
            missing: None,
        })
    }

    fn sample_into(&self, rng: &mut dyn RngCore, out: &mut [f64]) {
        let d = self.dim();
        let z: Vec<f64> = (0..d).map(|_| standard_normal(rng)).collect();
        for (i, (o, row)) in out.iter_mut().zip(self.chol.rows()).enumerate() {
            let mut s = self.means[i];
            for (l, z) in row.iter().zip(&z).take(i + 1) {
                s += l * z;
            }
            *o = s;
        }
    }
}

/// The rows of a chunk of [`MultivariateGaussian::log_probability_rows`] for `n` rows of `d`
/// features: about `2^17` values, or `d x d` (the size of the factor, read once per chunk) when
/// that is more, and at most a quarter of the rows per thread of the current pool so that
/// they spread over it.
fn centred_rows(n: usize, d: usize) -> usize {
    let most = ((1 << 17).max(d * d) / d.max(1)).max(1);
    let spread = n
        .div_ceil(4 * rayon::current_num_threads())
        .max(MIN_CENTRED_ROWS);
    most.min(spread)
}

/// The fewest rows of a chunk of [`MultivariateGaussian::log_probability_rows`] when the rows are
/// spread over threads.
const MIN_CENTRED_ROWS: usize = 64;

/// The weighted means of the observed (not NaN) values of each column of rows taken in turn
/// (each row's values added in row order, so that rows taken by blocks give the same sums as
/// all at once), and whether any is NaN.
struct ObservedMeans {
    sums: Vec<f64>,
    totals: Vec<f64>,
    nan: bool,
}

impl ObservedMeans {
    fn new(d: usize) -> Self {
        ObservedMeans {
            sums: vec![0.0; d],
            totals: vec![0.0; d],
            nan: false,
        }
    }

    /// Adds the rows `x` of weights `weights`.
    fn add(&mut self, x: ArrayView2<f64>, weights: &[f64]) {
        let ObservedMeans { sums, totals, nan } = self;
        let mut add = |row: &[f64], w: f64| {
            // Adding 0 leaves a sum as it is (a sum from +0 is never -0): no branch, in vectors.
            for ((s, t), &v) in sums.iter_mut().zip(totals.iter_mut()).zip(row) {
                let seen = !v.is_nan();
                *nan |= !seen;
                *s += if seen { w * v } else { 0.0 };
                *t += if seen { w } else { 0.0 };
            }
        };
        let mut copy = vec![0.0; x.ncols()];
        for (row, &w) in x.rows().into_iter().zip(weights) {
            match row.as_slice() {
                Some(row) => add(row, w),
                None => {
                    for (c, v) in copy.iter_mut().zip(row) {
                        *c = *v;
                    }
                    add(&copy, w)
                }
            }
        }
    }

    /// The weighted mean of each column (0 for a column without any observed value), and
    /// whether a value was NaN.
    fn finish(self) -> (Array1<f64>, bool) {
        let means = self
            .sums
            .iter()
            .zip(&self.totals)
            .map(|(&s, &t)| if t > 0.0 { s / t } else { 0.0 })
            .collect();
        (means, self.nan)
    }
}

/// Statistics of less weight than this leave a distribution as it is.
const MIN_WEIGHT: f64 = 1e-7;

/// The weight of the statistics: that of the complete rows, plus the most any feature has from
/// the rows with missing values.
fn total_weight(stats: &MultivariateGaussianStats) -> f64 {
    let d = stats.shift.len();
    stats.weight
        + stats.missing.as_ref().map_or(0.0, |p| {
            (0..d).map(|j| p.weight[[j, j]]).fold(0.0, f64::max)
        })
}

/// The means and covariance of the statistics (`fallback[j]` the mean of a feature that has no
/// weight).
fn moments(
    stats: &MultivariateGaussianStats,
    fallback: ArrayView1<f64>,
) -> Result<(Array1<f64>, Array2<f64>)> {
    let d = stats.shift.len();
    let mut cov = square("data", "covariance", d)?;
    // The weight and the sums of feature `j` (over the rows where `k` is observed too), of `k`
    // (where `j` is), and of their products.
    let pair = |j: usize, k: usize| {
        let (mut w, mut a, mut b, mut c) = (
            stats.weight,
            stats.sum[j],
            stats.sum[k],
            stats.sum_products[[j, k]],
        );
        if let Some(p) = &stats.missing {
            w += p.weight[[j, k]];
            a += p.sum[[j, k]];
            b += p.sum[[k, j]];
            c += p.sum_products[[j, k]];
        }
        (w, a, b, c)
    };
    // The means, and the raw second moments `C/W` of the features.
    let (mut means, mut raw) = (Array1::<f64>::zeros(d), vec![0.0; d]);
    for j in 0..d {
        let (w, a, _, c) = pair(j, j);
        if w > 0.0 {
            raw[j] = c / w;
            means[j] = stats.shift[j] + a / w;
        } else {
            means[j] = fallback[j];
        }
    }
    // `C/W - mean products` cancels: an entry below ROUNDING_NOISE of the raw moments it came
    // from is rounding, not spread, so data without spread give an exact zero covariance
    // (and then the collapsed covariance), whatever order their sums were added in. Row by
    // row, in parallel on a pool's thread.
    let entries = |(j, row): (usize, &mut [f64])| {
        // `16 eps^2 |mean_j| |mean_k|`, the resolution, in this order.
        let resolution_j = 16.0 * f64::EPSILON * f64::EPSILON * means[j].abs();
        let zeroed = |e: f64, raw_k: f64, mean_k: f64| {
            let noise = ROUNDING_NOISE * geometric_mean(raw[j], raw_k);
            // Below the resolution of floats near the means, or too small to invert: no
            // spread either.
            let resolution = resolution_j * mean_k.abs();
            if e.abs() <= noise.max(resolution).max(1e-290) {
                0.0
            } else {
                e
            }
        };
        let means = means.as_slice().expect("a fresh array is contiguous");
        let c = stats.sum_products.row(j);
        match (&stats.missing, c.as_slice(), stats.sum.as_slice()) {
            // The same weight for every pair: a loop without branches.
            (None, Some(c), Some(b)) if stats.weight > 0.0 => {
                let (w, a) = (stats.weight, stats.sum[j]);
                for ((v, c), b) in row.iter_mut().zip(c).zip(b) {
                    *v = (c - a * b / w) / w;
                }
                for ((v, r), m) in row.iter_mut().zip(&raw).zip(means) {
                    *v = zeroed(*v, *r, *m);
                }
            }
            _ => {
                for (k, v) in row.iter_mut().enumerate() {
                    let (w, a, b, c) = pair(j, k);
                    let e = if w > 0.0 { (c - a * b / w) / w } else { 0.0 };
                    *v = zeroed(e, raw[k], means[k]);
                }
            }
        }
    };
    let rows = cov.as_slice_mut().expect("a fresh array is row-major");
    if d >= BLOCKED_FROM && rayon::current_thread_index().is_some() {
        rows.par_chunks_mut(d).enumerate().for_each(entries);
    } else {
        rows.chunks_mut(d.max(1)).enumerate().for_each(entries);
    }
    // Symmetrise the rounding of the two triangles.
    mirrored_pairs(&mut cov, |lower, upper| {
        let v = 0.5 * (lower + upper);
        (v, v)
    });
    Ok((means, cov))
}

/// The distribution of fitted parameters: an error when they are not finite, repaired (see
/// [`repaired`]) when the covariance is not positive definite.
fn fitted_distribution(
    means: Array1<f64>,
    cov: Array2<f64>,
    frozen: bool,
) -> Result<MultivariateGaussian> {
    if means.iter().chain(cov.iter()).any(|v| !v.is_finite()) {
        return Err(Error::data(
            "data",
            "the fitted multivariate Gaussian has non-finite parameters; check the data and weights for infinite or huge values",
        ));
    }
    repaired(means, cov, frozen)
}

/// `sqrt(|a b|)`, without overflow for second moments past about 1e154 (the direct form keeps
/// its rounding wherever the product is finite).
fn geometric_mean(a: f64, b: f64) -> f64 {
    let direct = (a * b).abs().sqrt();
    if direct.is_finite() {
        direct
    } else {
        a.abs().sqrt() * b.abs().sqrt()
    }
}

/// Builds the distribution from a fitted covariance, repairing it when it is not positive
/// definite, as pomegranate 0.14 does: an all-zero covariance (a single point, or identical
/// points) becomes `1e-5 * I`; otherwise the smallest eigenvalue is lifted to `1e-8`. If rounding
/// still defeats the Cholesky factorisation, the diagonal is lifted further until it succeeds.
fn repaired(
    means: Array1<f64>,
    mut cov: Array2<f64>,
    frozen: bool,
) -> Result<MultivariateGaussian> {
    let build =
        |means, covariance, f| MultivariateGaussian::with_factor(means, covariance, frozen, f);
    if let Some(f) = MultivariateGaussian::factors(&cov)? {
        return Ok(build(means, cov, f));
    }
    if cov.sum() == 0.0 {
        cov.diag_mut().fill(COLLAPSED_VARIANCE);
    } else {
        let min_eig = smallest_eigenvalue(cov.view())?;
        cov.diag_mut().mapv_inplace(|v| v - (min_eig - 1e-8));
    }
    let scale = cov
        .diag()
        .iter()
        .fold(0.0_f64, |m, v| m.max(v.abs()))
        .max(1e-300);
    let mut jitter = 1e-12 * scale;
    loop {
        if let Some(f) = MultivariateGaussian::factors(&cov)? {
            return Ok(build(means, cov, f));
        }
        cov.diag_mut().mapv_inplace(|v| v + jitter);
        jitter *= 10.0;
        if !jitter.is_finite() {
            cov.fill(0.0);
            cov.diag_mut().fill(COLLAPSED_VARIANCE);
            let f = MultivariateGaussian::factors(&cov)?.expect("diagonal is PD");
            return Ok(build(means, cov, f));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn gaussian() -> MultivariateGaussian {
        MultivariateGaussian::new(array![1.0, -1.0], array![[2.0, 0.5], [0.5, 1.0]]).unwrap()
    }

    #[test]
    fn log_density_matches_closed_form() {
        let g = gaussian();
        let x = array![[0.5, 0.2], [1.0, -1.0]];
        let mut out = [0.0; 2];
        g.log_probability_into(x.view(), &mut out).unwrap();
        let det: f64 = 2.0 - 0.25;
        let inv = array![[1.0, -0.5], [-0.5, 2.0]] / det;
        for (row, got) in x.rows().into_iter().zip(out) {
            let z = &row - &array![1.0, -1.0];
            let q = z.dot(&inv.dot(&z));
            let want = -(2.0 * std::f64::consts::PI).ln() - 0.5 * det.ln() - 0.5 * q;
            assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        }
    }

    #[test]
    fn missing_values_use_the_marginal() {
        let g = gaussian();
        let x = array![[f64::NAN, 0.2], [f64::NAN, f64::NAN]];
        let mut out = [0.0; 2];
        g.log_probability_into(x.view(), &mut out).unwrap();
        let marginal = super::super::Normal::new(-1.0, 1.0).unwrap();
        assert!((out[0] - marginal.log_density(0.2)).abs() < 1e-12);
        assert_eq!(out[1], 0.0);
    }

    #[test]
    fn mle_matches_weighted_moments_and_merges() {
        let g = gaussian();
        let x = array![[1.0, 2.0], [3.0, 1.0], [0.0, 0.0], [2.0, 5.0]];
        let w = [1.0, 2.0, 0.5, 1.5];
        let mut all = g.new_stats();
        g.accumulate(x.view(), &w, &mut all).unwrap();
        let mut a = MultivariateGaussianStats::new(array![10.0, -3.0]);
        g.accumulate(x.slice(ndarray::s![..1, ..]), &w[..1], &mut a)
            .unwrap();
        let mut b = g.new_stats();
        g.accumulate(x.slice(ndarray::s![1.., ..]), &w[1..], &mut b)
            .unwrap();
        a.merge(&b).unwrap();
        let mut f1 = g.clone();
        f1.from_summaries(&all, 0.0).unwrap();
        let mut f2 = g.clone();
        f2.from_summaries(&a, 0.0).unwrap();
        let wsum: f64 = w.iter().sum();
        let mean: Array1<f64> = (0..2)
            .map(|j| (0..4).map(|i| w[i] * x[[i, j]]).sum::<f64>() / wsum)
            .collect();
        for j in 0..2 {
            assert!((f1.means()[j] - mean[j]).abs() < 1e-12);
            for k in 0..2 {
                let c: f64 = (0..4)
                    .map(|i| w[i] * (x[[i, j]] - mean[j]) * (x[[i, k]] - mean[k]))
                    .sum::<f64>()
                    / wsum;
                assert!((f1.covariance()[[j, k]] - c).abs() < 1e-12);
                assert!((f2.covariance()[[j, k]] - c).abs() < 1e-12);
            }
        }
    }

    /// Rows of `d` features with values of several scales, from a fixed generator.
    fn mixed_rows(n: usize, d: usize, seed: u64) -> Array2<f64> {
        let mut draw = crate::rng::test_draws(seed | 1);
        Array2::from_shape_fn((n, d), |(_, j)| draw() * (1.0 + j as f64) + 3.0 * j as f64)
    }

    fn bits(a: impl IntoIterator<Item = f64>) -> Vec<u64> {
        a.into_iter().map(f64::to_bits).collect()
    }

    #[test]
    fn observed_means_skip_missing_values_in_any_layout() {
        let (n, d) = (37, 9);
        let w: Vec<f64> = (0..n).map(|i| 0.25 + (i % 5) as f64).collect();
        // In the order of the rows, missing values skipped; 0 for a column without any.
        let plain = |x: &Array2<f64>| -> Vec<f64> {
            (0..d)
                .map(|j| {
                    let (mut s, mut t) = (0.0, 0.0);
                    for i in 0..n {
                        if !x[[i, j]].is_nan() {
                            s += w[i] * x[[i, j]];
                            t += w[i];
                        }
                    }
                    if t > 0.0 {
                        s / t
                    } else {
                        0.0
                    }
                })
                .collect()
        };
        let mut x = mixed_rows(n, d, 11);
        x[[4, 1]] = -0.0;
        x[[6, 3]] = f64::INFINITY;
        for has_nan in [false, true] {
            if has_nan {
                x[[3, 2]] = f64::NAN;
                x[[8, 2]] = f64::NAN;
                for i in 0..n {
                    x[[i, 5]] = f64::NAN;
                }
            }
            let fortran = x.t().as_standard_layout().into_owned().reversed_axes();
            for rows in [x.view(), fortran.view()] {
                // All the rows at once, and in two blocks.
                for cut in [n, 10] {
                    let mut observed = ObservedMeans::new(d);
                    observed.add(rows.slice(s![..cut, ..]), &w[..cut]);
                    observed.add(rows.slice(s![cut.., ..]), &w[cut..]);
                    let (m, nan) = observed.finish();
                    assert_eq!(nan, has_nan);
                    assert_eq!(bits(m.iter().copied()), bits(plain(&x)));
                }
            }
        }
    }

    #[test]
    fn statistics_and_moments_are_the_same_bits_for_any_layout() {
        let (n, d) = (1100, 13);
        let x = mixed_rows(n, d, 5);
        let g = MultivariateGaussian::blank(d).unwrap();
        let fortran = x.t().as_standard_layout().into_owned().reversed_axes();
        let wide = {
            let mut wide = Array2::<f64>::zeros((n, 2 * d));
            wide.slice_mut(ndarray::s![.., ..;2]).assign(&x);
            wide
        };
        let strided = wide.slice(ndarray::s![.., ..;2]);
        for w in [vec![1.0; n], (0..n).map(|i| 0.5 + (i % 3) as f64).collect()] {
            let shift = Array1::from_shape_fn(d, |j| 3.0 * j as f64 + 0.1);
            let mut want = MultivariateGaussianStats::new(shift.clone());
            g.accumulate(x.view(), &w, &mut want).unwrap();
            let same = |stats: &MultivariateGaussianStats| {
                assert_eq!(stats.weight.to_bits(), want.weight.to_bits());
                assert_eq!(
                    bits(stats.sum.iter().copied()),
                    bits(want.sum.iter().copied())
                );
                assert_eq!(
                    bits(stats.sum_products.iter().copied()),
                    bits(want.sum_products.iter().copied())
                );
            };
            for rows in [fortran.view(), strided] {
                let mut stats = MultivariateGaussianStats::new(shift.clone());
                g.accumulate(rows, &w, &mut stats).unwrap();
                same(&stats);
            }
            // Statistics whose vectors are not contiguous take the general path: the same bits.
            let mut stats = MultivariateGaussianStats::new(shift.clone());
            let every_other = |v: &Array1<f64>| {
                let mut twice = Array1::<f64>::zeros(2 * d);
                twice.slice_mut(ndarray::s![..;2]).assign(v);
                twice.slice_move(ndarray::s![..;2])
            };
            stats.shift = every_other(&stats.shift);
            stats.sum = every_other(&stats.sum);
            assert!(stats.sum.as_slice().is_none());
            g.accumulate(x.view(), &w, &mut stats).unwrap();
            same(&stats);
            // Moments of products in column-major order, and of sums not contiguous.
            let (means, cov) = moments(&want, shift.view()).unwrap();
            let mut other = MultivariateGaussianStats::new(shift.clone());
            other.merge(&want).unwrap();
            other.sum_products = want
                .sum_products
                .t()
                .as_standard_layout()
                .into_owned()
                .reversed_axes();
            assert!(other.sum_products.row(0).as_slice().is_none());
            let (m, c) = moments(&other, shift.view()).unwrap();
            assert_eq!(bits(m.iter().copied()), bits(means.iter().copied()));
            assert_eq!(bits(c.iter().copied()), bits(cov.iter().copied()));
            other.sum = every_other(&want.sum);
            let (m, c) = moments(&other, shift.view()).unwrap();
            assert_eq!(bits(m.iter().copied()), bits(means.iter().copied()));
            assert_eq!(bits(c.iter().copied()), bits(cov.iter().copied()));
            // Symmetric, around the plain weighted covariance.
            let total: f64 = w.iter().sum();
            for j in 0..d {
                let mean_j = (0..n).map(|i| w[i] * x[[i, j]]).sum::<f64>() / total;
                assert!((means[j] - mean_j).abs() <= 1e-12 * mean_j.abs().max(1.0));
                for k in 0..d {
                    assert_eq!(cov[[j, k]].to_bits(), cov[[k, j]].to_bits());
                }
            }
        }
    }

    #[test]
    fn collapsed_component_gets_small_identity() {
        let mut g = gaussian();
        let x = array![[1.0, 2.0], [1.0, 2.0]];
        let mut s = g.new_stats();
        g.accumulate(x.view(), &[1.0, 1.0], &mut s).unwrap();
        g.from_summaries(&s, 0.0).unwrap();
        assert_eq!(g.covariance(), Array2::<f64>::eye(2) * 1e-5);
        let mut out = [0.0];
        g.log_probability_into(x.slice(ndarray::s![..1, ..]), &mut out)
            .unwrap();
        assert!(out[0].is_finite());
    }

    /// A well-conditioned covariance of `d` features that is not diagonal.
    fn wide_covariance(d: usize) -> Array2<f64> {
        let b = Array2::from_shape_fn((d, d), |(i, j)| ((i * 7 + j * 11) % 13) as f64 / 13.0);
        let mut a = b.dot(&b.t()) / d as f64;
        a.diag_mut().mapv_inplace(|v| v + 1.0);
        a
    }

    /// Values that `f32` holds exactly, so that the `f32` rows and their `f64` copy are the same
    /// numbers.
    fn f32_exact(x: &Array2<f64>) -> Array2<f64> {
        x.mapv(|v| f64::from(v as f32))
    }

    #[test]
    fn log_densities_by_chunks_are_those_of_each_row_alone_in_f64_and_f32() {
        // Enough rows for several chunks on a pool of two threads (and the factor of a wide
        // distribution, blocked), rows with missing values among them.
        for (n, d) in [(3000usize, 3usize), (700, 200)] {
            let g = MultivariateGaussian::new(
                Array1::from_shape_fn(d, |j| j as f64 * 0.5),
                wide_covariance(d),
            )
            .unwrap();
            let mut x = f32_exact(&mixed_rows(n, d, 7));
            x[[5, 1]] = f64::NAN;
            x[[n - 2, 0]] = f64::NAN;
            x[[n - 2, d - 1]] = f64::NAN;
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(2)
                .build()
                .unwrap();
            let all = pool.install(|| {
                let mut out = vec![0.0; n];
                g.log_probability_rows(x.view(), &mut out).unwrap();
                out
            });
            assert!(
                pool.install(|| centred_rows(n, d)) < n,
                "{n} rows in one chunk"
            );
            let x32 = x.mapv(|v| v as f32);
            let mut from32 = vec![0.0; n];
            pool.install(|| g.log_probability_rows(x32.view(), &mut from32))
                .unwrap();
            assert_eq!(bits(from32.iter().copied()), bits(all.iter().copied()));
            for i in (0..n).step_by(97).chain([5, n - 2]) {
                let mut one = [0.0];
                g.log_probability_rows(x.slice(s![i..i + 1, ..]), &mut one)
                    .unwrap();
                assert_eq!(one[0].to_bits(), all[i].to_bits(), "row {i} of {n} x {d}");
                assert!(all[i].is_finite());
            }
        }
    }

    #[test]
    fn statistics_and_fits_of_f32_rows_are_those_of_the_same_rows_in_f64() {
        use crate::distributions::{Component, ComponentStats, Family};
        // More rows than a block of converted rows, for a fit around the mean (wide) and a
        // fit of two passes (narrow), with weights and a missing value.
        for d in [3usize, crate::linalg::BLOCKED_FROM] {
            let n = crate::rows::conversion_rows(d) + 777;
            let mut x = f32_exact(&mixed_rows(n, d, 3));
            x[[n - 5, 1]] = f64::NAN;
            let x32 = x.mapv(|v| v as f32);
            let w: Vec<f64> = (0..n).map(|i| 0.5 + (i % 3) as f64).collect();
            let fam = Family::MultivariateGaussian;
            let (a, b) = (
                Component::fit_new(fam, x.view(), &w).unwrap(),
                Component::fit_new(fam, x32.view(), &w).unwrap(),
            );
            let params = |c: &Component| match c {
                Component::MultivariateGaussian(g) => {
                    bits(g.means.iter().chain(g.covariance.iter()).copied())
                }
                _ => unreachable!(),
            };
            assert_eq!(params(&a), params(&b), "d = {d}");
            let (mut s64, mut s32) = (a.try_new_stats().unwrap(), a.try_new_stats().unwrap());
            a.accumulate_rows(x.view(), &w, &mut s64).unwrap();
            a.accumulate_rows(x32.view(), &w, &mut s32).unwrap();
            let values = |s: &ComponentStats| match s {
                ComponentStats::MultivariateGaussian(s) => {
                    let m = s.missing.as_ref().expect("a row with a missing value");
                    bits(
                        s.sum
                            .iter()
                            .chain(s.sum_products.iter())
                            .chain(m.sum_products.iter())
                            .copied()
                            .chain([s.weight]),
                    )
                }
                _ => unreachable!(),
            };
            assert_eq!(values(&s64), values(&s32), "d = {d}");
        }
    }

    #[test]
    fn inverse_factor_is_computed_on_first_use() {
        let d = 40;
        let means = Array1::from_shape_fn(d, |j| j as f64 / 10.0);
        let g = MultivariateGaussian::new(means.clone(), wide_covariance(d)).unwrap();
        assert!(g.inv_chol.0.get().is_none());
        let Some(Gaussian::Full { inv_chol, .. }) = g.gaussian() else {
            panic!("a full Gaussian");
        };
        let inv = lower_triangular_inverse(g.chol.view()).unwrap();
        assert_eq!(inv_chol, inv);
        // Copies share it, whether they are taken before or after it is computed.
        let fresh = MultivariateGaussian::new(means.clone(), wide_covariance(d)).unwrap();
        let early = fresh.clone();
        assert!(fresh.inv_chol.0.get().is_none());
        early.gaussian().unwrap();
        assert_eq!(fresh.inv_chol.0.get(), Some(&Some(inv.clone())));
        assert!(Arc::ptr_eq(
            &g.try_clone().unwrap().inv_chol.0,
            &g.inv_chol.0
        ));
        // The log-densities (a triangular solve) are those of L^-1 to rounding.
        let x = Array2::from_shape_fn((9, d), |(i, j)| ((i * 5 + j * 3) % 7) as f64 - 3.0);
        let mut out = [0.0; 9];
        g.log_probability_into(x.view(), &mut out).unwrap();
        for (row, got) in x.rows().into_iter().zip(out) {
            let z = inv.dot(&(&row - &means));
            let want = g.log_norm - 0.5 * z.dot(&z);
            assert!((got - want).abs() < 1e-12 * want.abs(), "{got} vs {want}");
        }
    }

    #[test]
    fn inverse_factor_asked_by_many_tasks_at_once() {
        // Wide enough for the inverse to run on the pool, whose threads may then take other
        // tasks asking for it: each gets it, none waits for ever.
        use rayon::prelude::*;
        let d = 200;
        let g = MultivariateGaussian::new(Array1::zeros(d), wide_covariance(d)).unwrap();
        let want = lower_triangular_inverse(g.chol.view()).unwrap();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        let got: Vec<Array2<f64>> = pool.install(|| {
            (0..12)
                .into_par_iter()
                .map(|_| match g.gaussian() {
                    Some(Gaussian::Full { inv_chol, .. }) => inv_chol.to_owned(),
                    _ => panic!("a full Gaussian"),
                })
                .collect()
        });
        assert!(got.iter().all(|inv| *inv == want));
    }

    #[test]
    fn rejects_invalid_parameters() {
        assert!(
            MultivariateGaussian::new(array![0.0, 0.0], array![[1.0, 2.0], [2.0, 1.0]]).is_err()
        );
        assert!(MultivariateGaussian::new(array![0.0], array![[1.0, 0.0], [0.0, 1.0]]).is_err());
        assert!(
            MultivariateGaussian::new(array![0.0, 0.0], array![[1.0, 0.5], [0.0, 1.0]]).is_err()
        );
    }
}
