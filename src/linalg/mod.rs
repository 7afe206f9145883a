//! Dense linear algebra for covariance matrices: Cholesky factors, triangular solves and
//! inverses, and the smallest eigenvalue of a symmetric matrix.
//!
//! Triangular solves of many rows are recursive at every size: products, and forward
//! substitution of up to [`BASE`] columns over contiguous copies of blocks of rows. Each row of
//! a solution depends on its own row alone, so a large solve on a pool is cut into chunks of
//! rows, each solved whole, its products included, by one thread. For the factor and the
//! inverse, up to [`BLOCKED_FROM`] features plain loops are enough. From there nearly all of the
//! `O(d^3)` work is matrix products ([`gemm`]: packed, each entry computed by the same
//! operations on every kernel path and for every thread count, and spread over the current pool
//! unless a chunk of a solve runs them). The Cholesky factor is computed recursively: the
//! leading half, the triangular solve of the rows below it (itself halved recursively down to
//! [`BASE`] columns), the product that updates the trailing half, then the trailing half; on a
//! pool of two threads or more, the leading columns of the trailing half are updated first and
//! their diagonal block factored while the rest of the update runs. The triangular inverse is
//! recursive too, through triangular products halved down to [`NB`] columns. Every split
//! depends on the sizes alone (only what runs beside what depends on the threads).
//!
//! The smallest eigenvalue (for the repair of a covariance that is not positive definite)
//! reduces the matrix to tridiagonal form by panels of reflections, the same way at every `d`:
//! matrix products for the rest of the matrix after each panel, and for each column one
//! symmetric matrix-vector product in fused multiply-adds of a fixed order, compiled for AVX2
//! and FMA where the kernel path has them ([`Isa`]) and portable otherwise (the same numbers).
//!
//! Called from outside any pool, the parallel parts run on mixtura's own pool (see
//! [`crate::parallel::on_a_pool`]), never on rayon's global pool.

mod gemm;

use ndarray::{s, Array2, ArrayView2, ArrayViewMut2, Axis};
use rayon::prelude::*;

use crate::error::Result;
use crate::kernels::dispatch::{Isa, Level};
use crate::validate::{reserved, square, too_large, zeroed};
pub(crate) use gemm::{gemm, gemm_here, reserve as reserve_products, Part};

/// From this many features on, the blocked algorithms are used.
pub const BLOCKED_FROM: usize = 192;

/// The size below which the recursive triangular inverse and products work by plain loops (or
/// one product), and the rows of a block of a triangular solve's forward substitution.
pub const NB: usize = 64;

/// The recursive Cholesky factorisation and triangular solve work on blocks of at most this
/// many columns by plain loops.
const BASE: usize = 32;

/// The rows of the data a product of [`add_lower_products`] takes at a time: a multiple of the
/// products' block depth, so that the sums of rows taken by chunks of this many are the same
/// bits as over all the rows at once.
pub(crate) const CHUNK_ROWS: usize = 2 * gemm::KC;

/// Runs `f` on a thread of a pool (the current one's, or mixtura's own: see
/// [`on_a_pool`](crate::parallel::on_a_pool)); an error when no pool can start. The products
/// and solves inside then spread over the pool without waking it from outside for each one.
fn in_pool<R: Send>(f: impl FnOnce() -> R + Send) -> Result<R> {
    crate::parallel::on_a_pool(f)
}

/// The lower-triangular Cholesky factor `L` of a symmetric matrix `a` (`a = L L^T`; only the
/// lower triangle of `a` is read), or `None` when `a` is not numerically positive definite (a
/// pivot that is not strictly positive and finite); an error when the factor does not fit in
/// memory.
pub fn cholesky(a: ArrayView2<f64>) -> Result<Option<Array2<f64>>> {
    let d = a.nrows();
    // The lower triangle of `a` and zeros above it, each value written once.
    let mut values = reserved(d * d, || {
        too_large("covariance", format!("a {d} x {d} Cholesky factor"))
    })?;
    for (i, row) in a.rows().into_iter().enumerate() {
        let row = row.slice_move(s![..=i]);
        match row.as_slice() {
            Some(row) => values.extend_from_slice(row),
            None => values.extend(row.iter().copied()),
        }
        values.resize((i + 1) * d, 0.0);
    }
    let mut l = Array2::from_shape_vec((d, d), values).expect("d x d values");
    let factored = if d >= BLOCKED_FROM {
        in_pool(|| recursive_cholesky(l.view_mut()))?
    } else {
        factor_unblocked(l.view_mut())
    };
    Ok(factored.then_some(l))
}

/// Factors in place, unblocked, the lower triangle of the square `l`; false when a pivot is
/// not strictly positive and finite.
fn factor_unblocked(mut l: ArrayViewMut2<f64>) -> bool {
    let d = l.nrows();
    for j in 0..d {
        let mut s = l[[j, j]];
        for t in 0..j {
            s -= l[[j, t]] * l[[j, t]];
        }
        if !(s > 0.0) || !s.is_finite() {
            return false;
        }
        let ljj = s.sqrt();
        l[[j, j]] = ljj;
        for i in (j + 1)..d {
            let mut s = l[[i, j]];
            for t in 0..j {
                s -= l[[i, t]] * l[[j, t]];
            }
            l[[i, j]] = s / ljj;
        }
    }
    true
}

/// Where the recursive algorithms split `n` columns: about half, a multiple of 8.
fn split(n: usize) -> usize {
    (n / 2).div_ceil(8) * 8
}

/// Factors in place the lower triangle of the square `l` (its upper triangle is neither read
/// nor written), recursively: `L11` of the leading columns, `L21 = A21 L11^-T`, then the
/// trailing `A22 - L21 L21^T`; false when a pivot is not strictly positive and finite.
fn recursive_cholesky(l: ArrayViewMut2<f64>) -> bool {
    let n = l.nrows();
    if n <= BASE {
        return factor_unblocked(l);
    }
    let n1 = split(n);
    let (mut top, bottom) = l.split_at(Axis(0), n1);
    if !recursive_cholesky(top.slice_mut(s![.., ..n1])) {
        return false;
    }
    let (mut a21, a22) = bottom.split_at(Axis(1), n1);
    solve_transposed(a21.view_mut(), top.slice(s![.., ..n1]));
    update_and_factor(a21.view(), a22)
}

