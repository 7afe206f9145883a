//! The kernels on AVX-512 vectors: [`quad_forms_in`](portable::quad_forms_in),
//! [`centre_weighted`](portable::centre_weighted) and [`products_in`](portable::products_in),
//! and the [`Lanes`] of the small-dimension E-step. Every value is the same chain of operations
//! as in the portable and AVX2 kernels, in the same order, so the results are the same bit for
//! bit; only more rows (or more products) are in flight at once (and the moments of full
//! covariance go through a block in passes of [`MOMENT_ROWS`] rows, each lane's sums carried
//! from one pass to the next, or from [`WHOLE_BLOCK_FROM`] features on, over the whole block
//! at once).

use std::arch::x86_64::{
    __m512d, _mm256_loadu_pd, _mm256_set1_pd, _mm512_add_epi64, _mm512_add_pd, _mm512_and_si512,
    _mm512_broadcast_f64x4, _mm512_castpd256_pd512, _mm512_castpd_si512, _mm512_castsi512_pd,
    _mm512_cmp_pd_mask, _mm512_div_pd, _mm512_fmadd_pd, _mm512_insertf64x4, _mm512_loadu_pd,
    _mm512_mask_blend_pd, _mm512_maskz_mov_pd, _mm512_max_pd, _mm512_mul_pd, _mm512_or_si512,
    _mm512_set1_epi64, _mm512_set1_pd, _mm512_setzero_pd, _mm512_slli_epi64, _mm512_srli_epi64,
    _mm512_storeu_pd, _mm512_sub_pd, _CMP_EQ_OQ, _CMP_GT_OQ, _CMP_LT_OQ, _CMP_UNORD_Q,
};

use super::avx2::Avx;
use crate::kernels::dispatch::Isa;
use crate::kernels::lanes::Lanes;
use crate::kernels::math::{exp_series, EXP_LN2_HI, EXP_LN2_LO, EXP_MIN, EXP_SHIFTER, LN_COEFFS};
use crate::kernels::portable::{self, padded, panel_width};

/// [`Lanes`] on an AVX-512 vector: eight lanes, each doing what a lane of `Avx` does. Values
/// of it are made only inside functions compiled for AVX-512 (`summarize_small_avx512`, and
/// the matrix products' `task_avx512` in `linalg::gemm`), which run only on processors that
/// have it: that is what makes the intrinsics sound.
#[derive(Clone, Copy)]
pub(crate) struct Avx512(__m512d);

#[inline(always)]
fn set1(v: f64) -> __m512d {
    // SAFETY: see `Avx512`.
    unsafe { _mm512_set1_pd(v) }
}

