//! Integration tests of the public Rust API.

use mixtura::{
    Component, Components, Error, Family, FitOptions, FromSamplesOptions, GeneralMixtureModel,
    IndependentComponents, Init, MultivariateGaussian, Normal, Statistics, Threads,
};
use ndarray::{array, s, Array2};
use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;

fn truth() -> GeneralMixtureModel {
    GeneralMixtureModel::new(
        vec![
            Component::MultivariateGaussian(
                MultivariateGaussian::new(array![0.0, 0.0], array![[1.0, 0.3], [0.3, 0.5]])
                    .unwrap(),
            ),
            Component::MultivariateGaussian(
                MultivariateGaussian::new(array![4.0, -2.0], array![[0.6, -0.2], [-0.2, 1.5]])
                    .unwrap(),
            ),
        ],
        Some(&[0.3, 0.7]),
    )
    .unwrap()
}

fn data(n: usize, seed: u64) -> Array2<f64> {
    truth()
        .sample(n, &mut ChaCha8Rng::seed_from_u64(seed))
        .unwrap()
}

#[test]
fn public_types_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<GeneralMixtureModel>();
    check::<Component>();
    check::<mixtura::Kmeans>();
    check::<mixtura::MixtureStats<mixtura::ComponentStats>>();
}

#[test]
fn from_samples_recovers_a_known_mixture() {
    let x = data(20_000, 1);
    let mut opts = FromSamplesOptions::new(2);
    opts.seed = 3;
    opts.fit.stop_threshold = 1e-6;
    let (model, report) = GeneralMixtureModel::from_samples(
        &Components::Each(Family::MultivariateGaussian),
        x.view(),
        None,
        &opts,
    )
    .unwrap();
    assert!(report.converged);
    let mut order: Vec<usize> = (0..2).collect();
    let means = |j: usize| match &model.distributions()[j] {
        Component::MultivariateGaussian(g) => g.means().to_owned(),
        _ => unreachable!(),
    };
    order.sort_by(|a, b| means(*a)[0].total_cmp(&means(*b)[0]));
    let w = model.weights();
    assert!((w[order[0]] - 0.3).abs() < 0.02, "{w}");
    assert!((means(order[1])[0] - 4.0).abs() < 0.05);
    assert!((means(order[1])[1] + 2.0).abs() < 0.05);
    // The report's final log-likelihood is that of the returned parameters.
    let total: f64 = model
        .log_probability(x.view(), Threads::Current)
        .unwrap()
        .sum();
    assert!((total - report.log_probability).abs() < 1e-6 * total.abs());
}

#[test]
fn thread_count_does_not_change_results() {
    let x = data(50_000, 2);
    let fit = |threads| {
        let mut opts = FromSamplesOptions::new(3);
        opts.seed = 5;
        opts.fit.threads = threads;
        opts.fit.max_iterations = 10;
        GeneralMixtureModel::from_samples(
            &Components::PerFeature(vec![Family::Normal, Family::Normal]),
            x.view(),
            None,
            &opts,
        )
        .unwrap()
    };
    let (one, r1) = fit(Threads::Count(1));
    for t in [2, 3, 4] {
        let (other, r) = fit(Threads::Count(t));
        assert_eq!(one, other, "{t} threads");
        assert_eq!(r1.log_probability.to_bits(), r.log_probability.to_bits());
        assert_eq!(
            one.predict_proba(x.view(), Threads::Count(1)).unwrap(),
            other.predict_proba(x.view(), Threads::Count(t)).unwrap()
        );
    }
}

#[test]
fn statistics_merge_like_the_union() {
    let x = data(3_000, 4);
    let model = truth();
    let all = model.summarize(x.view(), None, Threads::Current).unwrap();
    let mut a = model
        .summarize(x.slice(s![..1234, ..]), None, Threads::Current)
        .unwrap();
    let b = model
        .summarize(x.slice(s![1234.., ..]), None, Threads::Current)
        .unwrap();
    a.merge(&b).unwrap();
    assert!((a.log_likelihood - all.log_likelihood).abs() < 1e-9 * all.log_likelihood.abs());
    let mut m1 = model.clone();
    m1.from_summaries(&all, 0.0, 0.0).unwrap();
    let mut m2 = model.clone();
    m2.from_summaries(&a, 0.0, 0.0).unwrap();
    for (p, q) in m1.weights().iter().zip(m2.weights()) {
        assert!((p - q).abs() < 1e-12);
    }
    let v1 = serde_json::to_value(&m1).unwrap();
    let v2 = serde_json::to_value(&m2).unwrap();
    let flat = |v: &serde_json::Value| -> Vec<f64> {
        let mut out = vec![];
        fn walk(v: &serde_json::Value, out: &mut Vec<f64>) {
            match v {
                serde_json::Value::Number(n) => out.push(n.as_f64().unwrap()),
                serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
                serde_json::Value::Object(o) => o.values().for_each(|x| walk(x, out)),
                _ => {}
            }
        }
        walk(v, &mut out);
        out
    };
    for (p, q) in flat(&v1).iter().zip(flat(&v2)) {
        assert!((p - q).abs() <= 1e-10 * p.abs().max(1.0), "{p} vs {q}");
    }
}

