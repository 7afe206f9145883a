//! The row-major diagonal kernels in `f32` lanes, for `f32` rows: the log-densities and the
//! moments of mixtures of diagonal Gaussians in eight features or more computed eight values
//! to a vector (twice the values per instruction of the `f64` kernels; the moments sixteen on
//! AVX-512, see [`AnyLanes32`]), with the sums that
//! outlive a few rows kept in `f64`. (Below eight features the rows are converted to `f64`: the
//! transposed `f64` kernels do less work per row there than `f32` lanes with their conversions
//! save.)
//!
//! **Accuracy.** Each mean is held as two `f32` values, `hi = mu as f32` and
//! `lo = (mu - hi) as f32`, and the kernels compute with `y = x - hi`, which is exact when `x`
//! and `hi` are within a factor of two of each other and otherwise rounds to the precision of
//! the distance itself; `lo` is taken out of what they sum (`hi` is the `f32` nearest to `mu`, so
//! `|lo| <= |x - mu|` for every `f32` `x`, and the terms below do not cancel): a form
//! `sum_l h_l (y_l - lo_l)^2` is computed as `sum_l (h_l y_l + m_l) y_l + c` (`m = -2 h lo` in
//! `f32`, `c = sum_l h_l lo_l^2` in `f64`), and the moments of `y` are turned into those of
//! `x - mu` in `f64` (see [`moments_rows`]). So the distances keep the relative precision of
//! `f32` (about `6e-8`) however far the data sit from zero, whatever the ratio of mean to
//! standard deviation. `1 / (2 sigma^2)` is rounded to `f32` once. A form is a sum of `d` terms
//! in `f32`, widened to `f64` before it is taken from the constant, so a log-density carries the
//! `f32` rounding of its form, not of the constant. The posteriors use an `f32` `exp`
//! ([`exp32_nonpositive`](super::math::exp32_nonpositive)), summed in `f64`. The moments sum at
//! most [`MOMENT_TILE_ROWS`] rows in `f32` before adding them into `f64` sums, the
//! responsibilities scaled by a power of two per tile so that sample weights far from 1 and tiny
//! responsibilities stay in `f32`'s normal range; the weights' sums, the log-likelihood and
//! everything after the E-step stay `f64`.
//!
//! **Layout.** The forms take the block transposed by groups of eight rows
//! ([`transpose_groups`]): a lane per row, each form summed over the features in order, two
//! components and two groups side by side. The moments take the rows as they are: a lane per
//! feature, each summed over the rows of a tile in order, two components side by side.
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
//! AVX-512 uses too, the moments in its vectors of sixteen lanes, a feature to a lane), and the
//! order depends on neither the number of threads nor the vector width, so the results are the
//! same bits everywhere.

use super::math::exp32_nonpositive;
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
    /// Lane `c` of `v[r]` swapped with lane `r` of `v[c]`.
    fn transpose(v: &mut [Self; WIDTH]);
    /// `out[..8]` = the lanes as `f64`.
    fn widen_into(self, out: &mut [f64]);
    /// `out[..8]` = `c0` minus the lanes as `f64`, from the vector registers (not through a
    /// copy in memory, which a wider load after two narrower stores would stall on).
    fn widen_from(self, c0: f64, out: &mut [f64]);
    /// `out[..8]` += the lanes as `f64` times `up` (a power of two).
    fn widen_add(self, out: &mut [f64], up: f64);
    /// `s[..8]` rounded to `f32` (to nearest).
    fn narrow(s: &[f64]) -> Self;
    /// [`exp32_nonpositive`] of each lane.
    fn exp_nonpositive(self) -> Self;
}

