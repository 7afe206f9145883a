//! Packed matrix products `C += alpha A B`, with the same numbers on every kernel path and for
//! every thread count.
//!
//! Each entry of `C` takes the products of its row of `A` and its column of `B` by blocks of
//! [`KC`] consecutive `k`, in order: a block's products are summed by fused multiply-adds
//! starting from 0, and its sum `s` is then added as `c + alpha * s`. The vector width and the
//! register tile only change which entries are computed side by side, never the operations on
//! one entry, so the AVX-512, AVX2 and portable paths give the same bits. The threads take
//! blocks of `C` ([`MC`] rows, and fewer columns when there are few blocks of rows); which
//! thread computes an entry changes none of its operations, so the thread count changes nothing
//! either.
//!
//! The layout is that of Goto and van de Geijn ("Anatomy of high-performance matrix
//! multiplication", ACM TOMS 34(3), 2008): for each block of [`KC`] values of `k` in turn, that
//! block of `B` is packed in panels of `NR` columns, each task packs its rows of `A` in panels
//! of `MR` rows, and an `MR x NR` tile of `C` is summed in registers over the block.

use ndarray::{s, ArrayView1, ArrayView2, ArrayViewMut2, Axis};
use rayon::prelude::*;

use crate::error::Result;
use crate::kernels::dispatch::{Isa, Level};
use crate::kernels::lanes::{Lanes, Quad};
use crate::validate::too_large;

/// The depth of a block: the sums of an entry's products restart every `KC` values of `k`.
pub(crate) const KC: usize = 256;

/// A multiple of every `MR`.
const LCM_MR: usize = 24;

/// The rows of `C` a task takes (a multiple of [`LCM_MR`]).
const MC: usize = 96;

/// The fewest panels of columns a task takes.
const MIN_PANELS: usize = 8;

/// Blocks of rows of `C` below this many per thread are also split by columns.
const TASKS_PER_THREAD: usize = 8;

/// The largest register tile, `MR x NR` entries.
const TILE: usize = 192;

/// Which entries of `C` a product writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    /// Every entry.
    Whole,
    /// The entries on and below the diagonal (`i >= j`); the others are neither read nor
    /// written.
    Lower,
}

/// `C += alpha A B` (on the entries `part` says), `A` of shape `(m, k)`, `B` of `(k, n)` and `C`
/// of `(m, n)`, of any strides. Its work space, at most `KC` rows of `B` and `MC x KC` values
/// of `A` per thread, is small beside the matrices (a thread keeps up to [`KEPT`] values of it
/// for the next product).
///
/// # Panics
///
/// When the shapes do not match.
pub(crate) fn gemm(
    alpha: f64,
    a: ArrayView2<f64>,
    b: ArrayView2<f64>,
    c: ArrayViewMut2<f64>,
    part: Part,
) {
    product(Isa::current(), Spread::Pool, alpha, a, b, c, part)
}

/// [`gemm`] on the calling thread alone (the same numbers), for a caller whose threads each
/// take their own products.
pub(crate) fn gemm_here(
    alpha: f64,
    a: ArrayView2<f64>,
    b: ArrayView2<f64>,
    c: ArrayViewMut2<f64>,
    part: Part,
) {
    product(Isa::current(), Spread::Here, alpha, a, b, c, part)
}

/// [`gemm`] on the kernel path `isa`.
#[cfg(test)]
pub(crate) fn gemm_on(
    isa: Isa,
    alpha: f64,
    a: ArrayView2<f64>,
    b: ArrayView2<f64>,
    c: ArrayViewMut2<f64>,
    part: Part,
) {
    product(isa, Spread::Pool, alpha, a, b, c, part)
}

/// Where a product runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spread {
    /// Over the current pool, or mixtura's own outside any pool (on the calling thread alone
    /// when it is small, or when no pool can start).
    Pool,
    /// On the calling thread alone.
    Here,
}

