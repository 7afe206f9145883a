//! The univariate families besides the normal: log-normal, exponential, gamma, Poisson, uniform
//! and Bernoulli. Each gives `-inf` outside its support (never NaN) and 0 for a missing value.

use ndarray::ArrayView2;
use rand_core::RngCore;

use super::normal::{spread, tiny_std_log_density, NormalStats, COLLAPSED_VARIANCE, LN_SQRT_2PI};
use super::{Distribution, Statistics};
use crate::error::{Error, Result};
use crate::rng::{standard_normal, uniform01};
use crate::special::{digamma, ln_gamma, trigamma};
use crate::validate::{finite, non_negative, positive, unit};

/// Writes `f(x)` for every value of the single column of `x`, and 0 for a missing value.
fn per_value(x: ArrayView2<f64>, out: &mut [f64], f: impl Fn(f64) -> f64) {
    for (o, &v) in out.iter_mut().zip(x.column(0).iter()) {
        *o = if v.is_nan() { 0.0 } else { f(v) };
    }
}

fn fitted(name: &str, v: f64) -> Result<f64> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(Error::data(
            "data",
            format!("the fitted {name} is not finite; check the data and weights for huge values"),
        ))
    }
}

/// `sum w`, `sum w x` over the observed values: the statistics of the exponential, Poisson and
/// Bernoulli families.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MeanStats {
    /// `sum w`.
    pub weight: f64,
    /// `sum w x`.
    pub sum: f64,
}

impl Statistics for MeanStats {
    fn merge(&mut self, other: &Self) -> Result<()> {
        self.weight += other.weight;
        self.sum += other.sum;
        Ok(())
    }
}

fn accumulate_mean(
    x: ArrayView2<f64>,
    weights: &[f64],
    stats: &mut MeanStats,
    in_support: impl Fn(f64) -> bool,
) {
    for (&v, &w) in x.column(0).iter().zip(weights) {
        if !v.is_nan() && in_support(v) {
            stats.weight += w;
            stats.sum += w * v;
        }
    }
}

// ---------------------------------------------------------------------------------------------

/// A log-normal distribution: `log x ~ N(mu, sigma^2)`, for `x > 0`.
#[derive(Debug, Clone, PartialEq)]
pub struct LogNormal {
    mu: f64,
    sigma: f64,
    /// The smallest `sigma` a fit may produce.
    pub min_std: f64,
    /// When true, `from_summaries` leaves the parameters as they are.
    pub frozen: bool,
}

impl LogNormal {
    /// `exp(N(mu, sigma^2))`; `sigma` must be positive.
    pub fn new(mu: f64, sigma: f64) -> Result<Self> {
        Ok(LogNormal {
            mu: finite("mu", mu)?,
            sigma: positive("sigma", sigma)?,
            min_std: 0.0,
            frozen: false,
        })
    }

    /// The mean of `log x`.
    pub fn mu(&self) -> f64 {
        self.mu
    }

    /// The standard deviation of `log x`.
    pub fn sigma(&self) -> f64 {
        self.sigma
    }
}

impl Distribution for LogNormal {
    type Stats = NormalStats;

    fn dim(&self) -> usize {
        1
    }

    fn log_probability_into(&self, x: ArrayView2<f64>, out: &mut [f64]) -> Result<()> {
        let norm = -self.sigma.ln() - LN_SQRT_2PI;
        let h = 0.5 / (self.sigma * self.sigma);
        per_value(x, out, |v| {
            if v > 0.0 {
                let l = v.ln();
                let z = l - self.mu;
                if h.is_normal() {
                    norm - l - z * z * h
                } else {
                    tiny_std_log_density(norm, z, self.sigma) - l
                }
            } else {
                f64::NEG_INFINITY
            }
        });
        Ok(())
    }

    fn new_stats(&self) -> NormalStats {
        NormalStats::new(self.mu)
    }

    fn accumulate(
        &self,
        x: ArrayView2<f64>,
        weights: &[f64],
        stats: &mut NormalStats,
    ) -> Result<()> {
        let c = stats.shift;
        for (&v, &w) in x.column(0).iter().zip(weights) {
            if v > 0.0 {
                let z = v.ln() - c;
                stats.weight += w;
                stats.sum += w * z;
                stats.sum_squares += w * z * z;
            }
        }
        Ok(())
    }

