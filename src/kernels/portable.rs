//! The portable kernels: the layout of the factors for the quadratic forms, the quadratic forms,
//! centring and products of full covariance, the diagonal forms and moments (transposed and
//! row-major), the transposition of a block, and the lane sums. The vector kernels of
//! [`x86`](super::x86) do the same arithmetic in the same order; several are these generic
//! functions instantiated in vector [`Lanes`].

use super::lanes::{Lanes, Quad};

/// `d` rounded up to a multiple of 4.
pub(crate) fn padded(d: usize) -> usize {
    d.div_ceil(4) * 4
}

/// The columns of the four rows `r..r + 4` of `A` (`d x d`) that the quadratic forms read:
/// up to the diagonal when `A` is lower triangular.
#[inline(always)]
pub(crate) fn panel_width(r: usize, d: usize, lower: bool) -> usize {
    if lower {
        (r + 4).min(d)
    } else {
        d
    }
}

/// The number of values of [`panels`] per component.
pub(crate) fn panels_len(d: usize, lower: bool) -> usize {
    (0..padded(d))
        .step_by(4)
        .map(|r| 4 * panel_width(r, d, lower))
        .sum()
}

/// The factors `A` of `scale` (each `padded(d) x d`, zero rows at the end) as the quadratic
/// forms read them: for each four rows `r..r + 4`, the columns `c` of [`panel_width`], and in
/// each the four values `A[r + q][c]`, so that the kernels read one panel in order.
pub(crate) fn panels(scale: &[f64], d: usize, lower: bool) -> Vec<f64> {
    let dp = padded(d);
    let mut out = Vec::with_capacity(scale.len() / (dp * d).max(1) * panels_len(d, lower));
    for a in scale.chunks_exact(dp * d) {
        for r in (0..dp).step_by(4) {
            for c in 0..panel_width(r, d, lower) {
                out.extend((0..4).map(|q| a[(r + q) * d + c]));
            }
        }
    }
    out
}

/// `acc[i] = |A z_i - b|^2` for the `n` columns `z_i` of `z` (`d` features, `ld` apart), with
/// `A` given as its [`panels`] `pan` and `b` as `padded(d)` values (zeros past `d`); `lower`
/// when `A` is lower triangular. Eight rows at a time (then four, then one), in lanes `L`; see
/// [`quad_tile`]; `ys` is work space of at least `8 padded(d)` values.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn quad_forms_in<L: Lanes>(
    (pan, b): (&[f64], &[f64]),
    d: usize,
    lower: bool,
    z: &[f64],
    n: usize,
    ld: usize,
    acc: &mut [f64],
    ys: &mut [f64],
) {
    let mut i0 = 0;
    while i0 + 8 <= n {
        quad_tile::<L, 2>((pan, b), d, lower, z, ld, i0, acc, ys);
        i0 += 8;
    }
    while i0 + 4 <= n {
        quad_tile::<L, 1>((pan, b), d, lower, z, ld, i0, acc, ys);
        i0 += 4;
    }
    for i in i0..n {
        let (mut sq, mut off) = (0.0f64, 0);
        for r in (0..padded(d)).step_by(4) {
            let width = panel_width(r, d, lower);
            let pr = &pan[off..off + 4 * width];
            off += 4 * width;
            for q in 0..4 {
                let mut y = 0.0f64;
                for c in 0..width {
                    y = pr[4 * c + q].mul_add(z[c * ld + i], y);
                }
                let y = y - b[r + q];
                sq = y.mul_add(y, sq);
            }
        }
        acc[i] = sq;
    }
}

/// [`quad_forms_in`] in portable lanes.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
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
    quad_forms_in::<Quad>(a, d, lower, z, n, ld, acc, ys)
}

