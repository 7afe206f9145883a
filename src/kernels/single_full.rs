//! The full-covariance kernels in `f32` lanes, for blocks of `f32` rows of full-covariance plans
//! (paths [`Small`](super::plan::Path::Small) and [`Full`](super::plan::Path::Full), in fewer
//! than [`MAX_FEATURES`] features), transposed as `f32`: the centred rows, the quadratic forms
//! `|L^-1 (x - mu)|^2` and the moments of each component eight rows to a vector (twice the
//! values per instruction of the `f64` kernels; on AVX-512 sixteen: the centred rows and the
//! forms a row to a lane as in eight, the products of the moments two sums of eight lanes to a
//! vector, see [`place`]), the sums that outlive a block in `f64`. (The
//! E-step of the path `Small` takes its blocks a tile at a time through the log-densities and
//! the responsibilities instead, with these parameters and this accuracy:
//! [`small_tiles32`](super::small::small_tiles32).)
//!
//! **Accuracy.** Each component's rows are centred on its own means, held in two `f32` parts as
//! in [`single`](super::single), as `(x - hi) - lo`, so a centred value keeps the relative
//! precision of `f32` however far the data sit from zero. The quadratic forms multiply the
//! centred rows by `L^-1` rounded to `f32`; a value `y_r = sum_c A_rc z_c` of `L^-1 z` then
//! carries `f32`'s rounding of its terms, about `6e-8 sum_c |A_rc z_c|`, which is large beside
//! `y_r` (of the order of 1 near the component) when the features are strongly correlated. So a
//! plan has these kernels only when every component is well-conditioned for them:
//! [`condition`] at most [`CONDITION_LIMIT`] (above it, the `f64` kernels). The measure is that
//! of the correlations (the features scaled to unit variance), since the rounding does not
//! change with the units of a feature. A form, a sum of squares in `f32`, is widened to `f64` before it is taken from the
//! constant. The moments of a block sum at most `BLOCK_ROWS / 8` rows per lane in `f32`, the
//! responsibilities scaled by a power of two per block (see
//! [`tile_scale`](super::single::tile_scale)), the lanes combined and added into `f64` once per
//! block.
//!
//! **Range.** [`SingleFull::limit`] is the largest `|x|` for which neither a form nor a block's
//! moments can overflow `f32`; a block with a larger value (or a NaN) takes the `f64` kernels
//! (see [`Plan::load`](super::plan::Plan::load)).
//!
//! **Order.** The values of a row stay in their lane from the centring to the form, each a
//! chain of operations in the order of the features (the same whatever the shape of the tiles,
//! which differs between kernel paths); the moments' lanes take the rows in the same places on
//! every path. So the results are the same bits on every kernel path and for any number of
//! threads.

use super::dispatch::{Isa, Level};
use super::portable::{padded, panel_width, panels_len};
use super::single::{
    limit, max_abs_bits, padded8, tile_scale, transpose_eights, AnyLanes32, Lanes32, Oct, WIDTH,
};
#[cfg(target_arch = "x86_64")]
use super::x86::single as x86_single;
use crate::error::{Error, Result};
use crate::parallel::BLOCK_ROWS;
use crate::validate::zeroed_vec;
use ndarray::ArrayView2;

/// The largest [`condition`] of a component for the `f32` kernels: the quadratic forms of rows a
/// few standard deviations from the mean then keep about `1e-5` of relative precision or better
/// (data of independent features have 1, moderately correlated ones a few to some tens).
pub(crate) const CONDITION_LIMIT: f64 = 256.0;

/// Plans of fewer features than this have the `f32` kernels (larger ones compute in `f64`, with
/// kernels tiled for many features).
pub(crate) const MAX_FEATURES: usize = 128;

/// The parameters of a mixture of full-covariance Gaussians for these kernels.
#[derive(Debug, Clone)]
pub(crate) struct SingleFull {
    d: usize,
    /// `k x padded8(d)`: `mu as f32`, zeros past `d`.
    hi: Vec<f32>,
    /// `k x padded8(d)`: `(mu - hi) as f32`.
    lo: Vec<f32>,
    /// `L^-1` per component, lower triangular, as the panels of
    /// [`panels`](super::portable::panels) in `f32`.
    panels: Vec<f32>,
    /// The largest `|x|` the kernels take (see the [module docs](self)).
    pub limit: f32,
}

/// The condition of a component for the `f32` quadratic forms: with `A = L^-1` (lower triangular,
/// `d x d`, rows `d` apart, a non-zero diagonal) and `S` the diagonal of the standard deviations
/// (`S_cc^2 = Sigma_cc`, the squares of the rows of `L`), `max_r sum_c |A_rc| S_cc`: the largest
/// sum of the magnitudes of the terms of a `y_r` for a row one standard deviation from the mean
/// in every feature (1 for independent features, whatever their units), of which `f32` rounds
/// each to about `6e-8`.
fn condition(a: &[f64], d: usize) -> f64 {
    // L = A^-1 by forward substitution, column by column; the squares of its rows.
    let mut l = vec![0.0f64; d * d];
    for c in 0..d {
        for r in c..d {
            let mut s = if r == c { 1.0 } else { 0.0 };
            for m in c..r {
                s -= a[r * d + m] * l[m * d + c];
            }
            l[r * d + c] = s / a[r * d + r];
        }
    }
    let var: Vec<f64> = l
        .chunks_exact(d)
        .map(|row| row.iter().map(|v| v * v).sum())
        .collect();
    (0..d)
        .map(|r| {
            (0..=r)
                .map(|c| (a[r * d + c] * var[c].sqrt()).abs())
                .sum::<f64>()
        })
        .fold(0.0, f64::max)
}

