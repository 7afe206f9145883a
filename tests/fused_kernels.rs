//! The fused Gaussian kernels give what the general path gives: a wrapper that hides the
//! Gaussian form of its distribution takes the general path, on the same parameters.

use mixtura::{
    Component, Distribution, FitOptions, GeneralMixtureModel, IndependentComponents,
    MultivariateGaussian, Normal, Result, Threads,
};
use ndarray::{Array1, Array2, ArrayView2};
use rand_core::RngCore;

/// A component without the `gaussian` hooks.
#[derive(Debug, Clone, PartialEq)]
struct Plain(Component);

impl Distribution for Plain {
    type Stats = <Component as Distribution>::Stats;

    fn dim(&self) -> usize {
        self.0.dim()
    }
    fn log_probability_into(&self, x: ArrayView2<f64>, out: &mut [f64]) -> Result<()> {
        self.0.log_probability_into(x, out)
    }
    fn new_stats(&self) -> Self::Stats {
        self.0.new_stats()
    }
    fn accumulate(&self, x: ArrayView2<f64>, w: &[f64], s: &mut Self::Stats) -> Result<()> {
        self.0.accumulate(x, w, s)
    }
    fn from_summaries(&mut self, s: &Self::Stats, inertia: f64) -> Result<()> {
        self.0.from_summaries(s, inertia)
    }
    fn is_frozen(&self) -> bool {
        self.0.is_frozen()
    }
    fn n_parameters(&self) -> Option<usize> {
        self.0.n_parameters()
    }
    fn sample_into(&self, rng: &mut dyn RngCore, out: &mut [f64]) {
        self.0.sample_into(rng, out)
    }
}

/// Rows around three centres, with a weight per row (a pseudo-random but fixed pattern).
fn data(n: usize, d: usize) -> (Array2<f64>, Array1<f64>) {
    let mut s: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    let x = Array2::from_shape_fn((n, d), |(i, j)| {
        (i % 3) as f64 * 3.0 + j as f64 + 2.0 * next()
    });
    let w = Array1::from_shape_fn(n, |_| 1.0 + next());
    (x, w)
}

fn components(d: usize, full: bool) -> Vec<Component> {
    (0..3)
        .map(|c| {
            let means = Array1::from_shape_fn(d, |j| c as f64 * 2.5 + j as f64);
            if full {
                let cov = Array2::from_shape_fn((d, d), |(a, b)| {
                    if a == b {
                        1.0 + 0.3 * c as f64
                    } else {
                        0.2 / (1.0 + (a as f64 - b as f64).abs())
                    }
                });
                Component::MultivariateGaussian(MultivariateGaussian::new(means, cov).unwrap())
            } else if d == 1 {
                Component::Normal(Normal::new(means[0], 1.0 + 0.5 * c as f64).unwrap())
            } else {
                Component::IndependentComponents(
                    IndependentComponents::new(
                        means
                            .iter()
                            .map(|&m| {
                                Component::Normal(Normal::new(m, 0.8 + 0.3 * c as f64).unwrap())
                            })
                            .collect(),
                        None,
                    )
                    .unwrap(),
                )
            }
        })
        .collect()
}

fn params(c: &Component) -> Vec<f64> {
    match c {
        Component::Normal(n) => vec![n.mean(), n.std()],
        Component::MultivariateGaussian(g) => g
            .means()
            .iter()
            .chain(g.covariance().iter())
            .copied()
            .collect(),
        Component::IndependentComponents(i) => i.distributions().iter().flat_map(params).collect(),
        other => panic!("not a Gaussian: {other:?}"),
    }
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs()))
}

