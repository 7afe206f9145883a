//! `exp` and `ln` of the kernels: branch-free, so that loops over them vectorise, and written
//! once over [`Lanes`] (the series) so that the scalar, portable and vector versions agree bit
//! for bit.

use super::lanes::Lanes;

/// `ln 2` split so that `n * EXP_LN2_HI` is exact for `|n| < 2^11` (Cody and Waite).
pub(crate) const EXP_LN2_HI: f64 = 0.693_147_180_369_123_8;
/// The rest of `ln 2`.
pub(crate) const EXP_LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
/// `1.5 * 2^52`: adding it rounds to an integer, which then sits in the low bits.
pub(crate) const EXP_SHIFTER: f64 = 6_755_399_441_055_744.0;
/// Below this, `e^x` would be subnormal: [`exp_nonpositive`] returns 0.
pub(crate) const EXP_MIN: f64 = -708.39;
/// `1, 1, 1 / 2, ..., 1 / 13!`: the Taylor series of `e^r`, evaluated by Estrin's scheme (pairs,
/// then pairs of pairs, ...), whose chain of dependent operations is a third of Horner's.
const EXP_COEFFS: [f64; 14] = [
    1.0,
    1.0,
    0.5,
    1.0 / 6.0,
    1.0 / 24.0,
    1.0 / 120.0,
    1.0 / 720.0,
    1.0 / 5_040.0,
    1.0 / 40_320.0,
    1.0 / 362_880.0,
    1.0 / 3_628_800.0,
    1.0 / 39_916_800.0,
    1.0 / 479_001_600.0,
    1.0 / 6_227_020_800.0,
];

/// `EXP_COEFFS[i]` in every lane.
#[inline(always)]
fn coefficient<L: Lanes>(i: usize) -> L {
    L::splat(EXP_COEFFS[i])
}

/// `sum_i EXP_COEFFS[i] r^i` in lanes `L` (the same operations in the same order for every lane
/// type, so that the scalar and vector `exp` agree bit for bit): the terms from `r^2` on by
/// Estrin's scheme, then `1 + (r + r^2 T)`, so that the large terms are added last.
#[inline(always)]
pub(crate) fn exp_series<L: Lanes>(r: L) -> L {
    // (A function, not a closure: a closure is compiled apart from the vector code around it.)
    let c = coefficient::<L>;
    let r2 = r.mul(r);
    let r4 = r2.mul(r2);
    let r8 = r4.mul(r4);
    let t: [L; 6] = [
        c(2).add(c(3).mul(r)),
        c(4).add(c(5).mul(r)),
        c(6).add(c(7).mul(r)),
        c(8).add(c(9).mul(r)),
        c(10).add(c(11).mul(r)),
        c(12).add(c(13).mul(r)),
    ];
    let u0 = t[0].add(t[1].mul(r2));
    let u1 = t[2].add(t[3].mul(r2));
    let u2 = t[4].add(t[5].mul(r2));
    let tail = u0.add(u1.mul(r4)).add(u2.mul(r8));
    c(0).add(r.add(r2.mul(tail)))
}
/// `1 / 21, 1 / 19, ..., 1 / 3`: the series of `atanh(s) / s - 1` in `s^2`, by Horner's rule.
pub(crate) const LN_COEFFS: [f64; 10] = [
    1.0 / 21.0,
    1.0 / 19.0,
    1.0 / 17.0,
    1.0 / 15.0,
    1.0 / 13.0,
    1.0 / 11.0,
    1.0 / 9.0,
    1.0 / 7.0,
    1.0 / 5.0,
    1.0 / 3.0,
];

/// `e^x` for `x <= 0` (and NaN), to about 1 ulp, without branches so that loops over it
/// vectorise: `x = n ln 2 + r` with `|r| <= ln 2 / 2`, `e^r` by its Taylor series to degree 13
/// (truncation below 1e-17), times `2^n` built from its bits. Below -708.39 (where the result
/// would be subnormal) it returns 0.
#[inline(always)]
pub(crate) fn exp_nonpositive(x: f64) -> f64 {
    let xc = if x < EXP_MIN { EXP_MIN } else { x };
    let t = xc * std::f64::consts::LOG2_E + EXP_SHIFTER;
    let n = t - EXP_SHIFTER;
    let r = (xc - n * EXP_LN2_HI) - n * EXP_LN2_LO;
    let p = exp_series(r);
    // n is in [-1022, 0]: 2^n is a normal number with biased exponent n + 1023.
    let bits = (t.to_bits().wrapping_add(1023)) << 52;
    let v = p * f64::from_bits(bits);
    if x < EXP_MIN {
        0.0
    } else {
        v
    }
}

