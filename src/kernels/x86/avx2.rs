//! The kernels on AVX2 vectors: the portable kernels' arithmetic, in their order, in every lane
//! (the generic ones instantiated in [`Avx`] lanes, the others written out in intrinsics).
//!
//! Every function here that is not `#[target_feature]` is called only from functions compiled
//! for AVX2 and FMA, and those only on processors that have both (the callers' `Isa` says so).

use std::arch::x86_64::{
    __m256d, __m256i, _mm256_add_epi64, _mm256_add_pd, _mm256_and_pd, _mm256_and_si256,
    _mm256_blendv_pd, _mm256_castpd_si256, _mm256_castsi256_pd, _mm256_cmp_pd, _mm256_div_pd,
    _mm256_fmadd_pd, _mm256_hadd_pd, _mm256_loadu_pd, _mm256_maskload_pd, _mm256_max_pd,
    _mm256_movemask_pd, _mm256_mul_pd, _mm256_or_pd, _mm256_or_si256, _mm256_permute2f128_pd,
    _mm256_permute4x64_pd, _mm256_set1_epi64x, _mm256_set1_pd, _mm256_setr_epi64x,
    _mm256_setzero_pd, _mm256_slli_epi64, _mm256_srli_epi64, _mm256_storeu_pd, _mm256_sub_pd,
    _mm256_unpackhi_pd, _mm256_unpacklo_pd, _CMP_EQ_OQ, _CMP_GT_OQ, _CMP_LT_OQ, _CMP_UNORD_Q,
};

#[inline(always)]
fn load4(v: &[f64], at: usize) -> __m256d {
    let t = &v[at..at + 4];
    // SAFETY: `t` holds 4 values.
    unsafe { _mm256_loadu_pd(t.as_ptr()) }
}

#[inline(always)]
fn store4(v: &mut [f64], at: usize, x: __m256d) {
    let t = &mut v[at..at + 4];
    // SAFETY: `t` holds 4 values.
    unsafe { _mm256_storeu_pd(t.as_mut_ptr(), x) }
}

/// [`portable::row_products`](crate::kernels::portable::row_products) compiled for AVX2 and
/// FMA (the same numbers).
#[target_feature(enable = "avx2,fma")]
pub(crate) fn row_products(a: &[f64], mu: &[f64], out: &mut Vec<f64>) {
    crate::kernels::portable::row_products(a, mu, out)
}

/// Copies the `n x d` rows `xs` into `xt` as `d x n` (one feature per row), four by four
/// with vector shuffles; returns whether any value is NaN.
#[target_feature(enable = "avx2,fma")]
pub(crate) fn transpose(xs: &[f64], d: usize, n: usize, ld: usize, xt: &mut [f64]) -> bool {
    let mut nan = _mm256_setzero_pd();
    if d == 2 {
        // Two features: four rows are two vectors, split into the two columns.
        let n4 = n / 4 * 4;
        for i in (0..n4).step_by(4) {
            let (a, b) = (load4(xs, 2 * i), load4(xs, 2 * i + 4));
            for r in [a, b] {
                nan = _mm256_or_pd(nan, _mm256_cmp_pd::<_CMP_UNORD_Q>(r, r));
            }
            // [x0, x2, x1, x3] of each feature, then in order.
            let lo = _mm256_unpacklo_pd(a, b);
            let hi = _mm256_unpackhi_pd(a, b);
            store4(xt, i, _mm256_permute4x64_pd::<0b11_01_10_00>(lo));
            store4(xt, ld + i, _mm256_permute4x64_pd::<0b11_01_10_00>(hi));
        }
        let mut any = _mm256_movemask_pd(nan) != 0;
        for i in n4..n {
            for c in 0..2 {
                let v = xs[i * 2 + c];
                xt[c * ld + i] = v;
                any |= v.is_nan();
            }
        }
        return any;
    }
    let (n4, d4) = (n / 4 * 4, d / 4 * 4);
    for i in (0..n4).step_by(4) {
        for c in (0..d4).step_by(4) {
            let r0 = load4(xs, i * d + c);
            let r1 = load4(xs, (i + 1) * d + c);
            let r2 = load4(xs, (i + 2) * d + c);
            let r3 = load4(xs, (i + 3) * d + c);
            for r in [r0, r1, r2, r3] {
                nan = _mm256_or_pd(nan, _mm256_cmp_pd::<_CMP_UNORD_Q>(r, r));
            }
            let t0 = _mm256_unpacklo_pd(r0, r1);
            let t1 = _mm256_unpackhi_pd(r0, r1);
            let t2 = _mm256_unpacklo_pd(r2, r3);
            let t3 = _mm256_unpackhi_pd(r2, r3);
            store4(xt, c * ld + i, _mm256_permute2f128_pd::<0x20>(t0, t2));
            store4(xt, (c + 1) * ld + i, _mm256_permute2f128_pd::<0x20>(t1, t3));
            store4(xt, (c + 2) * ld + i, _mm256_permute2f128_pd::<0x31>(t0, t2));
            store4(xt, (c + 3) * ld + i, _mm256_permute2f128_pd::<0x31>(t1, t3));
        }
    }
    let mut any = _mm256_movemask_pd(nan) != 0;
    for i in 0..n {
        let cols = if i < n4 { d4..d } else { 0..d };
        for c in cols {
            let v = xs[i * d + c];
            xt[c * ld + i] = v;
            any |= v.is_nan();
        }
    }
    any
}