/// Rows `i0..i0 + 4 V` of [`quad_forms_in`]: four outputs of `A z_i` at a time, for `4 V` rows
/// in registers (with `V = 2`, eight sums, two vectors of the rows and a coefficient; with
/// twelve sums, the compiler keeps one of them in memory, which costs more than the loads it
/// saves). Every value is a chain of fused multiply-adds in the order of the features, then of
/// the outputs, the same as in the one-row loop.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn quad_tile<L: Lanes, const V: usize>(
    (pan, b): (&[f64], &[f64]),
    d: usize,
    lower: bool,
    z: &[f64],
    ld: usize,
    i0: usize,
    acc: &mut [f64],
    ys: &mut [f64],
) {
    assert_eq!(L::WIDTH, 4, "four lanes");
    let dp = padded(d);
    let ys = &mut ys[..dp * 4 * V];
    let mut off = 0;
    for r in (0..dp).step_by(4) {
        let width = panel_width(r, d, lower);
        let pr = &pan[off..off + 4 * width];
        off += 4 * width;
        assert!(width == 0 || (width - 1) * ld + i0 + 4 * V <= z.len());
        let mut y = [[L::splat(0.0); V]; 4];
        for c in 0..width {
            // SAFETY: `c * ld + i0 + 4 V <= z.len()` (asserted above).
            let zc = unsafe { z.get_unchecked(c * ld + i0..c * ld + i0 + 4 * V) };
            let mut zv = [L::splat(0.0); V];
            for (h, v) in zv.iter_mut().enumerate() {
                *v = L::load(&zc[4 * h..]);
            }
            // SAFETY: `4 c + 4 <= 4 width = pr.len()`.
            let ac = unsafe { pr.get_unchecked(4 * c..4 * c + 4) };
            for (yq, &a) in y.iter_mut().zip(ac) {
                let aq = L::splat(a);
                for (yv, &zh) in yq.iter_mut().zip(&zv) {
                    *yv = aq.mul_add(zh, *yv);
                }
            }
        }
        for (q, yq) in y.iter().enumerate() {
            for (h, yv) in yq.iter().enumerate() {
                yv.store(&mut ys[(r + q) * 4 * V + 4 * h..]);
            }
        }
    }
    // The squares once every output is done: `sq` then needs no registers in the loops above.
    let mut sq = [L::splat(0.0); V];
    for (yr, &br) in ys.chunks_exact(4 * V).zip(&b[..dp]) {
        let br = L::splat(br);
        for (h, s) in sq.iter_mut().enumerate() {
            let yv = L::load(&yr[4 * h..]).sub(br);
            *s = yv.mul_add(yv, *s);
        }
    }
    for (h, v) in sq.iter().enumerate() {
        v.store(&mut acc[i0 + 4 * h..]);
    }
}

/// `z = x - mu` and `wz = r z` for one feature of the block; returns `sum wz`, in sixteen
/// lanes (four of `L`, over the rows in sixteens) combined in a fixed order.
#[inline(always)]
pub(crate) fn centre_weighted<L: Lanes>(
    x: &[f64],
    mu: f64,
    r: &[f64],
    z: &mut [f64],
    wz: &mut [f64],
) -> f64 {
    assert_eq!(L::WIDTH, 4, "four lanes");
    let n = x.len();
    let (n16, m) = (n / 16 * 16, L::splat(mu));
    let (r, z, wz) = (&r[..n], &mut z[..n], &mut wz[..n]);
    let mut acc = [L::splat(0.0); 4];
    for i in (0..n16).step_by(16) {
        for (h, a) in acc.iter_mut().enumerate() {
            let t = i + 4 * h;
            let zv = L::load(&x[t..t + 4]).sub(m);
            let wv = L::load(&r[t..t + 4]).mul(zv);
            zv.store(&mut z[t..t + 4]);
            wv.store(&mut wz[t..t + 4]);
            *a = a.add(wv);
        }
    }
    let mut l = [0.0; 16];
    for (h, a) in acc.iter().enumerate() {
        a.store(&mut l[4 * h..]);
    }
    for i in n16..n {
        let zv = x[i] - mu;
        let wv = r[i] * zv;
        z[i] = zv;
        wz[i] = wv;
        l[i % 16] += wv;
    }
    lanes16(l)
}

