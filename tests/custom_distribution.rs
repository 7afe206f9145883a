//! A distribution defined outside the crate works as a mixture component.

use mixtura::{Distribution, FitOptions, GeneralMixtureModel, Result, Statistics, Threads};
use ndarray::{Array2, ArrayView2};
use rand_core::RngCore;

/// An exponential distribution with a rate, written as a user of the crate would.
#[derive(Debug, Clone, PartialEq)]
struct Exponential {
    rate: f64,
}

#[derive(Debug, Clone, PartialEq)]
struct ExponentialStats {
    weight: f64,
    sum: f64,
}

impl Statistics for ExponentialStats {
    fn merge(&mut self, other: &Self) -> Result<()> {
        self.weight += other.weight;
        self.sum += other.sum;
        Ok(())
    }
}

impl Distribution for Exponential {
    type Stats = ExponentialStats;

    fn dim(&self) -> usize {
        1
    }

    fn log_probability_into(&self, x: ArrayView2<f64>, out: &mut [f64]) -> Result<()> {
        for (o, v) in out.iter_mut().zip(x.column(0)) {
            *o = if *v < 0.0 {
                f64::NEG_INFINITY
            } else {
                self.rate.ln() - self.rate * v
            };
        }
        Ok(())
    }

    fn new_stats(&self) -> ExponentialStats {
        ExponentialStats {
            weight: 0.0,
            sum: 0.0,
        }
    }

    fn accumulate(
        &self,
        x: ArrayView2<f64>,
        weights: &[f64],
        stats: &mut ExponentialStats,
    ) -> Result<()> {
        for (v, w) in x.column(0).iter().zip(weights) {
            stats.weight += w;
            stats.sum += w * v;
        }
        Ok(())
    }

    fn from_summaries(&mut self, stats: &ExponentialStats, inertia: f64) -> Result<()> {
        if stats.weight > 0.0 {
            let rate = stats.weight / stats.sum;
            self.rate = inertia * self.rate + (1.0 - inertia) * rate;
        }
        Ok(())
    }

    fn is_frozen(&self) -> bool {
        false
    }

    fn n_parameters(&self) -> Option<usize> {
        Some(1)
    }

