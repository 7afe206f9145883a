//! The model: its components and weights, their checks, model-selection criteria and sampling.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use rand_core::RngCore;

use crate::distributions::{Component, Distribution};
use crate::error::{Error, Result};
use crate::parallel::Threads;
use crate::rng::choose_weighted;
use crate::rows::{Element, Rows};
use crate::validate::{normalised_weights, zeros_checked};

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

impl GeneralMixtureModel<Component> {
    /// A copy, or an error when the components' matrices (`d x d` covariances) do not fit in
    /// memory (where `clone` would abort the process).
    pub fn try_clone(&self) -> Result<Self> {
        Ok(GeneralMixtureModel {
            distributions: self
                .distributions
                .iter()
                .map(Component::try_clone)
                .collect::<Result<_>>()?,
            weights: self.weights.clone(),
            log_weights: self.log_weights.clone(),
            frozen: self.frozen,
        })
    }
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

    pub(super) fn check(&self, x: &Rows<'_>) -> Result<()> {
        let d = self.dim();
        if let Some(j) = self.distributions.iter().position(|c| c.dim() != d) {
            return Err(Error::param(
                "distributions",
                format!("distribution {j} no longer has the model's dimension {d}"),
            ));
        }
        x.check_data(d)
    }

    /// Whether the rows may be summarised on several threads (every component keeps its
    /// statistics in the values it is given).
    pub(crate) fn parallel_statistics(&self) -> bool {
        self.distributions.iter().all(|d| d.stateless_statistics())
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
    pub fn bic<T: Element>(&self, x: ArrayView2<T>, threads: Threads) -> Result<f64> {
        let (log_l, p) = self.criterion_parts(x, threads)?;
        Ok(-2.0 * log_l + p * (x.nrows() as f64).ln())
    }

    /// The Akaike information criterion on `x`, shape `(n, d)`: `-2 log L + 2 p` (lower is
    /// better).
    pub fn aic<T: Element>(&self, x: ArrayView2<T>, threads: Threads) -> Result<f64> {
        let (log_l, p) = self.criterion_parts(x, threads)?;
        Ok(-2.0 * log_l + 2.0 * p)
    }

    fn criterion_parts<T: Element>(
        &self,
        x: ArrayView2<T>,
        threads: Threads,
    ) -> Result<(f64, f64)> {
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
        for dist in &self.distributions {
            dist.check_sample()?;
        }
        for mut row in out.axis_iter_mut(Axis(0)) {
            let j = choose_weighted(weights.iter().copied(), rng);
            let row = row.as_slice_mut().expect("contiguous");
            self.distributions[j].sample_into(rng, row);
        }
        Ok(out)
    }
}
