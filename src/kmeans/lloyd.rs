//! Lloyd updates: the distance of a row to the centroids (NaN coordinates skipped), the
//! statistics of one pass (each row added to its nearest centroid), and the reseeding of
//! centroids left without rows.

use std::ops::Range;
use std::sync::atomic::{AtomicU8, Ordering};

use ndarray::{Array2, ArrayView1, ArrayView2};

use crate::error::{Error, Result};

use crate::kernels::{any_nan, assign_block, lane_distance, AssignScratch};
use crate::parallel::{blocks, chunk_rows, map_chunks, BLOCK_ROWS};
use crate::rows::Rows;
use crate::validate::{collected, too_large};
use crate::weights::Weights;
use rayon::prelude::*;

/// Squared distance over the coordinates observed in `x` (NaN coordinates are skipped).
#[inline]
pub(super) fn distance(x: ArrayView1<f64>, c: ArrayView1<f64>) -> f64 {
    match (x.as_slice(), c.as_slice()) {
        (Some(a), Some(b)) => lane_distance(a, b),
        _ => {
            let mut s = [0.0; 4];
            for (t, (a, b)) in x.iter().zip(c.iter()).enumerate() {
                let v = a - b;
                s[t % 4] += if v.is_nan() { 0.0 } else { v * v };
            }
            (s[0] + s[1]) + (s[2] + s[3])
        }
    }
}

pub(super) fn nearest(x: ArrayView1<f64>, centroids: &ArrayView2<f64>) -> (usize, f64) {
    let mut best = (0, f64::INFINITY);
    if let (Some(row), Some(all)) = (x.as_slice(), centroids.as_slice()) {
        let d = row.len().max(1);
        for (j, c) in all.chunks_exact(d).enumerate() {
            let dist = lane_distance(row, c);
            if dist < best.1 {
                best = (j, dist);
            }
        }
        return best;
    }
    for (j, c) in centroids.rows().into_iter().enumerate() {
        let d = distance(x, c);
        if d < best.1 {
            best = (j, d);
        }
    }
    best
}

/// Writes `f(row, &mut out[i])` for each row `i` of `x` (`out` holds one value per row), by
/// chunks of rows in parallel on the current pool, each chunk read a block at a time.
pub(super) fn each_row_into<T: Send>(
    x: Rows<'_>,
    out: &mut [T],
    f: impl Fn(ArrayView1<f64>, &mut T) + Sync,
) {
    let size = chunk_rows(x.nrows()).max(1);
    out.par_chunks_mut(size).enumerate().for_each(|(ci, part)| {
        let rows = x.slice(ci * size..ci * size + part.len());
        let mut buf = Vec::new();
        for block in blocks(0..part.len()) {
            let xb = rows.block(block.clone(), &mut buf);
            for (o, row) in part[block].iter_mut().zip(xb.rows()) {
                f(row, o);
            }
        }
    });
}

/// The sufficient statistics of k-means over some rows (what pomegranate's `summarize`
/// collects): per cluster and coordinate, the weighted sum and the total weight of the observed
/// values of the rows nearest to that cluster, and the total weighted squared distance of the
/// rows to their nearest centroid. Statistics of two sets of rows [`merge`](Self::merge) into
/// those of both.
#[derive(Debug, Clone, PartialEq)]
pub struct KmeansStats {
    pub(super) sums: Array2<f64>,
    pub(super) weights: Array2<f64>,
    pub(super) distance: f64,
}

impl KmeansStats {
    /// The statistics of no rows, for `k` clusters of `d` features.
    pub fn zeros(k: usize, d: usize) -> Self {
        KmeansStats {
            sums: Array2::zeros((k, d)),
            weights: Array2::zeros((k, d)),
            distance: 0.0,
        }
    }

    /// Statistics from their parts (as [`sums`](Self::sums), [`weights`](Self::weights) and
    /// [`distance`](Self::distance) give them): `sums` and `weights` of the same shape `(k, d)`,
    /// the weights and the distance non-negative, every value finite.
    pub fn from_parts(sums: Array2<f64>, weights: Array2<f64>, distance: f64) -> Result<Self> {
        if sums.dim() != weights.dim() {
            return Err(Error::param(
                "weights",
                format!(
                    "must have the shape of the sums {:?}, got {:?}",
                    sums.dim(),
                    weights.dim()
                ),
            ));
        }
        if sums.iter().any(|v| !v.is_finite()) {
            return Err(Error::param("sums", "must be finite"));
        }
        if weights.iter().any(|v| !(v.is_finite() && *v >= 0.0)) {
            return Err(Error::param("weights", "must be finite and non-negative"));
        }
        if !(distance.is_finite() && distance >= 0.0) {
            return Err(Error::param("distance", "must be finite and non-negative"));
        }
        Ok(KmeansStats {
            sums,
            weights,
            distance,
        })
    }