/// `A22 - L21 L21^T` on the lower triangle of `a22`, then its factor in place (that of
/// [`recursive_cholesky`] of the updated `a22`, by the same operations on every entry); false
/// when a pivot is not strictly positive and finite (`a22` then partly written). On a pool of
/// two threads or more, the columns of `a22`'s leading block (the split of
/// [`recursive_cholesky`]) are updated first, and that block is factored while the rest of the
/// update runs beside it.
fn update_and_factor(l21: ArrayView2<f64>, mut a22: ArrayViewMut2<f64>) -> bool {
    let n = a22.nrows();
    let on_a_pool = rayon::current_thread_index().is_some() && rayon::current_num_threads() > 1;
    if n <= BASE || !on_a_pool {
        gemm(-1.0, l21, l21.t(), a22.view_mut(), Part::Lower);
        return recursive_cholesky(a22);
    }
    // The split of `recursive_cholesky(a22)`.
    let m1 = split(n);
    let (mut left, right) = a22.split_at(Axis(1), m1);
    gemm(
        -1.0,
        l21,
        l21.slice(s![..m1, ..]).t(),
        left.view_mut(),
        Part::Lower,
    );
    let (mut top, mut below) = left.split_at(Axis(0), m1);
    let mut rest = right.slice_move(s![m1.., ..]);
    let (factored, ()) = rayon::join(
        || recursive_cholesky(top.view_mut()),
        || {
            let l21 = l21.slice(s![m1.., ..]);
            gemm(-1.0, l21, l21.t(), rest.view_mut(), Part::Lower)
        },
    );
    if !factored {
        return false;
    }
    // The rest of `recursive_cholesky(a22)`, its leading block factored.
    solve_transposed(below.view_mut(), top.view());
    update_and_factor(below.view(), rest)
}

/// Solves `X L^T = B` in place of `b` (`m x n`) for the lower-triangular `l` (`n x n`, positive
/// diagonal). Each row of `X` depends on its row of `B` alone: on a pool's thread, the rows of
/// a large solve are cut into chunks, each solved on one thread by [`solve_rows`] (one join for
/// the whole solve, where splitting each of its steps would wait for the threads at every step).
fn solve_transposed(mut b: ArrayViewMut2<f64>, l: ArrayView2<f64>) {
    let (m, n) = b.dim();
    let threads = match rayon::current_thread_index() {
        Some(_) => rayon::current_num_threads(),
        None => 1,
    };
    if threads < 2 || m.saturating_mul(n).saturating_mul(n) / 2 < SOLVE_SPLIT_FROM {
        return solve_rows(b, l);
    }
    let rows = m.div_ceil(CHUNKS_PER_THREAD * threads).max(MIN_CHUNK_ROWS);
    let chunks: Vec<ArrayViewMut2<f64>> = b.axis_chunks_iter_mut(Axis(0), rows).collect();
    chunks.into_par_iter().for_each(|rows| solve_rows(rows, l));
}

/// Triangular solves of fewer multiply-adds than this run on one thread; the others are cut
/// into chunks of rows for the threads of a pool.
const SOLVE_SPLIT_FROM: usize = 1 << 19;

/// Chunks of rows a solve is cut into per thread, for threads that finish early.
const CHUNKS_PER_THREAD: usize = 2;

/// The fewest rows of a chunk of a solve.
const MIN_CHUNK_ROWS: usize = 16;

/// [`solve_transposed`] on the calling thread alone, recursively: `X1 = B1 L11^-T`, then
/// `X2 = (B2 - X1 L21^T) L22^-T`; down to [`BASE`] columns, forward substitution of blocks of
/// [`NB`] rows.
fn solve_rows(mut b: ArrayViewMut2<f64>, l: ArrayView2<f64>) {
    let n = l.nrows();
    if n <= BASE {
        let isa = Isa::current();
        for mut rows in b.axis_chunks_iter_mut(Axis(0), NB) {
            // The block's columns side by side in `cols` (column `j` in `cols[j * mb..]`), so
            // that each step runs over its rows as contiguous vectors.
            let mb = rows.nrows();
            let mut cols = [0.0; BASE * NB];
            let cols = &mut cols[..n * mb];
            for (r, row) in rows.rows().into_iter().enumerate() {
                for (j, v) in row.iter().enumerate() {
                    cols[j * mb + r] = *v;
                }
            }
            match isa.level() {
                #[cfg(target_arch = "x86_64")]
                Level::Avx2 | Level::Avx512 => {
                    // SAFETY: the processor has AVX2 and FMA (an `Isa` is made only for what it
                    // has), the features the function is compiled for.
                    unsafe { substitute_avx2(cols, mb, l) }
                }
                _ => substitute(cols, mb, l),
            }
            for (r, mut row) in rows.rows_mut().into_iter().enumerate() {
                for (j, v) in row.iter_mut().enumerate() {
                    *v = cols[j * mb + r];
                }
            }
        }
        return;
    }
    let n1 = split(n);
    let (mut b1, mut b2) = b.split_at(Axis(1), n1);
    solve_rows(b1.view_mut(), l.slice(s![..n1, ..n1]));
    gemm_here(
        -1.0,
        b1.view(),
        l.slice(s![n1.., ..n1]).t(),
        b2.view_mut(),
        Part::Whole,
    );
    solve_rows(b2, l.slice(s![n1.., n1..]));
}

/// Forward substitution of the columns of `cols` (`n` columns of `mb` values one after the
/// other, `n` the order of `l`) by the rows of the lower-triangular `l`: in place of each
/// column `j`, `x_j = (b_j - x_0 l_j0 - x_1 l_j1 - ...) / l_jj`, taken away in the order of the
/// columns by fused multiply-adds (the same numbers whichever instructions carry them out).
#[inline(always)]
fn substitute(cols: &mut [f64], mb: usize, l: ArrayView2<f64>) {
    let n = l.nrows();
    for j in 0..n {
        let (done, rest) = cols.split_at_mut((j + 1) * mb);
        let xj = &mut done[j * mb..];
        let ljj = l[[j, j]];
        for v in xj.iter_mut() {
            *v /= ljj;
        }
        for (t, col) in rest.chunks_exact_mut(mb).enumerate() {
            let ltj = l[[j + 1 + t, j]];
            for (v, x) in col.iter_mut().zip(xj.iter()) {
                *v = (-x).mul_add(ltj, *v);
            }
        }
    }
}

/// [`substitute`] compiled for AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn substitute_avx2(cols: &mut [f64], mb: usize, l: ArrayView2<f64>) {
    substitute(cols, mb, l)
}