/// [`gemm`] on the kernel path `isa`, on the threads `spread` says.
fn product(
    isa: Isa,
    spread: Spread,
    alpha: f64,
    a: ArrayView2<f64>,
    b: ArrayView2<f64>,
    c: ArrayViewMut2<f64>,
    part: Part,
) {
    let (m, k) = a.dim();
    let n = b.ncols();
    assert!(
        b.nrows() == k && c.dim() == (m, n),
        "shapes of a matrix product"
    );
    if m == 0 || n == 0 || k == 0 {
        return;
    }
    // The tiles' vectors run down the columns of `C`: for a `C` whose rows are contiguous, the
    // same sums come from `C^T += alpha B^T A^T` (each entry's products in the same order).
    let transposed = c.strides()[1] == 1 && c.strides()[0] != 1;
    let shape = match part {
        Part::Whole => Shape::Whole,
        Part::Lower if transposed => Shape::Upper,
        Part::Lower => Shape::Lower,
    };
    let (a, b, c) = if transposed {
        (b.reversed_axes(), a.reversed_axes(), c.reversed_axes())
    } else {
        (a, b, c)
    };
    if m * n <= NARROW {
        // Too few entries for a register tile: each entry alone, by the same operations.
        match isa.level() {
            #[cfg(target_arch = "x86_64")]
            Level::Avx2 | Level::Avx512 => {
                // SAFETY: the processor has FMA (an `Isa` is made only for what it has), the
                // feature the function is compiled for.
                unsafe { narrow_fma(alpha, a, b, c, shape) }
            }
            _ => narrow(alpha, a, b, c, shape),
        }
        return;
    }
    match isa.level() {
        #[cfg(target_arch = "x86_64")]
        Level::Avx512 => run(spread, alpha, a, b, c, shape, 8, |t| {
            // SAFETY: the processor has AVX-512F, AVX-512VL, AVX2 and FMA (an `Isa` is made only
            // for what it has), the features the function is compiled for.
            unsafe { task_avx512(t) }
        }),
        #[cfg(target_arch = "x86_64")]
        Level::Avx2 => run(spread, alpha, a, b, c, shape, 6, |t| {
            // SAFETY: the processor has AVX2 and FMA, the features the function is compiled for.
            unsafe { task_avx2(t) }
        }),
        _ => run(spread, alpha, a, b, c, shape, 4, task::<Quad, 1, 4>),
    }
}

/// Products with at most this many entries of `C` are computed entry by entry ([`narrow`]).
const NARROW: usize = 64;

/// The product entry by entry: for each block of [`KC`] values of `k`, every entry's sum of
/// products by fused multiply-adds from 0, then added as `c + alpha * s` (the operations of the
/// tiles, without them).
#[inline(always)]
fn narrow(
    alpha: f64,
    a: ArrayView2<f64>,
    b: ArrayView2<f64>,
    mut c: ArrayViewMut2<f64>,
    shape: Shape,
) {
    let (m, k) = a.dim();
    let n = b.ncols();
    let written = |i: usize, j: usize| match shape {
        Shape::Whole => true,
        Shape::Lower => i >= j,
        Shape::Upper => i <= j,
    };
    let mut sums = [0.0; NARROW];
    for p0 in (0..k).step_by(KC) {
        sums.fill(0.0);
        for p in p0..(p0 + KC).min(k) {
            let (ap, bp) = (a.column(p), b.row(p));
            match (ap.as_slice(), bp.as_slice()) {
                (Some(ap), Some(bp)) => {
                    for (&x, row) in ap.iter().zip(sums.chunks_exact_mut(n)) {
                        for (s, &y) in row.iter_mut().zip(bp) {
                            *s = x.mul_add(y, *s);
                        }
                    }
                }
                _ => {
                    for i in 0..m {
                        for j in 0..n {
                            sums[i * n + j] = ap[i].mul_add(bp[j], sums[i * n + j]);
                        }
                    }
                }
            }
        }
        for i in 0..m {
            for j in 0..n {
                if written(i, j) {
                    c[[i, j]] += alpha * sums[i * n + j];
                }
            }
        }
    }
}

