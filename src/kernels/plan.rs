//! The plan of a mixture of Gaussians: its parameters laid out for the kernels, the path its
//! blocks take (chosen once, in [`Plan::new`]), the kernel path ([`Isa`]) it runs on, and the
//! fused E-step of a block ([`Plan::load`], then [`Plan::log_joint`], [`Plan::posteriors`] or
//! [`Plan::summarize`]).

use super::aligned::Aligned;
use super::dispatch::{Isa, Level};
use super::distance::has_nan;
use super::forms::{Gaussian, GaussianMoments};
use super::lanes::{Lanes, Quad};
use super::math::{exp32_nonpositive, exp_nonpositive, ln_positive};
use super::portable::{
    centre_weighted, diagonal_forms, diagonal_rows, lanes, moments8, moments_rows, padded, panels,
    panels_len, products_in, quad_forms, row_products, sum8,
};
use super::single::{self, max_abs_bits, padded8, Oct, Single, WIDTH};
use super::single_full::{self, SingleFull, Work};
use super::small::{self, small_tiles, SMALL_LANES, SMALL_MAX_FEATURES, SMALL_SUMS};
#[cfg(target_arch = "x86_64")]
use super::x86::{avx2, avx512, single as x86_single};
use crate::error::Result;
use crate::parallel::BLOCK_ROWS;
use crate::rows::Rows;
use crate::validate::{too_large, zeroed_vec};

/// Diagonal Gaussians of this many features or more are evaluated on the rows as they are: a
/// row then fills whole vectors, and the block needs no transposition.
const ROWS_MIN_FEATURES: usize = 8;

/// Whether the scale factors of a Gaussian form and its `log_norm` are all finite (the only
/// forms the kernels take).
fn finite_form<'a>(scale: impl IntoIterator<Item = &'a f64>, log_norm: f64) -> bool {
    log_norm.is_finite() && scale.into_iter().all(|v| v.is_finite())
}

/// The path the blocks of a plan take, chosen once by [`Plan::new`] from the form of the
/// components and the number of features `d`. The work space each one uses is listed in
/// [`Scratch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Path {
    /// Full covariance in at most [`SMALL_MAX_FEATURES`] features: the fused E-step keeps a
    /// tile of rows in registers through all its stages (see [`small_tiles`]; blocks of `f32`
    /// rows, see [`small::small_tiles32`]); the log-densities alone (and the posteriors) are
    /// those of [`Path::Full`]. `lower` when every `inv_chol` is lower triangular (the loops
    /// then skip the zeros).
    Small {
        /// Whether every `inv_chol` is lower triangular.
        lower: bool,
    },
    /// Full covariance: the block transposed (one feature per row, less the plan's origin),
    /// quadratic forms on the [`panels`], then the moments by centring and products.
    Full {
        /// Whether every `inv_chol` is lower triangular.
        lower: bool,
    },
    /// Diagonal in fewer than [`ROWS_MIN_FEATURES`] features: the block transposed.
    DiagonalTransposed,
    /// Diagonal in at least [`ROWS_MIN_FEATURES`] features: the kernels read the rows as they
    /// are (features contiguous), or a copy when the block is not contiguous.
    DiagonalRows,
}

impl Path {
    /// Whether the components have full covariance.
    fn full(self) -> bool {
        matches!(self, Path::Small { .. } | Path::Full { .. })
    }
}

/// The parameters of a mixture of Gaussians, laid out for the kernels.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    d: usize,
    k: usize,
    path: Path,
    /// The kernel path the blocks run on.
    isa: Isa,
    /// `k x d`.
    means: Vec<f64>,
    /// Full: `k x dp x d` (`L^-1` per component, its rows padded with zero rows to `dp`, a
    /// multiple of 4), kept for [`Path::Small`] only (empty on [`Path::Full`]); diagonal:
    /// `k x d` (`1 / (2 sigma^2)`).
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
    /// `DiagonalRows`: the parameters for the `f32` kernels, which blocks of `f32` rows take
    /// (see [`single`]); `None` on the other paths and when they do not fit `f32`.
    single: Option<Single>,
    /// `Small` and `Full`: the parameters for the `f32` kernels of full covariance (see
    /// [`single_full`]); `None` on the other paths, when `L^-1` is not lower triangular, from
    /// [`single_full::MAX_FEATURES`] features on, and when they do not fit `f32` or a component
    /// is too ill-conditioned for them.
    single_full: Option<SingleFull>,
}

/// Where the rows of a loaded block are, for the row-major kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Held {
    /// In the block itself (contiguous `f64` rows), read by the `f64` kernels; for the
    /// transposing paths, in `Scratch::xt` as `f64`.
    InPlace,
    /// In the block itself (contiguous `f32` rows), read by the `f32` kernels.
    InPlaceF32,
    /// In `Scratch::xt` as `f64` (a block that was not contiguous, or `f32` rows that the `f32`
    /// kernels do not take), read by the `f64` kernels.
    CopyF64,
    /// In `Scratch::x32` (`f32` rows that were not contiguous), read by the `f32` kernels.
    CopyF32,
    /// `Small`, `Full`: in `Scratch::x32`, transposed as `f32` (`d` rows of `n` rounded up to a
    /// multiple of eight, zeros past `n`; the rows after them are not read), read by the `f32`
    /// kernels of full covariance.
    TransposedF32,
}

