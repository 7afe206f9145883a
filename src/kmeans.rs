//! k-means: the initial centroids (first-k, random, k-means++) and Lloyd updates, with
//! pomegranate 0.14's semantics; missing values (NaN) are ignored coordinate by coordinate.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use rand_core::RngCore;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::kernels::{any_nan, assign_block, lane_distance, nearest_rows, prefetch, AssignScratch};
use crate::parallel::{blocks, chunk_rows, map_chunks, Threads, BLOCK_ROWS};
use crate::rng::{choose_weighted, seeded, uniform01};
use crate::validate::{check_clusters, check_data, check_weights, not_nan};

/// How the initial centroids are chosen.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Init {
    /// The first `k` rows.
    FirstK,
    /// `k` distinct rows drawn with probability proportional to their weight.
    Random,
    /// k-means++: the first centroid by weight, each next one with probability proportional to
    /// weight times the squared distance to the nearest centroid chosen so far.
    #[default]
    KMeansPlusPlus,
    /// k-means|| (Bahmani et al., 2012): a few rounds that each add about `2k` rows, chosen
    /// independently with probability proportional to weight times squared distance, then
    /// weighted k-means++ and Lloyd updates on those candidates.
    KMeansParallel,
    /// These centroids, shape `(k, d)`.
    Centroids(Array2<f64>),
}

impl Init {
    /// The initialisation for one of pomegranate's names: `"first-k"`, `"random"`, `"kmeans++"`.
    pub fn from_name(name: &str) -> Result<Self> {
        match name {
            "first-k" => Ok(Init::FirstK),
            "random" => Ok(Init::Random),
            "kmeans++" => Ok(Init::KMeansPlusPlus),
            "kmeans||" => Ok(Init::KMeansParallel),
            _ => Err(Error::param(
                "init",
                format!("must be one of 'first-k', 'random', 'kmeans++', 'kmeans||', got '{name}'"),
            )),
        }
    }
}

/// The options of [`Kmeans::fit`].
#[derive(Debug, Clone, PartialEq)]
pub struct KmeansOptions {
    /// The number of clusters.
    pub k: usize,
    /// How the initial centroids are chosen.
    pub init: Init,
    /// Runs from different initial centroids; the one with the smallest total distance is kept
    /// (`first-k` and given centroids always run once).
    pub n_init: usize,
    /// The most Lloyd updates per run.
    pub max_iterations: u64,
    /// Stop a run when the total squared distance decreases by this much or less.
    pub stop_threshold: f64,
    /// The seed of the random generator (ChaCha8).
    pub seed: u64,
    /// The threads to use; the result does not depend on them.
    pub threads: Threads,
}

impl KmeansOptions {
    /// Options for `k` clusters with pomegranate's `Kmeans.fit` defaults.
    pub fn new(k: usize) -> Self {
        KmeansOptions {
            k,
            init: Init::KMeansPlusPlus,
            n_init: 1,
            max_iterations: 1000,
            stop_threshold: 1e-3,
            seed: 0,
            threads: Threads::Current,
        }
    }

    /// Checks the options that do not depend on the data; the error names the offending one.
    /// [`Kmeans::fit`] and [`Kmeans::initial_centroids`] call it before any work.
    pub fn check(&self) -> Result<()> {
        if self.k == 0 {
            return Err(Error::param("k", "must be at least 1"));
        }
        if self.n_init == 0 {
            return Err(Error::param("n_init", "must be at least 1"));
        }
        not_nan("stop_threshold", self.stop_threshold)?;
        if self.threads == Threads::Count(0) {
            return Err(Error::param("n_jobs", "must be at least 1"));
        }
        Ok(())
    }
}

/// A fitted k-means model: its centroids.
#[derive(Debug, Clone, PartialEq)]
pub struct Kmeans {
    centroids: Array2<f64>,
    /// The total weighted squared distance of the fitted rows to their nearest centroid.
    pub inertia: f64,
}