impl Lanes for Avx512 {
    const WIDTH: usize = 8;
    #[inline(always)]
    fn splat(v: f64) -> Self {
        debug_assert!(Isa::cpu().avx512());
        Avx512(set1(v))
    }
    #[inline(always)]
    fn load(s: &[f64]) -> Self {
        debug_assert!(Isa::cpu().avx512());
        let t = &s[..8];
        // SAFETY: see `Avx512`; `t` holds 8 values.
        Avx512(unsafe { _mm512_loadu_pd(t.as_ptr()) })
    }
    #[inline(always)]
    fn store(self, s: &mut [f64]) {
        let t = &mut s[..8];
        // SAFETY: see `Avx512`; `t` holds 8 values.
        unsafe { _mm512_storeu_pd(t.as_mut_ptr(), self.0) }
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        // SAFETY: see `Avx512`.
        Avx512(unsafe { _mm512_add_pd(self.0, o.0) })
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        // SAFETY: see `Avx512`.
        Avx512(unsafe { _mm512_sub_pd(self.0, o.0) })
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        // SAFETY: see `Avx512`.
        Avx512(unsafe { _mm512_mul_pd(self.0, o.0) })
    }
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        // SAFETY: see `Avx512`.
        Avx512(unsafe { _mm512_fmadd_pd(self.0, a.0, b.0) })
    }
    #[inline(always)]
    fn div(self, o: Self) -> Self {
        // SAFETY: see `Avx512`.
        Avx512(unsafe { _mm512_div_pd(self.0, o.0) })
    }
    #[inline(always)]
    fn max_of(self, o: Self) -> Self {
        // SAFETY: see `Avx512`.
        // `max_pd(a, b)` is `a` where `a > b` and `b` elsewhere (NaN and equal lanes included):
        // this comparison, in one instruction.
        unsafe { Avx512(_mm512_max_pd(self.0, o.0)) }
    }
    #[inline(always)]
    fn nan_to_neg_inf(self) -> Self {
        // SAFETY: see `Avx512`.
        unsafe {
            let nan = _mm512_cmp_pd_mask::<_CMP_UNORD_Q>(self.0, self.0);
            Avx512(_mm512_mask_blend_pd(nan, self.0, set1(f64::NEG_INFINITY)))
        }
    }
    #[inline(always)]
    fn times_unless_zero(self, f: Self) -> Self {
        // SAFETY: see `Avx512`.
        unsafe {
            let zero = _mm512_cmp_pd_mask::<_CMP_EQ_OQ>(f.0, _mm512_setzero_pd());
            let v = _mm512_mul_pd(self.0, f.0);
            Avx512(_mm512_mask_blend_pd(zero, v, _mm512_setzero_pd()))
        }
    }
    #[inline(always)]
    fn exp(self) -> Self {
        // SAFETY: see `Avx512`. The steps of `exp_nonpositive`, lane by lane.
        unsafe {
            let x = self.0;
            let below = _mm512_cmp_pd_mask::<_CMP_LT_OQ>(x, set1(EXP_MIN));
            let xc = _mm512_mask_blend_pd(below, x, set1(EXP_MIN));
            let t = _mm512_add_pd(
                _mm512_mul_pd(xc, set1(std::f64::consts::LOG2_E)),
                set1(EXP_SHIFTER),
            );
            let n = _mm512_sub_pd(t, set1(EXP_SHIFTER));
            let r = _mm512_sub_pd(
                _mm512_sub_pd(xc, _mm512_mul_pd(n, set1(EXP_LN2_HI))),
                _mm512_mul_pd(n, set1(EXP_LN2_LO)),
            );
            let p = exp_series(Avx512(r)).0;
            let bits = _mm512_slli_epi64::<52>(_mm512_add_epi64(
                _mm512_castpd_si512(t),
                _mm512_set1_epi64(1023),
            ));
            let v = _mm512_mul_pd(p, _mm512_castsi512_pd(bits));
            Avx512(_mm512_mask_blend_pd(below, v, _mm512_setzero_pd()))
        }
    }
    #[inline(always)]
    fn ln(self) -> Self {
        // SAFETY: see `Avx512`. The steps of `ln_positive`, lane by lane.
        unsafe {
            let x = self.0;
            let bits = _mm512_castpd_si512(x);
            // The biased exponent as a double: its bits under 2^52, less 2^52.
            let biased = _mm512_and_si512(_mm512_srli_epi64::<52>(bits), _mm512_set1_epi64(0x7ff));
            let two52 = _mm512_set1_epi64(0x4330_0000_0000_0000);
            let ef = _mm512_sub_pd(
                _mm512_castsi512_pd(_mm512_or_si512(biased, two52)),
                set1(4_503_599_627_370_496.0),
            );
            let m = _mm512_castsi512_pd(_mm512_or_si512(
                _mm512_and_si512(bits, _mm512_set1_epi64(0x000f_ffff_ffff_ffff)),
                _mm512_set1_epi64(0x3ff0_0000_0000_0000),
            ));
            let big = _mm512_cmp_pd_mask::<_CMP_GT_OQ>(m, set1(std::f64::consts::SQRT_2));
            let m = _mm512_mask_blend_pd(big, m, _mm512_mul_pd(set1(0.5), m));
            // 1 where `big` and +0 elsewhere, as the AVX2 lanes' mask and 1.
            let e = _mm512_add_pd(
                _mm512_sub_pd(ef, set1(1023.0)),
                _mm512_maskz_mov_pd(big, set1(1.0)),
            );
            let one = set1(1.0);
            let s = _mm512_div_pd(_mm512_sub_pd(m, one), _mm512_add_pd(m, one));
            let s2 = _mm512_mul_pd(s, s);
            let mut p = set1(LN_COEFFS[0]);
            for &c in &LN_COEFFS[1..] {
                p = _mm512_add_pd(_mm512_mul_pd(p, s2), set1(c));
            }
            let two_s = _mm512_mul_pd(set1(2.0), s);
            let ln_m = _mm512_add_pd(two_s, _mm512_mul_pd(_mm512_mul_pd(two_s, s2), p));
            let v = _mm512_add_pd(
                _mm512_mul_pd(e, set1(EXP_LN2_HI)),
                _mm512_add_pd(ln_m, _mm512_mul_pd(e, set1(EXP_LN2_LO))),
            );
            let keep = _mm512_cmp_pd_mask::<_CMP_UNORD_Q>(x, x)
                | _mm512_cmp_pd_mask::<_CMP_EQ_OQ>(x, set1(f64::INFINITY));
            Avx512(_mm512_mask_blend_pd(keep, v, x))
        }
    }
}

