//! The `f32` kernels ([`single`](crate::kernels::single): row-major diagonal;
//! [`single_full`](crate::kernels::single_full): full covariance) on AVX2 vectors of eight `f32`
//! lanes (the AVX-512 path runs them too, the full-covariance ones with its 32 registers), and
//! on AVX-512's vectors of sixteen lanes ([`Zmm32`]) the full-covariance centring and quadratic
//! forms, the products of its moments ([`paired_tiles`]) and the diagonal moments.

use std::arch::x86_64::{
    __m256, __m512, _mm256_add_epi32, _mm256_add_pd, _mm256_add_ps, _mm256_blendv_ps,
    _mm256_castpd_ps, _mm256_castps256_ps128, _mm256_castps_si256, _mm256_castsi256_ps,
    _mm256_cmp_ps, _mm256_cvtpd_ps, _mm256_cvtps_pd, _mm256_extractf128_ps, _mm256_fmadd_ps,
    _mm256_hadd_ps, _mm256_loadu_pd, _mm256_loadu_ps, _mm256_maskload_ps, _mm256_mul_pd,
    _mm256_mul_ps, _mm256_permute2f128_ps, _mm256_set1_epi32, _mm256_set1_pd, _mm256_set1_ps,
    _mm256_set_m128, _mm256_setr_epi32, _mm256_setzero_ps, _mm256_shuffle_ps, _mm256_slli_epi32,
    _mm256_storeu_pd, _mm256_storeu_ps, _mm256_sub_pd, _mm256_sub_ps, _mm256_unpackhi_ps,
    _mm256_unpacklo_ps, _mm512_add_pd, _mm512_add_ps, _mm512_broadcast_f64x4, _mm512_castpd_ps,
    _mm512_castps512_ps256, _mm512_castps_pd, _mm512_cvtps_pd, _mm512_extractf64x4_pd,
    _mm512_fmadd_ps, _mm512_loadu_pd, _mm512_loadu_ps, _mm512_maskz_loadu_ps, _mm512_mul_pd,
    _mm512_mul_ps, _mm512_set1_pd, _mm512_set1_ps, _mm512_setzero_ps, _mm512_storeu_pd,
    _mm512_storeu_ps, _mm512_sub_ps, _CMP_LT_OQ,
};

use crate::kernels::math::{EXP32_COEFFS, EXP32_LN2_HI, EXP32_LN2_LO, EXP32_MIN, EXP32_SHIFTER};
use crate::kernels::plan::BlockTotals;
use crate::kernels::single::{self, forms_rows, moments_rows, AnyLanes32, Lanes32, Single, WIDTH};
use crate::kernels::single_full::{self, SingleFull, Work};
use crate::kernels::small::{self, Small32};
use crate::kernels::x86::avx2::Avx;

/// [`AnyLanes32`] on an AVX-512 vector of sixteen `f32` lanes. Values of it are made only inside
/// the functions compiled for AVX-512, which run only on processors that have it: that is what
/// makes the intrinsics sound.
#[derive(Clone, Copy)]
pub(crate) struct Zmm32(__m512);