    fn from_summaries(&mut self, stats: &NormalStats, inertia: f64) -> Result<()> {
        if self.frozen || stats.weight < 1e-8 {
            return Ok(());
        }
        let m = stats.sum / stats.weight;
        let var = spread(stats.sum_squares / stats.weight, m, stats.shift + m);
        let sigma = var.sqrt().max(self.min_std);
        self.mu = fitted(
            "mu",
            self.mu * inertia + (stats.shift + m) * (1.0 - inertia),
        )?;
        self.sigma = fitted("sigma", self.sigma * inertia + sigma * (1.0 - inertia))?;
        Ok(())
    }

    fn is_frozen(&self) -> bool {
        self.frozen
    }

    fn n_parameters(&self) -> Option<usize> {
        Some(if self.frozen { 0 } else { 2 })
    }

    fn sample_into(&self, rng: &mut dyn RngCore, out: &mut [f64]) {
        out[0] = (self.mu + self.sigma * standard_normal(rng)).exp();
    }
}

// ---------------------------------------------------------------------------------------------

/// An exponential distribution with a rate, for `x >= 0`.
#[derive(Debug, Clone, PartialEq)]
pub struct Exponential {
    rate: f64,
    /// When true, `from_summaries` leaves the parameters as they are.
    pub frozen: bool,
}

impl Exponential {
    /// `Exp(rate)`; `rate` must be positive.
    pub fn new(rate: f64) -> Result<Self> {
        Ok(Exponential {
            rate: positive("rate", rate)?,
            frozen: false,
        })
    }

    /// The rate (1 / mean).
    pub fn rate(&self) -> f64 {
        self.rate
    }
}

impl Distribution for Exponential {
    type Stats = MeanStats;

    fn dim(&self) -> usize {
        1
    }

    fn log_probability_into(&self, x: ArrayView2<f64>, out: &mut [f64]) -> Result<()> {
        let lr = self.rate.ln();
        per_value(x, out, |v| {
            if v >= 0.0 {
                lr - self.rate * v
            } else {
                f64::NEG_INFINITY
            }
        });
        Ok(())
    }

    fn new_stats(&self) -> MeanStats {
        MeanStats::default()
    }

    fn accumulate(&self, x: ArrayView2<f64>, weights: &[f64], stats: &mut MeanStats) -> Result<()> {
        accumulate_mean(x, weights, stats, |v| v >= 0.0);
        Ok(())
    }

    fn from_summaries(&mut self, stats: &MeanStats, inertia: f64) -> Result<()> {
        if self.frozen || stats.weight < 1e-8 {
            return Ok(());
        }
        let mean = stats.sum / stats.weight;
        // All the mass at 0: the rate whose standard deviation is the collapsed one.
        // All the mass at 0 (or so close that 1 / mean overflows): the rate whose standard
        // deviation is the collapsed one.
        let rate = if mean > 0.0 && (1.0 / mean).is_finite() {
            1.0 / mean
        } else {
            1.0 / COLLAPSED_VARIANCE.sqrt()
        };
        self.rate = fitted("rate", self.rate * inertia + rate * (1.0 - inertia))?;
        Ok(())
    }

    fn is_frozen(&self) -> bool {
        self.frozen
    }

    fn n_parameters(&self) -> Option<usize> {
        Some(if self.frozen { 0 } else { 1 })
    }

    fn sample_into(&self, rng: &mut dyn RngCore, out: &mut [f64]) {
        out[0] = -uniform01(rng).ln() / self.rate;
    }
}

// ---------------------------------------------------------------------------------------------

/// A gamma distribution with shape `alpha` and rate `beta`, for `x > 0`.
#[derive(Debug, Clone, PartialEq)]
pub struct Gamma {
    alpha: f64,
    beta: f64,
    /// When true, `from_summaries` leaves the parameters as they are.
    pub frozen: bool,
}

/// The statistics of the gamma family, relative to a scale `c` (the mean of the distribution
/// that collected them): `sum w`, `sum w x / c`, `sum w log(x / c)`. For data near `c` both sums
/// are near `W` and 0, so `log(mean) - mean(log x)`, a small difference of large numbers when
/// computed directly, keeps its precision.
#[derive(Debug, Clone, PartialEq)]
pub struct GammaStats {
    /// The scale `c`.
    pub scale: f64,
    /// `sum w`.
    pub weight: f64,
    /// `sum w x / c`.
    pub sum: f64,
    /// `sum w log(x / c)`.
    pub sum_log: f64,
}

