//! Unit tests of the Gaussian mixture: the M-step against direct formulas, the fit's
//! invariants, thread-count independence.

use ndarray::{array, Array1, Array2, Array3};

use super::*;

/// Two clusters in 3 features, deterministic.
fn data(n: usize) -> Array2<f64> {
    Array2::from_shape_fn((n, 3), |(i, l)| {
        let c = if i % 2 == 0 { 0.0 } else { 4.0 };
        let u = crate::rng::row_uniform(11, i * 3 + l) - 0.5;
        c + u * (1.0 + l as f64) + 0.3 * (crate::rng::row_uniform(12, i) - 0.5)
    })
}

fn opts(k: usize, t: CovarianceType) -> GaussianMixtureOptions {
    let mut o = GaussianMixtureOptions::new(k);
    o.covariance_type = t;
    o
}

const TYPES: [CovarianceType; 4] = [
    CovarianceType::Full,
    CovarianceType::Tied,
    CovarianceType::Diag,
    CovarianceType::Spherical,
];

#[test]
fn names_round_trip() {
    for t in TYPES {
        assert_eq!(CovarianceType::from_name(t.name()).unwrap(), t);
    }
    assert!(CovarianceType::from_name("fullish").is_err());
    assert!(GaussianInit::from_name("kmeans++").is_err());
}

#[test]
fn one_m_step_matches_direct_formulas() {
    // From given parameters, one iteration: the M-step from the kernels' moments must equal
    // the weighted means and covariances computed directly from the responsibilities.
    let x = data(700);
    let (k, d) = (2, 3);
    for t in TYPES {
        let mut o = opts(k, t);
        o.max_iter = 1;
        o.weights_init = Some(array![0.4, 0.6]);
        o.means_init = Some(array![[0.5, 0.0, 0.2], [3.0, 3.5, 4.2]]);
        o.precisions_init = Some(match t {
            CovarianceType::Full => {
                Covariances::Full(Array3::from_shape_fn((k, d, d), |(_, a, b)| {
                    if a == b {
                        1.0
                    } else {
                        0.1
                    }
                }))
            }
            CovarianceType::Tied => Covariances::Tied(Array2::from_shape_fn((d, d), |(a, b)| {
                if a == b {
                    0.8
                } else {
                    -0.1
                }
            })),
            CovarianceType::Diag => Covariances::Diag(array![[1.0, 0.5, 2.0], [0.7, 1.0, 1.5]]),
            CovarianceType::Spherical => Covariances::Spherical(array![1.0, 0.6]),
        });
        let start = GaussianMixture::from_parameters(
            o.weights_init.clone().unwrap(),
            o.means_init.clone().unwrap(),
            o.precisions_init.clone().unwrap(),
        )
        .unwrap();
        let resp = start.predict_proba(x.view(), Threads::Current).unwrap();
        let (fitted, report) = GaussianMixture::fit(x.view(), &o).unwrap();
        assert_eq!(report.n_iter, 1);
        let lb = start.score(x.view(), Threads::Current).unwrap();
        assert!((report.lower_bound - lb).abs() < 1e-12 * lb.abs(), "{t:?}");
        let eps = 10.0 * f64::EPSILON;
        let nk: Array1<f64> = resp.sum_axis(ndarray::Axis(0)) + eps;
        let means = resp.t().dot(&x) / nk.view().insert_axis(ndarray::Axis(1));
        for (a, b) in fitted.means().iter().zip(means.iter()) {
            assert!((a - b).abs() < 1e-12, "{t:?} means {a} {b}");
        }
        let w = &nk / nk.sum();
        for (a, b) in fitted.weights().iter().zip(w.iter()) {
            assert!((a - b).abs() < 1e-14);
        }
        let reg = o.reg_covar;
        let full_cov = |j: usize| {
            let diff = &x - &means.row(j);
            let r = resp.column(j);
            let mut c = Array2::<f64>::zeros((d, d));
            for (i, row) in diff.rows().into_iter().enumerate() {
                for a in 0..d {
                    for b in 0..d {
                        c[[a, b]] += r[i] * row[a] * row[b];
                    }
                }
            }
            c
        };
        let close =
            |a: f64, b: f64| assert!((a - b).abs() < 1e-11 * (1.0 + b.abs()), "{t:?} {a} {b}");
        match fitted.covariances() {
            Covariances::Full(c) => {
                for j in 0..k {
                    let want = full_cov(j) / nk[j] + Array2::<f64>::eye(d) * reg;
                    for (a, b) in c.index_axis(ndarray::Axis(0), j).iter().zip(want.iter()) {
                        close(*a, *b);
                    }
                }
            }
            Covariances::Tied(c) => {
                let want = (full_cov(0) + full_cov(1)) / nk.sum() + Array2::<f64>::eye(d) * reg;
                for (a, b) in c.iter().zip(want.iter()) {
                    close(*a, *b);
                }
            }
            Covariances::Diag(c) => {
                for j in 0..k {
                    let f = full_cov(j);
                    for l in 0..d {
                        close(c[[j, l]], f[[l, l]] / nk[j] + reg);
                    }
                }
            }
            Covariances::Spherical(c) => {
                for j in 0..k {
                    let f = full_cov(j);
                    let v = (0..d).map(|l| f[[l, l]] / nk[j] + reg).sum::<f64>() / d as f64;
                    close(c[j], v);
                }
            }
        }
        // The factors are those of the covariances.
        let back = mstep::covariances_of(t, fitted.precisions_cholesky()).unwrap();
        match (&back, fitted.covariances()) {
            (Covariances::Full(a), Covariances::Full(b)) => {
                a.iter().zip(b).for_each(|(a, b)| close(*a, *b))
            }
            (Covariances::Tied(a), Covariances::Tied(b)) => {
                a.iter().zip(b).for_each(|(a, b)| close(*a, *b))
            }
            (Covariances::Diag(a), Covariances::Diag(b)) => {
                a.iter().zip(b).for_each(|(a, b)| close(*a, *b))
            }
            (Covariances::Spherical(a), Covariances::Spherical(b)) => {
                a.iter().zip(b).for_each(|(a, b)| close(*a, *b))
            }
            _ => panic!("types differ"),
        }
    }
}

