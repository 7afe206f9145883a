//! Fused E-step kernels for mixtures of Gaussians.
//!
//! When every component of a mixture is a Gaussian with full covariance
//! ([`MultivariateGaussian`](crate::MultivariateGaussian)) or every component is a product of
//! normals (a [`Normal`](crate::Normal), or an
//! [`IndependentComponents`](crate::IndependentComponents) of normals with unit weights, that
//! is a diagonal Gaussian), a block of rows without missing values goes through one fused
//! pass: log-densities of all components, log-sum-exp, responsibilities and sufficient
//! statistics, on the block transposed (one feature per row), so that every inner loop runs
//! over the rows of the block and vectorises. The kernels use only additions, multiplications
//! and, in the quadratic forms and products of full covariance, fused multiply-adds, in a fixed
//! order (and their own `exp`), so results do not depend on the number of threads, and are the
//! same whether or not the processor has AVX2 and FMA (for which the kernels are also compiled,
//! and chosen at run time; the portable loops' fused multiply-adds are `f64::mul_add`, rounded
//! once as the processor's are, only slower where the processor has no FMA).

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
    /// Diagonal with at least [`ROWS_MIN_FEATURES`] features: the kernels read the rows as they
    /// are (features contiguous) instead of transposing the block.
    rows: bool,
    /// Full covariance in at most [`SMALL_MAX_FEATURES`] features: the fused E-step keeps a
    /// tile of rows in registers through all its stages.
    small: bool,
    /// `k x d`.
    means: Vec<f64>,
    /// Full: `k x dp x d` (`L^-1` per component, its rows padded with zero rows to `dp`, a
    /// multiple of 4); diagonal: `k x d` (`1 / (2 sigma^2)`).
    scale: Vec<f64>,
    /// Full: the same `L^-1` as panels for the quadratic forms (see [`panels`]), `k` of
    /// [`panels_len`] values; diagonal: empty.
    panels: Vec<f64>,
    /// Full: the point `o` (the mean of the components' means) that the transposed blocks are
    /// measured from, `x - o`, so that the quadratic forms lose precision only in proportion to
    /// a component's distance from `o` (in its standard deviations), not to an offset of the
    /// data; diagonal: empty.
    origin: Vec<f64>,
    /// `k x d`: the means as the kernels subtract them from the transposed block (full:
    /// `means - o`; diagonal: the means).
    centres: Vec<f64>,
    /// Full: `k x padded(d)`, `L^-1 (means - o)` (zeros past `d`), so that the quadratic forms
    /// are `|L^-1 (x - o) - L^-1 (means - o)|^2`, without centring the block per component;
    /// diagonal: empty.
    offsets: Vec<f64>,
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

impl Moments {
    /// Sets every sum back to zero.
    pub fn clear(&mut self) {
        for v in [&mut self.weight, &mut self.sum, &mut self.products] {
            v.fill(0.0);
        }
    }
}

/// Diagonal Gaussians of this many features or more are evaluated on the rows as they are: a
/// row then fills whole vectors, and the block needs no transposition.
const ROWS_MIN_FEATURES: usize = 8;

/// Full-covariance mixtures of at most this many features take the small-dimension E-step.
const SMALL_MAX_FEATURES: usize = 4;

/// Rows evaluated together by the small-dimension E-step (two AVX2 vectors, or one AVX-512).
const SMALL_LANES: usize = 8;

/// Per-lane sums of one component in the small-dimension E-step: weight, `d` first moments and
/// the `d (d + 1) / 2` products of the upper triangle, for `d` up to [`SMALL_MAX_FEATURES`].
const SMALL_SUMS: usize =
    1 + SMALL_MAX_FEATURES + SMALL_MAX_FEATURES * (SMALL_MAX_FEATURES + 1) / 2;

/// Rows per tile of the row-major moments: a tile of up to 64 features stays in the first-level
/// cache while every component reads it.
const MOMENT_TILE_ROWS: usize = 32;

