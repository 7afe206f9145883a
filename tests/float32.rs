//! `f32` rows: read where they are (any layout). Mixtures of diagonal Gaussians in eight
//! features or more, and of full-covariance Gaussians in fewer than 128, compute on them in `f32`
//! lanes: the same bits in every layout and on any number of threads, within `1e-5` of the fit of
//! the same values as `f64`. Every other function converts them a block at a time and gives
//! exactly what it gives for the same values as `f64`.

use mixtura::{
    Component, Components, CovarianceType, Covariances, Family, FitOptions, FromSamplesOptions,
    GaussianInit, GaussianMixture, GaussianMixtureOptions, GeneralMixtureModel, Kmeans,
    KmeansOptions, MultivariateGaussian, Threads,
};
use ndarray::{array, s, Array2, ShapeBuilder};
use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;

/// `n` rows of three clusters in `d` features, rounded to `f32`, with the same values as `f64`.
fn rows(n: usize, d: usize, seed: u64) -> (Array2<f32>, Array2<f64>) {
    let centres: Vec<Component> = (0..3)
        .map(|j| {
            let mean = ndarray::Array1::from_shape_fn(d, |l| (j * 3 + l) as f64 * 1.5 - 2.0);
            let mut cov = Array2::<f64>::eye(d) * (0.5 + j as f64 * 0.4);
            for l in 1..d {
                cov[[l, l - 1]] = 0.1;
                cov[[l - 1, l]] = 0.1;
            }
            Component::MultivariateGaussian(MultivariateGaussian::new(mean, cov).unwrap())
        })
        .collect();
    let truth = GeneralMixtureModel::new(centres, Some(&[0.2, 0.5, 0.3])).unwrap();
    let x = truth
        .sample(n, &mut ChaCha8Rng::seed_from_u64(seed))
        .unwrap()
        .mapv(|v| v as f32);
    let x64 = x.mapv(f64::from);
    (x, x64)
}

fn fortran<T: Copy + Default>(x: &Array2<T>) -> Array2<T> {
    let mut f = Array2::from_elem(x.dim().f(), T::default());
    f.assign(x);
    f
}

fn same_models(a: &GeneralMixtureModel, b: &GeneralMixtureModel) {
    assert_eq!(a.to_json(), b.to_json());
    assert_eq!(a, b);
}

#[test]
fn a_fit_of_f32_rows_is_the_fit_of_their_f64_values_in_any_layout() {
    for (family, d) in [
        // Full covariance in 128 features: no f32 kernels.
        (Family::MultivariateGaussian, 128),
        (Family::Normal, 1),
        (Family::Exponential, 1),
    ] {
        let (x32, x64) = rows(3000, d, 7);
        let (x32, x64) = if family == Family::Exponential {
            (x32.mapv(f32::abs), x64.mapv(f64::abs))
        } else {
            (x32, x64)
        };
        let mut opts = FromSamplesOptions::new(3);
        opts.seed = 2;
        opts.fit.max_iterations = 5;
        let spec = Components::Each(family);
        let (want, report) =
            GeneralMixtureModel::from_samples(&spec, x64.view(), None, &opts).unwrap();
        let f32_fortran = fortran(&x32);
        for (x, threads) in [
            (x32.view(), Threads::Count(1)),
            (x32.view(), Threads::Count(3)),
            (f32_fortran.view(), Threads::Count(2)),
        ] {
            opts.fit.threads = threads;
            let (got, r) = GeneralMixtureModel::from_samples(&spec, x, None, &opts).unwrap();
            same_models(&got, &want);
            assert_eq!(
                r.log_probability.to_bits(),
                report.log_probability.to_bits()
            );
            let (lp32, lp64) = (
                got.log_probability(x, threads).unwrap(),
                want.log_probability(x64.view(), threads).unwrap(),
            );
            assert_eq!(lp32, lp64);
            assert_eq!(
                got.predict_proba(x, threads).unwrap(),
                want.predict_proba(x64.view(), threads).unwrap()
            );
            assert_eq!(
                got.predict(x, threads).unwrap(),
                want.predict(x64.view(), threads).unwrap()
            );
            assert_eq!(
                got.summarize(x, None, threads).unwrap(),
                want.summarize(x64.view(), None, threads).unwrap()
            );
        }
    }
}