/// Rows `i0..i0 + 8 V` of the quadratic forms: as `quad_tile`, with eight rows per vector.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn quad_tile<const V: usize>(
    (pan, b): (&[f64], &[f64]),
    d: usize,
    lower: bool,
    z: &[f64],
    ld: usize,
    i0: usize,
    acc: &mut [f64],
    ys: &mut [f64],
) {
    let dp = padded(d);
    let ys = &mut ys[..dp * 8 * V];
    assert!(acc.len() >= i0 + 8 * V);
    let mut off = 0;
    for r in (0..dp).step_by(4) {
        let width = panel_width(r, d, lower);
        let pr = &pan[off..off + 4 * width];
        off += 4 * width;
        assert!(width == 0 || (width - 1) * ld + i0 + 8 * V <= z.len());
        // SAFETY (all the intrinsics below): the functions that inline this one are
        // compiled for AVX-512 and run only on processors that have it; every load and store
        // is within the slices (asserted above, or by the slice's length).
        unsafe {
            let mut y = [[_mm512_setzero_pd(); V]; 4];
            for c in 0..width {
                let zc = z.as_ptr().add(c * ld + i0);
                let mut zv = [_mm512_setzero_pd(); V];
                for (h, v) in zv.iter_mut().enumerate() {
                    *v = _mm512_loadu_pd(zc.add(8 * h));
                }
                let ac = pr.get_unchecked(4 * c..4 * c + 4);
                for (yq, &a) in y.iter_mut().zip(ac) {
                    let aq = _mm512_set1_pd(a);
                    for (yv, &zh) in yq.iter_mut().zip(&zv) {
                        *yv = _mm512_fmadd_pd(aq, zh, *yv);
                    }
                }
            }
            for (q, yq) in y.iter().enumerate() {
                let row = &mut ys[(r + q) * 8 * V..(r + q + 1) * 8 * V];
                for (h, yv) in yq.iter().enumerate() {
                    _mm512_storeu_pd(row.as_mut_ptr().add(8 * h), *yv);
                }
            }
        }
    }
    // SAFETY: as above.
    unsafe {
        let mut sq = [_mm512_setzero_pd(); V];
        for (yr, &br) in ys.chunks_exact(8 * V).zip(&b[..dp]) {
            let br = _mm512_set1_pd(br);
            for (h, s) in sq.iter_mut().enumerate() {
                let yv = _mm512_sub_pd(_mm512_loadu_pd(yr.as_ptr().add(8 * h)), br);
                *s = _mm512_fmadd_pd(yv, yv, *s);
            }
        }
        for (h, v) in sq.iter().enumerate() {
            _mm512_storeu_pd(acc.as_mut_ptr().add(i0 + 8 * h), *v);
        }
    }
}

/// The quadratic forms of [`quad_forms_in`](portable::quad_forms_in): 32 rows at a time, then
/// 8, then the AVX2 kernel for the rest; `ys` holds at least `32 padded(d)` values (when
/// `n >= 32`; the tiles check it).
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f,avx2,fma")]
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
    let mut i0 = 0;
    while i0 + 32 <= n {
        quad_tile::<4>(a, d, lower, z, ld, i0, acc, ys);
        i0 += 32;
    }
    while i0 + 8 <= n {
        quad_tile::<1>(a, d, lower, z, ld, i0, acc, ys);
        i0 += 8;
    }
    if i0 < n {
        // The features of the rows left start `i0` further on, `ld` apart as before.
        portable::quad_forms_in::<Avx>(a, d, lower, &z[i0..], n - i0, ld, &mut acc[i0..], ys);
    }
}