impl AnyLanes32 for Zmm32 {
    const LANES: usize = 16;
    #[inline(always)]
    fn fill(v: f32) -> Self {
        // SAFETY: see `Zmm32` (the same for every method below).
        Zmm32(unsafe { _mm512_set1_ps(v) })
    }
    #[inline(always)]
    fn read(s: &[f32]) -> Self {
        let t = &s[..16];
        // SAFETY: `t` holds sixteen values.
        Zmm32(unsafe { _mm512_loadu_ps(t.as_ptr()) })
    }
    #[inline(always)]
    fn write(self, s: &mut [f32]) {
        let t = &mut s[..16];
        // SAFETY: `t` holds sixteen values.
        unsafe { _mm512_storeu_ps(t.as_mut_ptr(), self.0) }
    }
    #[inline(always)]
    fn fma(self, a: Self, b: Self) -> Self {
        // SAFETY: see `Zmm32`.
        Zmm32(unsafe { _mm512_fmadd_ps(self.0, a.0, b.0) })
    }
    #[inline(always)]
    fn minus(self, o: Self) -> Self {
        // SAFETY: see `Zmm32`.
        Zmm32(unsafe { _mm512_sub_ps(self.0, o.0) })
    }
    #[inline(always)]
    fn plus(self, o: Self) -> Self {
        // SAFETY: see `Zmm32`.
        Zmm32(unsafe { _mm512_add_ps(self.0, o.0) })
    }
    #[inline(always)]
    fn times(self, o: Self) -> Self {
        // SAFETY: see `Zmm32`.
        Zmm32(unsafe { _mm512_mul_ps(self.0, o.0) })
    }
    #[inline(always)]
    fn read_part(s: &[f32]) -> Self {
        let len = s.len().min(16);
        let mask = ((1u32 << len) - 1) as u16;
        // SAFETY: see `Zmm32`; the masked load reads only the lanes below `len`, all in `s`.
        Zmm32(unsafe { _mm512_maskz_loadu_ps(mask, s.as_ptr()) })
    }
    #[inline(always)]
    fn widen_onto(self, out: &mut [f64], up: f64) {
        let t = &mut out[..16];
        // SAFETY: see `Zmm32`; `t` holds sixteen values.
        unsafe {
            let u = _mm512_set1_pd(up);
            let lo = _mm512_castps512_ps256(self.0);
            let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(self.0)));
            let (lo, hi) = (
                _mm512_mul_pd(_mm512_cvtps_pd(lo), u),
                _mm512_mul_pd(_mm512_cvtps_pd(hi), u),
            );
            let p = t.as_mut_ptr();
            _mm512_storeu_pd(p, _mm512_add_pd(_mm512_loadu_pd(p), lo));
            _mm512_storeu_pd(p.add(8), _mm512_add_pd(_mm512_loadu_pd(p.add(8)), hi));
        }
    }
}

/// [`Lanes32`] on an AVX2 vector. Values of it are made only inside the functions below, which
/// are compiled for AVX2 and FMA and run only on processors that have both: that is what makes
/// the intrinsics sound.
#[derive(Clone, Copy)]
pub(crate) struct Avx32(__m256);