/// Solves `X L^T = B` in place of `b` (`m x n`) for the lower-triangular `l` (`n x n`, positive
/// diagonal): each row `x` of the result is `L^-1` times the same row of `B`, whose operations
/// depend on that row alone. The same bits on every kernel path and thread count: a small
/// solve ([`SOLVE_SPLIT_FROM`]), or one for which no pool of threads can start, runs on one
/// thread.
pub fn solve_lower_transposed(mut b: ArrayViewMut2<f64>, l: ArrayView2<f64>) {
    let (m, n) = b.dim();
    let small = m.saturating_mul(n).saturating_mul(n) / 2 < SOLVE_SPLIT_FROM;
    if small || in_pool(|| solve_transposed(b.view_mut(), l)).is_err() {
        solve_transposed(b, l);
    }
}

/// `m -= a b^T` on the lower triangle of `m` (the upper one is neither read nor written).
fn subtract_lower_products(m: ArrayViewMut2<f64>, a: ArrayView2<f64>, b: ArrayView2<f64>) {
    gemm(-1.0, a, b.t(), m, Part::Lower);
}

/// `c += z^T wz` for `z` and `wz` of shape `(n, d)`, `c` of shape `(d, d)` and symmetric (as the
/// sums of products of a covariance are): [`add_lower_products`], then [`mirror_lower`].
#[cfg(test)]
pub fn add_products(z: ArrayView2<f64>, wz: ArrayView2<f64>, c: &mut Array2<f64>) {
    add_lower_products(z, wz, c);
    mirror_lower(c);
}

/// `c += z^T wz` on the lower triangle of `c` (the upper one is neither read nor written), by
/// chunks of [`CHUNK_ROWS`] rows; on the calling thread alone when no pool of threads can start
/// (the same numbers).
pub fn add_lower_products(z: ArrayView2<f64>, wz: ArrayView2<f64>, c: &mut Array2<f64>) {
    let (n, wide) = (z.nrows(), c.nrows() >= BLOCKED_FROM);
    let mut products = || {
        for r0 in (0..n).step_by(CHUNK_ROWS) {
            let r1 = (r0 + CHUNK_ROWS).min(n);
            gemm(
                1.0,
                z.slice(s![r0..r1, ..]).t(),
                wz.slice(s![r0..r1, ..]),
                c.view_mut(),
                Part::Lower,
            );
        }
    };
    if !wide || in_pool(&mut products).is_err() {
        products();
    }
}

/// Copies the lower triangle of the square `c` into its upper one (see [`mirrored_pairs`]).
pub fn mirror_lower(c: &mut Array2<f64>) {
    mirrored_pairs(c, |lower, _| (lower, lower));
}

/// Replaces each pair of entries `(c[i, j], c[j, i])`, `i > j`, of the square `c` (below and
/// above its diagonal) by `f(c[i, j], c[j, i])`, by tiles (each read and written within the
/// cache).
pub fn mirrored_pairs(c: &mut Array2<f64>, f: impl Fn(f64, f64) -> (f64, f64)) {
    const T: usize = 64;
    let d = c.nrows();
    for i0 in (0..d).step_by(T) {
        for j0 in (0..=i0).step_by(T) {
            for i in i0..(i0 + T).min(d) {
                for j in j0..(j0 + T).min(i) {
                    (c[[i, j]], c[[j, i]]) = f(c[[i, j]], c[[j, i]]);
                }
            }
        }
    }
}

/// The inverse of a lower-triangular matrix with a positive diagonal (itself lower-triangular);
/// an error when it does not fit in memory.
pub fn lower_triangular_inverse(l: ArrayView2<f64>) -> Result<Array2<f64>> {
    let d = l.nrows();
    if d >= BLOCKED_FROM {
        return in_pool(|| blocked_lower_triangular_inverse(l))?;
    }
    let mut inv = square("covariance", "inverse Cholesky factor", d)?;
    invert_unblocked(l, &mut inv);
    Ok(inv)
}

/// Writes the inverse of the lower-triangular `l` (positive diagonal) into `inv` (zero above
/// its diagonal), column by column.
fn invert_unblocked(l: ArrayView2<f64>, inv: &mut Array2<f64>) {
    let d = l.nrows();
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
}

/// The inverse `X = L^-1` from [`BLOCKED_FROM`] features on, recursively.
fn blocked_lower_triangular_inverse(l: ArrayView2<f64>) -> Result<Array2<f64>> {
    let d = l.nrows();
    let mut x = square("covariance", "inverse Cholesky factor", d)?;
    invert_recursive(l, x.view_mut())?;
    Ok(x)
}

/// Writes `L^-1` into `x` (zero on entry), recursively: with `L = [L11 0; L21 L22]`,
/// `L^-1 = [X11 0; X21 X22]` with `X11 = L11^-1`, `X22 = L22^-1` and `X21 = -X22 (L21 X11)`; an
/// error when a work space does not fit in memory.
fn invert_recursive(l: ArrayView2<f64>, x: ArrayViewMut2<f64>) -> Result<()> {
    let n = l.nrows();
    if n <= NB {
        let mut inv = Array2::<f64>::zeros((n, n));
        invert_unblocked(l, &mut inv);
        let mut x = x;
        x.assign(&inv);
        return Ok(());
    }
    let n1 = split(n);
    let (mut top, bottom) = x.split_at(Axis(0), n1);
    let (mut x21, mut x22) = bottom.split_at(Axis(1), n1);
    let (first, second) = rayon::join(
        || invert_recursive(l.slice(s![..n1, ..n1]), top.slice_mut(s![.., ..n1])),
        || invert_recursive(l.slice(s![n1.., n1..]), x22.view_mut()),
    );
    first?;
    second?;
    let err = || too_large("covariance", format!("a {n} x {n} inverse Cholesky factor"));
    let mut t = zeroed(n - n1, n1, err)?;
    lower_product_right(
        1.0,
        l.slice(s![n1.., ..n1]),
        top.slice(s![.., ..n1]),
        t.view_mut(),
    );
    lower_product_left(-1.0, x22.view(), t.view(), x21.view_mut());
    Ok(())
}