/// The values of `z` (and `wz`) row `i` of feature `l` sit at `paired(l, i, g)` in the
/// paired layout of [`centre_weighted_pair`]: the features in pairs, and in each pair the
/// rows in fours, the four of the even feature then the same four of the odd one (`g` fours
/// per pair).
#[cfg(test)]
pub(crate) fn paired(l: usize, i: usize, g: usize) -> usize {
    (l / 2) * 8 * g + (l % 2) * 4 + in_pair(i)
}

/// Where row `i` of the even feature of a pair sits in the pair's part of the paired layout
/// (that of the odd feature is 4 further on).
#[inline(always)]
pub(crate) fn in_pair(i: usize) -> usize {
    (i / 4) * 8 + i % 4
}

/// The number of fours of rows of the paired layout for `n` rows.
#[inline(always)]
pub(crate) fn fours(n: usize) -> usize {
    n.div_ceil(4)
}

/// Rows per pass of the AVX-512 moments: for a moderate number of features, the centred and
/// weighted rows of a pass (in the paired layout), the block's rows they come from and the
/// running sums stay in the first-level cache between the centring and the products.
pub(crate) const MOMENT_ROWS: usize = 64;

/// Running sums of [`centre_weighted_pair`] (per pair) and [`products`] (per tile), kept
/// from one pass of rows to the next: each lane goes on adding its rows in order, so that
/// the sums are those of one pass over all the rows.
pub(crate) struct MomentLanes {
    /// Per pair: `8 h + 4 f + q` is lane `4 h + q` (of sixteen) of feature `f` of the pair.
    pub(crate) sums: Vec<[f64; 32]>,
    /// Per tile of [`products`]: `32 p + 8 h + 4 f + q` is lane `q` of the product of the
    /// tile's feature `p` of `wz` with feature `f` of its pair `h` of `z`.
    products: Vec<[f64; 128]>,
}

impl MomentLanes {
    /// Room for `d` features.
    pub(crate) fn new(d: usize) -> MomentLanes {
        // The whole-block moments keep the products' lanes in registers.
        let tiles = if d < WHOLE_BLOCK_FROM {
            tiles(d).count()
        } else {
            0
        };
        MomentLanes {
            sums: vec![[0.0; 32]; d.div_ceil(2)],
            products: vec![[0.0; 128]; tiles],
        }
    }

    /// The number of values of the running sums for `d` features (those [`new`](Self::new)
    /// allocates).
    pub(crate) fn len(d: usize) -> usize {
        let tiles = if d < WHOLE_BLOCK_FROM {
            tiles(d).count()
        } else {
            0
        };
        d.div_ceil(2) * 32 + tiles * 128
    }

    /// Every sum back to zero.
    pub(crate) fn clear(&mut self) {
        self.sums.fill([0.0; 32]);
        self.products.fill([0.0; 128]);
    }

    /// The two sums of pair `h`, combined as [`lanes16`](portable::lanes16) does.
    pub(crate) fn sums(&self, h: usize) -> [f64; 2] {
        let s = &self.sums[h];
        std::array::from_fn(|f| {
            portable::lanes16(std::array::from_fn(|t| s[(t / 4) * 8 + 4 * f + t % 4]))
        })
    }

    /// The upper triangle of the products, lanes combined as in `portable::product_tile`, added to
    /// `p` (`d x d`, row-major).
    pub(crate) fn add_products(&self, d: usize, p: &mut [f64]) {
        for ((a0, b0), t) in tiles(d).zip(&self.products) {
            for da in 0..4 {
                for db in 0..8 {
                    let (a, b) = (a0 + da, b0 + db);
                    if a < d && b < d && b >= a {
                        let l = &t[32 * da + 8 * (db / 2) + 4 * (db % 2)..][..4];
                        p[a * d + b] += (l[0] + l[1]) + (l[2] + l[3]);
                    }
                }
            }
        }
    }
}

/// The tiles `(a0, b0)` of [`products`]: four features of `wz` by eight of `z`, covering the
/// upper triangle (`a0 < b0 + 8`), the eight features of `z` outside (so that their rows stay
/// in the first-level cache while the rows of `wz` stream past).
fn tiles(d: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..d)
        .step_by(8)
        .flat_map(move |b0| (0..d.min(b0 + 8)).step_by(4).map(move |a0| (a0, b0)))
}

