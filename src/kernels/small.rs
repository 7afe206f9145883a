//! The small-dimension E-step of full covariance: tiles of [`SMALL_LANES`] rows kept in
//! registers through the log-densities, the log-sum-exp, the responsibilities and the moments
//! (see [`Plan`](super::plan::Plan), path `Small`), for `f64` rows ([`small_tiles`]); for
//! `f32` rows in `f32` lanes, a tile at a time through the log-densities and the
//! responsibilities, then a pass per component for the moments ([`small_tiles32`]).

use super::lanes::Lanes;
use super::plan::BlockTotals;
use super::portable::{lanes, padded};
use super::single::{tile_scale, Lanes32, WIDTH};
use super::single_full::SingleFull;

/// Full-covariance mixtures of at most this many features take the small-dimension E-step.
pub(crate) const SMALL_MAX_FEATURES: usize = 4;

/// Rows evaluated together by the small-dimension E-step (two AVX2 vectors, or one AVX-512).
pub(crate) const SMALL_LANES: usize = 8;

/// Per-lane sums of one component in the small-dimension E-step: weight, `d` first moments and
/// the `d (d + 1) / 2` products of the upper triangle, for `d` up to [`SMALL_MAX_FEATURES`].
pub(crate) const SMALL_SUMS: usize =
    1 + SMALL_MAX_FEATURES + SMALL_MAX_FEATURES * (SMALL_MAX_FEATURES + 1) / 2;

