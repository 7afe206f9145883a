//! Fused E-step kernels for mixtures of Gaussians.
//!
//! When every component of a mixture is a Gaussian with full covariance
//! ([`MultivariateGaussian`](crate::MultivariateGaussian)) or every component is a product of
//! normals (a [`Normal`](crate::Normal), or an
//! [`IndependentComponents`](crate::IndependentComponents) of normals with unit weights, that
//! is a diagonal Gaussian), a block of rows without missing values goes through one fused
//! pass: log-densities of all components, log-sum-exp, responsibilities and sufficient
//! statistics, on the block transposed (one feature per row), so that every inner loop runs
//! over the rows of the block and vectorises. The kernels use only additions and
//! multiplications in a fixed order (their own `exp`), so results do not depend on the number
//! of threads, and are the same whether or not the processor has AVX2.

use ndarray::ArrayView2;

use crate::distributions::Distribution;
use crate::parallel::BLOCK_ROWS;

/// The Gaussian form of a component, for the fused kernels (see
/// [`Distribution::gaussian`]).
#[derive(Debug, Clone)]
pub enum Gaussian<'a> {
    /// `N(means, L L^T)`: `log p(x) = log_norm - |inv_chol (x - means)|^2 / 2`, with
    /// `inv_chol = L^-1`.
    Full {
        /// The mean vector.
        means: &'a [f64],
        /// `L^-1`, `d x d`.
        inv_chol: ArrayView2<'a, f64>,
        /// `-log det L - d log(2 pi) / 2`.
        log_norm: f64,
    },
    /// Independent normals: `log p(x) = log_norm - sum_l half_inv_var[l] (x[l] - means[l])^2`.
    Diagonal {
        /// The means.
        means: Vec<f64>,
        /// `1 / (2 sigma_l^2)`.
        half_inv_var: Vec<f64>,
        /// `sum_l (-log sigma_l - log(2 pi) / 2)`.
        log_norm: f64,
    },
}

/// Weighted moments of rows around `shift`, from the fused kernels, to be turned into a
/// component's statistics (see
/// [`Distribution::gaussian_stats`]).
#[derive(Debug, Clone, Copy)]
pub struct GaussianMoments<'a> {
    /// The shift point `c` (the component's means).
    pub shift: &'a [f64],
    /// `sum w`.
    pub weight: f64,
    /// `sum w (x - c)`, per feature.
    pub sum: &'a [f64],
    /// Full form: `sum w (x - c)(x - c)^T`, `d x d` row-major; diagonal form:
    /// `sum w (x_l - c_l)^2` per feature.
    pub products: &'a [f64],
}

/// The parameters of a mixture of Gaussians, laid out for the kernels.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    d: usize,
    k: usize,
    full: bool,
    /// Whether every `inv_chol` is lower triangular (the loops then skip the zeros).
    lower: bool,
    /// `k x d`.
    means: Vec<f64>,
    /// Full: `k x d x d` (`L^-1` per component); diagonal: `k x d` (`1 / (2 sigma^2)`).
    scale: Vec<f64>,
    /// `log_norm + log weight`, per component.
    consts: Vec<f64>,
}

/// Per-chunk sums of the kernels.
#[derive(Debug, Clone)]
pub(crate) struct Moments {
    pub weight: Vec<f64>,
    pub sum: Vec<f64>,
    pub products: Vec<f64>,
}

/// Work space of one chunk.
pub(crate) struct Scratch {
    xt: Vec<f64>,
    z: Vec<f64>,
    wz: Vec<f64>,
    y: Vec<f64>,
    acc: Vec<f64>,
    max: Vec<f64>,
    /// `k x rows`: joint log-densities, then responsibilities.
    pub lp: Vec<f64>,
}

/// What a block contributed besides the moments.
pub(crate) struct BlockTotals {
    pub log_likelihood: f64,
    pub unexplained: f64,
    /// The first row (in the block) whose log-likelihood was NaN or `+inf`, if any.
    pub invalid: Option<usize>,
}