/// The products `sum_i wz_ai z_bi` of the three rows of `wz` that start at `ra` with the four
/// rows of `z` that start at `rb` (rows of `n` values), in lanes `L`: for every four rows,
/// twelve fused
/// multiply-adds on seven loads (the sums fill twelve registers). Each lane sums the rows of its
/// place in the fours, in order; the rows past the last four go to the lanes of their places,
/// and the lanes are combined in a fixed order.
#[inline(always)]
fn product_tile<L: Lanes>(
    wz: &[f64],
    z: &[f64],
    n: usize,
    ra: [usize; 3],
    rb: [usize; 4],
) -> [[f64; 4]; 3] {
    assert_eq!(L::WIDTH, 4, "four lanes");
    let mut acc = [[L::splat(0.0); 4]; 3];
    let n4 = n / 4 * 4;
    assert!(ra.iter().all(|&r| r + n <= wz.len()) && rb.iter().all(|&r| r + n <= z.len()));
    for i in (0..n4).step_by(4) {
        let mut va = [L::splat(0.0); 3];
        for (v, &r) in va.iter_mut().zip(&ra) {
            // SAFETY: `r + i + 4 <= r + n <= wz.len()` (asserted above).
            *v = L::load(unsafe { wz.get_unchecked(r + i..r + i + 4) });
        }
        for (q, &r) in rb.iter().enumerate() {
            // SAFETY: `r + i + 4 <= r + n <= z.len()` (asserted above).
            let vb = L::load(unsafe { z.get_unchecked(r + i..r + i + 4) });
            for (ap, &v) in acc.iter_mut().zip(&va) {
                ap[q] = v.mul_add(vb, ap[q]);
            }
        }
    }
    let mut out = [[0.0; 4]; 3];
    for (p, (ap, op)) in acc.iter().zip(out.iter_mut()).enumerate() {
        for (q, (v, o)) in ap.iter().zip(op.iter_mut()).enumerate() {
            let mut l = [0.0; 4];
            v.store(&mut l);
            for i in n4..n {
                l[i % 4] = wz[ra[p] + i].mul_add(z[rb[q] + i], l[i % 4]);
            }
            *o = (l[0] + l[1]) + (l[2] + l[3]);
        }
    }
    out
}

/// Adds the products of a tile (`t[da][db]`, of features `a0 + da` by `b0 + db`) that lie in
/// the upper triangle of `p` (`d x d`, row-major); those past `d` or below the diagonal are not
/// kept.
#[inline(always)]
pub(crate) fn add_upper<const A: usize, const B: usize>(
    t: &[[f64; B]; A],
    (a0, b0): (usize, usize),
    d: usize,
    p: &mut [f64],
) {
    for (da, row) in t.iter().enumerate() {
        let a = a0 + da;
        for (db, &v) in row.iter().enumerate() {
            let b = b0 + db;
            if a < d && b < d && b >= a {
                p[a * d + b] += v;
            }
        }
    }
}

/// The upper triangle of `sum_i wz_i z_i^T` (`d x d`, row-major) added to `p`, for the `d`
/// rows of `n` values of `wz` and `z`, `ld` apart. Tiles that reach past the last row read it
/// again there, for products that are not kept.
#[inline(always)]
pub(crate) fn products_in<L: Lanes>(
    wz: &[f64],
    z: &[f64],
    d: usize,
    n: usize,
    ld: usize,
    p: &mut [f64],
) {
    for a0 in (0..d).step_by(3) {
        for b0 in (a0 / 4 * 4..d).step_by(4) {
            let row = |r: usize| r.min(d - 1) * ld;
            let ra = [row(a0), row(a0 + 1), row(a0 + 2)];
            let rb = [row(b0), row(b0 + 1), row(b0 + 2), row(b0 + 3)];
            add_upper(&product_tile::<L>(wz, z, n, ra, rb), (a0, b0), d, p);
        }
    }
}

