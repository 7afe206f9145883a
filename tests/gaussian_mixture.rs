//! The scikit-learn-style Gaussian mixture through the public API: every covariance type fits,
//! predicts consistently and gives the same model on any number of threads.

use mixtura::{
    CovarianceType, Covariances, GaussianEvent, GaussianInit, GaussianMixture,
    GaussianMixtureOptions, Threads,
};
use ndarray::{array, Array2};

/// Three clusters in 4 features from a fixed linear congruential stream.
fn data(n: usize) -> Array2<f64> {
    let mut state = 12345u64;
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    Array2::from_shape_fn((n, 4), |(i, l)| {
        let centre = [0.0, 5.0, -5.0][i % 3];
        centre + (l as f64 + 1.0) * next()
    })
}

#[test]
fn every_covariance_type_fits_and_predicts() {
    let x = data(3000);
    for name in ["full", "tied", "diag", "spherical"] {
        let mut opts = GaussianMixtureOptions::new(3);
        opts.covariance_type = CovarianceType::from_name(name).unwrap();
        opts.init = GaussianInit::KMeansPlusPlus;
        opts.seed = 7;
        let mut events = 0;
        let (model, report) = GaussianMixture::fit_with(x.view(), &opts, |e| {
            if let GaussianEvent::Iteration { .. } = e {
                events += 1;
            }
            Ok(())
        })
        .unwrap();
        assert!(report.converged, "{name}");
        assert_eq!(events as u64, report.n_iter);
        let proba = model.predict_proba(x.view(), Threads::Count(2)).unwrap();
        for row in proba.rows() {
            assert!((row.sum() - 1.0).abs() < 1e-12);
        }
        let labels = model.predict(x.view(), Threads::Count(2)).unwrap();
        for i in 0..30 {
            assert_eq!(labels[i], labels[i + 3], "{name}");
        }
        // The lower bound is the mean log-density under the parameters before the last M-step:
        // after convergence, within tol of the score.
        let score = model.score(x.view(), Threads::Current).unwrap();
        assert!((score - report.lower_bound).abs() < 1e-3, "{name}");
        assert!(
            model.bic(x.view(), Threads::Current).unwrap()
                > model.aic(x.view(), Threads::Current).unwrap()
        );
        let mut one = opts.clone();
        one.threads = Threads::Count(1);
        let mut four = opts.clone();
        four.threads = Threads::Count(4);
        assert_eq!(
            GaussianMixture::fit(x.view(), &one).unwrap(),
            GaussianMixture::fit(x.view(), &four).unwrap()
        );
    }
}

#[test]
fn given_parameters_start_the_fit() {
    let x = data(600);
    let mut opts = GaussianMixtureOptions::new(3);
    opts.covariance_type = CovarianceType::Spherical;
    opts.max_iter = 0;
    opts.weights_init = Some(array![0.2, 0.3, 0.5]);
    opts.means_init = Some(Array2::zeros((3, 4)));
    opts.precisions_init = Some(Covariances::Spherical(array![1.0, 2.0, 4.0]));
    let (model, report) = GaussianMixture::fit(x.view(), &opts).unwrap();
    assert_eq!(report.n_iter, 0);
    assert_eq!(report.lower_bound, f64::NEG_INFINITY);
    let Covariances::Spherical(c) = model.covariances() else {
        panic!("spherical covariances")
    };
    for (a, b) in c.iter().zip([1.0, 0.5, 0.25]) {
        assert!((a - b).abs() < 1e-15);
    }
    assert_eq!(model.weights(), &array![0.2, 0.3, 0.5]);
}
