//! The kernels of k-means: squared distances of rows to a centroid (NaN coordinates skipped or
//! not), the passes of k-means++, the nearest centroids and sums of a block of a Lloyd pass, and
//! the helpers the passes share with the E-step (the check for NaN, the prefetch of rows).
//!
//! A distance is summed in four lanes, coordinate `t` in lane `t % 4`, the lanes combined as
//! `(0 + 1) + (2 + 3)`, on every [`Isa`]. The entry points that k-means calls ([`any_nan`],
//! [`nearest_rows`], [`assign_block`]) take the kernel path of [`Isa::current`] once per call;
//! their `_with` versions and the others take it as an argument.

use super::dispatch::{Isa, Level};
#[cfg(target_arch = "x86_64")]
use super::x86::avx2;
use crate::parallel::BLOCK_ROWS;

/// The squared distances of the `n x d` rows `x` to the point `c` (`d`), into `out` (`n`),
/// coordinate `t` in lane `t % 4` and the lanes combined as `(0 + 1) + (2 + 3)`, NaN
/// coordinates skipped (unless `nan_free`, when `x` has none and `c` none either); the
/// arithmetic of k-means' row distances, on the kernel path `isa`.
pub(crate) fn row_distances(isa: Isa, x: &[f64], c: &[f64], nan_free: bool, out: &mut [f64]) {
    match isa.level() {
        #[cfg(target_arch = "x86_64")]
        Level::Avx2 | Level::Avx512 if c.len() >= 4 => {
            // SAFETY: the processor has AVX2 and FMA (an `Isa` is made only for what it has), the
            // features the function is compiled for.
            unsafe { avx2::row_distances(x, c, nan_free, out) }
        }
        _ => {
            let d = c.len().max(1);
            for (o, row) in out.iter_mut().zip(x.chunks_exact(d)) {
                *o = lane_distance(row, c);
            }
        }
    }
}

/// A pass of k-means++ over the `n x d` rows `x` (`d = c.len()`): each row's squared distance
/// to the new centroid `c` (as [`row_distances`] computes it); where it is below the row's
/// nearest so far `o[i]`, that becomes it and `j[i]` becomes `label` (when `j` is given); then
/// `o[i] * w[i]` is added to `lanes[i % 4]`. On the kernel path of [`Isa::current`].
pub(crate) fn nearest_rows(
    x: &[f64],
    c: &[f64],
    nan_free: bool,
    update: (&mut [f64], Option<&mut [u32]>, u32),
    w: &[f64],
    lanes: &mut [f64; 4],
) {
    nearest_rows_with(Isa::current(), x, c, nan_free, update, w, lanes)
}

/// [`nearest_rows`] on the kernel path `isa`.
pub(crate) fn nearest_rows_with(
    isa: Isa,
    x: &[f64],
    c: &[f64],
    nan_free: bool,
    (o, j, label): (&mut [f64], Option<&mut [u32]>, u32),
    w: &[f64],
    lanes: &mut [f64; 4],
) {
    match isa.level() {
        #[cfg(target_arch = "x86_64")]
        Level::Avx2 | Level::Avx512 if c.len() >= 4 => {
            // SAFETY: the processor has AVX2 and FMA (an `Isa` is made only for what it has), the
            // features the function is compiled for.
            unsafe { avx2::nearest_rows(x, c, nan_free, (o, j, label), w, lanes) }
        }
        _ => nearest_rows_from(0, x, c, (o, j, label), w, lanes),
    }
}

/// [`nearest_rows`] one row at a time, from row `from`.
#[inline(always)]
pub(crate) fn nearest_rows_from(
    from: usize,
    x: &[f64],
    c: &[f64],
    (o, mut j, label): (&mut [f64], Option<&mut [u32]>, u32),
    w: &[f64],
    lanes: &mut [f64; 4],
) {
    let d = c.len().max(1);
    let n = o.len().min(w.len()).min(x.len() / d);
    for i in from..n {
        let dist = lane_distance(&x[i * d..(i + 1) * d], c);
        if dist < o[i] {
            o[i] = dist;
            if let Some(j) = j.as_deref_mut() {
                j[i] = label;
            }
        }
        lanes[i % 4] += o[i] * w[i];
    }
}