/// [`centre_weighted`](portable::centre_weighted) of two features at once, `xa` and `xb` (the
/// same row twice for a last feature of its own), centred on `mu[0]` and `mu[1]`: the
/// centred values go to `zp` in the paired layout of one pair (see [`paired`]), each store
/// a whole vector (four rows of each feature), and the weighted ones are added to the
/// running lanes `acc` (see [`MomentLanes`]). The weighted values are not stored:
/// [`products`] computes them again from `zp` and the responsibilities (the same product,
/// so the same bits), which costs less than a second stream of stores. Rows
/// `0..n` of a pass that starts at a multiple of sixteen, `n` a multiple of sixteen but in
/// the last pass: the same values, and in the end the same sums, bit for bit (a lane adds
/// the same rows in the same order).
#[target_feature(enable = "avx512f,avx2,fma")]
pub(crate) fn centre_weighted_pair(
    (xa, xb): (&[f64], &[f64]),
    mu: [f64; 2],
    r: &[f64],
    zp: &mut [f64],
    acc: &mut [f64; 32],
) {
    centre_weighted_pair_in::<false>((xa, xb), mu, r, (zp, &mut []), acc)
}

/// [`centre_weighted_pair`], and when `STORE`, the weighted values stored too, in `wzp` (in
/// the layout of `zp`).
#[inline(always)]
fn centre_weighted_pair_in<const STORE: bool>(
    (xa, xb): (&[f64], &[f64]),
    mu: [f64; 2],
    r: &[f64],
    (zp, wzp): (&mut [f64], &mut [f64]),
    acc: &mut [f64; 32],
) {
    let n = xa.len();
    let (g, n16) = (fours(n), n / 16 * 16);
    let (xb, r) = (&xb[..n], &r[..n]);
    let zp = &mut zp[..8 * g];
    let wzp = &mut wzp[..if STORE { 8 * g } else { 0 }];
    // SAFETY: the processor has AVX-512 (the contract of the callers, compiled for it); the
    // loads read rows `t..t + 4` with `t + 4 <= n16 <= n`, the stores places
    // `2 t..2 t + 8 <= 2 n16 <= 8 g` (of `wzp` only when `STORE`, when it holds `8 g`), the
    // lanes `8 h..8 h + 8 <= 32`.
    unsafe {
        let m = _mm512_insertf64x4::<1>(
            _mm512_castpd256_pd512(_mm256_set1_pd(mu[0])),
            _mm256_set1_pd(mu[1]),
        );
        let pl = acc.as_mut_ptr();
        let mut lanes: [__m512d; 4] = std::array::from_fn(|h| _mm512_loadu_pd(pl.add(8 * h)));
        let (pa, pb, pr) = (xa.as_ptr(), xb.as_ptr(), r.as_ptr());
        let (pz, pw) = (zp.as_mut_ptr(), wzp.as_mut_ptr());
        for i in (0..n16).step_by(16) {
            for (h, a) in lanes.iter_mut().enumerate() {
                let t = i + 4 * h;
                let xv = _mm512_insertf64x4::<1>(
                    _mm512_castpd256_pd512(_mm256_loadu_pd(pa.add(t))),
                    _mm256_loadu_pd(pb.add(t)),
                );
                let zv = _mm512_sub_pd(xv, m);
                let wv = _mm512_mul_pd(_mm512_broadcast_f64x4(_mm256_loadu_pd(pr.add(t))), zv);
                _mm512_storeu_pd(pz.add(2 * t), zv);
                if STORE {
                    _mm512_storeu_pd(pw.add(2 * t), wv);
                }
                *a = _mm512_add_pd(*a, wv);
            }
        }
        for (h, a) in lanes.iter().enumerate() {
            _mm512_storeu_pd(pl.add(8 * h), *a);
        }
    }
    for i in n16..n {
        for (f, x) in [xa, xb].into_iter().enumerate() {
            let zv = x[i] - mu[f];
            let wv = r[i] * zv;
            zp[in_pair(i) + 4 * f] = zv;
            if STORE {
                wzp[in_pair(i) + 4 * f] = wv;
            }
            acc[in_pair(i % 16) + 4 * f] += wv;
        }
    }
}

