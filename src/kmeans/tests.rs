use super::init::kmeans_plus_plus;
use super::lloyd::{lloyd_pass, nearest, BlockFlags};
use super::*;
use crate::parallel::{chunk_rows, Threads, BLOCK_ROWS};
use crate::weights::Weights;
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
    let fast = lloyd_pass(
        x.view().into(),
        Weights::Given(w.as_slice().unwrap()),
        centroids.view(),
        BlockFlags::of_rows(n).unwrap().batch(0, n),
    );
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
fn flags_kept_from_pass_to_pass_give_the_statistics_of_a_fresh_pass() {
    // Blocks with NaN (the row-by-row loop) and without (four rows at a time), over two
    // batches: the flags found by the first pass, read by the next ones under other
    // centroids, give the same bits as a pass that scans every block again.
    let (n, d, k) = (3 * BLOCK_ROWS + 77, 5, 4);
    let mut x = Array2::from_shape_fn((n, d), |(i, c)| {
        ((i * 13 + c * 29) % 101) as f64 * 0.21 - 10.0
    });
    x[[BLOCK_ROWS + 3, 2]] = f64::NAN;
    x[[n - 1, 0]] = f64::NAN;
    let w: Vec<f64> = (0..n).map(|i| 0.25 + (i % 5) as f64 * 0.5).collect();
    let batches = [0..2 * BLOCK_ROWS + 10, 2 * BLOCK_ROWS + 10..n];
    let flags = BlockFlags::new(&batches).unwrap();
    let bits = |a: &Array2<f64>| a.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    for pass in 0..3 {
        let centroids = x.slice(ndarray::s![pass * 7..pass * 7 + k, ..]).to_owned();
        for (i, r) in batches.iter().enumerate() {
            let rows = x.slice(ndarray::s![r.clone(), ..]);
            let (wr, c) = (Weights::Given(&w[r.clone()]), centroids.view());
            let kept = lloyd_pass(rows.into(), wr, c, flags.batch(i, r.len()));
            let fresh_flags = BlockFlags::of_rows(r.len()).unwrap();
            let fresh = lloyd_pass(rows.into(), wr, c, fresh_flags.batch(0, r.len()));
            assert_eq!(bits(&kept.sums), bits(&fresh.sums));
            assert_eq!(bits(&kept.weights), bits(&fresh.weights));
            assert_eq!(kept.distance.to_bits(), fresh.distance.to_bits());
            assert!(kept.sums.iter().all(|v| v.is_finite()));
        }
    }
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
        let seen = BlockFlags::of_rows(n).unwrap();
        let seen = seen.batch(0, n);
        let (c, st) = kmeans_plus_plus(
            x.view().into(),
            Weights::Given(&w),
            k,
            &mut rng,
            seed < 200,
            seen,
        )
        .unwrap();
        if let Some(st) = st {
            // The statistics after a pass of its own for the fourth draw.
            let flags = BlockFlags::of_rows(n).unwrap();
            let flags = flags.batch(0, n);
            let reference = lloyd_pass(x.view().into(), Weights::Given(&w), c.view(), flags);
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
                let seen = BlockFlags::of_rows(xv.nrows()).unwrap();
                let seen = seen.batch(0, xv.nrows());
                let (mut c, st) = Threads::Count(threads)
                    .install(|| {
                        let wv = Weights::Given(&w);
                        kmeans_plus_plus(xv.into(), wv, k, &mut rng, true, seen).unwrap()
                    })
                    .unwrap();
                let st = st.expect("statistics were asked for");
                c.mapv_inplace(|v| if v.is_nan() { 0.0 } else { v });
                let m = xv.nrows();
                let flags = BlockFlags::of_rows(m).unwrap();
                let flags = flags.batch(0, m);
                let reference = lloyd_pass(xv.into(), Weights::Given(&w), c.view(), flags);
                assert_eq!(bits(&st.sums), bits(&reference.sums));
                assert_eq!(bits(&st.weights), bits(&reference.weights));
                assert_eq!(st.distance.to_bits(), reference.distance.to_bits());
                // The flags k-means++ found, handed on to a Lloyd pass as a fit does.
                let handed = lloyd_pass(xv.into(), Weights::Given(&w), c.view(), seen);
                assert_eq!(bits(&handed.sums), bits(&reference.sums));
                assert_eq!(bits(&handed.weights), bits(&reference.weights));
                assert_eq!(handed.distance.to_bits(), reference.distance.to_bits());
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
    let nan = Array2::from_elem((5, 2), f64::NAN);
    let e = Kmeans::fit(nan.view(), None, &KmeansOptions::new(2)).unwrap_err();
    assert!(e.to_string().contains("no observed value"), "{e}");
    let x = two_blobs();
    assert!(Kmeans::fit(x.view(), None, &KmeansOptions::new(7)).is_err());
    assert!(Kmeans::fit(x.view(), None, &KmeansOptions::new(0)).is_err());
    assert!(Init::from_name("kmeans||x").is_err());
    let w = Array1::zeros(6);
    assert!(Kmeans::fit(x.view(), Some(w.view()), &KmeansOptions::new(2)).is_err());
}

#[test]
fn centroids_larger_than_memory_are_an_error() {
    let e = super::centroids_fit(1 << 40, 1 << 20).unwrap_err();
    assert!(
        e.to_string()
            .contains("an array of 1099511627776 centroids of 1048576 features does not fit"),
        "{e}"
    );
    assert!(super::centroids_fit(8, 8).is_ok());
}

fn small() -> Array2<f64> {
    array![[0.0], [1.0], [2.0], [10.0], [3.0], [4.0]]
}

#[test]
fn statistics_accumulate_unless_cleared() {
    // pomegranate 0.14's numbers: with first-k and two updates, the statistics of both epochs
    // give [0.75, 4.625]; cleared after each update, Lloyd's [1, 17/3].
    let mut opts = KmeansOptions::new(2);
    opts.init = Init::FirstK;
    opts.max_iterations = 2;
    let km = Kmeans::fit(small().view(), None, &opts).unwrap();
    assert_eq!(km.centroids().column(0).to_vec(), vec![0.75, 4.625]);
    opts.clear_summaries = true;
    let km = Kmeans::fit(small().view(), None, &opts).unwrap();
    assert_eq!(km.centroids()[[0, 0]], 1.0);
    assert!((km.centroids()[[1, 0]] - 17.0 / 3.0).abs() < 1e-15);
}

#[test]
fn minibatch_epochs_follow_pomegranates_schedule() {
    // Seven rows in batches of 2 (4 batches), 3 per epoch: epochs read batches [0, 1, 2], [3],
    // [0, 1, 2], ... ; the initial centroids are the first batch's rows.
    let x = array![[0.0], [10.0], [1.0], [11.0], [2.0], [12.0], [100.0]];
    let mut opts = KmeansOptions::new(2);
    opts.init = Init::FirstK;
    opts.batch_size = Some(2);
    opts.batches_per_epoch = Some(3);
    opts.clear_summaries = true;
    opts.max_iterations = 1;
    opts.stop_threshold = f64::NEG_INFINITY;
    // One update from the first epoch (rows 0..6): centroids at 1 and 11.
    let km = Kmeans::fit(x.view(), None, &opts).unwrap();
    assert_eq!(km.centroids().column(0).to_vec(), vec![1.0, 11.0]);
    // A second update from the second epoch (row 6 alone): the far centroid moves to 100 and
    // the other, without values, stays.
    opts.max_iterations = 2;
    let km = Kmeans::fit(x.view(), None, &opts).unwrap();
    assert_eq!(km.centroids().column(0).to_vec(), vec![1.0, 100.0]);
    // k larger than the first batch cannot choose its centroids there.
    opts.k = 3;
    let e = Kmeans::fit(x.view(), None, &opts).unwrap_err();
    assert!(e.to_string().contains("batch_size"), "{e}");
}

#[test]
fn inertia_blends_the_old_centroids() {
    let mut opts = KmeansOptions::new(2);
    opts.init = Init::Centroids(array![[0.0], [10.0]]);
    opts.max_iterations = 1;
    opts.clear_summaries = true;
    opts.inertia = 0.25;
    let km = Kmeans::fit(small().view(), None, &opts).unwrap();
    // Means of the first epoch: [2 (rows 0 to 4), 10] -> 0.25 * old + 0.75 * mean.
    assert_eq!(km.centroids().column(0).to_vec(), vec![1.5, 10.0]);
    opts.inertia = 1.5;
    assert!(Kmeans::fit(small().view(), None, &opts).is_err());
}

#[test]
fn summarize_merge_and_from_summaries_are_the_fit_step() {
    let x = two_blobs();
    let km0 = Kmeans::new(array![[0.0, 0.0], [4.0, 4.0]]).unwrap();
    let whole = km0.summarize(x.view(), None, Threads::Current).unwrap();
    let mut parts = km0
        .summarize(x.slice(ndarray::s![..2, ..]), None, Threads::Current)
        .unwrap();
    parts
        .merge(
            &km0.summarize(x.slice(ndarray::s![2.., ..]), None, Threads::Count(2))
                .unwrap(),
        )
        .unwrap();
    for (a, b) in whole.sums().iter().zip(parts.sums().iter()) {
        assert!((a - b).abs() < 1e-12);
    }
    assert_eq!(whole.weights(), parts.weights());
    let mut km = km0.clone();
    km.from_summaries(&whole, 0.0).unwrap();
    let mut opts = KmeansOptions::new(2);
    opts.init = Init::Centroids(km0.centroids().to_owned());
    opts.max_iterations = 1;
    let fitted = Kmeans::fit(x.view(), None, &opts).unwrap();
    assert_eq!(km.centroids(), fitted.centroids());
    // Statistics of another shape are refused.
    let other = KmeansStats::zeros(3, 2);
    assert!(km.from_summaries(&other, 0.0).is_err());
    assert!(parts.merge(&other).is_err());
    assert!(KmeansStats::from_parts(Array2::zeros((2, 2)), -Array2::ones((2, 2)), 0.0).is_err());
    assert!(km
        .summarize(x.view(), Some(Array1::ones(2).view()), Threads::Current)
        .is_err());
}

#[test]
fn distance_is_squared_over_observed_coordinates() {
    let km = Kmeans::new(array![[0.0, 0.0], [3.0, 4.0]]).unwrap();
    let x = array![[3.0, 4.0], [f64::NAN, 1.0]];
    let d = km.distance(x.view(), Threads::Count(2)).unwrap();
    assert_eq!(d, array![[25.0, 0.0], [1.0, 9.0]]);
    assert!(km.distance(array![[1.0]].view(), Threads::Current).is_err());
}

#[test]
fn documents_round_trip_and_are_checked() {
    let km = Kmeans::new(array![[0.5, -1.0], [1e-7, 3.0]]).unwrap();
    let text = km.to_json();
    assert!(
        text.starts_with("{\n    \"class\" : \"Kmeans\",\n    \"k\" : 2,"),
        "{text}"
    );
    assert!(text.contains("1e-07"), "{text}");
    assert_eq!(
        Kmeans::from_json(&text).unwrap().centroids(),
        km.centroids()
    );
    for bad in [
        r#"{"class": "Kmeans", "k": 2, "centroids": [[1.0]]}"#,
        r#"{"class": "Kmeans", "k": 1, "centroids": [[]]}"#,
        r#"{"class": "Kmeans", "k": 2, "centroids": [[1.0], [1.0, 2.0]]}"#,
        r#"{"class": "Kmeans", "k": 0, "centroids": []}"#,
        r#"{"class": "Kmeans", "centroids": [[1.0]]}"#,
        r#"{"class": "Kmeans", "k": 1, "centroids": [[1.0]], "extra": 1}"#,
        r#"{"class": "Kmean", "k": 1, "centroids": [[1.0]]}"#,
        r#"{"class": "Kmeans", "k": 1, "centroids": [["a"]]}"#,
    ] {
        assert!(Kmeans::from_json(bad).is_err(), "{bad}");
    }
}

#[test]
fn random_rows_draw_by_weight_without_replacement() {
    // The reference zeroes each chosen row's weight in a copy of the weights.
    use super::init::random_rows;
    use crate::rng::choose_weighted;
    let w: Vec<f64> = (0..500).map(|i| ((i * 7) % 11) as f64 * 0.5).collect();
    for seed in 0..20 {
        let mut rng = seeded(seed);
        let got = random_rows(Weights::Given(&w), 30, &mut rng).unwrap();
        let mut rng = seeded(seed);
        let mut left = w.clone();
        let want: Vec<usize> = (0..30)
            .map(|_| {
                let i = choose_weighted(left.iter().copied(), &mut rng);
                left[i] = 0.0;
                i
            })
            .collect();
        assert_eq!(got, want, "seed {seed}");
    }
    let mut rng = seeded(1);
    let all = random_rows(Weights::Ones(40), 40, &mut rng).unwrap();
    let mut sorted = all.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..40).collect::<Vec<_>>());
    assert!(random_rows(Weights::Given(&w[..3]), 3, &mut rng).is_err());
}