/// The lane-by-lane operations of [`Lanes32`] on vectors of [`LANES`](AnyLanes32::LANES) `f32`
/// lanes: those of [`Lanes32`] (eight lanes), or of sixteen lanes on AVX-512. The kernels that
/// take them (the full-covariance forms, a row to a lane, and the diagonal moments, a feature to
/// a lane) give each lane the same operations whatever the width, so the same bits.
pub(crate) trait AnyLanes32: Copy {
    /// The lanes of a vector.
    const LANES: usize;
    /// All lanes `v`.
    fn fill(v: f32) -> Self;
    /// `s[..LANES]`.
    fn read(s: &[f32]) -> Self;
    /// `s[..LANES]` = the lanes.
    fn write(self, s: &mut [f32]);
    /// `self * a + b`, rounded once.
    fn fma(self, a: Self, b: Self) -> Self;
    /// `self - o`.
    fn minus(self, o: Self) -> Self;
    /// `self + o`.
    fn plus(self, o: Self) -> Self;
    /// `self * o`.
    fn times(self, o: Self) -> Self;
    /// `s[..s.len()]` (fewer than `LANES` values) and zeros after.
    fn read_part(s: &[f32]) -> Self;
    /// `out[..LANES]` += the lanes as `f64` times `up` (a power of two), as
    /// [`Lanes32::widen_add`].
    fn widen_onto(self, out: &mut [f64], up: f64);
}

impl<L: Lanes32> AnyLanes32 for L {
    const LANES: usize = WIDTH;
    #[inline(always)]
    fn fill(v: f32) -> Self {
        L::splat(v)
    }
    #[inline(always)]
    fn read(s: &[f32]) -> Self {
        L::load(s)
    }
    #[inline(always)]
    fn write(self, s: &mut [f32]) {
        self.store(s)
    }
    #[inline(always)]
    fn fma(self, a: Self, b: Self) -> Self {
        self.mul_add(a, b)
    }
    #[inline(always)]
    fn minus(self, o: Self) -> Self {
        self.sub(o)
    }
    #[inline(always)]
    fn plus(self, o: Self) -> Self {
        self.add(o)
    }
    #[inline(always)]
    fn times(self, o: Self) -> Self {
        self.mul(o)
    }
    #[inline(always)]
    fn read_part(s: &[f32]) -> Self {
        L::load_part(s)
    }
    #[inline(always)]
    fn widen_onto(self, out: &mut [f64], up: f64) {
        self.widen_add(out, up)
    }
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
    fn transpose(v: &mut [Self; WIDTH]) {
        let t = *v;
        for (r, v) in v.iter_mut().enumerate() {
            v.0 = std::array::from_fn(|c| t[c].0[r]);
        }
    }
    #[inline(always)]
    fn widen_into(self, out: &mut [f64]) {
        for (o, v) in out[..WIDTH].iter_mut().zip(self.0) {
            *o = f64::from(v);
        }
    }
    #[inline(always)]
    fn widen_from(self, c0: f64, out: &mut [f64]) {
        for (o, v) in out[..WIDTH].iter_mut().zip(self.0) {
            *o = c0 - f64::from(v);
        }
    }
    #[inline(always)]
    fn widen_add(self, out: &mut [f64], up: f64) {
        for (o, v) in out[..WIDTH].iter_mut().zip(self.0) {
            *o += f64::from(v) * up;
        }
    }
    #[inline(always)]
    fn narrow(s: &[f64]) -> Self {
        Oct(std::array::from_fn(|u| s[u] as f32))
    }
    #[inline(always)]
    fn exp_nonpositive(self) -> Self {
        Oct(self.0.map(exp32_nonpositive))
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
    /// `-2 h lo` as `f32`, or 0 where that is below `f32`'s normal range (a term of less than
    /// `1.2e-38 |y|` left out of the forms, and no subnormal operand in their products).
    m: Vec<f32>,
    /// `sum_l h_l lo_l^2` of each component (`k`), in `f64`.
    c: Vec<f64>,
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
            m: zeroed_vec(&[k, dp], &err)?,
            c: zeroed_vec(&[k], &err)?,
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
                let (h64, lo64) = (f64::from(hv), f64::from(lo));
                // A product below f32's normal range is taken as 0 (see the docs of `m`).
                let m = (-2.0 * h64 * lo64) as f32;
                out.m[j * dp + l] = if m.is_normal() { m } else { 0.0 };
                out.c[j] += h64 * lo64 * lo64;
                max_mu = max_mu.max(f64::from(hi).abs() + f64::from(lo).abs());
                max_h = max_h.max(f64::from(hv));
            }
        }
        // With y = x - hi, |y| and |y| + |lo| are at most |x| + max_mu: a form's terms
        // (h y + m) y are at most max_h (|y| + |lo|)^2, so a form at most
        // d max_h (|x| + max_mu)^2, and a tile's moments (of r y and r y^2) at most
        // MOMENT_TILE_ROWS times 4 (|x| + max_mu)^2.
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