/// The products of the four features of `zp` that start at `ra`, weighted (each row times
/// its responsibility in `r`, the product [`centre_weighted_pair`] computed), with the eight
/// features of `zp` in `pairs` (in the paired layout, `g` fours per pair; features and pairs
/// past the last one read it again, for products that are not kept), added to the running
/// lanes `lanes` of the tile (see [`MomentLanes`]): each product in four lanes (half a
/// vector, beside the product of the other feature of its pair), over the rows in fours,
/// in order, then the rows past the last four (of the last pass) to the lanes of their
/// places, as in `portable::product_tile`.
#[inline(always)]
fn product_tile(
    r: &[f64],
    zp: &[f64],
    (n, g): (usize, usize),
    (ra, pairs): ([usize; 4], [usize; 4]),
    lanes: &mut [f64; 128],
) {
    let n4 = n / 4 * 4;
    let r = &r[..n];
    assert!(ra.iter().all(|&a| a + 2 * n4 <= zp.len()));
    assert!(pairs.iter().all(|&q| (q + 1) * 8 * g <= zp.len()));
    // SAFETY: see `quad_tile`; the reads are within the slices (asserted above: features
    // `a + 2 i + 4 <= a + 2 n4`, fours `8 (i / 4) + 8 <= 8 g`, responsibilities
    // `i + 4 <= n4 <= n`; lanes `32 p + 8 h + 8 <= 128`).
    unsafe {
        let pl = lanes.as_mut_ptr();
        let mut acc: [[__m512d; 4]; 4] = std::array::from_fn(|p| {
            std::array::from_fn(|h| _mm512_loadu_pd(pl.add(32 * p + 8 * h)))
        });
        let (pz, pr) = (zp.as_ptr(), r.as_ptr());
        let (pa, pb): ([*const f64; 4], [*const f64; 4]) = (
            std::array::from_fn(|h| pz.add(ra[h])),
            std::array::from_fn(|h| pz.add(pairs[h] * 8 * g)),
        );
        for i in (0..n4).step_by(4) {
            let mut vb = [_mm512_setzero_pd(); 4];
            for (v, &p) in vb.iter_mut().zip(&pb) {
                *v = _mm512_loadu_pd(p.add(2 * i));
            }
            let rv = _mm512_broadcast_f64x4(_mm256_loadu_pd(pr.add(i)));
            for (ap, &p) in acc.iter_mut().zip(&pa) {
                let za = _mm512_broadcast_f64x4(_mm256_loadu_pd(p.add(2 * i)));
                let va = _mm512_mul_pd(rv, za);
                for (s, &v) in ap.iter_mut().zip(&vb) {
                    *s = _mm512_fmadd_pd(va, v, *s);
                }
            }
        }
        for (p, ap) in acc.iter().enumerate() {
            for (h, v) in ap.iter().enumerate() {
                _mm512_storeu_pd(pl.add(32 * p + 8 * h), *v);
            }
        }
    }
    for p in 0..4 {
        for q in 0..8 {
            let (h, half) = (q / 2, (q % 2) * 4);
            for i in n4..n {
                let zv = zp[pairs[h] * 8 * g + half + in_pair(i)];
                let l = &mut lanes[32 * p + 8 * h + half + i % 4];
                let wv = r[i] * zp[ra[p] + in_pair(i)];
                *l = wv.mul_add(zv, *l);
            }
        }
    }
}

/// [`products_in`](portable::products_in) with `z` in the paired layout of
/// [`centre_weighted_pair`] and `wz` its rows times the responsibilities `r`, in tiles of
/// four by eight products, added to the running lanes of `acc`: rows `0..n` of a pass that
/// starts at a multiple of four, `n` a multiple of four but in the last pass
/// ([`MomentLanes::add_products`] then gives the products).
#[inline(never)]
#[target_feature(enable = "avx512f,avx2,fma")]
pub(crate) fn products(r: &[f64], zp: &[f64], d: usize, n: usize, acc: &mut MomentLanes) {
    let g = fours(n);
    // Where feature `r` (the last one for those past it) starts in the paired layout.
    let row = |r: usize| {
        let r = r.min(d - 1);
        (r / 2) * 8 * g + (r % 2) * 4
    };
    let last = (d - 1) / 2;
    for ((a0, b0), lanes) in tiles(d).zip(acc.products.iter_mut()) {
        let ra = [row(a0), row(a0 + 1), row(a0 + 2), row(a0 + 3)];
        let pairs = std::array::from_fn(|h| (b0 / 2 + h).min(last));
        product_tile(r, zp, (n, g), (ra, pairs), lanes);
    }
}