impl Statistics for GammaStats {
    fn merge(&mut self, other: &Self) -> Result<()> {
        // To this scale: x / c1 = (c2 / c1) (x / c2), log(x / c1) = log(x / c2) + log(c2 / c1).
        let ratio = other.scale / self.scale;
        self.weight += other.weight;
        self.sum += other.sum * ratio;
        self.sum_log += other.sum_log + other.weight * ratio.ln();
        Ok(())
    }
}

impl Gamma {
    /// `Gamma(alpha, beta)` (shape and rate, both positive).
    pub fn new(alpha: f64, beta: f64) -> Result<Self> {
        Ok(Gamma {
            alpha: positive("alpha", alpha)?,
            beta: positive("beta", beta)?,
            frozen: false,
        })
    }

    /// The shape.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    /// The rate.
    pub fn beta(&self) -> f64 {
        self.beta
    }

    /// The maximum-likelihood shape for `s = log(mean) - mean(log x) > 0`, by Newton's method
    /// on `log(a) - digamma(a) = s` from Minka's closed-form start.
    fn shape_mle(s: f64) -> f64 {
        let mut a = (3.0 - s + ((s - 3.0).powi(2) + 24.0 * s).sqrt()) / (12.0 * s);
        for _ in 0..100 {
            let f = a.ln() - digamma(a) - s;
            let df = 1.0 / a - trigamma(a);
            let next = a - f / df;
            let next = if next > 0.0 { next } else { a / 2.0 };
            if (next - a).abs() <= 1e-14 * a {
                return next;
            }
            a = next;
        }
        a
    }
}

impl Distribution for Gamma {
    type Stats = GammaStats;

    fn dim(&self) -> usize {
        1
    }

    fn log_probability_into(&self, x: ArrayView2<f64>, out: &mut [f64]) -> Result<()> {
        let norm = self.alpha * self.beta.ln() - ln_gamma(self.alpha);
        per_value(x, out, |v| {
            if v > 0.0 {
                norm + (self.alpha - 1.0) * v.ln() - self.beta * v
            } else {
                f64::NEG_INFINITY
            }
        });
        Ok(())
    }

    fn new_stats(&self) -> GammaStats {
        GammaStats {
            scale: self.alpha / self.beta,
            weight: 0.0,
            sum: 0.0,
            sum_log: 0.0,
        }
    }

    fn accumulate(
        &self,
        x: ArrayView2<f64>,
        weights: &[f64],
        stats: &mut GammaStats,
    ) -> Result<()> {
        let inv = 1.0 / stats.scale;
        for (&v, &w) in x.column(0).iter().zip(weights) {
            if v > 0.0 {
                let r = v * inv;
                stats.weight += w;
                stats.sum += w * r;
                stats.sum_log += w * r.ln();
            }
        }
        Ok(())
    }

    fn from_summaries(&mut self, stats: &GammaStats, inertia: f64) -> Result<()> {
        if self.frozen || stats.weight < 1e-8 {
            return Ok(());
        }
        let relative_mean = stats.sum / stats.weight;
        let mean = relative_mean * stats.scale;
        let s = relative_mean.ln() - stats.sum_log / stats.weight;
        // Equal values give s = 0 (up to rounding) and an infinite shape: use the shape whose
        // variance (alpha / beta^2 = mean^2 / alpha) is the collapsed variance.
        let collapsed = mean * mean / COLLAPSED_VARIANCE;
        let alpha = if s > 1e-12 {
            Self::shape_mle(s)
        } else {
            collapsed
        };
        let beta = alpha / mean;
        self.alpha = fitted("alpha", self.alpha * inertia + alpha * (1.0 - inertia))?;
        self.beta = fitted("beta", self.beta * inertia + beta * (1.0 - inertia))?;
        Ok(())
    }

    fn is_frozen(&self) -> bool {
        self.frozen
    }

    fn n_parameters(&self) -> Option<usize> {
        Some(if self.frozen { 0 } else { 2 })
    }

    fn sample_into(&self, rng: &mut dyn RngCore, out: &mut [f64]) {
        out[0] = sample_gamma(self.alpha, rng) / self.beta;
    }
}