use crate::kernels::distance::nearest_rows_from;
use crate::kernels::lanes::Lanes;
use crate::kernels::math::{exp_series, EXP_LN2_HI, EXP_LN2_LO, EXP_MIN, EXP_SHIFTER, LN_COEFFS};
use crate::kernels::portable::{
    self, diagonal_forms_tail, moments_finish, padded, products_in, quad_forms_in, sum_finish,
};

/// Rows per tile of the row-major moments: a tile of up to 64 features stays in the first-level
/// cache while every component reads it.
const MOMENT_TILE_ROWS: usize = 32;

/// [`Lanes`] on an AVX2 vector. Values of it are made only inside the functions compiled
/// for AVX2 and FMA (the small-dimension E-step through `summarize_avx2`, `quad_forms`,
/// `centre_weighted` and `products` below, and the matrix products' `task_avx2` in
/// `linalg::gemm`), which run only on processors that have both: that is what makes the
/// intrinsics below sound.
#[derive(Clone, Copy)]
pub(crate) struct Avx(__m256d);

#[inline(always)]
fn set1(v: f64) -> __m256d {
    // SAFETY: see `Avx`.
    unsafe { _mm256_set1_pd(v) }
}

impl Lanes for Avx {
    const WIDTH: usize = 4;
    #[inline(always)]
    fn splat(v: f64) -> Self {
        Avx(set1(v))
    }
    #[inline(always)]
    fn load(s: &[f64]) -> Self {
        Avx(load4(s, 0))
    }
    #[inline(always)]
    fn store(self, s: &mut [f64]) {
        store4(s, 0, self.0)
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        // SAFETY: see `Avx` (the same for every method below).
        Avx(unsafe { _mm256_add_pd(self.0, o.0) })
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        // SAFETY: see `Avx`.
        Avx(unsafe { _mm256_sub_pd(self.0, o.0) })
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        // SAFETY: see `Avx`.
        Avx(unsafe { _mm256_mul_pd(self.0, o.0) })
    }
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        // SAFETY: see `Avx`.
        Avx(unsafe { _mm256_fmadd_pd(self.0, a.0, b.0) })
    }
    #[inline(always)]
    fn div(self, o: Self) -> Self {
        // SAFETY: see `Avx`.
        Avx(unsafe { _mm256_div_pd(self.0, o.0) })
    }
    #[inline(always)]
    fn max_of(self, o: Self) -> Self {
        // SAFETY: see `Avx`.
        // `max_pd(a, b)` is `a` where `a > b` and `b` elsewhere (NaN and equal lanes included):
        // this comparison, in one instruction.
        unsafe { Avx(_mm256_max_pd(self.0, o.0)) }
    }
    #[inline(always)]
    fn nan_to_neg_inf(self) -> Self {
        // SAFETY: see `Avx`.
        unsafe {
            let nan = _mm256_cmp_pd::<_CMP_UNORD_Q>(self.0, self.0);
            Avx(_mm256_blendv_pd(self.0, set1(f64::NEG_INFINITY), nan))
        }
    }
    #[inline(always)]
    fn times_unless_zero(self, f: Self) -> Self {
        // SAFETY: see `Avx`.
        unsafe {
            let zero = _mm256_cmp_pd::<_CMP_EQ_OQ>(f.0, _mm256_setzero_pd());
            let v = _mm256_mul_pd(self.0, f.0);
            Avx(_mm256_blendv_pd(v, _mm256_setzero_pd(), zero))
        }
    }
    #[inline(always)]
    fn exp(self) -> Self {
        // SAFETY: see `Avx`. The steps of `exp_nonpositive`, lane by lane.
        unsafe {
            let x = self.0;
            let below = _mm256_cmp_pd::<_CMP_LT_OQ>(x, set1(EXP_MIN));
            let xc = _mm256_blendv_pd(x, set1(EXP_MIN), below);
            let t = _mm256_add_pd(
                _mm256_mul_pd(xc, set1(std::f64::consts::LOG2_E)),
                set1(EXP_SHIFTER),
            );
            let n = _mm256_sub_pd(t, set1(EXP_SHIFTER));
            let r = _mm256_sub_pd(
                _mm256_sub_pd(xc, _mm256_mul_pd(n, set1(EXP_LN2_HI))),
                _mm256_mul_pd(n, set1(EXP_LN2_LO)),
            );
            let p = exp_series(Avx(r)).0;
            let bits = _mm256_slli_epi64::<52>(_mm256_add_epi64(
                _mm256_castpd_si256(t),
                _mm256_set1_epi64x(1023),
            ));
            let v = _mm256_mul_pd(p, _mm256_castsi256_pd(bits));
            Avx(_mm256_blendv_pd(v, _mm256_setzero_pd(), below))
        }
    }
    #[inline(always)]
    fn ln(self) -> Self {
        // SAFETY: see `Avx`. The steps of `ln_positive`, lane by lane.
        unsafe {
            let x = self.0;
            let bits = _mm256_castpd_si256(x);
            // The biased exponent as a double: its bits under 2^52, less 2^52.
            let biased = _mm256_and_si256(_mm256_srli_epi64::<52>(bits), _mm256_set1_epi64x(0x7ff));
            let two52 = _mm256_set1_epi64x(0x4330_0000_0000_0000);
            let ef = _mm256_sub_pd(
                _mm256_castsi256_pd(_mm256_or_si256(biased, two52)),
                set1(4_503_599_627_370_496.0),
            );
            let m = _mm256_castsi256_pd(_mm256_or_si256(
                _mm256_and_si256(bits, _mm256_set1_epi64x(0x000f_ffff_ffff_ffff)),
                _mm256_set1_epi64x(0x3ff0_0000_0000_0000),
            ));
            let big = _mm256_cmp_pd::<_CMP_GT_OQ>(m, set1(std::f64::consts::SQRT_2));
            let m = _mm256_blendv_pd(m, _mm256_mul_pd(set1(0.5), m), big);
            let e = _mm256_add_pd(
                _mm256_sub_pd(ef, set1(1023.0)),
                _mm256_and_pd(big, set1(1.0)),
            );
            let one = set1(1.0);
            let s = _mm256_div_pd(_mm256_sub_pd(m, one), _mm256_add_pd(m, one));
            let s2 = _mm256_mul_pd(s, s);
            let mut p = set1(LN_COEFFS[0]);
            for &c in &LN_COEFFS[1..] {
                p = _mm256_add_pd(_mm256_mul_pd(p, s2), set1(c));
            }
            let two_s = _mm256_mul_pd(set1(2.0), s);
            let ln_m = _mm256_add_pd(two_s, _mm256_mul_pd(_mm256_mul_pd(two_s, s2), p));
            let v = _mm256_add_pd(
                _mm256_mul_pd(e, set1(EXP_LN2_HI)),
                _mm256_add_pd(ln_m, _mm256_mul_pd(e, set1(EXP_LN2_LO))),
            );
            let keep = _mm256_or_pd(
                _mm256_cmp_pd::<_CMP_UNORD_Q>(x, x),
                _mm256_cmp_pd::<_CMP_EQ_OQ>(x, set1(f64::INFINITY)),
            );
            Avx(_mm256_blendv_pd(v, x, keep))
        }
    }
}