#[test]
fn f32_rows_with_missing_values_and_strides_fit_as_their_f64_values() {
    let (mut x32, _) = rows(2000, 4, 3);
    for i in (0..2000).step_by(37) {
        x32[[i, i % 4]] = f32::NAN;
    }
    let x64 = x32.mapv(f64::from);
    // Every other row, backwards: a view with strides that no block can read in place.
    let (v32, v64) = (x32.slice(s![..;-2, ..]), x64.slice(s![..;-2, ..]));
    let start = GeneralMixtureModel::new(
        (0..2)
            .map(|j| {
                Component::MultivariateGaussian(
                    MultivariateGaussian::new(
                        ndarray::Array1::from_elem(4, j as f64 * 3.0),
                        Array2::eye(4),
                    )
                    .unwrap(),
                )
            })
            .collect(),
        None,
    )
    .unwrap();
    let opts = FitOptions::default().max_iterations(4);
    let (mut a, mut b) = (start.clone(), start);
    let ra = a.fit(v32, None, &opts).unwrap();
    let rb = b.fit(v64.to_owned().view(), None, &opts).unwrap();
    same_models(&a, &b);
    assert_eq!(ra.log_probability.to_bits(), rb.log_probability.to_bits());
    // A model fitted on f32 rows predicts f64 rows, and the other way round.
    assert_eq!(
        a.predict_proba(x64.view(), Threads::Current).unwrap(),
        b.predict_proba(x32.view(), Threads::Current).unwrap()
    );
}

#[test]
fn kmeans_of_f32_rows_is_kmeans_of_their_f64_values() {
    let (x32, x64) = rows(5000, 5, 11);
    let f32_fortran = fortran(&x32);
    for init in ["kmeans++", "kmeans||", "random", "first-k"] {
        let mut opts = KmeansOptions::new(4);
        opts.init = mixtura::Init::from_name(init).unwrap();
        opts.seed = 5;
        opts.n_init = 2;
        let want = Kmeans::fit(x64.view(), None, &opts).unwrap();
        for x in [x32.view(), f32_fortran.view()] {
            let got = Kmeans::fit(x, None, &opts).unwrap();
            assert_eq!(got.centroids(), want.centroids());
            assert_eq!(got.inertia.to_bits(), want.inertia.to_bits());
            assert_eq!(
                got.predict(x, Threads::Count(2)).unwrap(),
                want.predict(x64.view(), Threads::Count(2)).unwrap()
            );
            assert_eq!(
                got.distance(x, Threads::Count(2)).unwrap(),
                want.distance(x64.view(), Threads::Count(2)).unwrap()
            );
            assert_eq!(
                Kmeans::initial_centroids(x, None, &opts).unwrap(),
                Kmeans::initial_centroids(x64.view(), None, &opts).unwrap()
            );
        }
    }
}

#[test]
fn f32_rows_are_checked_as_f64_rows() {
    let model = GeneralMixtureModel::new(
        vec![Component::Normal(mixtura::Normal::new(0.0, 1.0).unwrap())],
        None,
    )
    .unwrap();
    let bad = array![[f32::INFINITY]];
    assert_eq!(
        model
            .log_probability(bad.view(), Threads::Current)
            .unwrap_err()
            .to_string(),
        model
            .log_probability(array![[f64::INFINITY]].view(), Threads::Current)
            .unwrap_err()
            .to_string()
    );
    assert!(model
        .log_probability(Array2::<f32>::zeros((0, 1)).view(), Threads::Current)
        .is_err());
}