/// A draw from `Gamma(alpha, 1)` (Marsaglia and Tsang, 2000; `alpha < 1` through
/// `Gamma(alpha + 1) * U^(1 / alpha)`).
fn sample_gamma(alpha: f64, rng: &mut dyn RngCore) -> f64 {
    if alpha < 1.0 {
        let u = uniform01(rng);
        return sample_gamma(alpha + 1.0, rng) * u.powf(1.0 / alpha);
    }
    let d = alpha - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let z = standard_normal(rng);
        let v = (1.0 + c * z).powi(3);
        if v <= 0.0 {
            continue;
        }
        let u = uniform01(rng);
        if u.ln() < 0.5 * z * z + d - d * v + d * v.ln() {
            return d * v;
        }
    }
}

// ---------------------------------------------------------------------------------------------

/// A Poisson distribution with mean `lambda`, over the non-negative integers.
#[derive(Debug, Clone, PartialEq)]
pub struct Poisson {
    lambda: f64,
    /// When true, `from_summaries` leaves the parameters as they are.
    pub frozen: bool,
}

/// The Poisson family's support as pomegranate 0.14 evaluates it: every `x >= 0`, with the
/// continuous extension `x log(lambda) - lambda - lgamma(x + 1)` between the counts (mixtures of
/// Poisson distributions over real-valued columns, and the models saved from them, rely on it).
fn in_poisson_support(v: f64) -> bool {
    v >= 0.0
}

impl Poisson {
    /// `Poisson(lambda)`; `lambda` must be non-negative.
    pub fn new(lambda: f64) -> Result<Self> {
        non_negative("lambda", lambda)?;
        Ok(Poisson {
            lambda,
            frozen: false,
        })
    }

    /// The mean.
    pub fn lambda(&self) -> f64 {
        self.lambda
    }
}

impl Distribution for Poisson {
    type Stats = MeanStats;

    fn dim(&self) -> usize {
        1
    }

    fn log_probability_into(&self, x: ArrayView2<f64>, out: &mut [f64]) -> Result<()> {
        let ll = self.lambda.ln();
        per_value(x, out, |v| {
            if !in_poisson_support(v) {
                f64::NEG_INFINITY
            } else if self.lambda == 0.0 {
                if v == 0.0 {
                    0.0
                } else {
                    f64::NEG_INFINITY
                }
            } else if v > 1e15 {
                // Huge counts: v log(lambda) and log(v!) both overflow, so use Stirling's
                // series for log(v!) and subtract inside the product (exact to rounding here).
                v * (ll - v.ln() + 1.0)
                    - self.lambda
                    - 0.5 * (2.0 * std::f64::consts::PI * v).ln()
                    - 1.0 / (12.0 * v)
            } else {
                v * ll - self.lambda - ln_gamma(v + 1.0)
            }
        });
        Ok(())
    }

    fn new_stats(&self) -> MeanStats {
        MeanStats::default()
    }

    fn accumulate(&self, x: ArrayView2<f64>, weights: &[f64], stats: &mut MeanStats) -> Result<()> {
        accumulate_mean(x, weights, stats, in_poisson_support);
        Ok(())
    }

    fn from_summaries(&mut self, stats: &MeanStats, inertia: f64) -> Result<()> {
        if self.frozen || stats.weight < 1e-8 {
            return Ok(());
        }
        let mean = stats.sum / stats.weight;
        self.lambda = fitted("lambda", self.lambda * inertia + mean * (1.0 - inertia))?;
        Ok(())
    }

    fn is_frozen(&self) -> bool {
        self.frozen
    }

    fn n_parameters(&self) -> Option<usize> {
        Some(if self.frozen { 0 } else { 1 })
    }

    fn sample_into(&self, rng: &mut dyn RngCore, out: &mut [f64]) {
        out[0] = sample_poisson(self.lambda, rng);
    }
}

/// A Poisson draw: multiplication of uniforms for small means, Hoermann's transformed
/// rejection (PTRS, 1993) for large ones.
fn sample_poisson(lambda: f64, rng: &mut dyn RngCore) -> f64 {
    if lambda == 0.0 {
        return 0.0;
    }
    if lambda < 10.0 {
        let limit = (-lambda).exp();
        let mut k = 0.0;
        let mut p = uniform01(rng);
        while p > limit {
            k += 1.0;
            p *= uniform01(rng);
        }
        return k;
    }
    let slam = lambda.sqrt();
    let loglam = lambda.ln();
    let b = 0.931 + 2.53 * slam;
    let a = -0.059 + 0.02483 * b;
    let inv_alpha = 1.1239 + 1.1328 / (b - 3.4);
    let vr = 0.9277 - 3.6224 / (b - 2.0);
    loop {
        let u = uniform01(rng) - 0.5;
        let v = uniform01(rng);
        let us = 0.5 - u.abs();
        let k = ((2.0 * a / us + b) * u + lambda + 0.43).floor();
        if us >= 0.07 && v <= vr {
            return k;
        }
        if k < 0.0 || (us < 0.013 && v > us) {
            continue;
        }
        if v.ln() + inv_alpha.ln() - (a / (us * us) + b).ln()
            <= -lambda + k * loglam - ln_gamma(k + 1.0)
        {
            return k;
        }
    }
}

