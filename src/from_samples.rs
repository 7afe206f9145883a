//! `from_samples`: k-means initialisation, then EM.

use ndarray::{Array2, ArrayView1, ArrayView2};

use crate::parallel::blocks;
use crate::rows::{conversion_rows, Element, Rows};
use rand_core::RngCore;

use crate::distributions::{Block, Blocks, Component, Distribution, Family, IndependentComponents};
use crate::em::{EpochLog, FitOptions, FitReport};
use crate::error::{Error, Result};
use crate::kmeans::{Init, Kmeans, KmeansOptions};
use crate::mixture::GeneralMixtureModel;
use crate::validate::{at_least_one, check_clusters, check_observed, check_weights, too_large};
use crate::weights::{contiguous_weights, Weights};

/// Which distributions the components of [`GeneralMixtureModel::from_samples`] are.
#[derive(Debug, Clone, PartialEq)]
pub enum Components {
    /// Every component is this family over all the features (a univariate family needs data with
    /// one feature).
    Each(Family),
    /// Every component is an [`IndependentComponents`] with one univariate family per feature.
    PerFeature(Vec<Family>),
    /// Component `j` is family `j` (data with one feature; `n_components` must be the number of
    /// families): a heterogeneous univariate mixture.
    Mixed(Vec<Family>),
}

/// The options of [`GeneralMixtureModel::from_samples`]; [`FromSamplesOptions::new`] gives
/// pomegranate's defaults.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct FromSamplesOptions {
    /// The number of components (given to [`new`](FromSamplesOptions::new); no default).
    pub n_components: usize,
    /// How k-means chooses its initial centroids (default [`Init::KMeansPlusPlus`]).
    pub init: Init,
    /// Whole fits (k-means and EM) from different initialisations; the one with the highest final
    /// log-likelihood is kept (default 1).
    pub n_init: usize,
    /// The Lloyd updates of the k-means initialisation (default 1).
    pub max_kmeans_iterations: u64,
    /// The seed of the random generator (ChaCha8) for the initialisation (default 0).
    pub seed: u64,
    /// The options of the EM fit (its `threads` also run k-means; default
    /// [`FitOptions::default`]).
    pub fit: FitOptions,
}

// `fit` has no setter: it would read as a fit. Assign the field, or use `threads`.
setters!(FromSamplesOptions {
    n_components: usize,
    init: Init,
    n_init: usize,
    max_kmeans_iterations: u64,
    seed: u64,
});

impl FromSamplesOptions {
    /// Sets the threads of the whole call (k-means and EM), [`fit.threads`](FitOptions#structfield.threads).
    #[must_use]
    pub fn threads(mut self, threads: crate::parallel::Threads) -> Self {
        self.fit.threads = threads;
        self
    }

    /// pomegranate's defaults for `n_components` components.
    pub fn new(n_components: usize) -> Self {
        FromSamplesOptions {
            n_components,
            init: Init::KMeansPlusPlus,
            n_init: 1,
            max_kmeans_iterations: 1,
            seed: 0,
            fit: FitOptions::default(),
        }
    }
}

/// Component `j` of `spec` fitted to the rows of `d` features that `visit` hands over.
fn build_component(
    spec: &Components,
    j: usize,
    d: usize,
    visit: &mut Blocks<'_>,
) -> Result<Component> {
    match spec {
        Components::Each(family) => Component::fit_blocks(*family, d, visit),
        Components::Mixed(families) => Component::fit_blocks(families[j], d, visit),
        Components::PerFeature(families) => Ok(Component::IndependentComponents(
            IndependentComponents::new(Component::fit_columns(families, visit)?, None)?,
        )),
    }
}

/// Calls `f` with the rows of `x` whose label is `j` (as `f64`, in order) and their weights
/// `w`, by blocks of [`conversion_rows`] rows gathered in turn into one work space (one empty
/// block when there are none), so that a cluster's rows are never copied whole.
fn gathered_blocks(
    x: &Rows<'_>,
    (labels, j): (ArrayView1<usize>, usize),
    w: Weights<'_>,
    f: &mut Block<'_>,
) -> Result<()> {
    let d = x.ncols();
    let step = conversion_rows(d);
    let count = labels.iter().filter(|&&l| l == j).count();
    let (mut buf, mut ws): (Vec<f64>, Vec<f64>) = (Vec::new(), Vec::new());
    let room = step.min(count);
    buf.try_reserve_exact(room * d)
        .and_then(|_| ws.try_reserve_exact(room))
        .map_err(|_| too_large("data", "a block of a cluster's rows"))?;
    let mut flush = |buf: &mut Vec<f64>, ws: &mut Vec<f64>| -> Result<()> {
        let view = ArrayView2::from_shape((ws.len(), d), &buf[..]).expect("a block's shape");
        f(view, ws)?;
        buf.clear();
        ws.clear();
        Ok(())
    };
    for (i, _) in labels.iter().enumerate().filter(|&(_, &l)| l == j) {
        crate::rows::each_type!(x, v => buf.extend(v.row(i).iter().map(|v| v.to_f64())));
        ws.push(w.get(i));
        if ws.len() == step {
            flush(&mut buf, &mut ws)?;
        }
    }
    if !ws.is_empty() || count == 0 {
        flush(&mut buf, &mut ws)?;
    }
    Ok(())
}