/// Sixteen lanes as four vectors, written out in lane order.
#[inline(always)]
fn lanes16(v: [__m256d; 4]) -> [f64; 16] {
    let mut out = [0.0; 16];
    store8(&mut out, 0, v[0], v[1]);
    store8(&mut out, 8, v[2], v[3]);
    out
}

#[target_feature(enable = "avx2,fma")]
pub(crate) fn sum(a: &[f64]) -> f64 {
    let mut acc = [_mm256_setzero_pd(); 4];
    for i0 in (0..a.len() / 16).map(|c| c * 16) {
        let (x0, x1) = load8(a, i0);
        let (x2, x3) = load8(a, i0 + 8);
        for (v, x) in acc.iter_mut().zip([x0, x1, x2, x3]) {
            *v = _mm256_add_pd(*v, x);
        }
    }
    sum_finish(lanes16(acc), a)
}

#[target_feature(enable = "avx2,fma")]
pub(crate) fn moments(r: &[f64], x: &[f64], mu: f64) -> (f64, f64) {
    let (mut s1, mut s2) = ([_mm256_setzero_pd(); 4], [_mm256_setzero_pd(); 4]);
    let m = _mm256_set1_pd(mu);
    for i0 in (0..r.len().min(x.len()) / 16).map(|c| c * 16) {
        let (r0, r1) = load8(r, i0);
        let (r2, r3) = load8(r, i0 + 8);
        let (x0, x1) = load8(x, i0);
        let (x2, x3) = load8(x, i0 + 8);
        for (t, (rv, xv)) in [(r0, x0), (r1, x1), (r2, x2), (r3, x3)]
            .into_iter()
            .enumerate()
        {
            let z = _mm256_sub_pd(xv, m);
            let wz = _mm256_mul_pd(rv, z);
            s1[t] = _mm256_add_pd(s1[t], wz);
            s2[t] = _mm256_add_pd(s2[t], _mm256_mul_pd(wz, z));
        }
    }
    moments_finish(lanes16(s1), lanes16(s2), r, x, mu)
}