/// The rows `x` (`n x d`) transposed into `xt` by groups of eight rows: the values of feature
/// `l` of the rows `8 g .. 8 g + 8` are `xt[8 d g + 8 l..][..8]`, lanes past `n` zero
/// (`xt`: at least `d n` rounded up to eight rows).
#[inline(always)]
pub(crate) fn transpose_groups<L: Lanes32>(x: &[f32], n: usize, d: usize, xt: &mut [f32]) {
    transpose_eights::<L>(x, (n, d), (WIDTH * d, WIDTH), xt)
}

/// The rows `x` (`n x d`) transposed eight rows by eight features at a time (in vectors `L`):
/// the values of feature `l` of the rows `8 g .. 8 g + 8` go to `xt[g group + l feature..][..8]`,
/// lanes past `n` zero.
#[inline(always)]
pub(crate) fn transpose_eights<L: Lanes32>(
    x: &[f32],
    (n, d): (usize, usize),
    (group, feature): (usize, usize),
    xt: &mut [f32],
) {
    let zero = L::splat(0.0);
    for g in 0..n.div_ceil(WIDTH) {
        let rows = (n - g * WIDTH).min(WIDTH);
        let x = &x[g * WIDTH * d..(g * WIDTH + rows) * d];
        for c in 0..d.div_ceil(WIDTH) {
            let (at, width) = (c * WIDTH, (d - c * WIDTH).min(WIDTH));
            let mut v = [zero; WIDTH];
            for (v, row) in v.iter_mut().zip(x.chunks_exact(d)) {
                let part = &row[at..at + width];
                *v = if width == WIDTH {
                    L::load(part)
                } else {
                    L::load_part(part)
                };
            }
            L::transpose(&mut v);
            for (l, v) in v[..width].iter().enumerate() {
                v.store(&mut xt[g * group + (at + l) * feature..]);
            }
        }
    }
}

/// The forms of the components `j0..j0 + J` (but for their constant parts) of the `R` groups of
/// eight rows `xt` (transposed by [`transpose_groups`]): `a[jj][r]`, lane `i`, is
/// `sum_l (h_l y_l + m_l) y_l` of row `i` of group `r`, `y = x - hi`, summed over `l` in order.
#[inline(always)]
fn form_groups<'a, L: Lanes32, const J: usize, const R: usize>(
    p: &'a Single,
    xt: &[f32],
    j0: usize,
) -> [[L; R]; J] {
    let (d, dp) = (p.d, p.dp());
    let mut a = [[L::splat(0.0); R]; J];
    // Each group's values and each component's parameters as slices of their exact lengths,
    // which the loop indexes without checks.
    let xs: [&[[f32; WIDTH]]; R] =
        std::array::from_fn(|r| &xt[r * WIDTH * d..(r + 1) * WIDTH * d].as_chunks().0[..d]);
    let par = |v: &'a [f32], jj: usize| &v[(j0 + jj) * dp..(j0 + jj) * dp + d];
    let hs: [(&[f32], &[f32], &[f32]); J] =
        std::array::from_fn(|jj| (par(&p.hi, jj), par(&p.h, jj), par(&p.m, jj)));
    for l in 0..d {
        let v: [L; R] = std::array::from_fn(|r| L::load(&xs[r][l]));
        for (a, (hi, h, m)) in a.iter_mut().zip(&hs) {
            let (hi, h, m) = (L::splat(hi[l]), L::splat(h[l]), L::splat(m[l]));
            for (a, v) in a.iter_mut().zip(v) {
                let y = v.sub(hi);
                *a = h.mul_add(y, m).mul_add(y, *a);
            }
        }
    }
    a
}