/// Work space of one chunk.
pub(crate) struct Scratch {
    /// The block transposed (`d x n`; full covariance: `x - o`, see `Plan::origin`); for a
    /// row-major plan, a copy of a block that was not contiguous (`n x d`).
    xt: Vec<f64>,
    /// Whether `xt` holds the copy of the current block (row-major plans).
    copied: bool,
    /// Running sums of the row-major moments (`2 k padded(d)`).
    work: Vec<f64>,
    /// Per-lane sums of the small-dimension E-step, per component.
    small: Vec<[[f64; SMALL_LANES]; SMALL_SUMS]>,
    /// Full covariance: the centred block for the moments (`d x n`, or on AVX-512 the rows of
    /// one pass of `avx512::moments` in its paired layout, at most `(d + 1) MOMENT_ROWS` values);
    /// in the log-densities, the outputs of the quadratic forms' tiles (at most `32 padded(d)`
    /// values). Either fits in `d x BLOCK_ROWS`.
    z: Vec<f64>,
    /// Full covariance: `z` times the responsibilities of a component (in the layout of `z`),
    /// for the portable and AVX2 moments (those of AVX-512 compute it again where they use it).
    wz: Vec<f64>,
    /// Full covariance on AVX-512: the running sums of the moments' passes.
    #[cfg(target_arch = "x86_64")]
    lanes: avx512::MomentLanes,
    /// Per row: after `posteriors`, `1 / sum_j exp(lp_ij - max_i)`; in the small-dimension
    /// E-step, the row's weight where it counts (else 0).
    pub y: Vec<f64>,
    /// Per row: after `posteriors`, `log p(x_i)`; in the small-dimension E-step,
    /// `sum_j exp(lp_ij - max_i)`.
    pub acc: Vec<f64>,
    /// Per row: after `posteriors` and in the small-dimension E-step, `max_j lp_ij`.
    pub max: Vec<f64>,
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
                    for a in 0..padded(d) {
                        for b in 0..d {
                            let v = if a < d { inv_chol[[a, b]] } else { 0.0 };
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
        let full = full?;
        let (mut origin, mut offsets) = (Vec::new(), Vec::new());
        let mut centres = means.clone();
        if full {
            origin = (0..d)
                // Each mean divided first: the sum of means near the largest `f64` stays finite.
                .map(|l| (0..k).map(|j| means[j * d + l] / k as f64).sum::<f64>())
                .collect();
            for (c, &o) in centres.iter_mut().zip(origin.iter().cycle()) {
                *c -= o;
            }
            let dp = padded(d);
            for j in 0..k {
                let (a, mu) = (
                    &scale[j * dp * d..(j + 1) * dp * d],
                    &centres[j * d..(j + 1) * d],
                );
                offsets.extend(
                    (0..dp).map(|r| (0..d).fold(0.0f64, |y, c| a[r * d + c].mul_add(mu[c], y))),
                );
            }
        }
        let panels = if full {
            panels(&scale, d, lower)
        } else {
            Vec::new()
        };
        Some(Plan {
            d,
            k,
            full,
            lower,
            rows: !full && d >= ROWS_MIN_FEATURES,
            small: full && d <= SMALL_MAX_FEATURES,
            means,
            scale,
            panels,
            origin,
            centres,
            offsets,
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
        // The row-major diagonal kernels need neither the centred rows nor their products.
        let t = if self.rows { 0 } else { d * b };
        Scratch {
            xt: vec![0.0; t],
            copied: false,
            work: vec![0.0; if self.rows { 2 * k * padded(d) } else { 0 }],
            small: vec![[[0.0; SMALL_LANES]; SMALL_SUMS]; if self.small { k } else { 0 }],
            z: vec![0.0; if self.full { t } else { 0 }],
            wz: vec![0.0; if self.full { t } else { 0 }],
            #[cfg(target_arch = "x86_64")]
            lanes: avx512::MomentLanes::new(if self.full && has_avx512() { d } else { 0 }),
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

    /// Transposes the rows of `xb` (at most [`BLOCK_ROWS`]) into the scratch, for
    /// [`log_joint`](Self::log_joint) and [`summarize`](Self::summarize); false when they hold
    /// a missing value (the kernels do not take those).
    pub fn load(&self, xb: ArrayView2<f64>, s: &mut Scratch) -> bool {
        let (n, d) = xb.dim();
        debug_assert!(n <= BLOCK_ROWS && d == self.d);
        if self.rows {
            // Row-major kernels: the rows are read where they are, or from a copy when the
            // block is not contiguous.
            s.copied = xb.as_slice().is_none();
            if s.copied {
                s.xt.clear();
                s.xt.extend(xb.iter().copied());
            }
            let xs = if s.copied {
                &s.xt[..]
            } else {
                xb.as_slice().expect("contiguous")
            };
            return !any_nan(xs);
        }
        // The kernels take the distance between features apart from `n`; a whole block's is
        // `n` (a padded distance measured no faster).
        let ld = n;
        let clean = self.transpose(xb, ld, s);
        for (l, &o) in self.origin.iter().enumerate() {
            for v in &mut s.xt[l * ld..l * ld + n] {
                *v -= o;
            }
        }
        clean
    }

    /// The transposition of [`load`](Self::load); false when the rows hold a missing value.
    fn transpose(&self, xb: ArrayView2<f64>, ld: usize, s: &mut Scratch) -> bool {
        let (n, d) = xb.dim();
        let mut nan = false;
        #[cfg(target_arch = "x86_64")]
        if let Some(xs) = xb.as_slice() {
            if crate::kernels::has_avx2() {
                // SAFETY: the processor has AVX2 and FMA, the features the function is compiled for.
                return !unsafe { avx2::transpose(xs, d, n, ld, &mut s.xt) };
            }
        }
        if let Some(xs) = xb.as_slice() {
            // Eight rows at a time: the reads stay in a few cache lines, each write fills one.
            for i0 in (0..n / 8).map(|t| t * 8) {
                let rows = &xs[i0 * d..(i0 + 8) * d];
                for (u, row) in rows.chunks_exact(d).enumerate() {
                    for (l, &v) in row.iter().enumerate() {
                        s.xt[l * ld + i0 + u] = v;
                    }
                }
            }
            for i in n / 8 * 8..n {
                for l in 0..d {
                    s.xt[l * ld + i] = xs[i * d + l];
                }
            }
            nan = xs
                .chunks(8)
                .any(|c| c.iter().fold(false, |a, v| a | v.is_nan()));
        } else {
            for (i, row) in xb.rows().into_iter().enumerate() {
                for (l, &v) in row.iter().enumerate() {
                    s.xt[l * ld + i] = v;
                    nan |= v.is_nan();
                }
            }
        }
        !nan
    }

    /// Runs `f` on the rows of the loaded block `xb` as the row-major kernels read them (empty
    /// for the transposing plans, whose kernels read `s.xt`).
    fn with_rows<R>(
        &self,
        xb: &ArrayView2<f64>,
        s: &mut Scratch,
        f: impl FnOnce(&[f64], usize, &mut Scratch) -> R,
    ) -> R {
        let n = xb.nrows();
        if self.rows && s.copied {
            let copy = std::mem::take(&mut s.xt);
            let r = f(&copy, n, s);
            s.xt = copy;
            r
        } else if self.rows {
            f(
                xb.as_slice()
                    .expect("a row-major block is contiguous or copied"),
                n,
                s,
            )
        } else {
            f(&[], n, s)
        }
    }

    /// `log w_j + log p_j(x_i)` of the loaded rows `xb` into `s.lp` (`k x n`).
    pub fn log_joint(&self, xb: ArrayView2<f64>, s: &mut Scratch) {
        self.with_rows(&xb, s, |x, n, s| {
            #[cfg(target_arch = "x86_64")]
            if crate::kernels::has_avx2() {
                // SAFETY: the processor has AVX2 and FMA, the features the function is compiled for.
                return unsafe { self.log_joint_avx2(x, n, s) };
            }
            self.log_joint_t::<false>(x, n, s)
        })
    }

    /// [`log_joint_t`](Self::log_joint_t) compiled for AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn log_joint_avx2(&self, x: &[f64], n: usize, s: &mut Scratch) {
        self.log_joint_t::<true>(x, n, s)
    }

    /// [`summarize_t`](Self::summarize_t) compiled for AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn summarize_avx2(
        &self,
        x: &[f64],
        n: usize,
        w: Option<&[f64]>,
        s: &mut Scratch,
        m: &mut Moments,
    ) -> BlockTotals {
        self.summarize_t::<true>(x, n, w, s, m)
    }

    /// The small-dimension E-step ([`summarize_small`](Self::summarize_small)) in 512-bit
    /// vectors: a tile's eight lanes in one vector rather than two.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx2,fma")]
    fn summarize_small_avx512(
        &self,
        n: usize,
        w: Option<&[f64]>,
        s: &mut Scratch,
        m: &mut Moments,
    ) -> BlockTotals {
        self.summarize_small_d::<avx512::Avx512, 1>(n, w, s, m)
    }

    /// The fused E-step of the loaded rows `xb`: responsibilities (times the sample weights `w`)
    /// and moments added to `m`; returns the block's log-likelihood.
    pub fn summarize(
        &self,
        xb: ArrayView2<f64>,
        w: Option<&[f64]>,
        s: &mut Scratch,
        m: &mut Moments,
    ) -> BlockTotals {
        self.with_rows(&xb, s, |x, n, s| {
            #[cfg(target_arch = "x86_64")]
            if self.small && has_avx512() {
                // SAFETY: the processor has AVX-512, AVX2 and FMA, the features the function is
                // compiled for.
                return unsafe { self.summarize_small_avx512(n, w, s, m) };
            }
            #[cfg(target_arch = "x86_64")]
            if crate::kernels::has_avx2() {
                // SAFETY: the processor has AVX2 and FMA, the features the function is compiled for.
                return unsafe { self.summarize_avx2(x, n, w, s, m) };
            }
            self.summarize_t::<false>(x, n, w, s, m)
        })
    }

    #[inline(always)]
    fn sum<const AVX: bool>(&self, a: &[f64]) -> f64 {
        #[cfg(target_arch = "x86_64")]
        if AVX {
            // SAFETY: `AVX` is true only inside functions compiled for AVX2 and FMA.
            return unsafe { avx2::sum(a) };
        }
        sum8(a)
    }

    #[inline(always)]
    fn weighted_moments<const AVX: bool>(&self, r: &[f64], x: &[f64], mu: f64) -> (f64, f64) {
        #[cfg(target_arch = "x86_64")]
        if AVX {
            // SAFETY: as in `sum`.
            return unsafe { avx2::moments(r, x, mu) };
        }
        moments8(r, x, mu)
    }

    /// After the log-densities: `s.lp` holds `exp(lp_ij - max_i)`, `s.max` the row maxima,
    /// `s.acc` `log p(x_i)` and `s.y` `1 / sum_j exp(lp_ij - max_i)` (so that `s.lp` times
    /// `s.y` are the posterior probabilities).
    #[inline(always)]
    fn posteriors_t<const AVX: bool>(&self, x: &[f64], n: usize, s: &mut Scratch) {
        let k = self.k;
        self.log_joint_t::<AVX>(x, n, s);
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
        for ((t, &mx), f) in total.iter_mut().zip(max.iter()).zip(s.y[..n].iter_mut()) {
            let sum = *t;
            *t = mx + ln_positive(sum);
            *f = 1.0 / sum;
        }
    }

    /// The posterior probabilities of the loaded rows `xb` (see `posteriors_t`).
    pub fn posteriors(&self, xb: ArrayView2<f64>, s: &mut Scratch) {
        self.with_rows(&xb, s, |x, n, s| {
            #[cfg(target_arch = "x86_64")]
            if crate::kernels::has_avx2() {
                // SAFETY: the processor has AVX2 and FMA, the features the function is compiled for.
                return unsafe { self.posteriors_avx2(x, n, s) };
            }
            self.posteriors_t::<false>(x, n, s)
        })
    }

    /// [`posteriors_t`](Self::posteriors_t) compiled for AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn posteriors_avx2(&self, x: &[f64], n: usize, s: &mut Scratch) {
        self.posteriors_t::<true>(x, n, s)
    }

    /// The log-densities; `AVX` when compiled for AVX2 (the hot loops then use its vectors,
    /// with the same arithmetic as the portable loops).
    #[inline(always)]
    fn log_joint_t<const AVX: bool>(&self, x: &[f64], n: usize, s: &mut Scratch) {
        let (d, k, ld) = (self.d, self.k, n);
        if self.rows {
            let lp = &mut s.lp[..k * n];
            #[cfg(target_arch = "x86_64")]
            if AVX {
                // SAFETY: `AVX` is true only inside functions compiled for AVX2 and FMA.
                return unsafe {
                    avx2::diagonal_rows(&self.means, &self.scale, &self.consts, x, n, lp)
                };
            }
            return diagonal_rows(&self.means, &self.scale, &self.consts, x, n, lp);
        }
        for j in 0..k {
            let acc = &mut s.acc[..n];
            acc.fill(0.0);
            if self.full {
                let (len, dp) = (panels_len(d, self.lower), padded(d));
                let a = (
                    &self.panels[j * len..(j + 1) * len],
                    &self.offsets[j * dp..(j + 1) * dp],
                );
                #[cfg(target_arch = "x86_64")]
                if AVX {
                    // SAFETY: `AVX` is true only inside functions compiled for AVX2 and FMA, which run
                    // only on processors that have it.
                    unsafe {
                        if has_avx512() {
                            avx512::quad_forms(a, d, self.lower, &s.xt, n, ld, acc, &mut s.z)
                        } else {
                            avx2::quad_forms(a, d, self.lower, &s.xt, n, ld, acc, &mut s.z)
                        }
                    };
                } else {
                    quad_forms(a, d, self.lower, &s.xt, n, ld, acc, &mut s.z);
                }
                #[cfg(not(target_arch = "x86_64"))]
                quad_forms(a, d, self.lower, &s.xt, n, ld, acc, &mut s.z);
                let c0 = self.consts[j];
                for (o, &q) in s.lp[j * n..(j + 1) * n].iter_mut().zip(acc.iter()) {
                    let v = c0 - 0.5 * q;
                    // Rows so far out that the quadratic form overflowed have density 0.
                    *o = if v.is_nan() { f64::NEG_INFINITY } else { v };
                }
            } else {
                let (mu, h) = (
                    &self.means[j * d..(j + 1) * d],
                    &self.scale[j * d..(j + 1) * d],
                );
                #[cfg(target_arch = "x86_64")]
                if AVX {
                    // SAFETY: as for `quad_forms` above.
                    unsafe { avx2::diagonal_forms(mu, h, &s.xt, n, ld, acc) };
                } else {
                    diagonal_forms(mu, h, &s.xt, n, ld, acc);
                }
                #[cfg(not(target_arch = "x86_64"))]
                diagonal_forms(mu, h, &s.xt, n, ld, acc);
                let c0 = self.consts[j];
                for (o, &q) in s.lp[j * n..(j + 1) * n].iter_mut().zip(acc.iter()) {
                    let v = c0 - q;
                    *o = if v.is_nan() { f64::NEG_INFINITY } else { v };
                }
            }
        }
    }

    /// The fused E-step of full-covariance mixtures in `D` features, `D` at most
    /// [`SMALL_MAX_FEATURES`]: for each tile of [`SMALL_LANES`] rows, the log-densities of all
    /// components, their log-sum-exp, the responsibilities and the moments, in per-lane sums
    /// (continued over the block's tiles in row order, combined once per block), so that the
    /// few values of a row are read once rather than once per pass.
    #[inline(always)]
    fn summarize_small<const D: usize, L: Lanes, const H: usize>(
        &self,
        n: usize,
        w: Option<&[f64]>,
        s: &mut Scratch,
        m: &mut Moments,
    ) -> BlockTotals {
        let k = self.k;
        let mut out = BlockTotals {
            log_likelihood: 0.0,
            unexplained: 0.0,
            invalid: None,
        };
        if n == 0 {
            return out;
        }
        let acc = &mut s.small[..k];
        acc.fill([[0.0; SMALL_LANES]; SMALL_SUMS]);
        let mut ll = [0.0f64; SMALL_LANES];
        small_tiles::<L, D, H>(
            (&self.centres, &self.scale, &self.consts, self.lower),
            &s.xt,
            (n, n),
            w,
            &mut s.lp[..k * SMALL_LANES],
            acc,
            &mut ll,
            (&mut s.max, &mut s.acc, &mut s.y),
            &mut out,
        );
        out.log_likelihood = lanes(ll);
        for (j, sums) in acc.iter().enumerate() {
            m.weight[j] += lanes(sums[0]);
            for c in 0..D {
                m.sum[j * D + c] += lanes(sums[1 + c]);
            }
            let mut t = 1 + D;
            for p in 0..D {
                for q in p..D {
                    m.products[j * D * D + p * D + q] += lanes(sums[t]);
                    t += 1;
                }
            }
        }
        out
    }

    /// [`summarize_small`](Self::summarize_small) for this plan's number of features.
    #[inline(always)]
    fn summarize_small_d<L: Lanes, const H: usize>(
        &self,
        n: usize,
        w: Option<&[f64]>,
        s: &mut Scratch,
        m: &mut Moments,
    ) -> BlockTotals {
        match self.d {
            1 => self.summarize_small::<1, L, H>(n, w, s, m),
            2 => self.summarize_small::<2, L, H>(n, w, s, m),
            3 => self.summarize_small::<3, L, H>(n, w, s, m),
            _ => self.summarize_small::<4, L, H>(n, w, s, m),
        }
    }

    #[inline(always)]
    fn summarize_t<const AVX: bool>(
        &self,
        x: &[f64],
        n: usize,
        w: Option<&[f64]>,
        s: &mut Scratch,
        m: &mut Moments,
    ) -> BlockTotals {
        let (d, k, ld) = (self.d, self.k, n);
        if self.small {
            #[cfg(target_arch = "x86_64")]
            if AVX {
                return self.summarize_small_d::<avx2::Avx, 2>(n, w, s, m);
            }
            return self.summarize_small_d::<Quad, 2>(n, w, s, m);
        }
        self.posteriors_t::<AVX>(x, n, s);
        let (max, total, factor) = (&s.max[..n], &s.acc[..n], &mut s.y[..n]);
        // Per row: the factor w_i / sum of its responsibilities, checked in order.
        let mut out = BlockTotals {
            log_likelihood: 0.0,
            unexplained: 0.0,
            invalid: None,
        };
        for i in 0..n {
            let wi = w.map_or(1.0, |w| w[i]);
            let lp = total[i];
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
            factor[i] *= wi;
        }
        for j in 0..k {
            for (v, &f) in s.lp[j * n..(j + 1) * n].iter_mut().zip(factor.iter()) {
                // Rows of factor 0 may hold NaN (all components at -inf): their
                // responsibilities are 0.
                *v = if f == 0.0 { 0.0 } else { *v * f };
            }
        }
        if self.rows {
            for j in 0..k {
                m.weight[j] += self.sum::<AVX>(&s.lp[j * n..(j + 1) * n]);
            }
            let r = &s.lp[..k * n];
            #[cfg(target_arch = "x86_64")]
            if AVX {
                // SAFETY: `AVX` is true only inside functions compiled for AVX2 and FMA.
                unsafe {
                    avx2::moments_rows_all(
                        d,
                        r,
                        x,
                        &self.means,
                        &mut m.sum,
                        &mut m.products,
                        &mut s.work,
                    )
                };
                return out;
            }
            for j in 0..k {
                moments_rows(
                    &r[j * n..(j + 1) * n],
                    x,
                    &self.means[j * d..(j + 1) * d],
                    &mut m.sum[j * d..(j + 1) * d],
                    &mut m.products[j * d..(j + 1) * d],
                );
            }
            return out;
        }
        // Moments per component.
        for j in 0..k {
            let r = &s.lp[j * n..(j + 1) * n];
            m.weight[j] += self.sum::<AVX>(r);
            #[cfg(target_arch = "x86_64")]
            if self.full && AVX && has_avx512() {
                let (mu, sum) = (
                    &self.centres[j * d..(j + 1) * d],
                    &mut m.sum[j * d..(j + 1) * d],
                );
                let p = &mut m.products[j * d * d..(j + 1) * d * d];
                // SAFETY: the processor has AVX-512 (checked above).
                unsafe {
                    avx512::moments((&s.xt, d, n, ld), mu, r, &mut s.z, &mut s.lanes, sum, p)
                };
                continue;
            }
            if self.full {
                for l in 0..d {
                    let row = l * ld..l * ld + n;
                    let (x, z, wz) = (&s.xt[row.clone()], &mut s.z[row.clone()], &mut s.wz[row]);
                    let mu = self.centres[j * d + l];
                    #[cfg(target_arch = "x86_64")]
                    let sum = if AVX {
                        // SAFETY: as for `quad_forms` above.
                        unsafe { avx2::centre_weighted(x, mu, r, z, wz) }
                    } else {
                        centre_weighted::<Quad>(x, mu, r, z, wz)
                    };
                    #[cfg(not(target_arch = "x86_64"))]
                    let sum = centre_weighted::<Quad>(x, mu, r, z, wz);
                    m.sum[j * d + l] += sum;
                }
                let p = &mut m.products[j * d * d..(j + 1) * d * d];
                #[cfg(target_arch = "x86_64")]
                if AVX {
                    // SAFETY: as for `quad_forms` above.
                    unsafe { avx2::products(&s.wz, &s.z, d, n, ld, p) };
                } else {
                    products_in::<Quad>(&s.wz, &s.z, d, n, ld, p);
                }
                #[cfg(not(target_arch = "x86_64"))]
                products_in::<Quad>(&s.wz, &s.z, d, n, ld, p);
            } else {
                for l in 0..d {
                    let mu = self.means[j * d + l];
                    let (s1, s2) = self.weighted_moments::<AVX>(r, &s.xt[l * ld..l * ld + n], mu);
                    m.sum[j * d + l] += s1;
                    m.products[j * d + l] += s2;
                }
            }
        }
        out
    }
}

/// `f64` lanes and the operations of the generic kernels on them (the small-dimension E-step,
/// the quadratic forms, the products and the centring of full covariance): the portable
/// [`Quad`] and, on x86-64, AVX2 vectors (four lanes), and for the small-dimension E-step also
/// AVX-512 vectors (eight), each lane doing the same IEEE operation whichever it is.
pub(crate) trait Lanes: Copy {
    /// The number of lanes.
    const WIDTH: usize;
    /// All lanes `v`.
    fn splat(v: f64) -> Self;
    /// `s[..WIDTH]`.
    fn load(s: &[f64]) -> Self;
    /// Into `s[..WIDTH]`.
    fn store(self, s: &mut [f64]);
    /// `self + o`.
    fn add(self, o: Self) -> Self;
    /// `self - o`.
    fn sub(self, o: Self) -> Self;
    /// `self * o`.
    fn mul(self, o: Self) -> Self;
    /// `self * a + b`, rounded once (a fused multiply-add).
    fn mul_add(self, a: Self, b: Self) -> Self;
    /// `self / o`.
    fn div(self, o: Self) -> Self;
    /// `if self > o { self } else { o }`.
    fn max_of(self, o: Self) -> Self;
    /// NaN lanes made `-inf`.
    fn nan_to_neg_inf(self) -> Self;
    /// `if f == 0 { 0 } else { self * f }`.
    fn times_unless_zero(self, f: Self) -> Self;
    /// [`exp_nonpositive`] of each lane.
    fn exp(self) -> Self;
    /// [`ln_positive`] of each lane.
    fn ln(self) -> Self;
}

/// One lane: the scalar functions' arithmetic.
impl Lanes for f64 {
    const WIDTH: usize = 1;
    #[inline(always)]
    fn splat(v: f64) -> Self {
        v
    }
    #[inline(always)]
    fn load(s: &[f64]) -> Self {
        s[0]
    }
    #[inline(always)]
    fn store(self, s: &mut [f64]) {
        s[0] = self;
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        self + o
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        self - o
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        self * o
    }
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        f64::mul_add(self, a, b)
    }
    #[inline(always)]
    fn div(self, o: Self) -> Self {
        self / o
    }
    #[inline(always)]
    fn max_of(self, o: Self) -> Self {
        if self > o {
            self
        } else {
            o
        }
    }
    #[inline(always)]
    fn nan_to_neg_inf(self) -> Self {
        if self.is_nan() {
            f64::NEG_INFINITY
        } else {
            self
        }
    }
    #[inline(always)]
    fn times_unless_zero(self, f: Self) -> Self {
        if f == 0.0 {
            0.0
        } else {
            self * f
        }
    }
    #[inline(always)]
    fn exp(self) -> Self {
        exp_nonpositive(self)
    }
    #[inline(always)]
    fn ln(self) -> Self {
        ln_positive(self)
    }
}

/// Portable [`Lanes`].
#[derive(Clone, Copy)]
pub(crate) struct Quad([f64; 4]);

impl Lanes for Quad {
    const WIDTH: usize = 4;
    #[inline(always)]
    fn splat(v: f64) -> Self {
        Quad([v; 4])
    }
    #[inline(always)]
    fn load(s: &[f64]) -> Self {
        Quad(s[..4].try_into().expect("four lanes"))
    }
    #[inline(always)]
    fn store(self, s: &mut [f64]) {
        s[..4].copy_from_slice(&self.0);
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        self.zip(o, <f64 as Lanes>::add)
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        self.zip(o, <f64 as Lanes>::sub)
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        self.zip(o, <f64 as Lanes>::mul)
    }
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        let mut v = self.0;
        for ((x, a), b) in v.iter_mut().zip(a.0).zip(b.0) {
            *x = x.mul_add(a, b);
        }
        Quad(v)
    }
    #[inline(always)]
    fn div(self, o: Self) -> Self {
        self.zip(o, <f64 as Lanes>::div)
    }
    #[inline(always)]
    fn max_of(self, o: Self) -> Self {
        self.zip(o, <f64 as Lanes>::max_of)
    }
    #[inline(always)]
    fn nan_to_neg_inf(self) -> Self {
        Quad(self.0.map(<f64 as Lanes>::nan_to_neg_inf))
    }
    #[inline(always)]
    fn times_unless_zero(self, f: Self) -> Self {
        self.zip(f, <f64 as Lanes>::times_unless_zero)
    }
    #[inline(always)]
    fn exp(self) -> Self {
        Quad(self.0.map(exp_nonpositive))
    }
    #[inline(always)]
    fn ln(self) -> Self {
        Quad(self.0.map(ln_positive))
    }
}