/// The tiles of the small-dimension E-step (see `Plan::summarize_small`), in lanes `L`: for
/// each tile of eight rows of `xt` (`D x n`), the log-densities of the `k` components (`means`:
/// `k x D`, as measured in `xt`, that is less the plan's origin; `scale`: `k x padded(D) x D`
/// factors `L^-1`, `lower` when they are triangular,
/// `consts`: `log w + log_norm`), their log-sum-exp, the responsibilities times the weights
/// `w`, and the per-lane sums `acc` and log-likelihoods `ll`; `lp` (`k x 8`) is work space, and
/// so are the row buffers (each row's maximum, total and counted weight, for the
/// log-likelihoods summed after the tiles; room for `n` rounded up to a tile; a row that does
/// not count holds the maximum 0 and the total 1).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn small_tiles<L: Lanes, const D: usize, const H: usize>(
    (means, scale, consts, lower): (&[f64], &[f64], &[f64], bool),
    xt: &[f64],
    (n, ld): (usize, usize),
    w: Option<&[f64]>,
    lp: &mut [f64],
    acc: &mut [[[f64; SMALL_LANES]; SMALL_SUMS]],
    ll: &mut [f64; SMALL_LANES],
    (row_max, row_total, row_weight): (&mut [f64], &mut [f64], &mut [f64]),
    out: &mut BlockTotals,
) {
    const W: usize = SMALL_LANES;
    let (k, dp, lw) = (consts.len(), padded(D), L::WIDTH);
    assert_eq!(H * lw, W, "a tile is H vectors of lanes");
    let tiled = n.div_ceil(W) * W;
    let (row_max, row_total, row_weight) = (
        &mut row_max[..tiled],
        &mut row_total[..tiled],
        &mut row_weight[..tiled],
    );
    for i0 in (0..n).step_by(W) {
        let width = (n - i0).min(W);
        // The tile's rows, feature by feature; lanes past the end of the block repeat its last
        // row (their responsibilities are 0).
        let mut xs = [[0.0f64; W]; D];
        for (c, xc) in xs.iter_mut().enumerate() {
            let col = &xt[c * ld..c * ld + n];
            if width == W {
                xc.copy_from_slice(&col[i0..i0 + W]);
            } else {
                for (u, v) in xc.iter_mut().enumerate() {
                    *v = col[i0 + u.min(width - 1)];
                }
            }
        }
        // (No `array::from_fn` here: its closures would be compiled apart from the vector
        // code around them.)
        let mut x = [[L::splat(0.0); H]; D];
        for (xc, v) in x.iter_mut().zip(&xs) {
            for (h, xh) in xc.iter_mut().enumerate() {
                *xh = half::<L>(v, h);
            }
        }
        // (Nor closures for the vector code below: a closure is compiled apart, without the
        // instruction set of the kernel that inlines this function, and every vector operation
        // in it would then be a call.)
        let mut mx = [L::splat(f64::NEG_INFINITY); H];
        for j in 0..k {
            let z = centred_on::<L, D, H>(&x, &means[j * D..(j + 1) * D]);
            let a = &scale[j * dp * D..j * dp * D + D * D];
            let mut q = [L::splat(0.0); H];
            for r in 0..D {
                let top = if lower { r + 1 } else { D };
                let mut y = [L::splat(0.0); H];
                for (c, zc) in z.iter().enumerate().take(top) {
                    let arc = L::splat(a[r * D + c]);
                    for h in 0..H {
                        y[h] = y[h].add(arc.mul(zc[h]));
                    }
                }
                for h in 0..H {
                    q[h] = q[h].add(y[h].mul(y[h]));
                }
            }
            let (c0, one_half) = (L::splat(consts[j]), L::splat(0.5));
            for h in 0..H {
                // Rows so far out that the quadratic form overflowed have density 0.
                let v = c0.sub(one_half.mul(q[h])).nan_to_neg_inf();
                v.store(&mut lp[j * W + lw * h..]);
                mx[h] = v.max_of(mx[h]);
            }
        }
        let mut total = [L::splat(0.0); H];
        for row in lp.chunks_exact_mut(W) {
            for h in 0..H {
                let e = half::<L>(row, h).sub(mx[h]).exp();
                e.store(&mut row[lw * h..]);
                total[h] = total[h].add(e);
            }
        }
        let rows = (&mut *row_max, &mut *row_total, &mut *row_weight);
        let (factor, _) = tile_factors::<L, H>((&mx, &total), (w, 1.0), (i0, width), rows, out);
        let mut f = [L::splat(0.0); H];
        for (h, fh) in f.iter_mut().enumerate() {
            *fh = half::<L>(&factor, h);
        }
        for (j, sums) in acc.iter_mut().enumerate() {
            let z = centred_on::<L, D, H>(&x, &means[j * D..(j + 1) * D]);
            for h in 0..H {
                // Rows of factor 0 may hold NaN (all components at -inf): their
                // responsibilities are 0.
                let r = half::<L>(&lp[j * W..], h).times_unless_zero(f[h]);
                add_half(&mut sums[0], h, r);
                for c in 0..D {
                    add_half(&mut sums[1 + c], h, r.mul(z[c][h]));
                }
                let mut t = 1 + D;
                for p in 0..D {
                    let rz = r.mul(z[p][h]);
                    for zq in &z[p..] {
                        add_half(&mut sums[t], h, rz.mul(zq[h]));
                        t += 1;
                    }
                }
            }
        }
    }
    // The log-likelihoods once the tiles are done, each lane's sum over the tiles in order: the
    // long chain of operations of `ln` is then off the path of every tile.
    let mut sums = [L::splat(0.0); H];
    for (h, v) in sums.iter_mut().enumerate() {
        *v = half::<L>(&ll[..], h);
    }
    weighted_log_likelihoods(&mut sums, (row_max, row_total, row_weight), n);
    for (h, v) in sums.iter().enumerate() {
        v.store(&mut ll[lw * h..]);
    }
}