/// The product by blocks of `8 x 8` entries of `C`, each by [`narrow`]: the same numbers as the
/// tiles, with no work space (for when there is no memory for one).
fn without_work_space(
    alpha: f64,
    a: ArrayView2<f64>,
    b: ArrayView2<f64>,
    mut c: ArrayViewMut2<f64>,
    shape: Shape,
) {
    const SIDE: usize = 8;
    let (m, n) = c.dim();
    for i0 in (0..m).step_by(SIDE) {
        for j0 in (0..n).step_by(SIDE) {
            // A block on the diagonal writes its part of it; the others all or nothing.
            let block = match shape {
                _ if i0 == j0 => shape,
                Shape::Lower if i0 < j0 => continue,
                Shape::Upper if i0 > j0 => continue,
                _ => Shape::Whole,
            };
            let (i1, j1) = ((i0 + SIDE).min(m), (j0 + SIDE).min(n));
            let (a, b) = (a.slice(s![i0..i1, ..]), b.slice(s![.., j0..j1]));
            let c = c.slice_mut(s![i0..i1, j0..j1]);
            match Isa::current().level() {
                #[cfg(target_arch = "x86_64")]
                Level::Avx2 | Level::Avx512 => {
                    // SAFETY: the processor has FMA (an `Isa` is made only for what it has), the
                    // feature the function is compiled for.
                    unsafe { narrow_fma(alpha, a, b, c, block) }
                }
                _ => narrow(alpha, a, b, c, block),
            }
        }
    }
}

/// [`narrow`] compiled for FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "fma")]
fn narrow_fma(
    alpha: f64,
    a: ArrayView2<f64>,
    b: ArrayView2<f64>,
    c: ArrayViewMut2<f64>,
    shape: Shape,
) {
    narrow(alpha, a, b, c, shape)
}

/// Which entries of `C` a task writes: [`Part`] once `C` may have been transposed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Whole,
    /// `i >= j`.
    Lower,
    /// `i <= j`.
    Upper,
}

/// The work of one task for one block of `k`: the block of `C` from row `row0` and column `col0`
/// (and the same rows of `A`, the block's columns).
struct Task<'a, 'b> {
    alpha: f64,
    shape: Shape,
    /// The task's rows of `A`.
    a: ArrayView2<'a, f64>,
    /// The block of `B`, packed ([`pack_b`]).
    pb: &'a [f64],
    /// The columns of `B` padded to whole panels.
    n_pad: usize,
    /// The width of the panels `B` was packed in (the kernel's `NR`).
    nr: usize,
    /// The task's block of `C`.
    c: ArrayViewMut2<'a, f64>,
    /// The index in `C` of the task's first row.
    row0: usize,
    /// The index in `C` of the task's first column (a multiple of `NR`).
    col0: usize,
    /// Work space for a block of packed `A`, `MC x KC` values.
    pa: &'b mut [f64],
}

/// The product on the kernel `kernel` (tiles of `nr` columns): its work space, then
/// [`run_tasks`] on the threads it takes.
#[allow(clippy::too_many_arguments)]
fn run(
    spread: Spread,
    alpha: f64,
    a: ArrayView2<f64>,
    b: ArrayView2<f64>,
    c: ArrayViewMut2<f64>,
    shape: Shape,
    nr: usize,
    kernel: impl Fn(&mut Task) + Sync + Send,
) {
    let k = a.ncols();
    let (m, n) = c.dim();
    let n_pad = n.div_ceil(nr) * nr;
    // The calling thread's work space from its last product (or reserved by its caller: see
    // [`reserve`]), taken before the product moves to a pool; if it is not in use (a product
    // that this thread runs while it waits for another's tasks finds it taken, and allocates).
    // Every value is written by `pack_b` (the padding too), so what a product left is not
    // cleared.
    let mut pb = PACKED.with(|p| p.take());
    let need = k.min(KC) * n_pad;
    if pb.len() < need {
        if pb.try_reserve_exact(need - pb.len()).is_err() {
            // No memory for the packed block (it grows with `n`): entry by entry, without work
            // space, by the same operations.
            PACKED.with(|p| p.replace(pb));
            return without_work_space(alpha, a, b, c, shape);
        }
        pb.resize(need, 0.0);
    }
    // Small products run on the calling thread alone; the others on a pool's thread, so that
    // the pool is not woken from outside for each block, or on the calling thread alone (the
    // same numbers) when no pool can start.
    let parallel = spread == Spread::Pool && m.saturating_mul(n).saturating_mul(k) >= PARALLEL_FROM;
    let on = if parallel {
        crate::parallel::outer_pool()
    } else {
        Ok(None)
    };
    let product = |parallel| run_tasks(alpha, a, b, c, shape, nr, &kernel, &mut pb, parallel);
    match on {
        Ok(Some(pool)) => pool.install(|| product(true)),
        Ok(None) => product(parallel),
        Err(_) => product(false),
    }
    if pb.capacity() <= KEPT {
        PACKED.with(|p| p.replace(pb));
    }
}

