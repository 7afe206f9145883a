//! Without sample weights, k-means and `from_samples` weigh every row 1 without a vector of ones:
//! the same bits as with a weight of 1 given for every row, for every initialisation, batch size
//! and thread count; and weights in any layout give what the same weights give contiguous.

use mixtura::{
    Components, Family, FromSamplesOptions, GeneralMixtureModel, Init, Kmeans, KmeansOptions,
    MultivariateGaussian, Threads,
};
use ndarray::{s, Array1, Array2};

/// `n` rows of three groups in `d` positive features (with a missing value).
fn rows(n: usize, d: usize) -> Array2<f64> {
    let mut x = Array2::from_shape_fn((n, d), |(i, l)| {
        let group = (i * 7 % 3) as f64;
        1.0 + group * 4.0 + ((i * 37 + l * 11) % 101) as f64 * 0.02 + l as f64 * 0.5
    });
    x[[n / 2, d - 1]] = f64::NAN;
    x
}

fn same_kmeans(a: &Kmeans, b: &Kmeans) {
    assert_eq!(a.centroids(), b.centroids());
    assert_eq!(a.inertia.to_bits(), b.inertia.to_bits());
}

#[test]
fn kmeans_without_weights_is_kmeans_with_weights_of_one() {
    let x = rows(3000, 4);
    let ones = Array1::ones(x.nrows());
    for init in ["kmeans++", "kmeans||", "random", "first-k"] {
        for (batch, threads) in [(None, 1), (Some(700), 2), (None, 3)] {
            let mut opts = KmeansOptions::new(3);
            opts.init = Init::from_name(init).unwrap();
            opts.seed = 9;
            opts.n_init = 2;
            opts.batch_size = batch;
            opts.threads = Threads::Count(threads);
            let implicit = Kmeans::fit(x.view(), None, &opts).unwrap();
            let given = Kmeans::fit(x.view(), Some(ones.view()), &opts).unwrap();
            same_kmeans(&implicit, &given);
            assert_eq!(
                Kmeans::initial_centroids(x.view(), None, &opts).unwrap(),
                Kmeans::initial_centroids(x.view(), Some(ones.view()), &opts).unwrap()
            );
            let t = Threads::Count(threads);
            assert_eq!(
                implicit.summarize(x.view(), None, t).unwrap(),
                implicit.summarize(x.view(), Some(ones.view()), t).unwrap()
            );
            let labels = implicit.predict(x.view(), t).unwrap();
            let nearest = implicit.distance(x.view(), t).unwrap();
            for (i, l) in labels.iter().enumerate() {
                let row = nearest.row(i);
                let best = row.iter().copied().fold(f64::INFINITY, f64::min);
                assert_eq!(row[*l], best, "row {i}");
                assert!(
                    row.iter().take(*l).all(|v| *v > best),
                    "row {i}: the first nearest"
                );
            }
        }
    }
}

#[test]
fn kmeans_reads_weights_in_any_layout_as_the_same_weights_contiguous() {
    let x = rows(2000, 3);
    let every_other = Array1::from_shape_fn(2 * x.nrows(), |i| 0.5 + (i % 5) as f64);
    let strided = every_other.slice(s![..;2]);
    let contiguous = strided.to_owned();
    for init in ["kmeans++", "kmeans||", "random"] {
        let mut opts = KmeansOptions::new(3);
        opts.init = Init::from_name(init).unwrap();
        opts.seed = 4;
        let a = Kmeans::fit(x.view(), Some(strided), &opts).unwrap();
        let b = Kmeans::fit(x.view(), Some(contiguous.view()), &opts).unwrap();
        same_kmeans(&a, &b);
    }
}

#[test]
fn from_samples_without_weights_is_from_samples_with_weights_of_one() {
    let x = rows(4000, 3);
    let ones = Array1::ones(x.nrows());
    let specs = [
        Components::Each(Family::MultivariateGaussian),
        Components::PerFeature(vec![Family::Normal, Family::Gamma, Family::LogNormal]),
    ];
    for spec in &specs {
        for (batch, threads) in [(None, 1), (Some(1500), 2)] {
            let mut opts = FromSamplesOptions::new(3);
            opts.seed = 3;
            opts.n_init = 2;
            opts.fit.max_iterations = 4;
            opts.fit.batch_size = batch;
            opts.fit.threads = Threads::Count(threads);
            let (a, ra) = GeneralMixtureModel::from_samples(spec, x.view(), None, &opts).unwrap();
            let (b, rb) =
                GeneralMixtureModel::from_samples(spec, x.view(), Some(ones.view()), &opts)
                    .unwrap();
            assert_eq!(a.to_json(), b.to_json());
            assert_eq!(ra.log_probability.to_bits(), rb.log_probability.to_bits());
        }
    }
    // float32 rows: the same model; the log-likelihood of a fused kernel's f32 lanes is summed
    // a little differently with and without weights (within rounding).
    let x32 = x.mapv(|v| v as f32);
    let mut opts = FromSamplesOptions::new(3);
    opts.fit.max_iterations = 4;
    for spec in &specs {
        let (a, ra) = GeneralMixtureModel::from_samples(spec, x32.view(), None, &opts).unwrap();
        let (b, rb) =
            GeneralMixtureModel::from_samples(spec, x32.view(), Some(ones.view()), &opts).unwrap();
        assert_eq!(a.to_json(), b.to_json());
        let (la, lb) = (ra.log_probability, rb.log_probability);
        assert!((la - lb).abs() <= 1e-12 * la.abs(), "{la} {lb}");
    }
    let blank = MultivariateGaussian::blank(3).unwrap();
    let opts = FromSamplesOptions::new(3);
    let (a, _) = GeneralMixtureModel::from_samples_like(&blank, x.view(), None, &opts).unwrap();
    let (b, _) =
        GeneralMixtureModel::from_samples_like(&blank, x.view(), Some(ones.view()), &opts).unwrap();
    assert_eq!(a, b);
}

#[test]
fn from_samples_reads_weights_in_any_layout_as_the_same_weights_contiguous() {
    let x = rows(3000, 2);
    let every_other = Array1::from_shape_fn(2 * x.nrows(), |i| 1.0 + (i % 3) as f64);
    let strided = every_other.slice(s![..;2]);
    let contiguous = strided.to_owned();
    let spec = Components::Each(Family::MultivariateGaussian);
    let mut opts = FromSamplesOptions::new(2);
    opts.fit.max_iterations = 3;
    let (a, _) = GeneralMixtureModel::from_samples(&spec, x.view(), Some(strided), &opts).unwrap();
    let (b, _) =
        GeneralMixtureModel::from_samples(&spec, x.view(), Some(contiguous.view()), &opts).unwrap();
    assert_eq!(a.to_json(), b.to_json());
    // Weights are checked before they are read.
    let short = Array1::ones(x.nrows() - 1);
    let err = GeneralMixtureModel::from_samples(&spec, x.view(), Some(short.view()), &opts);
    assert!(err.unwrap_err().to_string().contains("weights"));
    // So are the first batch's, from which k-means chooses its centroids.
    let mut first_empty = contiguous.clone();
    first_empty.slice_mut(s![..1000]).fill(0.0);
    opts.fit.batch_size = Some(1000);
    let err = GeneralMixtureModel::from_samples(&spec, x.view(), Some(first_empty.view()), &opts);
    assert!(err
        .unwrap_err()
        .to_string()
        .contains("must not all be zero"));
}