/// The small-dimension E-step of a block of `f32` rows (path `Small` with the `f32` kernels of
/// full covariance, [`SingleFull`]), in `D` features: the block `x` transposed as `f32`
/// (`padded8(D) x ld` rows, `ld` the multiple of eight at or above `n`, zeros past `n`, every
/// `|x|` within [`SingleFull::limit`]), and sample weights `w` that pass [`weights_fit`].
///
/// First pass, a tile of eight rows at a time through the log-densities and the
/// responsibilities: each component's rows centred on its means in two parts and its quadratic
/// form (the operations of [`single_full::forms`](super::single_full::forms), over the
/// triangle of `L^-1` alone) in `f32` lanes `L`; `lp = consts_j - q / 2`, the row maxima, the
/// totals `sum_j exp(lp - max)` and the factors `w / total` in `H` vectors of `f64` lanes `F`;
/// `exp` in `f32` ([`Lanes32::exp_nonpositive`] of the difference narrowed); the
/// responsibilities in `f32` (`r32`, `k x ld`), scaled by the power of two `down` that brings
/// the block's largest weight below 1 (see [`tile_scale`]; responsibilities below `2^-126`,
/// that is below about `1e-38` of that weight, keep fewer bits, and none below `2^-149`). Second
/// pass, per component over the tiles: the weight, the sums and the upper triangle of the
/// products of its centred rows in `f32` lanes, row `i` in lane `i % 8` (at most
/// `BLOCK_ROWS / 8` rows a lane, each responsibility below 1), the lanes widened, combined as
/// [`lanes`], scaled back and added into `weight`, `sum` (`k x D`) and `products`
/// (`k x D x D`). The log-likelihood last (see below). `lpt` (`k x 8`) is work space, and so are
/// the row buffers (`ld` each; a row that does not count holds the maximum 0 and the total 1).
///
/// Every lane does the same operations in the same order whatever `L` and `F` (and the kernel
/// path, the number of threads), so the results are the same bits.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn small_tiles32<L: Lanes32, F: Lanes, const D: usize, const H: usize>(
    p: &SingleFull,
    consts: &[f64],
    (x, ld, n): (&[f32], usize, usize),
    w: Option<&[f64]>,
    (lpt, r32): (&mut [f64], &mut [f32]),
    (row_max, row_total, row_weight): (&mut [f64], &mut [f64], &mut [f64]),
    (weight, sum, products): (&mut [f64], &mut [f64], &mut [f64]),
    out: &mut BlockTotals,
) {
    const W: usize = WIDTH;
    let (k, fw) = (consts.len(), F::WIDTH);
    assert_eq!(H * fw, W, "eight rows are H vectors of f64 lanes");
    debug_assert_eq!(ld, n.div_ceil(W) * W);
    let (row_max, row_total, row_weight) = (
        &mut row_max[..ld],
        &mut row_total[..ld],
        &mut row_weight[..ld],
    );
    let (lpt, r32) = (&mut lpt[..k * W], &mut r32[..k * ld]);
    let (down, up) = w.map_or((1.0, 1.0), |w| tile_scale(&w[..n]));
    for i0 in (0..ld).step_by(W) {
        let mut mx = [F::splat(f64::NEG_INFINITY); H];
        for (j, lpj) in lpt.chunks_exact_mut(W).enumerate() {
            let z = centred::<L, D>(p, j, x, ld, i0);
            let q = form::<L, D>(p.component(j).2, &z);
            let mut qd = [0.0f64; W];
            q.widen_into(&mut qd);
            let (c0, one_half) = (F::splat(consts[j]), F::splat(0.5));
            for (h, m) in mx.iter_mut().enumerate() {
                let v = c0.sub(one_half.mul(half::<F>(&qd, h)));
                v.store(&mut lpj[fw * h..]);
                *m = v.max_of(*m);
            }
        }
        let mut tot = [F::splat(0.0); H];
        for (j, lpj) in lpt.chunks_exact(W).enumerate() {
            let mut diff = [0.0f64; W];
            for (h, m) in mx.iter().enumerate() {
                half::<F>(lpj, h).sub(*m).store(&mut diff[fw * h..]);
            }
            let e = L::narrow(&diff).exp_nonpositive();
            e.store(&mut r32[j * ld + i0..]);
            e.widen_into(&mut diff);
            for (h, t) in tot.iter_mut().enumerate() {
                *t = t.add(half::<F>(&diff, h));
            }
        }
        let width = (n - i0).min(W);
        let rows = (&mut *row_max, &mut *row_total, &mut *row_weight);
        let (factor, nan) = tile_factors::<F, H>((&mx, &tot), (w, down), (i0, width), rows, out);
        let f = L::narrow(&factor);
        for rj in r32.chunks_exact_mut(ld) {
            let r = &mut rj[i0..i0 + W];
            L::load(r).mul(f).store(r);
            if nan {
                // Rows of factor 0 may hold NaN (all components at -inf): their
                // responsibilities are 0.
                for (v, &fu) in r.iter_mut().zip(&factor) {
                    if fu == 0.0 {
                        *v = 0.0;
                    }
                }
            }
        }
    }
    // The log-likelihood once the tiles are done. Without sample weights, per lane
    // `sum_i max_i + ln prod_i total_i` (a row that does not count has 0 and 1 there): one `ln`
    // per lane rather than per row. The totals lie in `[1, k]` (the largest term is
    // `exp(0) = 1`), so a lane's product of `BLOCK_ROWS / 8` of them stays below `2^768` for
    // `k` below `2^24` (with more components, row by row as with weights).
    let mut ll = [F::splat(0.0); H];
    if w.is_none() && k < 1 << 24 {
        let mut prod = [F::splat(1.0); H];
        for i0 in (0..ld).step_by(W) {
            for h in 0..H {
                let at = i0 + fw * h;
                ll[h] = ll[h].add(half(&row_max[at..], 0));
                prod[h] = prod[h].mul(half(&row_total[at..], 0));
            }
        }
        for (v, p) in ll.iter_mut().zip(&prod) {
            *v = v.add(p.ln());
        }
    } else {
        weighted_log_likelihoods(&mut ll, (row_max, row_total, row_weight), ld);
    }
    let mut lls = [0.0f64; W];
    for (h, v) in ll.iter().enumerate() {
        v.store(&mut lls[fw * h..]);
    }
    out.log_likelihood = lanes(lls);
    for (j, rj) in r32.chunks_exact(ld).enumerate() {
        let mut acc = [L::splat(0.0); SMALL_SUMS];
        for i0 in (0..ld).step_by(W) {
            let r = L::load(&rj[i0..]);
            let z = centred::<L, D>(p, j, x, ld, i0);
            acc[0] = acc[0].add(r);
            let mut t = 1 + D;
            for a in 0..D {
                let rz = r.mul(z[a]);
                acc[1 + a] = acc[1 + a].add(rz);
                for zb in &z[a..] {
                    acc[t] = rz.mul_add(*zb, acc[t]);
                    t += 1;
                }
            }
        }
        weight[j] += widened_total(acc[0], up);
        let mut t = 1 + D;
        for a in 0..D {
            sum[j * D + a] += widened_total(acc[1 + a], up);
            for b in a..D {
                products[j * D * D + a * D + b] += widened_total(acc[t], up);
                t += 1;
            }
        }
    }
}