impl Plan {
    /// The plan of a mixture, when all its components have the same Gaussian form.
    pub fn new<D: Distribution>(dists: &[D], log_weights: &[f64]) -> Option<Plan> {
        let k = dists.len();
        let d = dists.first()?.dim();
        let mut means = Vec::with_capacity(k * d);
        let mut scale = Vec::new();
        let mut consts = Vec::with_capacity(k);
        let mut full = None;
        let mut lower = true;
        for (dist, &lw) in dists.iter().zip(log_weights) {
            match dist.gaussian()? {
                Gaussian::Full {
                    means: m,
                    inv_chol,
                    log_norm,
                } => {
                    if !*full.get_or_insert(true) || m.len() != d || inv_chol.dim() != (d, d) {
                        return None;
                    }
                    means.extend_from_slice(m);
                    for a in 0..d {
                        for b in 0..d {
                            let v = inv_chol[[a, b]];
                            lower &= b <= a || v == 0.0;
                            scale.push(v);
                        }
                    }
                    consts.push(log_norm + lw);
                }
                Gaussian::Diagonal {
                    means: m,
                    half_inv_var,
                    log_norm,
                } => {
                    if *full.get_or_insert(false) || m.len() != d || half_inv_var.len() != d {
                        return None;
                    }
                    means.extend_from_slice(&m);
                    scale.extend_from_slice(&half_inv_var);
                    consts.push(log_norm + lw);
                }
            }
        }
        Some(Plan {
            d,
            k,
            full: full?,
            lower,
            means,
            scale,
            consts,
        })
    }

    /// Empty sums.
    pub fn moments(&self) -> Moments {
        let (k, d) = (self.k, self.d);
        Moments {
            weight: vec![0.0; k],
            sum: vec![0.0; k * d],
            products: vec![0.0; if self.full { k * d * d } else { k * d }],
        }
    }

    /// Work space for blocks of up to [`BLOCK_ROWS`] rows.
    pub fn scratch(&self) -> Scratch {
        let (k, d, b) = (self.k, self.d, BLOCK_ROWS);
        Scratch {
            xt: vec![0.0; d * b],
            z: vec![0.0; d * b],
            wz: vec![0.0; d * b],
            y: vec![0.0; b],
            acc: vec![0.0; b],
            max: vec![0.0; b],
            lp: vec![0.0; k * b],
        }
    }

    /// The statistics of component `j` from the sums, as its own statistics type.
    pub fn stats_of<D: Distribution>(
        &self,
        dist: &D,
        m: &mut Moments,
        j: usize,
    ) -> Option<D::Stats> {
        let d = self.d;
        let products = if self.full {
            // The kernels fill the upper triangle.
            let p = &mut m.products[j * d * d..(j + 1) * d * d];
            for a in 0..d {
                for b in 0..a {
                    p[a * d + b] = p[b * d + a];
                }
            }
            &m.products[j * d * d..(j + 1) * d * d]
        } else {
            &m.products[j * d..(j + 1) * d]
        };
        dist.gaussian_stats(&GaussianMoments {
            shift: &self.means[j * d..(j + 1) * d],
            weight: m.weight[j],
            sum: &m.sum[j * d..(j + 1) * d],
            products,
        })
    }

    /// Transposes the rows of `xb` (no NaN) into the scratch.
    fn load(&self, xb: ArrayView2<f64>, s: &mut Scratch) -> usize {
        let n = xb.nrows();
        debug_assert!(n <= BLOCK_ROWS && xb.ncols() == self.d);
        for (i, row) in xb.rows().into_iter().enumerate() {
            for (l, &v) in row.iter().enumerate() {
                s.xt[l * n + i] = v;
            }
        }
        n
    }

    /// `log w_j + log p_j(x_i)` of the rows of `xb` into `s.lp` (`k x rows`).
    pub fn log_joint(&self, xb: ArrayView2<f64>, s: &mut Scratch) {
        let n = self.load(xb, s);
        dispatch(|| self.log_joint_t(n, s));
    }