/// Splits `C` into the tasks' blocks, then for each block of `k`: packs that block of `B` in
/// panels of `nr` columns into `pb` (at least `min(k, KC) x n_pad` values) and runs the tasks on
/// it, on the current pool's threads if `parallel`.
#[allow(clippy::too_many_arguments)]
fn run_tasks(
    alpha: f64,
    a: ArrayView2<f64>,
    b: ArrayView2<f64>,
    mut c: ArrayViewMut2<f64>,
    shape: Shape,
    nr: usize,
    kernel: &(impl Fn(&mut Task) + Sync),
    pb: &mut [f64],
    parallel: bool,
) {
    let k = a.ncols();
    let (m, n) = c.dim();
    let n_pad = n.div_ceil(nr) * nr;
    // Tasks of MC rows, and of fewer columns when there are not many blocks of rows, so that
    // every thread has work (which entries a task takes changes no number).
    // (Asked only on a pool's thread: outside any pool, rayon's count starts its global pool.)
    let want = || TASKS_PER_THREAD * rayon::current_num_threads();
    let row_blocks = m.div_ceil(MC);
    let width = if !parallel || row_blocks >= want() {
        n
    } else {
        n.div_ceil(want().div_ceil(row_blocks))
            .div_ceil(nr)
            .max(MIN_PANELS)
            * nr
    };
    let mut tasks = Vec::new();
    for (i, (rows, a)) in c
        .axis_chunks_iter_mut(Axis(0), MC)
        .zip(a.axis_chunks_iter(Axis(0), MC))
        .enumerate()
    {
        let (mut rest, mut col0) = (rows, 0);
        loop {
            let last = rest.ncols() <= width;
            let cut = width.min(rest.ncols());
            let (c, next) = rest.split_at(Axis(1), cut);
            // A block wholly across the diagonal from the part written is no task.
            let (r0, r1, c1) = (i * MC, i * MC + a.nrows(), col0 + c.ncols());
            let written = match shape {
                Shape::Whole => true,
                Shape::Lower => col0 < r1,
                Shape::Upper => c1 > r0,
            };
            if written {
                tasks.push((r0, col0, a, c));
            }
            if last {
                break;
            }
            (rest, col0) = (next, c1);
        }
    }
    // A task's packed rows of `A` (every value written by `pack_a`), in the space its thread
    // keeps for them.
    let space = MC.min(m.div_ceil(LCM_MR) * LCM_MR) * k.min(KC);
    // The blocks of `k` one after the other: each entry takes its blocks' sums in order.
    for p0 in (0..k).step_by(KC) {
        let kc = KC.min(k - p0);
        let packed = &mut pb[..kc * n_pad];
        let pack = |(panel, out): (usize, &mut [f64])| pack_b(b, p0, panel * nr, nr, out);
        if parallel {
            packed.par_chunks_mut(kc * nr).enumerate().for_each(pack);
        } else {
            packed.chunks_mut(kc * nr).enumerate().for_each(pack);
        }
        let packed = &pb[..kc * n_pad];
        let work = |task: &mut BlockOfC| {
            let (row0, col0, a, ref mut c) = *task;
            let mut pa = PANELS.with(|p| p.take());
            if pa.len() < space {
                pa.resize(space, 0.0);
            }
            kernel(&mut Task {
                alpha,
                shape,
                a: a.slice(s![.., p0..p0 + kc]),
                pb: packed,
                n_pad,
                nr,
                c: c.view_mut(),
                row0,
                col0,
                pa: &mut pa,
            });
            PANELS.with(|p| p.replace(pa));
        };
        if parallel {
            tasks.par_iter_mut().for_each(work);
        } else {
            tasks.iter_mut().for_each(work);
        }
    }
}