    /// Per cluster and feature, the weighted sum of the observed values, shape `(k, d)`.
    pub fn sums(&self) -> ArrayView2<'_, f64> {
        self.sums.view()
    }

    /// Per cluster and feature, the total weight of the observed values, shape `(k, d)`.
    pub fn weights(&self) -> ArrayView2<'_, f64> {
        self.weights.view()
    }

    /// The total weighted squared distance of the rows to their nearest centroid.
    pub fn distance(&self) -> f64 {
        self.distance
    }

    /// Adds the statistics of other rows: the result is the statistics of both sets.
    pub fn merge(&mut self, other: &KmeansStats) -> Result<()> {
        if self.sums.dim() != other.sums.dim() {
            return Err(Error::param(
                "other",
                format!(
                    "statistics of shape {:?} do not merge with statistics of shape {:?}",
                    other.sums.dim(),
                    self.sums.dim()
                ),
            ));
        }
        self.sums += &other.sums;
        self.weights += &other.weights;
        self.distance += other.distance;
        Ok(())
    }

    /// Whether no row was added (every weight is 0).
    pub fn is_empty(&self) -> bool {
        !self.weights.iter().any(|v| *v > 0.0)
    }

    /// Adds a row of weight `wi` at squared distance `dist` from its nearest centroid `j`; its
    /// NaN coordinates are skipped unless `nan_free` says it has none.
    #[inline]
    pub(super) fn add(
        &mut self,
        row: impl Iterator<Item = f64>,
        j: usize,
        wi: f64,
        dist: f64,
        nan_free: bool,
    ) {
        let d = self.sums.ncols();
        self.distance += wi * dist;
        let sums = &mut self.sums.as_slice_mut().expect("contiguous")[j * d..(j + 1) * d];
        let weights = &mut self.weights.as_slice_mut().expect("contiguous")[j * d..(j + 1) * d];
        for ((s, c), v) in sums.iter_mut().zip(weights.iter_mut()).zip(row) {
            if nan_free || !v.is_nan() {
                *s += wi * v;
                *c += wi;
            }
        }
    }

    /// The sum of per-chunk statistics, in chunk order.
    pub(super) fn total(k: usize, d: usize, parts: impl Iterator<Item = KmeansStats>) -> Self {
        let mut total = KmeansStats::zeros(k, d);
        for p in parts {
            total.sums += &p.sums;
            total.weights += &p.weights;
            total.distance += p.distance;
        }
        total
    }
}

/// What the passes over some rows (the batches of a fit, or k-means||'s candidates) have found
/// of their blocks (the blocks of [`lloyd_pass`]: [`BLOCK_ROWS`] rows each, from the batch's
/// start): not yet looked at, without NaN, or with one. The first pass that takes a block on a
/// kernel of contiguous rows (k-means++'s, or the Lloyd pass's four rows at a time) scans it for
/// NaN; the passes after it read the flag (the rows do not change during a fit). One byte per
/// block, in one checked allocation for all the batches.
pub(super) struct BlockFlags {
    flags: Vec<AtomicU8>,
    /// Batch `i`'s flags are `flags[starts[i]..starts[i + 1]]`.
    starts: Vec<usize>,
}

const UNKNOWN: u8 = 0;
const CLEAN: u8 = 1;
const HOLES: u8 = 2;

impl BlockFlags {
    /// Nothing known yet of the blocks of `batches` (ranges of rows); an error when the flags
    /// do not fit in memory.
    pub(super) fn new(batches: &[Range<usize>]) -> Result<Self> {
        let err = || too_large("data", "a flag for each block of rows");
        let mut total = 0usize;
        let starts = collected(
            (0..batches.len() + 1).map(|i| {
                let start = total;
                if let Some(r) = batches.get(i) {
                    total += r.len().div_ceil(BLOCK_ROWS);
                }
                start
            }),
            err,
        )?;
        let flags = collected((0..total).map(|_| AtomicU8::new(UNKNOWN)), err)?;
        Ok(BlockFlags { flags, starts })
    }

    /// [`new`](Self::new) for one batch of `rows` rows (then [`batch`](Self::batch) `0`).
    pub(super) fn of_rows(rows: usize) -> Result<Self> {
        Self::new(std::slice::from_ref(&(0..rows)))
    }

    /// The flags of batch `i`, of `rows` rows.
    pub(super) fn batch(&self, i: usize, rows: usize) -> &[AtomicU8] {
        let flags = &self.flags[self.starts[i]..self.starts[i + 1]];
        assert_eq!(
            flags.len(),
            rows.div_ceil(BLOCK_ROWS),
            "the flags of batch {i}"
        );
        flags
    }
}

