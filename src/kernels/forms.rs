//! The Gaussian forms of components, as the fused kernels take them, and the moments they give
//! back: the types of [`Distribution::gaussian`](crate::Distribution::gaussian) and
//! [`Distribution::gaussian_stats`](crate::Distribution::gaussian_stats).

use ndarray::ArrayView2;

/// The Gaussian form of a component, for the fused kernels (see
/// [`Distribution::gaussian`](crate::Distribution::gaussian)).
#[derive(Debug, Clone)]
pub enum Gaussian<'a> {
    /// `N(means, L L^T)`: `log p(x) = log_norm - |inv_chol (x - means)|^2 / 2`, with
    /// `inv_chol = L^-1`.
    Full {
        /// The mean vector.
        means: &'a [f64],
        /// `L^-1`, `d x d`.
        inv_chol: ArrayView2<'a, f64>,
        /// `-log det L - d log(2 pi) / 2`.
        log_norm: f64,
    },
    /// Independent normals: `log p(x) = log_norm - sum_l half_inv_var[l] (x[l] - means[l])^2`.
    Diagonal {
        /// The means.
        means: Vec<f64>,
        /// `1 / (2 sigma_l^2)`.
        half_inv_var: Vec<f64>,
        /// `sum_l (-log sigma_l - log(2 pi) / 2)`.
        log_norm: f64,
    },
}

/// Weighted moments of rows around `shift`, from the fused kernels, to be turned into a
/// component's statistics (see
/// [`Distribution::gaussian_stats`](crate::Distribution::gaussian_stats)).
#[derive(Debug, Clone, Copy)]
pub struct GaussianMoments<'a> {
    /// The shift point `c` (the component's means).
    pub shift: &'a [f64],
    /// `sum w`.
    pub weight: f64,
    /// `sum w (x - c)`, per feature.
    pub sum: &'a [f64],
    /// Full form: `sum w (x - c)(x - c)^T`, `d x d` row-major; diagonal form:
    /// `sum w (x_l - c_l)^2` per feature.
    pub products: &'a [f64],
}