    fn sample_into(&self, rng: &mut dyn RngCore, out: &mut [f64]) {
        let u = ((rng.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
        out[0] = -u.ln() / self.rate;
    }
}

#[test]
fn a_user_distribution_fits_in_a_mixture() {
    use rand_core::SeedableRng;
    let truth = GeneralMixtureModel::new(
        vec![Exponential { rate: 0.5 }, Exponential { rate: 20.0 }],
        Some(&[0.5, 0.5]),
    )
    .unwrap();
    let x: Array2<f64> = truth
        .sample(40_000, &mut rand_chacha::ChaCha8Rng::seed_from_u64(1))
        .unwrap();
    let mut model = GeneralMixtureModel::new(
        vec![Exponential { rate: 1.0 }, Exponential { rate: 5.0 }],
        None,
    )
    .unwrap();
    let opts = FitOptions::default()
        .stop_threshold(1e-6)
        .threads(Threads::Count(2));
    let report = model.fit(x.view(), None, &opts).unwrap();
    assert!(report.converged);
    let rates: Vec<f64> = model.distributions().iter().map(|d| d.rate).collect();
    assert!((rates[0] - 0.5).abs() < 0.05, "{rates:?}");
    assert!((rates[1] - 20.0).abs() < 2.0, "{rates:?}");
    let labels = model.predict(x.view(), Threads::Current).unwrap();
    assert_eq!(labels.len(), x.nrows());
    // The same fit on one thread is identical.
    let mut again = GeneralMixtureModel::new(
        vec![Exponential { rate: 1.0 }, Exponential { rate: 5.0 }],
        None,
    )
    .unwrap();
    again
        .fit(x.view(), None, &opts.clone().threads(Threads::Count(1)))
        .unwrap();
    assert_eq!(again, model);
}

#[test]
fn the_callers_rayon_pool_is_used_with_threads_current() {
    let model = GeneralMixtureModel::new(
        vec![Exponential { rate: 1.0 }, Exponential { rate: 5.0 }],
        None,
    )
    .unwrap();
    let x = Array2::from_shape_fn((10_000, 1), |(i, _)| (i % 97) as f64 / 10.0);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .unwrap();
    let inside = pool.install(|| model.log_probability(x.view(), Threads::Current).unwrap());
    let outside = model.log_probability(x.view(), Threads::Count(1)).unwrap();
    assert_eq!(inside, outside);
}

#[test]
fn from_samples_like_initialises_a_users_distribution_by_kmeans() {
    use rand_core::SeedableRng;
    let truth = GeneralMixtureModel::new(
        vec![Exponential { rate: 0.5 }, Exponential { rate: 20.0 }],
        Some(&[0.5, 0.5]),
    )
    .unwrap();
    let x: Array2<f64> = truth
        .sample(40_000, &mut rand_chacha::ChaCha8Rng::seed_from_u64(2))
        .unwrap();
    let mut opts = mixtura::FromSamplesOptions::new(2)
        .seed(3)
        .n_init(2)
        .threads(Threads::Count(2));
    opts.fit.stop_threshold = 1e-6;
    let blank = Exponential { rate: 1.0 };
    let (model, report) =
        GeneralMixtureModel::from_samples_like(&blank, x.view(), None, &opts).unwrap();
    assert!(report.converged);
    let mut rates: Vec<f64> = model.distributions().iter().map(|d| d.rate).collect();
    rates.sort_by(f64::total_cmp);
    assert!((rates[0] - 0.5).abs() < 0.05, "{rates:?}");
    assert!((rates[1] - 20.0).abs() < 2.0, "{rates:?}");
    // The same on one thread, bit for bit.
    let (again, _) = GeneralMixtureModel::from_samples_like(
        &blank,
        x.view(),
        None,
        &opts.clone().threads(Threads::Count(1)),
    )
    .unwrap();
    assert_eq!(again, model);
    // The blank must have the data's width.
    let two = ndarray::Array2::<f64>::zeros((10, 2));
    let err = GeneralMixtureModel::from_samples_like(&blank, two.view(), None, &opts).unwrap_err();
    assert!(err.to_string().contains("blank"), "{err}");
}

/// The model's document of an `Exponential`: its rate.
impl serde::Serialize for Exponential {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.rate.serialize(s)
    }
}

#[test]
fn a_users_distribution_sits_inside_independent_components() {
    use mixtura::{Component, External, IndependentComponents, Normal};
    use rand_core::SeedableRng;
    let component = |rate: f64, mean: f64| {
        Component::IndependentComponents(
            IndependentComponents::new(
                vec![
                    Component::External(External::from_distribution(
                        "ExponentialOfMine",
                        Exponential { rate },
                    )),
                    Component::Normal(Normal::new(mean, 1.0).unwrap()),
                ],
                None,
            )
            .unwrap(),
        )
    };
    let truth = GeneralMixtureModel::new(
        vec![component(0.5, 5.0), component(20.0, -5.0)],
        Some(&[0.5, 0.5]),
    )
    .unwrap();
    let x = truth
        .sample(20_000, &mut rand_chacha::ChaCha8Rng::seed_from_u64(4))
        .unwrap();
    let start =
        GeneralMixtureModel::new(vec![component(1.0, 3.0), component(5.0, -3.0)], None).unwrap();
    let mut model = start.clone();
    let report = model
        .fit(x.view(), None, &FitOptions::default().stop_threshold(1e-6))
        .unwrap();
    assert!(report.converged);
    let rate = |m: &GeneralMixtureModel, j: usize| {
        let Component::IndependentComponents(ic) = &m.distributions()[j] else {
            unreachable!()
        };
        let Component::External(e) = &ic.distributions()[0] else {
            unreachable!()
        };
        assert!(e.distribution::<Normal>().is_none());
        e.distribution::<Exponential>().unwrap().rate
    };
    assert!((rate(&model, 0) - 0.5).abs() < 0.05, "{}", rate(&model, 0));
    assert!((rate(&model, 1) - 20.0).abs() < 2.0, "{}", rate(&model, 1));
    // The starting model is a model of its own, and equality compares the rates.
    assert_eq!(rate(&start, 0), 1.0);
    assert_ne!(model, start);
    assert_eq!(model.clone(), model);
    // The document holds the rate; a reader of the caller's reads it back.
    let text = model.to_json();
    let read = |doc: &serde_json::Value| -> mixtura::Result<Component> {
        let rate = doc["parameters"][0].as_f64().unwrap();
        Ok(Component::External(External::from_distribution(
            doc["name"].as_str().unwrap(),
            Exponential { rate },
        )))
    };
    let back = GeneralMixtureModel::from_json_with(&text, read).unwrap();
    assert_eq!(back, model);
    assert_eq!(back.to_json(), text);
}