/// Asks the processor to bring `xs` into its second-level cache, ahead of its use (nothing on
/// other processors).
#[inline]
pub(crate) fn prefetch<T>(xs: &[T]) {
    #[cfg(target_arch = "x86_64")]
    for i in (0..xs.len()).step_by((64 / std::mem::size_of::<T>()).max(1)) {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T1};
        // SAFETY: `i < xs.len()`; a prefetch reads nothing the program sees.
        unsafe { _mm_prefetch::<_MM_HINT_T1>(xs.as_ptr().add(i).cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = xs;
}

/// One row's squared distance to `c`, in the lanes of [`row_distances`], NaN coordinates
/// skipped.
#[inline]
pub(crate) fn lane_distance(a: &[f64], b: &[f64]) -> f64 {
    let mut s = [0.0; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for t in 0..4 {
            let v = x[t] - y[t];
            s[t] += if v.is_nan() { 0.0 } else { v * v };
        }
    }
    for (t, (x, y)) in ra.iter().zip(rb).enumerate() {
        let v = x - y;
        s[t] += if v.is_nan() { 0.0 } else { v * v };
    }
    (s[0] + s[1]) + (s[2] + s[3])
}

/// Whether any of `xs` is NaN, on the kernel path of [`Isa::current`].
pub(crate) fn any_nan(xs: &[f64]) -> bool {
    has_nan(Isa::current(), xs)
}

/// Whether any of `xs` is NaN, on the kernel path `isa`.
pub(crate) fn has_nan(isa: Isa, xs: &[f64]) -> bool {
    match isa.level() {
        #[cfg(target_arch = "x86_64")]
        Level::Avx2 | Level::Avx512 => {
            // SAFETY: the processor has AVX2 and FMA (an `Isa` is made only for what it has), the
            // features the function is compiled for.
            unsafe { avx2::has_nan(xs) }
        }
        Level::Portable => xs
            .chunks(8)
            .any(|c| c.iter().fold(false, |a, v| a | v.is_nan())),
    }
}

/// Work space of [`assign_block`].
pub(crate) struct AssignScratch {
    best_d: [f64; BLOCK_ROWS],
    best_j: [u64; BLOCK_ROWS],
    dist: [f64; BLOCK_ROWS],
}

impl AssignScratch {
    /// Work space for blocks of up to [`BLOCK_ROWS`] rows.
    pub(crate) fn new() -> AssignScratch {
        AssignScratch {
            best_d: [0.0; BLOCK_ROWS],
            best_j: [0; BLOCK_ROWS],
            dist: [0.0; BLOCK_ROWS],
        }
    }
}

/// The sums, weights and distance of a Lloyd pass as slices: `k x d`, `k x d`, a number.
pub(crate) type AssignSums<'a> = (&'a mut [f64], &'a mut [f64], &'a mut f64);

/// A block of contiguous rows `xs` without NaN and centroids `cs` (`k x d`) without NaN: each
/// row's first nearest centroid, and the row added to its sums, with the additions of k-means'
/// general loop (one row at a time) in the same order. On the kernel path of [`Isa::current`].
pub(crate) fn assign_block(
    xs: &[f64],
    cs: &[f64],
    w: &[f64],
    s: &mut AssignScratch,
    out: &mut AssignSums,
) {
    assign_block_with(Isa::current(), xs, cs, w, s, out)
}

/// [`assign_block`] on the kernel path `isa`.
pub(crate) fn assign_block_with(
    isa: Isa,
    xs: &[f64],
    cs: &[f64],
    w: &[f64],
    s: &mut AssignScratch,
    out: &mut AssignSums,
) {
    match isa.level() {
        #[cfg(target_arch = "x86_64")]
        Level::Avx2 | Level::Avx512 => {
            // SAFETY: the processor has AVX2 and FMA (an `Isa` is made only for what it has), the
            // features the function is compiled for.
            unsafe { assign_block_avx2(isa, xs, cs, w, s, out) }
        }
        Level::Portable => assign_block_t(isa, xs, cs, w, s, out),
    }
}

/// [`assign_block_t`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn assign_block_avx2(
    isa: Isa,
    xs: &[f64],
    cs: &[f64],
    w: &[f64],
    s: &mut AssignScratch,
    out: &mut AssignSums,
) {
    assign_block_t(isa, xs, cs, w, s, out)
}

/// [`assign_block`], its distances on the kernel path `isa`.
#[inline(always)]
fn assign_block_t(
    isa: Isa,
    xs: &[f64],
    cs: &[f64],
    w: &[f64],
    s: &mut AssignScratch,
    out: &mut AssignSums,
) {
    let m = w.len();
    let d = xs.len() / m.max(1);
    let (bd, bj) = (&mut s.best_d[..m], &mut s.best_j[..m]);
    bd.fill(f64::INFINITY);
    bj.fill(0);
    for (j, c) in cs.chunks_exact(d).enumerate() {
        let db = &mut s.dist[..m];
        row_distances(isa, xs, c, true, db);
        // The first nearest, without branches.
        for ((b, bi), &dv) in bd.iter_mut().zip(bj.iter_mut()).zip(db.iter()) {
            let closer = dv < *b;
            *b = if closer { dv } else { *b };
            *bi = if closer { j as u64 } else { *bi };
        }
    }
    let (sums, weights, distance) = out;
    for (((row, &dv), &j), &wi) in xs.chunks_exact(d).zip(bd.iter()).zip(bj.iter()).zip(w) {
        let j = j as usize;
        **distance += wi * dv;
        for (s, &v) in sums[j * d..(j + 1) * d].iter_mut().zip(row) {
            *s += wi * v;
        }
        for s in weights[j * d..(j + 1) * d].iter_mut() {
            *s += wi;
        }
    }
}