/// The matrix k-means clusters when some columns hold discrete codes: each discrete column
/// becomes one indicator column per symbol (all NaN for a missing value); `None` when no column
/// is discrete; an error when that matrix does not fit in memory.
fn kmeans_features(components: &Components, x: Rows<'_>) -> Result<Option<Array2<f64>>> {
    let d = x.ncols();
    let per_column: Vec<Option<usize>> = match components {
        Components::PerFeature(f) => f
            .iter()
            .map(|f| match f {
                Family::Discrete(k) => Some(*k),
                _ => None,
            })
            .collect(),
        Components::Each(Family::Discrete(k)) => vec![Some(*k); d],
        Components::Mixed(f) => match f.first() {
            Some(Family::Discrete(k)) => vec![Some(*k); d],
            _ => vec![None; d],
        },
        _ => vec![None; d],
    };
    // Many symbols would make a huge indicator matrix: such a column is clustered on its codes.
    let per_column: Vec<Option<usize>> = per_column
        .into_iter()
        .map(|k| k.filter(|&k| k <= 64))
        .collect();
    if per_column.iter().all(Option::is_none) {
        return Ok(None);
    }
    let width: usize = per_column.iter().map(|k| k.unwrap_or(1)).sum();
    let mut out = crate::validate::zeroed(x.nrows(), width, || {
        crate::validate::too_large("data", format!("{width} indicator columns of the symbols"))
    })?;
    let mut buf = Vec::new();
    for block in blocks(0..x.nrows()) {
        let xb = x.block(block.clone(), &mut buf);
        for (i, row) in block.zip(xb.rows()) {
            let mut c = 0;
            for (j, k) in per_column.iter().enumerate() {
                let v = row[j];
                match k {
                    None => {
                        out[[i, c]] = v;
                        c += 1;
                    }
                    Some(k) => {
                        for s in 0..*k {
                            out[[i, c + s]] = if v.is_nan() {
                                f64::NAN
                            } else if v == s as f64 {
                                1.0
                            } else {
                                0.0
                            };
                        }
                        c += k;
                    }
                }
            }
        }
    }
    Ok(Some(out))
}

impl GeneralMixtureModel<Component> {
    /// Builds a mixture from data: k-means clusters `x`, shape `(n, d)`, each component is fitted
    /// to its cluster (its weight is the cluster's share of the sample weight), then EM refines the
    /// whole model. Returns the model and the report of its EM fit.
    pub fn from_samples<T: Element>(
        components: &Components,
        x: ArrayView2<T>,
        weights: Option<ArrayView1<f64>>,
        opts: &FromSamplesOptions,
    ) -> Result<(Self, FitReport)> {
        Self::from_samples_with(components, x, weights, opts, |_, _| Ok(()))
    }

    /// [`from_samples`](Self::from_samples), calling `on_epoch` after every EM epoch of every
    /// run, as [`fit_with`](Self::fit_with) does.
    pub fn from_samples_with<T: Element>(
        components: &Components,
        x: ArrayView2<T>,
        weights: Option<ArrayView1<f64>>,
        opts: &FromSamplesOptions,
        on_epoch: impl FnMut(&EpochLog, &Self) -> Result<()>,
    ) -> Result<(Self, FitReport)> {
        Self::from_samples_rows(components, x.into(), weights, opts, on_epoch)
    }