#[test]
fn fused_statistics_and_fits_match_the_general_path() {
    // Diagonal: transposed below 8 features, row-major from 8 (with and without a partial last
    // vector); full: the small-dimension kernel up to 4 features, the general one above.
    for (d, full) in [
        (1, false),
        (2, false),
        (5, false),
        (8, false),
        (13, false),
        (22, false),
        (1, true),
        (2, true),
        (3, true),
        (4, true),
        (7, true),
    ] {
        let (x, w) = data(1000, d);
        let comps = components(d, full);
        let fused = GeneralMixtureModel::new(comps.clone(), Some(&[0.2, 0.3, 0.5])).unwrap();
        let plain = GeneralMixtureModel::new(
            comps.into_iter().map(Plain).collect(),
            Some(&[0.2, 0.3, 0.5]),
        )
        .unwrap();
        let a = fused
            .summarize(x.view(), Some(w.view()), Threads::Count(2))
            .unwrap();
        let b = plain
            .summarize(x.view(), Some(w.view()), Threads::Count(2))
            .unwrap();
        assert!(
            close(a.log_likelihood, b.log_likelihood, 1e-13),
            "{d} {full}"
        );
        for (ra, rb) in a.responsibilities.iter().zip(&b.responsibilities) {
            assert!(close(*ra, *rb, 1e-12), "{d} {full}: {ra} {rb}");
        }
        for (sa, sb) in a.components.iter().zip(&b.components) {
            for (va, vb) in sa.values().iter().zip(sb.values()) {
                assert!(close(*va, vb, 1e-11), "{d} {full}: {va} {vb}");
            }
        }
        let lp_a = fused.log_probability(x.view(), Threads::Count(1)).unwrap();
        let lp_b = plain.log_probability(x.view(), Threads::Count(1)).unwrap();
        assert!(lp_a.iter().zip(&lp_b).all(|(p, q)| close(*p, *q, 1e-13)));
        let (mut fa, mut fb) = (fused.clone(), plain.clone());
        let opts = FitOptions::default()
            .max_iterations(5)
            .stop_threshold(f64::NEG_INFINITY);
        let ra = fa.fit(x.view(), Some(w.view()), &opts).unwrap();
        let rb = fb.fit(x.view(), Some(w.view()), &opts).unwrap();
        assert!(close(ra.log_probability, rb.log_probability, 1e-12));
        for (p, q) in fa.distributions().iter().zip(fb.distributions()) {
            let (pa, pb) = (params(p), params(&q.0));
            assert_eq!(pa.len(), pb.len());
            for (va, vb) in pa.iter().zip(&pb) {
                assert!(close(*va, *vb, 1e-10), "{d} {full}: {va} {vb}");
            }
        }
    }
}

#[test]
fn fused_results_do_not_depend_on_threads_or_missing_rows() {
    let (mut x, _) = data(5000, 3);
    let model = GeneralMixtureModel::new(components(3, true), None).unwrap();
    let one = model.summarize(x.view(), None, Threads::Count(1)).unwrap();
    let two = model.summarize(x.view(), None, Threads::Count(2)).unwrap();
    let five = model.summarize(x.view(), None, Threads::Count(5)).unwrap();
    assert_eq!(one, two);
    assert_eq!(one, five);
    // A block with a missing value takes the general path; the others stay fused.
    x[[700, 1]] = f64::NAN;
    let a = model.summarize(x.view(), None, Threads::Count(1)).unwrap();
    let b = model.summarize(x.view(), None, Threads::Count(2)).unwrap();
    assert_eq!(a, b);
    assert!(close(a.responsibilities.iter().sum::<f64>(), 5000.0, 1e-12));
}

#[test]
fn fused_results_do_not_depend_on_the_memory_layout() {
    for (d, full) in [(13, false), (3, true), (7, true)] {
        let (x, w) = data(1500, d);
        let model = GeneralMixtureModel::new(components(d, full), None).unwrap();
        let c = model
            .summarize(x.view(), Some(w.view()), Threads::Count(2))
            .unwrap();
        // Column-major: no block is contiguous, and the kernels read a copy.
        let f = x.t().as_standard_layout().into_owned();
        let f = f.t();
        assert!(f.as_slice().is_none());
        let g = model
            .summarize(f.view(), Some(w.view()), Threads::Count(2))
            .unwrap();
        assert_eq!(c, g, "{d} {full}");
        for threads in [1, 3] {
            let t = model
                .summarize(x.view(), Some(w.view()), Threads::Count(threads))
                .unwrap();
            assert_eq!(c, t, "{d} {full} {threads}");
        }
    }
}