/// `out += alpha b l` for a lower-triangular `l` (its upper triangle is not read), recursively:
/// with `l = [l11 0; l21 l22]`, `out1 += alpha (b1 l11 + b2 l21)` and `out2 += alpha b2 l22`.
fn lower_product_right(
    alpha: f64,
    b: ArrayView2<f64>,
    l: ArrayView2<f64>,
    out: ArrayViewMut2<f64>,
) {
    let n = l.nrows();
    if n <= NB {
        let lower = Array2::from_shape_fn((n, n), |(i, j)| if j <= i { l[[i, j]] } else { 0.0 });
        gemm(alpha, b, lower.view(), out, Part::Whole);
        return;
    }
    let n1 = split(n);
    let (mut o1, o2) = out.split_at(Axis(1), n1);
    lower_product_right(
        alpha,
        b.slice(s![.., ..n1]),
        l.slice(s![..n1, ..n1]),
        o1.view_mut(),
    );
    gemm(
        alpha,
        b.slice(s![.., n1..]),
        l.slice(s![n1.., ..n1]),
        o1,
        Part::Whole,
    );
    lower_product_right(alpha, b.slice(s![.., n1..]), l.slice(s![n1.., n1..]), o2);
}

/// `out += alpha l b` for a lower-triangular `l` (its upper triangle is not read), recursively:
/// with `l = [l11 0; l21 l22]`, `out1 += alpha l11 b1` and `out2 += alpha (l21 b1 + l22 b2)`.
fn lower_product_left(alpha: f64, l: ArrayView2<f64>, b: ArrayView2<f64>, out: ArrayViewMut2<f64>) {
    let n = l.nrows();
    if n <= NB {
        let lower = Array2::from_shape_fn((n, n), |(i, j)| if j <= i { l[[i, j]] } else { 0.0 });
        gemm(alpha, lower.view(), b, out, Part::Whole);
        return;
    }
    let n1 = split(n);
    let (o1, mut o2) = out.split_at(Axis(0), n1);
    lower_product_left(alpha, l.slice(s![..n1, ..n1]), b.slice(s![..n1, ..]), o1);
    gemm(
        alpha,
        l.slice(s![n1.., ..n1]),
        b.slice(s![..n1, ..]),
        o2.view_mut(),
        Part::Whole,
    );
    lower_product_left(alpha, l.slice(s![n1.., n1..]), b.slice(s![n1.., ..]), o2);
}

/// The smallest eigenvalue of a symmetric matrix (only its lower triangle is read), in
/// `O(d^3)`: a Householder reduction to a tridiagonal matrix with the same eigenvalues, then
/// bisection on its Sturm sequences (Golub and Van Loan, *Matrix Computations*, 4th ed.,
/// algorithm 8.3.1 and section 8.4.1). The result is within a few rounding errors of the
/// matrix's norm (both steps are backward stable); an error when the working copy does not fit
/// in memory.
pub fn smallest_eigenvalue(a: ArrayView2<f64>) -> Result<f64> {
    let largest = a.iter().fold(0.0f64, |s, v| s.max(v.abs()));
    if a.iter().any(|v| !v.is_finite()) {
        return Err(crate::error::Error::param(
            "covariance",
            "holds a value that is not finite",
        ));
    }
    if a.nrows() == 0 || largest == 0.0 {
        return Ok(0.0);
    }
    // Far from 1, the matrix is scaled by a power of two (exactly) so that the reflections'
    // squares neither overflow nor underflow; the eigenvalue is scaled back.
    let exponent = largest.log2().round() as i32;
    if !(-500..=500).contains(&exponent) {
        let scale = 2f64.powi(exponent.clamp(-1000, 1000));
        let scaled = a.mapv(|v| v / scale);
        let (diag, off) = in_pool(|| tridiagonal(scaled.view()))??;
        return Ok(smallest_tridiagonal_eigenvalue(&diag, &off) * scale);
    }
    let (diag, off) = in_pool(|| tridiagonal(a))??;
    Ok(smallest_tridiagonal_eigenvalue(&diag, &off))
}

/// The width of a panel of columns in the reduction to tridiagonal form.
const PANEL: usize = 32;