// ---------------------------------------------------------------------------------------------

/// A uniform distribution on `[start, end]` (both ends included).
#[derive(Debug, Clone, PartialEq)]
pub struct Uniform {
    start: f64,
    end: f64,
    /// When true, `from_summaries` leaves the parameters as they are.
    pub frozen: bool,
}

/// The weight and the range of the observed values with positive weight.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeStats {
    /// `sum w`.
    pub weight: f64,
    /// The smallest value with positive weight (`+inf` when none).
    pub min: f64,
    /// The largest value with positive weight (`-inf` when none).
    pub max: f64,
}

impl Statistics for RangeStats {
    fn merge(&mut self, other: &Self) -> Result<()> {
        self.weight += other.weight;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        Ok(())
    }
}

impl Uniform {
    /// `U(start, end)`, both finite, `end - start` too. As in pomegranate, `end <= start` is
    /// accepted: an empty interval (density 0 everywhere) until a fit moves it.
    pub fn new(start: f64, end: f64) -> Result<Self> {
        let start = finite("start", start)?;
        let end = finite("end", end)?;
        if !(end - start).is_finite() {
            return Err(Error::param(
                "end",
                format!("must be within the largest finite distance of start ({start}), got {end}"),
            ));
        }
        Ok(Uniform {
            start,
            end,
            frozen: false,
        })
    }

    /// The lower end.
    pub fn start(&self) -> f64 {
        self.start
    }

    /// The upper end.
    pub fn end(&self) -> f64 {
        self.end
    }
}

impl Distribution for Uniform {
    type Stats = RangeStats;

    fn dim(&self) -> usize {
        1
    }

    fn log_probability_into(&self, x: ArrayView2<f64>, out: &mut [f64]) -> Result<()> {
        let l = -(self.end - self.start).ln();
        // An empty or zero-width interval has density 0 everywhere (pomegranate gave +inf at a
        // zero-width interval's point, which makes a mixture's log-likelihood NaN).
        let empty = !(self.end > self.start);
        per_value(x, out, |v| {
            if !empty && v >= self.start && v <= self.end {
                l
            } else {
                f64::NEG_INFINITY
            }
        });
        Ok(())
    }

    fn new_stats(&self) -> RangeStats {
        RangeStats {
            weight: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }

    fn accumulate(
        &self,
        x: ArrayView2<f64>,
        weights: &[f64],
        stats: &mut RangeStats,
    ) -> Result<()> {
        for (&v, &w) in x.column(0).iter().zip(weights) {
            if !v.is_nan() && w > 0.0 {
                stats.weight += w;
                stats.min = stats.min.min(v);
                stats.max = stats.max.max(v);
            }
        }
        Ok(())
    }

    fn from_summaries(&mut self, stats: &RangeStats, inertia: f64) -> Result<()> {
        if self.frozen || stats.weight < 1e-8 || stats.min > stats.max {
            return Ok(());
        }
        let (mut lo, mut hi) = (stats.min, stats.max);
        if !(hi > lo) {
            // A single value: the interval around it whose variance is the collapsed one.
            let half = (3.0 * COLLAPSED_VARIANCE).sqrt();
            lo -= half;
            hi += half;
        }
        let start = fitted("start", self.start * inertia + lo * (1.0 - inertia))?;
        let end = fitted("end", self.end * inertia + hi * (1.0 - inertia))?;
        if end > start {
            self.start = start;
            self.end = end;
        }
        Ok(())
    }

    fn is_frozen(&self) -> bool {
        self.frozen
    }

    fn n_parameters(&self) -> Option<usize> {
        Some(if self.frozen { 0 } else { 2 })
    }

    fn sample_into(&self, rng: &mut dyn RngCore, out: &mut [f64]) {
        out[0] = self.start + uniform01(rng) * (self.end - self.start);
    }
}

// ---------------------------------------------------------------------------------------------

/// A Bernoulli distribution over `{0, 1}` with `P(1) = p`.
#[derive(Debug, Clone, PartialEq)]
pub struct Bernoulli {
    p: f64,
    /// When true, `from_summaries` leaves the parameters as they are.
    pub frozen: bool,
}

impl Bernoulli {
    /// `Bernoulli(p)`, `p` in [0, 1].
    pub fn new(p: f64) -> Result<Self> {
        Ok(Bernoulli {
            p: unit("p", p)?,
            frozen: false,
        })
    }

