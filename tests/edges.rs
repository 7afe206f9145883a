//! Numbers at the edges through the public Rust API: finite input never gives NaN (rows so far
//! out that every density underflows, standard deviations so small that `1 / (2 sigma^2)`
//! overflows), and data that a fit cannot use are an error that says why.

use mixtura::{
    Bernoulli, Component, Components, Error, Exponential, Family, FitOptions, FromSamplesOptions,
    Gamma, GeneralMixtureModel, InMemoryBatches, IndependentComponents, Init, Kmeans,
    KmeansOptions, LogNormal, MultivariateGaussian, Normal, Poisson, Threads,
};
use ndarray::{array, Array1, Array2};

fn normals(params: &[(f64, f64)]) -> GeneralMixtureModel {
    let comps = params
        .iter()
        .map(|&(m, s)| Component::Normal(Normal::new(m, s).unwrap()))
        .collect();
    GeneralMixtureModel::new(comps, None).unwrap()
}

fn full_gaussians() -> GeneralMixtureModel<MultivariateGaussian> {
    let g = |m: f64| MultivariateGaussian::new(array![m, m], Array2::eye(2)).unwrap();
    GeneralMixtureModel::new(vec![g(0.0), g(1.0)], None).unwrap()
}

/// Whether `e` is an `InvalidData` error for `data` whose message holds `text`.
fn data_error<T: std::fmt::Debug>(r: mixtura::Result<T>, text: &str) -> bool {
    match r {
        Err(Error::InvalidData { name, message }) => name == "data" && message.contains(text),
        other => panic!("expected an error about data ({text}), got {other:?}"),
    }
}

#[test]
fn rows_whose_densities_all_underflow_have_log_probability_minus_inf() {
    let model = normals(&[(0.0, 1.0), (1.0, 1.0)]);
    let prior = [0.5, 0.5];
    // Alone, in a block with ordinary rows, and in blocks of every size the kernels take.
    for n in [1, 3, 9, 300] {
        let mut x = Array2::from_shape_fn((n, 1), |(i, _)| (i % 7) as f64 * 0.3 - 1.0);
        x[[n / 2, 0]] = 1e200;
        for threads in [Threads::Count(1), Threads::Count(2)] {
            let lp = model.log_probability(x.view(), threads).unwrap();
            let post = model.predict_proba(x.view(), threads).unwrap();
            for i in 0..n {
                if i == n / 2 {
                    assert_eq!(lp[i], f64::NEG_INFINITY, "{n}");
                    assert_eq!(post.row(i).to_vec(), prior, "{n}");
                } else {
                    assert!(lp[i].is_finite(), "{n} {i}");
                }
            }
        }
    }
    // Each component alone says the same.
    for (m, s) in [(0.0, 1.0), (1.0, 1.0)] {
        let lp = normals(&[(m, s)])
            .log_probability(array![[1e200]].view(), Threads::Current)
            .unwrap();
        assert_eq!(lp[0], f64::NEG_INFINITY);
    }
    let full = full_gaussians();
    let x = array![[1e155, 0.0], [0.0, 0.0], [-3e200, 1.0]];
    let lp = full.log_probability(x.view(), Threads::Current).unwrap();
    assert_eq!(lp[0], f64::NEG_INFINITY);
    assert!(lp[1].is_finite());
    assert_eq!(lp[2], f64::NEG_INFINITY);
    let post = full.predict_proba(x.view(), Threads::Current).unwrap();
    assert_eq!(post.row(0).to_vec(), prior);
    let logpost = full.predict_log_proba(x.view(), Threads::Current).unwrap();
    assert_eq!(logpost.row(2).to_vec(), prior.map(f64::ln));
}