/// Checks that the work space of a product into `n` columns of `C` fits in memory now (the
/// calling thread keeps it for its next product if it is at most [`KEPT`] values); an error
/// otherwise. A caller that can fail cleanly asks first: a product that finds no memory for
/// its work space goes entry by entry, slowly.
pub(crate) fn reserve(n: usize) -> Result<()> {
    // Enough for the panels of every kernel (`n_pad < n + 8`).
    let need = KC * (n + 7);
    let mut space = Vec::<f64>::new();
    if space.try_reserve_exact(need).is_err() {
        return Err(too_large("data", "the work space of the products"));
    }
    if need <= KEPT {
        space.resize(need, 0.0);
        PACKED.with(|p| {
            let kept = p.take();
            p.replace(if kept.len() >= need { kept } else { space });
        });
    }
    Ok(())
}

/// A task's block of `C`: its first row and column, its rows of `A`, and the block.
type BlockOfC<'a> = (usize, usize, ArrayView2<'a, f64>, ArrayViewMut2<'a, f64>);

/// The largest work space a thread keeps between products, in values (4 MB: the packed block of
/// `B` of up to 2,048 columns).
const KEPT: usize = 1 << 19;

/// Products of fewer multiply-adds than this run on the calling thread alone.
const PARALLEL_FROM: usize = 1 << 19;

thread_local! {
    /// The packed `B` of the last product run from this thread (its memory, reused).
    static PACKED: std::cell::Cell<Vec<f64>> = const { std::cell::Cell::new(Vec::new()) };
    /// This thread's space for a task's packed rows of `A` (at most `MC x KC` values).
    static PANELS: std::cell::Cell<Vec<f64>> = const { std::cell::Cell::new(Vec::new()) };
}

/// Packs rows `p0..p0 + kc` of `b` (`kc = out.len() / nr`), columns `j0..j0 + nr`, into `out`:
/// `kc` rows of `nr` values, the columns past `b`'s zero.
fn pack_b(b: ArrayView2<f64>, p0: usize, j0: usize, nr: usize, out: &mut [f64]) {
    for (p, row) in out.chunks_exact_mut(nr).enumerate() {
        copy_padded(b.row(p0 + p), j0, row);
    }
}

/// Packs the `kc` columns of `a` into `out`: panel after panel of `mr` rows, each `kc` columns
/// of `mr` values, the rows past `a`'s zero.
#[inline(always)]
fn pack_a(a: &ArrayView2<f64>, kc: usize, mr: usize, out: &mut [f64]) {
    for (panel, dst) in out.chunks_exact_mut(kc * mr).enumerate() {
        for (p, col) in dst.chunks_exact_mut(mr).enumerate() {
            copy_padded(a.column(p), panel * mr, col);
        }
    }
}

/// `out` from `src[start..]`, zero past the end of `src`.
#[inline(always)]
fn copy_padded(src: ArrayView1<f64>, start: usize, out: &mut [f64]) {
    let len = out.len().min(src.len() - start);
    match src.as_slice() {
        Some(src) => out[..len].copy_from_slice(&src[start..start + len]),
        None => {
            for (i, v) in out[..len].iter_mut().enumerate() {
                *v = src[start + i];
            }
        }
    }
    out[len..].fill(0.0);
}