#[test]
fn json_round_trip_is_exact() {
    let x = data(2_000, 6);
    let mut opts = FromSamplesOptions::new(2);
    opts.init = Init::FirstK;
    let (model, _) = GeneralMixtureModel::from_samples(
        &Components::Each(Family::MultivariateGaussian),
        x.view(),
        None,
        &opts,
    )
    .unwrap();
    let text = model.to_json();
    let back = GeneralMixtureModel::from_json(&text).unwrap();
    assert_eq!(back, model);
    assert_eq!(back.to_json(), text);
    let icd = Component::IndependentComponents(
        IndependentComponents::new(
            vec![
                Component::Normal(Normal::new(0.1, 2.0 / 3.0).unwrap()),
                Component::Normal(Normal::new(-1e-7, 1e20).unwrap()),
            ],
            Some(vec![1.0, 0.5]),
        )
        .unwrap(),
    );
    assert_eq!(Component::from_json(&icd.to_json()).unwrap(), icd);
}

#[test]
fn max_iterations_zero_leaves_the_model() {
    let x = data(500, 7);
    let mut model = truth();
    let report = model
        .fit(x.view(), None, &FitOptions::default().max_iterations(0))
        .unwrap();
    assert_eq!(model, truth());
    assert_eq!(report.n_iterations(), 0);
}

#[test]
fn max_iterations_counts_m_steps_and_history_matches() {
    let x = data(1_000, 8);
    let mut model = truth();
    let report = model
        .fit(
            x.view(),
            None,
            &FitOptions::default()
                .max_iterations(3)
                .stop_threshold(f64::NEG_INFINITY),
        )
        .unwrap();
    assert_eq!(report.n_iterations(), 3);
    let epochs: Vec<u64> = report.epochs.iter().map(|e| e.epoch).collect();
    assert_eq!(epochs, vec![1, 2, 3]);
    let total = model
        .log_probability(x.view(), Threads::Current)
        .unwrap()
        .sum();
    assert!((total - report.epochs[2].log_probability).abs() < 1e-9 * total.abs());
    // Step by step by hand: three M-steps from the same start.
    let mut by_hand = truth();
    for _ in 0..3 {
        let st = by_hand.summarize(x.view(), None, Threads::Current).unwrap();
        by_hand.from_summaries(&st, 0.0, 0.0).unwrap();
    }
    assert_eq!(by_hand, model);
}

#[test]
fn an_epoch_callback_error_stops_and_keeps_the_last_parameters() {
    let x = data(1_000, 9);
    let mut model = truth();
    let mut seen = Vec::new();
    let result = model.fit_with(x.view(), None, &FitOptions::default(), |log, m| {
        seen.push(m.clone());
        if log.epoch == 2 {
            Err(Error::interrupted("stop"))
        } else {
            Ok(())
        }
    });
    let err = result.unwrap_err();
    assert!(matches!(&err, Error::Interrupted { message, .. } if message == "stop"));
    assert_eq!(seen.len(), 2);
    assert_eq!(&model, seen.last().unwrap());
    // The report of the two epochs, the last one describing the model as it is left.
    let report = err.partial_report().unwrap();
    assert_eq!(report.n_iterations(), 2);
    assert!(!report.converged);
    let log = &report.epochs[1];
    assert_eq!(log.epoch, 2);
    assert_eq!(report.log_probability, log.log_probability);
    let here = model
        .log_probability(x.view(), Threads::Current)
        .unwrap()
        .sum();
    assert!((here - report.log_probability).abs() < 1e-9 * here.abs());
    // Any other error from the callback is returned as it is.
    let mut again = truth();
    let other = again
        .fit_with(x.view(), None, &FitOptions::default(), |_, _| {
            Err(Error::param("mine", "no"))
        })
        .unwrap_err();
    assert_eq!(other, Error::param("mine", "no"));
    assert!(other.partial_report().is_none());
}

#[test]
fn options_compare_their_values_and_clones_share_the_flag() {
    assert_eq!(FitOptions::default(), FitOptions::default());
    assert_eq!(
        mixtura::GaussianMixtureOptions::new(3),
        mixtura::GaussianMixtureOptions::new(3)
    );
    let a = FitOptions::default();
    let mut b = a.clone();
    assert_eq!(a, b);
    a.cancel.cancel();
    assert!(b.cancel.is_cancelled());
    b.cancel = mixtura::Cancel::new();
    assert!(!b.cancel.is_cancelled());
    assert_eq!(a, b);
    assert_ne!(a.cancel, b.cancel);
    a.cancel.reset();
    assert!(!a.cancel.is_cancelled());
    b.max_iterations = 3;
    assert_ne!(a, b);
}