#[test]
fn rows_whose_densities_all_underflow_take_no_part_in_a_fit() {
    // Such a row counts as a row of weight 0 in the statistics; the log-likelihood is -inf.
    let x = Array2::from_shape_fn((500, 1), |(i, _)| {
        if i % 2 == 0 {
            (i % 13) as f64 * 0.1
        } else {
            5.0 + (i % 11) as f64 * 0.2
        }
    });
    let (mut far, mut w) = (x.clone(), Array1::<f64>::ones(500));
    far[[77, 0]] = 1e200;
    let mut zero_weight = x.clone();
    zero_weight[[77, 0]] = 2.0;
    w[77] = 0.0;
    let opts = FitOptions::default();
    let mut a = normals(&[(0.0, 1.0), (4.0, 1.0)]);
    let ra = a.fit(far.view(), None, &opts).unwrap();
    let mut b = normals(&[(0.0, 1.0), (4.0, 1.0)]);
    let rb = b.fit(zero_weight.view(), Some(w.view()), &opts).unwrap();
    assert_eq!(a.to_json(), b.to_json());
    assert_eq!(ra.n_iterations(), rb.n_iterations());
    assert_eq!(ra.log_probability, f64::NEG_INFINITY);
    assert!(rb.log_probability.is_finite());
    let stats = a.summarize(far.view(), None, Threads::Count(2)).unwrap();
    assert_eq!(stats.unexplained, 1.0);
    assert!(stats.log_likelihood.is_finite());
    // Full covariance (the small-dimension E-step and the general one).
    for d in [2, 6] {
        let x = Array2::from_shape_fn((400, d), |(i, c)| ((i * 7 + c * 3) % 11) as f64 * 0.3);
        let mut far = x.clone();
        far[[5, 0]] = 1e155;
        let g = |m: f64| MultivariateGaussian::new(Array1::from_elem(d, m), Array2::eye(d));
        let mut model =
            GeneralMixtureModel::new(vec![g(0.5).unwrap(), g(2.0).unwrap()], None).unwrap();
        let report = model.fit(far.view(), None, &opts).unwrap();
        assert_eq!(report.log_probability, f64::NEG_INFINITY);
        let stats = model
            .summarize(far.view(), None, Threads::Count(1))
            .unwrap();
        assert_eq!(stats.unexplained, 1.0, "{d}");
        assert!(stats.log_likelihood.is_finite(), "{d}");
    }
}

#[test]
fn a_tiny_standard_deviation_gives_no_nan() {
    let lp = |model: &GeneralMixtureModel, v: f64| {
        model
            .log_probability(array![[v]].view(), Threads::Current)
            .unwrap()[0]
    };
    let norm = |s: f64| -s.ln() - 0.5 * (2.0 * std::f64::consts::PI).ln();
    let tiny = normals(&[(0.0, 1e-155)]);
    assert!((lp(&tiny, 0.0) - norm(1e-155)).abs() < 1e-12);
    assert!((lp(&tiny, 1e-155) - (norm(1e-155) - 0.5)).abs() < 1e-12);
    assert_eq!(lp(&tiny, 1.0), f64::NEG_INFINITY);
    let ln = GeneralMixtureModel::new(
        vec![Component::LogNormal(LogNormal::new(0.0, 1e-160).unwrap())],
        None,
    )
    .unwrap();
    assert!((lp(&ln, 1.0) - norm(1e-160)).abs() < 1e-12);
    // In a mixture the tiny component takes the rows at its mean.
    let mix = normals(&[(0.0, 1e-160), (1.0, 1.0)]);
    let post = mix
        .predict_proba(array![[0.0], [1e-160], [1.0]].view(), Threads::Current)
        .unwrap();
    for (i, top) in [(0, 0), (1, 0), (2, 1)] {
        assert_eq!(post[[i, top]], 1.0, "{post}");
        assert!(post[[i, 1 - top]] < 1e-150, "{post}");
    }
    let labels = mix
        .predict(array![[0.0], [1.0]].view(), Threads::Current)
        .unwrap();
    assert_eq!(labels.to_vec(), [0, 1]);
    // Independent components of normals.
    let ic = |m: f64, s: f64| {
        Component::IndependentComponents(
            IndependentComponents::new(
                vec![
                    Component::Normal(Normal::new(m, s).unwrap()),
                    Component::Normal(Normal::new(m, 1.0).unwrap()),
                ],
                None,
            )
            .unwrap(),
        )
    };
    let mix = GeneralMixtureModel::new(vec![ic(0.0, 1e-160), ic(1.0, 1.0)], None).unwrap();
    let x = array![[0.0, 0.0], [1.0, 1.0]];
    let post = mix.predict_proba(x.view(), Threads::Current).unwrap();
    assert!(post[[0, 0]] == 1.0 && post[[0, 1]] < 1e-150, "{post}");
    let lp = mix.log_probability(x.view(), Threads::Current).unwrap();
    assert!(lp[0] > 300.0 && lp[0].is_finite(), "{lp}");
    // A fit on data 1e-160 apart, and a fit from such a component: no NaN anywhere.
    let x = Array2::from_shape_fn((100, 1), |(i, _)| (i % 2) as f64 * 1e-160);
    let (model, report) = GeneralMixtureModel::from_samples(
        &Components::Each(Family::Normal),
        x.view(),
        None,
        &FromSamplesOptions::new(2),
    )
    .unwrap();
    assert!(!report.log_probability.is_nan());
    let mut mix = normals(&[(0.0, 1e-160), (1.0, 1.0)]);
    let report = mix.fit(x.view(), None, &FitOptions::default()).unwrap();
    assert!(!report.log_probability.is_nan());
    for m in [&model, &mix] {
        let lp = m.log_probability(x.view(), Threads::Current).unwrap();
        let post = m.predict_proba(x.view(), Threads::Current).unwrap();
        assert!(lp.iter().chain(post.iter()).all(|v| !v.is_nan()));
    }
}