impl Lanes32 for Avx32 {
    #[inline(always)]
    fn splat(v: f32) -> Self {
        // SAFETY: see `Avx32` (the same for every method below).
        Avx32(unsafe { _mm256_set1_ps(v) })
    }
    #[inline(always)]
    fn load(s: &[f32]) -> Self {
        let t = &s[..WIDTH];
        // SAFETY: `t` holds eight values.
        Avx32(unsafe { _mm256_loadu_ps(t.as_ptr()) })
    }
    #[inline(always)]
    fn load_part(s: &[f32]) -> Self {
        let len = s.len() as i32;
        debug_assert!(len < WIDTH as i32);
        // SAFETY: the lanes read, those below `len`, are in `s`.
        unsafe {
            let on = |t: i32| if t < len { -1 } else { 0 };
            let mask = _mm256_setr_epi32(on(0), on(1), on(2), on(3), on(4), on(5), on(6), on(7));
            Avx32(_mm256_maskload_ps(s.as_ptr(), mask))
        }
    }
    #[inline(always)]
    fn store(self, s: &mut [f32]) {
        let t = &mut s[..WIDTH];
        // SAFETY: see `Avx32`; `t` holds eight values.
        unsafe { _mm256_storeu_ps(t.as_mut_ptr(), self.0) }
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        // SAFETY: see `Avx32`.
        Avx32(unsafe { _mm256_add_ps(self.0, o.0) })
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        // SAFETY: see `Avx32`.
        Avx32(unsafe { _mm256_sub_ps(self.0, o.0) })
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        // SAFETY: see `Avx32`.
        Avx32(unsafe { _mm256_mul_ps(self.0, o.0) })
    }
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        // SAFETY: see `Avx32`.
        Avx32(unsafe { _mm256_fmadd_ps(self.0, a.0, b.0) })
    }
    #[inline(always)]
    fn sums(v: &[Self; WIDTH]) -> Self {
        // SAFETY: see `Avx32`. `hadd(a, b)` is `[a0+a1, a2+a3, b0+b1, b2+b3, a4+a5, a6+a7,
        // b4+b5, b6+b7]`; twice over four vectors it gives each vector's `(0+1)+(2+3)` in the
        // low half and `(4+5)+(6+7)` in the high half, which the last addition combines.
        unsafe {
            let h = |a: __m256, b: __m256| _mm256_hadd_ps(a, b);
            let t0 = h(h(v[0].0, v[1].0), h(v[2].0, v[3].0));
            let t1 = h(h(v[4].0, v[5].0), h(v[6].0, v[7].0));
            let lo = _mm256_permute2f128_ps::<0x20>(t0, t1);
            let hi = _mm256_permute2f128_ps::<0x31>(t0, t1);
            Avx32(_mm256_add_ps(lo, hi))
        }
    }
    #[inline(always)]
    fn transpose(v: &mut [Self; WIDTH]) {
        // SAFETY: see `Avx32`. The usual 8 x 8 transpose: pairs of rows interleaved, then pairs
        // of pairs, then the 128-bit halves exchanged.
        unsafe {
            let a: [__m256; WIDTH] = std::array::from_fn(|r| v[r].0);
            let lo = |i: usize| _mm256_unpacklo_ps(a[i], a[i + 1]);
            let hi = |i: usize| _mm256_unpackhi_ps(a[i], a[i + 1]);
            let (t0, t1, t2, t3) = (lo(0), hi(0), lo(2), hi(2));
            let (t4, t5, t6, t7) = (lo(4), hi(4), lo(6), hi(6));
            let s0 = _mm256_shuffle_ps::<0x44>(t0, t2);
            let s1 = _mm256_shuffle_ps::<0xee>(t0, t2);
            let s2 = _mm256_shuffle_ps::<0x44>(t1, t3);
            let s3 = _mm256_shuffle_ps::<0xee>(t1, t3);
            let s4 = _mm256_shuffle_ps::<0x44>(t4, t6);
            let s5 = _mm256_shuffle_ps::<0xee>(t4, t6);
            let s6 = _mm256_shuffle_ps::<0x44>(t5, t7);
            let s7 = _mm256_shuffle_ps::<0xee>(t5, t7);
            v[0].0 = _mm256_permute2f128_ps::<0x20>(s0, s4);
            v[1].0 = _mm256_permute2f128_ps::<0x20>(s1, s5);
            v[2].0 = _mm256_permute2f128_ps::<0x20>(s2, s6);
            v[3].0 = _mm256_permute2f128_ps::<0x20>(s3, s7);
            v[4].0 = _mm256_permute2f128_ps::<0x31>(s0, s4);
            v[5].0 = _mm256_permute2f128_ps::<0x31>(s1, s5);
            v[6].0 = _mm256_permute2f128_ps::<0x31>(s2, s6);
            v[7].0 = _mm256_permute2f128_ps::<0x31>(s3, s7);
        }
    }
    #[inline(always)]
    fn widen_into(self, out: &mut [f64]) {
        let t = &mut out[..WIDTH];
        // SAFETY: see `Avx32`; `t` holds eight values.
        unsafe {
            let lo = _mm256_cvtps_pd(_mm256_castps256_ps128(self.0));
            let hi = _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(self.0));
            _mm256_storeu_pd(t.as_mut_ptr(), lo);
            _mm256_storeu_pd(t.as_mut_ptr().add(4), hi);
        }
    }
    #[inline(always)]
    fn widen_from(self, c0: f64, out: &mut [f64]) {
        let t = &mut out[..WIDTH];
        // SAFETY: see `Avx32`; `t` holds eight values.
        unsafe {
            let c = _mm256_set1_pd(c0);
            let lo = _mm256_cvtps_pd(_mm256_castps256_ps128(self.0));
            let hi = _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(self.0));
            _mm256_storeu_pd(t.as_mut_ptr(), _mm256_sub_pd(c, lo));
            _mm256_storeu_pd(t.as_mut_ptr().add(4), _mm256_sub_pd(c, hi));
        }
    }
    #[inline(always)]
    fn widen_add(self, out: &mut [f64], up: f64) {
        let t = &mut out[..WIDTH];
        // SAFETY: see `Avx32`; `t` holds eight values.
        unsafe {
            let u = _mm256_set1_pd(up);
            let lo = _mm256_mul_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(self.0)), u);
            let hi = _mm256_mul_pd(_mm256_cvtps_pd(_mm256_extractf128_ps::<1>(self.0)), u);
            let p = t.as_mut_ptr();
            _mm256_storeu_pd(p, _mm256_add_pd(_mm256_loadu_pd(p), lo));
            _mm256_storeu_pd(p.add(4), _mm256_add_pd(_mm256_loadu_pd(p.add(4)), hi));
        }
    }
    #[inline(always)]
    fn narrow(s: &[f64]) -> Self {
        let t = &s[..WIDTH];
        // SAFETY: see `Avx32`; `t` holds eight values.
        unsafe {
            let lo = _mm256_cvtpd_ps(_mm256_loadu_pd(t.as_ptr()));
            let hi = _mm256_cvtpd_ps(_mm256_loadu_pd(t.as_ptr().add(4)));
            Avx32(_mm256_set_m128(hi, lo))
        }
    }
    #[inline(always)]
    fn exp_nonpositive(self) -> Self {
        // SAFETY: see `Avx32`. The steps of `exp32_nonpositive`, lane by lane (each product and
        // sum rounded on its own, the series by fused multiply-adds).
        unsafe {
            let x = self.0;
            let below = _mm256_cmp_ps::<_CMP_LT_OQ>(x, _mm256_set1_ps(EXP32_MIN));
            let xc = _mm256_blendv_ps(x, _mm256_set1_ps(EXP32_MIN), below);
            let shifter = _mm256_set1_ps(EXP32_SHIFTER);
            let t = _mm256_add_ps(
                _mm256_mul_ps(xc, _mm256_set1_ps(std::f32::consts::LOG2_E)),
                shifter,
            );
            let n = _mm256_sub_ps(t, shifter);
            let r = _mm256_sub_ps(
                _mm256_sub_ps(xc, _mm256_mul_ps(n, _mm256_set1_ps(EXP32_LN2_HI))),
                _mm256_mul_ps(n, _mm256_set1_ps(EXP32_LN2_LO)),
            );
            let mut p = _mm256_set1_ps(EXP32_COEFFS[0]);
            for &c in &EXP32_COEFFS[1..] {
                p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c));
            }
            let bits = _mm256_slli_epi32::<23>(_mm256_add_epi32(
                _mm256_castps_si256(t),
                _mm256_set1_epi32(127),
            ));
            let v = _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
            Avx32(_mm256_blendv_ps(v, _mm256_setzero_ps(), below))
        }
    }
}