/// `lp[j * n + i] = consts_j - sum_l h_jl (x_il - mu_jl)^2` for the `n` rows of `x` (`n x d`,
/// every `|x|` within `p.limit`) and the `k` components, `xt` the work space of
/// [`transpose_groups`]: with `y = x - hi`, the form is `sum_l (h_l y_l + m_l) y_l + c_j`
/// (`m = -2 h lo`, `c_j = sum_l h_l lo_l^2`, see [`Single`]), summed over `l` in order in a lane
/// for each row (eight rows to a vector, [`FORM_GROUPS`] groups of them and two components at a
/// time), widened to `f64` and taken from `consts_j - c_j`.
#[inline(always)]
pub(crate) fn forms_rows<L: Lanes32>(
    p: &Single,
    consts: &[f64],
    x: &[f32],
    n: usize,
    lp: &mut [f64],
    xt: &mut [f32],
) {
    let (d, k) = (p.d, consts.len());
    transpose_groups::<L>(x, n, d, xt);
    let mut j = 0;
    while j + 2 <= k {
        forms_components::<L, 2>(p, consts, xt, (j, n), lp);
        j += 2;
    }
    if j < k {
        forms_components::<L, 1>(p, consts, xt, (j, n), lp);
    }
}

/// [`forms_rows`] of the components `j0..j0 + J` over every group of rows of `xt`,
/// [`FORM_GROUPS`] groups at a time.
#[inline(always)]
fn forms_components<L: Lanes32, const J: usize>(
    p: &Single,
    consts: &[f64],
    xt: &[f32],
    (j0, n): (usize, usize),
    lp: &mut [f64],
) {
    let (d, groups) = (p.d, n.div_ceil(WIDTH));
    let mut g = 0;
    while g + FORM_GROUPS <= groups {
        let a = form_groups::<L, J, FORM_GROUPS>(p, &xt[g * WIDTH * d..], j0);
        put_components(&a, p, consts, (j0, g, n), lp);
        g += FORM_GROUPS;
    }
    while g < groups {
        let a = form_groups::<L, J, 1>(p, &xt[g * WIDTH * d..], j0);
        put_components(&a, p, consts, (j0, g, n), lp);
        g += 1;
    }
}

/// [`put_forms`] of the forms `a` of the components from `j0`, each from its constant.
#[inline(always)]
fn put_components<L: Lanes32, const J: usize, const R: usize>(
    a: &[[L; R]; J],
    p: &Single,
    consts: &[f64],
    (j0, g0, n): (usize, usize, usize),
    lp: &mut [f64],
) {
    for (j, a) in (j0..).zip(a) {
        put_forms(a, consts[j] - p.c[j], (j, g0, n), lp);
    }
}

/// `lp[j * n + i] = c0 - form` for the forms `a` of the groups of eight rows from `g0` (`n`
/// rows in all).
#[inline(always)]
fn put_forms<L: Lanes32>(a: &[L], c0: f64, (j, g0, n): (usize, usize, usize), lp: &mut [f64]) {
    for (g, a) in (g0..).zip(a) {
        let i0 = g * WIDTH;
        let rows = (n - i0).min(WIDTH);
        // Finite: the forms of rows within the limit are (and so is the constant).
        let out = &mut lp[j * n + i0..j * n + i0 + rows];
        if rows == WIDTH {
            a.widen_from(c0, out);
        } else {
            let mut q = [0.0f64; WIDTH];
            a.widen_from(c0, &mut q);
            out.copy_from_slice(&q[..rows]);
        }
    }
}

/// Groups of eight rows whose forms [`forms_rows`] computes side by side.
const FORM_GROUPS: usize = 2;

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