/// From this many features on, [`moments`] centres a whole block at once (its centred and
/// weighted rows no longer fit in the first-level cache in passes of a useful number of rows,
/// and the running lanes of the products would outgrow the second-level cache): each product
/// then runs over all the rows of the block in registers ([`products_whole`]).
pub(crate) const WHOLE_BLOCK_FROM: usize = 128;

/// Features of `z` per block of [`products_whole`]: the block's rows stay in the second-level
/// cache while the weighted rows of every feature before it stream past.
const WHOLE_FEATURES: usize = 64;

/// The products of the `A` features of `wzp` that start at `ra` with the eight features of
/// `zp` in `pairs` (both in the paired layout, `g` fours per pair; features and pairs past
/// the last one read it again, for products that are not kept), over rows `0..n`: each
/// product in four lanes (half a vector, beside the product of the other feature of its
/// pair), over the rows in fours, in order, then the rows past the last four to the lanes of
/// their places, the lanes combined as in `portable::product_tile`.
#[inline(always)]
fn product_tile_whole<const A: usize>(
    (wzp, zp): (&[f64], &[f64]),
    (n, g): (usize, usize),
    (ra, pairs): ([usize; A], [usize; 4]),
) -> [[f64; 8]; A] {
    let n4 = n / 4 * 4;
    assert!(ra.iter().all(|&a| a + 2 * n4 <= wzp.len()));
    assert!(pairs.iter().all(|&q| (q + 1) * 8 * g <= zp.len()));
    let mut lanes = [[0.0f64; 32]; A];
    // SAFETY: see `quad_tile`; the reads are within the slices (asserted above: features
    // `a + 2 i + 4 <= a + 2 n4`, fours `8 (i / 4) + 8 <= 8 g`).
    unsafe {
        let mut acc = [[_mm512_setzero_pd(); 4]; A];
        let (pa, pb): ([*const f64; A], [*const f64; 4]) = (
            std::array::from_fn(|h| wzp.as_ptr().add(ra[h])),
            std::array::from_fn(|h| zp.as_ptr().add(pairs[h] * 8 * g)),
        );
        for i in (0..n4).step_by(4) {
            let mut vb = [_mm512_setzero_pd(); 4];
            for (v, &p) in vb.iter_mut().zip(&pb) {
                *v = _mm512_loadu_pd(p.add(2 * i));
            }
            for (ap, &p) in acc.iter_mut().zip(&pa) {
                let va = _mm512_broadcast_f64x4(_mm256_loadu_pd(p.add(2 * i)));
                for (s, &v) in ap.iter_mut().zip(&vb) {
                    *s = _mm512_fmadd_pd(va, v, *s);
                }
            }
        }
        for (ap, l) in acc.iter().zip(lanes.iter_mut()) {
            for (h, v) in ap.iter().enumerate() {
                _mm512_storeu_pd(l.as_mut_ptr().add(8 * h), *v);
            }
        }
    }
    std::array::from_fn(|p| {
        std::array::from_fn(|q| {
            let (h, half) = (q / 2, (q % 2) * 4);
            let l = &mut lanes[p][8 * h + half..8 * h + half + 4];
            for i in n4..n {
                let zv = zp[pairs[h] * 8 * g + half + in_pair(i)];
                l[i % 4] = wzp[ra[p] + in_pair(i)].mul_add(zv, l[i % 4]);
            }
            (l[0] + l[1]) + (l[2] + l[3])
        })
    })
}

/// Tiles of `A` features of `wzp` by eight of `zp`.
const WHOLE_TILE: usize = 4;

/// The upper triangle of the products of the weighted rows `wzp` with the centred rows `zp`
/// (both in the paired layout, rows `0..n` of the whole block) added to `p` (`d x d`,
/// row-major): the products of `products_in`, bit for bit, in tiles of [`WHOLE_TILE`] by
/// eight features, by blocks of [`WHOLE_FEATURES`] features of `zp`.
#[inline(never)]
#[target_feature(enable = "avx512f,avx2,fma")]
pub(crate) fn products_whole(wzp: &[f64], zp: &[f64], d: usize, n: usize, p: &mut [f64]) {
    const A: usize = WHOLE_TILE;
    let g = fours(n);
    let row = |r: usize| {
        let r = r.min(d - 1);
        (r / 2) * 8 * g + (r % 2) * 4
    };
    let last = (d - 1) / 2;
    for c0 in (0..d).step_by(WHOLE_FEATURES) {
        let c1 = (c0 + WHOLE_FEATURES).min(d);
        for a0 in (0..c1).step_by(A) {
            let ra: [usize; A] = std::array::from_fn(|h| row(a0 + h));
            // The tiles of this block of `z` that reach the upper triangle.
            for b0 in (c0..c1).step_by(8).filter(|&b0| a0 < b0 + 8) {
                let pairs = std::array::from_fn(|h| (b0 / 2 + h).min(last));
                let t = product_tile_whole::<A>((wzp, zp), (n, g), (ra, pairs));
                portable::add_upper(&t, (a0, b0), d, p);
            }
        }
    }
}

