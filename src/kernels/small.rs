//! The small-dimension E-step of full covariance: tiles of [`SMALL_LANES`] rows kept in
//! registers through the log-densities, the log-sum-exp, the responsibilities and the moments
//! (see [`Plan`](super::plan::Plan), path `Small`).

use super::lanes::Lanes;
use super::plan::BlockTotals;
use super::portable::padded;

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
/// log-likelihoods summed after the tiles; room for `n` rounded up to a tile).
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
    let half = |v: &[f64], h: usize| L::load(&v[lw * h..lw * (h + 1)]);
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
                *xh = half(v, h);
            }
        }
        let centred = |j: usize| -> [[L; H]; D] {
            let mut z = x;
            for (zc, &mu) in z.iter_mut().zip(&means[j * D..(j + 1) * D]) {
                let m = L::splat(mu);
                for zh in zc.iter_mut() {
                    *zh = zh.sub(m);
                }
            }
            z
        };
        let mut mx = [L::splat(f64::NEG_INFINITY); H];
        for j in 0..k {
            let z = centred(j);
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
                let e = half(row, h).sub(mx[h]).exp();
                e.store(&mut row[lw * h..]);
                total[h] = total[h].add(e);
            }
        }
        let (mut inv, mut mxs, mut tot) = ([0.0f64; W], [0.0f64; W], [0.0f64; W]);
        for h in 0..H {
            L::splat(1.0).div(total[h]).store(&mut inv[lw * h..]);
            mx[h].store(&mut mxs[lw * h..]);
            total[h].store(&mut tot[lw * h..]);
        }
        row_max[i0..i0 + W].copy_from_slice(&mxs);
        row_total[i0..i0 + W].copy_from_slice(&tot);
        let mut wv = [0.0f64; W];
        match w {
            Some(w) => wv[..width].copy_from_slice(&w[i0..i0 + width]),
            None => wv[..width].fill(1.0),
        }
        let mut factor = [0.0f64; W];
        let mut bad = false;
        // A row's log-likelihood `max + ln(total)` is finite exactly when the maximum is (the
        // total, whose largest term is 1, then lies in [1, k]).
        let finite = |u: usize| mxs[u].is_finite() && tot[u].is_finite();
        for u in 0..W {
            let ok = wv[u] != 0.0 && finite(u);
            factor[u] = if ok { inv[u] * wv[u] } else { 0.0 };
            row_weight[i0 + u] = if ok { wv[u] } else { 0.0 };
            bad |= !ok && wv[u] != 0.0;
        }
        if bad {
            // Rows no component can produce, or of a NaN or infinite log-likelihood.
            for u in 0..width {
                if wv[u] != 0.0 && !finite(u) {
                    if mxs[u] == f64::NEG_INFINITY {
                        out.unexplained += wv[u];
                    } else if out.invalid.is_none() {
                        out.invalid = Some(i0 + u);
                    }
                }
            }
        }
        let mut f = [L::splat(0.0); H];
        for (h, fh) in f.iter_mut().enumerate() {
            *fh = half(&factor, h);
        }
        for (j, sums) in acc.iter_mut().enumerate() {
            let z = centred(j);
            for h in 0..H {
                // Rows of factor 0 may hold NaN (all components at -inf): their
                // responsibilities are 0.
                let r = half(&lp[j * W..], h).times_unless_zero(f[h]);
                let add = |s: &mut [f64; W], v: L| half(s, h).add(v).store(&mut s[lw * h..]);
                add(&mut sums[0], r);
                for c in 0..D {
                    add(&mut sums[1 + c], r.mul(z[c][h]));
                }
                let mut t = 1 + D;
                for p in 0..D {
                    let rz = r.mul(z[p][h]);
                    for zq in &z[p..] {
                        add(&mut sums[t], rz.mul(zq[h]));
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
        *v = half(&ll[..], h);
    }
    for i0 in (0..n).step_by(W) {
        for (h, v) in sums.iter_mut().enumerate() {
            let at = i0 + lw * h;
            let lse = half(&row_max[at..], 0).add(half(&row_total[at..], 0).ln());
            *v = v.add(lse.times_unless_zero(half(&row_weight[at..], 0)));
        }
    }
    for (h, v) in sums.iter().enumerate() {
        v.store(&mut ll[lw * h..]);
    }
}