#[test]
fn fits_converge_and_do_not_depend_on_threads() {
    let x = data(5000);
    for t in TYPES {
        for init in [
            GaussianInit::KMeans,
            GaussianInit::KMeansPlusPlus,
            GaussianInit::Random,
            GaussianInit::RandomFromData,
        ] {
            let mut o = opts(2, t);
            o.init = init;
            o.seed = 3;
            o.n_init = 2;
            o.threads = Threads::Count(1);
            let (a, ra) = GaussianMixture::fit(x.view(), &o).unwrap();
            o.threads = Threads::Count(3);
            let (b, rb) = GaussianMixture::fit(x.view(), &o).unwrap();
            assert_eq!(a, b, "{t:?} {init:?}");
            assert_eq!(ra, rb);
            assert!(ra.converged, "{t:?} {init:?}");
            assert_eq!(ra.lower_bounds.len() as u64, ra.n_iter);
            // EM never decreases the lower bound.
            for w in ra.lower_bounds.windows(2) {
                assert!(w[1] >= w[0] - 1e-9, "{t:?} {init:?} {w:?}");
            }
            if init == GaussianInit::Random {
                // Random responsibilities start both components near the overall mean, where
                // the lower bound can change by less than tol before they separate.
                continue;
            }
            let mut means: Vec<f64> = a.means().column(0).to_vec();
            means.sort_by(f64::total_cmp);
            assert!(
                (means[0] - 0.0).abs() < 0.2 && (means[1] - 4.0).abs() < 0.2,
                "{t:?} {init:?} {means:?}"
            );
        }
    }
}

#[test]
fn warm_start_continues() {
    let x = data(2000);
    let mut o = opts(2, CovarianceType::Diag);
    o.max_iter = 2;
    o.tol = 0.0;
    let (mut m, r) = GaussianMixture::fit(x.view(), &o).unwrap();
    assert!(!r.converged);
    let r2 = m.fit_more(x.view(), &o, r.lower_bound, |_| Ok(())).unwrap();
    let mut o4 = o.clone();
    o4.max_iter = 4;
    let (m4, r4) = GaussianMixture::fit(x.view(), &o4).unwrap();
    assert_eq!(m, m4);
    assert_eq!(r2.lower_bounds[..], r4.lower_bounds[2..]);
}