#[test]
fn invalid_options_fail_before_any_work() {
    let x = data(100, 10);
    let mut model = truth();
    let bad = FitOptions::default().inertia(2.0);
    assert!(matches!(
        model.fit(x.view(), None, &bad),
        Err(Error::InvalidParameter { ref name, .. }) if name == "inertia"
    ));
    let mut opts = FromSamplesOptions::new(200);
    opts.seed = 1;
    assert!(GeneralMixtureModel::from_samples(
        &Components::Each(Family::MultivariateGaussian),
        x.view(),
        None,
        &opts
    )
    .is_err());
}

#[test]
fn a_cancel_flag_stops_a_fit_from_another_thread() {
    let x = data(200_000, 11);
    let mut model = truth();
    let opts = FitOptions::default()
        .stop_threshold(f64::NEG_INFINITY)
        .max_iterations(u64::MAX)
        .cancel(mixtura::Cancel::new());
    let flag = opts.cancel.clone();
    let mut reported = Vec::new();
    let result = std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(std::time::Duration::from_millis(300));
            flag.cancel();
        });
        model.fit_with(x.view(), None, &opts, |_, m| {
            reported.push(m.clone());
            Ok(())
        })
    });
    let err = result.unwrap_err();
    assert!(matches!(err, Error::Interrupted { .. }));
    assert_eq!(&model, reported.last().unwrap_or(&truth()));
    // Stopped after the first E-step, the error reports the epochs the callback saw.
    if let Some(report) = err.partial_report() {
        assert_eq!(report.n_iterations(), reported.len());
    }
}

#[test]
fn the_crate_leaves_serde_json_maps_sorted() {
    // mixtura keeps pomegranate's key order itself: it does not turn on serde_json's
    // `preserve_order`, which would change the maps of the programs that depend on it.
    let v = serde_json::json!({"b": 1, "a": 2});
    assert_eq!(v.to_string(), r#"{"a":2,"b":1}"#);
    let model = truth();
    let text = serde_json::to_string(&model).unwrap();
    assert!(text.starts_with(r#"{"class":"GeneralMixtureModel","distributions":[{"class":"Distribution","name":"MultivariateGaussianDistribution","parameters""#), "{text}");
}

#[test]
fn typed_getters_give_the_gaussian_parameters() {
    let model = truth();
    assert_eq!(model.weights(), array![0.3, 0.7]);
    assert_eq!(model.means().unwrap(), array![[0.0, 0.0], [4.0, -2.0]]);
    assert_eq!(
        model.covariances().unwrap(),
        array![[[1.0, 0.3], [0.3, 0.5]], [[0.6, -0.2], [-0.2, 1.5]]]
    );
    let diag = |m: f64, s: f64| {
        Component::IndependentComponents(
            IndependentComponents::new(
                vec![
                    Component::Normal(Normal::new(m, s).unwrap()),
                    Component::Normal(Normal::new(-m, 2.0 * s).unwrap()),
                ],
                None,
            )
            .unwrap(),
        )
    };
    let model = GeneralMixtureModel::new(vec![diag(1.0, 0.5), diag(3.0, 1.0)], None).unwrap();
    assert_eq!(model.means().unwrap(), array![[1.0, -1.0], [3.0, -3.0]]);
    assert_eq!(
        model.covariances().unwrap(),
        array![[[0.25, 0.0], [0.0, 1.0]], [[1.0, 0.0], [0.0, 4.0]]]
    );
    let normals = GeneralMixtureModel::new(
        vec![
            Component::Normal(Normal::new(1.0, 3.0).unwrap()),
            Component::Normal(Normal::new(2.0, 0.5).unwrap()),
        ],
        None,
    )
    .unwrap();
    assert_eq!(normals.means().unwrap(), array![[1.0], [2.0]]);
    assert_eq!(normals.covariances().unwrap(), array![[[9.0]], [[0.25]]]);
    // A component that is not a Gaussian is named.
    let mixed = GeneralMixtureModel::new(
        vec![
            Component::Normal(Normal::new(1.0, 3.0).unwrap()),
            Component::Exponential(mixtura::Exponential::new(2.0).unwrap()),
        ],
        None,
    )
    .unwrap();
    for err in [mixed.means().unwrap_err(), mixed.covariances().unwrap_err()] {
        assert!(
            err.to_string()
                .contains("distribution 1 (ExponentialDistribution) is not a Gaussian"),
            "{err}"
        );
    }
    let weighted = Component::IndependentComponents(
        IndependentComponents::new(
            vec![
                Component::Normal(Normal::new(0.0, 1.0).unwrap()),
                Component::Normal(Normal::new(0.0, 1.0).unwrap()),
            ],
            Some(vec![1.0, 2.0]),
        )
        .unwrap(),
    );
    let model = GeneralMixtureModel::new(vec![weighted], None).unwrap();
    assert!(model.means().is_err());
}

/// Rows read from text, one batch of at most `batch` lines at a time, as a program reading a
/// file would (with `?` on its I/O errors).
struct Lines<R> {
    open: Box<dyn FnMut() -> std::io::Result<R>>,
    batch: usize,
}

impl<R: std::io::BufRead> mixtura::BatchSource for Lines<R> {
    fn next_epoch(
        &mut self,
        f: &mut dyn FnMut(
            mixtura::ndarray::ArrayView2<f64>,
            Option<mixtura::ndarray::ArrayView1<f64>>,
        ) -> mixtura::Result<()>,
    ) -> mixtura::Result<()> {
        let mut rows: Vec<f64> = Vec::new();
        for line in (self.open)()?.lines() {
            let line = line?;
            let v: f64 = line
                .trim()
                .parse()
                .map_err(|_| Error::data("data", format!("not a number: {line}")))?;
            rows.push(v);
            if rows.len() == self.batch {
                f(
                    mixtura::ndarray::ArrayView2::from_shape((rows.len(), 1), &rows).unwrap(),
                    None,
                )?;
                rows.clear();
            }
        }
        f(
            mixtura::ndarray::ArrayView2::from_shape((rows.len(), 1), &rows).unwrap(),
            None,
        )
    }
}

/// A reader that fails after its first bytes.
struct Broken(usize);

impl std::io::Read for Broken {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.0 == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "disk gone",
            ));
        }
        self.0 -= 1;
        buf[..2].copy_from_slice(b"1\n");
        Ok(2)
    }
}