    /// The fused E-step of a block: responsibilities (times the sample weights `w`) and
    /// moments added to `m`; returns the block's log-likelihood.
    pub fn summarize(
        &self,
        xb: ArrayView2<f64>,
        w: Option<&[f64]>,
        s: &mut Scratch,
        m: &mut Moments,
    ) -> BlockTotals {
        let n = self.load(xb, s);
        dispatch(|| self.summarize_t(n, w, s, m))
    }

    #[inline(always)]
    fn center(&self, j: usize, n: usize, xt: &[f64], z: &mut [f64]) {
        let d = self.d;
        for l in 0..d {
            let mu = self.means[j * d + l];
            let (xl, zl) = (&xt[l * n..(l + 1) * n], &mut z[l * n..(l + 1) * n]);
            for (zv, &xv) in zl.iter_mut().zip(xl) {
                *zv = xv - mu;
            }
        }
    }

    #[inline(always)]
    fn log_joint_t(&self, n: usize, s: &mut Scratch) {
        let (d, k) = (self.d, self.k);
        for j in 0..k {
            let acc = &mut s.acc[..n];
            acc.fill(0.0);
            if self.full {
                self.center(j, n, &s.xt, &mut s.z);
                let a = &self.scale[j * d * d..(j + 1) * d * d];
                for r in 0..d {
                    let y = &mut s.y[..n];
                    let top = if self.lower { r + 1 } else { d };
                    let a0 = a[r * d];
                    for (yv, &zv) in y.iter_mut().zip(&s.z[..n]) {
                        *yv = a0 * zv;
                    }
                    for c in 1..top {
                        let ac = a[r * d + c];
                        for (yv, &zv) in y.iter_mut().zip(&s.z[c * n..(c + 1) * n]) {
                            *yv += ac * zv;
                        }
                    }
                    for (av, &yv) in acc.iter_mut().zip(y.iter()) {
                        *av += yv * yv;
                    }
                }
                let c0 = self.consts[j];
                for (o, &q) in s.lp[j * n..(j + 1) * n].iter_mut().zip(acc.iter()) {
                    let v = c0 - 0.5 * q;
                    // Rows so far out that the quadratic form overflowed have density 0.
                    *o = if v.is_nan() { f64::NEG_INFINITY } else { v };
                }
            } else {
                for l in 0..d {
                    let mu = self.means[j * d + l];
                    let h = self.scale[j * d + l];
                    for (av, &xv) in acc.iter_mut().zip(&s.xt[l * n..(l + 1) * n]) {
                        let z = xv - mu;
                        *av += z * z * h;
                    }
                }
                let c0 = self.consts[j];
                for (o, &q) in s.lp[j * n..(j + 1) * n].iter_mut().zip(acc.iter()) {
                    let v = c0 - q;
                    *o = if v.is_nan() { f64::NEG_INFINITY } else { v };
                }
            }
        }
    }