/// The factors `w down / total` of the rows `i0..i0 + 8` of a block (`mx`, `total`: their
/// maxima and totals of the log-densities in `H` vectors; `w`: the block's sample weights, of
/// which `width` rows are in the tile), and whether a row's maximum or total is not finite; the
/// rows' maxima, totals and weights written to the row buffers. A row that does not count (a
/// weight of 0, or a log-likelihood that is not finite) has the factor 0, the maximum 0, the
/// total 1 (a term `0 + ln 1` of the log-likelihood) and the weight 0; those of a non-zero
/// weight are counted in `out`. In vectors, the rows one by one only when one of them does not
/// count.
#[inline(always)]
fn tile_factors<F: Lanes, const H: usize>(
    (mx, total): (&[F; H], &[F; H]),
    (w, down): (Option<&[f64]>, f64),
    (i0, width): (usize, usize),
    (row_max, row_total, row_weight): (&mut [f64], &mut [f64], &mut [f64]),
    out: &mut BlockTotals,
) -> ([f64; SMALL_LANES], bool) {
    const W: usize = SMALL_LANES;
    let fw = F::WIDTH;
    debug_assert_eq!(H * fw, W);
    let mut wv = [0.0f64; W];
    match w {
        Some(w) => wv[..width].copy_from_slice(&w[i0..i0 + width]),
        None => wv[..width].fill(1.0),
    }
    // 0 where the maximum and the total are finite, NaN elsewhere.
    let (mut factor, mut check) = ([0.0f64; W], [0.0f64; W]);
    let (row_max, row_total, row_weight) = (
        &mut row_max[i0..i0 + W],
        &mut row_total[i0..i0 + W],
        &mut row_weight[i0..i0 + W],
    );
    for h in 0..H {
        let at = fw * h;
        let wh = half::<F>(&wv, h).mul(F::splat(down));
        F::splat(1.0).div(total[h]).mul(wh).store(&mut factor[at..]);
        mx[h].store(&mut row_max[at..]);
        total[h].store(&mut row_total[at..]);
        mx[h]
            .sub(mx[h])
            .add(total[h].sub(total[h]))
            .store(&mut check[at..]);
    }
    if check.iter().zip(&wv).all(|(&c, &v)| c == 0.0 && v != 0.0) {
        row_weight.copy_from_slice(&wv);
        return (factor, false);
    }
    let mut nan = false;
    for u in 0..W {
        // A row's log-likelihood `max + ln(total)` is finite exactly when the maximum is (the
        // total, whose largest term is 1, then lies in [1, k]).
        let (m, finite) = (
            row_max[u],
            row_max[u].is_finite() && row_total[u].is_finite(),
        );
        nan |= !finite;
        if wv[u] != 0.0 && finite {
            row_weight[u] = wv[u];
            continue;
        }
        (factor[u], row_max[u], row_total[u], row_weight[u]) = (0.0, 0.0, 1.0, 0.0);
        // Rows no component can produce, or of a NaN or infinite log-likelihood.
        if u < width && wv[u] != 0.0 {
            if m == f64::NEG_INFINITY {
                out.unexplained += wv[u];
            } else if out.invalid.is_none() {
                out.invalid = Some(i0 + u);
            }
        }
    }
    (factor, nan)
}

