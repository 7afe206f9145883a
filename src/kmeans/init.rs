//! The initial centroids: weighted random rows, k-means++ (drawn by rejection against the
//! distances of its last pass) and k-means|| (Bahmani et al., 2012).

use std::sync::atomic::AtomicU8;

use ndarray::{Array2, ArrayView1, ArrayView2};
use rand_core::RngCore;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::kernels::nearest_rows;
use crate::parallel::{blocks, chunk_rows, map_chunks, BLOCK_ROWS};
use crate::rng::{choose_weighted, row_uniform, uniform01};
use crate::rows::Rows;
use crate::validate::{filled, too_large, zeroed_vec};
use crate::weights::Weights;

use super::lloyd::{clean, distance, each_row_into, lloyd_pass, nearest, BlockFlags, KmeansStats};

/// Weighted choice of `k` distinct rows (probability proportional to weight, without replacement).
pub(super) fn random_rows(w: Weights<'_>, k: usize, rng: &mut dyn RngCore) -> Result<Vec<usize>> {
    let positive = w.iter().filter(|v| *v > 0.0).count();
    if positive < k {
        return Err(Error::data(
            "data",
            format!("needs at least {k} rows with positive weight to choose {k} initial centroids, got {positive}"),
        ));
    }
    // The rows chosen so far weigh 0: met in order along their sorted indices, without a copy
    // of the weights.
    let mut chosen = Vec::with_capacity(k);
    let mut sorted: Vec<usize> = Vec::with_capacity(k);
    for _ in 0..k {
        let left = w.iter().enumerate().scan(0, |at, (i, v)| {
            let taken = sorted.get(*at) == Some(&i);
            *at += usize::from(taken);
            Some(if taken { 0.0 } else { v })
        });
        let i = choose_weighted(left, rng);
        chosen.push(i);
        if let Err(at) = sorted.binary_search(&i) {
            sorted.insert(at, i);
        }
    }
    Ok(chosen)
}

/// Proposals rejected in a row, while drawing one k-means++ centroid, after which the centroids
/// chosen since the last pass over the rows are folded into the rows' distances by a new pass.
/// A proposal costs a scan of one chunk's distances and the distances of one row, a pass a read
/// of every row: on large data many proposals cost less than a pass, which is the bet this
/// limit makes. After a pass every proposal is accepted, so drawing always ends.
pub(super) const REJECTIONS_BEFORE_PASS: usize = 32;