/// One task with `L` lanes, tiles of `MV` vectors of `L` (rows) by `NR` columns.
#[inline(always)]
fn task<L: Lanes, const MV: usize, const NR: usize>(t: &mut Task) {
    let mr = MV * L::WIDTH;
    let Task {
        alpha,
        shape,
        ref a,
        pb,
        n_pad,
        nr,
        ref mut c,
        row0,
        col0,
        ref mut pa,
    } = *t;
    let (m, kc) = a.dim();
    debug_assert!(
        nr == NR && col0 % NR == 0 && pb.len() == kc * n_pad,
        "B packed in panels of NR columns"
    );
    // The panels of columns with entries to write: the task's, up to its last row (lower) or
    // from its first (upper).
    let (mut first, mut end) = (col0 / NR, (col0 + c.ncols()).div_ceil(NR));
    match shape {
        Shape::Whole => {}
        Shape::Lower => end = end.min((row0 + m).div_ceil(NR)),
        Shape::Upper => first = first.max(row0 / NR),
    }
    let pa = &mut pa[..m.div_ceil(mr) * mr * kc];
    pack_a(a, kc, mr, pa);
    let mut out = [0.0; TILE];
    for jp in first..end {
        let pbj = &pb[jp * kc * NR..(jp + 1) * kc * NR];
        let j0 = jp * NR;
        for (ip, pai) in pa.chunks_exact(kc * mr).enumerate() {
            let i0 = ip * mr;
            let g0 = row0 + i0;
            // A tile wholly across the diagonal from the part written is skipped; one that the
            // diagonal crosses writes only its part.
            let diagonal = match shape {
                Shape::Whole => None,
                Shape::Lower if g0 + mr <= j0 => continue,
                Shape::Upper if g0 >= j0 + NR => continue,
                Shape::Lower if g0 >= j0 + NR => None,
                Shape::Upper if g0 + mr <= j0 => None,
                _ => Some(g0),
            };
            tile::<L, MV, NR>(pai, pbj, &mut out);
            let (jl, diagonal) = (j0 - col0, diagonal.map(|g| (g, j0)));
            store(c, alpha, &out, mr, NR, i0, jl, shape, diagonal);
        }
    }
}

/// The sums of an `MR x NR` tile (`MR = MV * L::WIDTH`) over one block: `out[j * MR + i] =
/// sum_p pa[p * MR + i] pb[p * NR + j]`, by fused multiply-adds in the order of `p` from 0.
#[inline(always)]
fn tile<L: Lanes, const MV: usize, const NR: usize>(pa: &[f64], pb: &[f64], out: &mut [f64]) {
    let w = L::WIDTH;
    let mr = MV * w;
    let mut acc = [[L::splat(0.0); MV]; NR];
    for (a, b) in pa.chunks_exact(mr).zip(pb.chunks_exact(NR)) {
        let mut av = [L::splat(0.0); MV];
        for (v, x) in av.iter_mut().enumerate() {
            *x = L::load(&a[v * w..]);
        }
        for (j, row) in acc.iter_mut().enumerate() {
            let bj = L::splat(b[j]);
            for (s, x) in row.iter_mut().zip(&av) {
                *s = x.mul_add(bj, *s);
            }
        }
    }
    for (j, row) in acc.iter().enumerate() {
        for (v, s) in row.iter().enumerate() {
            s.store(&mut out[j * mr + v * w..]);
        }
    }
}

/// Adds `alpha` times a tile's sums (`out`, as [`tile`] leaves them) to its entries of `c` (rows
/// `i0..`, columns `j0..`) that are within `c` and, when the diagonal crosses the tile
/// (`diagonal` is then the indices in the whole product of row `i0` and column `j0`), on the
/// side of it `shape` says.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn store(
    c: &mut ArrayViewMut2<f64>,
    alpha: f64,
    out: &[f64],
    mr: usize,
    nr: usize,
    i0: usize,
    j0: usize,
    shape: Shape,
    diagonal: Option<(usize, usize)>,
) {
    let (m, n) = c.dim();
    let rows = mr.min(m - i0);
    let cols = nr.min(n - j0);
    if diagonal.is_none() && rows == mr {
        // Whole columns of the tile: contiguous when `c`'s columns are.
        for j in 0..cols {
            let mut col = c.column_mut(j0 + j);
            let sums = &out[j * mr..(j + 1) * mr];
            match col.as_slice_mut() {
                Some(col) => {
                    for (v, s) in col[i0..i0 + mr].iter_mut().zip(sums) {
                        *v += alpha * s;
                    }
                }
                None => {
                    for (i, s) in sums.iter().enumerate() {
                        col[i0 + i] += alpha * s;
                    }
                }
            }
        }
        return;
    }
    for i in 0..rows {
        let (start, end) = match (diagonal, shape) {
            (Some((g, jg)), Shape::Lower) => (0, cols.min((g + i + 1).saturating_sub(jg))),
            (Some((g, jg)), Shape::Upper) => ((g + i).saturating_sub(jg), cols),
            _ => (0, cols),
        };
        let mut row = c.row_mut(i0 + i);
        for j in start..end {
            row[j0 + j] += alpha * out[j * mr + i];
        }
    }
}