/// The symmetric tridiagonal matrix `Q^T A Q` of a symmetric `a` (`Q` a product of Householder
/// reflections, only the lower triangle of `a` read): its diagonal (`d` values) and its
/// subdiagonal (`d - 1` values).
///
/// The reflections are applied by panels of [`PANEL`] columns (Golub and Van Loan, section
/// 8.3.1, and the blocked form of LAPACK's `dsytrd`): within a panel each reflection `v` and its
/// `w` (with the trailing matrix becoming `B - v w^T - w v^T`) are only recorded, the columns
/// of the panel are brought up to date one at a time as they are reached, and the rest of the
/// matrix takes all of the panel's reflections at once, as one matrix product. Each column
/// still needs one product of the trailing matrix with its `v`, read from the lower triangle
/// only; that pass over memory dominates.
fn tridiagonal(a: ArrayView2<f64>) -> Result<(Vec<f64>, Vec<f64>)> {
    let d = a.nrows();
    let err = || too_large("covariance", format!("a {d} x {d} covariance"));
    // The matrix being reduced: its lower triangle, row-major (the upper one is work space). A
    // panel's columns are brought up to date in a copy (`col`), never here: once reduced, a
    // column of `m` is not read again.
    let mut m = square("covariance", "covariance", d)?;
    for i in 0..d {
        for j in 0..=i {
            m[[i, j]] = a[[i, j]];
        }
    }
    // The panel's reflections `v` and their `w`, one column each; row `i` is the rows' `i`th
    // entries, zero above the row a reflection starts at.
    let mut vs = zeroed(d, PANEL, err)?;
    let mut ws = zeroed(d, PANEL, err)?;
    // `[V W]` and `[W V]` for the product of each panel.
    let mut vw = zeroed(d, 2 * PANEL, err)?;
    let mut wv = zeroed(d, 2 * PANEL, err)?;
    let mut diag = vec![0.0; d];
    let mut off = vec![0.0; d.saturating_sub(1)];
    let (mut y, mut t, mut col) = (vec![0.0; d], vec![0.0; 2 * PANEL], vec![0.0; d]);
    let mut parts = zeroed(d.div_ceil(PRODUCT_ROWS), d, err)?
        .into_raw_vec_and_offset()
        .0;
    let mut j0 = 0;
    while j0 < d {
        let width = PANEL.min(d - j0);
        vs.fill(0.0);
        ws.fill(0.0);
        for p in 0..width {
            let k = j0 + p;
            // Column `k`, from the diagonal down, taking the panel's earlier reflections, read
            // once into `col` (the rest of the reduction reads it there, never in `m`).
            let col = &mut col[..d - k];
            for (c, i) in col.iter_mut().zip(k..d) {
                *c = m[[i, k]];
            }
            if p > 0 {
                let (vk, wk) = (vs.row(k).to_owned(), ws.row(k).to_owned());
                let (vk, wk) = (
                    &vk.as_slice().expect("row")[..p],
                    &wk.as_slice().expect("row")[..p],
                );
                for (c, i) in col.iter_mut().zip(k..d) {
                    let (vi, wi) = (vs.row(i), ws.row(i));
                    let (vi, wi) = (vi.as_slice().expect("row"), wi.as_slice().expect("row"));
                    let mut s = 0.0;
                    for q in 0..p {
                        s += vi[q] * wk[q] + wi[q] * vk[q];
                    }
                    *c -= s;
                }
            }
            diag[k] = col[0];
            if k + 1 == d {
                break;
            }
            // The reflection `H = I - tau v v^T` that maps the column below the diagonal,
            // `x = col[1..]`, onto `beta e_1`.
            let x = &col[1..];
            let n = d - k - 1;
            let big = x.iter().fold(0.0f64, |s, v| s.max(v.abs()));
            if big == 0.0 {
                off[k] = 0.0;
                continue;
            }
            // The norm of `x`, scaled by its largest value (no overflow, no underflow).
            let norm = big * x.iter().map(|v| (v / big) * (v / big)).sum::<f64>().sqrt();
            let x0 = x[0];
            // `beta` of the sign opposite to `x_0`: `v_0 = x_0 - beta` adds two numbers of the
            // same sign (no cancellation).
            let beta = if x0 > 0.0 { -norm } else { norm };
            off[k] = beta;
            for (i, v) in (k + 1..d).zip(x) {
                vs[[i, p]] = *v;
            }
            vs[[k + 1, p]] -= beta;
            // `v^T v = 2 norm (norm + |x_0|)`, so `tau = 2 / v^T v`.
            let tau = 1.0 / (norm * (norm + x0.abs()));
            // `y = B v`, `B` the trailing matrix `m[k + 1.., k + 1..]` less the panel's
            // earlier reflections: `y = M v - V (W^T v) - W (V^T v)`.
            let v: Vec<f64> = (k + 1..d).map(|i| vs[[i, p]]).collect();
            let y = &mut y[..n];
            lower_symmetric_product(&m, k + 1, &v, y, &mut parts);
            if p > 0 {
                let (wtv, vtv) = t.split_at_mut(PANEL);
                let (wtv, vtv) = (&mut wtv[..p], &mut vtv[..p]);
                wtv.fill(0.0);
                vtv.fill(0.0);
                // Row by row, each sum over the rows in order.
                for (i, &vi) in v.iter().enumerate() {
                    let (wr, vr) = (ws.row(k + 1 + i), vs.row(k + 1 + i));
                    let (wr, vr) = (wr.as_slice().expect("row"), vr.as_slice().expect("row"));
                    for q in 0..p {
                        wtv[q] += wr[q] * vi;
                        vtv[q] += vr[q] * vi;
                    }
                }
                for (i, yi) in y.iter_mut().enumerate() {
                    let (vr, wr) = (vs.row(k + 1 + i), ws.row(k + 1 + i));
                    let mut s = 0.0;
                    for q in 0..p {
                        s += vr[q] * wtv[q] + wr[q] * vtv[q];
                    }
                    *yi -= s;
                }
            }
            // `w = tau y - (tau^2 y^T v / 2) v`.
            let half = 0.5 * tau * tau * dot(y, &v);
            for (i, (&yi, &vi)) in y.iter().zip(&v).enumerate() {
                ws[[k + 1 + i, p]] = tau * yi - half * vi;
            }
        }
        // The rest, `m[j1.., j1..]`, takes the panel's reflections at once:
        // `m -= [V W] [W V]^T`, one product on its lower triangle.
        let j1 = j0 + width;
        if j1 < d {
            let (v, w) = (vs.slice(s![j1.., ..width]), ws.slice(s![j1.., ..width]));
            let mut left = vw.slice_mut(s![j1.., ..2 * width]);
            left.slice_mut(s![.., ..width]).assign(&v);
            left.slice_mut(s![.., width..]).assign(&w);
            let mut right = wv.slice_mut(s![j1.., ..2 * width]);
            right.slice_mut(s![.., ..width]).assign(&w);
            right.slice_mut(s![.., width..]).assign(&v);
            subtract_lower_products(
                m.slice_mut(s![j1.., j1..]),
                vw.slice(s![j1.., ..2 * width]),
                wv.slice(s![j1.., ..2 * width]),
            );
        }
        j0 = j1;
    }
    Ok((diag, off))
}

/// The rows of the trailing matrix that one task of [`lower_symmetric_product`] takes.
const PRODUCT_ROWS: usize = 128;

/// `y = B v` for the symmetric trailing matrix `B = m[k.., k..]` of which only the lower
/// triangle is read, in one pass over its rows. The rows go by blocks of [`PRODUCT_ROWS`]
/// (spread over the current pool; the blocks depend on the size alone, so the result does not
/// depend on the thread count): a row gives its own `y_i` its dot product with `v`, and adds its
/// entries times `v_i` to its block's sums for the `y_j` before it; the blocks' sums are then
/// added in order. `parts` is the work space of those sums.
fn lower_symmetric_product(m: &Array2<f64>, k: usize, v: &[f64], y: &mut [f64], parts: &mut [f64]) {
    let n = v.len();
    let d = m.ncols();
    let mrow = m.as_slice().expect("row-major");
    let parts = &mut parts[..n.div_ceil(PRODUCT_ROWS) * n];
    let isa = Isa::current();
    parts
        .par_chunks_mut(n)
        .zip(y.par_chunks_mut(PRODUCT_ROWS))
        .enumerate()
        .for_each(|(c, (part, own))| {
            let rows = RowBlock {
                m: mrow,
                d,
                k,
                r0: c * PRODUCT_ROWS,
            };
            match isa.level() {
                #[cfg(target_arch = "x86_64")]
                Level::Avx2 | Level::Avx512 => {
                    // SAFETY: the processor has AVX2 and FMA (an `Isa` is made only for what it
                    // has), the features the function is compiled for.
                    unsafe { rows.product_fma(v, own, part) }
                }
                _ => rows.product(v, own, part),
            }
        });
    for part in parts.chunks(n) {
        for (yj, pj) in y.iter_mut().zip(part) {
            *yj += pj;
        }
    }
}