/// Eight values from `v[at..at + 8]` (bounds-checked).
#[inline(always)]
fn load8(v: &[f64], at: usize) -> (__m256d, __m256d) {
    let t = &v[at..at + 8];
    // SAFETY: `t` holds 8 values, read as two unaligned groups of 4.
    unsafe {
        (
            _mm256_loadu_pd(t.as_ptr()),
            _mm256_loadu_pd(t.as_ptr().add(4)),
        )
    }
}

#[inline(always)]
fn store8(v: &mut [f64], at: usize, lo: __m256d, hi: __m256d) {
    let t = &mut v[at..at + 8];
    // SAFETY: `t` holds 8 values, written as two unaligned groups of 4.
    unsafe {
        _mm256_storeu_pd(t.as_mut_ptr(), lo);
        _mm256_storeu_pd(t.as_mut_ptr().add(4), hi);
    }
}

#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2,fma")]
pub(crate) fn quad_forms(
    a: (&[f64], &[f64]),
    d: usize,
    lower: bool,
    z: &[f64],
    n: usize,
    ld: usize,
    acc: &mut [f64],
    ys: &mut [f64],
) {
    quad_forms_in::<Avx>(a, d, lower, z, n, ld, acc, ys)
}

/// [`centre_weighted`](portable::centre_weighted) in AVX2 vectors.
#[target_feature(enable = "avx2,fma")]
pub(crate) fn centre_weighted(x: &[f64], mu: f64, r: &[f64], z: &mut [f64], wz: &mut [f64]) -> f64 {
    portable::centre_weighted::<Avx>(x, mu, r, z, wz)
}

/// [`products_in`] in AVX2 vectors.
#[inline(never)]
#[target_feature(enable = "avx2,fma")]
pub(crate) fn products(wz: &[f64], z: &[f64], d: usize, n: usize, ld: usize, p: &mut [f64]) {
    products_in::<Avx>(wz, z, d, n, ld, p)
}

