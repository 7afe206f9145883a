//! The row-major diagonal kernels in `f32` lanes, for `f32` rows: the log-densities and the
//! moments of mixtures of diagonal Gaussians in eight features or more computed eight features
//! to a vector (twice the values per instruction of the `f64` kernels), with the sums that
//! outlive a few rows kept in `f64`. (Below eight features the rows are converted to `f64`: the
//! transposed `f64` kernels do less work per row there than `f32` lanes with their conversions
//! save.)
//!
//! **Accuracy.** Each mean is held as two `f32` values, `hi = mu as f32` and
//! `lo = (mu - hi) as f32`, and a row's distance to it is `(x - hi) - lo`: the first difference is
//! exact when `x` and `hi` are within a factor of two of each other and otherwise rounds to the
//! precision of the distance itself, so the distances keep the relative precision of `f32`
//! (about `6e-8`) however far the data sit from zero, whatever the ratio of mean to standard
//! deviation. `1 / (2 sigma^2)` is rounded to `f32` once. A form is a sum of `d` terms in `f32`,
//! widened to `f64` before it is taken from the constant, so a log-density carries the `f32`
//! rounding of its form, not of the constant. The posteriors use an `f32` `exp`
//! ([`exp32_nonpositive`](super::math::exp32_nonpositive)), summed in `f64`. The moments sum at
//! most [`MOMENT_TILE_ROWS`] rows in `f32` before adding them into `f64` sums, the
//! responsibilities scaled by a power of two per tile so that sample weights far from 1 and tiny
//! responsibilities stay in `f32`'s normal range; the weights' sums, the log-likelihood and
//! everything after the E-step stay `f64`.
//!
//! **Range.** A [`Single`] plan exists only when every `1 / (2 sigma^2)` is a normal `f32`
//! (sigma between about `3.8e-20` and `6.5e18`) and every mean a finite one, and some rows can be
//! taken; [`Single::limit`] is the largest `|x|` for which neither a form nor a tile's moments can
//! overflow `f32` (with a margin of 30). A block with a value beyond it takes the `f64` kernels
//! (see [`Plan::load`](super::plan::Plan::load)), so no row's density or moment is lost to the
//! narrower range.
//!
//! **Order.** Every lane does the same IEEE operations in the same order on every kernel path
//! (the generic functions here instantiated in the portable [`Oct`] and in AVX2 vectors, which
//! AVX-512 uses too), and the order depends on neither the number of threads nor the vector
//! width, so the results are the same bits everywhere.

use crate::error::{Error, Result};
use crate::validate::zeroed_vec;

/// The lanes of a vector of these kernels.
pub(crate) const WIDTH: usize = 8;

/// Rows of a tile of the moments: the sums of so many rows are `f32`, then added into `f64`.
pub(crate) const MOMENT_TILE_ROWS: usize = 32;

/// `d` rounded up to a multiple of [`WIDTH`].
pub(crate) fn padded8(d: usize) -> usize {
    d.div_ceil(WIDTH) * WIDTH
}

/// Eight `f32` lanes and the operations of the kernels on them.
pub(crate) trait Lanes32: Copy {
    /// All lanes `v`.
    fn splat(v: f32) -> Self;
    /// `s[..8]`.
    fn load(s: &[f32]) -> Self;
    /// `s[..s.len()]` (fewer than eight values) and zeros after.
    fn load_part(s: &[f32]) -> Self;
    /// `s[..8]` = the lanes.
    fn store(self, s: &mut [f32]);
    /// `self + o`.
    fn add(self, o: Self) -> Self;
    /// `self - o`.
    fn sub(self, o: Self) -> Self;
    /// `self * o`.
    fn mul(self, o: Self) -> Self;
    /// `self * a + b`, rounded once.
    fn mul_add(self, a: Self, b: Self) -> Self;
    /// Lane `r`: the lanes of `v[r]` summed as `((0 + 1) + (2 + 3)) + ((4 + 5) + (6 + 7))`.
    fn sums(v: &[Self; WIDTH]) -> Self;
    /// `out[..8]` = the lanes as `f64`.
    fn widen_into(self, out: &mut [f64]);
    /// `out[..8]` += the lanes as `f64` times `up` (a power of two).
    fn widen_add(self, out: &mut [f64], up: f64);
}

/// Portable [`Lanes32`].
#[derive(Clone, Copy)]
pub(crate) struct Oct([f32; WIDTH]);

impl Oct {
    #[inline(always)]
    fn zip(self, o: Self, f: impl Fn(f32, f32) -> f32) -> Self {
        let mut v = self.0;
        for (a, b) in v.iter_mut().zip(o.0) {
            *a = f(*a, b);
        }
        Oct(v)
    }
}