    #[inline(always)]
    fn summarize_t(
        &self,
        n: usize,
        w: Option<&[f64]>,
        s: &mut Scratch,
        m: &mut Moments,
    ) -> BlockTotals {
        let (d, k) = (self.d, self.k);
        self.log_joint_t(n, s);
        // Log-sum-exp over the components, row by row but vectorised over the rows.
        let max = &mut s.max[..n];
        max.fill(f64::NEG_INFINITY);
        for j in 0..k {
            for (mx, &v) in max.iter_mut().zip(&s.lp[j * n..(j + 1) * n]) {
                *mx = if v > *mx { v } else { *mx };
            }
        }
        let total = &mut s.acc[..n];
        total.fill(0.0);
        for j in 0..k {
            for ((v, t), &mx) in s.lp[j * n..(j + 1) * n]
                .iter_mut()
                .zip(total.iter_mut())
                .zip(max.iter())
            {
                let e = exp_nonpositive(*v - mx);
                *v = e;
                *t += e;
            }
        }
        // Per row: log p(x_i) = max + ln(sum), and the factor w_i / sum of its responsibilities.
        let mut out = BlockTotals {
            log_likelihood: 0.0,
            unexplained: 0.0,
            invalid: None,
        };
        let factor = &mut s.y[..n];
        for i in 0..n {
            let wi = w.map_or(1.0, |w| w[i]);
            let sum = total[i];
            let lp = max[i] + sum.ln();
            if wi == 0.0 || !lp.is_finite() {
                factor[i] = 0.0;
                if wi != 0.0 {
                    if max[i] == f64::NEG_INFINITY {
                        out.unexplained += wi;
                    } else if out.invalid.is_none() {
                        out.invalid = Some(i);
                    }
                }
                continue;
            }
            out.log_likelihood += wi * lp;
            factor[i] = wi / sum;
        }
        for j in 0..k {
            for (v, &f) in s.lp[j * n..(j + 1) * n].iter_mut().zip(factor.iter()) {
                // Rows of factor 0 may hold NaN (all components at -inf): their
                // responsibilities are 0.
                *v = if f == 0.0 { 0.0 } else { *v * f };
            }
        }
        // Moments per component.
        for j in 0..k {
            let r = &s.lp[j * n..(j + 1) * n];
            m.weight[j] += sum8(r);
            if self.full {
                self.center(j, n, &s.xt, &mut s.z);
                for l in 0..d {
                    let (zl, wzl) = (&s.z[l * n..(l + 1) * n], &mut s.wz[l * n..(l + 1) * n]);
                    for ((o, &zv), &rv) in wzl.iter_mut().zip(zl).zip(r) {
                        *o = rv * zv;
                    }
                    m.sum[j * d + l] += sum8(wzl);
                }
                let p = &mut m.products[j * d * d..(j + 1) * d * d];
                for a in 0..d {
                    let wza = &s.wz[a * n..(a + 1) * n];
                    for b in a..d {
                        p[a * d + b] += dot8(wza, &s.z[b * n..(b + 1) * n]);
                    }
                }
            } else {
                for l in 0..d {
                    let mu = self.means[j * d + l];
                    let (s1, s2) = moments8(r, &s.xt[l * n..(l + 1) * n], mu);
                    m.sum[j * d + l] += s1;
                    m.products[j * d + l] += s2;
                }
            }
        }
        out
    }
}

/// Runs `f` compiled for AVX2 when the processor has it. The arithmetic is the same either
/// way (no fused multiply-adds), so the results are too.
#[inline(always)]
fn dispatch<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor has AVX2, the only feature `with_avx2` enables.
            return unsafe { with_avx2(f) };
        }
    }
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn with_avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// `sum_i a_i`, in eight lanes combined in a fixed order.
#[inline(always)]
fn sum8(a: &[f64]) -> f64 {
    let mut acc = [0.0; 8];
    let chunks = a.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for t in 0..8 {
            acc[t] += c[t];
        }
    }
    for (t, &v) in rest.iter().enumerate() {
        acc[t] += v;
    }
    lanes(acc)
}

/// `sum_i a_i b_i`, in eight lanes combined in a fixed order.
#[inline(always)]
fn dot8(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for t in 0..8 {
            acc[t] += x[t] * y[t];
        }
    }
    for (t, (&x, &y)) in ra.iter().zip(rb).enumerate() {
        acc[t] += x * y;
    }
    lanes(acc)
}

/// `(sum_i r_i (x_i - mu), sum_i r_i (x_i - mu)^2)`, in eight lanes.
#[inline(always)]
fn moments8(r: &[f64], x: &[f64], mu: f64) -> (f64, f64) {
    let (mut s1, mut s2) = ([0.0; 8], [0.0; 8]);
    let (cr, cx) = (r.chunks_exact(8), x.chunks_exact(8));
    let (rr, rx) = (cr.remainder(), cx.remainder());
    for (a, b) in cr.zip(cx) {
        for t in 0..8 {
            let z = b[t] - mu;
            let wz = a[t] * z;
            s1[t] += wz;
            s2[t] += wz * z;
        }
    }
    for (t, (&a, &b)) in rr.iter().zip(rx).enumerate() {
        let z = b - mu;
        let wz = a * z;
        s1[t] += wz;
        s2[t] += wz * z;
    }
    (lanes(s1), lanes(s2))
}