#[target_feature(enable = "avx2,fma")]
pub(crate) fn diagonal_forms(
    mu: &[f64],
    h: &[f64],
    x: &[f64],
    n: usize,
    ld: usize,
    acc: &mut [f64],
) {
    let d = mu.len();
    for t in 0..n / 8 {
        let i0 = t * 8;
        let (mut s0, mut s1) = (_mm256_setzero_pd(), _mm256_setzero_pd());
        for l in 0..d {
            let (x0, x1) = load8(x, l * ld + i0);
            let (m, hl) = (_mm256_set1_pd(mu[l]), _mm256_set1_pd(h[l]));
            let (z0, z1) = (_mm256_sub_pd(x0, m), _mm256_sub_pd(x1, m));
            s0 = _mm256_add_pd(s0, _mm256_mul_pd(_mm256_mul_pd(z0, z0), hl));
            s1 = _mm256_add_pd(s1, _mm256_mul_pd(_mm256_mul_pd(z1, z1), hl));
        }
        store8(acc, i0, s0, s1);
    }
    diagonal_forms_tail(mu, h, x, n, ld, acc);
}

/// Whether any of `xs` is NaN.
#[target_feature(enable = "avx2,fma")]
pub(crate) fn has_nan(xs: &[f64]) -> bool {
    let mut nan = _mm256_setzero_pd();
    let whole = xs.len() / 16 * 16;
    for i in (0..whole).step_by(16) {
        let (a, b) = load8(xs, i);
        let (c, e) = load8(xs, i + 8);
        let ab = _mm256_or_pd(
            _mm256_cmp_pd::<_CMP_UNORD_Q>(a, a),
            _mm256_cmp_pd::<_CMP_UNORD_Q>(b, b),
        );
        let ce = _mm256_or_pd(
            _mm256_cmp_pd::<_CMP_UNORD_Q>(c, c),
            _mm256_cmp_pd::<_CMP_UNORD_Q>(e, e),
        );
        nan = _mm256_or_pd(nan, _mm256_or_pd(ab, ce));
    }
    _mm256_movemask_pd(nan) != 0 || xs[whole..].iter().any(|v| v.is_nan())
}

/// Lanes below `rem` set.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn tail_mask(rem: usize) -> __m256i {
    let on = |t: usize| if t < rem { -1i64 } else { 0 };
    _mm256_setr_epi64x(on(0), on(1), on(2), on(3))
}

/// `v[at..at + 4]` where the mask is set, 0 elsewhere; reads only the set lanes, which must
/// lie in `v`.
#[inline(always)]
fn load_masked(v: &[f64], at: usize, rem: usize, mask: __m256i) -> __m256d {
    let t = &v[at..at + rem];
    // SAFETY: the lanes read, those below `rem`, are in `t`.
    unsafe { _mm256_maskload_pd(t.as_ptr(), mask) }
}

/// Four rows' sums `sum_l h_l (x_l - mu_l)^2` per lane (feature `l` in lane `l % 4`; the
/// missing features of a last partial vector read as 0, with `mu` and `h` 0 there), for the
/// rows `x[0..4 * d]` (`R` of them, 1 or 4).
#[target_feature(enable = "avx2,fma")]
#[inline]
fn diagonal_tile<const R: usize>(x: &[f64], mu: &[f64], h: &[f64], mask: __m256i) -> [__m256d; R] {
    let d = mu.len();
    let (d4, rem) = (d / 4 * 4, d % 4);
    let mut acc = [_mm256_setzero_pd(); R];
    for l in (0..d4).step_by(4) {
        let (m, hv) = (load4(mu, l), load4(h, l));
        for (u, a) in acc.iter_mut().enumerate() {
            let z = _mm256_sub_pd(load4(x, u * d + l), m);
            *a = _mm256_add_pd(*a, _mm256_mul_pd(_mm256_mul_pd(z, z), hv));
        }
    }
    if rem > 0 {
        let (m, hv) = (
            load_masked(mu, d4, rem, mask),
            load_masked(h, d4, rem, mask),
        );
        for (u, a) in acc.iter_mut().enumerate() {
            let z = _mm256_sub_pd(load_masked(x, u * d + d4, rem, mask), m);
            *a = _mm256_add_pd(*a, _mm256_mul_pd(_mm256_mul_pd(z, z), hv));
        }
    }
    acc
}