/// [`single::max_abs_bits`] in AVX2 vectors (an integer maximum: the same value).
#[target_feature(enable = "avx2,fma")]
pub(crate) fn max_abs_bits(xs: &[f32]) -> u32 {
    single::max_abs_bits(xs)
}

/// [`single_full::transpose_contiguous`] in AVX2 vectors.
#[target_feature(enable = "avx2,fma")]
pub(crate) fn full_transpose(xs: &[f32], d: usize, ld: usize, x: &mut [f32]) -> u32 {
    single_full::transpose_contiguous::<Avx32>(xs, d, ld, x)
}

/// [`small::summarize32`] in AVX2 vectors (the AVX-512 path runs it too).
#[target_feature(enable = "avx2,fma")]
pub(crate) fn small_summarize(
    p: &SingleFull,
    consts: &[f64],
    x: (&[f32], usize, usize),
    w: Option<&[f64]>,
    parts: Small32<'_>,
) -> BlockTotals {
    small::summarize32::<Avx32, Avx, 2>(p, consts, x, w, parts)
}

/// [`forms_rows`] in AVX2 vectors.
#[target_feature(enable = "avx2,fma")]
pub(crate) fn forms(
    p: &Single,
    consts: &[f64],
    x: &[f32],
    n: usize,
    lp: &mut [f64],
    xt: &mut [f32],
) {
    forms_rows::<Avx32>(p, consts, x, n, lp, xt)
}