/// `acc[i] = sum_l h_l (x_li - mu_l)^2` for the `n` columns of `x` (`d` features, `ld` apart),
/// eight rows at a time in registers.
#[inline(always)]
pub(crate) fn diagonal_forms(
    mu: &[f64],
    h: &[f64],
    x: &[f64],
    n: usize,
    ld: usize,
    acc: &mut [f64],
) {
    let d = mu.len();
    let tiles = n / 8;
    for t in 0..tiles {
        let i0 = t * 8;
        let mut sq = [0.0f64; 8];
        for l in 0..d {
            let xl: &[f64; 8] = x[l * ld + i0..l * ld + i0 + 8].try_into().expect("8");
            let (m, hl) = (mu[l], h[l]);
            for u in 0..8 {
                let z = xl[u] - m;
                sq[u] += z * z * hl;
            }
        }
        acc[i0..i0 + 8].copy_from_slice(&sq);
    }
    diagonal_forms_tail(mu, h, x, n, ld, acc);
}

/// The rows past the last whole tile of [`diagonal_forms`].
#[inline(always)]
pub(crate) fn diagonal_forms_tail(
    mu: &[f64],
    h: &[f64],
    x: &[f64],
    n: usize,
    ld: usize,
    acc: &mut [f64],
) {
    let d = mu.len();
    for i in n / 8 * 8..n {
        let mut sq = 0.0;
        for l in 0..d {
            let z = x[l * ld + i] - mu[l];
            sq += z * z * h[l];
        }
        acc[i] = sq;
    }
}

/// Row-major diagonal log-densities: `lp[j * n + i] = consts_j - sum_l h_jl (x_il - mu_jl)^2`
/// for the `n` rows of `x` (`n x d`, features contiguous) and the `k` components (`mu`, `h`:
/// `k x d`); feature `l` is summed in lane `l % 4`, the lanes combined as `(0 + 1) + (2 + 3)`.
#[inline(always)]
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
    for (i, row) in x.chunks_exact(d).take(n).enumerate() {
        for (j, &c0) in consts.iter().enumerate() {
            let (m, hj) = (&mu[j * d..(j + 1) * d], &h[j * d..(j + 1) * d]);
            let mut s = [0.0f64; 4];
            for (l, ((&xv, &mv), &hv)) in row.iter().zip(m).zip(hj).enumerate() {
                let z = xv - mv;
                s[l % 4] += z * z * hv;
            }
            let v = c0 - ((s[0] + s[1]) + (s[2] + s[3]));
            lp[j * n + i] = if v.is_nan() { f64::NEG_INFINITY } else { v };
        }
    }
}

/// Row-major diagonal moments of one component: adds `sum_i r_i (x_il - mu_l)` to `s1[l]` and
/// `sum_i r_i (x_il - mu_l)^2` to `s2[l]`, each summed over the rows in order from zero.
#[inline(always)]
pub(crate) fn moments_rows(r: &[f64], x: &[f64], mu: &[f64], s1: &mut [f64], s2: &mut [f64]) {
    let d = mu.len();
    for (l, &m) in mu.iter().enumerate() {
        let (mut t1, mut t2) = (0.0, 0.0);
        for (&ri, row) in r.iter().zip(x.chunks_exact(d)) {
            let z = row[l] - m;
            let wz = ri * z;
            t1 += wz;
            t2 += wz * z;
        }
        s1[l] += t1;
        s2[l] += t2;
    }
}

/// Copies the `n x d` rows `xs` into `xt` as `d x n` (one feature per row, `ld` apart); returns
/// whether any value is NaN.
pub(crate) fn transpose(xs: &[f64], d: usize, n: usize, ld: usize, xt: &mut [f64]) -> bool {
    // Eight rows at a time: the reads stay in a few cache lines, each write fills one.
    for i0 in (0..n / 8).map(|t| t * 8) {
        let rows = &xs[i0 * d..(i0 + 8) * d];
        for (u, row) in rows.chunks_exact(d).enumerate() {
            for (l, &v) in row.iter().enumerate() {
                xt[l * ld + i0 + u] = v;
            }
        }
    }
    for i in n / 8 * 8..n {
        for l in 0..d {
            xt[l * ld + i] = xs[i * d + l];
        }
    }
    xs.chunks(8)
        .any(|c| c.iter().fold(false, |a, v| a | v.is_nan()))
}