/// Adds to each lane of `ll` the terms `w_i (max_i + ln total_i)` of its rows (from the row
/// buffers: rows `i0 + F::WIDTH h ..` of each tile of eight in vector `h`), over the tiles of
/// the rows `0..rows` in order.
#[inline(always)]
fn weighted_log_likelihoods<F: Lanes, const H: usize>(
    ll: &mut [F; H],
    (row_max, row_total, row_weight): (&[f64], &[f64], &[f64]),
    rows: usize,
) {
    for i0 in (0..rows).step_by(SMALL_LANES) {
        for (h, v) in ll.iter_mut().enumerate() {
            let at = i0 + F::WIDTH * h;
            let lse = F::load(&row_max[at..]).add(F::load(&row_total[at..]).ln());
            *v = v.add(lse.times_unless_zero(F::load(&row_weight[at..])));
        }
    }
}

/// Lanes `h * F::WIDTH ..` of `v`.
#[inline(always)]
fn half<F: Lanes>(v: &[f64], h: usize) -> F {
    F::load(&v[F::WIDTH * h..])
}

/// Adds `v` to the `h`-th vector of lanes of `s`.
#[inline(always)]
fn add_half<F: Lanes>(s: &mut [f64], h: usize, v: F) {
    half::<F>(s, h).add(v).store(&mut s[F::WIDTH * h..]);
}

/// The tile's rows `x` (`D` features of `H` vectors of lanes) centred on `means`.
#[inline(always)]
fn centred_on<L: Lanes, const D: usize, const H: usize>(
    x: &[[L; H]; D],
    means: &[f64],
) -> [[L; H]; D] {
    let mut z = *x;
    for (zc, &mu) in z.iter_mut().zip(means) {
        let m = L::splat(mu);
        for zh in zc.iter_mut() {
            *zh = zh.sub(m);
        }
    }
    z
}