/// The moments of one component over the `n` rows of a transposed block `xt` (`d` rows,
/// `ld` apart; `mu` the component's centres, `r` its responsibilities): the sums added to
/// `sum` and the upper triangle of the products to `p` (`d x d`, row-major); the same sums as
/// one pass over all the rows. Below [`WHOLE_BLOCK_FROM`] features, in passes of
/// [`MOMENT_ROWS`] rows through `zp` (of `(d + 1) MOMENT_ROWS` values at least) and the
/// running lanes `acc`; from it on, the whole block centred into `zp` and weighted into `wzp`
/// (each of `(d + 1) n` values at least), the sums in the lanes of `acc`.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f,avx2,fma")]
pub(crate) fn moments(
    (xt, d, n, ld): (&[f64], usize, usize, usize),
    mu: &[f64],
    r: &[f64],
    (zp, wzp): (&mut [f64], &mut [f64]),
    acc: &mut MomentLanes,
    sum: &mut [f64],
    p: &mut [f64],
) {
    if d >= WHOLE_BLOCK_FROM {
        debug_assert!(acc.sums.len() >= d.div_ceil(2));
        acc.sums.fill([0.0; 32]);
        let g = fours(n);
        for l in (0..d).step_by(2) {
            let l2 = (l + 1).min(d - 1);
            let x = (&xt[l * ld..l * ld + n], &xt[l2 * ld..l2 * ld + n]);
            let pair = (l / 2) * 8 * g..(l / 2 + 1) * 8 * g;
            centre_weighted_pair_in::<true>(
                x,
                [mu[l], mu[l2]],
                &r[..n],
                (&mut zp[pair.clone()], &mut wzp[pair]),
                &mut acc.sums[l / 2],
            );
        }
        products_whole(wzp, zp, d, n, p);
    } else {
        moments_in_passes((xt, d, n, ld), mu, r, zp, acc, p);
    }
    for l in (0..d).step_by(2) {
        let sums = acc.sums(l / 2);
        sum[l] += sums[0];
        if l + 1 < d {
            sum[l + 1] += sums[1];
        }
    }
}

/// The centring and products of [`moments`] in passes of [`MOMENT_ROWS`] rows (fewer than
/// [`WHOLE_BLOCK_FROM`] features): the sums left in the lanes of `acc.sums`, the products
/// added to `p`.
#[inline]
#[target_feature(enable = "avx512f,avx2,fma")]
fn moments_in_passes(
    (xt, d, n, ld): (&[f64], usize, usize, usize),
    mu: &[f64],
    r: &[f64],
    zp: &mut [f64],
    acc: &mut MomentLanes,
    p: &mut [f64],
) {
    debug_assert!(acc.sums.len() >= d.div_ceil(2) && acc.products.len() >= tiles(d).count());
    acc.clear();
    for i0 in (0..n).step_by(MOMENT_ROWS) {
        let rows = i0..(i0 + MOMENT_ROWS).min(n);
        let g = fours(rows.len());
        for l in (0..d).step_by(2) {
            // A last feature of its own fills both halves of its pair.
            let l2 = (l + 1).min(d - 1);
            let x = (
                &xt[l * ld + rows.start..l * ld + rows.end],
                &xt[l2 * ld + rows.start..l2 * ld + rows.end],
            );
            let out = &mut zp[(l / 2) * 8 * g..(l / 2 + 1) * 8 * g];
            let lanes = &mut acc.sums[l / 2];
            centre_weighted_pair(x, [mu[l], mu[l2]], &r[rows.clone()], out, lanes);
        }
        products(&r[rows.clone()], zp, d, rows.len(), acc);
    }
    acc.add_products(d, p);
}