    /// `P(1)`.
    pub fn p(&self) -> f64 {
        self.p
    }
}

impl Distribution for Bernoulli {
    type Stats = MeanStats;

    fn dim(&self) -> usize {
        1
    }

    fn log_probability_into(&self, x: ArrayView2<f64>, out: &mut [f64]) -> Result<()> {
        let (l1, l0) = (self.p.ln(), (1.0 - self.p).ln());
        per_value(x, out, |v| {
            if v == 1.0 {
                l1
            } else if v == 0.0 {
                l0
            } else {
                f64::NEG_INFINITY
            }
        });
        Ok(())
    }

    fn new_stats(&self) -> MeanStats {
        MeanStats::default()
    }

    fn accumulate(&self, x: ArrayView2<f64>, weights: &[f64], stats: &mut MeanStats) -> Result<()> {
        accumulate_mean(x, weights, stats, |v| v == 0.0 || v == 1.0);
        Ok(())
    }

    fn from_summaries(&mut self, stats: &MeanStats, inertia: f64) -> Result<()> {
        if self.frozen || stats.weight < 1e-8 {
            return Ok(());
        }
        let p = (stats.sum / stats.weight).clamp(0.0, 1.0);
        self.p = (self.p * inertia + p * (1.0 - inertia)).clamp(0.0, 1.0);
        Ok(())
    }

    fn is_frozen(&self) -> bool {
        self.frozen
    }

    fn n_parameters(&self) -> Option<usize> {
        Some(if self.frozen { 0 } else { 1 })
    }

    fn sample_into(&self, rng: &mut dyn RngCore, out: &mut [f64]) {
        out[0] = if uniform01(rng) < self.p { 1.0 } else { 0.0 };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    fn col(v: &[f64]) -> Array2<f64> {
        Array2::from_shape_vec((v.len(), 1), v.to_vec()).unwrap()
    }

    #[test]
    fn a_tiny_log_normal_sigma_gives_finite_log_densities() {
        let sigma = 1e-160;
        let d = LogNormal::new(0.0, sigma).unwrap();
        let at_mode = -sigma.ln() - LN_SQRT_2PI;
        let got = logp(&d, &[1.0, 1.0 + 1e-15, 2.0, -1.0]);
        assert_eq!(got[0], at_mode);
        assert_eq!(got[2], f64::NEG_INFINITY);
        assert_eq!(got[3], f64::NEG_INFINITY);
        assert!(got[1] < at_mode && !got[1].is_nan());
        // Where 1 / (2 sigma^2) is finite, the usual formula, bit for bit.
        let (mu, sigma) = (0.1, 1e-150);
        let d = LogNormal::new(mu, sigma).unwrap();
        let (norm, h) = (-sigma.ln() - LN_SQRT_2PI, 0.5 / (sigma * sigma));
        let x = [mu.exp(), mu.exp() * (1.0 + 1e-16), 3.0];
        for (v, got) in x.iter().zip(logp(&d, &x)) {
            let (l, z) = (v.ln(), v.ln() - mu);
            assert_eq!(got.to_bits(), (norm - l - z * z * h).to_bits(), "{v}");
        }
    }

    fn logp<D: Distribution>(d: &D, v: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; v.len()];
        d.log_probability_into(col(v).view(), &mut out).unwrap();
        out
    }

    fn fit<D: Distribution>(d: &mut D, v: &[f64]) {
        let mut st = d.new_stats();
        d.accumulate(col(v).view(), &vec![1.0; v.len()], &mut st)
            .unwrap();
        d.from_summaries(&st, 0.0).unwrap();
    }