/// k-means++ seeding: `k` rows, the first by weight, each next one with probability
/// proportional to weight times squared distance to the nearest row chosen so far. With
/// `with_stats`, also the [`lloyd_pass`] of the chosen centroids (the same values, bit for bit),
/// gathered by the last pass over the rows, which sees every row's nearest centroid.
///
/// The draws are made by rejection, so that a pass over the rows is not needed for every
/// centroid. The rows' nearest squared distances `D` are known for the centroids chosen up to
/// the last pass, and the centroids chosen since are kept apart. A row `i` is proposed with probability
/// proportional to `w_i D_i`, and accepted with probability `D'_i / D_i`, where `D'_i` is its
/// squared distance to the nearest of all the centroids chosen so far (`D` lowered by those
/// chosen since the last pass): an accepted row has probability proportional to `w_i D'_i`,
/// the k-means++ law. The acceptance rate is the ratio of the two potentials; when it falls so
/// low that [`REJECTIONS_BEFORE_PASS`] proposals are rejected in a row, a pass brings `D` up to
/// date for every centroid chosen since the last one, in one read of the rows. `flags` are those
/// of `x`'s blocks ([`BlockFlags::batch`]), which the passes read and fill for the Lloyd passes
/// that follow.
pub(super) fn kmeans_plus_plus(
    x: Rows<'_>,
    w: Weights<'_>,
    k: usize,
    rng: &mut dyn RngCore,
    with_stats: bool,
    flags: &[AtomicU8],
) -> Result<(Array2<f64>, Option<KmeansStats>)> {
    let n = x.nrows();
    let d = x.ncols();
    assert_eq!(flags.len(), n.div_ceil(BLOCK_ROWS), "a flag per block");
    let mut centroids = Array2::<f64>::zeros((k, d));
    let first = choose_weighted(w.iter(), rng);
    centroids.row_mut(0).assign(&x.row(first));
    let mut near = Nearest {
        nearest_sq: per_row(n, f64::INFINITY)?,
        // The index of each row's first nearest centroid, when the statistics are asked for
        // (not touched otherwise: zero pages).
        track: with_stats && u32::try_from(k).is_ok(),
        owner: zeroed_vec(&[n], || {
            too_large("data", "the nearest centroid of each row")
        })?,
        flags,
        size: chunk_rows(n),
    };
    // A centroid as the passes and the proposals use it: its NaN coordinates (from a row with
    // missing values) set to 0.
    let clean_row = |c: &Array2<f64>, j: usize| -> Vec<f64> {
        c.row(j)
            .iter()
            .map(|v| if v.is_nan() { 0.0 } else { *v })
            .collect()
    };
    // Centroids `..folded` are in `near.nearest_sq`, whose weighted sums per chunk are `sums`
    // (`total` in all); `pending` are those chosen since, `folded..`.
    let mut pending = vec![clean_row(&centroids, 0)];
    let mut folded = 0;
    let (mut sums, mut total) = (Vec::new(), 0.0);
    for chosen in 1..k {
        let mut rejected = 0;
        let i = loop {
            if folded == 0 || rejected == REJECTIONS_BEFORE_PASS {
                sums = near.pass(x, w, &pending, folded, None).0;
                total = sums.iter().sum();
                folded = chosen;
                pending.clear();
                rejected = 0;
            }
            if total <= 0.0 {
                // Every row sits on a chosen centroid: any row will do.
                break choose_weighted(w.iter(), rng);
            }
            let i = near.draw(w, &sums, uniform01(rng) * total);
            if pending.is_empty() {
                break i;
            }
            let before = near.nearest_sq[i];
            let row = x.row(i);
            let now = pending
                .iter()
                .map(|c| distance(row.view(), ArrayView1::from(&c[..])))
                .fold(before, f64::min);
            if uniform01(rng) * before < now {
                break i;
            }
            rejected += 1;
        };
        centroids.row_mut(chosen).assign(&x.row(i));
        pending.push(clean_row(&centroids, chosen));
    }
    if !with_stats {
        return Ok((centroids, None));
    }
    // The last pass: every centroid not yet folded in, and the statistics.
    let stats = near.pass(x, w, &pending, folded, Some(k)).1;
    Ok((centroids, stats))
}

/// A value for each of `n` rows, or an error when they do not fit in memory.
fn per_row<T: Clone>(n: usize, value: T) -> Result<Vec<T>> {
    filled(n, value, || too_large("data", "a value for each row"))
}

/// The rows' nearest centroids so far, as the passes of [`kmeans_plus_plus`] find them.
pub(super) struct Nearest<'f> {
    nearest_sq: Vec<f64>,
    track: bool,
    owner: Vec<u32>,
    /// Which blocks of rows hold no NaN: scanned by the first pass, read by the others.
    flags: &'f [AtomicU8],
    size: usize,
}

