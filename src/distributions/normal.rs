//! The univariate normal distribution.

use ndarray::ArrayView2;
use rand_core::RngCore;

use super::{Distribution, Statistics};
use crate::error::{Error, Result};
use crate::kernels::{Gaussian, GaussianMoments};
use crate::rng::standard_normal;
use crate::validate::{finite, non_negative, positive};

/// The variance of weighted moments around a shift point: `raw - m^2`, with `raw` the mean
/// squared deviation from the shift point, `m` the mean deviation, around `center`.
///
/// Data without spread get [`COLLAPSED_VARIANCE`]. `raw - m^2` cancels, so a result below
/// [`ROUNDING_NOISE`] of `raw` is rounding, not spread (whatever order the sums were added in);
/// so is a variance below the resolution of floats near `center`, or one whose reciprocal would
/// overflow (a component that holds one point and a vanishing weight of others).
pub(crate) fn spread(raw: f64, m: f64, center: f64) -> f64 {
    let var = raw - m * m;
    let resolution = 4.0 * f64::EPSILON * center.abs();
    if var > ROUNDING_NOISE * raw && var > resolution * resolution && var > 1e-290 {
        var
    } else {
        COLLAPSED_VARIANCE
    }
}

/// `ln(sqrt(2 pi))`.
pub(crate) const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;

/// The variance a component gets when its data have none at all (all its points are equal, or it
/// owns a single point). The same value pomegranate 0.14 uses for a collapsed multivariate
/// Gaussian (`1e-5 * I`); it keeps the log-density finite instead of `+inf`.
pub const COLLAPSED_VARIANCE: f64 = 1e-5;

/// A (co)variance computed as a difference of moments is taken as rounding noise (no spread at
/// all) when it is below this fraction of the raw second moment it was computed from. Sums over
/// many rows, added in different orders, carry relative errors far above one ulp; 1e-12 leaves
/// room for them, and a real spread that small cannot be told from rounding anyway. (The moments
/// are taken around the component's current mean, so on the next iteration the raw moment is
/// the spread itself and a real tiny spread is resolved.)
pub(crate) const ROUNDING_NOISE: f64 = 1e-12;

/// `log_norm - (z / std)^2 / 2`: the log-density of a normal whose `1 / (2 std^2)` is not a
/// normal number: it overflows (`std` below about 1e-154), where `z * z * inf` would be NaN at
/// `z = 0`, or it is zero or subnormal (`std` above about 4.7e153), where `z * z` overflows for
/// `z` as large as `std` and `inf * 0` would be NaN.
#[cold]
pub(crate) fn tiny_std_log_density(log_norm: f64, z: f64, std: f64) -> f64 {
    let u = z / std;
    log_norm - u * u / 2.0
}

/// A normal distribution `N(mean, std^2)` over one feature.
///
/// A missing value (NaN) has log-probability 0 and adds nothing to the statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct Normal {
    mean: f64,
    std: f64,
    /// The smallest standard deviation a fit may produce.
    pub min_std: f64,
    /// When true, `from_summaries` leaves the parameters as they are.
    pub frozen: bool,
    log_norm: f64,
    half_inv_var: f64,
}

impl Normal {
    /// `N(mean, std^2)`; `std` must be positive and both finite.
    pub fn new(mean: f64, std: f64) -> Result<Self> {
        let mean = finite("mean", mean)?;
        let std = positive("std", std)?;
        Ok(Self::from_valid(mean, std, 0.0, false))
    }

    fn from_valid(mean: f64, std: f64, min_std: f64, frozen: bool) -> Self {
        Normal {
            mean,
            std,
            min_std,
            frozen,
            log_norm: -std.ln() - LN_SQRT_2PI,
            half_inv_var: 0.5 / (std * std),
        }
    }

    /// The standard normal `N(0, 1)`, pomegranate's `blank()`.
    pub fn blank() -> Self {
        Self::from_valid(0.0, 1.0, 0.0, false)
    }

    /// Sets the smallest standard deviation a fit may produce (non-negative).
    pub fn with_min_std(mut self, min_std: f64) -> Result<Self> {
        self.min_std = non_negative("min_std", min_std)?;
        Ok(self)
    }