#[test]
fn a_gaussian_mixture_fit_of_f32_rows_is_the_fit_of_their_f64_values() {
    // Diagonal in three features, full and tied in 128 (the f32 lanes take wider diagonal
    // mixtures and narrower full ones, below).
    let narrow = rows(3000, 3, 5);
    let wide = rows(3000, 128, 5);
    for (t, init, (x32, x64)) in [
        (CovarianceType::Full, GaussianInit::KMeans, &wide),
        (CovarianceType::Diag, GaussianInit::KMeansPlusPlus, &narrow),
        (CovarianceType::Tied, GaussianInit::RandomFromData, &wide),
        (CovarianceType::Spherical, GaussianInit::Random, &narrow),
    ] {
        let f32_fortran = fortran(x32);
        let mut opts = GaussianMixtureOptions::new(3);
        opts.covariance_type = t;
        opts.init = init;
        opts.max_iter = 6;
        opts.seed = 9;
        let (want, wr) = GaussianMixture::fit(x64.view(), &opts).unwrap();
        for (x, threads) in [(x32.view(), 1), (f32_fortran.view(), 2)] {
            opts.threads = Threads::Count(threads);
            let (got, gr) = GaussianMixture::fit(x, &opts).unwrap();
            assert_eq!(got.means(), want.means());
            assert_eq!(got.weights(), want.weights());
            assert_eq!(gr.lower_bound.to_bits(), wr.lower_bound.to_bits());
            assert_eq!(
                got.score_samples(x, opts.threads).unwrap(),
                want.score_samples(x64.view(), opts.threads).unwrap()
            );
            let (mut more32, mut more64) = (got.clone(), want.clone());
            more32
                .fit_more(x, &opts, gr.lower_bound, |_| Ok(()))
                .unwrap();
            more64
                .fit_more(x64.view(), &opts, wr.lower_bound, |_| Ok(()))
                .unwrap();
            assert_eq!(more32.means(), more64.means());
        }
    }
}

/// Every value of `a` within `tol` of `b`'s, relative to itself (`each`) or to the largest of its
/// kind (probabilities, of which the small ones are not estimated to a relative precision).
fn close(
    a: &ndarray::ArrayViewD<f64>,
    b: &ndarray::ArrayViewD<f64>,
    (tol, each): (f64, bool),
    what: &str,
) {
    let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for (x, y) in a.iter().zip(b.iter()) {
        let bound = tol * if each { y.abs() } else { scale };
        assert!((x - y).abs() <= bound, "{what}: {x} against {y}");
    }
}

/// The covariances `a` (`k x d x d`) within `tol` of `b`'s, each against the scale of its two
/// variances, `sqrt(b_pp b_qq)` (the variances, relative to themselves).
fn close_covariances(a: &ndarray::Array3<f64>, b: &ndarray::Array3<f64>, tol: f64) {
    for ((j, p, q), &x) in a.indexed_iter() {
        let scale = (b[[j, p, p]] * b[[j, q, q]]).sqrt();
        let y = b[[j, p, q]];
        assert!((x - y).abs() <= tol * scale, "covariances: {x} against {y}");
    }
}

#[test]
fn a_wide_diagonal_fit_of_f32_rows_is_within_1e5_of_the_f64_fit_and_the_same_bits_everywhere() {
    // Eight features or more: the rows as they are, in f32 lanes.
    for d in [8, 11] {
        wide_fits(d, false);
    }
}

#[test]
fn a_full_covariance_fit_of_f32_rows_is_within_1e5_of_the_f64_fit_and_the_same_bits_everywhere() {
    // The block transposed as f32, in f32 lanes (from two to four features, the small-dimension
    // plans too).
    for d in [2, 4, 5, 9, 16] {
        wide_fits(d, true);
    }
}