    /// [`from_samples_with`](Self::from_samples_with) of rows of either element type.
    #[doc(hidden)]
    pub fn from_samples_rows(
        components: &Components,
        x: Rows<'_>,
        weights: Option<ArrayView1<f64>>,
        opts: &FromSamplesOptions,
        on_epoch: impl FnMut(&EpochLog, &Self) -> Result<()>,
    ) -> Result<(Self, FitReport)> {
        let d = x.ncols();
        let families: &[Family] = match components {
            Components::Each(f) => std::slice::from_ref(f),
            Components::PerFeature(f) | Components::Mixed(f) => f,
        };
        if families.contains(&Family::Discrete(0)) {
            return Err(Error::param(
                "distributions",
                "a discrete family needs at least one symbol (Family::Discrete(k) with k >= 1)",
            ));
        }
        match components {
            Components::Each(f) if f.is_univariate() && d != 1 => {
                return Err(Error::param(
                    "distributions",
                    format!(
                        "{} is univariate but the data have {d} columns; give one class per column",
                        f.name()
                    ),
                ))
            }
            Components::PerFeature(fams) if fams.len() != d => {
                return Err(Error::param(
                    "distributions",
                    format!(
                        "needs one distribution class per column of the data ({d}), got {}",
                        fams.len()
                    ),
                ))
            }
            Components::PerFeature(fams) if fams.iter().any(|f| !f.is_univariate()) => {
                return Err(Error::param(
                    "distributions",
                    "per-column distribution classes must be univariate",
                ))
            }
            Components::Mixed(fams) if d != 1 || fams.iter().any(|f| !f.is_univariate()) => {
                return Err(Error::param(
                    "distributions",
                    "a list of univariate classes as components needs data with one column",
                ))
            }
            Components::Mixed(fams) if fams.len() != opts.n_components => {
                return Err(Error::param(
                    "n_components",
                    format!(
                        "must equal the number of distribution classes ({}), got {}",
                        fams.len(),
                        opts.n_components
                    ),
                ))
            }
            _ => {}
        }
        let features = |x0: Rows<'_>| kmeans_features(components, x0);
        from_clusters(
            x,
            weights,
            opts,
            features,
            |j, visit| build_component(components, j, d, visit),
            on_epoch,
        )
    }
}

impl<D: Distribution> GeneralMixtureModel<D> {
    /// Builds a mixture of components of the caller's type from data, as
    /// [`from_samples`](GeneralMixtureModel::from_samples) does for the built-in families:
    /// k-means clusters `x`, shape `(n, d)`; each component starts as a copy of `blank` fitted to
    /// its cluster (two M-steps from `blank`'s statistics of the cluster's rows; a cluster without
    /// weight leaves the copy as it is), with the cluster's share of the weight; EM then refines
    /// the whole model.
    ///
    /// ```
    /// use mixtura::{FromSamplesOptions, GeneralMixtureModel, MultivariateGaussian};
    /// use ndarray::array;
    ///
    /// let x = array![[0.0, 0.1], [0.2, -0.1], [-0.1, 0.0], [5.0, 5.1], [5.2, 4.9], [4.9, 5.0]];
    /// let blank = MultivariateGaussian::blank(2)?;
    /// let (model, report) =
    ///     GeneralMixtureModel::from_samples_like(&blank, x.view(), None, &FromSamplesOptions::new(2))?;
    /// assert_eq!(model.n_components(), 2);
    /// assert!(report.log_probability.is_finite());
    /// # Ok::<(), mixtura::Error>(())
    /// ```
    pub fn from_samples_like<T: Element>(
        blank: &D,
        x: ArrayView2<T>,
        weights: Option<ArrayView1<f64>>,
        opts: &FromSamplesOptions,
    ) -> Result<(Self, FitReport)> {
        if blank.dim() != x.ncols() {
            return Err(Error::param(
                "blank",
                format!(
                    "has {} features, but the data have {} columns",
                    blank.dim(),
                    x.ncols()
                ),
            ));
        }
        let fit_to = |_: usize, visit: &mut Blocks<'_>| -> Result<D> {
            let mut c = blank.clone();
            // Two M-steps, as the built-in families: the second one's statistics are gathered
            // around the first one's estimate.
            for _ in 0..2 {
                let mut st = c.try_new_stats()?;
                visit(&mut |xb, wb| c.accumulate(xb, wb, &mut st))?;
                c.from_summaries(&st, 0.0)?;
            }
            Ok(c)
        };
        from_clusters(x.into(), weights, opts, |_| Ok(None), fit_to, |_, _| Ok(()))
    }
}