    /// The mean.
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// The standard deviation.
    pub fn std(&self) -> f64 {
        self.std
    }

    /// The log-density at one value (0 for NaN, a missing value).
    #[inline]
    pub fn log_density(&self, x: f64) -> f64 {
        if x.is_nan() {
            return 0.0;
        }
        let z = x - self.mean;
        if self.half_inv_var.is_normal() {
            self.log_norm - z * z * self.half_inv_var
        } else {
            tiny_std_log_density(self.log_norm, z, self.std)
        }
    }
}

/// Sufficient statistics of a [`Normal`]: weighted moments around a shift point `c` (the mean of
/// the distribution that collected them), which keeps the variance accurate for data far from 0.
#[derive(Debug, Clone, PartialEq)]
pub struct NormalStats {
    /// The shift point `c`.
    pub shift: f64,
    /// `sum w`.
    pub weight: f64,
    /// `sum w (x - c)`.
    pub sum: f64,
    /// `sum w (x - c)^2`.
    pub sum_squares: f64,
}

impl NormalStats {
    /// Empty statistics around `shift`.
    pub fn new(shift: f64) -> Self {
        NormalStats {
            shift,
            weight: 0.0,
            sum: 0.0,
            sum_squares: 0.0,
        }
    }
}

impl Statistics for NormalStats {
    fn merge(&mut self, other: &Self) -> Result<()> {
        // Move `other` to this shift point: sum (x - c1) = sum (x - c2) + W (c2 - c1).
        let delta = other.shift - self.shift;
        let sum = other.sum + other.weight * delta;
        let sum_squares =
            other.sum_squares + 2.0 * delta * other.sum + other.weight * delta * delta;
        self.weight += other.weight;
        self.sum += sum;
        self.sum_squares += sum_squares;
        Ok(())
    }
}

impl Distribution for Normal {
    type Stats = NormalStats;

    fn dim(&self) -> usize {
        1
    }

    fn log_probability_into(&self, x: ArrayView2<f64>, out: &mut [f64]) -> Result<()> {
        for (o, &v) in out.iter_mut().zip(x.column(0).iter()) {
            *o = self.log_density(v);
        }
        Ok(())
    }

    fn new_stats(&self) -> NormalStats {
        NormalStats::new(self.mean)
    }

    fn accumulate(
        &self,
        x: ArrayView2<f64>,
        weights: &[f64],
        stats: &mut NormalStats,
    ) -> Result<()> {
        let c = stats.shift;
        let (mut w, mut s, mut ss) = (0.0, 0.0, 0.0);
        for (&v, &wi) in x.column(0).iter().zip(weights) {
            if v.is_nan() {
                continue;
            }
            let z = v - c;
            let wz = wi * z;
            w += wi;
            s += wz;
            ss += wz * z;
        }
        stats.weight += w;
        stats.sum += s;
        stats.sum_squares += ss;
        Ok(())
    }

    fn from_summaries(&mut self, stats: &NormalStats, inertia: f64) -> Result<()> {
        if self.frozen || stats.weight < 1e-8 {
            return Ok(());
        }
        let m = stats.sum / stats.weight;
        let mean = stats.shift + m;
        let var = spread(stats.sum_squares / stats.weight, m, mean);
        let std = var.sqrt().max(self.min_std);
        let mean = self.mean * inertia + mean * (1.0 - inertia);
        let std = self.std * inertia + std * (1.0 - inertia);
        if !mean.is_finite() || !(std > 0.0) || !std.is_finite() {
            return Err(Error::data(
                "data",
                "the fitted normal distribution has non-finite parameters; check the data and weights for infinite or huge values",
            ));
        }
        *self = Self::from_valid(mean, std, self.min_std, self.frozen);
        Ok(())
    }

    fn is_frozen(&self) -> bool {
        self.frozen
    }

    fn n_parameters(&self) -> Option<usize> {
        Some(if self.frozen { 0 } else { 2 })
    }

    fn sample_into(&self, rng: &mut dyn RngCore, out: &mut [f64]) {
        out[0] = self.mean + self.std * standard_normal(rng);
    }