/// [`forms_rows`] in AVX2 vectors, with AVX-512's 32 registers (the same values).
#[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
pub(crate) fn forms_avx512(
    p: &Single,
    consts: &[f64],
    x: &[f32],
    n: usize,
    lp: &mut [f64],
    xt: &mut [f32],
) {
    forms_rows::<Avx32>(p, consts, x, n, lp, xt)
}

/// [`moments_rows`] in AVX-512 vectors of sixteen lanes, a feature to a lane as in eight (the same
/// values).
#[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
pub(crate) fn moments_avx512(
    p: &Single,
    r: &[f64],
    x: &[f32],
    rsum: &[f64],
    sums: (&mut [f64], &mut [f64]),
    work: &mut [f64],
) {
    moments_rows::<Avx32, Zmm32>(p, r, x, rsum, sums, work)
}

/// [`moments_rows`] in AVX2 vectors.
#[target_feature(enable = "avx2,fma")]
pub(crate) fn moments(
    p: &Single,
    r: &[f64],
    x: &[f32],
    rsum: &[f64],
    sums: (&mut [f64], &mut [f64]),
    work: &mut [f64],
) {
    moments_rows::<Avx32, Avx32>(p, r, x, rsum, sums, work)
}

/// [`single_full::forms`] in AVX2 vectors.
#[target_feature(enable = "avx2,fma")]
pub(crate) fn full_forms_avx2(
    p: &SingleFull,
    consts: &[f64],
    x: (&[f32], usize, usize),
    w: &mut Work<'_>,
    lp: &mut [f64],
) {
    single_full::forms::<Avx32, Avx32, 2>(p, consts, x, w, lp)
}

/// [`single_full::forms`] in AVX-512 vectors of sixteen lanes (the same values: a lane per row,
/// each doing what it does in eight).
#[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
pub(crate) fn full_forms_avx512(
    p: &SingleFull,
    consts: &[f64],
    x: (&[f32], usize, usize),
    w: &mut Work<'_>,
    lp: &mut [f64],
) {
    single_full::forms::<Avx32, Zmm32, 4>(p, consts, x, w, lp)
}

/// [`single_full::moments`] in AVX2 vectors.
#[target_feature(enable = "avx2,fma")]
pub(crate) fn full_moments_avx2(
    p: &SingleFull,
    r: &[f64],
    x: (&[f32], usize, usize),
    w: &mut Work<'_>,
    sums: (&mut [f64], &mut [f64]),
) {
    let tiles = single_full::product_tiles::<Avx32, 2>;
    single_full::moments::<Avx32, false>(p, r, x, w, sums, tiles)
}

/// [`single_full::moments`] with the centred rows in pairs and the products in AVX-512 vectors
/// ([`paired_tiles`]; the same values).
#[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
pub(crate) fn full_moments_avx512(
    p: &SingleFull,
    r: &[f64],
    x: (&[f32], usize, usize),
    w: &mut Work<'_>,
    sums: (&mut [f64], &mut [f64]),
) {
    single_full::moments::<Avx32, true>(p, r, x, w, sums, |wz, zp, dims, wp| {
        // SAFETY: this function runs only on processors with AVX-512 (see `Zmm32`).
        unsafe { paired_tiles(wz, zp, dims, wp) }
    })
}

