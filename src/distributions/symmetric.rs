//! The check that a covariance given by the caller is finite and symmetric.

use ndarray::ArrayView2;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::validate::{copied, too_large};

/// Whether the square `a` is finite (first) and symmetric to a relative `1e-8`, entry by entry:
/// the error that says which it is not. The entries off the diagonal are taken by blocks of 32
/// rows (in parallel on a pool for wide matrices), each by tiles of 32 x 32 entries below the
/// diagonal, each against a transposed copy of its mirror image (so that both are read along
/// their rows); then the diagonal.
pub(crate) fn check_finite_symmetric(a: ArrayView2<f64>) -> Result<()> {
    const TILE: usize = 32;
    let d = a.nrows();
    // Row-major values (a checked copy of a matrix of other strides).
    let copy;
    let a = match a.as_slice() {
        Some(values) => values,
        None => {
            copy = copied(a, || too_large("covariance", "a copy of the covariance"))?;
            copy.as_slice().expect("a fresh array is row-major")
        }
    };
    // (finite, apart) of the entries below the diagonal in rows `i0..i0 + TILE` and of their
    // mirror images.
    let block = |i0: usize| {
        let mut mirror = [0.0; TILE * TILE];
        let (mut finite, mut apart) = (true, false);
        let i1 = (i0 + TILE).min(d);
        for j0 in (0..=i0).step_by(TILE) {
            let j1 = (j0 + TILE).min(d);
            // mirror[(i - i0) * TILE + (j - j0)] = a[j, i]
            for j in j0..j1 {
                for (i, v) in a[j * d + i0..j * d + i1].iter().enumerate() {
                    mirror[i * TILE + j - j0] = *v;
                }
            }
            for i in i0..i1 {
                let below = &a[i * d + j0..i * d + j1.min(i)];
                let above = &mirror[(i - i0) * TILE..];
                for (&x, &y) in below.iter().zip(above) {
                    let (ax, ay) = (x.abs(), y.abs());
                    finite &= (ax <= f64::MAX) & (ay <= f64::MAX);
                    let larger = if ax > ay { ax } else { ay };
                    let larger = if larger > 1e-300 { larger } else { 1e-300 };
                    apart |= (x - y).abs() > 1e-8 * larger;
                }
            }
            if !finite {
                break;
            }
        }
        (finite, apart)
    };
    let both = |(f1, a1): (bool, bool), (f2, a2): (bool, bool)| (f1 & f2, a1 | a2);
    let blocks = 0..d.div_ceil(TILE);
    let serial = || {
        blocks
            .clone()
            .map(|b| block(b * TILE))
            .fold((true, false), both)
    };
    let (finite, apart) = if d >= crate::linalg::BLOCKED_FROM {
        // Whether an entry is finite or apart from its mirror image does not depend on the
        // order the blocks are taken in.
        crate::parallel::on_a_pool(|| {
            blocks
                .clone()
                .into_par_iter()
                .map(|b| block(b * TILE))
                .reduce(|| (true, false), both)
        })
        .unwrap_or_else(|_| serial())
    } else {
        serial()
    };
    if !finite || !(0..d).all(|i| a[i * d + i].is_finite()) {
        return Err(Error::param("covariance", "must be finite"));
    }
    if apart {
        return Err(Error::param("covariance", "must be symmetric"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn finite_and_symmetric_are_checked_on_every_tile() {
        // Serially, and (from BLOCKED_FROM features) by blocks of rows on 1 or 3 threads.
        let pools = [1, 3].map(|n| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .unwrap()
        });
        let check = |b: ArrayView2<f64>| {
            let here = check_finite_symmetric(b).map_err(|e| e.to_string());
            for pool in &pools {
                let there = pool.install(|| check_finite_symmetric(b).map_err(|e| e.to_string()));
                assert_eq!(there, here);
            }
            here
        };
        for d in [70, crate::linalg::BLOCKED_FROM + 45] {
            // Symmetric, every value distinct from its neighbours.
            let a =
                Array2::from_shape_fn((d, d), |(i, j)| 1.0 + ((i * j + i + j) % 17) as f64 / 8.0);
            assert!(check(a.view()).is_ok());
            let fails = |i: usize, j: usize, v: f64| {
                let mut b = a.clone();
                b[[i, j]] = v;
                check(b.view()).unwrap_err()
            };
            let last = d - 1;
            for (i, j) in [
                (1, 0),
                (0, 1),
                (last, last - 1),
                (40, 5),
                (5, 40),
                (33, 31),
                (64, 65),
                (last, 0),
                (0, last),
                (d / 2 + 3, d / 2 - 20),
            ] {
                assert!(
                    fails(i, j, 2.0).contains("symmetric"),
                    "d = {d}: ({i}, {j})"
                );
                assert!(
                    fails(i, j, f64::NAN).contains("finite"),
                    "d = {d}: ({i}, {j})"
                );
                assert!(
                    fails(i, j, f64::INFINITY).contains("finite"),
                    "d = {d}: ({i}, {j})"
                );
            }
            for i in [0, 31, 32, last] {
                assert!(
                    fails(i, i, f64::NAN).contains("finite"),
                    "d = {d}: ({i}, {i})"
                );
            }
            // Both, in either order along the rows: not finite is said first.
            for (asymmetric, infinite) in [((3, 2), (60, 61)), ((last, 1), (2, 1))] {
                let mut b = a.clone();
                b[asymmetric] = 5.0;
                b[infinite] = f64::NAN;
                assert!(check(b.view()).unwrap_err().contains("finite"), "d = {d}");
            }
            // Within the tolerance of 1e-8 relative: symmetric.
            let mut b = a.clone();
            b[[50, 20]] *= 1.0 + 1e-10;
            assert!(check(b.view()).is_ok());
            assert!(check(b.t()).is_ok());
            // A transposed view, checked through a copy.
            b[[d - 3, 40]] = 7.0;
            assert!(check(b.t()).unwrap_err().contains("symmetric"), "d = {d}");
            b[[41, 2]] = f64::INFINITY;
            assert!(check(b.t()).unwrap_err().contains("finite"), "d = {d}");
        }
    }
}