/// The tree of [`Lanes32::sums`] over eight values.
#[inline(always)]
pub(crate) fn tree(a: [f32; WIDTH]) -> f32 {
    ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]))
}

impl Lanes32 for Oct {
    #[inline(always)]
    fn splat(v: f32) -> Self {
        Oct([v; WIDTH])
    }
    #[inline(always)]
    fn load(s: &[f32]) -> Self {
        Oct(s[..WIDTH].try_into().expect("eight lanes"))
    }
    #[inline(always)]
    fn load_part(s: &[f32]) -> Self {
        let mut v = [0.0; WIDTH];
        v[..s.len()].copy_from_slice(s);
        Oct(v)
    }
    #[inline(always)]
    fn store(self, s: &mut [f32]) {
        s[..WIDTH].copy_from_slice(&self.0);
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        self.zip(o, |a, b| a + b)
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        self.zip(o, |a, b| a - b)
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        self.zip(o, |a, b| a * b)
    }
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        let mut v = self.0;
        for ((x, a), b) in v.iter_mut().zip(a.0).zip(b.0) {
            *x = x.mul_add(a, b);
        }
        Oct(v)
    }
    #[inline(always)]
    fn sums(v: &[Self; WIDTH]) -> Self {
        Oct(std::array::from_fn(|r| tree(v[r].0)))
    }
    #[inline(always)]
    fn widen_into(self, out: &mut [f64]) {
        for (o, v) in out[..WIDTH].iter_mut().zip(self.0) {
            *o = f64::from(v);
        }
    }
    #[inline(always)]
    fn widen_add(self, out: &mut [f64], up: f64) {
        for (o, v) in out[..WIDTH].iter_mut().zip(self.0) {
            *o += f64::from(v) * up;
        }
    }
}

/// The parameters of a mixture of diagonal Gaussians for these kernels: `k x padded8(d)` each,
/// zeros past `d` (a feature there adds `0 * 0`).
#[derive(Debug, Clone)]
pub(crate) struct Single {
    d: usize,
    /// `mu as f32`.
    hi: Vec<f32>,
    /// `(mu - hi) as f32`.
    lo: Vec<f32>,
    /// `1 / (2 sigma^2)` as `f32`.
    h: Vec<f32>,
    /// The largest `|x|` the kernels take (see the [module docs](self)).
    pub limit: f32,
}

/// The bound the forms and a tile's moments are kept under: `f32::MAX / 30`.
const FORM_BOUND: f64 = 1e37;

impl Single {
    /// The `f32` parameters of `k` diagonal Gaussians in `d` features (`means`, `h`: `k x d`),
    /// or `None` when a value does not fit (a mean beyond `f32`'s range, a `1 / (2 sigma^2)`
    /// that is not a normal `f32`) or no row could be taken; an error (`err`) when they do not
    /// fit in memory.
    pub fn new(
        means: &[f64],
        h: &[f64],
        d: usize,
        err: impl Fn() -> Error,
    ) -> Result<Option<Single>> {
        let k = means.len() / d.max(1);
        let dp = padded8(d);
        let mut out = Single {
            d,
            hi: zeroed_vec(&[k, dp], &err)?,
            lo: zeroed_vec(&[k, dp], &err)?,
            h: zeroed_vec(&[k, dp], &err)?,
            limit: 0.0,
        };
        let (mut max_mu, mut max_h) = (0.0f64, 0.0f64);
        for j in 0..k {
            for l in 0..d {
                let (m, hv) = (means[j * d + l], h[j * d + l] as f32);
                let hi = m as f32;
                if !hi.is_finite() || !hv.is_normal() {
                    return Ok(None);
                }
                let lo = (m - f64::from(hi)) as f32;
                out.hi[j * dp + l] = hi;
                out.lo[j * dp + l] = lo;
                out.h[j * dp + l] = hv;
                max_mu = max_mu.max(f64::from(hi).abs() + f64::from(lo).abs());
                max_h = max_h.max(f64::from(hv));
            }
        }
        // |x - mu| <= |x| + max_mu; a form is at most d max_h |x - mu|^2, and a tile's moments
        // at most MOMENT_TILE_ROWS times 4 |x - mu|^2.
        Ok(
            limit(d.max(1) as f64 * max_h, MOMENT_TILE_ROWS, max_mu).map(|limit| {
                out.limit = limit;
                out
            }),
        )
    }

    fn dp(&self) -> usize {
        padded8(self.d)
    }
}