/// [`a_wide_diagonal_fit_of_f32_rows_is_within_1e5_of_the_f64_fit_and_the_same_bits_everywhere`]
/// and [`a_full_covariance_fit_of_f32_rows_is_within_1e5_of_the_f64_fit_and_the_same_bits_everywhere`]
/// in `d` features.
fn wide_fits(d: usize, full: bool) {
    let (x32, x64) = rows(4000, d, 13);
    let f32_fortran = fortran(&x32);
    // A mixture of normals per feature (pomegranate's way) or of multivariate Gaussians, and
    // scikit-learn's mixtures of the same covariance types.
    let mut opts = FromSamplesOptions::new(3);
    opts.seed = 4;
    opts.fit.max_iterations = 8;
    opts.fit.stop_threshold = f64::NEG_INFINITY;
    let spec = if full {
        Components::Each(Family::MultivariateGaussian)
    } else {
        Components::PerFeature(vec![Family::Normal; d])
    };
    let (want, wr) = GeneralMixtureModel::from_samples(&spec, x64.view(), None, &opts).unwrap();
    let mut first: Option<GeneralMixtureModel> = None;
    for (x, threads) in [
        (x32.view(), Threads::Count(1)),
        (x32.view(), Threads::Count(3)),
        (f32_fortran.view(), Threads::Count(2)),
    ] {
        opts.fit.threads = threads;
        let (got, gr) = GeneralMixtureModel::from_samples(&spec, x, None, &opts).unwrap();
        match &first {
            Some(f) => same_models(&got, f),
            None => first = Some(got.clone()),
        }
        // The f32 lanes computed it: not the f64 fit's bits, but within 1e-5 of them.
        assert_ne!(got.to_json(), want.to_json());
        assert!((gr.log_probability - wr.log_probability).abs() <= 1e-5 * wr.log_probability.abs());
        close(
            &got.means().unwrap().view().into_dyn(),
            &want.means().unwrap().view().into_dyn(),
            (1e-5, true),
            "means",
        );
        let (gc, wc) = (got.covariances().unwrap(), want.covariances().unwrap());
        if full {
            close_covariances(&gc, &wc, 1e-5);
        } else {
            close(
                &gc.view().into_dyn(),
                &wc.view().into_dyn(),
                (1e-5, true),
                "variances",
            );
        }
        close(
            &got.weights().into_dyn(),
            &want.weights().into_dyn(),
            (1e-5, true),
            "weights",
        );
        // Predictions of f32 rows by the f32 kernels, of f64 rows by the f64 ones.
        let (lp32, lp64) = (
            got.log_probability(x, threads).unwrap(),
            got.log_probability(x64.view(), threads).unwrap(),
        );
        close(
            &lp32.view().into_dyn(),
            &lp64.view().into_dyn(),
            (1e-6, true),
            "log_probability",
        );
        let (p32, p64) = (
            got.predict_proba(x, threads).unwrap(),
            got.predict_proba(x64.view(), threads).unwrap(),
        );
        close(
            &p32.view().into_dyn(),
            &p64.view().into_dyn(),
            (1e-5, false),
            "predict_proba",
        );
    }

    let types = if full {
        [CovarianceType::Full, CovarianceType::Tied]
    } else {
        [CovarianceType::Diag, CovarianceType::Spherical]
    };
    for t in types {
        let mut opts = GaussianMixtureOptions::new(3);
        opts.covariance_type = t;
        opts.max_iter = 8;
        opts.tol = 0.0;
        opts.seed = 9;
        let (want, wr) = GaussianMixture::fit(x64.view(), &opts).unwrap();
        let mut first: Option<(GaussianMixture, f64)> = None;
        for (x, threads) in [(x32.view(), 1), (f32_fortran.view(), 2)] {
            opts.threads = Threads::Count(threads);
            let (got, gr) = GaussianMixture::fit(x, &opts).unwrap();
            match &first {
                Some((f, lb)) => {
                    assert_eq!(got.means(), f.means());
                    assert_eq!(gr.lower_bound.to_bits(), lb.to_bits());
                }
                None => first = Some((got.clone(), gr.lower_bound)),
            }
            assert_ne!(gr.lower_bound.to_bits(), wr.lower_bound.to_bits());
            assert!((gr.lower_bound - wr.lower_bound).abs() <= 1e-5 * wr.lower_bound.abs());
            match (got.covariances(), want.covariances()) {
                (Covariances::Full(a), Covariances::Full(b)) => close_covariances(a, b, 1e-5),
                (Covariances::Tied(a), Covariances::Tied(b)) => close_covariances(
                    &a.clone().insert_axis(ndarray::Axis(0)),
                    &b.clone().insert_axis(ndarray::Axis(0)),
                    1e-5,
                ),
                (Covariances::Diag(a), Covariances::Diag(b)) => close(
                    &a.view().into_dyn(),
                    &b.view().into_dyn(),
                    (1e-5, true),
                    "variances",
                ),
                (Covariances::Spherical(a), Covariances::Spherical(b)) => close(
                    &a.view().into_dyn(),
                    &b.view().into_dyn(),
                    (1e-5, true),
                    "variances",
                ),
                _ => panic!("covariances of another type"),
            }
            close(
                &got.means().view().into_dyn(),
                &want.means().view().into_dyn(),
                (1e-5, true),
                "means",
            );
            close(
                &got.weights().view().into_dyn(),
                &want.weights().view().into_dyn(),
                (1e-5, true),
                "weights",
            );
        }
    }
}