impl Quad {
    /// `f` of the lanes of `self` and `o`, lane by lane (the one-lane operations of `f64`).
    #[inline(always)]
    fn zip(self, o: Self, f: impl Fn(f64, f64) -> f64) -> Self {
        let mut v = self.0;
        for (a, b) in v.iter_mut().zip(o.0) {
            *a = f(*a, b);
        }
        Quad(v)
    }
}

/// The tiles of the small-dimension E-step (see [`Plan::summarize_small`]), in lanes `L`: for
/// each tile of eight rows of `xt` (`D x n`), the log-densities of the `k` components (`means`:
/// `k x D`, as measured in `xt`, that is less the plan's origin; `scale`: `k x padded(D) x D`
/// factors `L^-1`, `lower` when they are triangular,
/// `consts`: `log w + log_norm`), their log-sum-exp, the responsibilities times the weights
/// `w`, and the per-lane sums `acc` and log-likelihoods `ll`; `lp` (`k x 8`) is work space, and
/// so are the row buffers (each row's maximum, total and counted weight, for the
/// log-likelihoods summed after the tiles; room for `n` rounded up to a tile).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn small_tiles<L: Lanes, const D: usize, const H: usize>(
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

/// `d` rounded up to a multiple of 4.
fn padded(d: usize) -> usize {
    d.div_ceil(4) * 4
}