/// [`diagonal_rows`](portable::diagonal_rows): four rows at a time, their lanes combined with
/// horizontal additions in the same order.
#[target_feature(enable = "avx2,fma")]
pub(crate) fn diagonal_rows(
    mu: &[f64],
    h: &[f64],
    consts: &[f64],
    x: &[f64],
    n: usize,
    lp: &mut [f64],
) {
    let k = consts.len();
    let d = mu.len() / k;
    let mask = tail_mask(d % 4);
    let ninf = _mm256_set1_pd(f64::NEG_INFINITY);
    for i0 in (0..n / 4 * 4).step_by(4) {
        let rows = &x[i0 * d..(i0 + 4) * d];
        for (j, &c0) in consts.iter().enumerate() {
            let (m, hj) = (&mu[j * d..(j + 1) * d], &h[j * d..(j + 1) * d]);
            let a = diagonal_tile::<4>(rows, m, hj, mask);
            // [a0 + a1, b0 + b1, a2 + a3, b2 + b3] and the same for c, e.
            let ab = _mm256_hadd_pd(a[0], a[1]);
            let ce = _mm256_hadd_pd(a[2], a[3]);
            let q = _mm256_add_pd(
                _mm256_permute2f128_pd::<0x20>(ab, ce),
                _mm256_permute2f128_pd::<0x31>(ab, ce),
            );
            let v = _mm256_sub_pd(_mm256_set1_pd(c0), q);
            let v = _mm256_blendv_pd(v, ninf, _mm256_cmp_pd::<_CMP_UNORD_Q>(v, v));
            store4(lp, j * n + i0, v);
        }
    }
    for i in n / 4 * 4..n {
        for (j, &c0) in consts.iter().enumerate() {
            let (m, hj) = (&mu[j * d..(j + 1) * d], &h[j * d..(j + 1) * d]);
            let mut s = [0.0; 4];
            let [a] = diagonal_tile::<1>(&x[i * d..(i + 1) * d], m, hj, mask);
            store4(&mut s, 0, a);
            let v = c0 - ((s[0] + s[1]) + (s[2] + s[3]));
            lp[j * n + i] = if v.is_nan() { f64::NEG_INFINITY } else { v };
        }
    }
}

/// The moments of `G` vectors of features from `l0` (the last one partial, read through
/// `mask`, when `MASKED`) over the rows `x` (`r.len()` of them), continuing the sums in
/// `t1`, `t2` (`4 G` lanes each).
#[target_feature(enable = "avx2,fma")]
#[inline]
#[allow(clippy::too_many_arguments)]
fn moments_group<const G: usize, const MASKED: bool>(
    r: &[f64],
    x: &[f64],
    mu: &[f64],
    l0: usize,
    mask: __m256i,
    t1: &mut [f64],
    t2: &mut [f64],
) {
    let d = mu.len();
    let rem = d - l0 - 4 * (G - 1);
    let load = |v: &[f64], at: usize, g: usize| {
        if MASKED && g == G - 1 {
            load_masked(v, at, rem, mask)
        } else {
            load4(v, at)
        }
    };
    let m: [__m256d; G] = std::array::from_fn(|g| load(mu, l0 + 4 * g, g));
    let mut a1: [__m256d; G] = std::array::from_fn(|g| load4(t1, 4 * g));
    let mut a2: [__m256d; G] = std::array::from_fn(|g| load4(t2, 4 * g));
    for (&ri, row) in r.iter().zip(x.chunks_exact(d)) {
        let rb = _mm256_set1_pd(ri);
        for g in 0..G {
            let z = _mm256_sub_pd(load(row, l0 + 4 * g, g), m[g]);
            let wz = _mm256_mul_pd(rb, z);
            a1[g] = _mm256_add_pd(a1[g], wz);
            a2[g] = _mm256_add_pd(a2[g], _mm256_mul_pd(wz, z));
        }
    }
    for g in 0..G {
        store4(t1, 4 * g, a1[g]);
        store4(t2, 4 * g, a2[g]);
    }
}

