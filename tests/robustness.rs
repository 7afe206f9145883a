//! Degenerate data and malformed input through the public Rust API: finite models or errors,
//! never NaN parameters or a panic.

use mixtura::{
    Component, Components, Distribution, Exponential, Family, FitOptions, FromSamplesOptions,
    GeneralMixtureModel, Init, MultivariateGaussian, Normal, Statistics, Threads,
};
use ndarray::{array, Array2};

fn finite(model: &GeneralMixtureModel) -> bool {
    fn walk(v: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::Number(n) => n.as_f64().is_some_and(f64::is_finite),
            serde_json::Value::Array(a) => a.iter().all(walk),
            serde_json::Value::Object(o) => o.values().all(walk),
            _ => true,
        }
    }
    walk(&serde_json::to_value(model).unwrap())
}

fn degenerate_sets() -> Vec<(&'static str, Array2<f64>)> {
    let spread = Array2::from_shape_fn((120, 2), |(i, j)| ((i * 37 + j * 11) % 17) as f64 - 8.0);
    vec![
        ("identical rows", Array2::from_elem((40, 2), 3.5)),
        (
            "two distinct rows",
            Array2::from_shape_fn((40, 2), |(i, j)| (i % 2 + j) as f64),
        ),
        (
            "constant column",
            Array2::from_shape_fn((60, 2), |(i, j)| if j == 0 { i as f64 } else { 7.0 }),
        ),
        ("tiny scale", &spread * 1e-12),
        ("huge scale", &spread * 1e12),
        ("far from zero", &spread * 1e-3 + 1e9),
    ]
}

#[test]
fn degenerate_data_give_finite_models() {
    for (name, x) in degenerate_sets() {
        for family in [
            Components::Each(Family::MultivariateGaussian),
            Components::PerFeature(vec![Family::Normal, Family::Normal]),
        ] {
            for init in [
                Init::KMeansPlusPlus,
                Init::KMeansParallel,
                Init::FirstK,
                Init::Random,
            ] {
                let mut opts = FromSamplesOptions::new(3);
                opts.init = init.clone();
                opts.seed = 4;
                let (model, report) =
                    GeneralMixtureModel::from_samples(&family, x.view(), None, &opts)
                        .unwrap_or_else(|e| panic!("{name} {init:?}: {e}"));
                assert!(finite(&model), "{name} {init:?}: {}", model.to_json());
                assert!(!report.log_probability.is_nan(), "{name}");
                let p = model.predict_proba(x.view(), Threads::Current).unwrap();
                assert!(p.iter().all(|v| v.is_finite()), "{name}");
            }
        }
    }
}

#[test]
fn outliers_have_finite_very_negative_log_densities() {
    let model = GeneralMixtureModel::new(
        vec![
            Component::Normal(Normal::new(0.0, 1.0).unwrap()),
            Component::Normal(Normal::new(1.0, 1.0).unwrap()),
        ],
        None,
    )
    .unwrap();
    let x = array![[450.0], [-1e6], [1e100]];
    let lp = model.log_probability(x.view(), Threads::Current).unwrap();
    assert!(lp.iter().all(|v| v.is_finite() && *v < -1e4), "{lp}");
    let post = model.predict_proba(x.view(), Threads::Current).unwrap();
    for row in post.rows() {
        assert!((row.sum() - 1.0).abs() < 1e-12);
    }
}

#[test]
fn bad_input_is_an_error() {
    let mut model = GeneralMixtureModel::new(
        vec![
            Component::Normal(Normal::blank()),
            Component::Normal(Normal::blank()),
        ],
        None,
    )
    .unwrap();
    let opts = FitOptions::default();
    let cases: Vec<Array2<f64>> = vec![
        Array2::zeros((0, 1)),
        Array2::zeros((5, 2)),
        array![[1.0], [f64::INFINITY]],
    ];
    for x in cases {
        assert!(model.fit(x.view(), None, &opts).is_err());
    }
    let x = array![[1.0], [2.0]];
    for w in [
        array![1.0],
        array![-1.0, 1.0],
        array![0.0, 0.0],
        array![f64::NAN, 1.0],
    ] {
        assert!(model.fit(x.view(), Some(w.view()), &opts).is_err());
    }
    for text in [
        "",
        "null",
        "{\"class\": []}",
        &"[".repeat(10_000),
        "{\"class\": \"GeneralMixtureModel\", \"distributions\": [], \"weights\": null}",
    ] {
        assert!(GeneralMixtureModel::from_json(text).is_err());
    }
    let mut opts = FromSamplesOptions::new(3);
    opts.n_init = 0;
    assert!(GeneralMixtureModel::from_samples(
        &Components::Each(Family::Normal),
        x.view(),
        None,
        &opts
    )
    .is_err());
}

#[test]
fn statistics_of_another_shape_are_an_error() {
    let g2 = MultivariateGaussian::blank(2).unwrap();
    let mut g3 = MultivariateGaussian::blank(3).unwrap();
    let x = array![[1.0, 2.0], [3.0, 5.0], [0.5, 1.0]];
    let mut s2 = g2.new_stats();
    g2.accumulate(x.view(), &[1.0, 1.0, 1.0], &mut s2).unwrap();
    assert!(g3.from_summaries(&s2, 0.0).is_err());
    let mut s3 = g3.new_stats();
    assert!(s3.merge(&s2).is_err());
    assert!(g3.accumulate(x.view(), &[1.0; 3], &mut s3).is_err());
    assert!(g2.accumulate(x.view(), &[1.0; 2], &mut s2).is_err());
    // A covariance matrix larger than memory is an error, not an abort.
    assert!(MultivariateGaussian::blank(1 << 31).is_err());
    // Mixture statistics of other mixtures.
    let two = GeneralMixtureModel::new(vec![g2.clone(), g2.clone()], None).unwrap();
    let mut one = GeneralMixtureModel::new(vec![g2.clone()], None).unwrap();
    let stats = two.summarize(x.view(), None, Threads::Count(1)).unwrap();
    assert!(one.from_summaries(&stats, 0.0, 0.0).is_err());
}

#[test]
fn rows_outside_every_support_do_not_stop_em() {
    // Exponential components and some negative values: those rows have density 0, the
    // log-likelihood is -inf, but EM still runs on the other rows and converges properly.
    let x = Array2::from_shape_fn((400, 1), |(i, _)| {
        if i % 50 == 0 {
            -1.0
        } else if i % 2 == 0 {
            0.1 + (i % 7) as f64 * 0.05
        } else {
            3.0 + (i % 11) as f64 * 0.5
        }
    });
    let mut model = GeneralMixtureModel::new(
        vec![
            Component::Exponential(Exponential::new(5.0).unwrap()),
            Component::Exponential(Exponential::new(0.5).unwrap()),
        ],
        None,
    )
    .unwrap();
    let opts = FitOptions::default().stop_threshold(1e-9);
    let report = model.fit(x.view(), None, &opts).unwrap();
    assert!(report.converged);
    assert!(report.n_iterations() > 2, "{}", report.n_iterations());
    assert!(report.epochs.iter().all(|e| e.improvement.is_finite()));
    assert_eq!(report.log_probability, f64::NEG_INFINITY);
    assert!(finite(&model));
    let stats = model.summarize(x.view(), None, Threads::Count(2)).unwrap();
    assert_eq!(stats.unexplained, 8.0);
    assert!(stats.log_likelihood.is_finite());
}
