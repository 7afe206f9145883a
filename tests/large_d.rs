//! Many features through the public Rust API: from 192 features on, a multivariate Gaussian's
//! covariance sums, Cholesky factor, triangular solves and inverse are blocked matrix products. A fit agrees with
//! plain loops and gives the same bits on any number of threads.

use mixtura::distributions::MultivariateGaussianStats;
use mixtura::{Component, Distribution, Error, Family, MultivariateGaussian};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2};

/// Rows of correlated features, far from the origin, from a fixed generator.
fn rows(n: usize, d: usize) -> Array2<f64> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut draw = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    let mut x = Array2::from_shape_fn((n, d), |_| draw());
    for i in 0..n {
        for j in 1..d {
            x[[i, j]] += 0.5 * x[[i, j - 1]];
        }
        for j in 0..d {
            x[[i, j]] = x[[i, j]] * (1.0 + (j % 5) as f64) + 100.0 + j as f64;
        }
    }
    x
}

/// The weighted mean and covariance, in two plain passes.
fn plain_moments(x: ArrayView2<f64>, w: &[f64]) -> (Array1<f64>, Array2<f64>) {
    let (n, d) = x.dim();
    let total: f64 = w.iter().sum();
    let mean = Array1::from_shape_fn(d, |j| (0..n).map(|i| w[i] * x[[i, j]]).sum::<f64>() / total);
    let cov = Array2::from_shape_fn((d, d), |(j, k)| {
        (0..n)
            .map(|i| w[i] * (x[[i, j]] - mean[j]) * (x[[i, k]] - mean[k]))
            .sum::<f64>()
            / total
    });
    (mean, cov)
}

/// The log-density of `x` under `N(mu, cov)` by a plain Cholesky factor and substitution.
fn plain_log_density(mu: ArrayView1<f64>, cov: ArrayView2<f64>, x: ArrayView1<f64>) -> f64 {
    let d = mu.len();
    let mut l = Array2::<f64>::zeros((d, d));
    for j in 0..d {
        let s: f64 = cov[[j, j]] - (0..j).map(|t| l[[j, t]] * l[[j, t]]).sum::<f64>();
        l[[j, j]] = s.sqrt();
        for i in j + 1..d {
            let s: f64 = cov[[i, j]] - (0..j).map(|t| l[[i, t]] * l[[j, t]]).sum::<f64>();
            l[[i, j]] = s / l[[j, j]];
        }
    }
    let mut y = vec![0.0; d];
    for i in 0..d {
        let s: f64 = (x[i] - mu[i]) - (0..i).map(|t| l[[i, t]] * y[t]).sum::<f64>();
        y[i] = s / l[[i, i]];
    }
    let log_det: f64 = (0..d).map(|i| l[[i, i]].ln()).sum();
    let q: f64 = y.iter().map(|v| v * v).sum();
    -0.5 * d as f64 * (2.0 * std::f64::consts::PI).ln() - log_det - 0.5 * q
}

/// The fit on `threads` threads, and its log-densities of the first 20 rows there.
fn fit_on(threads: usize, x: ArrayView2<f64>, w: &[f64]) -> (MultivariateGaussian, Vec<f64>) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let g = match Component::fit_new(Family::MultivariateGaussian, x, w) {
            Ok(Component::MultivariateGaussian(g)) => g,
            other => panic!("expected a multivariate Gaussian, got {other:?}"),
        };
        let mut out = vec![0.0; 20];
        g.log_probability_into(x.slice(ndarray::s![..20, ..]), &mut out)
            .unwrap();
        (g, out)
    })
}

#[test]
fn a_wide_fit_is_the_plain_covariance_and_the_same_bits_on_any_number_of_threads() {
    // 1,300 rows: more than two of the chunks the statistics take at a time.
    let (n, d) = (1300, 250);
    let x = rows(n, d);
    let w: Vec<f64> = (0..n).map(|i| 0.5 + (i % 7) as f64 / 4.0).collect();
    let (fit, out) = fit_on(1, x.view(), &w);
    for threads in [2, 3] {
        // The parameters, and the log-densities through the factor's triangular solve.
        let (other, other_out) = fit_on(threads, x.view(), &w);
        assert_eq!(
            fit.covariance().mapv(f64::to_bits),
            other.covariance().mapv(f64::to_bits)
        );
        assert_eq!(
            fit.means().mapv(f64::to_bits),
            other.means().mapv(f64::to_bits)
        );
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&out), bits(&other_out));
    }
    let (mean, cov) = plain_moments(x.view(), &w);
    for j in 0..d {
        assert!(
            (fit.means()[j] - mean[j]).abs() <= 1e-12 * mean[j].abs(),
            "mean {j}"
        );
        for k in 0..d {
            let scale = (cov[[j, j]] * cov[[k, k]]).sqrt();
            let err = (fit.covariance()[[j, k]] - cov[[j, k]]).abs();
            assert!(
                err <= 1e-11 * scale,
                "covariance ({j}, {k}): {err:e} of {scale:e}"
            );
        }
    }
    // The log-densities through the blocked factor and solve, against plain loops.
    for (i, &lp) in out.iter().enumerate() {
        let want = plain_log_density(fit.means(), fit.covariance(), x.row(i));
        assert!(
            (lp - want).abs() <= 1e-9 * want.abs(),
            "row {i}: {lp} vs {want}"
        );
    }
}

#[test]
fn a_wide_covariance_that_is_not_positive_definite_is_refused() {
    let d = 220;
    let mut cov = Array2::<f64>::eye(d);
    cov[[d - 1, d - 1]] = -1e-3;
    assert!(matches!(
        MultivariateGaussian::new(Array1::zeros(d), cov),
        Err(Error::NotPositiveDefinite { .. })
    ));
}

#[test]
fn statistics_around_a_shift_that_is_not_finite_are_not_a_crash() {
    // Centred on an infinite or NaN shift, rows without missing values give NaN: they are
    // counted as rows with missing values, as they always were.
    let d = 200;
    let g = MultivariateGaussian::blank(d).unwrap();
    let x = rows(30, d);
    for bad in [f64::NAN, f64::INFINITY] {
        let mut shift = Array1::<f64>::zeros(d);
        shift[3] = bad;
        let mut stats = MultivariateGaussianStats::new(shift);
        g.accumulate(x.view(), &[1.0; 30], &mut stats).unwrap();
        assert!(stats.missing.is_some());
    }
    // Finite rows whose weighted sums overflow: an error that says so, not a crash.
    let mut x = rows(4, d);
    for (i, v) in [1e308, -1e308, 1e308, -1e308].into_iter().enumerate() {
        x[[i, 0]] = v;
    }
    assert!(Component::fit_new(Family::MultivariateGaussian, x.view(), &[2.0; 4]).is_err());
}