    fn gaussian(&self) -> Option<Gaussian<'_>> {
        Some(Gaussian::Diagonal {
            means: vec![self.mean],
            half_inv_var: vec![self.half_inv_var],
            log_norm: self.log_norm,
        })
    }

    fn gaussian_stats(&self, m: &GaussianMoments<'_>) -> Option<NormalStats> {
        Some(NormalStats {
            shift: m.shift[0],
            weight: m.weight,
            sum: m.sum[0],
            sum_squares: m.products[0],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn log_density_matches_formula() {
        let d = Normal::new(1.0, 2.0).unwrap();
        let x = 2.5_f64;
        let want = -(2.0 * (2.0 * std::f64::consts::PI).sqrt()).ln() - (x - 1.0).powi(2) / 8.0;
        assert!((d.log_density(x) - want).abs() < 1e-14);
        assert_eq!(d.log_density(f64::NAN), 0.0);
    }

    #[test]
    fn a_tiny_standard_deviation_gives_finite_log_densities() {
        // 1 / (2 sigma^2) overflows: the log-density is computed from z / sigma instead.
        for std in [1e-155, 1e-160, 1e-300, f64::MIN_POSITIVE] {
            let d = Normal::new(0.0, std).unwrap();
            let at_mean = -std.ln() - LN_SQRT_2PI;
            assert!(d.half_inv_var.is_infinite());
            assert_eq!(d.log_density(0.0), at_mean, "{std}");
            assert_eq!(d.log_density(std), at_mean - 0.5, "{std}");
            assert_eq!(d.log_density(-2.0 * std), at_mean - 2.0, "{std}");
            assert_eq!(d.log_density(1.0), f64::NEG_INFINITY, "{std}");
        }
        assert!((Normal::new(0.0, 1e-155).unwrap().log_density(0.0) - 355.981_750_88).abs() < 1e-8);
        // Where 1 / (2 sigma^2) is finite, the formula is the usual one, bit for bit.
        let d = Normal::new(0.25, 1e-150).unwrap();
        for x in [0.25, 0.25 + 1e-150, 1.0] {
            let z = x - 0.25;
            assert_eq!(d.log_density(x), d.log_norm - z * z * d.half_inv_var);
        }
    }

    #[test]
    fn mle_and_merge() {
        let d = Normal::new(100.0, 1.0).unwrap();
        let x = array![[1.0], [2.0], [4.0], [f64::NAN]];
        let w = [1.0, 1.0, 2.0, 5.0];
        let mut all = d.new_stats();
        d.accumulate(x.view(), &w, &mut all).unwrap();
        let mut a = NormalStats::new(0.0);
        d.accumulate(x.slice(ndarray::s![..2, ..]), &w[..2], &mut a)
            .unwrap();
        let mut b = NormalStats::new(7.0);
        d.accumulate(x.slice(ndarray::s![2.., ..]), &w[2..], &mut b)
            .unwrap();
        a.merge(&b).unwrap();
        let mut f1 = d.clone();
        f1.from_summaries(&all, 0.0).unwrap();
        let mut f2 = d.clone();
        f2.from_summaries(&a, 0.0).unwrap();
        assert!((f1.mean() - 2.75).abs() < 1e-12);
        let var = (1.0 + 4.0 + 2.0 * 16.0) / 4.0 - 2.75 * 2.75;
        assert!((f1.std() - f64::sqrt(var)).abs() < 1e-12);
        assert!((f1.mean() - f2.mean()).abs() < 1e-12 && (f1.std() - f2.std()).abs() < 1e-12);
    }

    #[test]
    fn collapsed_data_stay_finite() {
        let mut d = Normal::blank();
        let x = array![[3.0], [3.0]];
        let mut s = d.new_stats();
        d.accumulate(x.view(), &[1.0, 1.0], &mut s).unwrap();
        d.from_summaries(&s, 0.0).unwrap();
        assert_eq!(d.mean(), 3.0);
        assert_eq!(d.std(), COLLAPSED_VARIANCE.sqrt());
        assert!(d.log_density(3.0).is_finite());
    }

    #[test]
    fn rejects_bad_parameters() {
        assert!(Normal::new(0.0, 0.0).is_err());
        assert!(Normal::new(0.0, -1.0).is_err());
        assert!(Normal::new(f64::NAN, 1.0).is_err());
    }
}