impl SingleFull {
    /// The `f32` parameters of `k` full-covariance Gaussians in `d` features (`means`: `k x d`;
    /// `scale`: `L^-1` per component, `padded(d) x d`, lower triangular; `panels`: the same as
    /// [`panels`](super::portable::panels)), or `None` when a value does not fit `f32` (a mean
    /// beyond its range, an entry of `L^-1` that is not a normal `f32` where it matters), a
    /// component is too ill-conditioned ([`CONDITION_LIMIT`]) or no row could be taken; an error
    /// (`err`) when they do not fit in memory.
    pub fn new(
        means: &[f64],
        scale: &[f64],
        panels: &[f64],
        d: usize,
        err: impl Fn() -> Error,
    ) -> Result<Option<SingleFull>> {
        if d == 0 || d >= MAX_FEATURES {
            return Ok(None);
        }
        let k = means.len() / d;
        let (dp, dp8) = (padded(d), padded8(d));
        let mut out = SingleFull {
            d,
            hi: zeroed_vec(&[k, dp8], &err)?,
            lo: zeroed_vec(&[k, dp8], &err)?,
            panels: zeroed_vec(&[k, panels_len(d, true)], &err)?,
            limit: 0.0,
        };
        let (mut max_mu, mut max_a2) = (0.0f64, 0.0f64);
        for j in 0..k {
            for l in 0..d {
                let m = means[j * d + l];
                let hi = m as f32;
                if !hi.is_finite() {
                    return Ok(None);
                }
                let lo = (m - f64::from(hi)) as f32;
                out.hi[j * dp8 + l] = hi;
                out.lo[j * dp8 + l] = lo;
                max_mu = max_mu.max(f64::from(hi).abs() + f64::from(lo).abs());
            }
            let a = &scale[j * dp * d..j * dp * d + d * d];
            let mut norm2 = 0.0;
            for r in 0..d {
                let row = &a[r * d..r * d + r + 1];
                let big = row.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                for (c, &v) in row.iter().enumerate() {
                    let v32 = v as f32;
                    // The diagonal must be a normal f32; another entry too, unless it is too
                    // small beside the row's largest to matter in f32.
                    let small = c < r && v.abs() < big * f64::from(f32::EPSILON);
                    if !v32.is_finite() || !(v == 0.0 || v32.is_normal() || small) {
                        return Ok(None);
                    }
                    norm2 += v * v;
                }
                if a[r * d + r] == 0.0 {
                    return Ok(None);
                }
            }
            if !(condition(a, d) <= CONDITION_LIMIT) {
                return Ok(None);
            }
            max_a2 = max_a2.max(norm2);
        }
        for (o, &v) in out.panels.iter_mut().zip(panels) {
            *o = v as f32;
        }
        // With |z| = |x - mu| <= |x| + max_mu per feature: a form is at most
        // max_a2 d |z|^2 (and so is every partial sum of `L^-1 z`, squared); a block's moments
        // (and the sums of its eight lanes) at most BLOCK_ROWS times 4 |z|^2.
        Ok(limit(d as f64 * max_a2, BLOCK_ROWS, max_mu).map(|limit| {
            out.limit = limit;
            out
        }))
    }

    /// The rows of the transposed block's space (`padded8(d)`; the kernels read the first `d`).
    pub fn rows(&self) -> usize {
        padded8(self.d)
    }

    /// The number of features.
    pub fn d(&self) -> usize {
        self.d
    }

    /// Component `j`'s means in two parts (`hi`, `lo`: `padded8(d)` values each) and its
    /// `L^-1` as [`panels`](super::portable::panels) (for `d <= 4`, one panel: `A_rc` at
    /// `4 c + r`).
    #[inline(always)]
    pub fn component(&self, j: usize) -> (&[f32], &[f32], &[f32]) {
        let (dp8, plen) = (padded8(self.d), panels_len(self.d, true));
        (
            &self.hi[j * dp8..(j + 1) * dp8],
            &self.lo[j * dp8..(j + 1) * dp8],
            &self.panels[j * plen..(j + 1) * plen],
        )
    }
}

/// The rows `0..rows` of `z` (each `ld` values, `ld` a multiple of eight) from those of `x`:
/// `(x - hi_l) - lo_l`, `F::LANES` values at a time, then eight in `L`.
#[inline(always)]
fn centre<L: Lanes32, F: AnyLanes32>(
    x: &[f32],
    (hi, lo): (&[f32], &[f32]),
    rows: usize,
    ld: usize,
    z: &mut [f32],
) {
    let wide = ld / F::LANES * F::LANES;
    for (l, (xr, zr)) in x
        .chunks_exact(ld)
        .zip(z.chunks_exact_mut(ld))
        .enumerate()
        .take(rows)
    {
        let (h, o) = (F::fill(hi[l]), F::fill(lo[l]));
        let (xw, xt) = xr.split_at(wide);
        let (zw, zt) = zr.split_at_mut(wide);
        for (xv, zv) in xw.chunks_exact(F::LANES).zip(zw.chunks_exact_mut(F::LANES)) {
            F::read(xv).minus(h).minus(o).write(zv);
        }
        let (h, o) = (L::splat(hi[l]), L::splat(lo[l]));
        for (xv, zv) in xt.chunks_exact(WIDTH).zip(zt.chunks_exact_mut(WIDTH)) {
            L::load(xv).sub(h).sub(o).store(zv);
        }
    }
}

/// Rows `i0..i0 + F::LANES V` of the forms: `q_i = sum_r y_r^2` with `y_r = sum_c A_rc z_ci` (a
/// chain of fused multiply-adds over `c`, then over `r`), four outputs `y_r` at a time for
/// `F::LANES V` rows in registers, their squares added as they come.
#[inline(always)]
fn form_tile<F: AnyLanes32, const V: usize>(
    pan: &[f32],
    d: usize,
    (z, ld): (&[f32], usize),
    i0: usize,
    q: &mut [f32],
) {
    let (dp, w) = (padded(d), F::LANES);
    let mut sq = [F::fill(0.0); V];
    let mut off = 0;
    for r in (0..dp).step_by(4) {
        let width = panel_width(r, d, true);
        let pr = &pan[off..off + 4 * width];
        off += 4 * width;
        let mut y = [[F::fill(0.0); V]; 4];
        for c in 0..width {
            let zc = &z[c * ld + i0..c * ld + i0 + w * V];
            let zv: [F; V] = std::array::from_fn(|h| F::read(&zc[w * h..]));
            for (yq, &a) in y.iter_mut().zip(&pr[4 * c..4 * c + 4]) {
                let aq = F::fill(a);
                for (yv, &zh) in yq.iter_mut().zip(&zv) {
                    *yv = aq.fma(zh, *yv);
                }
            }
        }
        for yq in &y {
            for (s, &yv) in sq.iter_mut().zip(yq) {
                *s = yv.fma(yv, *s);
            }
        }
    }
    for (h, v) in sq.iter().enumerate() {
        v.write(&mut q[i0 + w * h..]);
    }
}

/// Work space of these kernels for a block.
pub(crate) struct Work<'a> {
    /// The centred rows (`padded8(d) x ld`).
    pub z: &'a mut [f32],
    /// The weighted centred rows (`padded8(d) x ld`).
    pub wz: &'a mut [f32],
    /// The forms (`ld`), and the responsibilities of a component (`ld`).
    pub q: &'a mut [f32],
    /// The sums and products of a component (`padded8(d) (1 + padded8(d))`).
    pub sums: &'a mut [f64],
}

/// The sizes of [`Work`]'s arrays for `d` features and blocks of [`BLOCK_ROWS`] rows: `z`,
/// `wz`; `q`; `sums`.
pub(crate) fn work_sizes(d: usize) -> [usize; 3] {
    let dp8 = padded8(d);
    [dp8 * BLOCK_ROWS, BLOCK_ROWS, dp8 * (1 + dp8)]
}