/// Whether the processor has AVX2 and FMA, the features the vector kernels are compiled for
/// (every processor with AVX2 that we know of also has FMA).
#[cfg(target_arch = "x86_64")]
#[inline]
pub(crate) fn has_avx2() -> bool {
    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
}

/// The columns of the four rows `r..r + 4` of `A` (`d x d`) that the quadratic forms read:
/// up to the diagonal when `A` is lower triangular.
#[inline(always)]
fn panel_width(r: usize, d: usize, lower: bool) -> usize {
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
fn panels(scale: &[f64], d: usize, lower: bool) -> Vec<f64> {
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
fn quad_forms_in<L: Lanes>(
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
fn quad_forms(
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
fn centre_weighted<L: Lanes>(x: &[f64], mu: f64, r: &[f64], z: &mut [f64], wz: &mut [f64]) -> f64 {
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

/// The upper triangle of `sum_i wz_i z_i^T` (`d x d`, row-major) added to `p`, for the `d`
/// rows of `n` values of `wz` and `z`, `ld` apart. Tiles that reach past the last row read it
/// again there, for products that are not kept.
#[inline(always)]
fn products_in<L: Lanes>(wz: &[f64], z: &[f64], d: usize, n: usize, ld: usize, p: &mut [f64]) {
    for a0 in (0..d).step_by(3) {
        for b0 in (a0 / 4 * 4..d).step_by(4) {
            let row = |r: usize| r.min(d - 1) * ld;
            let ra = [row(a0), row(a0 + 1), row(a0 + 2)];
            let rb = [row(b0), row(b0 + 1), row(b0 + 2), row(b0 + 3)];
            let t = product_tile::<L>(wz, z, n, ra, rb);
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
    }
}

/// `acc[i] = sum_l h_l (x_li - mu_l)^2` for the `n` columns of `x` (`d` features, `ld` apart),
/// eight rows at a time in registers.
#[inline(always)]
fn diagonal_forms(mu: &[f64], h: &[f64], x: &[f64], n: usize, ld: usize, acc: &mut [f64]) {
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
fn diagonal_forms_tail(mu: &[f64], h: &[f64], x: &[f64], n: usize, ld: usize, acc: &mut [f64]) {
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
fn diagonal_rows(mu: &[f64], h: &[f64], consts: &[f64], x: &[f64], n: usize, lp: &mut [f64]) {
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
fn moments_rows(r: &[f64], x: &[f64], mu: &[f64], s1: &mut [f64], s2: &mut [f64]) {
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

/// The squared distances of the `n x d` rows `x` to the point `c` (`d`), into `out` (`n`),
/// coordinate `t` in lane `t % 4` and the lanes combined as `(0 + 1) + (2 + 3)`, NaN
/// coordinates skipped (unless `nan_free`, when `x` has none and `c` none either); the
/// arithmetic of k-means' row distances.
pub(crate) fn row_distances(x: &[f64], c: &[f64], nan_free: bool, out: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    if c.len() >= 4 && crate::kernels::has_avx2() {
        // SAFETY: the processor has AVX2 and FMA, the features the function is compiled for.
        return unsafe { avx2::row_distances(x, c, nan_free, out) };
    }
    let d = c.len().max(1);
    for (o, row) in out.iter_mut().zip(x.chunks_exact(d)) {
        *o = lane_distance(row, c);
    }
}

/// A pass of k-means++ over the `n x d` rows `x` (`d = c.len()`): each row's squared distance
/// to the new centroid `c` (as [`row_distances`] computes it); where it is below the row's
/// nearest so far `o[i]`, that becomes it and `j[i]` becomes `label` (when `j` is given); then
/// `o[i] * w[i]` is added to `lanes[i % 4]`.
pub(crate) fn nearest_rows(
    x: &[f64],
    c: &[f64],
    nan_free: bool,
    (o, j, label): (&mut [f64], Option<&mut [u32]>, u32),
    w: &[f64],
    lanes: &mut [f64; 4],
) {
    #[cfg(target_arch = "x86_64")]
    if c.len() >= 4 && crate::kernels::has_avx2() {
        // SAFETY: the processor has AVX2 and FMA, the features the function is compiled for.
        return unsafe { avx2::nearest_rows(x, c, nan_free, (o, j, label), w, lanes) };
    }
    nearest_rows_from(0, x, c, (o, j, label), w, lanes);
}

/// [`nearest_rows`] one row at a time, from row `from`.
#[inline(always)]
fn nearest_rows_from(
    from: usize,
    x: &[f64],
    c: &[f64],
    (o, mut j, label): (&mut [f64], Option<&mut [u32]>, u32),
    w: &[f64],
    lanes: &mut [f64; 4],
) {
    let d = c.len().max(1);
    let n = o.len().min(w.len()).min(x.len() / d);
    for i in from..n {
        let dist = lane_distance(&x[i * d..(i + 1) * d], c);
        if dist < o[i] {
            o[i] = dist;
            if let Some(j) = j.as_deref_mut() {
                j[i] = label;
            }
        }
        lanes[i % 4] += o[i] * w[i];
    }
}

/// Asks the processor to bring `xs` into its second-level cache, ahead of its use (nothing on
/// other processors).
#[inline]
pub(crate) fn prefetch(xs: &[f64]) {
    #[cfg(target_arch = "x86_64")]
    for i in (0..xs.len()).step_by(8) {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T1};
        // SAFETY: `i < xs.len()`; a prefetch reads nothing the program sees.
        unsafe { _mm_prefetch::<_MM_HINT_T1>(xs.as_ptr().add(i).cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = xs;
}

/// One row's squared distance to `c`, in the lanes of [`row_distances`], NaN coordinates
/// skipped.
#[inline]
pub(crate) fn lane_distance(a: &[f64], b: &[f64]) -> f64 {
    let mut s = [0.0; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for t in 0..4 {
            let v = x[t] - y[t];
            s[t] += if v.is_nan() { 0.0 } else { v * v };
        }
    }
    for (t, (x, y)) in ra.iter().zip(rb).enumerate() {
        let v = x - y;
        s[t] += if v.is_nan() { 0.0 } else { v * v };
    }
    (s[0] + s[1]) + (s[2] + s[3])
}

/// Whether any of `xs` is NaN.
pub(crate) fn any_nan(xs: &[f64]) -> bool {
    #[cfg(target_arch = "x86_64")]
    if crate::kernels::has_avx2() {
        // SAFETY: the processor has AVX2 and FMA, the features the function is compiled for.
        return unsafe { avx2::has_nan(xs) };
    }
    xs.chunks(8)
        .any(|c| c.iter().fold(false, |a, v| a | v.is_nan()))
}

/// [`quad_forms`], [`diagonal_forms`], [`products_in`] and the other kernels on AVX2 vectors:
/// every lane does the portable loops' arithmetic in their order.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::{
        __m256d, __m256i, _mm256_add_epi64, _mm256_add_pd, _mm256_and_pd, _mm256_and_si256,
        _mm256_blendv_pd, _mm256_castpd_si256, _mm256_castsi256_pd, _mm256_cmp_pd, _mm256_div_pd,
        _mm256_fmadd_pd, _mm256_hadd_pd, _mm256_loadu_pd, _mm256_maskload_pd, _mm256_movemask_pd,
        _mm256_mul_pd, _mm256_or_pd, _mm256_or_si256, _mm256_permute2f128_pd,
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

    /// Copies the `n x d` rows `xs` into `xt` as `d x n` (one feature per row), four by four
    /// with vector shuffles; returns whether any value is NaN.
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn transpose(xs: &[f64], d: usize, n: usize, ld: usize, xt: &mut [f64]) -> bool {
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

    use super::{
        diagonal_forms_tail, moments_finish, padded, products_in, quad_forms_in, sum_finish,
        MOMENT_TILE_ROWS,
    };

    use super::{exp_series, Lanes, EXP_LN2_HI, EXP_LN2_LO, EXP_MIN, EXP_SHIFTER, LN_COEFFS};

    /// [`Lanes`] on an AVX2 vector. Values of it are made only inside the functions compiled
    /// for AVX2 and FMA (the small-dimension E-step through `summarize_avx2`, and
    /// `quad_forms`, `centre_weighted` and `products` below), which run only on processors
    /// that have both: that is what makes the intrinsics below sound.
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
            unsafe {
                let gt = _mm256_cmp_pd::<_CMP_GT_OQ>(self.0, o.0);
                Avx(_mm256_blendv_pd(o.0, self.0, gt))
            }
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
                let biased =
                    _mm256_and_si256(_mm256_srli_epi64::<52>(bits), _mm256_set1_epi64x(0x7ff));
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
    pub(super) fn sum(a: &[f64]) -> f64 {
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
    pub(super) fn moments(r: &[f64], x: &[f64], mu: f64) -> (f64, f64) {
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
    pub(super) fn quad_forms(
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

    /// [`centre_weighted`] in AVX2 vectors.
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn centre_weighted(
        x: &[f64],
        mu: f64,
        r: &[f64],
        z: &mut [f64],
        wz: &mut [f64],
    ) -> f64 {
        super::centre_weighted::<Avx>(x, mu, r, z, wz)
    }

    /// [`products_in`] in AVX2 vectors.
    #[inline(never)]
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn products(wz: &[f64], z: &[f64], d: usize, n: usize, ld: usize, p: &mut [f64]) {
        products_in::<Avx>(wz, z, d, n, ld, p)
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) fn diagonal_forms(
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
    pub(super) fn has_nan(xs: &[f64]) -> bool {
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
    fn diagonal_tile<const R: usize>(
        x: &[f64],
        mu: &[f64],
        h: &[f64],
        mask: __m256i,
    ) -> [__m256d; R] {
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

    /// [`super::diagonal_rows`]: four rows at a time, their lanes combined with horizontal
    /// additions in the same order.
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn diagonal_rows(
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

    /// [`super::moments_rows`] for all `k` components at once (`r`: `k x n` responsibilities,
    /// `mu`, `s1`, `s2`: `k x d`): tiles of rows that stay in the first-level cache, sixteen
    /// features at a time, each feature in its own lane, its sum continued from tile to tile in
    /// `work` (`2 k padded(d)` values), so that every sum runs over the rows in order from zero.
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn moments_rows_all(
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

    /// [`super::row_distances`], four rows at a time (`c` of at least 4 coordinates).
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn row_distances(x: &[f64], c: &[f64], nan_free: bool, out: &mut [f64]) {
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

    /// [`super::nearest_rows`], four rows at a time (`c` of at least 4 coordinates).
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn nearest_rows(
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
        super::nearest_rows_from(n / 4 * 4, x, c, (o, j, label), w, lanes);
    }
}

/// Whether the processor has AVX-512 (foundation), beside AVX2 and FMA: the quadratic forms, the
/// centring and the products of full covariance, and the small-dimension E-step, then run on
/// 512-bit vectors, with the same arithmetic.
#[cfg(target_arch = "x86_64")]
#[inline]
pub(crate) fn has_avx512() -> bool {
    has_avx2() && std::arch::is_x86_feature_detected!("avx512f")
}

/// [`quad_forms_in`], [`centre_weighted`] and [`products_in`] on AVX-512 vectors, and the
/// [`Lanes`] of the small-dimension E-step. Every value is the same chain of operations as in
/// the portable and AVX2 kernels, in the same order, so the results are the same bit for bit;
/// only more rows (or more products) are in flight at once (and the moments of full covariance
/// go through a block in passes of [`MOMENT_ROWS`](avx512::MOMENT_ROWS) rows, each lane's sums
/// carried from one pass to the next).
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::{
        __m512d, _mm256_loadu_pd, _mm256_set1_pd, _mm512_add_epi64, _mm512_add_pd,
        _mm512_and_si512, _mm512_broadcast_f64x4, _mm512_castpd256_pd512, _mm512_castpd_si512,
        _mm512_castsi512_pd, _mm512_cmp_pd_mask, _mm512_div_pd, _mm512_fmadd_pd,
        _mm512_insertf64x4, _mm512_loadu_pd, _mm512_mask_blend_pd, _mm512_maskz_mov_pd,
        _mm512_mul_pd, _mm512_or_si512, _mm512_set1_epi64, _mm512_set1_pd, _mm512_setzero_pd,
        _mm512_slli_epi64, _mm512_srli_epi64, _mm512_storeu_pd, _mm512_sub_pd, _CMP_EQ_OQ,
        _CMP_GT_OQ, _CMP_LT_OQ, _CMP_UNORD_Q,
    };

    use super::{
        exp_series, padded, panel_width, Lanes, EXP_LN2_HI, EXP_LN2_LO, EXP_MIN, EXP_SHIFTER,
        LN_COEFFS,
    };

    /// [`Lanes`] on an AVX-512 vector: eight lanes, each doing what a lane of `Avx` does. Values
    /// of it are made only inside functions compiled for AVX-512 (`summarize_small_avx512`),
    /// which run only on processors that have it: that is what makes the intrinsics sound.
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
            debug_assert!(super::has_avx512());
            Avx512(set1(v))
        }
        #[inline(always)]
        fn load(s: &[f64]) -> Self {
            debug_assert!(super::has_avx512());
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
            unsafe {
                let gt = _mm512_cmp_pd_mask::<_CMP_GT_OQ>(self.0, o.0);
                Avx512(_mm512_mask_blend_pd(gt, o.0, self.0))
            }
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
                let biased =
                    _mm512_and_si512(_mm512_srli_epi64::<52>(bits), _mm512_set1_epi64(0x7ff));
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

    /// The quadratic forms of [`quad_forms_in`](super::quad_forms_in): 32 rows at a time, then
    /// 8, then the AVX2 kernel for the rest; `ys` holds at least `32 padded(d)` values (when
    /// `n >= 32`; the tiles check it).
    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) fn quad_forms(
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
            super::quad_forms_in::<super::avx2::Avx>(
                a,
                d,
                lower,
                &z[i0..],
                n - i0,
                ld,
                &mut acc[i0..],
                ys,
            );
        }
    }

    /// The values of `z` (and `wz`) row `i` of feature `l` sit at `paired(l, i, g)` in the
    /// paired layout of [`centre_weighted_pair`]: the features in pairs, and in each pair the
    /// rows in fours, the four of the even feature then the same four of the odd one (`g` fours
    /// per pair).
    #[cfg(test)]
    pub(super) fn paired(l: usize, i: usize, g: usize) -> usize {
        (l / 2) * 8 * g + (l % 2) * 4 + in_pair(i)
    }

    /// Where row `i` of the even feature of a pair sits in the pair's part of the paired layout
    /// (that of the odd feature is 4 further on).
    #[inline(always)]
    pub(super) fn in_pair(i: usize) -> usize {
        (i / 4) * 8 + i % 4
    }

    /// The number of fours of rows of the paired layout for `n` rows.
    #[inline(always)]
    pub(super) fn fours(n: usize) -> usize {
        n.div_ceil(4)
    }

    /// Rows per pass of the AVX-512 moments: for a moderate number of features, the centred and
    /// weighted rows of a pass (in the paired layout), the block's rows they come from and the
    /// running sums stay in the first-level cache between the centring and the products.
    pub(super) const MOMENT_ROWS: usize = 64;

    /// Running sums of [`centre_weighted_pair`] (per pair) and [`products`] (per tile), kept
    /// from one pass of rows to the next: each lane goes on adding its rows in order, so that
    /// the sums are those of one pass over all the rows.
    pub(super) struct MomentLanes {
        /// Per pair: `8 h + 4 f + q` is lane `4 h + q` (of sixteen) of feature `f` of the pair.
        pub(super) sums: Vec<[f64; 32]>,
        /// Per tile of [`products`]: `32 p + 8 h + 4 f + q` is lane `q` of the product of the
        /// tile's feature `p` of `wz` with feature `f` of its pair `h` of `z`.
        products: Vec<[f64; 128]>,
    }

    impl MomentLanes {
        /// Room for `d` features.
        pub(super) fn new(d: usize) -> MomentLanes {
            MomentLanes {
                sums: vec![[0.0; 32]; d.div_ceil(2)],
                products: vec![[0.0; 128]; tiles(d).count()],
            }
        }

        /// Every sum back to zero.
        pub(super) fn clear(&mut self) {
            self.sums.fill([0.0; 32]);
            self.products.fill([0.0; 128]);
        }

        /// The two sums of pair `h`, combined as [`lanes16`](super::lanes16) does.
        pub(super) fn sums(&self, h: usize) -> [f64; 2] {
            let s = &self.sums[h];
            std::array::from_fn(|f| {
                super::lanes16(std::array::from_fn(|t| s[(t / 4) * 8 + 4 * f + t % 4]))
            })
        }

        /// The upper triangle of the products, lanes combined as in `super::product_tile`, added to
        /// `p` (`d x d`, row-major).
        pub(super) fn add_products(&self, d: usize, p: &mut [f64]) {
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

    /// [`centre_weighted`](super::centre_weighted) of two features at once, `xa` and `xb` (the
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
    pub(super) fn centre_weighted_pair(
        (xa, xb): (&[f64], &[f64]),
        mu: [f64; 2],
        r: &[f64],
        zp: &mut [f64],
        acc: &mut [f64; 32],
    ) {
        let n = xa.len();
        let (g, n16) = (fours(n), n / 16 * 16);
        let (xb, r) = (&xb[..n], &r[..n]);
        let zp = &mut zp[..8 * g];
        // SAFETY: the processor has AVX-512 (the function's contract); the loads read rows
        // `t..t + 4` with `t + 4 <= n16 <= n`, the stores places `2 t..2 t + 8 <= 2 n16 <= 8 g`,
        // the lanes `8 h..8 h + 8 <= 32`.
        unsafe {
            let m = _mm512_insertf64x4::<1>(
                _mm512_castpd256_pd512(_mm256_set1_pd(mu[0])),
                _mm256_set1_pd(mu[1]),
            );
            let pl = acc.as_mut_ptr();
            let mut lanes: [__m512d; 4] = std::array::from_fn(|h| _mm512_loadu_pd(pl.add(8 * h)));
            let (pa, pb, pr) = (xa.as_ptr(), xb.as_ptr(), r.as_ptr());
            let pz = zp.as_mut_ptr();
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
    /// places, as in `super::product_tile`.
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

    /// [`products_in`](super::products_in) with `z` in the paired layout of
    /// [`centre_weighted_pair`] and `wz` its rows times the responsibilities `r`, in tiles of
    /// four by eight products, added to the running lanes of `acc`: rows `0..n` of a pass that
    /// starts at a multiple of four, `n` a multiple of four but in the last pass
    /// ([`MomentLanes::add_products`] then gives the products).
    #[inline(never)]
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) fn products(r: &[f64], zp: &[f64], d: usize, n: usize, acc: &mut MomentLanes) {
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

    /// The moments of one component over the `n` rows of a transposed block `xt` (`d` rows,
    /// `ld` apart; `mu` the component's centres, `r` its responsibilities): the sums added to
    /// `sum` and the upper triangle of the products to `p` (`d x d`, row-major), in passes of
    /// [`MOMENT_ROWS`] rows through `zp` (of `(d + 1) MOMENT_ROWS` values at least) and the
    /// running lanes `acc`; the same sums as one pass over all the rows.
    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) fn moments(
        (xt, d, n, ld): (&[f64], usize, usize, usize),
        mu: &[f64],
        r: &[f64],
        zp: &mut [f64],
        acc: &mut MomentLanes,
        sum: &mut [f64],
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
        for l in (0..d).step_by(2) {
            let sums = acc.sums(l / 2);
            sum[l] += sums[0];
            if l + 1 < d {
                sum[l + 1] += sums[1];
            }
        }
        acc.add_products(d, p);
    }
}

/// `sum_i a_i`, in eight lanes combined in a fixed order.
#[inline(always)]
fn sum8(a: &[f64]) -> f64 {
    let mut acc = [0.0; 16];
    for c in a.chunks_exact(16) {
        for t in 0..16 {
            acc[t] += c[t];
        }
    }
    sum_finish(acc, a)
}

#[inline(always)]
fn sum_finish(mut acc: [f64; 16], a: &[f64]) -> f64 {
    for (t, &v) in a.chunks_exact(16).remainder().iter().enumerate() {
        acc[t] += v;
    }
    lanes16(acc)
}

/// `(sum_i r_i (x_i - mu), sum_i r_i (x_i - mu)^2)`, in sixteen lanes (enough independent
/// additions to hide their latency).
#[inline(always)]
fn moments8(r: &[f64], x: &[f64], mu: f64) -> (f64, f64) {
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

#[inline(always)]
fn moments_finish(
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

#[inline(always)]
fn lanes16(a: [f64; 16]) -> f64 {
    let (lo, hi) = a.split_at(8);
    let mut b = [0.0; 8];
    for t in 0..8 {
        b[t] = lo[t] + hi[t];
    }
    lanes(b)
}

#[inline(always)]
fn lanes(a: [f64; 8]) -> f64 {
    ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]))
}

/// `ln 2` split so that `n * EXP_LN2_HI` is exact for `|n| < 2^11` (Cody and Waite).
const EXP_LN2_HI: f64 = 0.693_147_180_369_123_8;
/// The rest of `ln 2`.
const EXP_LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
/// `1.5 * 2^52`: adding it rounds to an integer, which then sits in the low bits.
const EXP_SHIFTER: f64 = 6_755_399_441_055_744.0;
/// Below this, `e^x` would be subnormal: [`exp_nonpositive`] returns 0.
const EXP_MIN: f64 = -708.39;
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

/// `sum_i EXP_COEFFS[i] r^i` in lanes `L` (the same operations in the same order for every lane
/// type, so that the scalar and vector `exp` agree bit for bit): the terms from `r^2` on by
/// Estrin's scheme, then `1 + (r + r^2 T)`, so that the large terms are added last.
#[inline(always)]
fn exp_series<L: Lanes>(r: L) -> L {
    let c = |i: usize| L::splat(EXP_COEFFS[i]);
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
const LN_COEFFS: [f64; 10] = [
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fused_full_covariance_blocks_are_the_same_on_every_path() {
        use crate::MultivariateGaussian;
        use ndarray::{Array1, Array2};
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        for (d, n) in [(16, 256), (5, 201), (17, 90), (1, 7)] {
            let dists: Vec<MultivariateGaussian> = (0..3)
                .map(|j| {
                    let a = Array2::from_shape_fn((d, d), |_| next());
                    let cov = a.dot(&a.t()) + Array2::<f64>::eye(d) * (0.5 + j as f64);
                    let means = Array1::from_shape_fn(d, |_| 3.0 * next());
                    MultivariateGaussian::new(means, cov).expect("a covariance")
                })
                .collect();
            let plan = Plan::new(&dists, &[-1.0, -1.2, -1.1]).expect("a full plan");
            let x = Array2::from_shape_fn((n, d), |_| 4.0 * next());
            let w: Vec<f64> = (0..n).map(|i| (i % 3) as f64 * 0.5).collect();
            let run = |portable: bool| {
                let (mut s, mut m) = (plan.scratch(), plan.moments());
                assert!(plan.load(x.view(), &mut s));
                let t = if portable {
                    plan.with_rows(&x.view(), &mut s, |xr, n, s| {
                        plan.summarize_t::<false>(xr, n, Some(&w), s, &mut m)
                    })
                } else {
                    plan.summarize(x.view(), Some(&w), &mut s, &mut m)
                };
                let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                let got = (bits(&m.weight), bits(&m.sum), bits(&m.products));
                (got, t.log_likelihood.to_bits(), t.invalid)
            };
            assert_eq!(run(true), run(false), "{d} {n}");
        }
    }

    #[test]
    fn ln_is_accurate() {
        let mut worst: f64 = 0.0;
        let mut x = 1.0;
        while x < 1e6 {
            let (a, b) = (ln_positive(x), x.ln());
            worst = worst.max(if b == 0.0 {
                a.abs()
            } else {
                ((a - b) / b).abs()
            });
            x *= 1.000_37;
            x += 1e-9;
        }
        for x in [
            1.0,
            1.0 + f64::EPSILON,
            2.0,
            std::f64::consts::SQRT_2,
            1.5,
            64.0,
            1e300,
        ] {
            let (a, b) = (ln_positive(x), x.ln());
            worst = worst.max(if b == 0.0 {
                a.abs()
            } else {
                ((a - b) / b).abs()
            });
        }
        assert!(worst < 4e-16, "{worst}");
        assert!(ln_positive(f64::NAN).is_nan());
        assert_eq!(ln_positive(f64::INFINITY), f64::INFINITY);
    }

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

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_kernels_match_the_portable_ones_bit_for_bit() {
        if !crate::kernels::has_avx2() {
            return;
        }
        let mut seed = 7u64;
        let mut next = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        for (d, n) in [
            (1, 5),
            (2, 256),
            (5, 37),
            (16, 256),
            (9, 100),
            (13, 2),
            (8, 2),
            (64, 256),
            (11, 77),
            (24, 45),
            (17, 200),
            (6, 131),
            (7, 90),
        ] {
            let dp = padded(d);
            let a: Vec<f64> = (0..dp * d)
                .map(|i| {
                    if i / d < d && i % d <= i / d {
                        next()
                    } else {
                        0.0
                    }
                })
                .collect();
            let z: Vec<f64> = (0..d * n).map(|_| next() * 10.0).collect();
            // The same features `ld` apart, NaN in between: the kernels must not read there.
            let ld = n + 5;
            let mut zp = vec![f64::NAN; d * ld];
            for c in 0..d {
                zp[c * ld..c * ld + n].copy_from_slice(&z[c * n..(c + 1) * n]);
            }
            let (mut p, mut q) = (vec![0.0; n], vec![0.0; n]);
            let b: Vec<f64> = (0..dp)
                .map(|r| if r < d { next() * 10.0 } else { 0.0 })
                .collect();
            // Lower triangular, and full (the upper entries read too).
            let full: Vec<f64> = (0..dp * d)
                .map(|i| if i / d < d { next() } else { 0.0 })
                .collect();
            for lower in [true, false] {
                let a = if lower { &a } else { &full };
                let pan = panels(a, d, lower);
                assert_eq!(pan.len(), panels_len(d, lower));
                let mut ys = vec![0.0; dp * 32];
                quad_forms((&pan, &b), d, lower, &zp, n, ld, &mut p, &mut ys);
                // SAFETY: the processor has AVX2 and FMA (checked above).
                unsafe { avx2::quad_forms((&pan, &b), d, lower, &zp, n, ld, &mut q, &mut ys) };
                assert_eq!(p, q);
                if has_avx512() {
                    q.fill(0.0);
                    // SAFETY: the processor has AVX-512 (checked).
                    unsafe {
                        avx512::quad_forms((&pan, &b), d, lower, &zp, n, ld, &mut q, &mut ys)
                    };
                    assert_eq!(p, q, "AVX-512, {d} {n} {lower}");
                }
                let mut dense = vec![0.0; n];
                quad_forms((&pan, &b), d, lower, &z, n, n, &mut dense, &mut ys);
                assert_eq!(p, dense);
                for (i, &v) in p.iter().enumerate() {
                    let want: f64 = (0..d)
                        .map(|r| {
                            ((0..d).map(|c| a[r * d + c] * z[c * n + i]).sum::<f64>() - b[r])
                                .powi(2)
                        })
                        .sum();
                    assert!((v - want).abs() <= 1e-12 * want, "{d} {n} {i}");
                }
            }
            let mu: Vec<f64> = (0..d).map(|_| next()).collect();
            let h: Vec<f64> = (0..d).map(|_| next() + 1.0).collect();
            diagonal_forms(&mu, &h, &zp, n, ld, &mut p);
            // SAFETY: as above.
            unsafe { avx2::diagonal_forms(&mu, &h, &zp, n, ld, &mut q) };
            assert_eq!(p, q);
            assert!(p.iter().all(|v| v.is_finite()));
            // The transposition is a copy, NaN found wherever it is.
            let ldt = d + 3;
            let mut t = vec![0.0; n * ldt];
            // SAFETY: as above.
            assert!(!unsafe { avx2::transpose(&z, n, d, ldt, &mut t) });
            for i in 0..d {
                for c in 0..n {
                    assert_eq!(t[c * ldt + i], z[i * n + c]);
                }
            }
            let mut holes = z.clone();
            holes[(d * n) / 2] = f64::NAN;
            // SAFETY: as above.
            assert!(unsafe { avx2::transpose(&holes, n, d, ldt, &mut t) });
            let r: Vec<f64> = (0..n).map(|_| next() + 0.5).collect();
            // SAFETY: as above (three times).
            unsafe {
                assert_eq!(sum8(&z), avx2::sum(&z));
                assert_eq!(moments8(&r, &z[..n], 0.3), avx2::moments(&r, &z[..n], 0.3));
            }
            // Centred and weighted rows, and their sum.
            let (mut z1, mut w1, mut z2, mut w2) =
                (vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]);
            let s1 = centre_weighted::<Quad>(&z[..n], 0.7, &r, &mut z1, &mut w1);
            // SAFETY: as above.
            let s2 = unsafe { avx2::centre_weighted(&z[..n], 0.7, &r, &mut z2, &mut w2) };
            assert_eq!((s1, &z1, &w1), (s2, &z2, &w2));
            let want: f64 = (0..n).map(|i| r[i] * (z[i] - 0.7)).sum();
            assert!((s1 - want).abs() <= 1e-9 * (1.0 + want.abs()));
            assert!((0..n).all(|i| z1[i] == z[i] - 0.7 && w1[i] == r[i] * z1[i]));
            // The products of the moments: the rows of `zp` weighted; the upper triangle added
            // to what is there.
            let wz: Vec<f64> = zp
                .iter()
                .enumerate()
                .map(|(t, &v)| if t % ld < n { v * r[t % ld] } else { f64::NAN })
                .collect();
            let (mut p, mut q) = (vec![1.0; d * d], vec![1.0; d * d]);
            products_in::<Quad>(&wz, &zp, d, n, ld, &mut p);
            // SAFETY: as above.
            unsafe { avx2::products(&wz, &zp, d, n, ld, &mut q) };
            assert_eq!(p, q);
            if has_avx512() {
                // The centred rows in the paired layout, pair by pair (a last feature of its own
                // in both halves), NaN in the places no row fills, and the sums of the weighted
                // ones.
                let g = avx512::fours(n);
                let mut paired = vec![f64::NAN; (d + 1) * 8 * g];
                let x: Vec<Vec<f64>> = (0..d)
                    .map(|l| (0..n).map(|i| zp[l * ld + i] + 0.7).collect())
                    .collect();
                let mu = |l: usize| 0.7 - 0.125 * l as f64;
                let mut acc = avx512::MomentLanes::new(d);
                for l in (0..d).step_by(2) {
                    let l2 = (l + 1).min(d - 1);
                    let pair = (l / 2) * 8 * g..(l / 2 + 1) * 8 * g;
                    // SAFETY: the processor has AVX-512 (checked).
                    unsafe {
                        avx512::centre_weighted_pair(
                            (&x[l], &x[l2]),
                            [mu(l), mu(l2)],
                            &r,
                            &mut paired[pair],
                            &mut acc.sums[l / 2],
                        )
                    };
                    let sums = acc.sums(l / 2);
                    for (f, lf) in [l, l2].into_iter().enumerate() {
                        let (mut z1, mut w1) = (vec![0.0; n], vec![0.0; n]);
                        let s1 = centre_weighted::<Quad>(&x[lf], mu(lf), &r, &mut z1, &mut w1);
                        assert_eq!(s1.to_bits(), sums[f].to_bits());
                        for (i, z) in z1.iter().enumerate() {
                            let at = (l / 2) * 8 * g + avx512::in_pair(i) + 4 * f;
                            assert_eq!(z.to_bits(), paired[at].to_bits());
                            if f + l == lf {
                                assert_eq!(at, avx512::paired(lf, i, g));
                            }
                        }
                    }
                }
                // The products of the rows as they are (not those of the centring above), the
                // weighted ones those of `wz`.
                for l in 0..d {
                    for i in 0..n {
                        paired[avx512::paired(l, i, g)] = zp[l * ld + i];
                    }
                }
                q.fill(1.0);
                acc.clear();
                // SAFETY: as above.
                unsafe { avx512::products(&r, &paired, d, n, &mut acc) };
                acc.add_products(d, &mut q);
                assert_eq!(p, q, "AVX-512, {d} {n}");
                // The moments in passes of rows: the same sums as in one pass.
                let xt: Vec<f64> = zp.iter().map(|v| v + 0.7).collect();
                let mus: Vec<f64> = (0..d).map(mu).collect();
                let (mut sum1, mut p1) = (vec![0.5; d], vec![1.0; d * d]);
                let (mut z1, mut w1) = (vec![0.0; d * ld], vec![0.0; d * ld]);
                for l in 0..d {
                    let row = l * ld..l * ld + n;
                    let (z, w) = (&mut z1[row.clone()], &mut w1[row.clone()]);
                    sum1[l] += centre_weighted::<Quad>(&xt[row], mus[l], &r, z, w);
                }
                products_in::<Quad>(&w1, &z1, d, n, ld, &mut p1);
                let (mut sum2, mut p2) = (vec![0.5; d], vec![1.0; d * d]);
                let mut z2 = vec![f64::NAN; (d + 1) * avx512::MOMENT_ROWS];
                // SAFETY: as above.
                unsafe {
                    avx512::moments(
                        (&xt, d, n, ld),
                        &mus,
                        &r,
                        &mut z2,
                        &mut acc,
                        &mut sum2,
                        &mut p2,
                    )
                };
                let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&sum1), bits(&sum2), "AVX-512 moments, {d} {n}");
                assert_eq!(bits(&p1), bits(&p2), "AVX-512 moments, {d} {n}");
            }
            for a in 0..d {
                for b in 0..d {
                    let want: f64 = 1.0
                        + if b >= a {
                            (0..n)
                                .map(|i| r[i] * z[a * n + i] * z[b * n + i])
                                .sum::<f64>()
                        } else {
                            0.0
                        };
                    assert!((p[a * d + b] - want).abs() <= 1e-9 * (1.0 + want.abs()));
                }
            }
        }
        // The quadratic forms are what they say.
        let (d, n) = (3, 9);
        let a: Vec<f64> = vec![1.0, 0.0, 0.0, 0.5, 2.0, 0.0, -1.0, 0.25, 3.0, 0.0, 0.0, 0.0];
        let z: Vec<f64> = (0..d * n).map(|i| i as f64 * 0.1).collect();
        let mut out = vec![0.0; n];
        let b = [0.5, -1.0, 2.0, 0.0];
        quad_forms(
            (&panels(&a, d, true), &b),
            d,
            true,
            &z,
            n,
            n,
            &mut out,
            &mut [0.0; 32],
        );
        for i in 0..n {
            let zi: Vec<f64> = (0..d).map(|c| z[c * n + i]).collect();
            let want: f64 = (0..d)
                .map(|r| ((0..d).map(|c| a[r * d + c] * zi[c]).sum::<f64>() - b[r]).powi(2))
                .sum();
            assert!((out[i] - want).abs() < 1e-12 * (1.0 + want), "{i}");
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn row_major_and_distance_kernels_match_the_portable_ones_bit_for_bit() {
        if !crate::kernels::has_avx2() {
            return;
        }
        let mut seed = 11u64;
        let mut next = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        for (d, n, k) in [
            (8, 256, 3),
            (13, 37, 2),
            (22, 255, 4),
            (4, 9, 1),
            (67, 64, 2),
        ] {
            let x: Vec<f64> = (0..n * d).map(|_| next() * 6.0).collect();
            let mu: Vec<f64> = (0..k * d).map(|_| next()).collect();
            let h: Vec<f64> = (0..k * d).map(|_| next() + 1.0).collect();
            let consts: Vec<f64> = (0..k).map(|_| next()).collect();
            let (mut p, mut q) = (vec![0.0; k * n], vec![0.0; k * n]);
            diagonal_rows(&mu, &h, &consts, &x, n, &mut p);
            // SAFETY: the processor has AVX2 and FMA (checked above).
            unsafe { avx2::diagonal_rows(&mu, &h, &consts, &x, n, &mut q) };
            assert_eq!(p, q, "{d} {n}");
            for (i, row) in x.chunks_exact(d).enumerate() {
                let want: f64 = (0..d).map(|l| h[l] * (row[l] - mu[l]).powi(2)).sum();
                assert!((consts[0] - want - p[i]).abs() < 1e-12 * (1.0 + want));
            }
            let r: Vec<f64> = (0..k * n).map(|_| next() + 0.5).collect();
            let (mut s1, mut s2) = (vec![0.25; k * d], vec![0.5; k * d]);
            for j in 0..k {
                let rows = j * d..(j + 1) * d;
                let (a, b) = (&mut s1[rows.clone()], &mut s2[rows.clone()]);
                moments_rows(&r[j * n..(j + 1) * n], &x, &mu[rows], a, b);
            }
            let (mut t1, mut t2) = (vec![0.25; k * d], vec![0.5; k * d]);
            let mut work = vec![0.0; 2 * k * padded(d)];
            // SAFETY: as above.
            unsafe { avx2::moments_rows_all(d, &r, &x, &mu, &mut t1, &mut t2, &mut work) };
            assert_eq!(s1, t1, "{d} {n}");
            assert_eq!(s2, t2, "{d} {n}");
            // Distances: with and without NaN coordinates, and the check for them.
            let c: Vec<f64> = (0..d).map(|_| next()).collect();
            let mut holes = x.clone();
            holes[(n * d) / 2] = f64::NAN;
            holes[d - 1] = f64::NAN;
            for (rows, clean) in [(&x, true), (&x, false), (&holes, false)] {
                let mut got = vec![0.0; n];
                row_distances(rows, &c, clean, &mut got);
                let want: Vec<f64> = rows.chunks_exact(d).map(|r| lane_distance(r, &c)).collect();
                assert_eq!(got, want, "{d} {n} {clean}");
            }
            assert!(!any_nan(&x) && any_nan(&holes));
            // A k-means++ pass: the nearest distances, their owners and the lane sums, from
            // nearest distances that tie, lose and win (and an infinite one).
            let w: Vec<f64> = (0..n).map(|_| next() + 0.5).collect();
            for (rows, clean) in [(&x, true), (&holes, false)] {
                let dist: Vec<f64> = rows.chunks_exact(d).map(|r| lane_distance(r, &c)).collect();
                let start: Vec<f64> = (0..n)
                    .map(|i| match i % 4 {
                        0 => dist[i],
                        1 => dist[i] * 2.0,
                        2 => dist[i] * 0.5,
                        _ => f64::INFINITY,
                    })
                    .collect();
                let (mut o1, mut o2) = (start.clone(), start.clone());
                let (mut j1, mut j2) = (vec![7u32; n], vec![7u32; n]);
                let (mut l1, mut l2) = ([0.5; 4], [0.5; 4]);
                nearest_rows_from(0, rows, &c, (&mut o1, Some(&mut j1), 3), &w, &mut l1);
                nearest_rows(rows, &c, clean, (&mut o2, Some(&mut j2), 3), &w, &mut l2);
                assert_eq!((&o1, &j1, l1), (&o2, &j2, l2), "{d} {n} {clean}");
                let mut o3 = start.clone();
                let mut l3 = [0.5; 4];
                nearest_rows(rows, &c, clean, (&mut o3, None, 3), &w, &mut l3);
                assert_eq!((&o1, l1), (&o3, l3));
                for i in 0..n {
                    let closer = dist[i] < start[i];
                    assert_eq!(
                        o1[i].to_bits(),
                        if closer { dist[i] } else { start[i] }.to_bits()
                    );
                    assert_eq!(j1[i], if closer { 3 } else { 7 });
                }
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn vector_exp_and_ln_match_the_scalar_ones_bit_for_bit() {
        if !crate::kernels::has_avx2() {
            return;
        }
        let mut xs: Vec<f64> = (0..20_000).map(|i| -750.0 + i as f64 * 0.037_5).collect();
        xs.extend([
            0.0,
            -0.0,
            -1e-300,
            -708.39,
            -708.4,
            f64::NEG_INFINITY,
            f64::NAN,
            -1.0,
        ]);
        let mut ys: Vec<f64> = (0..20_000)
            .map(|i| 1.0 + (i as f64 * 0.013).powi(3))
            .collect();
        ys.extend([
            1.0,
            std::f64::consts::SQRT_2,
            2.0,
            1e300,
            f64::INFINITY,
            f64::NAN,
            1.5,
            3.0,
        ]);
        // Whole vectors of four and of eight: every special value above is tested.
        assert!(xs.len().is_multiple_of(8) && ys.len().is_multiple_of(8));
        for (v, f, g) in [
            (&xs, exp_nonpositive as fn(f64) -> f64, 0),
            (&ys, ln_positive as fn(f64) -> f64, 1),
        ] {
            for q in v.chunks_exact(4) {
                let mut got = [0.0; 4];
                let lanes = avx2::Avx::load(q);
                let out = if g == 0 { lanes.exp() } else { lanes.ln() };
                out.store(&mut got);
                for (a, &x) in got.iter().zip(q) {
                    assert_eq!(a.to_bits(), f(x).to_bits(), "{x}");
                }
            }
            if !has_avx512() {
                continue;
            }
            for q in v.chunks_exact(8) {
                let mut got = [0.0; 8];
                let lanes = avx512::Avx512::load(q);
                let out = if g == 0 { lanes.exp() } else { lanes.ln() };
                out.store(&mut got);
                for (a, &x) in got.iter().zip(q) {
                    assert_eq!(a.to_bits(), f(x).to_bits(), "AVX-512: {x}");
                }
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn small_dimension_tiles_are_the_same_in_every_lane_type() {
        if !crate::kernels::has_avx2() {
            return;
        }
        let mut seed = 5u64;
        let mut next = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        /// Per-lane sums, log-likelihoods, unexplained weight, first invalid row.
        type Tiles = (
            Vec<[[f64; SMALL_LANES]; SMALL_SUMS]>,
            [f64; SMALL_LANES],
            f64,
            Option<usize>,
        );
        fn run<L: Lanes, const D: usize, const H: usize>(
            plan: (&[f64], &[f64], &[f64], bool),
            xt: &[f64],
            n: usize,
            w: Option<&[f64]>,
        ) -> Tiles {
            let k = plan.2.len();
            let mut acc = vec![[[0.0; SMALL_LANES]; SMALL_SUMS]; k];
            let (mut ll, mut lp) = ([0.0; SMALL_LANES], vec![0.0; k * SMALL_LANES]);
            let tiled = n.div_ceil(SMALL_LANES) * SMALL_LANES;
            let mut rows = (vec![0.0; tiled], vec![0.0; tiled], vec![0.0; tiled]);
            let mut out = BlockTotals {
                log_likelihood: 0.0,
                unexplained: 0.0,
                invalid: None,
            };
            let rows = (&mut rows.0[..], &mut rows.1[..], &mut rows.2[..]);
            small_tiles::<L, D, H>(
                plan,
                xt,
                (n, n),
                w,
                &mut lp,
                &mut acc,
                &mut ll,
                rows,
                &mut out,
            );
            (acc, ll, out.unexplained, out.invalid)
        }
        for (d, n, k) in [(2, 37, 3), (3, 64, 2), (1, 5, 4), (4, 19, 2)] {
            let dp = padded(d);
            let means: Vec<f64> = (0..k * d).map(|_| next()).collect();
            let scale: Vec<f64> = (0..k * dp * d)
                .map(|i| {
                    let (r, c) = ((i / d) % dp, i % d);
                    if r < d && c <= r {
                        next() + if r == c { 1.5 } else { 0.0 }
                    } else {
                        0.0
                    }
                })
                .collect();
            let consts: Vec<f64> = (0..k).map(|_| next()).collect();
            let mut xt: Vec<f64> = (0..d * n).map(|_| next() * 8.0).collect();
            xt[n / 2] = 1e200; // a row far out: its quadratic form overflows
            let w: Vec<f64> = (0..n)
                .map(|i| if i % 7 == 3 { 0.0 } else { 0.5 + next() })
                .collect();
            let plan = (&means[..], &scale[..], &consts[..], true);
            let (a, b, c) = match d {
                1 => (
                    run::<Quad, 1, 2>(plan, &xt, n, Some(&w)),
                    run::<avx2::Avx, 1, 2>(plan, &xt, n, Some(&w)),
                    has_avx512().then(|| run::<avx512::Avx512, 1, 1>(plan, &xt, n, Some(&w))),
                ),
                2 => (
                    run::<Quad, 2, 2>(plan, &xt, n, Some(&w)),
                    run::<avx2::Avx, 2, 2>(plan, &xt, n, Some(&w)),
                    has_avx512().then(|| run::<avx512::Avx512, 2, 1>(plan, &xt, n, Some(&w))),
                ),
                3 => (
                    run::<Quad, 3, 2>(plan, &xt, n, None),
                    run::<avx2::Avx, 3, 2>(plan, &xt, n, None),
                    has_avx512().then(|| run::<avx512::Avx512, 3, 1>(plan, &xt, n, None)),
                ),
                _ => (
                    run::<Quad, 4, 2>(plan, &xt, n, None),
                    run::<avx2::Avx, 4, 2>(plan, &xt, n, None),
                    has_avx512().then(|| run::<avx512::Avx512, 4, 1>(plan, &xt, n, None)),
                ),
            };
            if let Some(c) = c {
                assert_eq!(a.0, c.0, "AVX-512 {d}");
                assert_eq!(a.1, c.1, "AVX-512 {d}");
                assert_eq!((a.2, a.3), (c.2, c.3), "AVX-512 {d}");
            }
            assert_eq!(a.0, b.0, "{d}");
            assert_eq!(a.1, b.1, "{d}");
            assert_eq!((a.2, a.3), (b.2, b.3), "{d}");
            assert!(a.1.iter().all(|v| v.is_finite()));
        }
    }

    #[test]
    fn lane_sums_are_sums() {
        let a: Vec<f64> = (0..37).map(|i| i as f64 * 0.5).collect();
        let b: Vec<f64> = (0..37).map(|i| 3.0 - i as f64).collect();
        assert_eq!(sum8(&a), a.iter().sum::<f64>());
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