#[inline(always)]
pub(crate) fn sum8(a: &[f64]) -> f64 {
    let mut acc = [0.0; 16];
    for c in a.chunks_exact(16) {
        for t in 0..16 {
            acc[t] += c[t];
        }
    }
    sum_finish(acc, a)
}

/// [`sum8`] from its sixteen lanes `acc` over the whole sixteens of `a`: the rest of `a` added
/// to the lanes of their places, the lanes combined as [`lanes16`] does.
#[inline(always)]
pub(crate) fn sum_finish(mut acc: [f64; 16], a: &[f64]) -> f64 {
    for (t, &v) in a.chunks_exact(16).remainder().iter().enumerate() {
        acc[t] += v;
    }
    lanes16(acc)
}

/// `(sum_i r_i (x_i - mu), sum_i r_i (x_i - mu)^2)`, in sixteen lanes (enough independent
/// additions to hide their latency).
#[inline(always)]
pub(crate) fn moments8(r: &[f64], x: &[f64], mu: f64) -> (f64, f64) {
    let (mut s1, mut s2) = ([0.0; 16], [0.0; 16]);
    for (a, b) in r.chunks_exact(16).zip(x.chunks_exact(16)) {
        for t in 0..16 {
            let z = b[t] - mu;
            let wz = a[t] * z;
            s1[t] += wz;
            s2[t] += wz * z;
        }
    }
    moments_finish(s1, s2, r, x, mu)
}

/// [`moments8`] from its sixteen lanes `s1`, `s2` over the whole sixteens of `r` and `x`: the
/// rest added to the lanes of their places, the lanes combined as [`lanes16`] does.
#[inline(always)]
pub(crate) fn moments_finish(
    mut s1: [f64; 16],
    mut s2: [f64; 16],
    r: &[f64],
    x: &[f64],
    mu: f64,
) -> (f64, f64) {
    let (rr, rx) = (
        r.chunks_exact(16).remainder(),
        x.chunks_exact(16).remainder(),
    );
    for (t, (&a, &b)) in rr.iter().zip(rx).enumerate() {
        let z = b - mu;
        let wz = a * z;
        s1[t] += wz;
        s2[t] += wz * z;
    }
    (lanes16(s1), lanes16(s2))
}

/// Sixteen lanes summed in a fixed order: lane `t` and `t + 8` first, then as [`lanes`].
#[inline(always)]
pub(crate) fn lanes16(a: [f64; 16]) -> f64 {
    let (lo, hi) = a.split_at(8);
    let mut b = [0.0; 8];
    for t in 0..8 {
        b[t] = lo[t] + hi[t];
    }
    lanes(b)
}

/// Eight lanes summed in a fixed order.
#[inline(always)]
pub(crate) fn lanes(a: [f64; 8]) -> f64 {
    ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]))
}

/// Appends `sum_c a[r][c] mu[c]` for each row `r` of `a` (rows of `mu.len()` values, one after
/// the other) to `out`: each the chain of fused multiply-adds over `c` in order from 0. Four
/// rows at a time, so that four chains run side by side.
#[inline(always)]
pub(crate) fn row_products(a: &[f64], mu: &[f64], out: &mut Vec<f64>) {
    let d = mu.len();
    let rows = a.len() / d.max(1);
    let mut r = 0;
    while r + 4 <= rows {
        let mut y = [0.0f64; 4];
        let a = &a[r * d..(r + 4) * d];
        for (c, &m) in mu.iter().enumerate() {
            for (t, y) in y.iter_mut().enumerate() {
                *y = a[t * d + c].mul_add(m, *y);
            }
        }
        out.extend_from_slice(&y);
        r += 4;
    }
    for r in r..rows {
        let mut y = 0.0f64;
        for (&v, &m) in a[r * d..(r + 1) * d].iter().zip(mu) {
            y = v.mul_add(m, y);
        }
        out.push(y);
    }
}