#[test]
fn a_batch_source_reads_with_io_errors_as_crate_errors() {
    let text: String = (0..300)
        .map(|i| {
            format!(
                "{}\n",
                if i % 2 == 0 {
                    0.1 * (i % 7) as f64
                } else {
                    5.0 + 0.1 * (i % 5) as f64
                }
            )
        })
        .collect();
    let mut model = GeneralMixtureModel::new(
        vec![
            Component::Normal(Normal::new(0.0, 1.0).unwrap()),
            Component::Normal(Normal::new(4.0, 1.0).unwrap()),
        ],
        None,
    )
    .unwrap();
    let mut source = Lines {
        open: Box::new(move || Ok(std::io::Cursor::new(text.clone().into_bytes()))),
        batch: 64,
    };
    let report = model
        .fit_source(&mut source, &FitOptions::default(), |_, _| Ok(()))
        .unwrap();
    assert!(report.converged);
    let means = model.means().unwrap();
    assert!(
        (means[[0, 0]] - 0.3).abs() < 0.1 && (means[[1, 0]] - 5.2).abs() < 0.1,
        "{means}"
    );
    let before = model.clone();
    let mut broken = Lines {
        open: Box::new(|| Ok(std::io::BufReader::new(Broken(3)))),
        batch: 64,
    };
    let err = model
        .fit_source(&mut broken, &FitOptions::default(), |_, _| Ok(()))
        .unwrap_err();
    assert_eq!(
        err,
        Error::Io {
            kind: std::io::ErrorKind::TimedOut,
            message: "disk gone".into()
        }
    );
    assert_eq!(err.to_string(), "input/output error: disk gone");
    assert_eq!(model, before);
    let mut missing = Lines::<std::io::BufReader<std::fs::File>> {
        open: Box::new(|| {
            Ok(std::io::BufReader::new(std::fs::File::open(
                "a file that does not exist",
            )?))
        }),
        batch: 64,
    };
    let err = model
        .fit_source(&mut missing, &FitOptions::default(), |_, _| Ok(()))
        .unwrap_err();
    assert!(matches!(
        err,
        Error::Io {
            kind: std::io::ErrorKind::NotFound,
            ..
        }
    ));
}

#[test]
fn errors_name_the_rust_arguments() {
    let x = data(50, 12);
    let mut model = truth();
    let err = model
        .fit_semisupervised(x.view(), None, &[0, 1], &FitOptions::default(), |_, _| {
            Ok(())
        })
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidData { name, .. } if name == "labels"),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("one label per row of the data (50)"),
        "{err}"
    );
    let opts = FitOptions::default().threads(Threads::Count(0));
    let err = model.fit(x.view(), None, &opts).unwrap_err();
    assert_eq!(err.to_string(), "invalid threads: must be at least 1");
    let err = model
        .fit(
            array![[f64::INFINITY, 1.0]].view(),
            None,
            &FitOptions::default(),
        )
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidData { name, .. } if name == "data"),
        "{err}"
    );
}
