//! Small dense linear algebra for covariance matrices: Cholesky factors, triangular inverses and
//! the smallest eigenvalue of a symmetric matrix. Dimensions are those of one component
//! (`d x d`), so plain loops are enough here; the data-sized work is done with matrix products.

use ndarray::{Array2, ArrayView2};

use crate::error::Result;
use crate::validate::square;

/// The lower-triangular Cholesky factor `L` of a symmetric matrix `a` (`a = L L^T`), or `None`
/// when `a` is not numerically positive definite (a pivot that is not strictly positive and
/// finite); an error when the factor does not fit in memory.
pub fn cholesky(a: ArrayView2<f64>) -> Result<Option<Array2<f64>>> {
    let d = a.nrows();
    let mut l = square("covariance", "Cholesky factor", d)?;
    for j in 0..d {
        let mut s = a[[j, j]];
        for k in 0..j {
            s -= l[[j, k]] * l[[j, k]];
        }
        if !(s > 0.0) || !s.is_finite() {
            return Ok(None);
        }
        let ljj = s.sqrt();
        l[[j, j]] = ljj;
        for i in (j + 1)..d {
            let mut s = a[[i, j]];
            for k in 0..j {
                s -= l[[i, k]] * l[[j, k]];
            }
            l[[i, j]] = s / ljj;
        }
    }
    Ok(Some(l))
}

/// The inverse of a lower-triangular matrix with a positive diagonal (itself lower-triangular);
/// an error when it does not fit in memory.
pub fn lower_triangular_inverse(l: ArrayView2<f64>) -> Result<Array2<f64>> {
    let d = l.nrows();
    let mut inv = square("covariance", "inverse Cholesky factor", d)?;
    for j in 0..d {
        inv[[j, j]] = 1.0 / l[[j, j]];
        for i in (j + 1)..d {
            let mut s = 0.0;
            for k in j..i {
                s -= l[[i, k]] * inv[[k, j]];
            }
            inv[[i, j]] = s / l[[i, i]];
        }
    }
    Ok(inv)
}

/// The eigenvalues of a symmetric matrix, by the cyclic Jacobi method (ascending order).
pub fn symmetric_eigenvalues(a: ArrayView2<f64>) -> Vec<f64> {
    let d = a.nrows();
    let mut m = a.to_owned();
    for _sweep in 0..100 {
        let mut off = 0.0;
        for p in 0..d {
            for q in (p + 1)..d {
                off += m[[p, q]] * m[[p, q]];
            }
        }
        let scale: f64 = (0..d).map(|i| m[[i, i]] * m[[i, i]]).sum::<f64>() + off;
        if off <= 1e-30 * scale || off == 0.0 {
            break;
        }
        for p in 0..d {
            for q in (p + 1)..d {
                let apq = m[[p, q]];
                if apq == 0.0 {
                    continue;
                }
                let theta = (m[[q, q]] - m[[p, p]]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..d {
                    let mkp = m[[k, p]];
                    let mkq = m[[k, q]];
                    m[[k, p]] = c * mkp - s * mkq;
                    m[[k, q]] = s * mkp + c * mkq;
                }
                for k in 0..d {
                    let mpk = m[[p, k]];
                    let mqk = m[[q, k]];
                    m[[p, k]] = c * mpk - s * mqk;
                    m[[q, k]] = s * mpk + c * mqk;
                }
            }
        }
    }
    let mut ev: Vec<f64> = (0..d).map(|i| m[[i, i]]).collect();
    ev.sort_by(|a, b| a.total_cmp(b));
    ev
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn cholesky_reconstructs() {
        let a = array![[4.0, 2.0, 0.4], [2.0, 5.0, 1.0], [0.4, 1.0, 3.0]];
        let l = cholesky(a.view()).unwrap().unwrap();
        let back = l.dot(&l.t());
        for (x, y) in back.iter().zip(a.iter()) {
            assert!((x - y).abs() < 1e-12);
        }
        let inv = lower_triangular_inverse(l.view()).unwrap();
        let eye = inv.dot(&l);
        for i in 0..3 {
            for j in 0..3 {
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((eye[[i, j]] - want).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn cholesky_rejects_indefinite() {
        assert!(cholesky(array![[1.0, 2.0], [2.0, 1.0]].view())
            .unwrap()
            .is_none());
        assert!(cholesky(array![[0.0, 0.0], [0.0, 0.0]].view())
            .unwrap()
            .is_none());
        assert!(cholesky(array![[f64::NAN]].view()).unwrap().is_none());
    }

    #[test]
    fn jacobi_eigenvalues() {
        let ev = symmetric_eigenvalues(array![[2.0, 1.0], [1.0, 2.0]].view());
        assert!((ev[0] - 1.0).abs() < 1e-12 && (ev[1] - 3.0).abs() < 1e-12);
        let ev = symmetric_eigenvalues(array![[1.0, 2.0], [2.0, 1.0]].view());
        assert!((ev[0] + 1.0).abs() < 1e-12);
    }
}