    #[test]
    fn support_gives_minus_infinity_never_nan() {
        let cases: Vec<Vec<f64>> = vec![
            logp(&LogNormal::new(0.0, 1.0).unwrap(), &[0.0, -1.0, f64::NAN]),
            logp(&Exponential::new(2.0).unwrap(), &[-0.5, f64::NAN]),
            logp(&Gamma::new(2.0, 1.0).unwrap(), &[0.0, -1.0, f64::NAN]),
            logp(&Poisson::new(3.0).unwrap(), &[-1.0, -0.5, f64::NAN]),
            logp(&Uniform::new(0.0, 1.0).unwrap(), &[-0.1, 1.1, f64::NAN]),
            logp(&Bernoulli::new(0.3).unwrap(), &[0.5, 2.0, f64::NAN]),
        ];
        for c in cases {
            let (nan, rest) = c.split_last().unwrap();
            assert_eq!(*nan, 0.0);
            assert!(rest.iter().all(|v| *v == f64::NEG_INFINITY), "{c:?}");
        }
        assert_eq!(
            logp(&Poisson::new(0.0).unwrap(), &[0.0, 1.0]),
            vec![0.0, f64::NEG_INFINITY]
        );
    }

    #[test]
    fn poisson_between_counts_is_pomegranates_continuous_extension() {
        // pomegranate 0.14.8: PoissonDistribution(2.5).log_probability([0, 1.5, 2, 3.7]).
        let v = logp(&Poisson::new(2.5).unwrap(), &[0.0, 1.5, 2.0, 3.7]);
        let expected = [-2.5, -1.41024677, -1.36056572, -1.84612944];
        for (a, b) in v.iter().zip(expected) {
            assert!((a - b).abs() < 1e-8, "{v:?}");
        }
        // Real values take part in the fit; negative ones stay outside the support.
        let mut p = Poisson::new(1.0).unwrap();
        fit(&mut p, &[0.5, 1.5, 2.2, -1.0]);
        assert!((p.lambda() - 4.2 / 3.0).abs() < 1e-15);
    }

    #[test]
    fn poisson_at_huge_counts_is_never_nan() {
        let p = Poisson::new(7.0).unwrap();
        let v = logp(&p, &[1e15, 1e15 + 2.0, 1e200, 1e308, f64::MAX]);
        assert!(v.iter().all(|x| !x.is_nan() && *x < -1e15), "{v:?}");
        // Past the switch the Stirling form agrees with the direct one to rounding.
        let x: f64 = 1e15 + 2.0;
        let direct = x * 7f64.ln() - 7.0 - ln_gamma(x + 1.0);
        assert!(
            (v[1] - direct).abs() < 1e-14 * direct.abs(),
            "{direct} {v:?}"
        );
    }

    #[test]
    fn gamma_fits_small_scale_data() {
        // Data of variance ~1e-8 keep their variance (no floor above the data's own spread).
        let x: Vec<f64> = (0..200).map(|i| 1e-3 + 1e-4 * (i as f64 / 200.0)).collect();
        let mut g = Gamma::new(1.0, 1.0).unwrap();
        fit(&mut g, &x);
        let mean = x.iter().sum::<f64>() / x.len() as f64;
        let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / x.len() as f64;
        let (a, b) = (g.alpha, g.beta);
        assert!((a / b / mean - 1.0).abs() < 1e-9);
        assert!(
            (a / (b * b) / var - 1.0).abs() < 0.05,
            "{} vs {var}",
            a / (b * b)
        );
    }

    #[test]
    fn closed_forms() {
        let ln = LogNormal::new(0.5, 2.0).unwrap();
        let x: f64 = 1.7;
        let want = -(x * 2.0 * (2.0 * std::f64::consts::PI).sqrt()).ln()
            - 0.5 * ((x.ln() - 0.5) / 2.0).powi(2);
        assert!((logp(&ln, &[x])[0] - want).abs() < 1e-13);
        let p = Poisson::new(3.5).unwrap();
        let want = 4.0 * 3.5f64.ln() - 3.5 - 24f64.ln();
        assert!((logp(&p, &[4.0])[0] - want).abs() < 1e-12);
        let g = Gamma::new(2.5, 1.5).unwrap();
        let want = 2.5 * 1.5f64.ln() - ln_gamma(2.5) + 1.5 * x.ln() - 1.5 * x;
        assert!((logp(&g, &[x])[0] - want).abs() < 1e-13);
    }