/// The rows of a block as the row-major kernels read them.
#[derive(Clone, Copy)]
enum RowSlice<'a> {
    F64(&'a [f64]),
    F32(&'a [f32]),
}

/// Per-chunk sums of the kernels.
#[derive(Debug, Clone)]
pub(crate) struct Moments {
    /// `sum_i r_ij`, per component.
    pub weight: Vec<f64>,
    /// `sum_i r_ij (x_i - mu_j)`, `k x d`.
    pub sum: Vec<f64>,
    /// Full: the upper triangles of `sum_i r_ij (x_i - mu_j)(x_i - mu_j)^T`, `k x d x d`;
    /// diagonal: `sum_i r_ij (x_il - mu_jl)^2`, `k x d`.
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

/// Work space of one chunk. What each [`Path`] uses (`n` rows in the block, `k` components, `d`
/// features; the rest is empty):
///
/// | field    | `Small`          | `Full`                | `DiagonalTransposed` | `DiagonalRows` |
/// |----------|------------------|-----------------------|----------------------|----------------|
/// | `xt`     | `x - o`, `d x n` | `x - o`, `d x n`      | `x`, `d x n`         | a copy, `n x d`|
/// | `x32`    | as `Full`        | `f32` `x`, transposed |                      | an `f32` copy  |
/// | `w32`    | as `Full`, and r | `f32` kernels' work   |                      | `f32` x, groups|
/// | `held`   | as `Full`        | `f32` or `f64`        |                      | where the rows |
/// | `work`   | as `Full`        | `f32` moments' sums   |                      | sums, `r` sums |
/// | `small`  | per-lane sums    |                       |                      |                |
/// | `z`      | quadratic forms  | forms, centred rows   |                      |                |
/// | `wz`     | (allocated only) | weighted centred rows |                      |                |
/// | `lanes`  | (allocated only) | AVX-512 moments' sums |                      |                |
///
/// and every path uses `y`, `acc`, `max` and `lp` (whose meanings in the small-dimension
/// E-step are its own, see the fields).
pub(crate) struct Scratch {
    /// The block transposed (`d x n`; full covariance: `x - o`, see `Plan::origin`); for a
    /// row-major plan, a copy of a block that was not contiguous, or of `f32` rows as `f64`
    /// (`n x d`).
    xt: Aligned<f64>,
    /// A copy of a block of `f32` rows that was not contiguous, for the `f32` kernels (`n x d`);
    /// `Small` and `Full`, the block transposed as `f32` (see `Held::TransposedF32`).
    x32: Aligned<f32>,
    /// `Small` and `Full` with `f32` kernels: their work space (see [`single_full::Work`]), and
    /// for `Small` room for the responsibilities of its `f32` E-step (`k x n`); `DiagonalRows`
    /// with them, the block transposed by groups of eight rows ([`single::transpose_groups`]).
    w32: Aligned<f32>,
    /// Where the rows of the current block are (row-major plans).
    held: Held,
    /// Running sums of the row-major moments (`2 k padded8(d)`) and the block's sums of the
    /// responsibilities (`k`); `Small` and `Full` with `f32`
    /// kernels, the sums of a component in a block.
    work: Vec<f64>,
    /// Per-lane sums of the small-dimension E-step, per component.
    small: Vec<[[f64; SMALL_LANES]; SMALL_SUMS]>,
    /// Full covariance: the centred block for the moments (`d x n`, or on AVX-512 the rows of
    /// one pass of `avx512::moments` in its paired layout, at most `(d + 1) MOMENT_ROWS` values,
    /// or from `avx512::WHOLE_BLOCK_FROM` features on, those of the whole block, at most
    /// `(d + 1) n`); in the log-densities, the outputs of the quadratic forms' tiles (at most
    /// `32 padded(d)` values). Either fits in `(d + 1) x BLOCK_ROWS`.
    z: Aligned<f64>,
    /// Full covariance: `z` times the responsibilities of a component (in the layout of `z`),
    /// for the portable and AVX2 moments, and the AVX-512 moments of the whole block (those in
    /// passes compute it again where they use it).
    wz: Aligned<f64>,
    /// Full covariance on AVX-512: the running sums of the moments.
    #[cfg(target_arch = "x86_64")]
    lanes: avx512::MomentLanes,
    /// Per row: after `posteriors`, `1 / sum_j exp(lp_ij - max_i)`; in the small-dimension
    /// E-step, the row's weight where it counts (else 0).
    pub y: Vec<f64>,
    /// Per row: after `posteriors`, `log p(x_i)`; in the small-dimension E-step,
    /// `sum_j exp(lp_ij - max_i)` (in that of `f32` rows, 1 for a row that does not count).
    pub acc: Vec<f64>,
    /// Per row: after `posteriors` and in the small-dimension E-step, `max_j lp_ij` (in that of
    /// `f32` rows, 0 for a row that does not count).
    pub max: Vec<f64>,
    /// `k x rows`: joint log-densities, then responsibilities (in the small-dimension E-step of
    /// `f32` rows, the log-densities of a tile).
    pub lp: Aligned<f64>,
}

/// `max[i] = max_j lp[j * n + i]` (`-inf` when every value is), `lp` being `k x n`: lanes `L`
/// of rows, a comparison per value (`if v > m { v } else { m }`).
#[inline(always)]
fn row_max<L: Lanes>(lp: &[f64], n: usize, max: &mut [f64]) {
    let k = lp.len() / n.max(1);
    let w = L::WIDTH;
    let whole = n / w * w;
    // Four vectors of rows at a time: four chains of comparisons side by side, each row's over
    // the components in order.
    let quads = n / (4 * w) * (4 * w);
    for i0 in (0..quads).step_by(4 * w) {
        let mut m = [L::splat(f64::NEG_INFINITY); 4];
        for j in 0..k {
            for (q, m) in m.iter_mut().enumerate() {
                *m = L::load(&lp[j * n + i0 + q * w..]).max_of(*m);
            }
        }
        for (q, m) in m.iter().enumerate() {
            m.store(&mut max[i0 + q * w..]);
        }
    }
    for i0 in (quads..whole).step_by(w) {
        let mut m = L::splat(f64::NEG_INFINITY);
        for j in 0..k {
            m = L::load(&lp[j * n + i0..]).max_of(m);
        }
        m.store(&mut max[i0..]);
    }
    for (i, mx) in max.iter_mut().enumerate().take(n).skip(whole) {
        let mut m = f64::NEG_INFINITY;
        for j in 0..k {
            m = lp[j * n + i].max_of(m);
        }
        *mx = m;
    }
}

/// What a plan of `k` components in `d` features is, for the errors of its allocations.
fn plan_size(k: usize, d: usize) -> String {
    format!("the fused E-step of {k} Gaussian components in {d} features")
}

/// What a block contributed besides the moments.
pub(crate) struct BlockTotals {
    /// `sum_i w_i log p(x_i)` over the rows that count.
    pub log_likelihood: f64,
    /// The weight of the rows that no component can produce (every log-density `-inf`).
    pub unexplained: f64,
    /// The first row (in the block) whose log-likelihood was NaN or `+inf`, if any.
    pub invalid: Option<usize>,
}

impl Scratch {
    /// The block transposed as `f32`, the work space of the `f32` kernels of full covariance
    /// (for plan parameters `p` and `n` rows) and `lp`.
    fn parts32(&mut self, p: &SingleFull, n: usize) -> (&[f32], Work<'_>, &mut [f64]) {
        let ld = n.div_ceil(WIDTH) * WIDTH;
        let [zs, qs, sums] = single_full::work_sizes(p.d());
        // The work space of this plan's number of features.
        debug_assert!(self.w32.len() >= 2 * zs + qs);
        let (z, rest) = self.w32.split_at_mut(zs);
        let (wz, q) = rest.split_at_mut(zs);
        let w = Work {
            z,
            wz,
            q: &mut q[..qs],
            sums: &mut self.work[..sums],
        };
        (&self.x32[..p.rows() * ld], w, &mut self.lp)
    }
}

impl Plan {
    /// The plan of a mixture, on the kernel path of [`Isa::current`], when all its components
    /// have the same Gaussian form: `forms` are the components' forms (see
    /// [`Distribution::gaussian`](crate::Distribution::gaussian)), `log_weights` their log
    /// weights. `None` when a component has no Gaussian form, the forms differ, there are
    /// none, or a form holds a value that is not finite (a standard deviation so small that
    /// `1 / (2 sigma^2)` or an entry of `L^-1` overflows: the kernels would compute `0 * inf`
    /// at the mean, so such mixtures take the components' own methods); an error when the plan
    /// does not fit in memory.
    pub fn new<'a>(
        forms: impl IntoIterator<Item = Option<Gaussian<'a>>>,
        log_weights: &[f64],
    ) -> Result<Option<Plan>> {
        Plan::with_isa(forms, log_weights, Isa::current())
    }

    /// [`new`](Self::new) on the kernel path `isa`.
    pub fn with_isa<'a>(
        forms: impl IntoIterator<Item = Option<Gaussian<'a>>>,
        log_weights: &[f64],
        isa: Isa,
    ) -> Result<Option<Plan>> {
        let mut forms = forms.into_iter().peekable();
        let (d, full_first) = match forms.peek() {
            Some(Some(Gaussian::Full { means, .. })) => (means.len(), true),
            Some(Some(Gaussian::Diagonal { means, .. })) => (means.len(), false),
            _ => return Ok(None),
        };
        // The arrays that grow with the components and the features, reserved (checked) before
        // they are filled; at most one component per log weight.
        let kmax = log_weights.len();
        let err = || too_large("distributions", plan_size(kmax, d));
        let mut means: Vec<f64> = zeroed_vec(&[kmax, d], err)?;
        means.clear();
        let per_scale = if full_first { padded(d) * d } else { d };
        let mut scale: Vec<f64> = zeroed_vec(&[kmax, per_scale], err)?;
        scale.clear();
        let mut consts = Vec::new();
        let mut full = None;
        let mut lower = true;
        for (form, &lw) in forms.zip(log_weights) {
            let Some(form) = form else {
                return Ok(None);
            };
            match form {
                Gaussian::Full {
                    means: m,
                    inv_chol,
                    log_norm,
                } => {
                    if !*full.get_or_insert(true)
                        || m.len() != d
                        || inv_chol.dim() != (d, d)
                        || !finite_form(inv_chol.iter(), log_norm)
                    {
                        return Ok(None);
                    }
                    means.extend_from_slice(m);
                    for (a, row) in inv_chol.rows().into_iter().enumerate() {
                        match row.as_slice() {
                            Some(row) => {
                                lower &= row[a + 1..].iter().all(|&v| v == 0.0);
                                scale.extend_from_slice(row);
                            }
                            None => {
                                for (b, &v) in row.iter().enumerate() {
                                    lower &= b <= a || v == 0.0;
                                    scale.push(v);
                                }
                            }
                        }
                    }
                    scale.resize(scale.len() + (padded(d) - d) * d, 0.0);
                    consts.push(log_norm + lw);
                }
                Gaussian::Diagonal {
                    means: m,
                    half_inv_var,
                    log_norm,
                } => {
                    if *full.get_or_insert(false)
                        || m.len() != d
                        || half_inv_var.len() != d
                        || !finite_form(half_inv_var.iter(), log_norm)
                        // A zero or subnormal 1 / (2 sigma^2) (sigma above about 4.7e153) would
                        // give inf * 0 = NaN for rows as far out as sigma.
                        || !half_inv_var.iter().all(|h| h.is_normal())
                    {
                        return Ok(None);
                    }
                    means.extend_from_slice(&m);
                    scale.extend_from_slice(&half_inv_var);
                    consts.push(log_norm + lw);
                }
            }
        }
        let Some(full) = full else {
            return Ok(None);
        };
        let k = consts.len();
        let (mut origin, mut offsets) = (Vec::new(), Vec::new());
        let mut centres: Vec<f64> = zeroed_vec(&[k, d], err)?;
        centres.copy_from_slice(&means);
        if full {
            origin = (0..d)
                // Each mean divided first: the sum of means near the largest `f64` stays finite.
                .map(|l| (0..k).map(|j| means[j * d + l] / k as f64).sum::<f64>())
                .collect();
            for (c, &o) in centres.iter_mut().zip(origin.iter().cycle()) {
                *c -= o;
            }
            let dp = padded(d);
            offsets = zeroed_vec(&[k, dp], err)?;
            offsets.clear();
            for j in 0..k {
                let (a, mu) = (
                    &scale[j * dp * d..(j + 1) * dp * d],
                    &centres[j * d..(j + 1) * d],
                );
                match isa.level() {
                    #[cfg(target_arch = "x86_64")]
                    Level::Avx2 | Level::Avx512 => {
                        // SAFETY: the processor has AVX2 and FMA (an `Isa` is made only for
                        // what it has), the features the function is compiled for.
                        unsafe { avx2::row_products(a, mu, &mut offsets) }
                    }
                    _ => row_products(a, mu, &mut offsets),
                }
            }
        }
        let panels = if full {
            // A probe of the panels' size first: `panels` allocates as much.
            drop(zeroed_vec::<f64>(&[k, panels_len(d, lower)], err)?);
            panels(&scale, d, lower)
        } else {
            Vec::new()
        };
        let path = match (full, d) {
            (true, d) if d <= SMALL_MAX_FEATURES => Path::Small { lower },
            (true, _) => Path::Full { lower },
            (false, d) if d >= ROWS_MIN_FEATURES => Path::DiagonalRows,
            (false, _) => Path::DiagonalTransposed,
        };
        let single = if path == Path::DiagonalRows {
            Single::new(&means, &scale, d, err)?
        } else {
            None
        };
        let single_full = if matches!(
            path,
            Path::Full { lower: true } | Path::Small { lower: true }
        ) {
            SingleFull::new(&means, &scale, &panels, d, err)?
        } else {
            None
        };
        // The full path's kernels read the panels alone: `L^-1` is not kept twice.
        let scale = if matches!(path, Path::Full { .. }) {
            Vec::new()
        } else {
            scale
        };
        Ok(Some(Plan {
            d,
            k,
            path,
            isa,
            means,
            scale,
            panels,
            origin,
            centres,
            offsets,
            consts,
            single,
            single_full,
        }))
    }

    /// The parameters of the `f32` kernels, which a block of `f32` rows is loaded for only when
    /// the plan has them.
    fn single(&self) -> &Single {
        self.single
            .as_ref()
            .expect("f32 rows are loaded with a plan")
    }

    /// Whether blocks of `f32` rows take `f32` kernels (when within their limit).
    #[cfg(test)]
    pub(crate) fn has_f32_kernels(&self) -> bool {
        self.single.is_some() || self.single_full.is_some()
    }

    /// The parameters of the `f32` kernels of full covariance, which a block of `f32` rows is
    /// transposed for only when the plan has them.
    fn single_full(&self) -> &SingleFull {
        self.single_full
            .as_ref()
            .expect("f32 rows are transposed with a plan")
    }

    /// Empty sums, or an error when they do not fit in memory.
    pub fn moments(&self) -> Result<Moments> {
        let (k, d) = (self.k, self.d);
        let err = || {
            too_large(
                "distributions",
                format!("the statistics of {}", plan_size(k, d)),
            )
        };
        Ok(Moments {
            weight: zeroed_vec(&[k], err)?,
            sum: zeroed_vec(&[k, d], err)?,
            products: zeroed_vec(&[k, d, if self.path.full() { d } else { 1 }], err)?,
        })
    }

    /// Work space for blocks of up to [`BLOCK_ROWS`] rows (see [`Scratch`] for what each path
    /// uses), or an error when it does not fit in memory.
    pub fn scratch(&self) -> Result<Scratch> {
        let (k, d, b) = (self.k, self.d, BLOCK_ROWS);
        let (rows, small, full) = (
            self.path == Path::DiagonalRows,
            matches!(self.path, Path::Small { .. }),
            self.path.full(),
        );
        let err = || {
            too_large(
                "distributions",
                format!("the work space of {}", plan_size(k, d)),
            )
        };
        // The block transposed; on the row-major path, room for a copy of a block that is not
        // contiguous or of `f32` rows as `f64` (made in `load`: no allocation during the E-step).
        let t = d * b;
        let avx512 = full && self.isa.avx512();
        // The AVX-512 moments' paired layout holds a last feature of its own twice.
        let tz = if avx512 { (d + 1) * b } else { t };
        #[cfg(target_arch = "x86_64")]
        if avx512 {
            // A probe of the size of `MomentLanes::new(d)`.
            drop(zeroed_vec::<f64>(&[avx512::MomentLanes::len(d)], err)?);
        }
        let (x32, w32, sums32) = match (&self.single_full, &self.single) {
            (Some(_), _) => {
                let [zs, qs, sums] = single_full::work_sizes(d);
                // The small-dimension E-step keeps the responsibilities there.
                let r32 = if small { k * b } else { 0 };
                (padded8(d) * b, (2 * zs + qs).max(r32), sums)
            }
            // The copy of a block of f32 rows that is not contiguous (made in `load`, into this
            // room: no allocation during the E-step), and the row-major f32 forms' transposed
            // rows.
            (None, Some(_)) => (d * b, d * b, 0),
            (None, None) => (0, 0, 0),
        };
        Ok(Scratch {
            xt: Aligned::zeroed(t, err)?,
            x32: Aligned::zeroed(x32, err)?,
            w32: Aligned::zeroed(w32, err)?,
            held: Held::InPlace,
            work: zeroed_vec(
                &[if rows {
                    (2 * padded8(d) + 1) * k
                } else {
                    sums32
                }],
                err,
            )?,
            small: zeroed_vec(&[if small { k } else { 0 }], err)?,
            z: Aligned::zeroed(if full { tz } else { 0 }, err)?,
            wz: Aligned::zeroed(if full { tz } else { 0 }, err)?,
            #[cfg(target_arch = "x86_64")]
            lanes: avx512::MomentLanes::new(if avx512 { d } else { 0 }),
            y: zeroed_vec(&[b], err)?,
            acc: zeroed_vec(&[b], err)?,
            max: zeroed_vec(&[b], err)?,
            lp: Aligned::zeroed(k.checked_mul(b).ok_or_else(err)?, err)?,
        })
    }

    /// The moments of component `j` from the sums `m`, around its means, to be turned into its
    /// statistics by [`Distribution::gaussian_stats`](crate::Distribution::gaussian_stats).
    pub fn moments_of<'a>(&'a self, m: &'a mut Moments, j: usize) -> GaussianMoments<'a> {
        let d = self.d;
        let products = if self.path.full() {
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
        GaussianMoments {
            shift: &self.means[j * d..(j + 1) * d],
            weight: m.weight[j],
            sum: &m.sum[j * d..(j + 1) * d],
            products,
        }
    }

    /// Readies the rows of `xb` (at most [`BLOCK_ROWS`], `f64` or `f32`) for
    /// [`log_joint`](Self::log_joint), [`posteriors`](Self::posteriors) and
    /// [`summarize`](Self::summarize), which take the same block: transposed into the scratch,
    /// or for the row-major path read where they are (or copied when not contiguous); false
    /// when they hold a missing value (the kernels do not take those).
    ///
    /// A block of `f32` rows on the row-major path takes the `f32` kernels (see [`single`])
    /// when the plan has their parameters and every `|x|` is within their limit, and otherwise
    /// the `f64` kernels on its values converted.
    pub fn load<'x>(&self, xb: impl Into<Rows<'x>>, s: &mut Scratch) -> bool {
        let xb = xb.into();
        let (n, d) = xb.dim();
        debug_assert!(n <= BLOCK_ROWS && d == self.d);
        if self.path == Path::DiagonalRows {
            s.held = Held::InPlace;
            let xs = match xb {
                Rows::F64(v) => match v.to_slice() {
                    Some(xs) => xs,
                    None => {
                        s.held = Held::CopyF64;
                        s.xt.refill(v.iter().copied())
                    }
                },
                Rows::F32(v) => {
                    if let Some(p) = &self.single {
                        s.held = Held::InPlaceF32;
                        let xs = match v.to_slice() {
                            Some(xs) => xs,
                            None => {
                                s.held = Held::CopyF32;
                                s.x32.refill(v.iter().copied())
                            }
                        };
                        // NaN is above every limit: such a block, and one with a value too
                        // large for the `f32` forms, goes on to the `f64` check below.
                        if self.max_abs_bits(xs) <= p.limit.to_bits() {
                            return true;
                        }
                    }
                    s.held = Held::CopyF64;
                    s.xt.refill(v.iter().map(|&a| f64::from(a)))
                }
            };
            return !has_nan(self.isa, xs);
        }
        if let (Rows::F32(v), Some(p)) = (xb, &self.single_full) {
            if single_full::transpose(v, p, self.isa, &mut s.x32) {
                s.held = Held::TransposedF32;
                return true;
            }
        }
        // The kernels take the distance between features apart from `n`; a whole block's is
        // `n` (a padded distance measured no faster).
        let ld = n;
        s.held = Held::InPlace;
        let clean = self.transpose(xb, ld, s);
        // `x - o` overflows only for finite rows near the largest `f64` with `o` of the other
        // sign; such a block takes the general path (inf times the zeros of `L^-1` would be NaN).
        let mut overflow = false;
        for (l, &o) in self.origin.iter().enumerate() {
            for v in &mut s.xt[l * ld..l * ld + n] {
                *v -= o;
                overflow |= v.is_infinite();
            }
        }
        clean && !overflow
    }

    /// The transposition of [`load`](Self::load) (`f32` rows converted as they are copied);
    /// false when the rows hold a missing value.
    fn transpose(&self, xb: Rows<'_>, ld: usize, s: &mut Scratch) -> bool {
        if let Rows::F64(v) = xb {
            if let Some(xs) = v.as_slice() {
                let (n, d) = v.dim();
                let nan = match self.isa.level() {
                    #[cfg(target_arch = "x86_64")]
                    Level::Avx2 | Level::Avx512 => {
                        // SAFETY: the processor has AVX2 and FMA (an `Isa` is made only for
                        // what it has), the features the function is compiled for.
                        unsafe { avx2::transpose(xs, d, n, ld, &mut s.xt) }
                    }
                    Level::Portable => super::portable::transpose(xs, d, n, ld, &mut s.xt),
                };
                return !nan;
            }
        }
        let mut nan = false;
        if let Some(xs) = match xb {
            Rows::F32(v) => v.to_slice(),
            Rows::F64(_) => None,
        } {
            // Contiguous `f32` rows as plain slices, which compile to tighter loops.
            for (i, row) in xs.chunks_exact(self.d.max(1)).enumerate() {
                for (l, &a) in row.iter().enumerate() {
                    let a = f64::from(a);
                    s.xt[l * ld + i] = a;
                    nan |= a.is_nan();
                }
            }
            return !nan;
        }
        crate::rows::each_type!(xb, v => {
            for (i, row) in v.rows().into_iter().enumerate() {
                for (l, &a) in row.iter().enumerate() {
                    let a = crate::rows::Element::to_f64(a);
                    s.xt[l * ld + i] = a;
                    nan |= a.is_nan();
                }
            }
        });
        !nan
    }

    /// Runs `f` on the rows of the loaded block `xb` as the row-major kernels read them (empty
    /// for the transposing paths, whose kernels read `s.xt`).
    fn with_rows<R>(
        &self,
        xb: Rows<'_>,
        s: &mut Scratch,
        f: impl FnOnce(RowSlice<'_>, usize, &mut Scratch) -> R,
    ) -> R {
        let n = xb.nrows();
        if self.path != Path::DiagonalRows {
            // The transposing kernels read the scratch: this says which type it holds.
            debug_assert!(s.held != Held::TransposedF32 || matches!(xb, Rows::F32(_)));
            return if s.held == Held::TransposedF32 {
                f(RowSlice::F32(&[]), n, s)
            } else {
                f(RowSlice::F64(&[]), n, s)
            };
        }
        match (s.held, xb) {
            (Held::CopyF64, _) => {
                let copy = std::mem::take(&mut s.xt);
                let r = f(RowSlice::F64(&copy), n, s);
                s.xt = copy;
                r
            }
            (Held::CopyF32, _) => {
                let copy = std::mem::take(&mut s.x32);
                let r = f(RowSlice::F32(&copy), n, s);
                s.x32 = copy;
                r
            }
            (Held::InPlace, Rows::F64(v)) => f(
                RowSlice::F64(v.as_slice().expect("a block read in place is contiguous")),
                n,
                s,
            ),
            (Held::InPlaceF32, Rows::F32(v)) => f(
                RowSlice::F32(v.as_slice().expect("a block read in place is contiguous")),
                n,
                s,
            ),
            // `load` was given another block than this one.
            (Held::InPlace | Held::InPlaceF32 | Held::TransposedF32, _) => {
                unreachable!("the kernels are given the block that was loaded")
            }
        }
    }

    /// `log w_j + log p_j(x_i)` of the loaded rows `xb` into `s.lp` (`k x n`).
    pub fn log_joint<'x>(&self, xb: impl Into<Rows<'x>>, s: &mut Scratch) {
        self.with_rows(xb.into(), s, |x, n, s| match self.isa.level() {
            #[cfg(target_arch = "x86_64")]
            Level::Avx2 | Level::Avx512 => {
                // SAFETY: the processor has AVX2 and FMA (an `Isa` is made only for what it has),
                // the features the function is compiled for.
                unsafe { self.log_joint_avx2(x, n, s) }
            }
            Level::Portable => self.log_joint_t::<false>(x, n, s),
        })
    }

    /// [`log_joint_t`](Self::log_joint_t) compiled for AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn log_joint_avx2(&self, x: RowSlice<'_>, n: usize, s: &mut Scratch) {
        self.log_joint_t::<true>(x, n, s)
    }

    /// [`summarize_t`](Self::summarize_t) compiled for AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn summarize_avx2(
        &self,
        x: RowSlice<'_>,
        n: usize,
        w: Option<&[f64]>,
        s: &mut Scratch,
        m: &mut Moments,
    ) -> BlockTotals {
        self.summarize_t::<true>(x, n, w, s, m)
    }

    /// The small-dimension E-step of a block of `f32` rows transposed into `s.x32`
    /// ([`small::summarize32`]).
    fn summarize_small32(
        &self,
        n: usize,
        w: Option<&[f64]>,
        s: &mut Scratch,
        m: &mut Moments,
    ) -> BlockTotals {
        let (p, ld) = (self.single_full(), n.div_ceil(WIDTH) * WIDTH);
        let x = (&s.x32[..p.rows() * ld], ld, n);
        let parts = (
            (&mut s.lp[..self.k * WIDTH], &mut s.w32[..self.k * ld]),
            (&mut s.max[..], &mut s.acc[..], &mut s.y[..]),
            (&mut m.weight[..], &mut m.sum[..], &mut m.products[..]),
        );
        match self.isa.level() {
            // SAFETY: the processor has AVX2 and FMA (an `Isa` is made only for what it has),
            // the features the function is compiled for.
            #[cfg(target_arch = "x86_64")]
            Level::Avx2 | Level::Avx512 => unsafe {
                x86_single::small_summarize(p, &self.consts, x, w, parts)
            },
            Level::Portable => small::summarize32::<Oct, Quad, 2>(p, &self.consts, x, w, parts),
        }
    }

    /// The small-dimension E-step ([`summarize_small`](Self::summarize_small)) in AVX2 vectors:
    /// a tile's eight lanes in two vectors.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn summarize_small_avx2(
        &self,
        n: usize,
        w: Option<&[f64]>,
        s: &mut Scratch,
        m: &mut Moments,
    ) -> BlockTotals {
        self.summarize_small_d::<avx2::Avx, 2>(n, w, s, m)
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
    pub fn summarize<'x>(
        &self,
        xb: impl Into<Rows<'x>>,
        w: Option<&[f64]>,
        s: &mut Scratch,
        m: &mut Moments,
    ) -> BlockTotals {
        self.with_rows(xb.into(), s, |x, n, s| {
            // Blocks of `f32` rows of a small-dimension plan take its `f32` E-step, or (weights
            // too far apart for it) the `f32` kernels of full covariance.
            let small = matches!(self.path, Path::Small { .. }) && matches!(x, RowSlice::F64(_));
            if matches!((self.path, x), (Path::Small { .. }, RowSlice::F32(_)))
                && small::weights_fit(w)
            {
                return self.summarize_small32(n, w, s, m);
            }
            match (small, self.isa.level()) {
                // SAFETY (the vector arms): the processor has the features the functions are
                // compiled for (an `Isa` is made only for what it has).
                #[cfg(target_arch = "x86_64")]
                (true, Level::Avx512) => unsafe { self.summarize_small_avx512(n, w, s, m) },
                #[cfg(target_arch = "x86_64")]
                (true, Level::Avx2) => unsafe { self.summarize_small_avx2(n, w, s, m) },
                (true, Level::Portable) => self.summarize_small_d::<Quad, 2>(n, w, s, m),
                #[cfg(target_arch = "x86_64")]
                (_, Level::Avx2 | Level::Avx512) => unsafe { self.summarize_avx2(x, n, w, s, m) },
                (_, Level::Portable) => self.summarize_t::<false>(x, n, w, s, m),
            }
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

    /// [`max_abs_bits`] on the plan's kernel path (the same value on every path).
    fn max_abs_bits(&self, xs: &[f32]) -> u32 {
        match self.isa.level() {
            #[cfg(target_arch = "x86_64")]
            Level::Avx2 | Level::Avx512 => {
                // SAFETY: the processor has AVX2 and FMA (an `Isa` is made only for what it has),
                // the features the function is compiled for.
                unsafe { x86_single::max_abs_bits(xs) }
            }
            _ => max_abs_bits(xs),
        }
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
    /// `s.acc` `log p(x_i)` (-inf for a row whose every `lp_ij` is -inf; its `s.lp` and `s.y`
    /// are then NaN) and `s.y` `1 / sum_j exp(lp_ij - max_i)` (so that `s.lp` times
    /// `s.y` are the posterior probabilities).
    #[inline(always)]
    fn posteriors_t<const AVX: bool>(&self, x: RowSlice<'_>, n: usize, s: &mut Scratch) {
        let k = self.k;
        self.log_joint_t::<AVX>(x, n, s);
        // Log-sum-exp over the components, row by row but vectorised over the rows.
        let max = &mut s.max[..n];
        // In vector lanes, the maxima in registers: a running maximum in memory compiles to
        // masked stores, which are slow on some processors.
        #[cfg(target_arch = "x86_64")]
        if AVX {
            row_max::<avx2::Avx>(&s.lp[..k * n], n, max);
        } else {
            row_max::<Quad>(&s.lp[..k * n], n, max);
        }
        #[cfg(not(target_arch = "x86_64"))]
        row_max::<Quad>(&s.lp[..k * n], n, max);
        let total = &mut s.acc[..n];
        total.fill(0.0);
        // `f32` rows: `exp` in `f32` (see `single`), its results summed in `f64`.
        let single = matches!(x, RowSlice::F32(_));
        for j in 0..k {
            let terms = s.lp[j * n..(j + 1) * n]
                .iter_mut()
                .zip(total.iter_mut())
                .zip(max.iter());
            if single {
                // In three loops, so that the one of `exp` has `f32` alone (eight lanes to a
                // vector rather than four).
                let mut e32 = [0.0f32; BLOCK_ROWS];
                let e32 = &mut e32[..n];
                for (e, ((v, _), &mx)) in e32.iter_mut().zip(terms) {
                    *e = (*v - mx) as f32;
                }
                for e in e32.iter_mut() {
                    *e = exp32_nonpositive(*e);
                }
                for ((v, t), &e) in s.lp[j * n..(j + 1) * n]
                    .iter_mut()
                    .zip(total.iter_mut())
                    .zip(e32.iter())
                {
                    let e = f64::from(e);
                    *v = e;
                    *t += e;
                }
            } else {
                for ((v, t), &mx) in terms {
                    let e = exp_nonpositive(*v - mx);
                    *v = e;
                    *t += e;
                }
            }
        }
        for ((t, &mx), f) in total.iter_mut().zip(max.iter()).zip(s.y[..n].iter_mut()) {
            let sum = *t;
            // A row that no component can produce (every `lp_ij` is -inf) has density 0: its
            // terms above are `exp(-inf - -inf)`, NaN, and its `log p` is -inf (its posteriors
            // are the prior, which the callers give rows of maximum -inf).
            *t = if mx == f64::NEG_INFINITY {
                f64::NEG_INFINITY
            } else {
                mx + ln_positive(sum)
            };
            *f = 1.0 / sum;
        }
    }

    /// The posterior probabilities of the loaded rows `xb` (see `posteriors_t`).
    pub fn posteriors<'x>(&self, xb: impl Into<Rows<'x>>, s: &mut Scratch) {
        self.with_rows(xb.into(), s, |x, n, s| match self.isa.level() {
            #[cfg(target_arch = "x86_64")]
            Level::Avx2 | Level::Avx512 => {
                // SAFETY: the processor has AVX2 and FMA (an `Isa` is made only for what it has),
                // the features the function is compiled for.
                unsafe { self.posteriors_avx2(x, n, s) }
            }
            Level::Portable => self.posteriors_t::<false>(x, n, s),
        })
    }

    /// [`posteriors_t`](Self::posteriors_t) compiled for AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn posteriors_avx2(&self, x: RowSlice<'_>, n: usize, s: &mut Scratch) {
        self.posteriors_t::<true>(x, n, s)
    }

    /// The log-densities; `AVX` when compiled for AVX2 (the hot loops then use its vectors,
    /// with the same arithmetic as the portable loops).
    #[inline(always)]
    fn log_joint_t<const AVX: bool>(&self, x: RowSlice<'_>, n: usize, s: &mut Scratch) {
        let (d, k, ld) = (self.d, self.k, n);
        match self.path {
            Path::DiagonalRows => {
                let lp = &mut s.lp[..k * n];
                let x = match x {
                    RowSlice::F64(x) => x,
                    RowSlice::F32(x) => {
                        let p = self.single();
                        let xt = &mut s.w32[..];
                        #[cfg(target_arch = "x86_64")]
                        if AVX {
                            // SAFETY: `AVX` is true only inside functions compiled for AVX2 and
                            // FMA.
                            return unsafe {
                                if self.isa.avx512() {
                                    x86_single::forms_avx512(p, &self.consts, x, n, lp, xt)
                                } else {
                                    x86_single::forms(p, &self.consts, x, n, lp, xt)
                                }
                            };
                        }
                        return single::forms_rows::<Oct>(p, &self.consts, x, n, lp, xt);
                    }
                };
                #[cfg(target_arch = "x86_64")]
                if AVX {
                    // SAFETY: `AVX` is true only inside functions compiled for AVX2 and FMA.
                    return unsafe {
                        avx2::diagonal_rows(&self.means, &self.scale, &self.consts, x, n, lp)
                    };
                }
                diagonal_rows(&self.means, &self.scale, &self.consts, x, n, lp)
            }
            Path::Small { .. } | Path::Full { .. } if matches!(x, RowSlice::F32(_)) => {
                self.forms32::<AVX>(n, s)
            }
            Path::Small { lower } | Path::Full { lower } => {
                for j in 0..k {
                    let acc = &mut s.acc[..n];
                    acc.fill(0.0);
                    let (len, dp) = (panels_len(d, lower), padded(d));
                    let a = (
                        &self.panels[j * len..(j + 1) * len],
                        &self.offsets[j * dp..(j + 1) * dp],
                    );
                    #[cfg(target_arch = "x86_64")]
                    if AVX {
                        // SAFETY: `AVX` is true only inside functions compiled for AVX2 and FMA,
                        // which run only on processors that have it; the plan's `isa` is AVX-512
                        // only on processors that have it.
                        unsafe {
                            if self.isa.avx512() {
                                avx512::quad_forms(a, d, lower, &s.xt, n, ld, acc, &mut s.z)
                            } else {
                                avx2::quad_forms(a, d, lower, &s.xt, n, ld, acc, &mut s.z)
                            }
                        };
                    } else {
                        quad_forms(a, d, lower, &s.xt, n, ld, acc, &mut s.z);
                    }
                    #[cfg(not(target_arch = "x86_64"))]
                    quad_forms(a, d, lower, &s.xt, n, ld, acc, &mut s.z);
                    let c0 = self.consts[j];
                    for (o, &q) in s.lp[j * n..(j + 1) * n].iter_mut().zip(acc.iter()) {
                        let v = c0 - 0.5 * q;
                        // Rows so far out that the quadratic form overflowed have density 0.
                        *o = if v.is_nan() { f64::NEG_INFINITY } else { v };
                    }
                }
            }
            Path::DiagonalTransposed => {
                for j in 0..k {
                    let acc = &mut s.acc[..n];
                    acc.fill(0.0);
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
    }

    /// The log-densities of a block of `f32` rows transposed into `s.x32`, by the `f32` kernels
    /// of full covariance.
    #[inline(always)]
    fn forms32<const AVX: bool>(&self, n: usize, s: &mut Scratch) {
        if n == 0 {
            return;
        }
        let p = self.single_full();
        let (x, mut w, lp) = s.parts32(p, n);
        let x = (x, n.div_ceil(WIDTH) * WIDTH, n);
        let lp = &mut lp[..self.k * n];
        #[cfg(target_arch = "x86_64")]
        if AVX {
            // SAFETY: `AVX` is true only inside functions compiled for AVX2 and FMA, which run
            // only on processors that have it; the plan's `isa` is AVX-512 (with VL) only on
            // processors that have it.
            unsafe {
                if self.isa.avx512() {
                    x86_single::full_forms_avx512(p, &self.consts, x, &mut w, lp)
                } else {
                    x86_single::full_forms_avx2(p, &self.consts, x, &mut w, lp)
                }
            }
            return;
        }
        single_full::forms::<Oct, Oct, 1>(p, &self.consts, x, &mut w, lp)
    }

    /// The moments of a block of `f32` rows transposed into `s.x32` (`s.lp`: their
    /// responsibilities), by the `f32` kernels of full covariance, added to `m`.
    #[inline(always)]
    fn moments32<const AVX: bool>(&self, n: usize, s: &mut Scratch, m: &mut Moments) {
        if n == 0 {
            return;
        }
        let p = self.single_full();
        let (x, mut w, lp) = s.parts32(p, n);
        let x = (x, n.div_ceil(WIDTH) * WIDTH, n);
        let (r, sums) = (&lp[..self.k * n], (&mut m.sum[..], &mut m.products[..]));
        #[cfg(target_arch = "x86_64")]
        if AVX {
            // SAFETY: as in `forms32`.
            unsafe {
                if self.isa.avx512() {
                    x86_single::full_moments_avx512(p, r, x, &mut w, sums)
                } else {
                    x86_single::full_moments_avx2(p, r, x, &mut w, sums)
                }
            }
            return;
        }
        single_full::moments::<Oct, false>(
            p,
            r,
            x,
            &mut w,
            sums,
            single_full::product_tiles::<Oct, 2>,
        )
    }

    /// The fused E-step of full-covariance mixtures in `D` features, `D` at most
    /// [`SMALL_MAX_FEATURES`] (path `Small`): for each tile of [`SMALL_LANES`] rows, the
    /// log-densities of all components, their log-sum-exp, the responsibilities and the moments,
    /// in per-lane sums (continued over the block's tiles in row order, combined once per
    /// block), so that the few values of a row are read once rather than once per pass.
    #[inline(always)]
    fn summarize_small<const D: usize, L: Lanes, const H: usize>(
        &self,
        n: usize,
        w: Option<&[f64]>,
        s: &mut Scratch,
        m: &mut Moments,
    ) -> BlockTotals {
        let k = self.k;
        let lower = matches!(self.path, Path::Small { lower: true });
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
            (&self.centres, &self.scale, &self.consts, lower),
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

    /// The E-step of the paths other than `Small`: the posteriors, the factors of the rows, then
    /// the moments of the path.
    #[inline(always)]
    fn summarize_t<const AVX: bool>(
        &self,
        x: RowSlice<'_>,
        n: usize,
        w: Option<&[f64]>,
        s: &mut Scratch,
        m: &mut Moments,
    ) -> BlockTotals {
        let (d, k, ld) = (self.d, self.k, n);
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
        match self.path {
            Path::DiagonalRows => {
                // The block's sums of the responsibilities, kept past the moments' running sums
                // for the f32 kernels.
                let (work, rsum) = s.work.split_at_mut(2 * k * padded8(d));
                for (j, rs) in rsum.iter_mut().enumerate() {
                    *rs = self.sum::<AVX>(&s.lp[j * n..(j + 1) * n]);
                    m.weight[j] += *rs;
                }
                let r = &s.lp[..k * n];
                let x = match x {
                    RowSlice::F64(x) => x,
                    RowSlice::F32(x) => {
                        let p = self.single();
                        let sums = (&mut m.sum[..], &mut m.products[..]);
                        #[cfg(target_arch = "x86_64")]
                        if AVX {
                            // SAFETY: `AVX` is true only inside functions compiled for AVX2 and
                            // FMA.
                            unsafe {
                                if self.isa.avx512() {
                                    x86_single::moments_avx512(p, r, x, rsum, sums, work)
                                } else {
                                    x86_single::moments(p, r, x, rsum, sums, work)
                                }
                            };
                            return out;
                        }
                        single::moments_rows::<Oct, Oct>(p, r, x, rsum, sums, work);
                        return out;
                    }
                };
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
                            work,
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
            }
            Path::Small { .. } | Path::Full { .. } if matches!(x, RowSlice::F32(_)) => {
                for j in 0..k {
                    m.weight[j] += self.sum::<AVX>(&s.lp[j * n..(j + 1) * n]);
                }
                self.moments32::<AVX>(n, s, m);
            }
            Path::Full { .. } => {
                // Moments per component.
                for j in 0..k {
                    let r = &s.lp[j * n..(j + 1) * n];
                    m.weight[j] += self.sum::<AVX>(r);
                    #[cfg(target_arch = "x86_64")]
                    if AVX && self.isa.avx512() {
                        let (mu, sum) = (
                            &self.centres[j * d..(j + 1) * d],
                            &mut m.sum[j * d..(j + 1) * d],
                        );
                        let p = &mut m.products[j * d * d..(j + 1) * d * d];
                        // SAFETY: the processor has AVX-512 (an `Isa` is made only for what it
                        // has).
                        unsafe {
                            avx512::moments(
                                (&s.xt, d, n, ld),
                                mu,
                                r,
                                (&mut s.z, &mut s.wz),
                                &mut s.lanes,
                                sum,
                                p,
                            )
                        };
                        continue;
                    }
                    for l in 0..d {
                        let row = l * ld..l * ld + n;
                        let (x, z, wz) =
                            (&s.xt[row.clone()], &mut s.z[row.clone()], &mut s.wz[row]);
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
                }
            }
            Path::DiagonalTransposed => {
                for j in 0..k {
                    let r = &s.lp[j * n..(j + 1) * n];
                    m.weight[j] += self.sum::<AVX>(r);
                    for l in 0..d {
                        let mu = self.means[j * d + l];
                        let (s1, s2) =
                            self.weighted_moments::<AVX>(r, &s.xt[l * ld..l * ld + n], mu);
                        m.sum[j * d + l] += s1;
                        m.products[j * d + l] += s2;
                    }
                }
            }
            Path::Small { .. } => unreachable!("the small-dimension E-step has its own kernel"),
        }
        out
    }
}

#[cfg(test)]
mod scratch_tests {
    use super::*;

    #[test]
    fn blocks_copied_by_load_go_into_room_made_beforehand() {
        let (d, k) = (8, 2);
        let forms = (0..k).map(|j| {
            Some(Gaussian::Diagonal {
                means: vec![j as f64; d],
                half_inv_var: vec![0.5; d],
                log_norm: -1.0,
            })
        });
        let plan = Plan::new(forms, &[-0.7; 2]).unwrap().expect("a plan");
        assert!(plan.path == Path::DiagonalRows && plan.single.is_some());
        let mut s = plan.scratch().unwrap();
        let x = ndarray::Array2::from_shape_fn((2 * BLOCK_ROWS, d), |(i, l)| (i + l) as f32);
        let at = s.x32.as_ptr();
        assert!(plan.load(x.slice(ndarray::s![..;2, ..]), &mut s));
        assert_eq!((s.held, s.x32.as_ptr()), (Held::CopyF32, at));
        // As `f64`: a block that is not contiguous, and `f32` rows beyond the `f32` kernels.
        let at = s.xt.as_ptr();
        let x64 = x.mapv(f64::from);
        assert!(plan.load(x64.slice(ndarray::s![..;2, ..]), &mut s));
        assert_eq!((s.held, s.xt.as_ptr()), (Held::CopyF64, at));
        let far = x.mapv(|v| v * 1e30);
        assert!(plan.load(far.slice(ndarray::s![..BLOCK_ROWS, ..]), &mut s));
        assert_eq!((s.held, s.xt.as_ptr()), (Held::CopyF64, at));
    }
}
