//! The model: its components and weights, their checks, model-selection criteria and sampling.

use ndarray::{Array1, Array2, Array3, ArrayView1, ArrayView2, Axis};
use rand_core::RngCore;

use crate::distributions::{Component, Distribution};
use crate::error::{Error, Result};
use crate::parallel::Threads;
use crate::rng::choose_weighted;
use crate::rows::{Element, Rows};
use crate::validate::{normalised_weights, too_large, zeroed_vec, zeros_checked};

/// A mixture of distributions of the same dimension: `p(x) = sum_j weights[j] * p_j(x)`.
///
/// `D` is the component type: [`Component`] (any built-in family) by default, or a type of the
/// caller's that implements [`Distribution`] (see the
/// [guide](crate::distributions#implementing-distribution)).
///
/// ```
/// use mixtura::{Component, FitOptions, GeneralMixtureModel, Normal, Threads};
/// use ndarray::array;
///
/// // Two normals as the initial parameters, fitted by EM, then used to predict.
/// let mut model = GeneralMixtureModel::new(
///     vec![Component::Normal(Normal::new(5.0, 2.0)?), Component::Normal(Normal::new(1.0, 1.0)?)],
///     None,
/// )?;
/// let x = array![[1.0], [5.0], [7.0], [8.0], [2.0]];
/// let report = model.fit(x.view(), None, &FitOptions::default())?;
/// println!("{} iterations, log-likelihood {}", report.n_iterations(), report.log_probability);
/// let labels = model.predict(array![[6.5], [1.5]].view(), Threads::Current)?;
/// assert_ne!(labels[0], labels[1]);
/// let proba = model.predict_proba(array![[6.5]].view(), Threads::Current)?;
/// assert!((proba.sum() - 1.0).abs() < 1e-12);
/// # Ok::<(), mixtura::Error>(())
/// ```
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
    /// A copy: the components' `d x d` matrices are shared with the original, not copied. It is
    /// never an error today; the `Result` is kept for the callers that check.
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

    /// The means of the components, shape `(n_components, n_features)`, when every component
    /// is a Gaussian: a [`MultivariateGaussian`](crate::MultivariateGaussian), a
    /// [`Normal`](crate::Normal), or an [`IndependentComponents`](crate::IndependentComponents)
    /// of normals of feature weight 1. An error names the first component that is not.
    ///
    /// ```
    /// use mixtura::{Components, Family, FromSamplesOptions, GeneralMixtureModel};
    /// use ndarray::array;
    ///
    /// let x = array![[0.0, 0.1], [0.2, -0.1], [-0.1, 0.0], [5.0, 5.1], [5.2, 4.9], [4.9, 5.0]];
    /// let (model, _) = GeneralMixtureModel::from_samples(
    ///     &Components::Each(Family::MultivariateGaussian), x.view(), None,
    ///     &FromSamplesOptions::new(2))?;
    /// let (weights, means, covariances) = (model.weights(), model.means()?, model.covariances()?);
    /// assert_eq!(weights.len(), 2);
    /// assert_eq!(means.dim(), (2, 2));
    /// assert_eq!(covariances.dim(), (2, 2, 2));
    /// # Ok::<(), mixtura::Error>(())
    /// ```
    pub fn means(&self) -> Result<Array2<f64>> {
        let (k, d) = (self.n_components(), self.dim());
        let mut out = zeros_checked(k, d)?;
        for (j, c) in self.distributions.iter().enumerate() {
            let mut row = out.row_mut(j);
            match c {
                Component::MultivariateGaussian(g) => row.assign(&g.means()),
                Component::Normal(n) => row[0] = n.mean(),
                _ => {
                    for (l, n) in independent_normals(j, c)?.iter().enumerate() {
                        row[l] = n.mean();
                    }
                }
            }
        }
        Ok(out)
    }

    /// The covariance matrices of the components, shape `(n_components, n_features,
    /// n_features)`, when every component is a Gaussian (see [`means`](Self::means)): a
    /// multivariate Gaussian's matrix, or the diagonal matrix of the variances of normals.
    pub fn covariances(&self) -> Result<Array3<f64>> {
        let (k, d) = (self.n_components(), self.dim());
        let cells = zeroed_vec(&[k, d, d], || {
            too_large("distributions", format!("{k} covariances of {d} x {d}"))
        })?;
        let mut out = Array3::from_shape_vec((k, d, d), cells)
            .map_err(|_| too_large("distributions", format!("{k} covariances of {d} x {d}")))?;
        for (j, c) in self.distributions.iter().enumerate() {
            let mut m = out.index_axis_mut(Axis(0), j);
            match c {
                Component::MultivariateGaussian(g) => m.assign(&g.covariance()),
                Component::Normal(n) => m[[0, 0]] = n.std() * n.std(),
                _ => {
                    for (l, n) in independent_normals(j, c)?.iter().enumerate() {
                        m[[l, l]] = n.std() * n.std();
                    }
                }
            }
        }
        Ok(out)
    }
}

/// The normals of component `j`, an [`IndependentComponents`](crate::IndependentComponents) of
/// normals of weight 1, or an error saying it is not a Gaussian.
fn independent_normals(j: usize, c: &Component) -> Result<Vec<&crate::distributions::Normal>> {
    let not_gaussian = || {
        Error::param(
            "distributions",
            format!(
                "distribution {j} ({}) is not a Gaussian: means and covariances are those of \
                 MultivariateGaussian, Normal and IndependentComponents of normals",
                c.name()
            ),
        )
    };
    let Component::IndependentComponents(ic) = c else {
        return Err(not_gaussian());
    };
    ic.distributions()
        .iter()
        .zip(ic.weights())
        .map(|(child, &w)| match child {
            Component::Normal(n) if w == 1.0 => Ok(n),
            _ => Err(not_gaussian()),
        })
        .collect()
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
    #[doc(hidden)]
    pub fn parallel_statistics(&self) -> bool {
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
