//! The M-step of a Gaussian mixture from weighted moments, with scikit-learn's formulas
//! (`sklearn/mixture/_gaussian_mixture.py`, `_estimate_gaussian_parameters`): `n_k = sum_i r_ik
//! + 10 eps`, `mu_k = sum_i r_ik x_i / n_k`, covariances around the new means divided by `n_k`
//! (tied: the components' scatter summed, over `sum_k n_k`; spherical: the mean of the diagonal
//! variances), `reg_covar` added to the diagonal. The moments come around a shift point per
//! component (the means of the pass that computed them), and are moved to the new means here:
//! `sum r (x - mu)(x - mu)^T = S2 - delta S1^T - S1 delta^T + W delta delta^T`, with
//! `delta = mu - c`, `S1 = sum r (x - c)`, `S2 = sum r (x - c)(x - c)^T`, `W = sum r`.

use ndarray::{Array1, Array2, Array3};

use super::{covariance_of_factor, CovarianceType, Covariances};
use crate::error::{Error, Result};
use crate::linalg::{cholesky, lower_triangular_inverse};

/// scikit-learn's message when a covariance cannot be factored.
pub(crate) const ILL_DEFINED: &str = "Fitting the mixture model failed because some components \
    have ill-defined empirical covariance (for instance caused by singleton or collapsed \
    samples). Try to decrease the number of components, increase reg_covar, or scale the input \
    data.";

/// Weighted moments of the rows per component, around a shift point per component.
#[derive(Debug, Clone)]
pub(super) struct Sums {
    /// Components.
    pub k: usize,
    /// Features.
    pub d: usize,
    /// Whether `products` hold whole `d x d` matrices (full and tied) or their diagonals.
    pub full: bool,
    /// `W_k = sum_i r_ik`.
    pub weight: Vec<f64>,
    /// The shift points `c_k`, `k x d`.
    pub shift: Vec<f64>,
    /// `sum_i r_ik (x_i - c_k)`, `k x d`.
    pub sum: Vec<f64>,
    /// `sum_i r_ik (x_i - c_k)(x_i - c_k)^T`, `k x d x d` (both triangles), or its diagonal,
    /// `k x d`.
    pub products: Vec<f64>,
}

/// The M-step's estimates: `n_k` (with scikit-learn's `10 eps`), the means and covariances.
pub(super) struct Estimates {
    pub nk: Array1<f64>,
    pub means: Array2<f64>,
    pub covariances: Covariances,
}