/// A block of rows of the trailing matrix in [`lower_symmetric_product`]: rows `r0..` of
/// `m[k.., k..]`, `m` row-major with `d` columns.
struct RowBlock<'a> {
    m: &'a [f64],
    d: usize,
    k: usize,
    r0: usize,
}

impl RowBlock<'_> {
    /// Row `i` of the trailing matrix up to its diagonal.
    #[inline(always)]
    fn row(&self, i: usize) -> &[f64] {
        let start = (self.k + i) * self.d + self.k;
        &self.m[start..start + i + 1]
    }

    /// The block's part of the product (its rows' own sums into `own`, the sums for the
    /// entries before each row into `part`), in a fixed order of fused multiply-adds: the
    /// same numbers whichever instructions carry them out.
    #[inline(always)]
    fn product(&self, v: &[f64], own: &mut [f64], part: &mut [f64]) {
        part.fill(0.0);
        let end = self.r0 + own.len();
        let mut i = self.r0;
        // Four rows at a time, four entries at a time: each `part[j]` is read and written once
        // for the four rows.
        while i + 4 <= end {
            let rows = [
                self.row(i),
                self.row(i + 1),
                self.row(i + 2),
                self.row(i + 3),
            ];
            let vi = [v[i], v[i + 1], v[i + 2], v[i + 3]];
            let mut s = [[0.0f64; 4]; 4];
            let whole = i / 4 * 4;
            for j in (0..whole).step_by(4) {
                let vj: [f64; 4] = v[j..j + 4].try_into().expect("four");
                let mut h: [f64; 4] = part[j..j + 4].try_into().expect("four");
                for q in 0..4 {
                    let r: [f64; 4] = rows[q][j..j + 4].try_into().expect("four");
                    for l in 0..4 {
                        s[q][l] = r[l].mul_add(vj[l], s[q][l]);
                        h[l] = r[l].mul_add(vi[q], h[l]);
                    }
                }
                part[j..j + 4].copy_from_slice(&h);
            }
            for q in 0..4 {
                let mut t = (s[q][0] + s[q][1]) + (s[q][2] + s[q][3]);
                // The rest of the row up to its diagonal, then the diagonal.
                for j in whole..i + q {
                    t = rows[q][j].mul_add(v[j], t);
                    part[j] = rows[q][j].mul_add(vi[q], part[j]);
                }
                own[i + q - self.r0] = rows[q][i + q].mul_add(vi[q], t);
            }
            i += 4;
        }
        while i < end {
            let r = self.row(i);
            let mut t = 0.0;
            for j in 0..i {
                t = r[j].mul_add(v[j], t);
                part[j] = r[j].mul_add(v[i], part[j]);
            }
            own[i - self.r0] = r[i].mul_add(v[i], t);
            i += 1;
        }
    }

    /// [`product`](Self::product) compiled for AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn product_fma(&self, v: &[f64], own: &mut [f64], part: &mut [f64]) {
        self.product(v, own, part)
    }
}

/// `sum a_i b_i`, in four interleaved sums (so that the additions can run side by side).
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut s = [0.0f64; 4];
    let (ac, bc) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = ac
        .remainder()
        .iter()
        .zip(bc.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ac.zip(bc) {
        for q in 0..4 {
            s[q] += x[q] * y[q];
        }
    }
    (s[0] + s[1]) + (s[2] + s[3]) + tail
}