/// The sums of the `J` components `j0..j0 + J` over the rows `x` of one tile (`r[jj]`: their
/// responsibilities, `scale[jj]`: their [`tile_scale`]), for `G` vectors `V` of features from
/// `f0` (the last one partial when `PART`), added into `w1`, `w2` (`f64`, `k x padded8(d)`): each
/// lane sums its feature's `r y` and `r y^2`, `y = x - hi`, over the rows in order from zero, in
/// `f32`. The components side by side share each row's loads and give the sums `2 J G` chains to
/// run on.
#[inline(always)]
fn moments_group<V: AnyLanes32, const J: usize, const G: usize, const PART: bool>(
    p: &Single,
    r: &[[f32; MOMENT_TILE_ROWS]; J],
    x: &[f32],
    (j0, f0): (usize, usize),
    scale: [(f64, f64); J],
    (w1, w2): (&mut [f64], &mut [f64]),
) {
    let (d, dp) = (p.d, p.dp());
    let zero = V::fill(0.0);
    let mut hi = [[zero; G]; J];
    for (jj, hi) in hi.iter_mut().enumerate() {
        for (g, hi) in hi.iter_mut().enumerate() {
            *hi = V::read(&p.hi[(j0 + jj) * dp + f0 + g * V::LANES..]);
        }
    }
    let (mut t1, mut t2) = ([[zero; G]; J], [[zero; G]; J]);
    for (i, row) in x.chunks_exact(d).enumerate() {
        let rb: [V; J] = std::array::from_fn(|jj| V::fill(r[jj][i]));
        for g in 0..G {
            let at = f0 + g * V::LANES;
            let v = if PART && g + 1 == G {
                V::read_part(&row[at..])
            } else {
                V::read(&row[at..])
            };
            for jj in 0..J {
                let y = v.minus(hi[jj][g]);
                let wy = rb[jj].times(y);
                t1[jj][g] = t1[jj][g].plus(wy);
                t2[jj][g] = wy.fma(y, t2[jj][g]);
            }
        }
    }
    for jj in 0..J {
        for g in 0..G {
            let o = (j0 + jj) * dp + f0 + g * V::LANES;
            t1[jj][g].widen_onto(&mut w1[o..], scale[jj].1);
            t2[jj][g].widen_onto(&mut w2[o..], scale[jj].1);
        }
    }
}

/// [`moments_group`] of the components `j0..j0 + J` over every feature of a tile: `G` vectors
/// `V` at a time, then one, then the features left in eight lanes `L` (the last vector partial).
#[inline(always)]
fn moments_components<L: Lanes32, V: AnyLanes32, const J: usize, const G: usize>(
    p: &Single,
    r: [&[f64]; J],
    x: &[f32],
    j0: usize,
    w: (&mut [f64], &mut [f64]),
) {
    let scale = r.map(tile_scale);
    let mut rs = [[0.0f32; MOMENT_TILE_ROWS]; J];
    for ((rs, r), (down, _)) in rs.iter_mut().zip(r).zip(scale) {
        for (o, &v) in rs.iter_mut().zip(r) {
            *o = (v * down) as f32;
        }
    }
    let r = &rs;
    // Features `..f` done; `whole` of them fill vectors of eight.
    let (whole, mut f) = (p.d / WIDTH * WIDTH, 0);
    while f + G * V::LANES <= whole {
        moments_group::<V, J, G, false>(p, r, x, (j0, f), scale, (&mut *w.0, &mut *w.1));
        f += G * V::LANES;
    }
    while f + V::LANES <= whole {
        moments_group::<V, J, 1, false>(p, r, x, (j0, f), scale, (&mut *w.0, &mut *w.1));
        f += V::LANES;
    }
    while f < whole {
        moments_group::<L, J, 1, false>(p, r, x, (j0, f), scale, (&mut *w.0, &mut *w.1));
        f += WIDTH;
    }
    if whole < p.d {
        moments_group::<L, J, 1, true>(p, r, x, (j0, f), scale, w);
    }
}