/// The largest `|x|` for which, with every `|x - mu|` at most `|x| + max_mu`, neither a form (at
/// most `forms |x - mu|^2`) nor the moments of `rows` rows in a lane (at most
/// `4 rows |x - mu|^2`, the responsibilities scaled to below 4 by [`tile_scale`]) exceed
/// [`FORM_BOUND`], rounded down to an `f32`; `None` below 1 (no row could be taken).
pub(crate) fn limit(forms: f64, rows: usize, max_mu: f64) -> Option<f32> {
    let forms = (FORM_BOUND / forms).sqrt();
    let moments = (FORM_BOUND / (4 * rows) as f64).sqrt();
    let reach = forms.min(moments) - max_mu;
    if !(reach >= 1.0) {
        return None;
    }
    // Rounded down, so that a value at the limit is within `reach`.
    let limit = reach as f32;
    Some(if f64::from(limit) > reach {
        f32::from_bits(limit.to_bits() - 1)
    } else {
        limit
    })
}

/// The largest `|x|` of `xs` as bits (NaN above every number, so that a block with a NaN is
/// beyond any limit).
#[inline(always)]
pub(crate) fn max_abs_bits(xs: &[f32]) -> u32 {
    xs.iter()
        .fold(0u32, |m, v| m.max(v.to_bits() & 0x7fff_ffff))
}

/// Chunk `c` (eight features) of row `row` (`d` values).
#[inline(always)]
fn chunk<L: Lanes32>(row: &[f32], c: usize) -> L {
    let at = c * WIDTH;
    if at + WIDTH <= row.len() {
        L::load(&row[at..])
    } else {
        L::load_part(&row[at..])
    }
}

/// Chunk `c` of the forms of [`form_tile`]: the last, partial one (read through
/// [`Lanes32::load_part`]) when `PART`.
#[inline(always)]
fn form_step<L: Lanes32, const R: usize, const PART: bool>(
    p: &Single,
    rows: &[&[f32]; R],
    at: usize,
    c: usize,
    a: &mut [L; WIDTH],
) {
    let (hi, lo, h) = (
        L::load(&p.hi[at..]),
        L::load(&p.lo[at..]),
        L::load(&p.h[at..]),
    );
    for (a, row) in a.iter_mut().zip(rows) {
        let v = if PART {
            L::load_part(&row[c * WIDTH..])
        } else {
            L::load(&row[c * WIDTH..])
        };
        let z = v.sub(hi).sub(lo);
        *a = z.mul(h).mul_add(z, *a);
    }
}

/// The forms of the `R` rows `rows` for component `j`: lane `r`, `sum_l h_l (x_l - mu_l)^2` of
/// `rows[r]` (lanes past `R` zero).
#[inline(always)]
fn form_tile<L: Lanes32, const R: usize>(p: &Single, rows: &[&[f32]; R], j: usize) -> L {
    let (d, dp) = (p.d, p.dp());
    let mut a = [L::splat(0.0); WIDTH];
    for c in 0..d / WIDTH {
        form_step::<L, R, false>(p, rows, j * dp + c * WIDTH, c, &mut a);
    }
    if d % WIDTH != 0 {
        let c = d / WIDTH;
        form_step::<L, R, true>(p, rows, j * dp + c * WIDTH, c, &mut a);
    }
    L::sums(&a)
}

/// `lp[j * n + i] = consts_j - sum_l h_jl (x_il - mu_jl)^2` for the `n` rows of
/// `x` (`n x d`, every `|x|` within `p.limit`) and the `k` components: eight rows at a time,
/// each row's features in the lanes `l % 8`, combined by [`Lanes32::sums`], the form widened to
/// `f64` before it is taken from the constant.
#[inline(always)]
pub(crate) fn forms_rows<L: Lanes32>(
    p: &Single,
    consts: &[f64],
    x: &[f32],
    n: usize,
    lp: &mut [f64],
) {
    let d = p.d;
    let mut q = [0.0f64; WIDTH];
    let put = |q: &[f64], j: usize, i0: usize, rows: usize, lp: &mut [f64]| {
        let c0 = consts[j];
        // Finite: the forms of rows within the limit are (and so is the constant).
        for (o, &v) in lp[j * n + i0..j * n + i0 + rows].iter_mut().zip(q) {
            *o = c0 - v;
        }
    };
    let n8 = n / WIDTH * WIDTH;
    for i0 in (0..n8).step_by(WIDTH) {
        let rows: [&[f32]; WIDTH] = std::array::from_fn(|r| &x[(i0 + r) * d..(i0 + r + 1) * d]);
        for j in 0..consts.len() {
            form_tile::<L, WIDTH>(p, &rows, j).widen_into(&mut q);
            put(&q, j, i0, WIDTH, lp);
        }
    }
    for i in n8..n {
        let rows = [&x[i * d..(i + 1) * d]];
        for j in 0..consts.len() {
            form_tile::<L, 1>(p, &rows, j).widen_into(&mut q);
            put(&q, j, i, 1, lp);
        }
    }
}

/// `2^e` for `e` in `[-1022, 1022]`.
#[inline(always)]
fn pow2(e: i64) -> f64 {
    f64::from_bits(((1023 + e) as u64) << 52)
}