/// `lp[j * n + i] = consts_j - q_ij / 2` with `q_ij` the quadratic form of
/// row `i` for component `j`, for the `n` rows of the transposed block `x` (its first `d` rows of
/// `ld` values are read, `ld` the multiple of eight at or above `n`, zeros past `n`; every `|x|`
/// within `p.limit`): `F::LANES V` rows at a time in vectors `F`, then eight in `L`.
#[inline(always)]
pub(crate) fn forms<L: Lanes32, F: AnyLanes32, const V: usize>(
    p: &SingleFull,
    consts: &[f64],
    (x, ld, n): (&[f32], usize, usize),
    w: &mut Work<'_>,
    lp: &mut [f64],
) {
    let (d, dp8) = (p.d, padded8(p.d));
    let plen = panels_len(d, true);
    let q = &mut w.q[..ld];
    for (j, &c0) in consts.iter().enumerate() {
        let z = &mut w.z[..dp8 * ld];
        let means = (&p.hi[j * dp8..(j + 1) * dp8], &p.lo[j * dp8..(j + 1) * dp8]);
        // The forms read the rows before `d`.
        centre::<L, F>(x, means, d, ld, z);
        let pan = &p.panels[j * plen..(j + 1) * plen];
        let mut i0 = 0;
        while i0 + F::LANES * V <= ld {
            form_tile::<F, V>(pan, d, (z, ld), i0, q);
            i0 += F::LANES * V;
        }
        while i0 + F::LANES <= ld {
            form_tile::<F, 1>(pan, d, (z, ld), i0, q);
            i0 += F::LANES;
        }
        while i0 < ld {
            form_tile::<L, 1>(pan, d, (z, ld), i0, q);
            i0 += WIDTH;
        }
        // Finite: the forms of rows within the limit are (and so is the constant).
        for (o, &v) in lp[j * n..(j + 1) * n].iter_mut().zip(q.iter()) {
            *o = c0 - 0.5 * f64::from(v);
        }
    }
}

/// Where the eight rows `8 c..8 c + 8` of feature `l` of the centred rows `z` of [`moments`] are:
/// in rows `ld` apart, or when `PAIRED` in pairs of features `2 ld` apart, the eights of a pair
/// side by side (sixteen values of one 512-bit vector, see
/// `x86::single::full_moments_avx512`).
#[inline(always)]
pub(crate) fn place<const PAIRED: bool>(l: usize, c: usize, ld: usize) -> usize {
    if PAIRED {
        (l / 2) * 2 * ld + 16 * c + 8 * (l % 2)
    } else {
        l * ld + 8 * c
    }
}

/// Adds `sum_i r_ij (x_i - mu_j)` to `sum` (`k x d`) and the upper triangle of
/// `sum_i r_ij (x_i - mu_j)(x_i - mu_j)^T` to `products` (`k x d x d`, row-major) for the rows of
/// the transposed block `x` (as in [`forms`]) and their responsibilities `r` (`k x n`): per
/// component, the rows centred into `w.z` (at the places of [`place`]) and weighted into `w.wz`
/// (the responsibilities scaled by [`tile_scale`] and narrowed to `f32`), each sum in eight
/// lanes, row `i` in lane `i % 8`, over the block in row order, the lanes of eight sums at a
/// time combined as [`Lanes32::sums`] does and added into `f64`; then the products by `tiles`
/// (`tiles(wz, z, (d, ld), wp)` puts product `(a, b)`, `a <= b`, at `wp[a padded8(d) + b]`, as
/// [`product_tiles`] does). The rows of `z` and `wz` past `d` are zeros.
#[inline(always)]
pub(crate) fn moments<L: Lanes32, const PAIRED: bool>(
    p: &SingleFull,
    r: &[f64],
    (x, ld, n): (&[f32], usize, usize),
    w: &mut Work<'_>,
    (sum, products): (&mut [f64], &mut [f64]),
    tiles: impl Fn(&[f32], &[f32], (usize, usize), &mut [f64]),
) {
    let (d, dp8) = (p.d, padded8(p.d));
    let k = sum.len() / d;
    let (z, wz) = (&mut w.z[..dp8 * ld], &mut w.wz[..dp8 * ld]);
    // The tiles read rows past `d`, which no component writes: zeros for this block's stride
    // (not what an earlier block left there).
    for l in d..dp8 {
        for c in 0..ld / WIDTH {
            z[place::<PAIRED>(l, c, ld)..][..WIDTH].fill(0.0);
        }
    }
    wz[d * ld..].fill(0.0);
    for j in 0..k {
        let rj = &r[j * n..(j + 1) * n];
        let (down, up) = tile_scale(rj);
        let rr = &mut w.q[..ld];
        for (o, &v) in rr.iter_mut().zip(rj) {
            *o = (v * down) as f32;
        }
        rr[n..].fill(0.0);
        let (hi, lo) = (&p.hi[j * dp8..(j + 1) * dp8], &p.lo[j * dp8..(j + 1) * dp8]);
        let (ws, wp) = w.sums[..dp8 * (1 + dp8)].split_at_mut(dp8);
        for l0 in (0..d).step_by(WIDTH) {
            // Two features side by side: two sums in flight.
            let g = (d - l0).min(WIDTH);
            let mut s = [L::splat(0.0); WIDTH];
            let mut t = 0;
            while t + 2 <= g {
                let two = centre_weighted::<L, PAIRED, 2>(x, (hi, lo), rr, (z, wz), l0 + t, ld);
                s[t..t + 2].copy_from_slice(&two);
                t += 2;
            }
            if t < g {
                s[t] = centre_weighted::<L, PAIRED, 1>(x, (hi, lo), rr, (z, wz), l0 + t, ld)[0];
            }
            L::sums(&s).widen_into(&mut ws[l0..]);
        }
        tiles(wz, z, (d, ld), wp);
        for l in 0..d {
            sum[j * d + l] += ws[l] * up;
        }
        let pj = &mut products[j * d * d..(j + 1) * d * d];
        for a in 0..d {
            for b in a..d {
                pj[a * d + b] += wp[a * dp8 + b] * up;
            }
        }
    }
}

/// The features `l0..l0 + G` of the rows `x` of [`moments`] centred (means `hi`, `lo`) into `z`
/// (at the places of [`place`]) and weighted by `rr` into `wz`, eight rows at a time, the features
/// side by side; the sums of the weighted values, eight lanes per feature (row `i` in lane
/// `i % 8`, in row order).
#[inline(always)]
fn centre_weighted<L: Lanes32, const PAIRED: bool, const G: usize>(
    x: &[f32],
    (hi, lo): (&[f32], &[f32]),
    rr: &[f32],
    (z, wz): (&mut [f32], &mut [f32]),
    l0: usize,
    ld: usize,
) -> [L; G] {
    let mut s = [L::splat(0.0); G];
    let chunks = ld / WIDTH;
    let xs: [&[f32]; G] = std::array::from_fn(|t| &x[(l0 + t) * ld..][..chunks * WIDTH]);
    let mut rows = wz[l0 * ld..(l0 + G) * ld].chunks_exact_mut(ld);
    let ws: [&mut [f32]; G] = std::array::from_fn(|_| rows.next().expect("G rows"));
    let hl: [(L, L); G] = std::array::from_fn(|t| (L::splat(hi[l0 + t]), L::splat(lo[l0 + t])));
    let rr = &rr[..chunks * WIDTH];
    for c in 0..chunks {
        let rv = L::load(&rr[WIDTH * c..]);
        for t in 0..G {
            let zv = L::load(&xs[t][WIDTH * c..]).sub(hl[t].0).sub(hl[t].1);
            zv.store(&mut z[place::<PAIRED>(l0 + t, c, ld)..]);
            let v = rv.mul(zv);
            v.store(&mut ws[t][WIDTH * c..]);
            s[t] = s[t].add(v);
        }
    }
    s
}