/// `ln 2` split for `f32` so that `n * EXP32_LN2_HI` is exact for `|n| < 2^9`.
pub(crate) const EXP32_LN2_HI: f32 = 0.693_145_75;
/// The rest of `ln 2` in `f32`.
pub(crate) const EXP32_LN2_LO: f32 = 1.428_606_8e-6;
/// `1.5 * 2^23`: adding it rounds an `f32` to an integer, which then sits in the low bits.
pub(crate) const EXP32_SHIFTER: f32 = 12_582_912.0;
/// Below this, [`exp32_nonpositive`] returns 0 (`e^x` is then below `1.7e-38`, at the end of
/// `f32`'s normal range).
pub(crate) const EXP32_MIN: f32 = -87.0;
/// `1 / 7!, 1 / 6!, ..., 1`: the Taylor series of `e^r` to degree 7 (truncation below `6e-9`
/// relative for `|r| <= ln 2 / 2`), by Horner's rule.
pub(crate) const EXP32_COEFFS: [f32; 8] = [
    1.0 / 5_040.0,
    1.0 / 720.0,
    1.0 / 120.0,
    1.0 / 24.0,
    1.0 / 6.0,
    0.5,
    1.0,
    1.0,
];

/// `e^x` in `f32` for `x <= 0` (and NaN), to a few `f32` ulps, without branches so that loops
/// over it vectorise (in eight lanes where the `f64` one has four): the steps of
/// [`exp_nonpositive`] in `f32` with a series of degree 7. Below [`EXP32_MIN`] it returns 0.
/// Used for the responsibilities of `f32` rows (see [`single`](super::single)); scalar
/// operations only (the series by fused multiply-adds, which every kernel path rounds once), so
/// that every kernel path gives the same bits.
#[inline(always)]
pub(crate) fn exp32_nonpositive(x: f32) -> f32 {
    let xc = if x < EXP32_MIN { EXP32_MIN } else { x };
    let t = xc * std::f32::consts::LOG2_E + EXP32_SHIFTER;
    let n = t - EXP32_SHIFTER;
    let r = (xc - n * EXP32_LN2_HI) - n * EXP32_LN2_LO;
    let mut p = EXP32_COEFFS[0];
    for &c in &EXP32_COEFFS[1..] {
        p = p.mul_add(r, c);
    }
    // n is in [-126, 0]: 2^n is a normal number with biased exponent n + 127.
    let bits = (t.to_bits().wrapping_add(127)) << 23;
    let v = p * f32::from_bits(bits);
    if x < EXP32_MIN {
        0.0
    } else {
        v
    }
}

/// `ln x` for `x >= 1` (and NaN, +inf), to about 1 ulp, without branches: `x = 2^e m` with
/// `m` in `[sqrt(1/2), sqrt(2))`, and `ln m = 2 atanh(s)`, `s = (m - 1) / (m + 1)`, by its
/// series to `s^21` (truncation below 3e-17).
#[inline(always)]
pub(crate) fn ln_positive(x: f64) -> f64 {
    let bits = x.to_bits();
    let e = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    let big = m > std::f64::consts::SQRT_2;
    let m = if big { 0.5 * m } else { m };
    let e = (e + big as i64) as f64;
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let mut p = LN_COEFFS[0];
    for &c in &LN_COEFFS[1..] {
        p = p * s2 + c;
    }
    let ln_m = 2.0 * s + 2.0 * s * s2 * p;
    let v = e * EXP_LN2_HI + (ln_m + e * EXP_LN2_LO);
    if x.is_nan() || x == f64::INFINITY {
        x
    } else {
        v
    }
}