/// The sums of a tile of [`paired_tiles`]: `acc[a][q]` those of the products of the feature of
/// `wz` at `pa[a]` with the pair at `pb[q]`, over `chunks` eights of rows.
///
/// # Safety
///
/// The processor has AVX-512; `pa[a]` is valid for `4 chunks` reads (`8 chunks` floats), `pb[q]`
/// for `16 chunks`.
#[inline]
#[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
unsafe fn paired_tile(pa: [*const f64; 4], pb: [*const f32; 4], chunks: usize) -> [[__m512; 4]; 4] {
    let mut acc = [[_mm512_setzero_ps(); 4]; 4];
    for c in 0..chunks {
        let mut zv = [_mm512_setzero_ps(); 4];
        for (v, &p) in zv.iter_mut().zip(&pb) {
            *v = _mm512_loadu_ps(p.add(16 * c));
        }
        for (aa, &p) in acc.iter_mut().zip(&pa) {
            let wa = _mm512_castpd_ps(_mm512_broadcast_f64x4(_mm256_loadu_pd(p.add(4 * c))));
            for (s, &v) in aa.iter_mut().zip(&zv) {
                *s = _mm512_fmadd_ps(wa, v, *s);
            }
        }
    }
    acc
}

/// The products of [`single_full::moments`] with the centred rows `zp` in pairs
/// ([`single_full::place`]): tiles of four features of `wz` by eight of `zp` (four pairs) that
/// reach the upper triangle, the eight features of `zp` outside (so that their rows stay in the
/// first-level cache while those of `wz` stream past). A vector holds the products of a feature
/// of `wz` with the two of a pair, each in eight lanes as
/// [`product_tiles`](single_full::product_tiles) has them (row `i` in lane `i % 8`, in row
/// order, the same fused multiply-adds), and their lanes are combined by [`Lanes32::sums`]:
/// the same values, twice the lanes per instruction.
///
/// # Safety
///
/// The processor has AVX-512 (a function of its own, so that the intrinsics are compiled for it
/// however the caller is inlined).
#[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
unsafe fn paired_tiles(wz: &[f32], zp: &[f32], (d, ld): (usize, usize), wp: &mut [f64]) {
    let dp8 = single::padded8(d);
    let chunks = ld / WIDTH;
    // The tiles read features `a0..a0 + 4` of `wz` with `a0 + 4 <= padded(d) <= padded8(d)`,
    // the pairs `b0 / 2..b0 / 2 + 4` of `zp` with `b0 + 8 <= padded8(d)`, and put products in
    // the rows `a0..a0 + 4` of `wp`, eight at a time from `b0`.
    assert!(ld % WIDTH == 0 && wz.len() >= dp8 * ld && zp.len() >= dp8 * ld);
    assert!(wp.len() >= dp8 * dp8);
    for b0 in (0..d).step_by(8) {
        for a0 in (0..d.min(b0 + 8)).step_by(4) {
            // SAFETY: the processor has AVX-512 (the contract); the loads read `wz` at
            // `(a0 + a) ld + 8 c + 8 <= (a0 + 4) ld <= padded8(d) ld` and `zp` at
            // `(b0 / 2 + q) 2 ld + 16 c + 16 <= (b0 + 8) ld <= padded8(d) ld` (asserted).
            unsafe {
                let pa: [*const f64; 4] =
                    std::array::from_fn(|a| wz.as_ptr().add((a0 + a) * ld).cast::<f64>());
                let pb: [*const f32; 4] =
                    std::array::from_fn(|q| zp.as_ptr().add((b0 + 2 * q) * ld));
                let acc = paired_tile(pa, pb, chunks);
                for (a, aa) in acc.iter().enumerate() {
                    // The eight products of feature `a0 + a` with `b0..b0 + 8`, in the halves.
                    let v: [Avx32; WIDTH] = std::array::from_fn(|b| {
                        let s = aa[b / 2];
                        Avx32(if b % 2 == 0 {
                            _mm512_castps512_ps256(s)
                        } else {
                            _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(s)))
                        })
                    });
                    Avx32::sums(&v).widen_into(&mut wp[(a0 + a) * dp8 + b0..]);
                }
            }
        }
    }
}