/// k-means on `x` (or on the matrix `features` makes of its first batch), a component built by
/// `build(j, visit)` from each cluster `j` (`visit` hands over the cluster's rows and weights a
/// block at a time, see [`gathered_blocks`]), then EM; the best of `opts.n_init` runs.
fn from_clusters<D: Distribution>(
    x: Rows<'_>,
    weights: Option<ArrayView1<f64>>,
    opts: &FromSamplesOptions,
    features: impl Fn(Rows<'_>) -> Result<Option<Array2<f64>>>,
    build: impl Fn(usize, &mut Blocks<'_>) -> Result<D>,
    mut on_epoch: impl FnMut(&EpochLog, &GeneralMixtureModel<D>) -> Result<()>,
) -> Result<(GeneralMixtureModel<D>, FitReport)> {
    let d = x.ncols();
    x.check_data(d)?;
    // Before k-means, which would place its centroids at 0 (the fit would then say the same).
    check_observed(x.has_observed())?;
    opts.fit.check()?;
    let n = x.nrows();
    let k = opts.n_components;
    check_clusters("n_components", k, n)?;
    at_least_one("n_init", Some(opts.n_init))?;
    // The caller's weights where they are (no vector of ones without them).
    let given = contiguous_weights(weights, n)?;
    let w = Weights::new(given.as_deref(), n);
    let mut rng = crate::rng::seeded(opts.seed);
    let runs = match opts.init {
        Init::FirstK | Init::Centroids(_) => 1,
        _ => opts.n_init,
    };
    // As pomegranate, k-means and the first components see the first batch only (every row
    // without a batch size); EM then runs on all of them.
    let m = opts.fit.batch_size.map_or(n, |b| b.min(n));
    check_clusters("n_components", k, m).map_err(|_| {
        Error::param(
            "batch_size",
            format!(
                "the first batch ({m} rows) initialises k-means and must hold at least \
                     n_components ({k}) rows"
            ),
        )
    })?;
    let x0 = x.slice(0..m);
    let w0 = w.slice(0..m);
    let features = features(x0.reborrow())?;
    let kx: Rows<'_> = match &features {
        Some(f) => f.view().into(),
        None => x0.reborrow(),
    };
    let mut best: Option<(GeneralMixtureModel<D>, FitReport)> = None;
    for _ in 0..runs {
        let kopts = KmeansOptions {
            init: opts.init.clone(),
            max_iterations: opts.max_kmeans_iterations,
            seed: rng.next_u64(),
            threads: opts.fit.threads,
            ..KmeansOptions::new(k)
        };
        Kmeans::check_fit(kx.reborrow(), &kopts)?;
        if let Weights::Given(first) = w0 {
            // The first batch's weights hold some weight, as k-means needs.
            check_weights(&ArrayView1::from(first), m)?;
        }
        let km = Kmeans::fit_weighted(kx.reborrow(), w0, &kopts)?.0;
        let labels = km.predict_rows(kx.reborrow(), opts.fit.threads)?;
        let mut dists = Vec::with_capacity(k);
        let mut shares = Vec::with_capacity(k);
        for j in 0..k {
            // The cluster's weight, summed in the order of its rows.
            let share = (0..m)
                .filter(|&i| labels[i] == j)
                .map(|i| w0.get(i))
                .sum::<f64>();
            shares.push(share);
            let labels = labels.view();
            dists.push(build(j, &mut |f| gathered_blocks(&x0, (labels, j), w0, f))?);
        }
        let mut model = GeneralMixtureModel::new(dists, Some(&shares))?;
        // EM reads the weights in place too (without weights, as `fit` without them does).
        let em_weights = given.as_deref().map(ArrayView1::from);
        let report =
            model.fit_labelled(x.reborrow(), em_weights, None, &opts.fit, &mut on_epoch)?;
        if best
            .as_ref()
            .is_none_or(|(_, b)| report.log_probability > b.log_probability)
        {
            best = Some((model, report));
        }
    }
    Ok(best.expect("at least one run"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array1;

    #[test]
    fn a_cluster_is_gathered_in_order_by_blocks_of_converted_rows() {
        let d = 300;
        let step = conversion_rows(d);
        let n = 2 * step + 1000;
        let x32 = Array2::from_shape_fn((n, d), |(i, l)| (i * 7 + l) as f32 * 0.25);
        let labels = Array1::from_shape_fn(n, |i| usize::from(i % 3 == 0));
        let w = Array1::from_shape_fn(n, |i| 1.0 + i as f64);
        for j in 0..3 {
            let want: Vec<usize> = (0..n).filter(|&i| labels[i] == j).collect();
            let (mut got, mut sizes) = (Vec::new(), Vec::new());
            let rows = Rows::F32(x32.view());
            gathered_blocks(
                &rows,
                (labels.view(), j),
                Weights::Given(w.as_slice().unwrap()),
                &mut |xb, wb| {
                    assert_eq!((xb.nrows(), xb.ncols()), (wb.len(), d));
                    sizes.push(wb.len());
                    for (row, &wi) in xb.rows().into_iter().zip(wb) {
                        let i = (wi - 1.0) as usize;
                        let same = row.iter().zip(x32.row(i)).all(|(a, &b)| *a == f64::from(b));
                        assert!(same, "row {i}");
                        got.push(i);
                    }
                    Ok(())
                },
            )
            .unwrap();
            assert_eq!(got, want, "cluster {j}");
            // Full blocks but the last; one empty block for an empty cluster.
            let full = want.len() / step;
            assert!(sizes[..full].iter().all(|&s| s == step), "{sizes:?}");
            assert_eq!(sizes.len(), (want.len().div_ceil(step)).max(1));
        }
    }

    #[test]
    fn columns_fitted_side_by_side_are_each_column_fitted_alone() {
        // Several blocks of a cluster, univariate families of two kinds.
        let d = 3;
        let n = 2 * conversion_rows(d) + 333;
        let x32 = Array2::from_shape_fn((n, d), |(i, l)| {
            ((i * 31 + l * 7) % 101) as f32 * 0.125 + 1.0 + l as f32
        });
        let labels = Array1::from_shape_fn(n, |i| usize::from(i % 5 == 0));
        let w = Array1::from_shape_fn(n, |i| 0.5 + (i % 4) as f64);
        let rows = Rows::F32(x32.view());
        let families = [Family::Normal, Family::Exponential, Family::Gamma];
        let side = Component::fit_columns(&families, &mut |f| {
            gathered_blocks(
                &rows,
                (labels.view(), 0),
                Weights::Given(w.as_slice().unwrap()),
                f,
            )
        })
        .unwrap();
        for (c, fam) in families.iter().enumerate() {
            let alone = Component::fit_blocks(*fam, 1, &mut |f| {
                gathered_blocks(
                    &rows,
                    (labels.view(), 0),
                    Weights::Given(w.as_slice().unwrap()),
                    &mut |xb, wb| f(xb.slice(ndarray::s![.., c..c + 1]), wb),
                )
            })
            .unwrap();
            assert_eq!(side[c], alone, "column {c}");
        }
    }

    #[test]
    fn a_distribution_of_f32_rows_beyond_one_block_is_that_of_their_f64_values() {
        let d = 2;
        let n = conversion_rows(d) + 4321;
        let x32 = Array2::from_shape_fn((n, d), |(i, l)| ((i * 13 + l) % 97) as f32 * 0.5 + 3.0);
        let x64 = x32.mapv(f64::from);
        let w: Vec<f64> = (0..n).map(|i| 1.0 + (i % 3) as f64).collect();
        let fam = Family::Normal;
        let ind = |x: ArrayView2<f64>| {
            Component::IndependentComponents(
                IndependentComponents::new(
                    (0..d)
                        .map(|c| Component::fit_new(fam, x.slice(ndarray::s![.., c..c + 1]), &w))
                        .collect::<Result<Vec<_>>>()
                        .unwrap(),
                    None,
                )
                .unwrap(),
            )
        };
        let model = ind(x64.view());
        let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
        model.log_probability_rows(x64.view(), &mut a).unwrap();
        model.log_probability_rows(x32.view(), &mut b).unwrap();
        assert_eq!(a, b);
        // Statistics added block by block: the same values to rounding.
        let (mut s64, mut s32) = (model.new_stats(), model.new_stats());
        model.accumulate_rows(x64.view(), &w, &mut s64).unwrap();
        model.accumulate_rows(x32.view(), &w, &mut s32).unwrap();
        let (mut m64, mut m32) = (model.clone(), model.clone());
        m64.from_summaries(&s64, 0.0).unwrap();
        m32.from_summaries(&s32, 0.0).unwrap();
        let (p64, p32) = (m64.to_json(), m32.to_json());
        let numbers = |t: &str| -> Vec<f64> {
            t.split(|c: char| !(c.is_ascii_digit() || "+-.e".contains(c)))
                .filter_map(|v| v.parse().ok())
                .collect()
        };
        for (u, v) in numbers(&p64).iter().zip(numbers(&p32)) {
            assert!((u - v).abs() <= 1e-12 * u.abs().max(1.0), "{u} {v}");
        }
        // No rows (of another width): the same outcome as for f64, whose rows the callee sees.
        let none32 = Array2::<f32>::zeros((0, d + 1));
        let none64 = Array2::<f64>::zeros((0, d + 1));
        let mut st = model.new_stats();
        let e32 = model.accumulate_rows(none32.view(), &[], &mut st).err();
        let e64 = model.accumulate_rows(none64.view(), &[], &mut st).err();
        assert_eq!(e32, e64);
    }
}