#[test]
fn data_a_fit_cannot_use_are_an_error() {
    let opts = FitOptions::default();
    // No observed value.
    let nan = Array2::from_elem((6, 1), f64::NAN);
    let mut model = normals(&[(0.0, 1.0), (1.0, 1.0)]);
    assert!(data_error(
        model.fit(nan.view(), None, &opts),
        "has no observed value"
    ));
    for init in [Init::KMeansPlusPlus, Init::FirstK, Init::Random] {
        let mut o = FromSamplesOptions::new(2);
        o.init = init;
        let family = Components::Each(Family::Normal);
        let r = GeneralMixtureModel::from_samples(&family, nan.view(), None, &o);
        assert!(data_error(r, "has no observed value"));
    }
    let nan2 = Array2::from_elem((6, 2), f64::NAN);
    let r = GeneralMixtureModel::from_samples(
        &Components::Each(Family::MultivariateGaussian),
        nan2.view(),
        None,
        &FromSamplesOptions::new(2),
    );
    assert!(data_error(r, "has no observed value"));
    let mut source = InMemoryBatches {
        batches: vec![(nan.clone(), None), (nan.clone(), None)],
    };
    let r = model.fit_source(&mut source, &opts, |_, _| Ok(()));
    assert!(data_error(r, "has no observed value"));
    // One batch with a value is enough.
    let mut source = InMemoryBatches {
        batches: vec![(nan.clone(), None), (array![[0.5], [1.5]], None)],
    };
    assert!(model.fit_source(&mut source, &opts, |_, _| Ok(())).is_ok());

    // No row that a component can produce.
    let negative = Array2::from_shape_fn((8, 1), |(i, _)| -1.0 - i as f64);
    let two = |c: fn(f64) -> Component, a: f64, b: f64| {
        GeneralMixtureModel::new(vec![c(a), c(b)], None).unwrap()
    };
    let cases: Vec<(GeneralMixtureModel, Array2<f64>, Family)> = vec![
        (
            two(
                |r| Component::Exponential(Exponential::new(r).unwrap()),
                1.0,
                2.0,
            ),
            negative.clone(),
            Family::Exponential,
        ),
        (
            two(|l| Component::Poisson(Poisson::new(l).unwrap()), 1.0, 3.0),
            negative.clone(),
            Family::Poisson,
        ),
        (
            two(|a| Component::Gamma(Gamma::new(a, 1.0).unwrap()), 1.0, 3.0),
            negative.clone(),
            Family::Gamma,
        ),
        (
            two(
                |m| Component::LogNormal(LogNormal::new(m, 1.0).unwrap()),
                0.0,
                1.0,
            ),
            negative.clone(),
            Family::LogNormal,
        ),
        (
            two(
                |p| Component::Bernoulli(Bernoulli::new(p).unwrap()),
                0.2,
                0.7,
            ),
            Array2::from_elem((8, 1), 0.5),
            Family::Bernoulli,
        ),
    ];
    let producible = "no component can produce any row of the data";
    for (mut model, x, family) in cases {
        let before = model.to_json();
        assert!(data_error(model.fit(x.view(), None, &opts), producible));
        assert_eq!(
            model.to_json(),
            before,
            "{family:?}: the model is left as it was"
        );
        let mut source = InMemoryBatches {
            batches: vec![(x.clone(), None)],
        };
        let r = model.fit_source(&mut source, &opts, |_, _| Ok(()));
        assert!(data_error(r, producible));
        let r = GeneralMixtureModel::from_samples(
            &Components::Each(family),
            x.view(),
            None,
            &FromSamplesOptions::new(2),
        );
        assert!(data_error(r, producible), "{family:?}");
        // Rows that only some components cannot produce keep the documented behaviour.
        let mut mixed = x.clone();
        mixed[[0, 0]] = 1.0;
        let report = model.fit(mixed.view(), None, &opts).unwrap();
        assert_eq!(report.log_probability, f64::NEG_INFINITY, "{family:?}");
    }
}