/// [`task`] on AVX2 vectors, tiles of 8 x 6 (15 of the 16 registers).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn task_avx2(t: &mut Task) {
    task::<crate::kernels::x86::avx2::Avx, 2, 6>(t)
}

/// [`task`] on AVX-512 vectors, tiles of 24 x 8 (28 of the 32 registers).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
fn task_avx512(t: &mut Task) {
    task::<crate::kernels::x86::avx512::Avx512, 3, 8>(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{s, Array2};

    /// Values with many significant bits, of both signs.
    fn values(m: usize, n: usize, seed: usize) -> Array2<f64> {
        Array2::from_shape_fn((m, n), |(i, j)| {
            let h = (i * 7919 + j * 104_729 + seed * 15_485_863) % 1_000_003;
            (h as f64 / 1_000_003.0 - 0.5) * (1.0 + (j % 7) as f64 / 3.0)
        })
    }

    /// The definition, entry by entry: blocks of `KC` summed by fused multiply-adds from 0.
    fn reference(alpha: f64, a: &Array2<f64>, b: &Array2<f64>, c: &mut Array2<f64>, part: Part) {
        let (m, k) = a.dim();
        for i in 0..m {
            for j in 0..b.ncols() {
                if part == Part::Lower && j > i {
                    continue;
                }
                for p0 in (0..k).step_by(KC) {
                    let mut s = 0.0f64;
                    for p in p0..(p0 + KC).min(k) {
                        s = a[[i, p]].mul_add(b[[p, j]], s);
                    }
                    c[[i, j]] += alpha * s;
                }
            }
        }
    }

    #[test]
    fn products_are_the_definition_on_every_path_and_thread_count() {
        let shapes = [
            (1, 1, 1),
            (5, 3, 7),
            // At most 64 entries, entry by entry, over several blocks of k.
            (8, 600, 8),
            (1, 700, 64),
            (64, 300, 1),
            (24, 256, 8),
            (97, 300, 53),
            (200, 513, 190),
            (191, 64, 250),
        ];
        for (m, k, n) in shapes {
            // Odd shapes with `A` in column-major order, so that both of its layouts are read.
            let a = if m % 2 == 1 {
                values(m, k, 1)
                    .t()
                    .as_standard_layout()
                    .into_owned()
                    .reversed_axes()
            } else {
                values(m, k, 1)
            };
            let b = values(k, n, 2);
            let c0 = values(m, n, 3);
            for part in [Part::Whole, Part::Lower] {
                for alpha in [1.0, -1.0, 0.37] {
                    let mut want = c0.clone();
                    reference(alpha, &a, &b, &mut want, part);
                    for isa in Isa::supported() {
                        for (threads, column_major) in [(1, false), (2, true), (3, false)] {
                            let pool = rayon::ThreadPoolBuilder::new()
                                .num_threads(threads)
                                .build()
                                .unwrap();
                            // Rows or columns of `C` contiguous: the product is transposed or not.
                            let mut c = if column_major {
                                c0.t().as_standard_layout().into_owned().reversed_axes()
                            } else {
                                c0.clone()
                            };
                            let mut here = c.clone();
                            pool.install(|| {
                                gemm_on(isa, alpha, a.view(), b.view(), c.view_mut(), part);
                                // On the pool's thread alone.
                                let (a, b) = (a.view(), b.view());
                                product(isa, Spread::Here, alpha, a, b, here.view_mut(), part);
                            });
                            for c in [&c, &here] {
                                assert_eq!(
                                    c.mapv(f64::to_bits),
                                    want.mapv(f64::to_bits),
                                    "{m} x {k} x {n}, {part:?}, alpha {alpha}, {isa:?}, {threads} threads, column-major {column_major}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn a_large_product_from_outside_any_pool_is_the_definition() {
        // Past `PARALLEL_FROM`, from the test's own thread: the product moves to the threads of
        // mixtura's own pool.
        let (m, k, n) = (200, 130, 200);
        let (a, b) = (values(m, k, 9), values(k, n, 10));
        for part in [Part::Whole, Part::Lower] {
            let mut want = Array2::<f64>::zeros((m, n));
            reference(-1.0, &a, &b, &mut want, part);
            let mut c = Array2::<f64>::zeros((m, n));
            gemm(-1.0, a.view(), b.view(), c.view_mut(), part);
            assert_eq!(c.mapv(f64::to_bits), want.mapv(f64::to_bits), "{part:?}");
        }
    }

    #[test]
    fn strided_and_transposed_operands() {
        let (m, k, n) = (70, 300, 45);
        let at = values(k, m, 4);
        let big = values(2 * k, 3 * n, 5);
        let b = big.slice(s![..;2, 1..;3]);
        let mut c = Array2::<f64>::zeros((m, n + 4));
        gemm(1.0, at.t(), b, c.slice_mut(s![.., 2..n + 2]), Part::Whole);
        let mut want = Array2::<f64>::zeros((m, n));
        reference(
            1.0,
            &at.t().to_owned(),
            &b.to_owned(),
            &mut want,
            Part::Whole,
        );
        assert_eq!(c.slice(s![.., 2..n + 2]), want);
        assert!(c
            .slice(s![.., ..2])
            .iter()
            .chain(c.slice(s![.., n + 2..]))
            .all(|&v| v == 0.0));
    }

    #[test]
    fn lower_part_leaves_the_upper_triangle_alone() {
        let (m, k) = (130, 40);
        let a = values(m, k, 6);
        for column_major in [false, true] {
            let mut c = Array2::from_elem((m, m), f64::NAN);
            if column_major {
                c = c.reversed_axes();
            }
            for i in 0..m {
                for j in 0..=i {
                    c[[i, j]] = 0.0;
                }
            }
            gemm(1.0, a.view(), a.t(), c.view_mut(), Part::Lower);
            for i in 0..m {
                for j in 0..m {
                    assert_eq!(c[[i, j]].is_nan(), j > i, "({i}, {j}) {column_major}");
                }
            }
        }
    }

    #[test]
    fn without_work_space_is_the_same_product() {
        // Ragged shapes over two blocks of k; each part of C, C of NaN where nothing is written.
        let (m, n, k) = (37, 29, KC + 13);
        let (a, b) = (values(m, k, 8), values(k, n, 9));
        for shape in [Shape::Whole, Shape::Lower, Shape::Upper] {
            let mut want = values(m, n, 10);
            let mut got = want.clone();
            let isa = Isa::current();
            let part = |c: &mut Array2<f64>| {
                for ((i, j), v) in c.indexed_iter_mut() {
                    let skip = match shape {
                        Shape::Whole => false,
                        Shape::Lower => i < j,
                        Shape::Upper => i > j,
                    };
                    if skip {
                        *v = f64::NAN;
                    }
                }
            };
            part(&mut want);
            part(&mut got);
            let (gemm_part, c) = match shape {
                Shape::Whole => (Part::Whole, want.view_mut()),
                Shape::Lower => (Part::Lower, want.view_mut()),
                // Upper of C is Lower of C^T = B^T A^T.
                Shape::Upper => (Part::Lower, want.view_mut().reversed_axes()),
            };
            if shape == Shape::Upper {
                gemm_on(isa, 0.37, b.t(), a.t(), c, gemm_part);
            } else {
                gemm_on(isa, 0.37, a.view(), b.view(), c, gemm_part);
            }
            without_work_space(0.37, a.view(), b.view(), got.view_mut(), shape);
            for (w, g) in want.iter().zip(&got) {
                assert!(
                    w.to_bits() == g.to_bits() || (w.is_nan() && g.is_nan()),
                    "{shape:?}"
                );
            }
        }
    }

    #[test]
    fn non_finite_values_propagate() {
        let mut a = values(30, 20, 7);
        a[[3, 5]] = f64::INFINITY;
        a[[9, 2]] = f64::NAN;
        let b = values(20, 10, 8);
        for isa in Isa::supported() {
            let mut c = Array2::<f64>::zeros((30, 10));
            gemm_on(isa, 1.0, a.view(), b.view(), c.view_mut(), Part::Whole);
            for i in 0..30 {
                for j in 0..10 {
                    assert_eq!(
                        !c[[i, j]].is_finite(),
                        i == 3 || i == 9,
                        "{isa:?} ({i}, {j})"
                    );
                }
            }
        }
    }
}