/// The rows `i0..i0 + 8` of the transposed block `x` (rows `ld` apart) centred on component
/// `j`'s means: `(x - hi) - lo`.
#[inline(always)]
fn centred<L: Lanes32, const D: usize>(
    p: &SingleFull,
    j: usize,
    x: &[f32],
    ld: usize,
    i0: usize,
) -> [L; D] {
    let (hi, lo, _) = p.component(j);
    let mut z = [L::splat(0.0); D];
    for (c, zc) in z.iter_mut().enumerate() {
        *zc = L::load(&x[c * ld + i0..])
            .sub(L::splat(hi[c]))
            .sub(L::splat(lo[c]));
    }
    z
}

/// `sum_r y_r^2` with `y_r = sum_{c <= r} A_rc z_c` (`A_rc` at `pan[4 c + r]`), each a chain of
/// fused multiply-adds in order.
#[inline(always)]
fn form<L: Lanes32, const D: usize>(pan: &[f32], z: &[L; D]) -> L {
    let mut q = L::splat(0.0);
    for r in 0..D {
        let mut y = L::splat(0.0);
        for (c, zc) in z.iter().enumerate().take(r + 1) {
            y = L::splat(pan[4 * c + r]).mul_add(*zc, y);
        }
        q = y.mul_add(y, q);
    }
    q
}

/// The largest ratio of two (non-zero) sample weights in a block that [`small_tiles32`] takes.
const WEIGHT_RATIO: f64 = 16_777_216.0;

/// Whether the sample weights `w` of a block are near enough to each other for
/// [`small_tiles32`], which scales them all by one power of two: the largest non-zero weight at
/// most `2^24` times the smallest. Others take the `f32` kernels of
/// [`single_full`](super::single_full), which scale each component's responsibilities on their
/// own.
pub(crate) fn weights_fit(w: Option<&[f64]>) -> bool {
    w.is_none_or(|w| {
        let (lo, hi) = w
            .iter()
            .filter(|&&v| v != 0.0)
            .fold((f64::INFINITY, 0.0f64), |(lo, hi), &v| {
                (lo.min(v.abs()), hi.max(v.abs()))
            });
        hi <= lo * WEIGHT_RATIO || hi == 0.0
    })
}

/// The `f32` work space and outputs of [`small_tiles32`]: `lpt` and `r32`; the row buffers;
/// the weights, sums and products it adds to.
pub(crate) type Small32<'a> = (
    (&'a mut [f64], &'a mut [f32]),
    (&'a mut [f64], &'a mut [f64], &'a mut [f64]),
    (&'a mut [f64], &'a mut [f64], &'a mut [f64]),
);

/// [`small_tiles32`] in `p`'s number of features (at most [`SMALL_MAX_FEATURES`]); returns the
/// block's totals.
#[inline(always)]
pub(crate) fn summarize32<L: Lanes32, F: Lanes, const H: usize>(
    p: &SingleFull,
    consts: &[f64],
    x: (&[f32], usize, usize),
    w: Option<&[f64]>,
    (work, rows, sums): Small32<'_>,
) -> BlockTotals {
    let mut out = BlockTotals {
        log_likelihood: 0.0,
        unexplained: 0.0,
        invalid: None,
    };
    if x.2 > 0 {
        let o = &mut out;
        match p.d() {
            1 => small_tiles32::<L, F, 1, H>(p, consts, x, w, work, rows, sums, o),
            2 => small_tiles32::<L, F, 2, H>(p, consts, x, w, work, rows, sums, o),
            3 => small_tiles32::<L, F, 3, H>(p, consts, x, w, work, rows, sums, o),
            _ => small_tiles32::<L, F, 4, H>(p, consts, x, w, work, rows, sums, o),
        }
    }
    out
}

/// A vector of `f32` lanes widened, its lanes combined as [`lanes`], times `up`.
#[inline(always)]
fn widened_total<L: Lanes32>(v: L, up: f64) -> f64 {
    let mut s = [0.0f64; SMALL_LANES];
    v.widen_into(&mut s);
    lanes(s) * up
}
