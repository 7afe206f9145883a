//! The kernels' tests: every vector kernel against the portable one, bit for bit; the fused
//! E-step and the k-means kernels on every kernel path the processor has; the accuracy of `exp`
//! and `ln`; the choice of the kernel path.

use super::dispatch::{choose, Isa, Level, LEVELS};
use super::distance::{
    any_nan, assign_block_with, has_nan, lane_distance, nearest_rows, nearest_rows_from,
    nearest_rows_with, row_distances, AssignScratch,
};
use super::forms::Gaussian;
use super::lanes::{Lanes, Quad};
use super::math::{exp_nonpositive, ln_positive};
use super::plan::{BlockTotals, Plan};
use super::portable::{
    centre_weighted, diagonal_forms, diagonal_rows, moments8, moments_rows, padded, panels,
    panels_len, products_in, quad_forms, sum8,
};
use super::small::{small_tiles, SMALL_LANES, SMALL_SUMS};
#[cfg(target_arch = "x86_64")]
use super::x86::{avx2, avx512};
use crate::rows::Rows;

#[test]
fn fused_full_covariance_blocks_are_the_same_on_every_path() {
    // The forms of real components (the other tests build them by hand).
    use crate::{Distribution, MultivariateGaussian};
    use ndarray::{Array1, Array2};
    let mut next = crate::rng::test_draws(0x2545_f491_4f6c_dd1d);
    for (d, n) in [(16, 256), (5, 201), (17, 90), (1, 7)] {
        let dists: Vec<MultivariateGaussian> = (0..3)
            .map(|j| {
                let a = Array2::from_shape_fn((d, d), |_| next());
                let cov = a.dot(&a.t()) + Array2::<f64>::eye(d) * (0.5 + j as f64);
                let means = Array1::from_shape_fn(d, |_| 3.0 * next());
                MultivariateGaussian::new(means, cov).expect("a covariance")
            })
            .collect();
        let x = Array2::from_shape_fn((n, d), |_| 4.0 * next());
        let w: Vec<f64> = (0..n).map(|i| (i % 3) as f64 * 0.5).collect();
        let run = |isa: Isa| {
            let forms = dists.iter().map(|dist| dist.gaussian());
            let plan = Plan::with_isa(forms, &[-1.0, -1.2, -1.1], isa)
                .unwrap()
                .expect("a full plan");
            let (mut s, mut m) = (plan.scratch().unwrap(), plan.moments().unwrap());
            assert!(plan.load(x.view(), &mut s));
            let t = plan.summarize(x.view(), Some(&w), &mut s, &mut m);
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            let got = (bits(&m.weight), bits(&m.sum), bits(&m.products));
            (got, t.log_likelihood.to_bits(), t.invalid)
        };
        for isa in Isa::supported() {
            assert_eq!(run(Isa::portable()), run(isa), "{d} {n} {isa:?}");
        }
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
    if !Isa::cpu().avx2() {
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
        (130, 256),
        (131, 45),
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
            if Isa::cpu().avx512() {
                q.fill(0.0);
                // SAFETY: the processor has AVX-512 (checked).
                unsafe { avx512::quad_forms((&pan, &b), d, lower, &zp, n, ld, &mut q, &mut ys) };
                assert_eq!(p, q, "AVX-512, {d} {n} {lower}");
            }
            let mut dense = vec![0.0; n];
            quad_forms((&pan, &b), d, lower, &z, n, n, &mut dense, &mut ys);
            assert_eq!(p, dense);
            for (i, &v) in p.iter().enumerate() {
                let want: f64 = (0..d)
                    .map(|r| {
                        ((0..d).map(|c| a[r * d + c] * z[c * n + i]).sum::<f64>() - b[r]).powi(2)
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
        if Isa::cpu().avx512() {
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
            if d < avx512::WHOLE_BLOCK_FROM {
                acc.clear();
                // SAFETY: as above.
                unsafe { avx512::products(&r, &paired, d, n, &mut acc) };
                acc.add_products(d, &mut q);
            } else {
                // The products of the whole block, the weighted rows in the paired layout too.
                let mut wpaired = vec![f64::NAN; paired.len()];
                for l in 0..d {
                    for i in 0..n {
                        wpaired[avx512::paired(l, i, g)] = wz[l * ld + i];
                    }
                }
                // SAFETY: as above.
                unsafe { avx512::products_whole(&wpaired, &paired, d, n, &mut q) };
            }
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
            // Room for a pass, or for the whole block from `WHOLE_BLOCK_FROM` features on.
            let rows = avx512::MOMENT_ROWS.max(padded(n));
            let (mut z2, mut w2) = (
                vec![f64::NAN; (d + 1) * rows],
                vec![f64::NAN; (d + 1) * rows],
            );
            // SAFETY: as above.
            unsafe {
                avx512::moments(
                    (&xt, d, n, ld),
                    &mus,
                    &r,
                    (&mut z2, &mut w2),
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
    if !Isa::cpu().avx2() {
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
        for isa in Isa::supported() {
            for (rows, clean) in [(&x, true), (&x, false), (&holes, false)] {
                let mut got = vec![0.0; n];
                row_distances(isa, rows, &c, clean, &mut got);
                let want: Vec<f64> = rows.chunks_exact(d).map(|r| lane_distance(r, &c)).collect();
                assert_eq!(got, want, "{d} {n} {clean} {isa:?}");
            }
            assert!(!has_nan(isa, &x) && has_nan(isa, &holes));
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
            let mut o1 = start.clone();
            let mut j1 = vec![7u32; n];
            let mut l1 = [0.5; 4];
            nearest_rows_from(0, rows, &c, (&mut o1, Some(&mut j1), 3), &w, &mut l1);
            for isa in Isa::supported() {
                let (mut o2, mut j2, mut l2) = (start.clone(), vec![7u32; n], [0.5; 4]);
                let update = (&mut o2[..], Some(&mut j2[..]), 3);
                nearest_rows_with(isa, rows, &c, clean, update, &w, &mut l2);
                assert_eq!((&o1, &j1, l1), (&o2, &j2, l2), "{d} {n} {clean} {isa:?}");
                let mut o3 = start.clone();
                let mut l3 = [0.5; 4];
                nearest_rows_with(isa, rows, &c, clean, (&mut o3, None, 3), &w, &mut l3);
                assert_eq!((&o1, l1), (&o3, l3), "{d} {n} {clean} {isa:?}");
            }
            let (mut o2, mut j2, mut l2) = (start.clone(), vec![7u32; n], [0.5; 4]);
            nearest_rows(rows, &c, clean, (&mut o2, Some(&mut j2), 3), &w, &mut l2);
            assert_eq!((&o1, &j1, l1), (&o2, &j2, l2), "{d} {n} {clean}");
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
    if !Isa::cpu().avx2() {
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
        if !Isa::cpu().avx512() {
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
    if !Isa::cpu().avx2() {
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
                Isa::cpu()
                    .avx512()
                    .then(|| run::<avx512::Avx512, 1, 1>(plan, &xt, n, Some(&w))),
            ),
            2 => (
                run::<Quad, 2, 2>(plan, &xt, n, Some(&w)),
                run::<avx2::Avx, 2, 2>(plan, &xt, n, Some(&w)),
                Isa::cpu()
                    .avx512()
                    .then(|| run::<avx512::Avx512, 2, 1>(plan, &xt, n, Some(&w))),
            ),
            3 => (
                run::<Quad, 3, 2>(plan, &xt, n, None),
                run::<avx2::Avx, 3, 2>(plan, &xt, n, None),
                Isa::cpu()
                    .avx512()
                    .then(|| run::<avx512::Avx512, 3, 1>(plan, &xt, n, None)),
            ),
            _ => (
                run::<Quad, 4, 2>(plan, &xt, n, None),
                run::<avx2::Avx, 4, 2>(plan, &xt, n, None),
                Isa::cpu()
                    .avx512()
                    .then(|| run::<avx512::Avx512, 4, 1>(plan, &xt, n, None)),
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

#[test]
fn a_forced_path_is_capped_at_what_the_processor_has() {
    for &cpu in LEVELS {
        assert_eq!(choose(cpu, None), cpu);
        assert_eq!(choose(cpu, Some("fastest")), cpu);
        assert_eq!(choose(cpu, Some("")), cpu);
        assert_eq!(choose(cpu, Some("portable")), Level::Portable);
        assert_eq!(choose(cpu, Some(" Portable\n")), Level::Portable);
        for (name, rank) in [("avx2", 1), ("AVX512", 2)] {
            let best = LEVELS.iter().position(|&l| l == cpu).unwrap_or(0);
            assert_eq!(
                choose(cpu, Some(name)),
                LEVELS[rank.min(best)],
                "{name} on {cpu:?}"
            );
            assert!(choose(cpu, Some(name)) <= cpu);
        }
    }
    #[cfg(target_arch = "x86_64")]
    {
        assert_eq!(choose(Level::Avx512, Some("avx2")), Level::Avx2);
        assert_eq!(choose(Level::Avx512, Some("avx512")), Level::Avx512);
        assert_eq!(choose(Level::Avx2, Some("avx512")), Level::Avx2);
        assert_eq!(choose(Level::Portable, Some("avx512")), Level::Portable);
        assert_eq!(choose(Level::Portable, Some("avx2")), Level::Portable);
    }
    assert!(Isa::current() <= Isa::cpu());
    assert_eq!(Isa::supported().next(), Some(Isa::portable()));
    assert_eq!(Isa::supported().last(), Some(Isa::cpu()));
}

/// Values in `[-0.5, 0.5)` from `seed`.
pub(crate) fn values(mut seed: u64) -> impl FnMut() -> f64 {
    move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    }
}

/// Every output of the fused E-step of `x` (blocks of [`BLOCK_ROWS`] rows) on the kernel path
/// `isa`, as bits: per block whether it loaded, then the joint log-densities, the posteriors'
/// values, the totals of `summarize`; at the end the moments of every component.
pub(crate) fn fused_outputs<'x>(
    forms: &[Gaussian],
    log_weights: &[f64],
    x: impl Into<Rows<'x>>,
    w: Option<&[f64]>,
    isa: Isa,
) -> Vec<u64> {
    let x = x.into();
    use crate::parallel::BLOCK_ROWS;
    let plan = Plan::with_isa(forms.iter().cloned().map(Some), log_weights, isa)
        .unwrap()
        .expect("a plan");
    let k = forms.len();
    let (mut s, mut m) = (plan.scratch().unwrap(), plan.moments().unwrap());
    let mut out = Vec::new();
    let bits = |out: &mut Vec<u64>, v: &[f64]| out.extend(v.iter().map(|x| x.to_bits()));
    for i0 in (0..x.nrows()).step_by(BLOCK_ROWS) {
        let rows = i0..(i0 + BLOCK_ROWS).min(x.nrows());
        let (xb, n) = (x.slice(rows.clone()), rows.len());
        let loaded = plan.load(xb, &mut s);
        out.push(loaded as u64);
        if !loaded {
            continue;
        }
        plan.log_joint(xb, &mut s);
        bits(&mut out, &s.lp[..k * n]);
        plan.posteriors(xb, &mut s);
        for v in [&s.lp[..k * n], &s.y[..n], &s.acc[..n], &s.max[..n]] {
            bits(&mut out, v);
        }
        let t = plan.summarize(xb, w.map(|w| &w[rows]), &mut s, &mut m);
        bits(&mut out, &[t.log_likelihood, t.unexplained]);
        out.push(t.invalid.map_or(u64::MAX, |i| i as u64));
    }
    for j in 0..k {
        let g = plan.moments_of(&mut m, j);
        bits(&mut out, &[g.weight]);
        for v in [g.shift, g.sum, g.products] {
            bits(&mut out, v);
        }
    }
    out
}

#[test]
fn the_fused_e_step_is_the_same_bits_on_every_kernel_path() {
    use ndarray::{Array2, ShapeBuilder};
    let mut next = values(3);
    // Every path: small (lower and not), full (lower and not), diagonal transposed and
    // row-major (contiguous and not); blocks whole and partial, with a missing value, a row
    // far out, weights of zero.
    for (d, n, k, full, lower) in [
        (1, 300, 3, true, true),
        (2, 517, 4, true, true),
        (3, 77, 2, true, false),
        (4, 256, 3, true, true),
        (5, 301, 3, true, true),
        (7, 90, 2, true, false),
        (16, 260, 3, true, true),
        (131, 261, 2, true, true),
        (130, 100, 2, true, false),
        (3, 300, 3, false, true),
        (7, 40, 2, false, true),
        (8, 300, 3, false, true),
        (19, 513, 4, false, true),
    ] {
        let inv_chol: Vec<Array2<f64>> = (0..k)
            .map(|_| {
                Array2::from_shape_fn((d, d), |(r, c)| match (r, c) {
                    (r, c) if r == c => 1.0 + next().abs(),
                    (r, c) if c < r || !lower => 0.5 * next(),
                    _ => 0.0,
                })
            })
            .collect();
        let means: Vec<Vec<f64>> = (0..k)
            .map(|_| (0..d).map(|_| 3.0 * next()).collect())
            .collect();
        let forms: Vec<Gaussian> = (0..k)
            .map(|j| {
                if full {
                    Gaussian::Full {
                        means: &means[j],
                        inv_chol: inv_chol[j].view(),
                        log_norm: next() - d as f64,
                    }
                } else {
                    Gaussian::Diagonal {
                        means: means[j].clone(),
                        half_inv_var: (0..d).map(|_| 0.5 + next().abs()).collect(),
                        log_norm: next() - d as f64,
                    }
                }
            })
            .collect();
        let log_weights: Vec<f64> = (0..k).map(|_| next() - 1.0).collect();
        let mut x = Array2::from_shape_fn((n, d), |_| 4.0 * next());
        x[[n / 3, d - 1]] = 1e200;
        if n > 300 {
            x[[290, 0]] = f64::NAN;
        }
        let xf = {
            let mut f = Array2::zeros((n, d).f());
            f.assign(&x);
            f
        };
        let w: Vec<f64> = (0..n)
            .map(|i| if i % 5 == 2 { 0.0 } else { 0.5 + next() })
            .collect();
        for weights in [None, Some(&w[..])] {
            for xv in [x.view(), xf.view()] {
                let want = fused_outputs(&forms, &log_weights, xv, weights, Isa::portable());
                for isa in Isa::supported() {
                    let got = fused_outputs(&forms, &log_weights, xv, weights, isa);
                    assert!(got == want, "{d} {n} {k} {full} {lower} {isa:?}");
                }
            }
        }
    }
}

#[test]
fn the_blocks_of_a_lloyd_pass_are_the_same_bits_on_every_kernel_path() {
    let mut next = values(9);
    for (d, n, k) in [
        (1, 9, 2),
        (3, 256, 4),
        (4, 100, 3),
        (9, 201, 5),
        (17, 64, 2),
    ] {
        let xs: Vec<f64> = (0..n * d).map(|_| 4.0 * next()).collect();
        let cs: Vec<f64> = (0..k * d).map(|_| 4.0 * next()).collect();
        let w: Vec<f64> = (0..n).map(|_| 0.5 + next()).collect();
        let run = |isa: Isa| {
            let (mut sums, mut weights, mut distance) = (vec![0.25; k * d], vec![0.5; k * d], 1.0);
            let mut s = AssignScratch::new();
            let mut out = (&mut sums[..], &mut weights[..], &mut distance);
            assign_block_with(isa, &xs, &cs, &w, &mut s, &mut out);
            (sums, weights, distance)
        };
        // One row at a time: the first nearest centroid, its sums.
        let (mut sums, mut weights, mut distance) = (vec![0.25; k * d], vec![0.5; k * d], 1.0);
        for (row, &wi) in xs.chunks_exact(d).zip(&w) {
            let (mut best, mut dist) = (0, f64::INFINITY);
            for (j, c) in cs.chunks_exact(d).enumerate() {
                let v = lane_distance(row, c);
                if v < dist {
                    (best, dist) = (j, v);
                }
            }
            distance += wi * dist;
            for (l, &v) in row.iter().enumerate() {
                sums[best * d + l] += wi * v;
                weights[best * d + l] += wi;
            }
        }
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        for isa in Isa::supported() {
            let got = run(isa);
            assert_eq!(bits(&got.0), bits(&sums), "{d} {n} {k} {isa:?}");
            assert_eq!(bits(&got.1), bits(&weights), "{d} {n} {k} {isa:?}");
            assert_eq!(got.2.to_bits(), distance.to_bits(), "{d} {n} {k} {isa:?}");
        }
    }
}

#[test]
fn rows_that_no_component_can_produce_have_log_p_minus_inf_on_every_path() {
    use crate::parallel::BLOCK_ROWS;
    use ndarray::Array2;
    let mut next = values(11);
    // Every path: small, full, diagonal transposed and row-major.
    for (d, full) in [
        (1, true),
        (3, true),
        (6, true),
        (1, false),
        (3, false),
        (9, false),
    ] {
        let k = 3;
        let inv_chol: Vec<Array2<f64>> = (0..k)
            .map(|_| {
                Array2::from_shape_fn((d, d), |(r, c)| match (r, c) {
                    (r, c) if r == c => 1.0 + next().abs(),
                    (r, c) if c < r => 0.5 * next(),
                    _ => 0.0,
                })
            })
            .collect();
        let means: Vec<Vec<f64>> = (0..k)
            .map(|_| (0..d).map(|_| 3.0 * next()).collect())
            .collect();
        let forms: Vec<Gaussian> = (0..k)
            .map(|j| {
                if full {
                    Gaussian::Full {
                        means: &means[j],
                        inv_chol: inv_chol[j].view(),
                        log_norm: -(d as f64),
                    }
                } else {
                    Gaussian::Diagonal {
                        means: means[j].clone(),
                        half_inv_var: (0..d).map(|_| 0.5 + next().abs()).collect(),
                        log_norm: -(d as f64),
                    }
                }
            })
            .collect();
        let log_weights = [-1.0, -1.5, -0.9];
        let n = 37;
        let x = Array2::from_shape_fn((n, d), |_| 4.0 * next());
        // The same rows, three of them far enough out that every quadratic form overflows.
        let far_rows = [0, 17, 36];
        let mut far = x.clone();
        for &i in &far_rows {
            far[[i, d - 1]] = if i == 17 { -1e200 } else { 1e155 };
        }
        let w: Vec<f64> = (0..n).map(|i| 0.5 + (i % 3) as f64).collect();
        for isa in Isa::supported() {
            let plan = Plan::with_isa(forms.iter().cloned().map(Some), &log_weights, isa)
                .unwrap()
                .expect("plan");
            let (mut s, mut m) = (plan.scratch().unwrap(), plan.moments().unwrap());
            assert!(n <= BLOCK_ROWS && plan.load(x.view(), &mut s));
            plan.posteriors(x.view(), &mut s);
            let plain: Vec<u64> = s.acc[..n].iter().map(|v| v.to_bits()).collect();
            assert!(plan.load(far.view(), &mut s));
            plan.posteriors(far.view(), &mut s);
            for (i, &bits) in plain.iter().enumerate() {
                if far_rows.contains(&i) {
                    assert_eq!(s.max[i], f64::NEG_INFINITY, "{d} {full} {isa:?}");
                    assert_eq!(s.acc[i], f64::NEG_INFINITY, "{d} {full} {isa:?} {i}");
                } else {
                    // The other rows keep their bits.
                    assert_eq!(s.acc[i].to_bits(), bits, "{d} {full} {isa:?} {i}");
                }
            }
            let t = plan.summarize(far.view(), Some(&w), &mut s, &mut m);
            let unexplained: f64 = far_rows.iter().map(|&i| w[i]).sum();
            assert_eq!(t.unexplained, unexplained, "{d} {full} {isa:?}");
            assert!(t.log_likelihood.is_finite() && t.invalid.is_none());
            let weight: f64 = m.weight.iter().sum();
            let counted: f64 = w.iter().sum::<f64>() - unexplained;
            assert!(
                (weight - counted).abs() < 1e-9 * counted,
                "{d} {full} {isa:?}"
            );
            assert!(m.sum.iter().chain(&m.products).all(|v| v.is_finite()));
        }
    }
}

#[test]
fn forms_that_are_not_finite_take_the_general_path() {
    use ndarray::Array2;
    let means = [0.0, 1.0];
    let diagonal = |h: f64, c: f64| Gaussian::Diagonal {
        means: means.to_vec(),
        half_inv_var: vec![0.5, h],
        log_norm: c,
    };
    let fine = diagonal(0.5, -1.0);
    for isa in Isa::supported() {
        let plan = |f: Vec<Gaussian>| {
            Plan::with_isa(f.into_iter().map(Some), &[-0.7; 2], isa).expect("fits in memory")
        };
        assert!(plan(vec![fine.clone(), fine.clone()]).is_some());
        for bad in [
            diagonal(f64::INFINITY, -1.0),
            diagonal(f64::NAN, -1.0),
            diagonal(0.5, f64::INFINITY),
        ] {
            assert!(plan(vec![fine.clone(), bad.clone()]).is_none(), "{bad:?}");
            assert!(plan(vec![bad, fine.clone()]).is_none());
        }
        let (good, huge) = (
            Array2::<f64>::eye(2),
            Array2::from_elem((2, 2), 1e300) * 1e10,
        );
        fn full<'a>(means: &'a [f64], a: &'a Array2<f64>, c: f64) -> Gaussian<'a> {
            Gaussian::Full {
                means,
                inv_chol: a.view(),
                log_norm: c,
            }
        }
        assert!(plan(vec![full(&means, &good, -1.0), full(&means, &good, -2.0)]).is_some());
        assert!(plan(vec![full(&means, &good, -1.0), full(&means, &huge, -2.0)]).is_none());
        assert!(plan(vec![
            full(&means, &good, f64::NEG_INFINITY),
            full(&means, &good, -2.0)
        ])
        .is_none());
    }
}

/// Diagonal forms of `k` components in `d` features: means `offset + spread * u`, standard
/// deviations `sigma * (1 + u / 2)` (`u` in `[-0.5, 0.5)`).
fn diagonal_forms_of(
    next: &mut impl FnMut() -> f64,
    k: usize,
    d: usize,
    (offset, spread, sigma): (f64, f64, f64),
) -> Vec<Gaussian<'static>> {
    (0..k)
        .map(|_| {
            let sd: Vec<f64> = (0..d).map(|_| sigma * (1.0 + next() / 2.0)).collect();
            Gaussian::Diagonal {
                means: (0..d).map(|_| offset + spread * next()).collect(),
                half_inv_var: sd.iter().map(|s| 0.5 / (s * s)).collect(),
                log_norm: sd.iter().map(|s| -s.ln() - 0.918_938_533_204_672_8).sum(),
            }
        })
        .collect()
}

#[test]
fn f32_rows_of_diagonal_gaussians_are_the_same_bits_on_every_kernel_path() {
    use ndarray::{Array2, ShapeBuilder};
    let mut next = values(21);
    // Row-major diagonal plans (eight features or more) and transposed ones (f32 rows converted
    // to f64), whole and partial vectors of features (the moments on AVX-512: pairs of sixteen,
    // one of sixteen, then eight, then a partial one, all four at 57), whole and partial blocks
    // and tiles; a missing value, a value beyond the f32 kernels' limit (its block takes the f64
    // kernels), weights of zero; C order (read in place) and Fortran order (copied).
    for (d, n, k) in [
        (1, 300, 3),
        (2, 517, 4),
        (3, 77, 2),
        (7, 260, 3),
        (8, 300, 3),
        (9, 513, 4),
        (16, 260, 5),
        (16, 800, 5),
        (21, 77, 2),
        (24, 260, 3),
        (40, 77, 2),
        (57, 40, 2),
        (64, 40, 3),
    ] {
        let forms = diagonal_forms_of(&mut next, k, d, (0.0, 3.0, 1.0));
        let log_weights: Vec<f64> = (0..k).map(|_| next() - 1.0).collect();
        let mut x = Array2::from_shape_fn((n, d), |_| (4.0 * next()) as f32);
        // The first block with a missing value, the second beyond the f32 kernels' limit, and
        // those after (at 800 rows, a whole block and a partial one after it) in f32.
        if n > 256 {
            x[[n.min(300) - 3, d / 2]] = 1e30;
            x[[100, 0]] = f32::NAN;
        }
        let xf = {
            let mut f = Array2::zeros((n, d).f());
            f.assign(&x);
            f
        };
        let w: Vec<f64> = (0..n)
            .map(|i| if i % 5 == 2 { 0.0 } else { 0.5 + next() })
            .collect();
        for weights in [None, Some(&w[..])] {
            let want = fused_outputs(&forms, &log_weights, x.view(), weights, Isa::portable());
            for isa in Isa::supported() {
                for xv in [x.view(), xf.view()] {
                    let got = fused_outputs(&forms, &log_weights, xv, weights, isa);
                    assert!(got == want, "{d} {n} {k} {isa:?}");
                }
            }
        }
    }
}

/// The joint log-densities and the moments of the fused E-step of the rows `x` (one block) on
/// the kernel path `isa`, and its log-likelihood.
pub(crate) fn block_of<'x>(
    forms: &[Gaussian],
    log_weights: &[f64],
    x: impl Into<Rows<'x>>,
    isa: Isa,
) -> (Vec<f64>, Vec<f64>, Vec<f64>, f64) {
    weighted_block_of(forms, log_weights, x, None, isa)
}

/// [`block_of`] with sample weights `w`.
pub(crate) fn weighted_block_of<'x>(
    forms: &[Gaussian],
    log_weights: &[f64],
    x: impl Into<Rows<'x>>,
    w: Option<&[f64]>,
    isa: Isa,
) -> (Vec<f64>, Vec<f64>, Vec<f64>, f64) {
    let x = x.into();
    let plan = Plan::with_isa(forms.iter().cloned().map(Some), log_weights, isa)
        .unwrap()
        .expect("a plan");
    let (mut s, mut m) = (plan.scratch().unwrap(), plan.moments().unwrap());
    assert!(plan.load(x, &mut s));
    plan.log_joint(x, &mut s);
    let lp = s.lp[..forms.len() * x.nrows()].to_vec();
    let t = plan.summarize(x, w, &mut s, &mut m);
    (lp, m.sum.clone(), m.products.clone(), t.log_likelihood)
}

#[test]
fn f32_kernels_keep_f32_precision_however_far_the_data_sit_from_zero() {
    use ndarray::Array2;
    let mut next = values(5);
    // Standard deviations from 1e-3 to 1e3, means from 0 to 1e5 of them away from zero: the
    // distances to the means keep the relative precision of f32 (the means in two parts).
    let cases = [
        (0.0, 1.0),
        (100.0, 1e-3),
        (1e4, 0.1),
        (-3e5, 3.0),
        (1e6, 1e3),
        // Low parts of the means up to a third of a standard deviation, the data over a few
        // f32 steps per standard deviation.
        (1e6, 0.1),
        (-2e5, 0.05),
    ];
    for ((offset, sigma), d) in cases.into_iter().flat_map(|c| [(c, 8), (c, 12)]) {
        let (k, n) = (3, 250);
        let forms = diagonal_forms_of(&mut next, k, d, (offset, 4.0 * sigma, sigma));
        let log_weights = [-1.0, -1.2, -1.1];
        let x = Array2::from_shape_fn((n, d), |_| (offset + 6.0 * sigma * next()) as f32);
        let x64 = x.mapv(f64::from);
        for isa in Isa::supported() {
            let (lp32, s32, p32, ll32) = block_of(&forms, &log_weights, x.view(), isa);
            let (lp64, s64, p64, ll64) = block_of(&forms, &log_weights, x64.view(), isa);
            let form = |lp: f64, j: usize| -> f64 {
                let Gaussian::Diagonal { log_norm, .. } = &forms[j] else {
                    unreachable!()
                };
                log_norm + log_weights[j] - lp
            };
            for (i, (a, b)) in lp32.iter().zip(&lp64).enumerate() {
                // Relative to the form (the part the f32 kernels compute).
                let q = form(*b, i / n).abs() + 1.0;
                assert!((a - b).abs() <= 2e-6 * q, "{offset} {sigma}: {a} {b}");
            }
            assert!((ll32 - ll64).abs() <= 1e-6 * ll64.abs(), "{ll32} {ll64}");
            // Sums of r (x - mu) and r (x - mu)^2: against the scale of the second.
            for (j, (a, b)) in s32.iter().zip(&s64).enumerate() {
                let scale = (p64[j] * n as f64).sqrt() + 1e-300;
                assert!((a - b).abs() <= 1e-5 * scale, "{offset} {sigma}: {a} {b}");
            }
            for (a, b) in p32.iter().zip(&p64) {
                assert!((a - b).abs() <= 1e-5 * b.abs(), "{offset} {sigma}: {a} {b}");
            }
        }
    }
}

#[test]
fn f32_rows_beyond_the_f32_kernels_take_the_f64_ones() {
    let mut next = values(8);
    for d in [8, 13] {
        beyond_the_f32_kernels(&mut next, d);
    }
}

/// [`f32_rows_beyond_the_f32_kernels_take_the_f64_ones`] in `d` features.
fn beyond_the_f32_kernels(next: &mut impl FnMut() -> f64, d: usize) {
    use ndarray::Array2;
    let (k, n) = (2, 40);
    // sigma = 1e-3: the f32 forms are kept for |x| up to about 1e15.
    let forms = diagonal_forms_of(next, k, d, (0.0, 1e-2, 1e-3));
    let mut x = Array2::from_shape_fn((n, d), |_| (1e-2 * next()) as f32);
    x[[7, d - 1]] = 3e15;
    let x64 = x.mapv(f64::from);
    for isa in Isa::supported() {
        let got = block_of(&forms, &[-0.7, -0.7], x.view(), isa);
        let want = block_of(&forms, &[-0.7, -0.7], x64.view(), isa);
        assert_eq!(format!("{got:?}"), format!("{want:?}"));
        // The far row has a finite log-density, as in f64.
        assert!(got.0[7].is_finite() && got.0[7] < -1e30);
    }
    // A standard deviation so small that 1 / (2 sigma^2) is not an f32: no f32 kernels at all.
    let tiny = diagonal_forms_of(next, k, d, (0.0, 1e-21, 1e-21));
    let x = Array2::from_shape_fn((n, d), |_| (1e-21 * next()) as f32);
    let x64 = x.mapv(f64::from);
    for isa in Isa::supported() {
        let got = block_of(&tiny, &[-0.7, -0.7], x.view(), isa);
        let want = block_of(&tiny, &[-0.7, -0.7], x64.view(), isa);
        assert_eq!(format!("{got:?}"), format!("{want:?}"));
    }
}

#[test]
fn f32_exp_is_accurate_and_total() {
    use super::math::exp32_nonpositive;
    let mut worst = 0.0f64;
    let mut x = 0.0f32;
    while x > -87.0 {
        let got = f64::from(exp32_nonpositive(x));
        let want = f64::from(x).exp();
        worst = worst.max((got - want).abs() / want);
        x -= 0.001_37;
    }
    assert!(worst < 4e-7, "{worst}");
    assert_eq!(exp32_nonpositive(0.0), 1.0);
    assert_eq!(exp32_nonpositive(-87.5), 0.0);
    assert_eq!(exp32_nonpositive(f32::NEG_INFINITY), 0.0);
    assert!(exp32_nonpositive(f32::NAN).is_nan());
}

#[cfg(target_arch = "x86_64")]
#[test]
fn f32_vector_exp_and_narrowing_match_the_scalar_ones_bit_for_bit() {
    use super::math::exp32_nonpositive;
    use super::single::{Lanes32, Oct};
    use super::x86::single::Avx32;
    /// `Avx32` in a function compiled for AVX2, as its values must be.
    #[target_feature(enable = "avx2,fma")]
    fn vector(q: &[f64], out: &mut [f32]) {
        Avx32::narrow(q).exp_nonpositive().store(out);
    }
    if !Isa::cpu().avx2() {
        return;
    }
    // Differences of log-densities (not positive) in f64, narrowed to f32 as the
    // small-dimension E-step does.
    let mut xs: Vec<f64> = (0..40_000).map(|i| -95.0 + i as f64 * 0.002_375).collect();
    xs.extend([
        0.0,
        -0.0,
        -1e-300,
        -87.0,
        -87.000_001,
        -1e40,
        f64::NEG_INFINITY,
        f64::NAN,
    ]);
    assert!(xs.len().is_multiple_of(8) && xs[..40_000].iter().all(|&x| x <= 0.0));
    for q in xs.chunks_exact(8) {
        let (mut got, mut want) = ([0.0f32; 8], [0.0f32; 8]);
        // SAFETY: the processor has AVX2 and FMA (checked above).
        unsafe { vector(q, &mut got) };
        Oct::narrow(q).exp_nonpositive().store(&mut want);
        for ((a, b), &x) in got.iter().zip(&want).zip(q) {
            assert_eq!(a.to_bits(), b.to_bits(), "{x}");
            assert_eq!(b.to_bits(), exp32_nonpositive(x as f32).to_bits(), "{x}");
        }
    }
}

#[test]
fn f32_moments_stay_in_range_for_any_weights_and_spread() {
    use ndarray::Array2;
    let mut next = values(13);
    let close = |a: &[f64], b: &[f64], what: &str| {
        for (x, y) in a.iter().zip(b) {
            assert!(
                x.is_finite() && (x - y).abs() <= 1e-5 * y.abs(),
                "{what}: {x} {y}"
            );
        }
    };
    for d in [8, 9] {
        let (k, n) = (2, 100);
        let forms = diagonal_forms_of(&mut next, k, d, (0.0, 2.0, 1.0));
        let x = Array2::from_shape_fn((n, d), |_| (3.0 * next()) as f32);
        let x64 = x.mapv(f64::from);
        // Sample weights far from 1 either way: the responsibilities are scaled by powers of two
        // before they narrow to f32, so the moments keep f32's precision.
        for scale in [1e39, 1e30, 1e-30, 1e-40, 1e-300] {
            let w: Vec<f64> = (0..n).map(|i| scale * (1.0 + (i % 7) as f64)).collect();
            for isa in Isa::supported() {
                let got = weighted_block_of(&forms, &[-0.7, -0.7], x.view(), Some(&w), isa);
                let want = weighted_block_of(&forms, &[-0.7, -0.7], x64.view(), Some(&w), isa);
                close(&got.2, &want.2, "products");
                // Sums of r z against sqrt(sum r z^2 * sum r), their natural scale.
                let total: f64 = w.iter().sum();
                let s = want.2.iter().fold(0.0f64, |m, v| m.max(v.abs())).sqrt() * total.sqrt();
                for (a, b) in got.1.iter().zip(&want.1) {
                    assert!((a - b).abs() <= 1e-5 * s, "sums {scale}: {a} {b}");
                }
            }
        }
        // Spreads near the top of f32's range: squares of distances that f32 cannot hold take
        // the f64 kernels; those it can, the f32 ones.
        for (sigma, spread) in [(5e18, 4e19), (1e17, 2e17)] {
            let forms = diagonal_forms_of(&mut next, k, d, (0.0, 0.0, sigma));
            let x = Array2::from_shape_fn((n, d), |_| (spread * next()) as f32);
            let x64 = x.mapv(f64::from);
            for isa in Isa::supported() {
                let got = block_of(&forms, &[-0.7, -0.7], x.view(), isa);
                let want = block_of(&forms, &[-0.7, -0.7], x64.view(), isa);
                close(&got.2, &want.2, "products");
                assert!((got.3 - want.3).abs() <= 1e-6 * want.3.abs());
            }
        }
    }
}

/// Each row's chain of fused multiply-adds over every column, as the offsets were taken.
fn plain_row_products(a: &[f64], mu: &[f64]) -> Vec<f64> {
    a.chunks_exact(mu.len())
        .map(|row| {
            row.iter()
                .zip(mu)
                .fold(0.0f64, |y, (&v, &m)| v.mul_add(m, y))
        })
        .collect()
}

#[test]
fn row_products_are_the_chains_over_every_column() {
    use super::portable::row_products;
    let mut draw = crate::rng::test_draws(0x9e37_79b9_7f4a_7c15);
    for d in [1, 3, 4, 7, 13, 33] {
        let mu: Vec<f64> = (0..d).map(|c| 1e3 * draw() * (c + 1) as f64).collect();
        let a: Vec<f64> = (0..(d + 5) * d).map(|_| draw()).collect();
        // Every number of rows up to d + 5: four at a time, then one at a time.
        for rows in 0..=d + 5 {
            let a = &a[..rows * d];
            let want: Vec<u64> = plain_row_products(a, &mu)
                .iter()
                .map(|v| v.to_bits())
                .collect();
            let mut out = Vec::new();
            row_products(a, &mu, &mut out);
            assert_eq!(out.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), want);
            #[cfg(target_arch = "x86_64")]
            if Isa::cpu().avx2() {
                let mut out = Vec::new();
                // SAFETY: the processor has AVX2 and FMA (an `Isa` says only what it has).
                unsafe { avx2::row_products(a, &mu, &mut out) };
                assert_eq!(out.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), want);
            }
        }
    }
}