impl Nearest<'_> {
    /// One parallel pass: the rows' nearest squared distances lowered by the centroids
    /// `pending` (labelled from `first_label`, in order), and the weighted sum of the distances
    /// per chunk (chunks depend on n alone, so the sums do not depend on the threads). With
    /// `gather = Some(k)`, also the statistics of the rows' nearest of `k` centroids, when the
    /// owners are tracked.
    fn pass(
        &mut self,
        x: Rows<'_>,
        w: Weights<'_>,
        pending: &[Vec<f64>],
        first_label: usize,
        gather: Option<usize>,
    ) -> (Vec<f64>, Option<KmeansStats>) {
        let d = x.ncols();
        let size = self.size;
        let track = self.track;
        let gather = gather.filter(|_| track);
        debug_assert!(!pending.is_empty(), "a pass folds in at least one centroid");
        debug_assert!(gather.is_none_or(|k| first_label + pending.len() == k));
        let flags = self.flags;
        let label = |p: usize| (first_label + p) as u32;
        let parts: Vec<(f64, Option<KmeansStats>)> = self
            .nearest_sq
            .par_chunks_mut(size)
            .zip(self.owner.par_chunks_mut(size))
            .enumerate()
            .map(|(ci, (part, owners))| {
                let start = ci * size;
                let rows = x.slice(start..start + part.len());
                let wc = w.slice(start..start + part.len());
                let mut st = gather.map(|k| KmeansStats::zeros(k, d));
                // Row r's weighted distance is added in lane r % 4 (four chains of additions,
                // not one), the lanes combined at the end; only the call for the last of the
                // pending centroids adds to them, once every row's distance is final.
                let mut lanes = [0.0f64; 4];
                let mut unused = [0.0f64; 4];
                // A block of `f32` rows as `f64`.
                let mut buf = Vec::new();
                for (b, block) in blocks(0..part.len()).enumerate() {
                    let xb = rows.block(block.clone(), &mut buf);
                    match xb.as_slice() {
                        Some(xb) if d > 0 => {
                            let nan_free = clean(flags, start / BLOCK_ROWS + b, xb);
                            // The next block, while this one is worked on: at most its first
                            // 32 KiB (a block of case B's 16 features, where it was measured).
                            let ahead = (block.end + BLOCK_ROWS).min(part.len());
                            rows.prefetch_head(block.end..ahead, 4096);
                            let (ob, jb, wb) = (
                                &mut part[block.clone()],
                                &mut owners[block.clone()],
                                wc.block(block),
                            );
                            for (p, c) in pending.iter().enumerate() {
                                let sink = if p + 1 == pending.len() {
                                    &mut lanes
                                } else {
                                    &mut unused
                                };
                                nearest_rows(
                                    xb,
                                    c,
                                    nan_free,
                                    (&mut *ob, track.then_some(&mut *jb), label(p)),
                                    wb,
                                    sink,
                                );
                            }
                            if let Some(st) = &mut st {
                                for (((row, &o), &j), &wi) in
                                    xb.chunks_exact(d).zip(ob.iter()).zip(jb.iter()).zip(wb)
                                {
                                    st.add(row.iter().copied(), j as usize, wi, o, nan_free);
                                }
                            }
                        }
                        _ => {
                            for (r, (((o, j), row), &wi)) in part[block.clone()]
                                .iter_mut()
                                .zip(owners[block.clone()].iter_mut())
                                .zip(xb.rows())
                                .zip(wc.block(block.clone()))
                                .enumerate()
                            {
                                for (p, c) in pending.iter().enumerate() {
                                    let dist = distance(row, ArrayView1::from(&c[..]));
                                    let closer = dist < *o;
                                    *o = if closer { dist } else { *o };
                                    if track {
                                        *j = if closer { label(p) } else { *j };
                                    }
                                }
                                lanes[(block.start + r) % 4] += *o * wi;
                                if let Some(st) = &mut st {
                                    st.add(row.iter().copied(), *j as usize, wi, *o, false);
                                }
                            }
                        }
                    }
                }
                ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3]), st)
            })
            .collect();
        let sums = parts.iter().map(|p| p.0).collect();
        let stats = gather.map(|k| KmeansStats::total(k, d, parts.into_iter().flat_map(|p| p.1)));
        (sums, stats)
    }

    /// The row at `target` along the rows' weighted distances (`sums` per chunk, their total
    /// above `target`): the chunk that holds it, then the row within it.
    fn draw(&self, w: Weights<'_>, sums: &[f64], target: f64) -> usize {
        let n = self.nearest_sq.len();
        let mut before = 0.0;
        for (ci, s) in sums.iter().enumerate() {
            if *s > 0.0 && target < before + s {
                let rows = ci * self.size..((ci + 1) * self.size).min(n);
                let mut acc = before;
                let mut last = None;
                for r in rows {
                    let v = self.nearest_sq[r] * w.get(r);
                    if v > 0.0 {
                        last = Some(r);
                        acc += v;
                        if target < acc {
                            break;
                        }
                    }
                }
                if let Some(r) = last {
                    return r;
                }
                break;
            }
            before += s;
        }
        (0..n)
            .rev()
            .find(|&r| self.nearest_sq[r] * w.get(r) > 0.0)
            .unwrap_or(0)
    }
}