/// The M-step of covariance type `t` from the moments `s`, with `reg_covar` added to the
/// diagonal.
pub(super) fn estimate(t: CovarianceType, s: &Sums, reg_covar: f64) -> Estimates {
    let (k, d) = (s.k, s.d);
    let eps10 = 10.0 * f64::EPSILON;
    let mut nk = Array1::zeros(k);
    let mut means = Array2::zeros((k, d));
    // The scatter around the new means: `k x d x d` (full form) or `k x d`.
    let per = if s.full { d * d } else { d };
    let mut scatter = vec![0.0; k * per];
    let mut delta = vec![0.0; d];
    for j in 0..k {
        let w = s.weight[j];
        let n = w + eps10;
        nk[j] = n;
        let (c, s1) = (&s.shift[j * d..(j + 1) * d], &s.sum[j * d..(j + 1) * d]);
        for l in 0..d {
            // `(W c + S1) / n = c + (S1 - 10 eps c) / n`, the first form's rounding without its
            // cancellation.
            delta[l] = (s1[l] - eps10 * c[l]) / n;
            means[[j, l]] = c[l] + delta[l];
        }
        let s2 = &s.products[j * per..(j + 1) * per];
        let out = &mut scatter[j * per..(j + 1) * per];
        if s.full {
            for a in 0..d {
                for b in 0..d {
                    out[a * d + b] = s2[a * d + b] - delta[a] * s1[b] - s1[a] * delta[b]
                        + w * delta[a] * delta[b];
                }
            }
        } else {
            for l in 0..d {
                out[l] = s2[l] - 2.0 * delta[l] * s1[l] + w * delta[l] * delta[l];
            }
        }
    }
    let covariances = match t {
        CovarianceType::Full => {
            let mut c = Array3::zeros((k, d, d));
            for j in 0..k {
                for a in 0..d {
                    for b in 0..d {
                        c[[j, a, b]] = scatter[j * per + a * d + b] / nk[j];
                    }
                    c[[j, a, a]] += reg_covar;
                }
            }
            Covariances::Full(c)
        }
        CovarianceType::Tied => {
            let total: f64 = nk.sum();
            let mut c = Array2::zeros((d, d));
            for a in 0..d {
                for b in 0..d {
                    c[[a, b]] = (0..k).map(|j| scatter[j * per + a * d + b]).sum::<f64>() / total;
                }
                c[[a, a]] += reg_covar;
            }
            Covariances::Tied(c)
        }
        CovarianceType::Diag | CovarianceType::Spherical => {
            let diag = Array2::from_shape_fn((k, d), |(j, l)| {
                let v = if s.full {
                    scatter[j * per + l * d + l]
                } else {
                    scatter[j * per + l]
                };
                v / nk[j] + reg_covar
            });
            if t == CovarianceType::Diag {
                Covariances::Diag(diag)
            } else {
                Covariances::Spherical(diag.mean_axis(ndarray::Axis(1)).expect("d > 0"))
            }
        }
    };
    Estimates {
        nk,
        means,
        covariances,
    }
}

/// `(L^-1)^T` for the Cholesky factor `L` of a covariance (scikit-learn's factor of the
/// precision), or its error when the covariance is not positive definite.
fn factor(c: ndarray::ArrayView2<f64>) -> Result<Array2<f64>> {
    let l = cholesky(c)?.ok_or_else(|| Error::data("data", ILL_DEFINED))?;
    Ok(lower_triangular_inverse(l.view())?.reversed_axes())
}

/// The Cholesky factors of the precisions of covariances (scikit-learn's
/// `_compute_precision_cholesky`): an error naming `data` when one is not positive definite.
pub(super) fn precisions_cholesky(c: &Covariances) -> Result<Covariances> {
    let positive = |v: &f64| *v > 0.0 && v.is_finite();
    Ok(match c {
        Covariances::Full(a) => {
            let mut u = a.clone();
            for (mut o, f) in u.outer_iter_mut().zip(a.outer_iter()) {
                o.assign(&factor(f)?);
            }
            Covariances::Full(u)
        }
        Covariances::Tied(a) => Covariances::Tied(factor(a.view())?),
        Covariances::Diag(a) => {
            if !a.iter().all(positive) {
                return Err(Error::data("data", ILL_DEFINED));
            }
            Covariances::Diag(a.mapv(|v| 1.0 / v.sqrt()))
        }
        Covariances::Spherical(a) => {
            if !a.iter().all(positive) {
                return Err(Error::data("data", ILL_DEFINED));
            }
            Covariances::Spherical(a.mapv(|v| 1.0 / v.sqrt()))
        }
    })
}

/// The covariances of precisions given by their Cholesky factors `u` (of type `t`).
pub(super) fn covariances_of(t: CovarianceType, u: &Covariances) -> Result<Covariances> {
    debug_assert_eq!(t, u.covariance_type());
    Ok(match u {
        Covariances::Full(a) => {
            let mut c = a.clone();
            for (mut o, f) in c.outer_iter_mut().zip(a.outer_iter()) {
                o.assign(&covariance_of_factor(f)?);
            }
            Covariances::Full(c)
        }
        Covariances::Tied(a) => Covariances::Tied(covariance_of_factor(a.view())?),
        Covariances::Diag(a) => Covariances::Diag(a.mapv(|v| 1.0 / (v * v))),
        Covariances::Spherical(a) => Covariances::Spherical(a.mapv(|v| 1.0 / (v * v))),
    })
}