#[test]
fn bad_input_is_an_error() {
    let x = data(10);
    let mut o = opts(2, CovarianceType::Full);
    o.tol = -1.0;
    assert!(
        matches!(GaussianMixture::fit(x.view(), &o), Err(Error::InvalidParameter { name, .. }) if name == "tol")
    );
    let o = opts(20, CovarianceType::Full);
    assert!(
        matches!(GaussianMixture::fit(x.view(), &o), Err(Error::InvalidParameter { name, .. }) if name == "n_components")
    );
    let mut o = opts(2, CovarianceType::Diag);
    o.precisions_init = Some(Covariances::Diag(array![[1.0, -1.0, 1.0], [1.0, 1.0, 1.0]]));
    assert!(
        matches!(GaussianMixture::fit(x.view(), &o), Err(Error::InvalidParameter { name, .. }) if name == "precisions_init")
    );
    o.precisions_init = Some(Covariances::Spherical(array![1.0, 1.0]));
    assert!(GaussianMixture::fit(x.view(), &o).is_err());
    let mut o = opts(2, CovarianceType::Full);
    o.weights_init = Some(array![0.5, 0.6]);
    assert!(
        matches!(GaussianMixture::fit(x.view(), &o), Err(Error::InvalidParameter { name, .. }) if name == "weights_init")
    );
    let mut nan = x.clone();
    nan[[3, 1]] = f64::NAN;
    assert!(GaussianMixture::fit(nan.view(), &opts(2, CovarianceType::Full)).is_err());
    // Collapsed data and no regularisation: scikit-learn's error, not a panic.
    let same = Array2::from_elem((10, 2), 1.0);
    let mut o = opts(2, CovarianceType::Full);
    o.reg_covar = 0.0;
    assert!(matches!(
        GaussianMixture::fit(same.view(), &o),
        Err(Error::InvalidData { .. })
    ));
}

#[test]
fn extreme_scales_give_results_or_errors_never_panics() {
    for scale in [1e-300, 1e-150, 1e150, 1e300] {
        let x = data(600).mapv(|v| v * scale);
        for t in TYPES {
            for reg in [0.0, 1e-6] {
                let mut o = opts(2, t);
                o.reg_covar = reg;
                o.max_iter = 5;
                if let Ok((m, r)) = GaussianMixture::fit(x.view(), &o) {
                    assert!(!r.lower_bound.is_nan(), "{scale} {t:?} {reg}");
                    let s = m.score_samples(x.view(), Threads::Current);
                    assert!(s.is_err() || s.unwrap().iter().all(|v| !v.is_nan()));
                }
            }
        }
    }
}

#[test]
fn parameters_of_any_layout_and_empty_models() {
    // A transposed (column-major) array is taken as well as a standard one.
    let means = array![[0.0, 5.0], [1.0, 5.0]].reversed_axes();
    let diag = array![[1.0, 2.0], [0.5, 1.0]].reversed_axes();
    let m =
        GaussianMixture::from_parameters(array![0.5, 0.5], means.clone(), Covariances::Diag(diag))
            .unwrap();
    let x = array![[0.0, 1.0], [5.0, 5.0]];
    assert_eq!(
        m.predict(x.view(), Threads::Current).unwrap().to_vec(),
        vec![0, 1]
    );
    let empty = GaussianMixture::from_parameters(
        Array1::zeros(0),
        Array2::zeros((0, 2)),
        Covariances::Spherical(Array1::zeros(0)),
    );
    assert!(empty.is_err());
    let no_features = GaussianMixture::from_parts(
        array![1.0],
        Array2::zeros((1, 0)),
        Covariances::Spherical(array![1.0]),
        Covariances::Spherical(array![1.0]),
    );
    assert!(no_features.is_err());
}

#[test]
fn sampling_follows_the_parameters() {
    let m = GaussianMixture::from_parameters(
        array![0.25, 0.75],
        array![[0.0, 0.0], [10.0, -10.0]],
        Covariances::Tied(array![[4.0, 1.0], [1.0, 2.0]]),
    )
    .unwrap();
    let (x, y) = m.sample(40_000, 5).unwrap();
    let ones = y.iter().filter(|&&j| j == 1).count() as f64 / 40_000.0;
    assert!((ones - 0.75).abs() < 0.02);
    assert!(y.windows(2).into_iter().all(|w| w[0] <= w[1]));
    let second = x.slice(s![y.iter().position(|&j| j == 1).unwrap().., ..]);
    let mean = second.mean_axis(ndarray::Axis(0)).unwrap();
    assert!((mean[0] - 10.0).abs() < 0.05 && (mean[1] + 10.0).abs() < 0.05);
    // The covariance of the samples is the inverse of the precision.
    if let Covariances::Tied(c) = m.covariances() {
        let p = array![[4.0, 1.0], [1.0, 2.0]];
        let i = p.dot(c);
        assert!((i[[0, 0]] - 1.0).abs() < 1e-12 && i[[0, 1]].abs() < 1e-12);
    }
    assert_eq!(m.n_parameters(), 3 + 4 + 1);
}

#[test]
fn public_types_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<GaussianMixture>();
    check::<GaussianMixtureOptions>();
    check::<GaussianFitReport>();
}
