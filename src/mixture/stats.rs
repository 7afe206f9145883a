//! The statistics of a mixture ([`MixtureStats`]) and the M-step that turns them into new
//! parameters.

use crate::distributions::{Distribution, Statistics};
use crate::error::{Error, Result};
use crate::validate::{non_negative, unit};

use super::GeneralMixtureModel;

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

impl<D: Distribution> GeneralMixtureModel<D> {
    /// Empty statistics for this mixture, or an error when they do not fit in memory.
    pub fn new_stats(&self) -> Result<MixtureStats<D::Stats>> {
        Ok(MixtureStats {
            components: self
                .distributions
                .iter()
                .map(|d| d.try_new_stats())
                .collect::<Result<_>>()?,
            responsibilities: vec![0.0; self.n_components()],
            log_likelihood: 0.0,
            unexplained: 0.0,
        })
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
        unit("inertia", inertia)?;
        non_negative("pseudocount", pseudocount)?;
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
}