/// The squared distance of every row to its nearest row among `centroids`, updated in place.
pub(super) fn update_nearest(x: Rows<'_>, centroids: ArrayView2<f64>, nearest_sq: &mut [f64]) {
    each_row_into(x, nearest_sq, |row, m| {
        *m = centroids
            .rows()
            .into_iter()
            .fold(*m, |m, c| m.min(distance(row, c)));
    });
}

pub(super) fn kmeans_parallel(
    x: Rows<'_>,
    w: Weights<'_>,
    k: usize,
    rng: &mut dyn RngCore,
) -> Result<Array2<f64>> {
    const ROUNDS: usize = 5;
    let n = x.nrows();
    let oversampling = 2.0 * k as f64;
    let first = choose_weighted(w.iter(), rng);
    let mut chosen = vec![first];
    let mut nearest_sq = per_row(n, f64::INFINITY)?;
    update_nearest(x, x.select(&[first]).view(), &mut nearest_sq);
    for _ in 0..ROUNDS {
        let cost: f64 = nearest_sq.iter().zip(w.iter()).map(|(d, w)| d * w).sum();
        if !(cost > 0.0) {
            break;
        }
        let seed = rng.next_u64();
        let picked: Vec<usize> = map_chunks(0..n, |chunk| {
            chunk
                .filter(|&i| row_uniform(seed, i) < oversampling * w.get(i) * nearest_sq[i] / cost)
                .collect::<Vec<_>>()
        })
        .into_iter()
        .flatten()
        .collect();
        if picked.is_empty() {
            continue;
        }
        let new = x.select(&picked);
        update_nearest(x, new.view(), &mut nearest_sq);
        chosen.extend(picked);
    }
    drop(nearest_sq);
    let candidates = x.select(&chosen);
    // Each candidate weighs what the rows nearest to it weigh (added in the order of the rows).
    // Zero pages from the allocator: every owner is written below.
    let mut owner: Vec<usize> = zeroed_vec(&[n], || too_large("data", "a value for each row"))?;
    let view = candidates.view();
    each_row_into(x, &mut owner, |row, o| *o = nearest(row, &view).0);
    let mut cand_w = vec![0.0; chosen.len()];
    for (i, j) in owner.into_iter().enumerate() {
        cand_w[j] += w.get(i);
    }
    let positive = cand_w.iter().filter(|v| **v > 0.0).count();
    if positive < k {
        // Too few distinct candidates (heavily duplicated data): k-means++ on all rows.
        let flags = BlockFlags::of_rows(n)?;
        return Ok(kmeans_plus_plus(x, w, k, rng, false, flags.batch(0, n))?.0);
    }
    let cw = Weights::Given(&cand_w);
    // The candidates' block flags, found by k-means++ and read by the Lloyd passes.
    let m = candidates.nrows();
    let flags = BlockFlags::of_rows(m)?;
    let seeded = kmeans_plus_plus(
        candidates.view().into(),
        cw,
        k,
        rng,
        false,
        flags.batch(0, m),
    );
    let mut centroids = seeded?.0;
    centroids.mapv_inplace(|v| if v.is_nan() { 0.0 } else { v });
    for _ in 0..10 {
        let st = lloyd_pass(
            candidates.view().into(),
            cw,
            centroids.view(),
            flags.batch(0, m),
        );
        for j in 0..k {
            for c in 0..x.ncols() {
                if st.weights[[j, c]] > 0.0 {
                    centroids[[j, c]] = st.sums[[j, c]] / st.weights[[j, c]];
                }
            }
        }
    }
    Ok(centroids)
}