/// Squared distance over the coordinates observed in `x` (NaN coordinates are skipped).
#[inline]
fn distance(x: ArrayView1<f64>, c: ArrayView1<f64>) -> f64 {
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

fn nearest(x: ArrayView1<f64>, centroids: &ArrayView2<f64>) -> (usize, f64) {
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

/// One Lloyd pass: per cluster and coordinate, the weighted sums and weights of the observed
/// values of the rows assigned to it, and the total weighted distance.
struct LloydStats {
    sums: Array2<f64>,
    weights: Array2<f64>,
    distance: f64,
}

impl LloydStats {
    fn zeros(k: usize, d: usize) -> Self {
        LloydStats {
            sums: Array2::zeros((k, d)),
            weights: Array2::zeros((k, d)),
            distance: 0.0,
        }
    }

    /// Adds a row of weight `wi` at squared distance `dist` from its nearest centroid `j`; its
    /// NaN coordinates are skipped unless `nan_free` says it has none.
    #[inline]
    fn add(
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
    fn total(k: usize, d: usize, parts: impl Iterator<Item = LloydStats>) -> Self {
        let mut total = LloydStats::zeros(k, d);
        for p in parts {
            total.sums += &p.sums;
            total.weights += &p.weights;
            total.distance += p.distance;
        }
        total
    }
}

fn lloyd_pass(x: ArrayView2<f64>, w: ArrayView1<f64>, centroids: ArrayView2<f64>) -> LloydStats {
    let (k, d) = centroids.dim();
    let w = w.as_standard_layout();
    let parts = map_chunks(0..x.nrows(), |chunk| {
        let mut st = LloydStats::zeros(k, d);
        let mut scratch = AssignScratch::new();
        for block in blocks(chunk) {
            let xb = x.slice(ndarray::s![block.clone(), ..]);
            // Contiguous rows without NaN: the distances of four rows at a time, and the sums
            // of a row as vectors (the same additions in the same order as below).
            if let (Some(xs), Some(cs), true) = (xb.as_slice(), centroids.as_slice(), d > 0) {
                if !any_nan(xs) && !any_nan(cs) {
                    let wb = &w.as_slice().expect("contiguous weights")[block];
                    let (sums, weights) = (
                        st.sums.as_slice_mut().expect("contiguous"),
                        st.weights.as_slice_mut().expect("contiguous"),
                    );
                    let mut out = (sums, weights, &mut st.distance);
                    assign_block(xs, cs, wb, &mut scratch, &mut out);
                    continue;
                }
            }
            for i in block {
                let row = x.row(i);
                let (j, dist) = nearest(row, &centroids);
                st.add(row.iter().copied(), j, w[i], dist, false);
            }
        }
        st
    });
    LloydStats::total(k, d, parts.into_iter())
}

/// Weighted choice of `k` distinct rows (probability proportional to weight, without replacement).
fn random_rows(w: &[f64], k: usize, rng: &mut dyn RngCore) -> Result<Vec<usize>> {
    let positive = w.iter().filter(|v| **v > 0.0).count();
    if positive < k {
        return Err(Error::data(
            "X",
            format!("needs at least {k} rows with positive weight to choose {k} initial centroids, got {positive}"),
        ));
    }
    let mut w = w.to_vec();
    let mut chosen = Vec::with_capacity(k);
    for _ in 0..k {
        let i = choose_weighted(w.iter().copied(), rng);
        chosen.push(i);
        w[i] = 0.0;
    }
    Ok(chosen)
}

/// Proposals rejected in a row, while drawing one k-means++ centroid, after which the centroids
/// chosen since the last pass over the rows are folded into the rows' distances by a new pass.
/// A proposal costs a scan of one chunk's distances and the distances of one row, a pass a read
/// of every row: on large data many proposals cost less than a pass, which is the bet this
/// limit makes. After a pass every proposal is accepted, so drawing always ends.
const REJECTIONS_BEFORE_PASS: usize = 32;

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
/// date for every centroid chosen since the last one, in one read of the rows.
fn kmeans_plus_plus(
    x: ArrayView2<f64>,
    w: &[f64],
    k: usize,
    rng: &mut dyn RngCore,
    with_stats: bool,
) -> (Array2<f64>, Option<LloydStats>) {
    let n = x.nrows();
    let d = x.ncols();
    let mut centroids = Array2::<f64>::zeros((k, d));
    let first = choose_weighted(w.iter().copied(), rng);
    centroids.row_mut(0).assign(&x.row(first));
    let mut near = Nearest {
        nearest_sq: vec![f64::INFINITY; n],
        // The index of each row's first nearest centroid, when the statistics are asked for
        // (not touched otherwise).
        track: with_stats && u32::try_from(k).is_ok(),
        owner: vec![0; n],
        // Which blocks of rows hold no NaN: found by the first pass, read by the others.
        clean: vec![false; n.div_ceil(BLOCK_ROWS)],
        clean_known: false,
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
                break choose_weighted(w.iter().copied(), rng);
            }
            let i = near.draw(w, &sums, uniform01(rng) * total);
            if pending.is_empty() {
                break i;
            }
            let before = near.nearest_sq[i];
            let now = pending
                .iter()
                .map(|c| distance(x.row(i), ArrayView1::from(&c[..])))
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
        return (centroids, None);
    }
    // The last pass: every centroid not yet folded in, and the statistics.
    let stats = near.pass(x, w, &pending, folded, Some(k)).1;
    (centroids, stats)
}

/// The rows' nearest centroids so far, as the passes of [`kmeans_plus_plus`] find them.
struct Nearest {
    nearest_sq: Vec<f64>,
    track: bool,
    owner: Vec<u32>,
    clean: Vec<bool>,
    /// Whether `clean` has been found (by a first pass).
    clean_known: bool,
    size: usize,
}

impl Nearest {
    /// One parallel pass: the rows' nearest squared distances lowered by the centroids
    /// `pending` (labelled from `first_label`, in order), and the weighted sum of the distances
    /// per chunk (chunks depend on n alone, so the sums do not depend on the threads). With
    /// `gather = Some(k)`, also the statistics of the rows' nearest of `k` centroids, when the
    /// owners are tracked.
    fn pass(
        &mut self,
        x: ArrayView2<f64>,
        w: &[f64],
        pending: &[Vec<f64>],
        first_label: usize,
        gather: Option<usize>,
    ) -> (Vec<f64>, Option<LloydStats>) {
        let d = x.ncols();
        let size = self.size;
        let track = self.track;
        let gather = gather.filter(|_| track);
        debug_assert!(!pending.is_empty(), "a pass folds in at least one centroid");
        debug_assert!(gather.is_none_or(|k| first_label + pending.len() == k));
        let first_pass = !self.clean_known;
        self.clean_known = true;
        let label = |p: usize| (first_label + p) as u32;
        let parts: Vec<(f64, Option<LloydStats>)> = self
            .nearest_sq
            .par_chunks_mut(size)
            .zip(self.owner.par_chunks_mut(size))
            .zip(self.clean.par_chunks_mut(size / BLOCK_ROWS))
            .enumerate()
            .map(|(ci, ((part, owners), flags))| {
                let start = ci * size;
                let rows = x.slice(ndarray::s![start..start + part.len(), ..]);
                let wc = &w[start..start + part.len()];
                let mut st = gather.map(|k| LloydStats::zeros(k, d));
                // Row r's weighted distance is added in lane r % 4 (four chains of additions,
                // not one), the lanes combined at the end; only the call for the last of the
                // pending centroids adds to them, once every row's distance is final.
                let mut lanes = [0.0f64; 4];
                let mut unused = [0.0f64; 4];
                match rows.as_slice() {
                    Some(xs) if d > 0 => {
                        for (b, block) in blocks(0..part.len()).enumerate() {
                            let xb = &xs[block.start * d..block.end * d];
                            if first_pass {
                                flags[b] = !any_nan(xb);
                            }
                            // The next block, while this one is worked on: at most its first
                            // 32 KiB (a block of case B's 16 features, where it was measured).
                            let ahead = (block.end + BLOCK_ROWS).min(part.len());
                            let next = &xs[block.end * d..ahead * d];
                            prefetch(&next[..next.len().min(4096)]);
                            let (ob, jb, wb) = (
                                &mut part[block.clone()],
                                &mut owners[block.clone()],
                                &wc[block],
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
                                    flags[b],
                                    (&mut *ob, track.then_some(&mut *jb), label(p)),
                                    wb,
                                    sink,
                                );
                            }
                            if let Some(st) = &mut st {
                                for (((row, &o), &j), &wi) in
                                    xb.chunks_exact(d).zip(ob.iter()).zip(jb.iter()).zip(wb)
                                {
                                    st.add(row.iter().copied(), j as usize, wi, o, flags[b]);
                                }
                            }
                        }
                    }
                    _ => {
                        for (r, (((o, j), row), &wi)) in part
                            .iter_mut()
                            .zip(owners.iter_mut())
                            .zip(rows.rows())
                            .zip(wc)
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
                            lanes[r % 4] += *o * wi;
                            if let Some(st) = &mut st {
                                st.add(row.iter().copied(), *j as usize, wi, *o, false);
                            }
                        }
                    }
                }
                ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3]), st)
            })
            .collect();
        let sums = parts.iter().map(|p| p.0).collect();
        let stats = gather.map(|k| LloydStats::total(k, d, parts.into_iter().flat_map(|p| p.1)));
        (sums, stats)
    }

    /// The row at `target` along the rows' weighted distances (`sums` per chunk, their total
    /// above `target`): the chunk that holds it, then the row within it.
    fn draw(&self, w: &[f64], sums: &[f64], target: f64) -> usize {
        let n = self.nearest_sq.len();
        let mut before = 0.0;
        for (ci, s) in sums.iter().enumerate() {
            if *s > 0.0 && target < before + s {
                let rows = ci * self.size..((ci + 1) * self.size).min(n);
                let mut acc = before;
                let mut last = None;
                for r in rows {
                    let v = self.nearest_sq[r] * w[r];
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
            .find(|&r| self.nearest_sq[r] * w[r] > 0.0)
            .unwrap_or(0)
    }
}

/// A uniform draw in [0, 1) for row `i` of a sampling round, from the round's seed alone, so
/// that the rows chosen do not depend on how the rows are split between threads (SplitMix64).
fn row_uniform(seed: u64, i: usize) -> f64 {
    let mut z = seed.wrapping_add((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// The squared distance of every row to its nearest row among `centroids`, updated in place.
fn update_nearest(x: ArrayView2<f64>, centroids: ArrayView2<f64>, nearest_sq: &mut Vec<f64>) {
    let parts = map_chunks(0..x.nrows(), |chunk| {
        chunk
            .map(|i| {
                centroids
                    .rows()
                    .into_iter()
                    .fold(nearest_sq[i], |m, c| m.min(distance(x.row(i), c)))
            })
            .collect::<Vec<_>>()
    });
    *nearest_sq = parts.into_iter().flatten().collect();
}

fn kmeans_parallel(x: ArrayView2<f64>, w: &[f64], k: usize, rng: &mut dyn RngCore) -> Array2<f64> {
    const ROUNDS: usize = 5;
    let n = x.nrows();
    let oversampling = 2.0 * k as f64;
    let first = choose_weighted(w.iter().copied(), rng);
    let mut chosen = vec![first];
    let mut nearest_sq = vec![f64::INFINITY; n];
    update_nearest(
        x,
        x.slice(ndarray::s![first..first + 1, ..]),
        &mut nearest_sq,
    );
    for _ in 0..ROUNDS {
        let cost: f64 = nearest_sq.iter().zip(w).map(|(d, w)| d * w).sum();
        if !(cost > 0.0) {
            break;
        }
        let seed = rng.next_u64();
        let picked: Vec<usize> = map_chunks(0..n, |chunk| {
            chunk
                .filter(|&i| row_uniform(seed, i) < oversampling * w[i] * nearest_sq[i] / cost)
                .collect::<Vec<_>>()
        })
        .into_iter()
        .flatten()
        .collect();
        if picked.is_empty() {
            continue;
        }
        let new = x.select(ndarray::Axis(0), &picked);
        update_nearest(x, new.view(), &mut nearest_sq);
        chosen.extend(picked);
    }
    let candidates = x.select(ndarray::Axis(0), &chosen);
    // Each candidate weighs what the rows nearest to it weigh.
    let owner = map_chunks(0..n, |chunk| {
        chunk
            .map(|i| nearest(x.row(i), &candidates.view()).0)
            .collect::<Vec<_>>()
    });
    let mut cand_w = vec![0.0; chosen.len()];
    for (i, j) in owner.into_iter().flatten().enumerate() {
        cand_w[j] += w[i];
    }
    let positive = cand_w.iter().filter(|v| **v > 0.0).count();
    if positive < k {
        // Too few distinct candidates (heavily duplicated data): k-means++ on all rows.
        return kmeans_plus_plus(x, w, k, rng, false).0;
    }
    let mut centroids = kmeans_plus_plus(candidates.view(), &cand_w, k, rng, false).0;
    let cw = ArrayView1::from(&cand_w[..]);
    centroids.mapv_inplace(|v| if v.is_nan() { 0.0 } else { v });
    for _ in 0..10 {
        let st = lloyd_pass(candidates.view(), cw, centroids.view());
        for j in 0..k {
            for c in 0..x.ncols() {
                if st.weights[[j, c]] > 0.0 {
                    centroids[[j, c]] = st.sums[[j, c]] / st.weights[[j, c]];
                }
            }
        }
    }
    centroids
}

/// Moves every centroid that owns no weight to one of the rows farthest from their nearest
/// centroid (the farthest first; ties to the lowest row), as scikit-learn does, so that no
/// cluster stays empty while rows are badly served.
fn reseed_empty(
    x: ArrayView2<f64>,
    w: ArrayView1<f64>,
    stats: &LloydStats,
    centroids: &mut Array2<f64>,
) {
    let empty: Vec<usize> = (0..centroids.nrows())
        .filter(|&j| !stats.weights.row(j).iter().any(|v| *v > 0.0))
        .collect();
    if empty.is_empty() {
        return;
    }
    let view = centroids.view();
    let far = map_chunks(0..x.nrows(), |chunk| {
        chunk
            .filter(|&i| w[i] > 0.0)
            .map(|i| (nearest(x.row(i), &view).1, i))
            .collect::<Vec<_>>()
    });
    let mut far: Vec<(f64, usize)> = far.into_iter().flatten().collect();
    far.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    for (&j, &(dist, i)) in empty.iter().zip(&far) {
        if dist > 0.0 {
            let row = x.row(i).mapv(|v| if v.is_nan() { 0.0 } else { v });
            centroids.row_mut(j).assign(&row);
        }
    }
}

impl Kmeans {
    /// k-means centroids, shape `(k, d)`.
    pub fn new(centroids: Array2<f64>) -> Result<Self> {
        if centroids.nrows() == 0 || centroids.ncols() == 0 {
            return Err(Error::param(
                "centroids",
                "must have at least one row and one column",
            ));
        }
        if centroids.iter().any(|v| !v.is_finite()) {
            return Err(Error::param("centroids", "must be finite"));
        }
        Ok(Kmeans {
            centroids,
            inertia: f64::NAN,
        })
    }

    /// The centroids, shape `(k, d)`.
    pub fn centroids(&self) -> ArrayView2<'_, f64> {
        self.centroids.view()
    }

    /// Fits k-means to `x`, shape `(n, d)`, with optional sample `weights`, shape `(n,)`.
    ///
    /// Each run chooses initial centroids, then repeats Lloyd updates (assign every row to its
    /// nearest centroid, move each centroid to the weighted mean of its rows; a centroid without
    /// rows stays where it is) while the total distance decreases by more than `stop_threshold`,
    /// at most `max_iterations` times. With the default of from_samples (`max_iterations = 1`)
    /// that is exactly one update.
    pub fn fit(
        x: ArrayView2<f64>,
        weights: Option<ArrayView1<f64>>,
        opts: &KmeansOptions,
    ) -> Result<Self> {
        opts.check()?;
        let (n, d) = x.dim();
        check_data(&x, d)?;
        if d == 0 {
            return Err(Error::data("X", "must have at least one column"));
        }
        let k = opts.k;
        check_clusters("k", k, n)?;
        let ones;
        let w = match weights {
            Some(w) => {
                check_weights(&w, n)?;
                w
            }
            None => {
                ones = Array1::<f64>::ones(n);
                ones.view()
            }
        };
        let w_owned: Vec<f64>;
        let w_slice: &[f64] = match w.as_slice() {
            Some(s) => s,
            None => {
                w_owned = w.to_vec();
                &w_owned
            }
        };
        let mut rng = seeded(opts.seed);
        let runs = match opts.init {
            Init::FirstK | Init::Centroids(_) => 1,
            _ => opts.n_init,
        };
        opts.threads.install(|| {
            let mut best: Option<Kmeans> = None;
            for _ in 0..runs {
                // k-means++ gives the first Lloyd statistics with its centroids.
                let mut seeded = None;
                let mut centroids = match &opts.init {
                    Init::FirstK => x.slice(ndarray::s![..k, ..]).to_owned(),
                    Init::Random => {
                        let rows = random_rows(w_slice, k, &mut rng)?;
                        Array2::from_shape_fn((k, d), |(j, c)| x[[rows[j], c]])
                    }
                    Init::KMeansPlusPlus => {
                        let (c, stats) = kmeans_plus_plus(x, w_slice, k, &mut rng, true);
                        seeded = stats;
                        c
                    }
                    Init::KMeansParallel => kmeans_parallel(x, w_slice, k, &mut rng),
                    Init::Centroids(c) => {
                        if c.dim() != (k, d) {
                            return Err(Error::param(
                                "init",
                                format!("the given centroids must have shape ({k}, {d})"),
                            ));
                        }
                        c.clone()
                    }
                };
                centroids.mapv_inplace(|v| if v.is_nan() { 0.0 } else { v });
                let mut stats = match seeded {
                    Some(stats) => stats,
                    None => lloyd_pass(x, w, centroids.view()),
                };
                let mut it = 0;
                while it < opts.max_iterations {
                    for j in 0..k {
                        for c in 0..d {
                            if stats.weights[[j, c]] > 0.0 {
                                centroids[[j, c]] = stats.sums[[j, c]] / stats.weights[[j, c]];
                            }
                        }
                    }
                    reseed_empty(x, w, &stats, &mut centroids);
                    let last = stats.distance;
                    stats = lloyd_pass(x, w, centroids.view());
                    it += 1;
                    if !(last - stats.distance > opts.stop_threshold) {
                        break;
                    }
                }
                let run = Kmeans {
                    centroids,
                    inertia: stats.distance,
                };
                if best.as_ref().is_none_or(|b| run.inertia < b.inertia) {
                    best = Some(run);
                }
            }
            Ok(best.expect("at least one run"))
        })?
    }

    /// The initial centroids that [`fit`](Kmeans::fit) would start its first run from (`opts.k`
    /// of them, chosen by `opts.init` with `opts.seed`), without the Lloyd updates.
    pub fn initial_centroids(
        x: ArrayView2<f64>,
        weights: Option<ArrayView1<f64>>,
        opts: &KmeansOptions,
    ) -> Result<Array2<f64>> {
        opts.check()?;
        let (n, d) = x.dim();
        check_data(&x, d)?;
        let k = opts.k;
        check_clusters("k", k, n)?;
        let w: Vec<f64> = match weights {
            Some(w) => {
                check_weights(&w, n)?;
                w.to_vec()
            }
            None => vec![1.0; n],
        };
        let mut rng = seeded(opts.seed);
        opts.threads.install(|| {
            let mut c = match &opts.init {
                Init::FirstK => x.slice(ndarray::s![..k, ..]).to_owned(),
                Init::Random => {
                    let rows = random_rows(&w, k, &mut rng)?;
                    Array2::from_shape_fn((k, d), |(j, c)| x[[rows[j], c]])
                }
                Init::KMeansPlusPlus => kmeans_plus_plus(x, &w, k, &mut rng, false).0,
                Init::KMeansParallel => kmeans_parallel(x, &w, k, &mut rng),
                Init::Centroids(c) => c.clone(),
            };
            c.mapv_inplace(|v| if v.is_nan() { 0.0 } else { v });
            Ok(c)
        })?
    }

    /// The nearest centroid of each row of `x`, shape `(n, d)` -> `(n,)`.
    pub fn predict(&self, x: ArrayView2<f64>, threads: Threads) -> Result<Array1<usize>> {
        check_data(&x, self.centroids.ncols())?;
        let c = self.centroids.view();
        let parts = threads.install(|| {
            map_chunks(0..x.nrows(), |chunk| {
                chunk.map(|i| nearest(x.row(i), &c).0).collect::<Vec<_>>()
            })
        })?;
        Ok(parts.into_iter().flatten().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, ShapeBuilder};

    fn two_blobs() -> Array2<f64> {
        array![
            [0.0, 0.0],
            [0.1, 0.2],
            [-0.1, 0.1],
            [5.0, 5.0],
            [5.2, 4.9],
            [4.9, 5.1]
        ]
    }

    #[test]
    fn lloyd_pass_fast_path_matches_the_row_by_row_loop() {
        // Contiguous rows without NaN take the four-rows-at-a-time path; the reference is the
        // row-by-row loop, which must give the same sums, weights and distance bit for bit.
        let (n, d, k) = (1000, 7, 5);
        let x = Array2::from_shape_fn((n, d), |(i, c)| {
            ((i * 31 + c * 17) % 97) as f64 * 0.37 - 9.0
        });
        let w = Array1::from_shape_fn(n, |i| 0.5 + (i % 7) as f64 * 0.25);
        let centroids = x.slice(ndarray::s![..k, ..]).to_owned();
        let fast = lloyd_pass(x.view(), w.view(), centroids.view());
        let (mut sums, mut weights, mut distance) = (
            Array2::<f64>::zeros((k, d)),
            Array2::<f64>::zeros((k, d)),
            0.0,
        );
        let size = chunk_rows(n);
        let mut total = (
            Array2::<f64>::zeros((k, d)),
            Array2::<f64>::zeros((k, d)),
            0.0,
        );
        for start in (0..n).step_by(size) {
            for i in start..(start + size).min(n) {
                let (j, dist) = nearest(x.row(i), &centroids.view());
                distance += w[i] * dist;
                for c in 0..d {
                    sums[[j, c]] += w[i] * x[[i, c]];
                    weights[[j, c]] += w[i];
                }
            }
            total.0 += &sums;
            total.1 += &weights;
            total.2 += distance;
            sums.fill(0.0);
            weights.fill(0.0);
            distance = 0.0;
        }
        assert_eq!(fast.sums, total.0);
        assert_eq!(fast.weights, total.1);
        assert_eq!(fast.distance, total.2);
    }

    #[test]
    fn kmeans_plus_plus_draws_follow_its_law() {
        // Three tight pairs far apart, weighted: after a row of each pair is chosen, the other
        // rows are almost never accepted against the distances of the first pass, so the fourth
        // draw goes through a pass of its own. The frequencies of the ordered choices over many
        // seeds are compared with their k-means++ probabilities, computed exactly.
        let values = [0.0, 0.001, 100.0, 100.002, 200.0, 200.003];
        let w = [1.0, 2.0, 1.0, 3.0, 2.0, 1.0];
        let (n, k, seeds) = (values.len(), 4, 20_000u64);
        let x = Array2::from_shape_fn((n, 1), |(i, _)| values[i]);
        let values: [f64; 6] = values;
        let law = |seq: &[usize]| -> f64 {
            let mut p = 1.0;
            for t in 0..seq.len() {
                let d = |j: usize| -> f64 {
                    if t == 0 {
                        return 1.0;
                    }
                    seq[..t]
                        .iter()
                        .map(|&c| (values[j] - values[c]).powi(2))
                        .fold(f64::INFINITY, f64::min)
                };
                let total: f64 = (0..n).map(|j| w[j] * d(j)).sum();
                p *= w[seq[t]] * d(seq[t]) / total;
            }
            p
        };
        let mut counts = std::collections::HashMap::<Vec<usize>, u64>::new();
        for seed in 0..seeds {
            let mut rng = crate::rng::seeded(seed);
            let (c, st) = kmeans_plus_plus(x.view(), &w, k, &mut rng, seed < 200);
            if let Some(st) = st {
                // The statistics after a pass of its own for the fourth draw.
                let reference = lloyd_pass(x.view(), ArrayView1::from(&w[..]), c.view());
                assert_eq!(st.sums, reference.sums);
                assert_eq!(st.weights, reference.weights);
                assert_eq!(st.distance.to_bits(), reference.distance.to_bits());
            }
            let seq: Vec<usize> = c
                .column(0)
                .iter()
                .map(|v| values.iter().position(|u| u == v).unwrap())
                .collect();
            *counts.entry(seq).or_default() += 1;
        }
        for seq in counts.keys() {
            assert!(law(seq) > 0.0, "{seq:?} has no probability");
        }
        for a in 0..n {
            for b in 0..n {
                for c in 0..n {
                    for e in 0..n {
                        let seq = vec![a, b, c, e];
                        let p = law(&seq);
                        let f = counts.get(&seq).copied().unwrap_or(0) as f64 / seeds as f64;
                        let sd = (p * (1.0 - p) / seeds as f64).sqrt();
                        assert!((f - p).abs() <= 5.0 * sd + 1e-3, "{seq:?}: {f} against {p}");
                    }
                }
            }
        }
    }

    #[test]
    fn kmeans_plus_plus_statistics_are_those_of_a_lloyd_pass() {
        // Weighted rows with NaN in some blocks and duplicated rows (ties between centroids),
        // in C order (the block path) and in Fortran order (the row-by-row path).
        let (n, d, k) = (3000, 6, 7);
        let mut x = Array2::from_shape_fn((n, d), |(i, c)| {
            ((i * 37 + c * 11) % 101) as f64 * 0.21 - 10.0
        });
        x[[600, 2]] = f64::NAN;
        x[[2900, 0]] = f64::NAN;
        for i in 1000..1100 {
            let r = x.row(i - 500).to_owned();
            x.row_mut(i).assign(&r);
        }
        let w: Vec<f64> = (0..n).map(|i| 0.25 + (i % 5) as f64 * 0.5).collect();
        let mut fortran = Array2::zeros((n, d).f());
        fortran.assign(&x);
        let bits = |a: &Array2<f64>| a.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        for xv in [x.view(), fortran.view()] {
            for seed in 0..4 {
                for threads in [1, 2] {
                    let mut rng = crate::rng::seeded(seed);
                    let (mut c, st) = Threads::Count(threads)
                        .install(|| kmeans_plus_plus(xv, &w, k, &mut rng, true))
                        .unwrap();
                    let st = st.expect("statistics were asked for");
                    c.mapv_inplace(|v| if v.is_nan() { 0.0 } else { v });
                    let reference = lloyd_pass(xv, ArrayView1::from(&w[..]), c.view());
                    assert_eq!(bits(&st.sums), bits(&reference.sums));
                    assert_eq!(bits(&st.weights), bits(&reference.weights));
                    assert_eq!(st.distance.to_bits(), reference.distance.to_bits());
                }
            }
        }
    }

    #[test]
    fn first_k_single_update_matches_hand_computation() {
        let x = two_blobs();
        let mut opts = KmeansOptions::new(2);
        opts.init = Init::FirstK;
        opts.max_iterations = 1;
        let km = Kmeans::fit(x.view(), None, &opts).unwrap();
        // Initial centroids rows 0 and 1: rows 0 and 2 are nearest to (0, 0), the others to
        // (0.1, 0.2); one update moves each centroid to the mean of its rows.
        let c = km.centroids();
        let mean0 = (&x.row(0) + &x.row(2)) / 2.0;
        let mean1 = (x.sum_axis(ndarray::Axis(0)) - x.row(0) - x.row(2)) / 4.0;
        for (a, b) in c.row(0).iter().zip(mean0.iter()) {
            assert!((a - b).abs() < 1e-12);
        }
        for (a, b) in c.row(1).iter().zip(mean1.iter()) {
            assert!((a - b).abs() < 1e-12);
        }
    }

    #[test]
    fn kmeans_plus_plus_separates_blobs_and_is_seeded() {
        let x = two_blobs();
        let mut opts = KmeansOptions::new(2);
        opts.seed = 7;
        opts.n_init = 3;
        let a = Kmeans::fit(x.view(), None, &opts).unwrap();
        let b = Kmeans::fit(x.view(), None, &opts).unwrap();
        assert_eq!(a, b);
        let labels = a.predict(x.view(), Threads::Current).unwrap();
        assert_eq!(labels[0], labels[1]);
        assert_eq!(labels[0], labels[2]);
        assert_ne!(labels[0], labels[3]);
        assert_eq!(labels[3], labels[5]);
    }

    #[test]
    fn nan_coordinates_are_ignored() {
        let x = array![[0.0, f64::NAN], [0.2, 0.0], [9.0, 9.0], [f64::NAN, 9.2]];
        let mut opts = KmeansOptions::new(2);
        opts.seed = 1;
        let km = Kmeans::fit(x.view(), None, &opts).unwrap();
        assert!(km.centroids().iter().all(|v| v.is_finite()));
        let labels = km.predict(x.view(), Threads::Current).unwrap();
        assert_eq!(labels[0], labels[1]);
        assert_eq!(labels[2], labels[3]);
        assert_ne!(labels[0], labels[2]);
    }

    #[test]
    fn kmeans_parallel_is_robust() {
        // Three blobs, with heavily duplicated rows, and a seed sweep.
        let mut rows = Vec::new();
        for (cx, cy) in [(0.0, 0.0), (10.0, 0.0), (0.0, 10.0)] {
            for i in 0..200 {
                let t = (i % 7) as f64 * 0.1;
                rows.extend([cx + t, cy - t]);
            }
        }
        let x = Array2::from_shape_vec((600, 2), rows).unwrap();
        for seed in 0..40 {
            let mut opts = KmeansOptions::new(3);
            opts.init = Init::KMeansParallel;
            opts.max_iterations = 0;
            opts.seed = seed;
            let km = Kmeans::fit(x.view(), None, &opts).unwrap();
            assert!(km.centroids().iter().all(|v| v.is_finite()));
            let labels = km.predict(x.view(), Threads::Current).unwrap();
            let mut firsts: Vec<usize> = (0..3).map(|b| labels[b * 200]).collect();
            firsts.sort();
            firsts.dedup();
            assert_eq!(firsts.len(), 3, "seed {seed}");
        }
        // All rows identical: still k centroids, no failure.
        let same = Array2::from_elem((50, 2), 1.5);
        let mut opts = KmeansOptions::new(3);
        opts.init = Init::KMeansParallel;
        let km = Kmeans::fit(same.view(), None, &opts).unwrap();
        assert!(km.centroids().iter().all(|v| *v == 1.5));
    }

    #[test]
    fn kmeans_parallel_does_not_depend_on_threads() {
        let x = Array2::from_shape_fn((5000, 3), |(i, j)| {
            ((i * 7919 + j * 104_729) % 1000) as f64 / 37.0
        });
        let fit = |t| {
            let mut opts = KmeansOptions::new(4);
            opts.init = Init::KMeansParallel;
            opts.seed = 9;
            opts.threads = Threads::Count(t);
            Kmeans::fit(x.view(), None, &opts).unwrap()
        };
        assert_eq!(fit(1), fit(3));
    }

    #[test]
    fn empty_clusters_are_reseeded() {
        // Centroid 2 starts far from every row and would stay empty.
        let x = array![[0.0], [0.1], [0.2], [10.0], [10.1], [10.2]];
        let mut opts = KmeansOptions::new(3);
        opts.init = Init::Centroids(array![[0.1], [10.1], [1000.0]]);
        opts.max_iterations = 1;
        let km = Kmeans::fit(x.view(), None, &opts).unwrap();
        let c = km.centroids();
        assert!(c[[2, 0]] < 20.0, "{c}");
        let labels = km.predict(x.view(), Threads::Current).unwrap();
        assert!(labels.iter().any(|&l| l == 2));
    }

    #[test]
    fn rejects_bad_input() {
        let x = two_blobs();
        assert!(Kmeans::fit(x.view(), None, &KmeansOptions::new(7)).is_err());
        assert!(Kmeans::fit(x.view(), None, &KmeansOptions::new(0)).is_err());
        assert!(Init::from_name("kmeans||x").is_err());
        let w = Array1::zeros(6);
        assert!(Kmeans::fit(x.view(), Some(w.view()), &KmeansOptions::new(2)).is_err());
    }
}