/// The smallest eigenvalue of the symmetric tridiagonal matrix of diagonal `diag` and
/// subdiagonal `off`, by bisection: the number of eigenvalues below `x` is the number of
/// negative terms of the Sturm sequence `q_0 = diag_0 - x`,
/// `q_i = diag_i - x - off_{i-1}^2 / q_{i-1}`, and the Gershgorin discs bound them all.
fn smallest_tridiagonal_eigenvalue(diag: &[f64], off: &[f64]) -> f64 {
    let d = diag.len();
    let radius = |i: usize| {
        (if i > 0 { off[i - 1].abs() } else { 0.0 }) + off.get(i).map_or(0.0, |b| b.abs())
    };
    let mut lo = (0..d)
        .map(|i| diag[i] - radius(i))
        .fold(f64::INFINITY, f64::min);
    let mut hi = (0..d)
        .map(|i| diag[i] + radius(i))
        .fold(f64::NEG_INFINITY, f64::max);
    // A pivot this small is taken as this small and negative (a zero pivot would divide by
    // zero).
    let largest_off = off.iter().fold(0.0f64, |s, b| s.max(b * b));
    let pivmin = f64::MIN_POSITIVE * largest_off.max(1.0);
    let below = |x: f64| -> usize {
        let mut count = 0;
        let mut q = 1.0;
        for i in 0..d {
            let b2 = if i > 0 { off[i - 1] * off[i - 1] } else { 0.0 };
            q = diag[i] - x - if i > 0 { b2 / q } else { 0.0 };
            if q.abs() < pivmin {
                q = -pivmin;
            }
            if q < 0.0 {
                count += 1;
            }
        }
        count
    };
    // Halve the bracket `(lo, hi]` until no number lies strictly between its ends (at most a
    // few thousand steps of `O(d)`, far less than the reduction): an eigenvalue that is a
    // number, such as the exact zero of a constant feature, comes out exactly.
    // (A bracket of finite ends halves to adjacent numbers in fewer than 2,100 steps; the cap
    // only guards against a bracket that is not a pair of numbers.)
    for _ in 0..2_200 {
        let mid = 0.5 * lo + 0.5 * hi;
        if mid <= lo || mid >= hi || mid.is_nan() {
            return hi;
        }
        if below(mid) >= 1 {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array1, ArrayView1};

    /// A symmetric positive definite matrix of `d` features, well conditioned but not diagonal.
    fn spd(d: usize) -> Array2<f64> {
        let b = Array2::from_shape_fn((d, d), |(i, j)| {
            (((i * 7919 + j * 104_729) % 1000) as f64 / 1000.0 - 0.5) / (d as f64).sqrt()
        });
        let mut a = b.dot(&b.t());
        a.diag_mut().mapv_inplace(|v| v + 1.0);
        a
    }

    #[test]
    fn blocked_products_are_the_lower_triangle_mirrored() {
        let (n, d) = (300, BLOCKED_FROM + 21);
        let z = Array2::from_shape_fn((n, d), |(i, j)| ((i * 31 + j * 17) % 23) as f64 - 11.0);
        let wz = &z * 0.5;
        let mut c = Array2::<f64>::zeros((d, d));
        add_products(z.view(), wz.view(), &mut c);
        add_products(z.view(), wz.view(), &mut c);
        let full = z.t().dot(&wz) * 2.0;
        // Integer-valued sums: exact.
        assert_eq!(c, full);
        let pool = |t| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .unwrap()
        };
        let zf = z.mapv(|v| v * 0.1 + 0.01);
        let run = |t| {
            pool(t).install(|| {
                let mut c = Array2::<f64>::zeros((d, d));
                add_products(zf.view(), zf.view(), &mut c);
                c
            })
        };
        assert_eq!(run(1), run(3));
    }

    #[test]
    fn products_by_chunks_of_rows_are_the_products_of_all_rows_at_once() {
        let (n, d) = (2 * CHUNK_ROWS + 77, BLOCKED_FROM + 5);
        let z = Array2::from_shape_fn((n, d), |(i, j)| {
            ((i * 7919 + j * 104_729) % 1_000_003) as f64 / 1_000_003.0 - 0.5
        });
        let wz = z.mapv(|v| v * 0.75 + 0.125);
        let mut chunked = Array2::<f64>::zeros((d, d));
        add_products(z.view(), wz.view(), &mut chunked);
        let mut whole = Array2::<f64>::zeros((d, d));
        gemm(1.0, z.t(), wz.view(), whole.view_mut(), Part::Lower);
        for i in 0..d {
            for j in 0..=i {
                assert_eq!(chunked[[i, j]].to_bits(), whole[[i, j]].to_bits());
                assert_eq!(chunked[[j, i]].to_bits(), whole[[i, j]].to_bits());
            }
        }
    }

    #[test]
    fn tridiagonal_form_is_thread_independent_and_keeps_the_spectrum() {
        // A = H diag(lambda) H with H = I - 2 u u^T / u^T u a reflection: the eigenvalues are
        // the lambdas, the smallest one negative and apart from the rest.
        let d = 2 * PRODUCT_ROWS + 3 * PANEL + 5;
        let u = Array1::from_shape_fn(d, |i| ((i * 37 % 101) as f64 - 50.0) / 50.0);
        let h = Array2::<f64>::eye(d)
            - Array2::from_shape_fn((d, d), |(i, j)| u[i] * u[j]) * (2.0 / u.dot(&u));
        let lambda =
            Array1::from_shape_fn(d, |i| if i == 7 { -0.75 } else { 1.0 + (i % 13) as f64 });
        let a = h.dot(&Array2::from_diag(&lambda)).dot(&h);
        let run = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| tridiagonal(a.view()).unwrap())
        };
        let (diag, off) = run(1);
        for t in [2, 3] {
            assert_eq!(run(t), (diag.clone(), off.clone()), "{t} threads");
        }
        // The trace is kept, and the smallest eigenvalue comes out to rounding.
        let trace: f64 = lambda.sum();
        assert!((diag.iter().sum::<f64>() - trace).abs() < 1e-10 * trace);
        let got = smallest_tridiagonal_eigenvalue(&diag, &off);
        assert!(
            (got + 0.75).abs() < 64.0 * f64::EPSILON * 14.0 * d as f64,
            "{got}"
        );
    }

    #[test]
    fn blocked_factors_are_exact_to_rounding_and_thread_independent() {
        for d in [BLOCKED_FROM, BLOCKED_FROM + 37, 2 * NB * 3 + 5] {
            let a = spd(d);
            let run = |threads: usize| {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                pool.install(|| {
                    let l = cholesky(a.view()).unwrap().unwrap();
                    let inv = lower_triangular_inverse(l.view()).unwrap();
                    (l, inv)
                })
            };
            let (l, inv) = run(1);
            for t in [2, 3] {
                let (l2, inv2) = run(t);
                assert_eq!(l, l2, "d = {d}, {t} threads");
                assert_eq!(inv, inv2, "d = {d}, {t} threads");
            }
            // The same matrix in column-major order, or as a strided view: the same factor.
            let fortran = a.t().as_standard_layout().into_owned().reversed_axes();
            let mut wide = Array2::from_elem((d, 2 * d), f64::NAN);
            wide.slice_mut(s![.., ..;2]).assign(&a);
            for other in [fortran.view(), wide.slice(s![.., ..;2])] {
                assert_eq!(cholesky(other).unwrap().unwrap(), l, "d = {d}");
            }
            // Lower-triangular, L L^T = A and L^-1 L = I to rounding.
            for i in 0..d {
                for j in (i + 1)..d {
                    assert_eq!((l[[i, j]], inv[[i, j]]), (0.0, 0.0), "({i}, {j})");
                }
            }
            let back = l.dot(&l.t());
            let err = (&back - &a).iter().fold(0.0f64, |m, v| m.max(v.abs()));
            assert!(err < 1e-13, "d = {d}: |L L^T - A| = {err}");
            let mut eye = inv.dot(&l);
            eye.diag_mut().mapv_inplace(|v| v - 1.0);
            let err = eye.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            assert!(err < 1e-13, "d = {d}: |L^-1 L - I| = {err}");
        }
        // Not positive definite: the pivot of the last block fails, or one of a block factored
        // beside the update of the rest (on a pool of threads), on any number of threads.
        let d = BLOCKED_FROM + 10;
        // (At d = 202: the last base block, the first block factored beside an update, one of
        // the next level of those, and a block of the leading half.)
        for pivot in [d - 1, d / 2 + 3, d - 37, d / 4 + 1] {
            for v in [-1.0, f64::NAN] {
                let mut a = spd(d);
                a[[pivot, pivot]] = v;
                for threads in [1, 2, 3] {
                    let pool = rayon::ThreadPoolBuilder::new()
                        .num_threads(threads)
                        .build()
                        .unwrap();
                    assert!(pool.install(|| cholesky(a.view()).unwrap().is_none()));
                }
                assert!(cholesky(a.view()).unwrap().is_none());
            }
        }
    }

    #[test]
    fn triangular_solves_are_substitution_row_by_row() {
        // Forward substitution of one row by fused multiply-adds, in the order of the columns.
        let plain = |l: &Array2<f64>, b: ArrayView1<f64>| {
            let mut x = b.to_owned();
            for j in 0..l.nrows() {
                for t in 0..j {
                    x[j] = (-x[t]).mul_add(l[[j, t]], x[j]);
                }
                x[j] /= l[[j, j]];
            }
            x
        };
        for (n, m) in [(1, 3), (5, 7), (BASE, NB + 3), (BASE + 1, 2), (250, 130)] {
            let l = cholesky(spd(n).view()).unwrap().unwrap();
            let b = Array2::from_shape_fn((m, n), |(i, j)| ((i * 13 + j * 7) % 19) as f64 - 9.5);
            let pool = |t| {
                rayon::ThreadPoolBuilder::new()
                    .num_threads(t)
                    .build()
                    .unwrap()
            };
            let solve = |rows: ArrayView2<f64>, threads: usize| {
                let mut x = rows.to_owned();
                pool(threads).install(|| solve_lower_transposed(x.view_mut(), l.view()));
                x
            };
            let x = solve(b.view(), 1);
            // Chunks of rows for 2, 3 and 8 threads (the last of the fewest rows a chunk takes),
            // and rows in column-major order.
            let fortran = b.t().as_standard_layout().into_owned().reversed_axes();
            for t in [2, 3, 8] {
                assert_eq!(x, solve(b.view(), t), "n = {n}, {t} threads");
                assert_eq!(
                    x,
                    solve(fortran.view(), t),
                    "n = {n}, {t} threads, column-major"
                );
            }
            for (i, row) in b.rows().into_iter().enumerate() {
                // A row's result does not depend on the rows solved beside it.
                assert_eq!(solve(b.slice(s![i..i + 1, ..]), 2).row(0), x.row(i));
                let want = plain(&l, row);
                if n <= BASE {
                    assert_eq!(x.row(i), want, "n = {n}, row {i}");
                } else {
                    // The products sum by blocks: the same to rounding.
                    for (g, w) in x.row(i).iter().zip(&want) {
                        assert!((g - w).abs() <= 1e-12 * w.abs().max(1.0), "{g} vs {w}");
                    }
                }
            }
        }
        // A row with a NaN or an infinity changes no other row.
        let l = cholesky(spd(40).view()).unwrap().unwrap();
        let mut b = Array2::from_shape_fn((3, 40), |(i, j)| (i + j) as f64);
        let mut clean = b.clone();
        solve_lower_transposed(clean.view_mut(), l.view());
        b[[1, 3]] = f64::NAN;
        b[[2, 0]] = f64::INFINITY;
        solve_lower_transposed(b.view_mut(), l.view());
        assert_eq!(b.row(0), clean.row(0));
        assert!(b.row(1).iter().any(|v| v.is_nan()));
        assert!(b.row(2).iter().any(|v| !v.is_finite()));
    }

    #[test]
    fn smallest_eigenvalue_of_huge_tiny_and_degenerate_matrices() {
        // All ones times s: eigenvalues 0, 0 and 3 s, at scales where the squares overflow.
        for s in [1e154, 1e200, 1e-200, 1e300] {
            let a = Array2::from_elem((3, 3), s);
            let ev = smallest_eigenvalue(a.view()).unwrap();
            assert!(ev.abs() <= 1e-12 * s, "{s}: {ev}");
            let b = Array2::from_diag(&ndarray::arr1(&[2.0 * s, s, 3.0 * s]));
            let ev = smallest_eigenvalue(b.view()).unwrap();
            assert!((ev - s).abs() <= 4.0 * f64::EPSILON * s, "{s}: {ev}");
        }
        assert_eq!(
            smallest_eigenvalue(Array2::<f64>::zeros((0, 0)).view()).unwrap(),
            0.0
        );
        assert_eq!(
            smallest_eigenvalue(Array2::<f64>::zeros((4, 4)).view()).unwrap(),
            0.0
        );
        let mut bad = Array2::<f64>::eye(3);
        bad[[1, 1]] = f64::NAN;
        assert!(smallest_eigenvalue(bad.view()).is_err());
        bad[[1, 1]] = f64::INFINITY;
        assert!(smallest_eigenvalue(bad.view()).is_err());
    }

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

    /// The eigenvalues of a symmetric matrix, by the cyclic Jacobi method (ascending order): the
    /// reference of the tests.
    fn symmetric_eigenvalues(a: ArrayView2<f64>) -> Vec<f64> {
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

    #[test]
    fn smallest_eigenvalues() {
        let ev = symmetric_eigenvalues(array![[2.0, 1.0], [1.0, 2.0]].view());
        assert!((ev[0] - 1.0).abs() < 1e-12 && (ev[1] - 3.0).abs() < 1e-12);
        let cases = [
            (array![[2.0, 1.0], [1.0, 2.0]], 1.0),
            (array![[1.0, 2.0], [2.0, 1.0]], -1.0),
            (array![[5.0]], 5.0),
            (array![[0.0, 0.0], [0.0, 0.0]], 0.0),
            (
                array![[4.0, 0.0, 0.0], [0.0, -2.0, 0.0], [0.0, 0.0, 3.0]],
                -2.0,
            ),
        ];
        for (a, want) in cases {
            let got = smallest_eigenvalue(a.view()).unwrap();
            assert!((got - want).abs() < 1e-14, "{a}: {got} vs {want}");
        }
    }

    #[test]
    fn smallest_eigenvalue_agrees_with_jacobi() {
        // Full rank, and rank one (two rows' covariance, the repair's case), in a few sizes:
        // within one panel of the reduction, and over several (the blocked update).
        let mut seed = 7u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        for d in [1, 2, 3, 5, 8, 17, 40, PANEL, PANEL + 1, 3 * PANEL + 7, 160] {
            let b = Array2::from_shape_fn((d, d), |_| next());
            let full = b.t().dot(&b);
            let x = Array2::from_shape_fn((2, d), |_| next() * 10.0);
            let c = &x.row(0) - &x.row(1);
            let rank_one = Array2::from_shape_fn((d, d), |(i, j)| 0.25 * c[i] * c[j]);
            let shifted = &full - &Array2::<f64>::eye(d);
            for a in [full, rank_one, shifted] {
                let norm = a.iter().map(|v| v * v).sum::<f64>().sqrt();
                let want = symmetric_eigenvalues(a.view())[0];
                let got = smallest_eigenvalue(a.view()).unwrap();
                assert!(
                    (got - want).abs() <= 64.0 * f64::EPSILON * norm,
                    "d = {d}: {got} vs {want}"
                );
            }
        }
        // An empty matrix has an empty tridiagonal form.
        let (diag, off) = tridiagonal(Array2::<f64>::zeros((0, 0)).view()).unwrap();
        assert!(diag.is_empty() && off.is_empty());
    }
}