#[test]
fn given_centroids_must_be_finite() {
    let x = array![[0.0], [1.0], [5.0]];
    for c in [array![[f64::NAN], [f64::NAN]], array![[0.0], [f64::NAN]]] {
        let mut opts = KmeansOptions::new(2);
        opts.init = Init::Centroids(c.clone());
        assert!(opts.check().is_err());
        assert!(Kmeans::fit(x.view(), None, &opts).is_err());
        let mut fs = FromSamplesOptions::new(2);
        fs.init = Init::Centroids(c);
        let r = GeneralMixtureModel::from_samples(
            &Components::Each(Family::Normal),
            x.view(),
            None,
            &fs,
        );
        assert!(r.is_err());
    }
}

#[test]
fn a_discrete_family_without_symbols_is_named() {
    let x = array![[0.0], [1.0], [0.0]];
    let o = FromSamplesOptions::new(2);
    for spec in [
        Components::Each(Family::Discrete(0)),
        Components::PerFeature(vec![Family::Discrete(0)]),
    ] {
        let e = GeneralMixtureModel::from_samples(&spec, x.view(), None, &o).unwrap_err();
        assert!(e.to_string().contains("at least one symbol"), "{e}");
    }
}

#[test]
fn an_empty_batch_from_a_source_is_skipped() {
    let x = array![[0.0], [0.1], [4.0], [4.2], [-0.2], [3.9]];
    let mut with_empty = InMemoryBatches {
        batches: vec![
            (x.clone(), None),
            (Array2::zeros((0, 1)), None),
            (Array2::zeros((0, 1)), Some(Array1::zeros(0))),
        ],
    };
    let mut plain = InMemoryBatches {
        batches: vec![(x.clone(), None)],
    };
    let mut a = normals(&[(0.0, 1.0), (4.0, 1.0)]);
    let mut b = normals(&[(0.0, 1.0), (4.0, 1.0)]);
    let o = FitOptions::default();
    let ra = a.fit_source(&mut with_empty, &o, |_, _| Ok(())).unwrap();
    let rb = b.fit_source(&mut plain, &o, |_, _| Ok(())).unwrap();
    assert_eq!(ra.log_probability, rb.log_probability);
    assert_eq!(a.to_json(), b.to_json());
    // Only empty batches: no rows in the epoch, an error.
    let mut empty = InMemoryBatches {
        batches: vec![(Array2::zeros((0, 1)), None)],
    };
    assert!(a.fit_source(&mut empty, &o, |_, _| Ok(())).is_err());
    // An empty batch of the wrong width is still an error.
    let mut wrong = InMemoryBatches {
        batches: vec![(x.clone(), None), (Array2::zeros((0, 3)), None)],
    };
    assert!(a.fit_source(&mut wrong, &o, |_, _| Ok(())).is_err());
}