/// The tiles of [`moments`] for `z` in rows: `R` (2 or 4) features of `wz` by four of `z` that
/// reach the upper triangle, each product in eight lanes (row `i` in lane `i % 8`, in row order),
/// their lanes combined eight products (two rows of four) at a time.
#[inline(always)]
pub(crate) fn product_tiles<L: Lanes32, const R: usize>(
    wz: &[f32],
    z: &[f32],
    (d, ld): (usize, usize),
    wp: &mut [f64],
) {
    const { assert!(R == 2 || R == 4) };
    let dp8 = padded8(d);
    for a0 in (0..d).step_by(R) {
        for b0 in (a0 / 4 * 4..d).step_by(4) {
            let mut acc = [[L::splat(0.0); 4]; R];
            let wa: [&[f32]; R] = std::array::from_fn(|a| &wz[(a0 + a) * ld..][..ld]);
            let zb: [&[f32]; 4] = std::array::from_fn(|b| &z[(b0 + b) * ld..][..ld]);
            for i in (0..ld).step_by(WIDTH) {
                let va: [L; R] = std::array::from_fn(|a| L::load(&wa[a][i..]));
                for (b, zr) in zb.iter().enumerate() {
                    let vb = L::load(&zr[i..]);
                    for (aa, v) in acc.iter_mut().zip(&va) {
                        aa[b] = v.mul_add(vb, aa[b]);
                    }
                }
            }
            let mut t = [0.0f64; WIDTH];
            for (a, pair) in acc.chunks_exact(2).enumerate() {
                let v = [
                    pair[0][0], pair[0][1], pair[0][2], pair[0][3], pair[1][0], pair[1][1],
                    pair[1][2], pair[1][3],
                ];
                L::sums(&v).widen_into(&mut t);
                for (h, half) in t.chunks_exact(4).enumerate() {
                    let at = (a0 + 2 * a + h) * dp8 + b0;
                    wp[at..at + 4].copy_from_slice(half);
                }
            }
        }
    }
}

/// Transposes the `f32` rows `v` into `x32` (a plan scratch's, see the plan's
/// `Held::TransposedF32`) for these kernels, on the kernel path of `isa` (the same values on
/// every path); false when a value is beyond `p.limit` or NaN (the block then takes the `f64`
/// kernels).
pub(crate) fn transpose(v: ArrayView2<'_, f32>, p: &SingleFull, isa: Isa, x32: &mut [f32]) -> bool {
    let (n, d) = v.dim();
    let ld = n.div_ceil(WIDTH) * WIDTH;
    let x = &mut x32[..p.rows() * ld];
    let mut bits = 0u32;
    match v.as_slice() {
        // Contiguous rows (the common case) as plain slices, which compile to tighter loops.
        Some(xs) => {
            bits = match isa.level() {
                #[cfg(target_arch = "x86_64")]
                Level::Avx2 | Level::Avx512 => {
                    // SAFETY: the processor has AVX2 and FMA (an `Isa` is made only for what it
                    // has), the features the function is compiled for.
                    unsafe { x86_single::full_transpose(xs, d, ld, x) }
                }
                Level::Portable => transpose_contiguous::<Oct>(xs, d, ld, x),
            };
        }
        None => {
            for (i, row) in v.rows().into_iter().enumerate() {
                for (l, &a) in row.iter().enumerate() {
                    x[l * ld + i] = a;
                    bits = bits.max(a.to_bits() & 0x7fff_ffff);
                }
            }
        }
    }
    // The rows' padding is read (its centred values are weighted by zero): zeros, not the values
    // of an earlier block (which may have been beyond the limit). The kernels read no row past
    // `d`.
    for l in 0..d {
        x[l * ld + n..(l + 1) * ld].fill(0.0);
    }
    bits <= p.limit.to_bits()
}

/// The contiguous rows `xs` of `d` features transposed into `x` (rows `ld` apart, `ld` a multiple
/// of eight at or above the number of rows): in four features or fewer by [`transpose_rows`],
/// otherwise by [`transpose_tiles`] in vectors `L`; the largest `|x|` as bits.
#[inline(always)]
pub(crate) fn transpose_contiguous<L: Lanes32>(
    xs: &[f32],
    d: usize,
    ld: usize,
    x: &mut [f32],
) -> u32 {
    match d {
        1 => transpose_rows::<1>(xs, ld, x),
        2 => transpose_rows::<2>(xs, ld, x),
        3 => transpose_rows::<3>(xs, ld, x),
        4 => transpose_rows::<4>(xs, ld, x),
        _ => transpose_tiles::<L>(xs, d, ld, x),
    }
}

/// The contiguous rows `xs` of `d` features transposed into `x` (rows `ld` apart, `ld` a multiple
/// of eight at or above the number of rows, zeros past it) eight rows by eight features at a
/// time in vectors `L`; the largest `|x|` as bits.
#[inline(always)]
pub(crate) fn transpose_tiles<L: Lanes32>(xs: &[f32], d: usize, ld: usize, x: &mut [f32]) -> u32 {
    transpose_eights::<L>(xs, (xs.len() / d, d), (WIDTH, ld), x);
    max_abs_bits(xs)
}