#[inline(always)]
fn lanes(a: [f64; 8]) -> f64 {
    ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]))
}

/// `e^x` for `x <= 0` (and NaN), to about 1 ulp, without branches so that loops over it
/// vectorise: `x = n ln 2 + r` with `|r| <= ln 2 / 2`, `e^r` by its Taylor series to degree 13
/// (truncation below 1e-17), times `2^n` built from its bits. Below -708.39 (where the result
/// would be subnormal) it returns 0.
#[inline(always)]
pub(crate) fn exp_nonpositive(x: f64) -> f64 {
    const LOG2E: f64 = std::f64::consts::LOG2_E;
    // ln 2 split so that n * LN2_HI is exact for |n| < 2^11 (Cody and Waite).
    const LN2_HI: f64 = 0.693_147_180_369_123_8;
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    // 1.5 * 2^52: adding it rounds to an integer, which then sits in the low bits.
    const SHIFTER: f64 = 6_755_399_441_055_744.0;
    const MIN: f64 = -708.39;
    let xc = if x < MIN { MIN } else { x };
    let t = xc * LOG2E + SHIFTER;
    let n = t - SHIFTER;
    let r = (xc - n * LN2_HI) - n * LN2_LO;
    let mut p = 1.0 / 6_227_020_800.0;
    p = p * r + 1.0 / 479_001_600.0;
    p = p * r + 1.0 / 39_916_800.0;
    p = p * r + 1.0 / 3_628_800.0;
    p = p * r + 1.0 / 362_880.0;
    p = p * r + 1.0 / 40_320.0;
    p = p * r + 1.0 / 5_040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    // n is in [-1022, 0]: 2^n is a normal number with biased exponent n + 1023.
    let bits = (t.to_bits().wrapping_add(1023)) << 52;
    let v = p * f64::from_bits(bits);
    if x < MIN {
        0.0
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_accurate_and_total() {
        let mut worst: f64 = 0.0;
        let mut x = -708.0;
        while x <= 0.0 {
            let (a, b) = (exp_nonpositive(x), x.exp());
            worst = worst.max(((a - b) / b).abs());
            x += 0.013_7;
        }
        for x in [-1e-300, -1e-17, -0.5, -0.34657359, -0.3465736, -1.0, -700.0] {
            let (a, b) = (exp_nonpositive(x), x.exp());
            worst = worst.max(((a - b) / b).abs());
        }
        assert!(worst < 4e-16, "{worst}");
        assert_eq!(exp_nonpositive(0.0), 1.0);
        assert_eq!(exp_nonpositive(-800.0), 0.0);
        assert_eq!(exp_nonpositive(f64::NEG_INFINITY), 0.0);
        assert!(exp_nonpositive(f64::NAN).is_nan());
    }

    #[test]
    fn lane_sums_are_sums() {
        let a: Vec<f64> = (0..37).map(|i| i as f64 * 0.5).collect();
        let b: Vec<f64> = (0..37).map(|i| 3.0 - i as f64).collect();
        assert_eq!(sum8(&a), a.iter().sum::<f64>());
        assert_eq!(
            dot8(&a, &b),
            a.iter().zip(&b).map(|(x, y)| x * y).sum::<f64>()
        );
        let (s1, s2) = moments8(&a, &b, 1.0);
        let t1: f64 = a.iter().zip(&b).map(|(r, x)| r * (x - 1.0)).sum();
        let t2: f64 = a
            .iter()
            .zip(&b)
            .map(|(r, x)| r * (x - 1.0) * (x - 1.0))
            .sum();
        assert!((s1 - t1).abs() < 1e-12 && (s2 - t2).abs() < 1e-9);
    }
}