/// Adds `sum_i r_ij (x_il - mu_jl)` to `s1` and `sum_i r_ij (x_il - mu_jl)^2` to `s2` (`k x d`)
/// for the `n` rows of `x` (every `|x|` within `p.limit`), their responsibilities `r` (`k x n`)
/// and the sums of those, `rsum` (`k`). The sums of `r y` and `r y^2`, `y = x - hi`, go in
/// tiles of [`MOMENT_TILE_ROWS`] rows summed in `f32` lanes (the responsibilities scaled by
/// [`tile_scale`]), added tile by tile in row order into `f64` sums in `work`
/// (`2 k padded8(d)` values); at the end, in `f64`, `lo` is taken out of them:
/// `sum r (x - mu) = sum r y - lo R` and `sum r (x - mu)^2 = sum r y^2 - 2 lo sum r y + lo^2 R`
/// (`R = rsum_j`): one subtraction per value, no correction per row.
#[inline(always)]
pub(crate) fn moments_rows<L: Lanes32, V: AnyLanes32>(
    p: &Single,
    r: &[f64],
    x: &[f32],
    rsum: &[f64],
    (s1, s2): (&mut [f64], &mut [f64]),
    work: &mut [f64],
) {
    let (d, dp) = (p.d, p.dp());
    let k = s1.len() / d;
    let n = r.len() / k;
    let (w1, w2) = work[..2 * k * dp].split_at_mut(k * dp);
    w1.fill(0.0);
    w2.fill(0.0);
    for t0 in (0..n).step_by(MOMENT_TILE_ROWS) {
        let t1 = (t0 + MOMENT_TILE_ROWS).min(n);
        let xt = &x[t0 * d..t1 * d];
        let rj = |j: usize| &r[j * n + t0..j * n + t1];
        let mut j = 0;
        while j + 2 <= k {
            let pair = [rj(j), rj(j + 1)];
            moments_components::<L, V, 2, 2>(p, pair, xt, j, (&mut *w1, &mut *w2));
            j += 2;
        }
        if j < k {
            moments_components::<L, V, 1, 2>(p, [rj(j)], xt, j, (&mut *w1, &mut *w2));
        }
    }
    for (j, &rj) in rsum[..k].iter().enumerate() {
        for l in 0..d {
            let (a1, a2) = (w1[j * dp + l], w2[j * dp + l]);
            let lo = f64::from(p.lo[j * dp + l]);
            s1[j * d + l] += a1 - lo * rj;
            s2[j * d + l] += (a2 - 2.0 * lo * a1) + lo * lo * rj;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::test_draws;

    #[test]
    fn groups_of_rows_are_transposed_with_zeros_past_the_rows() {
        let mut next = test_draws(3);
        for (n, d) in [
            (1usize, 8usize),
            (7, 3),
            (8, 16),
            (13, 11),
            (16, 9),
            (21, 24),
        ] {
            let x: Vec<f32> = (0..n * d).map(|_| next() as f32 + 1.0).collect();
            let groups = n.div_ceil(WIDTH);
            let mut xt = vec![f32::NAN; groups * WIDTH * d + 5];
            transpose_groups::<Oct>(&x, n, d, &mut xt);
            for g in 0..groups {
                for l in 0..d {
                    for lane in 0..WIDTH {
                        let i = g * WIDTH + lane;
                        let want = if i < n { x[i * d + l] } else { 0.0 };
                        assert_eq!(xt[(g * d + l) * WIDTH + lane], want, "{n} {d} {g} {l}");
                    }
                }
            }
            // Nothing past the groups is written.
            assert!(xt[groups * WIDTH * d..].iter().all(|v| v.is_nan()));
        }
    }

    /// The forms and moments of `Single` against their definitions in `f64`, to `f32` precision
    /// (the forms relative to themselves plus 1, the moments to the scale of the second).
    fn check_against_f64(means: &[f64], h: &[f64], x: &[f32], d: usize) -> Single {
        let (k, n) = (means.len() / d, x.len() / d);
        let p = Single::new(means, h, d, || Error::Format("room".into()))
            .unwrap()
            .expect("f32 parameters");
        let consts: Vec<f64> = (0..k).map(|j| j as f64 - 1.0).collect();
        let mut lp = vec![0.0; k * n];
        let mut xt = vec![0.0f32; n.div_ceil(WIDTH) * WIDTH * d];
        forms_rows::<Oct>(&p, &consts, x, n, &mut lp, &mut xt);
        let r: Vec<f64> = (0..k * n).map(|t| 0.25 + (t % 7) as f64 / 8.0).collect();
        let rsum: Vec<f64> = (0..k).map(|j| r[j * n..(j + 1) * n].iter().sum()).collect();
        let (mut s1, mut s2) = (vec![0.0; k * d], vec![0.0; k * d]);
        let mut work = vec![0.0; 2 * k * padded8(d)];
        moments_rows::<Oct, Oct>(&p, &r, x, &rsum, (&mut s1, &mut s2), &mut work);
        for j in 0..k {
            let (mut e1, mut e2) = (vec![0.0; d], vec![0.0; d]);
            for i in 0..n {
                let mut form = 0.0;
                for l in 0..d {
                    let z = f64::from(x[i * d + l]) - means[j * d + l];
                    form += h[j * d + l] * z * z;
                    e1[l] += r[j * n + i] * z;
                    e2[l] += r[j * n + i] * z * z;
                }
                let got = lp[j * n + i];
                let want = consts[j] - form;
                assert!((got - want).abs() <= 1e-6 * (form + 1.0), "{got} {want}");
            }
            for l in 0..d {
                let (a1, a2) = (s1[j * d + l], s2[j * d + l]);
                let scale = (e2[l] * rsum[j]).sqrt();
                assert!((a1 - e1[l]).abs() <= 1e-5 * scale, "{a1} {}", e1[l]);
                assert!((a2 - e2[l]).abs() <= 1e-5 * e2[l], "{a2} {}", e2[l]);
            }
        }
        p
    }

    #[test]
    fn forms_and_moments_keep_the_low_part_of_the_means() {
        let mut next = test_draws(11);
        // Means far from zero in units of the standard deviation, the data spread over a few
        // f32 steps per standard deviation: the low parts of the means are a good part of a
        // standard deviation (up to half a step), and taking them out in f64 keeps the
        // distances' precision. Rows past multiples of eight and sixteen, odd components.
        // (The draws are in [-0.5, 0.5).)
        for (d, n, k, offset, sigma) in [
            (8, 19, 3, 2e5, 0.05),
            (11, 40, 1, -3e4, 1e-2),
            (16, 33, 5, 1e6, 0.1),
            (9, 21, 2, 1e5, 1e-3),
        ] {
            let means: Vec<f64> = (0..k * d).map(|_| offset + sigma * next()).collect();
            let h: Vec<f64> = (0..k * d)
                .map(|_| 0.5 / (sigma * (1.0 + next())).powi(2))
                .collect();
            let x: Vec<f32> = (0..n * d)
                .map(|_| (offset + 6.0 * sigma * next()) as f32)
                .collect();
            let p = check_against_f64(&means, &h, &x, d);
            assert!(p.lo.iter().any(|&lo| f64::from(lo).abs() > 1e-3 * sigma));
        }
    }

    #[test]
    fn products_of_the_low_parts_below_the_normal_range_are_left_out() {
        // sigma = 5e18 (1 / (2 sigma^2) = 2e-38, near the bottom of f32's normal range) and
        // means of about 1e6, whose low parts are up to 0.0625: -2 h lo is below f32's normal
        // range and taken as 0; the forms and moments are still right.
        let (d, n) = (9, 12);
        let mut next = test_draws(4);
        let means: Vec<f64> = (0..d).map(|_| 1e6 * (1.0 + next())).collect();
        let h = vec![2e-38; d];
        let x: Vec<f32> = (0..n * d).map(|_| (1e17 * (next() - 0.5)) as f32).collect();
        let p = check_against_f64(&means, &h, &x, d);
        assert!(p.lo.iter().any(|&lo| lo != 0.0));
        assert!(p.m.iter().all(|&m| m == 0.0));
        assert!(p.c[0] > 0.0);
    }
}