/// The contiguous rows `xs` of `D` features transposed into `x` (rows `ld` apart); the largest
/// `|x|` as bits. Eight rows at a time through a small array of fixed shape (which compiles to
/// vector shuffles), the rows past the last eight one by one.
#[inline(always)]
fn transpose_rows<const D: usize>(xs: &[f32], ld: usize, x: &mut [f32]) -> u32 {
    let n = xs.len() / D;
    let (cols, _) = x.split_at_mut(D * ld);
    let whole = xs.chunks_exact(WIDTH * D);
    let rest = whole.remainder();
    for (g, rows) in whole.enumerate() {
        let mut v = [[0.0f32; WIDTH]; D];
        for (t, row) in rows.chunks_exact(D).enumerate() {
            for (l, &a) in row.iter().enumerate() {
                v[l][t] = a;
            }
        }
        for (l, vl) in v.iter().enumerate() {
            cols[l * ld + WIDTH * g..][..WIDTH].copy_from_slice(vl);
        }
    }
    let i0 = n / WIDTH * WIDTH;
    for (i, row) in rest.chunks_exact(D).enumerate() {
        for (l, &a) in row.iter().enumerate() {
            cols[l * ld + i0 + i] = a;
        }
    }
    max_abs_bits(xs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::dispatch::Isa;
    use crate::kernels::forms::Gaussian;
    use crate::kernels::plan::Plan;
    use crate::kernels::tests::{block_of, fused_outputs, values, weighted_block_of};
    use ndarray::{Array2, ShapeBuilder};

    /// `k` full-covariance components in `d` features: means `offset + spread * u`, `L^-1`
    /// lower triangular with the diagonal `(1 + |u| / 2) / sigma` and the entries below it
    /// `off * u / (sigma d)` (`u` in `[-0.5, 0.5)`).
    struct Components {
        means: Vec<Vec<f64>>,
        inv_chol: Vec<Array2<f64>>,
    }

    impl Components {
        fn new(
            next: &mut impl FnMut() -> f64,
            (k, d): (usize, usize),
            (offset, spread, sigma): (f64, f64, f64),
            off: f64,
        ) -> Components {
            Components {
                means: (0..k)
                    .map(|_| (0..d).map(|_| offset + spread * next()).collect())
                    .collect(),
                inv_chol: (0..k)
                    .map(|_| {
                        Array2::from_shape_fn((d, d), |(r, c)| match (r, c) {
                            (r, c) if r == c => (1.0 + next().abs() / 2.0) / sigma,
                            (r, c) if c < r => off * next() / (sigma * d as f64),
                            _ => 0.0,
                        })
                    })
                    .collect(),
            }
        }

        fn forms(&self) -> Vec<Gaussian<'_>> {
            self.means
                .iter()
                .zip(&self.inv_chol)
                .map(|(m, a)| Gaussian::Full {
                    means: m,
                    inv_chol: a.view(),
                    log_norm: a.diag().iter().map(|v| v.ln()).sum::<f64>()
                        - 0.918_938_533_204_672_8 * m.len() as f64,
                })
                .collect()
        }
    }

    fn has_f32_kernels(forms: &[Gaussian], log_weights: &[f64]) -> bool {
        Plan::with_isa(
            forms.iter().cloned().map(Some),
            log_weights,
            Isa::portable(),
        )
        .unwrap()
        .expect("a plan")
        .has_f32_kernels()
    }

    #[test]
    fn rows_are_transposed_on_every_path() {
        let mut next = values(5);
        for (n, d) in [
            (5usize, 1usize),
            (8, 2),
            (1, 2),
            (77, 2),
            (300, 3),
            (19, 4),
            (1, 5),
            (7, 8),
            (8, 9),
            (13, 16),
            (256, 21),
            (250, 64),
            (9, 127),
        ] {
            let ld = n.div_ceil(WIDTH) * WIDTH;
            let mut xs: Vec<f32> = (0..n * d).map(|_| (4.0 * next()) as f32).collect();
            xs[n * d / 2] = -1e30;
            let mut want = vec![0.0f32; d * ld];
            for (i, row) in xs.chunks_exact(d).enumerate() {
                for (l, &a) in row.iter().enumerate() {
                    want[l * ld + i] = a;
                }
            }
            let big = 1e30f32.to_bits();
            // The tiles (five features or more) write zeros past the rows; fewer features leave
            // those places as they were (`transpose` fills them).
            let start = if d > 4 { f32::NAN } else { 0.0 };
            let mut x = vec![start; d * ld + 3];
            assert_eq!(
                transpose_contiguous::<Oct>(&xs, d, ld, &mut x),
                big,
                "{n} {d}"
            );
            assert!(
                x[..d * ld] == want[..]
                    && x[d * ld..].iter().all(|v| v.to_bits() == start.to_bits())
            );
            #[cfg(target_arch = "x86_64")]
            if Isa::supported().any(|isa| isa.level() != Level::Portable) {
                let mut x = vec![start; d * ld + 3];
                // SAFETY: the processor has AVX2 and FMA (a path other than the portable one).
                assert_eq!(
                    unsafe { x86_single::full_transpose(&xs, d, ld, &mut x) },
                    big
                );
                assert!(
                    x[..d * ld] == want[..]
                        && x[d * ld..].iter().all(|v| v.to_bits() == start.to_bits())
                );
            }
        }
    }

    #[test]
    fn the_condition_is_that_of_the_correlations() {
        // A = [[2, 0], [1, 4]], L = A^-1 = [[1/2, 0], [-1/8, 1/4]]: standard deviations 1/2 and
        // sqrt(5) / 8; the rows of |A| S sum to 1 and 1 / 2 + sqrt(5) / 2.
        let a = [2.0, 0.0, 1.0, 4.0];
        let want = 0.5 + 5.0f64.sqrt() / 2.0;
        assert!((condition(&a, 2) - want).abs() < 1e-14);
        // The units of the features do not change it; independent features give 1.
        let scaled = [2e3, 0.0, 1e3, 4.0];
        assert!((condition(&scaled, 2) - want).abs() < 1e-12);
        let diagonal = [3.0, 0.0, 0.0, 1e-4];
        assert!((condition(&diagonal, 2) - 1.0).abs() < 1e-14);
    }

    #[test]
    fn f32_rows_of_full_gaussians_are_the_same_bits_on_every_kernel_path() {
        let mut next = values(31);
        // Whole and partial vectors of features and of rows, whole and partial blocks and
        // tiles; a missing value and a value beyond the f32 kernels' limit (their blocks take
        // the f64 kernels), weights of zero; C order, Fortran order and every other row.
        for (d, n, k) in [
            (1, 40, 2),
            (2, 300, 3),
            (4, 77, 2),
            (5, 300, 3),
            (8, 517, 4),
            (9, 77, 2),
            (16, 260, 5),
            (21, 33, 2),
            (64, 40, 3),
            (127, 19, 2),
        ] {
            let c = Components::new(&mut next, (k, d), (0.0, 3.0, 1.0), 1.0);
            let forms = c.forms();
            let log_weights: Vec<f64> = (0..k).map(|_| next() - 1.0).collect();
            assert!(has_f32_kernels(&forms, &log_weights), "{d}");
            let mut x = Array2::from_shape_fn((2 * n, d), |_| (4.0 * next()) as f32);
            if n > 256 {
                x[[2 * n - 3, d / 2]] = 1e30;
                x[[100, 0]] = f32::NAN;
            }
            let xf = {
                let mut f = Array2::zeros((2 * n, d).f());
                f.assign(&x);
                f
            };
            let w: Vec<f64> = (0..2 * n)
                .map(|i| if i % 5 == 2 { 0.0 } else { 0.5 + next() })
                .collect();
            for (xs, ws) in [
                (x.view(), &w[..]),
                (xf.view(), &w[..]),
                (x.slice(ndarray::s![..;2, ..]), &w[..n]),
            ] {
                for weights in [None, Some(ws)] {
                    let want = fused_outputs(&forms, &log_weights, xs, weights, Isa::portable());
                    for isa in Isa::supported() {
                        let got = fused_outputs(&forms, &log_weights, xs, weights, isa);
                        assert!(got == want, "{d} {n} {k} {isa:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn f32_full_kernels_keep_f32_precision_however_far_the_data_sit_from_zero() {
        let mut next = values(6);
        // Standard deviations from 1e-3 to 1e3, means up to 1e5 of them from zero.
        for (offset, sigma) in [
            (0.0, 1.0),
            (100.0, 1e-3),
            (1e4, 0.1),
            (-3e5, 3.0),
            (1e6, 1e3),
        ] {
            // Weakly correlated features in 5 to 33, strongly correlated ones (a condition of
            // some tens) in 5 and 12.
            for (d, off, tol) in [
                (2, 1.0, 2e-6),
                (5, 1.0, 2e-6),
                (12, 1.0, 2e-6),
                (33, 1.0, 2e-6),
                (5, 15.0, 1e-5),
                (12, 36.0, 1e-5),
            ] {
                let (k, n) = (3, 250);
                let c = Components::new(&mut next, (k, d), (offset, 4.0 * sigma, sigma), off);
                let forms = c.forms();
                let log_weights = [-1.0, -1.2, -1.1];
                assert!(has_f32_kernels(&forms, &log_weights), "{d} {off}");
                let x = Array2::from_shape_fn((n, d), |_| (offset + 6.0 * sigma * next()) as f32);
                let x64 = x.mapv(f64::from);
                for isa in Isa::supported() {
                    let (lp32, s32, p32, ll32) = block_of(&forms, &log_weights, x.view(), isa);
                    let (lp64, s64, p64, ll64) = block_of(&forms, &log_weights, x64.view(), isa);
                    assert_ne!(lp32, lp64);
                    for (i, (a, b)) in lp32.iter().zip(&lp64).enumerate() {
                        let j = i / n;
                        let Gaussian::Full { log_norm, .. } = &forms[j] else {
                            unreachable!()
                        };
                        // Relative to the form (the part the f32 kernels compute).
                        let q = (log_norm + log_weights[j] - b).abs() + 1.0;
                        assert!((a - b).abs() <= tol * q, "{offset} {sigma} {d}: {a} {b}");
                    }
                    assert!((ll32 - ll64).abs() <= 1e-6 * ll64.abs(), "{ll32} {ll64}");
                    // The products against the scale of their variances, the sums against
                    // that of the sums of squares.
                    for j in 0..k {
                        let p = |v: &[f64], a: usize, b: usize| v[j * d * d + a * d + b];
                        for a in 0..d {
                            let (x, y) = (s32[j * d + a], s64[j * d + a]);
                            let scale = (p(&p64, a, a) * n as f64).sqrt() + 1e-300;
                            assert!((x - y).abs() <= 1e-5 * scale, "{offset} {sigma}: {x} {y}");
                            for b in a..d {
                                let (x, y) = (p(&p32, a, b), p(&p64, a, b));
                                let scale = (p(&p64, a, a) * p(&p64, b, b)).sqrt();
                                assert!((x - y).abs() <= 1e-5 * scale, "{offset} {sigma}: {x} {y}");
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn ill_conditioned_components_and_rows_beyond_the_limit_take_the_f64_kernels() {
        let mut next = values(9);
        let (k, n, d) = (2, 40, 10);
        let log_weights = [-0.7, -0.7];
        // Well-conditioned, sigma = 1e-3: the f32 forms are kept for |x| up to about 1e14.
        let fine = Components::new(&mut next, (k, d), (0.0, 1e-2, 1e-3), 1.0);
        // Entries below the diagonal 40 d times those of the example above: cond(L) in the
        // thousands.
        let ill = Components::new(&mut next, (k, d), (0.0, 1e-2, 1e-3), 40.0 * d as f64);
        assert!(has_f32_kernels(&fine.forms(), &log_weights));
        assert!(!has_f32_kernels(&ill.forms(), &log_weights));
        let mut x = Array2::from_shape_fn((n, d), |_| (1e-2 * next()) as f32);
        let x64 = x.mapv(f64::from);
        for isa in Isa::supported() {
            let got = block_of(&ill.forms(), &log_weights, x.view(), isa);
            let want = block_of(&ill.forms(), &log_weights, x64.view(), isa);
            assert_eq!(format!("{got:?}"), format!("{want:?}"));
        }
        x[[7, d - 1]] = 1e16;
        let x64 = x.mapv(f64::from);
        for isa in Isa::supported() {
            let got = block_of(&fine.forms(), &log_weights, x.view(), isa);
            let want = block_of(&fine.forms(), &log_weights, x64.view(), isa);
            assert_eq!(format!("{got:?}"), format!("{want:?}"));
            // The far row has a finite log-density, as in f64.
            assert!(got.0[7].is_finite() && got.0[7] < -1e30);
        }
    }

    /// The products `got` (`k x d x d`, upper triangles) within `1e-5` of `want`, each against
    /// the scale of its two variances, and the sums against `sqrt(products * total)`.
    fn close_moments(
        got: &[f64],
        want: &[f64],
        (sums, want_sums): (&[f64], &[f64]),
        d: usize,
        total: f64,
    ) {
        for j in 0..got.len() / (d * d) {
            let p = |v: &[f64], a: usize, b: usize| v[j * d * d + a * d + b];
            for a in 0..d {
                for b in a..d {
                    let (x, y) = (p(got, a, b), p(want, a, b));
                    let scale = p(want, a, a).sqrt() * p(want, b, b).sqrt();
                    assert!(x.is_finite() && (x - y).abs() <= 1e-5 * scale, "{x} {y}");
                }
                let (x, y) = (sums[j * d + a], want_sums[j * d + a]);
                let scale = p(want, a, a).sqrt() * total.sqrt();
                assert!((x - y).abs() <= 1e-5 * scale, "sums: {x} {y}");
            }
        }
    }

    #[test]
    fn f32_full_moments_stay_in_range_for_any_weights_and_spread() {
        // The small-dimension E-step (two features) and the general one (nine).
        for d in [2, 9] {
            moments_in_range(d);
        }
    }

    /// [`f32_full_moments_stay_in_range_for_any_weights_and_spread`] in `d` features.
    fn moments_in_range(d: usize) {
        let mut next = values(14);
        let (k, n) = (2, 100);
        let log_weights = [-0.7, -0.7];
        let c = Components::new(&mut next, (k, d), (0.0, 2.0, 1.0), 1.0);
        let x = Array2::from_shape_fn((n, d), |_| (3.0 * next()) as f32);
        let x64 = x.mapv(f64::from);
        // Sample weights far from 1 either way: the responsibilities are scaled by powers of two
        // before they narrow to f32, so the moments keep f32's precision.
        for scale in [1e39, 1e30, 1e-30, 1e-40, 1e-300] {
            let w: Vec<f64> = (0..n).map(|i| scale * (1.0 + (i % 7) as f64)).collect();
            let total: f64 = w.iter().sum();
            for isa in Isa::supported() {
                let got = weighted_block_of(&c.forms(), &log_weights, x.view(), Some(&w), isa);
                let want = weighted_block_of(&c.forms(), &log_weights, x64.view(), Some(&w), isa);
                close_moments(&got.2, &want.2, (&got.1, &want.1), d, total);
            }
        }
        // Spreads near the top of f32's range: blocks whose moments f32 cannot hold take the f64
        // kernels; those it can, the f32 ones.
        for (sigma, spread) in [(5e18, 4e19), (1e16, 2e16)] {
            let c = Components::new(&mut next, (k, d), (0.0, 0.0, sigma), 1.0);
            let x = Array2::from_shape_fn((n, d), |_| (spread * next()) as f32);
            let x64 = x.mapv(f64::from);
            for isa in Isa::supported() {
                let got = block_of(&c.forms(), &log_weights, x.view(), isa);
                let want = block_of(&c.forms(), &log_weights, x64.view(), isa);
                close_moments(&got.2, &want.2, (&got.1, &want.1), d, n as f64);
                assert!((got.3 - want.3).abs() <= 1e-6 * want.3.abs());
            }
        }
    }

    #[test]
    fn the_shape_of_the_tiles_does_not_change_a_bit() {
        use super::super::portable::panels;
        use super::super::single::Oct;
        let mut next = values(17);
        for (d, n, k) in [
            (3, 50, 2),
            (5, 256usize, 2),
            (9, 64, 2),
            (13, 77, 3),
            (40, 200, 2),
        ] {
            let c = Components::new(&mut next, (k, d), (1.0, 3.0, 1.0), 1.0);
            let (dp, dp8, ld) = (padded(d), padded8(d), n.div_ceil(WIDTH) * WIDTH);
            let means: Vec<f64> = c.means.concat();
            let mut scale = vec![0.0; k * dp * d];
            for (j, a) in c.inv_chol.iter().enumerate() {
                for ((r, col), v) in a.indexed_iter() {
                    scale[j * dp * d + r * d + col] = *v;
                }
            }
            let pan = panels(&scale, d, true);
            let err = || crate::validate::too_large("test", "test");
            let p = SingleFull::new(&means, &scale, &pan, d, err)
                .unwrap()
                .unwrap();
            let mut x = vec![0.0f32; dp8 * ld];
            for l in 0..d {
                for i in 0..n {
                    x[l * ld + i] = (1.0 + 4.0 * next()) as f32;
                }
            }
            let consts: Vec<f64> = (0..k).map(|_| next() - 3.0).collect();
            let r: Vec<f64> = (0..k * n).map(|_| next().abs()).collect();
            let [zs, qs, ss] = work_sizes(d);
            let run = |v: usize, rt: usize| {
                let (mut z, mut wz, mut q) = (vec![0.0f32; zs], vec![0.0f32; zs], vec![0.0f32; qs]);
                let mut sums = vec![0.0f64; ss];
                let mut w = Work {
                    z: &mut z,
                    wz: &mut wz,
                    q: &mut q,
                    sums: &mut sums,
                };
                let mut lp = vec![0.0; k * n];
                match v {
                    1 => forms::<Oct, Oct, 1>(&p, &consts, (&x, ld, n), &mut w, &mut lp),
                    2 => forms::<Oct, Oct, 2>(&p, &consts, (&x, ld, n), &mut w, &mut lp),
                    _ => forms::<Oct, Oct, 4>(&p, &consts, (&x, ld, n), &mut w, &mut lp),
                }
                let (mut s1, mut s2) = (vec![0.0; k * d], vec![0.0; k * d * d]);
                let (sums, x) = ((&mut s1[..], &mut s2[..]), (&x[..], ld, n));
                match rt {
                    2 => moments::<Oct, false>(&p, &r, x, &mut w, sums, product_tiles::<Oct, 2>),
                    4 => moments::<Oct, false>(&p, &r, x, &mut w, sums, product_tiles::<Oct, 4>),
                    // The centred rows in pairs, put back in rows for the tiles.
                    _ => moments::<Oct, true>(&p, &r, x, &mut w, sums, |wz, zp, (d, ld), wp| {
                        let mut z = vec![f32::NAN; padded8(d) * ld];
                        for l in 0..padded8(d) {
                            for c in 0..ld / WIDTH {
                                z[l * ld + 8 * c..][..WIDTH]
                                    .copy_from_slice(&zp[place::<true>(l, c, ld)..][..WIDTH]);
                            }
                        }
                        product_tiles::<Oct, 4>(wz, &z, (d, ld), wp)
                    }),
                }
                let bits = |v: &[f64]| v.iter().map(|a| a.to_bits()).collect::<Vec<_>>();
                (bits(&lp), bits(&s1), bits(&s2))
            };
            let want = run(1, 2);
            assert_eq!(run(2, 4), want);
            assert_eq!(run(4, 2), want);
            assert_eq!(run(1, 0), want);
        }
    }

    #[test]
    fn f32_blocks_after_larger_ones_are_within_f32_precision_of_f64() {
        use crate::parallel::BLOCK_ROWS;
        // Blocks of 256, 256 and 5 rows (so that the last reads padding that earlier blocks
        // filled), weights, the log-densities and the moments summed over the blocks against
        // those of the same values as f64.
        let mut next = values(23);
        let (k, d, n) = (3, 11, 517);
        let c = Components::new(&mut next, (k, d), (2.0, 3.0, 1.5), 1.0);
        let forms = c.forms();
        let log_weights = [-1.0, -1.3, -1.0];
        let x = Array2::from_shape_fn((n, d), |_| (2.0 + 6.0 * next()) as f32);
        let x64 = x.mapv(f64::from);
        let w: Vec<f64> = (0..n).map(|_| 0.5 + next()).collect();
        for isa in Isa::supported() {
            let plan = Plan::with_isa(forms.iter().cloned().map(Some), &log_weights, isa)
                .unwrap()
                .expect("a plan");
            let run = |x: crate::rows::Rows<'_>| {
                let (mut s, mut m) = (plan.scratch().unwrap(), plan.moments().unwrap());
                let mut lps = Vec::new();
                for i0 in (0..n).step_by(BLOCK_ROWS) {
                    let rows = i0..(i0 + BLOCK_ROWS).min(n);
                    let xb = x.slice(rows.clone());
                    assert!(plan.load(xb, &mut s));
                    plan.log_joint(xb, &mut s);
                    let b = rows.len();
                    lps.push(s.lp[..k * b].to_vec());
                    plan.summarize(xb, Some(&w[rows]), &mut s, &mut m);
                }
                (lps, m)
            };
            let (lp32, m32) = run(x.view().into());
            let (lp64, m64) = run(x64.view().into());
            for (a, b) in lp32.iter().flatten().zip(lp64.iter().flatten()) {
                assert!((a - b).abs() <= 2e-6 * (b.abs() + 1.0), "{a} {b}");
            }
            let total: f64 = w.iter().sum();
            close_moments(&m32.products, &m64.products, (&m32.sum, &m64.sum), d, total);
            for (a, b) in m32.weight.iter().zip(&m64.weight) {
                assert!((a - b).abs() <= 1e-6 * b, "{a} {b}");
            }
        }
    }

    #[test]
    fn a_block_gives_the_same_bits_after_any_other_in_the_same_work_space() {
        // A partial block on a fresh work space, and on one that took a whole block and a block
        // rejected for a NaN first (their values sit where the partial block's padding is).
        let mut next = values(29);
        for (d, k) in [(2, 3), (5, 2), (11, 3)] {
            let c = Components::new(&mut next, (k, d), (0.0, 3.0, 1.0), 1.0);
            let forms = c.forms();
            let log_weights: Vec<f64> = (0..k).map(|_| next() - 1.0).collect();
            let big = Array2::from_shape_fn((256, d), |_| (50.0 * next()) as f32);
            let mut bad = big.clone();
            // Row 38 of the first feature: in the padding of the partial block's first row.
            bad[[38, 0]] = f32::NAN;
            let part = Array2::from_shape_fn((37, d), |_| (4.0 * next()) as f32);
            let w: Vec<f64> = (0..37).map(|_| 0.5 + next()).collect();
            for isa in Isa::supported() {
                let plan = Plan::with_isa(forms.iter().cloned().map(Some), &log_weights, isa)
                    .unwrap()
                    .expect("a plan");
                let run = |s: &mut crate::kernels::Scratch| {
                    let mut m = plan.moments().unwrap();
                    assert!(plan.load(part.view(), s));
                    plan.log_joint(part.view(), s);
                    let lp: Vec<u64> = s.lp[..k * 37].iter().map(|v| v.to_bits()).collect();
                    let t = plan.summarize(part.view(), Some(&w), s, &mut m);
                    (
                        lp,
                        t.log_likelihood.to_bits(),
                        format!("{:?}", (m.sum, m.products)),
                    )
                };
                let want = run(&mut plan.scratch().unwrap());
                let mut s = plan.scratch().unwrap();
                let mut m = plan.moments().unwrap();
                assert!(plan.load(big.view(), &mut s));
                plan.summarize(big.view(), None, &mut s, &mut m);
                assert!(!plan.load(bad.view(), &mut s));
                assert_eq!(run(&mut s), want, "{d} {isa:?}");
            }
        }
    }

    #[test]
    fn small_f32_blocks_without_weights_are_those_of_weights_of_one() {
        // Without sample weights, the small-dimension E-step of f32 rows sums the log-likelihood
        // as one logarithm per lane of the products of the rows' totals; with them, row by row.
        let mut next = values(23);
        for d in 1..=4 {
            let (k, n) = (3, 517);
            let c = Components::new(&mut next, (k, d), (1.0, 3.0, 1.0), 1.0);
            let log_weights = [-0.9, -1.4, -1.1];
            let x = Array2::from_shape_fn((n, d), |_| (5.0 * next()) as f32);
            let ones = vec![1.0; n];
            for isa in Isa::supported() {
                let mut want = None;
                for w in [None, Some(&ones[..])] {
                    let plan = Plan::with_isa(c.forms().into_iter().map(Some), &log_weights, isa)
                        .unwrap()
                        .expect("a plan");
                    let (mut s, mut m) = (plan.scratch().unwrap(), plan.moments().unwrap());
                    let mut ll = 0.0;
                    for i0 in (0..n).step_by(crate::parallel::BLOCK_ROWS) {
                        let rows = i0..(i0 + crate::parallel::BLOCK_ROWS).min(n);
                        let xb = x.slice(ndarray::s![rows.clone(), ..]);
                        assert!(plan.load(xb, &mut s));
                        let t = plan.summarize(xb, w.map(|w| &w[rows]), &mut s, &mut m);
                        assert!(t.unexplained == 0.0 && t.invalid.is_none());
                        ll += t.log_likelihood;
                    }
                    let moments = [m.weight, m.sum, m.products].concat();
                    match w {
                        None => want = Some((ll, moments)),
                        Some(_) => {
                            let (ll0, m0) = want.as_ref().expect("the block without weights");
                            assert!((ll - ll0).abs() <= 1e-13 * ll.abs(), "{d} {isa:?}");
                            // The same responsibilities, so the same moments.
                            assert_eq!(&moments, m0, "{d} {isa:?}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn small_f32_blocks_count_rows_that_no_component_can_produce() {
        let mut next = values(29);
        let (k, n, d) = (2, 250, 2);
        let c = Components::new(&mut next, (k, d), (0.0, 3.0, 1.0), 1.0);
        let x = Array2::from_shape_fn((n, d), |_| (4.0 * next()) as f32);
        let x64 = x.mapv(f64::from);
        let w: Vec<f64> = (0..n).map(|i| if i % 7 == 3 { 0.0 } else { 1.5 }).collect();
        let total: f64 = w.iter().sum();
        for isa in Isa::supported() {
            for weights in [None, Some(&w[..])] {
                let counted = weights.map_or(n as f64, |_| total);
                // A component of weight zero: the other takes every row, as in f64, and the same
                // bits on every kernel path.
                let lw = [f64::NEG_INFINITY, -0.2];
                let bits = fused_outputs(&c.forms(), &lw, x.view(), weights, isa);
                assert!(bits == fused_outputs(&c.forms(), &lw, x.view(), weights, Isa::portable()));
                let got = weighted_block_of(&c.forms(), &lw, x.view(), weights, isa);
                let want = weighted_block_of(&c.forms(), &lw, x64.view(), weights, isa);
                assert!((got.3 - want.3).abs() <= 1e-6 * want.3.abs(), "{isa:?}");
                assert!(got.1[..d].iter().chain(&got.2[..d * d]).all(|&v| v == 0.0));
                close_moments(&got.2, &want.2, (&got.1, &want.1), d, counted);
                // Both of weight zero: no row counts.
                let plan = Plan::with_isa(
                    c.forms().into_iter().map(Some),
                    &[f64::NEG_INFINITY; 2],
                    isa,
                )
                .unwrap()
                .expect("a plan");
                let (mut s, mut m) = (plan.scratch().unwrap(), plan.moments().unwrap());
                assert!(plan.load(x.view(), &mut s));
                let t = plan.summarize(x.view(), weights, &mut s, &mut m);
                assert_eq!((t.unexplained, t.log_likelihood), (counted, 0.0));
                assert!(t.invalid.is_none());
                assert!([m.weight, m.sum, m.products]
                    .concat()
                    .iter()
                    .all(|&v| v == 0.0));
            }
        }
    }

    #[test]
    fn small_f32_blocks_of_weights_far_apart_keep_f32_precision() {
        use crate::kernels::small::weights_fit;
        assert!(weights_fit(None) && weights_fit(Some(&[0.0, 0.0])));
        assert!(weights_fit(Some(&[1e-30, 0.0, 1.6e-23])));
        assert!(!weights_fit(Some(&[1e-30, 1.7e-23])));
        let mut next = values(37);
        let (k, n, d) = (2, 250, 3);
        let c = Components::new(&mut next, (k, d), (0.0, 3.0, 1.0), 1.0);
        let x = Array2::from_shape_fn((n, d), |_| (4.0 * next()) as f32);
        let x64 = x.mapv(f64::from);
        // Weights within 2^24 of each other (the block scaled as one) and further apart (each
        // component's responsibilities scaled on their own), around 1 and far from it.
        for (spread, scale) in [(1e6, 1.0), (1e6, 1e35), (1e30, 1.0), (1e30, 1e-20)] {
            let w: Vec<f64> = (0..n)
                .map(|i| {
                    scale
                        * if i % 3 == 0 {
                            spread
                        } else {
                            1.0 + next().abs()
                        }
                })
                .collect();
            for isa in Isa::supported() {
                let got = weighted_block_of(&c.forms(), &[-0.7, -0.7], x.view(), Some(&w), isa);
                let want = weighted_block_of(&c.forms(), &[-0.7, -0.7], x64.view(), Some(&w), isa);
                let total: f64 = w.iter().sum();
                close_moments(&got.2, &want.2, (&got.1, &want.1), d, total);
                let bits = fused_outputs(&c.forms(), &[-0.7, -0.7], x.view(), Some(&w), isa);
                assert!(
                    bits == fused_outputs(
                        &c.forms(),
                        &[-0.7, -0.7],
                        x.view(),
                        Some(&w),
                        Isa::portable()
                    )
                );
                assert!(
                    (got.3 - want.3).abs() <= 1e-6 * want.3.abs(),
                    "{spread} {scale}"
                );
            }
        }
    }
}