/// Whether block `b`, whose values are `xs`, holds no NaN, by its flag in `flags`: scanned the
/// first time only. Every store to a flag writes the same value (the block's rows do not
/// change), so the order in which threads see them does not matter.
pub(super) fn clean(flags: &[AtomicU8], b: usize, xs: &[f64]) -> bool {
    let flag = &flags[b];
    match flag.load(Ordering::Relaxed) {
        CLEAN => true,
        HOLES => false,
        _ => {
            let clean = !any_nan(xs);
            flag.store(if clean { CLEAN } else { HOLES }, Ordering::Relaxed);
            clean
        }
    }
}

/// The statistics of one pass over `x` (each row added to its nearest centroid); `flags` are
/// those of `x`'s rows ([`BlockFlags::batch`]), kept from pass to pass.
pub(super) fn lloyd_pass(
    x: Rows<'_>,
    w: Weights<'_>,
    centroids: ArrayView2<f64>,
    flags: &[AtomicU8],
) -> KmeansStats {
    let (k, d) = centroids.dim();
    assert_eq!(
        flags.len(),
        x.nrows().div_ceil(BLOCK_ROWS),
        "a flag per block"
    );
    // The centroids, contiguous and without NaN, for the kernel of four rows at a time.
    let cs = centroids.as_slice().filter(|cs| d > 0 && !any_nan(cs));
    let parts = map_chunks(0..x.nrows(), |chunk| {
        let mut st = KmeansStats::zeros(k, d);
        let mut scratch = AssignScratch::new();
        // A block of `f32` rows as `f64`.
        let mut buf = Vec::new();
        for block in blocks(chunk) {
            let xb = x.block(block.clone(), &mut buf);
            // Contiguous rows without NaN: the distances of four rows at a time, and the sums
            // of a row as vectors (the same additions in the same order as below).
            if let (Some(xs), Some(cs)) = (xb.as_slice(), cs) {
                if clean(flags, block.start / BLOCK_ROWS, xs) {
                    let wb = w.block(block);
                    let (sums, weights) = (
                        st.sums.as_slice_mut().expect("contiguous"),
                        st.weights.as_slice_mut().expect("contiguous"),
                    );
                    let mut out = (sums, weights, &mut st.distance);
                    assign_block(xs, cs, wb, &mut scratch, &mut out);
                    continue;
                }
            }
            for (i, row) in block.zip(xb.rows()) {
                let (j, dist) = nearest(row, &centroids);
                st.add(row.iter().copied(), j, w.get(i), dist, false);
            }
        }
        st
    });
    KmeansStats::total(k, d, parts.into_iter())
}

/// Moves every centroid that owns no weight to one of the rows (of those in `rows`) farthest
/// from their nearest centroid (the farthest first; ties to the lowest row), as scikit-learn
/// does, so that no cluster stays empty while rows are badly served.
pub(super) fn reseed_empty(
    x: Rows<'_>,
    w: Weights<'_>,
    rows: &[Range<usize>],
    stats: &KmeansStats,
    centroids: &mut Array2<f64>,
) {
    let empty: Vec<usize> = (0..centroids.nrows())
        .filter(|&j| !stats.weights.row(j).iter().any(|v| *v > 0.0))
        .collect();
    if empty.is_empty() {
        return;
    }
    let view = centroids.view();
    // The farthest rows first, ties to the lowest row: only the first `m` are needed, so each
    // chunk keeps its first `m` (of at most `2 m` at a time), not a pair for every row.
    let m = empty.len();
    let first = |v: &mut Vec<(f64, usize)>| {
        v.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        v.truncate(m);
    };
    let mut far: Vec<(f64, usize)> = Vec::new();
    for range in rows {
        let part = map_chunks(range.clone(), |chunk| {
            let mut out = Vec::new();
            let mut buf = Vec::new();
            for block in blocks(chunk) {
                let xb = x.block(block.clone(), &mut buf);
                for (i, row) in block.zip(xb.rows()) {
                    if w.get(i) > 0.0 {
                        out.push((nearest(row, &view).1, i));
                        if out.len() >= 2 * m {
                            first(&mut out);
                        }
                    }
                }
            }
            first(&mut out);
            out
        });
        far.extend(part.into_iter().flatten());
        first(&mut far);
    }
    for (&j, &(dist, i)) in empty.iter().zip(&far) {
        if dist > 0.0 {
            let row = x.row(i).mapv(|v| if v.is_nan() { 0.0 } else { v });
            centroids.row_mut(j).assign(&row);
        }
    }
}