#[test]
fn empty_centroids_move_to_the_farthest_rows_first_ties_to_the_lowest() {
    use super::lloyd::reseed_empty;
    // Rows on a coarse grid (many equal distances), over several chunks and two ranges; two of
    // the four centroids own no row.
    let n = 3 * chunk_rows(20_000).max(1) + 77;
    let x = Array2::from_shape_fn((n, 2), |(i, c)| ((i * (3 + c)) % 17) as f64);
    let w: Vec<f64> = (0..n)
        .map(|i| if i % 11 == 0 { 0.0 } else { 1.0 })
        .collect();
    let centroids = array![[4.0, 4.0], [1e6, 1e6], [9.0, 2.0], [-1e6, 5.0]];
    let rows = [0..n / 3, n / 3..n];
    let stats = KmeansStats::total(
        4,
        2,
        rows.iter().map(|r| {
            lloyd_pass(
                x.slice(ndarray::s![r.clone(), ..]).into(),
                Weights::Given(&w[r.clone()]),
                centroids.view(),
                BlockFlags::of_rows(r.len()).unwrap().batch(0, r.len()),
            )
        }),
    );
    let mut got = centroids.clone();
    reseed_empty(x.view().into(), Weights::Given(&w), &rows, &stats, &mut got);
    // The reference: every row with weight, sorted by distance (farthest first), then index.
    let mut all: Vec<(f64, usize)> = (0..n)
        .filter(|&i| w[i] > 0.0)
        .map(|i| (nearest(x.row(i), &centroids.view()).1, i))
        .collect();
    all.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut want = centroids.clone();
    for (j, (_, i)) in [1, 3].into_iter().zip(&all) {
        want.row_mut(j).assign(&x.row(*i));
    }
    assert_eq!(got, want);
    assert_ne!(got, centroids);
}