/// Powers of two `(down, up)`, `down * up = 1`, that bring the largest of the responsibilities
/// `r` of a tile to `[0.5, 1)` (below 4 at the ends of `f64`'s range), `(1, 1)` when they are all
/// 0: the moments scale the responsibilities by `down` before they narrow them to `f32`, and the
/// tile's sums by `up` as they widen them, so that neither sample weights far from 1 nor tiny
/// responsibilities leave `f32`'s range (both multiplications are exact).
#[inline(always)]
pub(crate) fn tile_scale(r: &[f64]) -> (f64, f64) {
    // The responsibilities are not negative: the largest is the one of the largest bits (an
    // integer maximum, which vectorises).
    let m = f64::from_bits(r.iter().fold(0u64, |m, v| m.max(v.to_bits() & !(1 << 63))));
    if !(m > 0.0 && m.is_finite()) {
        return (1.0, 1.0);
    }
    let e = (((m.to_bits() >> 52) & 0x7ff) as i64 - 1022).clamp(-1022, 1022);
    (pow2(-e), pow2(e))
}

/// The moments of component `j` over the rows `x` of one tile (`r`: their responsibilities), for
/// the chunks `c0..c0 + G`, added into `w1`, `w2` (`f64`, at `c0 * 8`): each lane sums its
/// feature's `r z` and `r z^2` over the rows in order from zero, in `f32`.
#[inline(always)]
fn moments_group<L: Lanes32, const G: usize>(
    p: &Single,
    r: &[f64],
    x: &[f32],
    (j, c0): (usize, usize),
    (down, up): (f64, f64),
    (w1, w2): (&mut [f64], &mut [f64]),
) {
    let (d, dp) = (p.d, p.dp());
    let zero = L::splat(0.0);
    let mut hi = [zero; G];
    let mut lo = [zero; G];
    for g in 0..G {
        let at = j * dp + (c0 + g) * WIDTH;
        hi[g] = L::load(&p.hi[at..]);
        lo[g] = L::load(&p.lo[at..]);
    }
    let (mut t1, mut t2) = ([zero; G], [zero; G]);
    for (&ri, row) in r.iter().zip(x.chunks_exact(d)) {
        let rb = L::splat((ri * down) as f32);
        for g in 0..G {
            let z = chunk::<L>(row, c0 + g).sub(hi[g]).sub(lo[g]);
            let wz = rb.mul(z);
            t1[g] = t1[g].add(wz);
            t2[g] = wz.mul_add(z, t2[g]);
        }
    }
    for g in 0..G {
        let o = (c0 + g) * WIDTH;
        t1[g].widen_add(&mut w1[o..], up);
        t2[g].widen_add(&mut w2[o..], up);
    }
}

/// Adds `sum_i r_ij (x_il - mu_jl)` to `s1` and `sum_i r_ij (x_il - mu_jl)^2` to `s2` (`k x d`)
/// for the `n` rows of `x` (every `|x|` within `p.limit`) and their responsibilities `r`
/// (`k x n`): tiles of [`MOMENT_TILE_ROWS`] rows summed in `f32` lanes (the responsibilities
/// scaled by [`tile_scale`]), added tile by tile in row order into `f64` sums in `work`
/// (`2 k padded8(d)` values), which go into `s1`, `s2` at the end.
#[inline(always)]
pub(crate) fn moments_rows<L: Lanes32>(
    p: &Single,
    r: &[f64],
    x: &[f32],
    (s1, s2): (&mut [f64], &mut [f64]),
    work: &mut [f64],
) {
    let (d, dp) = (p.d, p.dp());
    let k = s1.len() / d;
    let n = r.len() / k;
    let (w1, w2) = work[..2 * k * dp].split_at_mut(k * dp);
    w1.fill(0.0);
    w2.fill(0.0);
    let chunks = dp / WIDTH;
    for t0 in (0..n).step_by(MOMENT_TILE_ROWS) {
        let t1 = (t0 + MOMENT_TILE_ROWS).min(n);
        let xt = &x[t0 * d..t1 * d];
        for j in 0..k {
            let rj = &r[j * n + t0..j * n + t1];
            let scale = tile_scale(rj);
            let w = (&mut w1[j * dp..(j + 1) * dp], &mut w2[j * dp..(j + 1) * dp]);
            let mut c = 0;
            while c + 2 <= chunks {
                moments_group::<L, 2>(p, rj, xt, (j, c), scale, (&mut *w.0, &mut *w.1));
                c += 2;
            }
            if c < chunks {
                moments_group::<L, 1>(p, rj, xt, (j, c), scale, w);
            }
        }
    }
    for j in 0..k {
        for l in 0..d {
            s1[j * d + l] += w1[j * dp + l];
            s2[j * d + l] += w2[j * dp + l];
        }
    }
}