    #[test]
    fn mles() {
        let data = [0.5, 1.5, 2.0, 4.0];
        let mean = 2.0;
        let mut e = Exponential::new(1.0).unwrap();
        fit(&mut e, &data);
        assert!((e.rate() - 1.0 / mean).abs() < 1e-14);
        let mut p = Poisson::new(1.0).unwrap();
        fit(&mut p, &[0.0, 1.0, 5.0]);
        assert!((p.lambda() - 2.0).abs() < 1e-14);
        let mut u = Uniform::new(0.0, 1.0).unwrap();
        fit(&mut u, &data);
        assert_eq!((u.start(), u.end()), (0.5, 4.0));
        let mut b = Bernoulli::new(0.5).unwrap();
        fit(&mut b, &[1.0, 0.0, 1.0, 1.0]);
        assert!((b.p() - 0.75).abs() < 1e-14);
        let mut l = LogNormal::new(0.0, 1.0).unwrap();
        fit(&mut l, &data);
        let logs: Vec<f64> = data.iter().map(|v| v.ln()).collect();
        let m = logs.iter().sum::<f64>() / 4.0;
        assert!((l.mu() - m).abs() < 1e-14);
        // Gamma: the MLE satisfies log(alpha) - digamma(alpha) = log(mean) - mean(log x).
        let mut g = Gamma::new(1.0, 1.0).unwrap();
        fit(&mut g, &data);
        let s = mean.ln() - m;
        assert!((g.alpha().ln() - digamma(g.alpha()) - s).abs() < 1e-12);
        assert!((g.beta() - g.alpha() / mean).abs() < 1e-12);
    }

    #[test]
    fn collapsed_data_stay_finite() {
        let same = [3.0, 3.0, 3.0];
        let mut e = Exponential::new(1.0).unwrap();
        fit(&mut e, &[0.0, 0.0]);
        assert!(e.rate().is_finite());
        let mut g = Gamma::new(1.0, 1.0).unwrap();
        fit(&mut g, &same);
        assert!(g.alpha().is_finite() && logp(&g, &[3.0])[0].is_finite());
        let mut u = Uniform::new(0.0, 1.0).unwrap();
        fit(&mut u, &same);
        assert!(u.end() > u.start() && logp(&u, &[3.0])[0].is_finite());
        let mut l = LogNormal::new(0.0, 1.0).unwrap();
        fit(&mut l, &same);
        assert!(logp(&l, &[3.0])[0].is_finite());
    }

    #[test]
    fn samples_have_the_right_mean() {
        use rand_chacha::ChaCha8Rng;
        use rand_core::SeedableRng;
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let n = 20_000;
        let mean = |d: &dyn Fn(&mut dyn RngCore) -> f64, rng: &mut ChaCha8Rng| {
            (0..n).map(|_| d(rng)).sum::<f64>() / n as f64
        };
        let g = Gamma::new(0.5, 2.0).unwrap();
        let m = mean(
            &|r| {
                let mut o = [0.0];
                g.sample_into(r, &mut o);
                o[0]
            },
            &mut rng,
        );
        assert!((m - 0.25).abs() < 0.02, "{m}");
        let p = Poisson::new(40.0).unwrap();
        let m = mean(
            &|r| {
                let mut o = [0.0];
                p.sample_into(r, &mut o);
                o[0]
            },
            &mut rng,
        );
        assert!((m - 40.0).abs() < 0.3, "{m}");
        let p = Poisson::new(2.0).unwrap();
        let m = mean(
            &|r| {
                let mut o = [0.0];
                p.sample_into(r, &mut o);
                o[0]
            },
            &mut rng,
        );
        assert!((m - 2.0).abs() < 0.05, "{m}");
    }

    #[test]
    fn invalid_parameters() {
        assert!(LogNormal::new(0.0, 0.0).is_err());
        assert!(Exponential::new(-1.0).is_err());
        assert!(Gamma::new(0.0, 1.0).is_err());
        assert!(Poisson::new(-0.1).is_err());
        // pomegranate accepts an empty interval: density 0 everywhere until fitted.
        let empty = Uniform::new(5.0, 2.0).unwrap();
        assert_eq!(
            logp(&empty, &[1.0, 2.0, 3.0, 5.0]),
            vec![f64::NEG_INFINITY; 4]
        );
        let point = Uniform::new(1.0, 1.0).unwrap();
        assert_eq!(logp(&point, &[1.0]), vec![f64::NEG_INFINITY]);
        assert!(Uniform::new(-f64::MAX, f64::MAX).is_err());
        assert!(Uniform::new(0.0, f64::NAN).is_err());
        assert!(Bernoulli::new(1.5).is_err());
    }
}
