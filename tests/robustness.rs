//! Degenerate data and malformed input through the public Rust API: finite models or errors,
//! never NaN parameters or a panic.

use mixtura::{
    Component, Components, Family, FitOptions, FromSamplesOptions, GeneralMixtureModel, Init,
    Normal, Threads,
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
    walk(&mixtura::format::mixture_to_value(model))
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
