//! A product of independent univariate distributions, one per feature.

use ndarray::{s, ArrayView2};
use rand_core::RngCore;

use super::{Component, ComponentStats, Distribution, NormalStats, Statistics};
use crate::error::{Error, Result};
use crate::kernels::{Gaussian, GaussianMoments};
use crate::validate::non_negative_all;

/// A distribution over `d` features that treats them as independent: feature `j` follows
/// `distributions[j]`, and `log p(x) = sum_j weights[j] * log p_j(x_j)` (the weights default to 1).
///
/// An `IndependentComponents` of [`Normal`](super::Normal)s is a Gaussian with a diagonal
/// covariance.
#[derive(Debug, Clone, PartialEq)]
pub struct IndependentComponents {
    distributions: Vec<Component>,
    weights: Vec<f64>,
    /// When true, `from_summaries` leaves every feature's distribution as it is.
    pub frozen: bool,
}

impl IndependentComponents {
    /// One univariate distribution per feature, with optional per-feature weights (default 1).
    pub fn new(distributions: Vec<Component>, weights: Option<Vec<f64>>) -> Result<Self> {
        if distributions.is_empty() {
            return Err(Error::param(
                "distributions",
                "must hold at least one distribution",
            ));
        }
        if let Some(j) = distributions.iter().position(|c| c.dim() != 1) {
            return Err(Error::param(
                "distributions",
                format!(
                    "every distribution must be univariate (one per feature), but distribution {j} has {} dimensions",
                    distributions[j].dim()
                ),
            ));
        }
        let weights = match weights {
            None => vec![1.0; distributions.len()],
            Some(w) => {
                if w.len() != distributions.len() {
                    return Err(Error::param(
                        "weights",
                        format!(
                            "must have one weight per distribution ({}), got {}",
                            distributions.len(),
                            w.len()
                        ),
                    ));
                }
                non_negative_all("weights", &w)?;
                w
            }
        };
        Ok(IndependentComponents {
            distributions,
            weights,
            frozen: false,
        })
    }

    /// The per-feature distributions.
    pub fn distributions(&self) -> &[Component] {
        &self.distributions
    }

    /// The per-feature distributions, mutable (their dimension must stay 1).
    pub fn distributions_mut(&mut self) -> &mut [Component] {
        &mut self.distributions
    }

    /// The per-feature weights.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }
}

impl Distribution for IndependentComponents {
    type Stats = Vec<ComponentStats>;

    fn dim(&self) -> usize {
        self.distributions.len()
    }

    fn log_probability_into(&self, x: ArrayView2<f64>, out: &mut [f64]) -> Result<()> {
        out.fill(0.0);
        let mut buf = vec![0.0; out.len()];
        for (j, (dist, &w)) in self.distributions.iter().zip(&self.weights).enumerate() {
            dist.log_probability_into(x.slice(s![.., j..j + 1]), &mut buf)?;
            for (o, b) in out.iter_mut().zip(&buf) {
                // A zero weight ignores the feature, even where its log-density is -inf.
                if w != 0.0 {
                    *o += w * b;
                }
            }
        }
        Ok(())
    }

    fn new_stats(&self) -> Vec<ComponentStats> {
        self.distributions.iter().map(|d| d.new_stats()).collect()
    }

    fn accumulate(
        &self,
        x: ArrayView2<f64>,
        weights: &[f64],
        stats: &mut Vec<ComponentStats>,
    ) -> Result<()> {
        for (j, (dist, st)) in self.distributions.iter().zip(stats.iter_mut()).enumerate() {
            dist.accumulate(x.slice(s![.., j..j + 1]), weights, st)?;
        }
        Ok(())
    }

    fn from_summaries(&mut self, stats: &Vec<ComponentStats>, inertia: f64) -> Result<()> {
        self.from_summaries_smoothed(stats, inertia, 0.0)
    }

    fn from_summaries_smoothed(
        &mut self,
        stats: &Vec<ComponentStats>,
        inertia: f64,
        pseudocount: f64,
    ) -> Result<()> {
        if self.frozen {
            return Ok(());
        }
        if stats.len() != self.distributions.len() {
            return Err(Error::param(
                "summaries",
                "statistics do not match the number of features",
            ));
        }
        for (dist, st) in self.distributions.iter_mut().zip(stats) {
            dist.from_summaries_smoothed(st, inertia, pseudocount)?;
        }
        Ok(())
    }

    fn stateless_statistics(&self) -> bool {
        self.distributions.iter().all(|d| d.stateless_statistics())
    }

    fn clear_summaries(&self) {
        self.distributions.iter().for_each(|d| d.clear_summaries());
    }

    fn is_frozen(&self) -> bool {
        self.frozen
    }

    fn n_parameters(&self) -> Option<usize> {
        if self.frozen {
            return Some(0);
        }
        self.distributions.iter().map(|d| d.n_parameters()).sum()
    }

    fn sample_into(&self, rng: &mut dyn RngCore, out: &mut [f64]) {
        for (j, dist) in self.distributions.iter().enumerate() {
            dist.sample_into(rng, &mut out[j..j + 1]);
        }
    }

    /// Normals with unit weights make a diagonal Gaussian.
    fn gaussian(&self) -> Option<Gaussian<'_>> {
        let d = self.distributions.len();
        let (mut means, mut half_inv_var, mut log_norm) = (Vec::with_capacity(d), Vec::new(), 0.0);
        for (dist, &w) in self.distributions.iter().zip(&self.weights) {
            match (dist, w == 1.0) {
                (Component::Normal(n), true) => {
                    if let Some(Gaussian::Diagonal {
                        means: m,
                        half_inv_var: h,
                        log_norm: c,
                    }) = n.gaussian()
                    {
                        means.push(m[0]);
                        half_inv_var.push(h[0]);
                        log_norm += c;
                    }
                }
                _ => return None,
            }
        }
        Some(Gaussian::Diagonal {
            means,
            half_inv_var,
            log_norm,
        })
    }

    fn gaussian_stats(&self, m: &GaussianMoments<'_>) -> Option<Vec<ComponentStats>> {
        (0..self.distributions.len())
            .map(|l| {
                Some(ComponentStats::Normal(NormalStats {
                    shift: m.shift[l],
                    weight: m.weight,
                    sum: m.sum[l],
                    sum_squares: m.products[l],
                }))
            })
            .collect()
    }
}

impl Statistics for Vec<ComponentStats> {
    fn merge(&mut self, other: &Self) -> Result<()> {
        if self.len() != other.len() {
            return Err(Error::param(
                "summaries",
                "statistics of distributions of different dimensions cannot be merged",
            ));
        }
        for (a, b) in self.iter_mut().zip(other) {
            a.merge(b)?;
        }
        Ok(())
    }
}