/// [`moments_rows`](portable::moments_rows) for all `k` components at once (`r`: `k x n`
/// responsibilities, `mu`, `s1`, `s2`: `k x d`): tiles of rows that stay in the first-level cache,
/// sixteen features at a time, each feature in its own lane, its sum continued from tile to tile in
/// `work` (`2 k padded(d)` values), so that every sum runs over the rows in order from zero.
#[target_feature(enable = "avx2,fma")]
pub(crate) fn moments_rows_all(
    d: usize,
    r: &[f64],
    x: &[f64],
    mu: &[f64],
    s1: &mut [f64],
    s2: &mut [f64],
    work: &mut [f64],
) {
    let (k, dp) = (mu.len() / d, padded(d));
    let n = r.len() / k;
    let (d4, rem) = (d / 4 * 4, d % 4);
    let mask = tail_mask(rem);
    let (w1, w2) = work[..2 * k * dp].split_at_mut(k * dp);
    w1.fill(0.0);
    w2.fill(0.0);
    for t0 in (0..n).step_by(MOMENT_TILE_ROWS) {
        let t1 = (t0 + MOMENT_TILE_ROWS).min(n);
        let xt = &x[t0 * d..t1 * d];
        for j in 0..k {
            let (rj, muj) = (&r[j * n + t0..j * n + t1], &mu[j * d..(j + 1) * d]);
            let (a1, a2) = (&mut w1[j * dp..(j + 1) * dp], &mut w2[j * dp..(j + 1) * dp]);
            let mut l = 0;
            while l + 16 <= d4 {
                moments_group::<4, false>(rj, xt, muj, l, mask, &mut a1[l..], &mut a2[l..]);
                l += 16;
            }
            let (a1, a2) = (&mut a1[l..], &mut a2[l..]);
            // The rest: up to three whole vectors, and the partial one.
            match ((d4 - l) / 4, rem > 0) {
                (0, false) => {}
                (0, true) => moments_group::<1, true>(rj, xt, muj, l, mask, a1, a2),
                (1, false) => moments_group::<1, false>(rj, xt, muj, l, mask, a1, a2),
                (1, true) => moments_group::<2, true>(rj, xt, muj, l, mask, a1, a2),
                (2, false) => moments_group::<2, false>(rj, xt, muj, l, mask, a1, a2),
                (2, true) => moments_group::<3, true>(rj, xt, muj, l, mask, a1, a2),
                (3, false) => moments_group::<3, false>(rj, xt, muj, l, mask, a1, a2),
                _ => moments_group::<4, true>(rj, xt, muj, l, mask, a1, a2),
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

/// Four rows' lanes of squared distances to `c` (`R` rows, 1 or 4, from `x`).
///
/// # Safety
/// Only on processors with AVX2 (it is called from the functions compiled for it, into which
/// it is inlined).
#[inline(always)]
unsafe fn distance_tile<const R: usize, const NAN: bool>(
    x: &[f64],
    c: &[f64],
    mask: __m256i,
) -> [__m256d; R] {
    let d = c.len();
    let (d4, rem) = (d / 4 * 4, d % 4);
    let zero = _mm256_setzero_pd();
    let mut acc = [zero; R];
    let step = |a: &mut __m256d, v: __m256d| {
        let sq = _mm256_mul_pd(v, v);
        let sq = if NAN {
            _mm256_blendv_pd(sq, zero, _mm256_cmp_pd::<_CMP_UNORD_Q>(v, v))
        } else {
            sq
        };
        *a = _mm256_add_pd(*a, sq);
    };
    for l in (0..d4).step_by(4) {
        let cv = load4(c, l);
        for (u, a) in acc.iter_mut().enumerate() {
            step(a, _mm256_sub_pd(load4(x, u * d + l), cv));
        }
    }
    if rem > 0 {
        let cv = load_masked(c, d4, rem, mask);
        for (u, a) in acc.iter_mut().enumerate() {
            step(a, _mm256_sub_pd(load_masked(x, u * d + d4, rem, mask), cv));
        }
    }
    acc
}

/// [`row_distances`](crate::kernels::distance::row_distances), four rows at a time (`c` of at least
/// 4 coordinates).
#[target_feature(enable = "avx2,fma")]
pub(crate) fn row_distances(x: &[f64], c: &[f64], nan_free: bool, out: &mut [f64]) {
    if nan_free {
        row_distances_t::<false>(x, c, out)
    } else {
        row_distances_t::<true>(x, c, out)
    }
}

#[target_feature(enable = "avx2,fma")]
#[inline]
fn row_distances_t<const NAN: bool>(x: &[f64], c: &[f64], out: &mut [f64]) {
    let d = c.len();
    let n = out.len().min(x.len() / d);
    let mask = tail_mask(d % 4);
    for i0 in (0..n / 4 * 4).step_by(4) {
        // SAFETY: this function is compiled for AVX2, so the processor has it.
        let a = unsafe { distance_tile::<4, NAN>(&x[i0 * d..(i0 + 4) * d], c, mask) };
        let ab = _mm256_hadd_pd(a[0], a[1]);
        let ce = _mm256_hadd_pd(a[2], a[3]);
        let q = _mm256_add_pd(
            _mm256_permute2f128_pd::<0x20>(ab, ce),
            _mm256_permute2f128_pd::<0x31>(ab, ce),
        );
        store4(out, i0, q);
    }
    for i in n / 4 * 4..n {
        // SAFETY: this function is compiled for AVX2, so the processor has it.
        let [a] = unsafe { distance_tile::<1, NAN>(&x[i * d..(i + 1) * d], c, mask) };
        let mut s = [0.0; 4];
        store4(&mut s, 0, a);
        out[i] = (s[0] + s[1]) + (s[2] + s[3]);
    }
}

/// [`nearest_rows`](crate::kernels::distance::nearest_rows), four rows at a time (`c` of at least 4
/// coordinates).
#[target_feature(enable = "avx2,fma")]
pub(crate) fn nearest_rows(
    x: &[f64],
    c: &[f64],
    nan_free: bool,
    update: (&mut [f64], Option<&mut [u32]>, u32),
    w: &[f64],
    lanes: &mut [f64; 4],
) {
    if nan_free {
        nearest_rows_t::<false>(x, c, update, w, lanes)
    } else {
        nearest_rows_t::<true>(x, c, update, w, lanes)
    }
}

#[target_feature(enable = "avx2,fma")]
#[inline]
fn nearest_rows_t<const NAN: bool>(
    x: &[f64],
    c: &[f64],
    (o, mut j, label): (&mut [f64], Option<&mut [u32]>, u32),
    w: &[f64],
    lanes: &mut [f64; 4],
) {
    let d = c.len();
    let n = o.len().min(w.len()).min(x.len() / d);
    let mask = tail_mask(d % 4);
    let mut acc = load4(&lanes[..], 0);
    for i0 in (0..n / 4 * 4).step_by(4) {
        // SAFETY: this function is compiled for AVX2, so the processor has it.
        let a = unsafe { distance_tile::<4, NAN>(&x[i0 * d..(i0 + 4) * d], c, mask) };
        let ab = _mm256_hadd_pd(a[0], a[1]);
        let ce = _mm256_hadd_pd(a[2], a[3]);
        let q = _mm256_add_pd(
            _mm256_permute2f128_pd::<0x20>(ab, ce),
            _mm256_permute2f128_pd::<0x31>(ab, ce),
        );
        let old = load4(o, i0);
        let closer = _mm256_cmp_pd::<_CMP_LT_OQ>(q, old);
        let new = _mm256_blendv_pd(old, q, closer);
        store4(o, i0, new);
        if let Some(j) = j.as_deref_mut() {
            let bits = _mm256_movemask_pd(closer);
            for u in 0..4 {
                if bits & (1 << u) != 0 {
                    j[i0 + u] = label;
                }
            }
        }
        acc = _mm256_add_pd(acc, _mm256_mul_pd(new, load4(w, i0)));
    }
    store4(&mut lanes[..], 0, acc);
    nearest_rows_from(n / 4 * 4, x, c, (o, j, label), w, lanes);
}
