//! The EM loop of [`GaussianMixture`] with scikit-learn's semantics (`BaseMixture.fit_predict`),
//! its initialisations, and the one pass over the data of each iteration.

use ndarray::ArrayView2;
use rand_core::RngCore;

use super::mstep::{estimate, precisions_cholesky, Estimates, Sums};
use super::{
    check_means_init, check_weights_init, far_rows, mstep, precisions_factor, CovarianceType,
    Covariances, GaussianInit, GaussianMixture, GaussianMixtureOptions,
};
use crate::error::{Error, Result};
use crate::kernels::{Moments, Plan};
use crate::kmeans::{Init, Kmeans, KmeansOptions};
use crate::parallel::{blocks, try_fold_chunks, Cancel, Threads};
use crate::rng::{row_uniform, seeded};
use crate::rows::{Element, Rows};

/// What a fit reports as it goes (the moments of scikit-learn's verbose output).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GaussianEvent {
    /// An initialisation (from 0) starts.
    InitStart {
        /// Its index.
        init: usize,
    },
    /// An EM iteration ended.
    Iteration {
        /// The initialisation's index.
        init: usize,
        /// The iteration, from 1.
        n_iter: u64,
        /// The lower bound of this iteration (the mean log-likelihood per sample under the
        /// parameters before its M-step).
        lower_bound: f64,
        /// Its change from the last iteration.
        change: f64,
    },
    /// An initialisation's EM ended (not sent when `max_iter` is 0).
    InitEnd {
        /// Its index.
        init: usize,
        /// Its last lower bound.
        lower_bound: f64,
        /// Whether it converged.
        converged: bool,
    },
}

/// The outcome of a fit: scikit-learn's `converged_`, `n_iter_`, `lower_bound_` and
/// `lower_bounds_` of the initialisation kept.
#[derive(Debug, Clone, PartialEq)]
pub struct GaussianFitReport {
    /// Whether the kept initialisation converged (`|change| < tol`) before `max_iter`.
    pub converged: bool,
    /// Its number of EM iterations.
    pub n_iter: u64,
    /// Its last lower bound (`-inf` when `max_iter` is 0).
    pub lower_bound: f64,
    /// Its lower bound after every iteration.
    pub lower_bounds: Vec<f64>,
}

/// What one pass over the rows gives: the summed log-likelihood under the pass's parameters, the
/// count of rows of density 0, and the kernels' moments.
struct Pass {
    log_likelihood: f64,
    unexplained: f64,
    moments: Moments,
}

/// Responsibilities of the rows for an initial M-step.
enum Responsibilities {
    /// Row `i` belongs to component `labels[i]` (responsibility 1), or to none (`u32::MAX`).
    Labels(Vec<u32>),
    /// Uniform draws in [0, 1) per row and component from this seed, normalised per row.
    Random(u64),
}

impl Responsibilities {
    /// Writes the responsibilities of row `i` into `out` (`k` values).
    fn row(&self, i: usize, out: &mut [f64]) {
        match self {
            Responsibilities::Labels(l) => {
                out.fill(0.0);
                if let Some(o) = out.get_mut(l[i] as usize) {
                    *o = 1.0;
                }
            }
            Responsibilities::Random(seed) => {
                let k = out.len();
                for (j, o) in out.iter_mut().enumerate() {
                    *o = row_uniform(*seed, i * k + j);
                }
                let total: f64 = out.iter().sum();
                for o in out.iter_mut() {
                    *o /= total;
                }
            }
        }
    }
}

/// Checks what a fit needs of the data beyond the model's rules: at least two rows, and at
/// least as many as components.
fn check_rows(x: &Rows<'_>, k: usize) -> Result<()> {
    x.check_complete_data(x.ncols())?;
    if x.ncols() == 0 {
        return Err(Error::data("data", "must have at least one column"));
    }
    if x.nrows() < 2 {
        return Err(Error::data(
            "data",
            format!("must have at least 2 rows to fit, got {}", x.nrows()),
        ));
    }
    if x.nrows() < k {
        return Err(Error::param(
            "n_components",
            format!(
                "Expected n_samples >= n_components but got n_components = {k}, n_samples = {}",
                x.nrows()
            ),
        ));
    }
    Ok(())
}

impl GaussianMixture {
    /// Fits a mixture to `x`, shape `(n, d)`, by EM with scikit-learn's semantics: see
    /// [`fit_with`](Self::fit_with).
    pub fn fit<T: Element>(
        x: ArrayView2<T>,
        opts: &GaussianMixtureOptions,
    ) -> Result<(GaussianMixture, GaussianFitReport)> {
        Self::fit_rows(x.into(), opts, |_| Ok(()))
    }

    /// Fits a mixture to `x`, shape `(n, d)`, calling `on_event` as the fit goes (an error from
    /// it stops the fit and is returned).
    ///
    /// Each of `opts.n_init` initialisations starts from `weights_init`, `means_init` and
    /// `precisions_init` where given, and from an M-step on the responsibilities of `opts.init`
    /// for the others; then each EM iteration computes the lower bound (the mean log-likelihood
    /// per sample) under the current parameters and the M-step's moments in one pass, and stops
    /// when the lower bound changed by less than `tol`, or after `max_iter` iterations. The
    /// initialisation with the largest final lower bound is kept (with `max_iter = 0`, the last
    /// one). The data must be finite, with at least two rows and `n_components` rows.
    pub fn fit_with<T: Element>(
        x: ArrayView2<T>,
        opts: &GaussianMixtureOptions,
        on_event: impl FnMut(&GaussianEvent) -> Result<()> + Send,
    ) -> Result<(GaussianMixture, GaussianFitReport)> {
        Self::fit_rows(x.into(), opts, on_event)
    }

    /// [`fit_with`](Self::fit_with) of rows of either element type.
    #[doc(hidden)]
    pub fn fit_rows(
        x: Rows<'_>,
        opts: &GaussianMixtureOptions,
        mut on_event: impl FnMut(&GaussianEvent) -> Result<()> + Send,
    ) -> Result<(GaussianMixture, GaussianFitReport)> {
        opts.check()?;
        let (k, d) = (opts.n_components, x.ncols());
        check_rows(&x, k)?;
        if let Some(w) = &opts.weights_init {
            check_weights_init(w, k)?;
        }
        if let Some(m) = &opts.means_init {
            check_means_init(m, k, d)?;
        }
        let given_factor = match &opts.precisions_init {
            Some(p) => Some(precisions_factor(p, k, d)?),
            None => None,
        };
        let mut rng = seeded(opts.seed);
        opts.threads.install(|| {
            let mut best: Option<(GaussianMixture, GaussianFitReport)> = None;
            for init in 0..opts.n_init {
                on_event(&GaussianEvent::InitStart { init })?;
                let mut model = initial(x, opts, given_factor.as_ref(), rng.next_u64())?;
                let report = model.em(x, opts, f64::NEG_INFINITY, init, &mut on_event)?;
                let better = match &best {
                    None => true,
                    Some((_, b)) => {
                        opts.max_iter == 0
                            || report.lower_bound > b.lower_bound
                            || b.lower_bound == f64::NEG_INFINITY
                    }
                };
                if better {
                    best = Some((model, report));
                }
            }
            Ok(best.expect("at least one initialisation"))
        })?
    }

    /// Continues fitting from the current parameters (scikit-learn's warm start): one run of EM
    /// on `x`, whose first change is measured from `lower_bound` (the last fit's). The options'
    /// initial parameters, `init` and `n_init` do not apply.
    pub fn fit_more<T: Element>(
        &mut self,
        x: ArrayView2<T>,
        opts: &GaussianMixtureOptions,
        lower_bound: f64,
        on_event: impl FnMut(&GaussianEvent) -> Result<()> + Send,
    ) -> Result<GaussianFitReport> {
        self.fit_more_rows(x.into(), opts, lower_bound, on_event)
    }

    /// [`fit_more`](Self::fit_more) of rows of either element type.
    #[doc(hidden)]
    pub fn fit_more_rows(
        &mut self,
        x: Rows<'_>,
        opts: &GaussianMixtureOptions,
        lower_bound: f64,
        mut on_event: impl FnMut(&GaussianEvent) -> Result<()> + Send,
    ) -> Result<GaussianFitReport> {
        opts.check()?;
        check_rows(&x, self.n_components())?;
        x.check_complete_data(self.n_features())?;
        if opts.covariance_type != self.covariance_type() {
            return Err(Error::param(
                "covariance_type",
                format!(
                    "a warm start continues a '{}' mixture, got '{}'",
                    self.covariance_type().name(),
                    opts.covariance_type.name()
                ),
            ));
        }
        opts.threads.install(|| {
            on_event(&GaussianEvent::InitStart { init: 0 })?;
            self.em(x, opts, lower_bound, 0, &mut on_event)
        })?
    }

    /// EM from the current parameters, on the current pool.
    fn em(
        &mut self,
        x: Rows<'_>,
        opts: &GaussianMixtureOptions,
        mut lower_bound: f64,
        init: usize,
        on_event: &mut impl FnMut(&GaussianEvent) -> Result<()>,
    ) -> Result<GaussianFitReport> {
        let n = x.nrows() as f64;
        let mut report = GaussianFitReport {
            converged: false,
            n_iter: 0,
            lower_bound: f64::NEG_INFINITY,
            lower_bounds: Vec::new(),
        };
        if opts.max_iter == 0 {
            return Ok(report);
        }
        for n_iter in 1..=opts.max_iter {
            let previous = lower_bound;
            let plan = self.plan()?;
            let pass = e_pass(&plan, x, &opts.cancel)?;
            lower_bound = if pass.unexplained > 0.0 {
                f64::NEG_INFINITY
            } else {
                pass.log_likelihood / n
            };
            if lower_bound.is_nan() {
                return Err(Error::data(
                    "data",
                    format!("the log-likelihood became NaN in iteration {n_iter}"),
                ));
            }
            let sums = sums_of(
                &plan,
                pass.moments,
                opts.covariance_type,
                self.n_components(),
                self.n_features(),
            );
            let est = estimate(opts.covariance_type, &sums, opts.reg_covar);
            let total = est.nk.sum();
            self.precisions_cholesky = precisions_cholesky(&est.covariances)?;
            self.weights = est.nk.mapv(|v| v / total);
            self.means = est.means;
            self.covariances = est.covariances;
            report.lower_bounds.push(lower_bound);
            report.n_iter = n_iter;
            let change = lower_bound - previous;
            on_event(&GaussianEvent::Iteration {
                init,
                n_iter,
                lower_bound,
                change,
            })?;
            if change.abs() < opts.tol {
                report.converged = true;
                break;
            }
        }
        report.lower_bound = lower_bound;
        on_event(&GaussianEvent::InitEnd {
            init,
            lower_bound,
            converged: report.converged,
        })?;
        Ok(report)
    }
}

/// The moments of a pass as [`Sums`] around the plan's means.
fn sums_of(plan: &Plan, mut m: Moments, t: CovarianceType, k: usize, d: usize) -> Sums {
    let mut s = Sums {
        k,
        d,
        full: matches!(t, CovarianceType::Full | CovarianceType::Tied),
        weight: Vec::with_capacity(k),
        shift: Vec::with_capacity(k * d),
        sum: Vec::with_capacity(k * d),
        products: Vec::new(),
    };
    for j in 0..k {
        let g = plan.moments_of(&mut m, j);
        s.weight.push(g.weight);
        s.shift.extend_from_slice(g.shift);
        s.sum.extend_from_slice(g.sum);
        s.products.extend_from_slice(g.products);
    }
    s
}

/// The E-step of the rows of `x` through the fused kernels, in chunks merged in row order.
fn e_pass(plan: &Plan, x: Rows<'_>, cancel: &Cancel) -> Result<Pass> {
    let chunk = |rows: std::ops::Range<usize>| -> Result<Pass> {
        cancel.check()?;
        let mut scratch = plan.scratch()?;
        let mut part = Pass {
            log_likelihood: 0.0,
            unexplained: 0.0,
            moments: plan.moments()?,
        };
        for block in blocks(rows) {
            let xb = x.slice(block.clone());
            if !plan.load(xb, &mut scratch) {
                return Err(far_rows());
            }
            let t = plan.summarize(xb, None, &mut scratch, &mut part.moments);
            if let Some(b) = t.invalid {
                return Err(Error::data(
                    "data",
                    format!(
                        "the log-probability of row {} is not a number",
                        block.start + b
                    ),
                ));
            }
            part.log_likelihood += t.log_likelihood;
            part.unexplained += t.unexplained;
        }
        Ok(part)
    };
    let merge = |mut total: Pass, part: Pass| -> Result<Pass> {
        total.log_likelihood += part.log_likelihood;
        total.unexplained += part.unexplained;
        let (a, b) = (&mut total.moments, &part.moments);
        for (t, p) in [
            (&mut a.weight, &b.weight),
            (&mut a.sum, &b.sum),
            (&mut a.products, &b.products),
        ] {
            for (u, v) in t.iter_mut().zip(p.iter()) {
                *u += v;
            }
        }
        Ok(total)
    };
    let empty = Pass {
        log_likelihood: 0.0,
        unexplained: 0.0,
        moments: plan.moments()?,
    };
    try_fold_chunks(true, 0..x.nrows(), empty, chunk, merge)
}

/// The moments of the rows under fixed responsibilities, around shift points: first the
/// weighted means (shift 0), then the moments around them, so that the M-step's scatter does not
/// lose precision to the data's offset.
fn responsibility_sums(
    x: Rows<'_>,
    resp: &Responsibilities,
    k: usize,
    full: bool,
    cancel: &Cancel,
) -> Result<Sums> {
    let d = x.ncols();
    let per = if full { d * d } else { d };
    let zero = |shift: Vec<f64>| Sums {
        k,
        d,
        full,
        weight: vec![0.0; k],
        shift,
        sum: vec![0.0; k * d],
        products: vec![0.0; k * per],
    };
    let pass = |shift: Vec<f64>, second: bool| -> Result<Sums> {
        let chunk = |rows: std::ops::Range<usize>| -> Result<Sums> {
            cancel.check()?;
            let mut part = zero(shift.clone());
            let (mut r, mut diff) = (vec![0.0; k], vec![0.0; d]);
            let mut buf = Vec::new();
            for block in blocks(rows) {
                let xb = x.block(block.clone(), &mut buf);
                for i in block.clone() {
                    let row = xb.row(i - block.start);
                    resp.row(i, &mut r);
                    for (j, &rj) in r.iter().enumerate() {
                        if rj == 0.0 {
                            continue;
                        }
                        part.weight[j] += rj;
                        for l in 0..d {
                            diff[l] = row[l] - shift[j * d + l];
                            part.sum[j * d + l] += rj * diff[l];
                        }
                        if second {
                            let p = &mut part.products[j * per..(j + 1) * per];
                            if full {
                                for a in 0..d {
                                    let ra = rj * diff[a];
                                    for b in a..d {
                                        p[a * d + b] += ra * diff[b];
                                    }
                                }
                            } else {
                                for l in 0..d {
                                    p[l] += rj * diff[l] * diff[l];
                                }
                            }
                        }
                    }
                }
            }
            Ok(part)
        };
        let merge = |mut total: Sums, part: Sums| -> Result<Sums> {
            for (t, p) in [
                (&mut total.weight, &part.weight),
                (&mut total.sum, &part.sum),
                (&mut total.products, &part.products),
            ] {
                for (u, v) in t.iter_mut().zip(p.iter()) {
                    *u += v;
                }
            }
            Ok(total)
        };
        try_fold_chunks(true, 0..x.nrows(), zero(shift.clone()), chunk, merge)
    };
    let first = pass(vec![0.0; k * d], false)?;
    let shift: Vec<f64> = (0..k * d)
        .map(|v| {
            let w = first.weight[v / d];
            if w > 0.0 {
                first.sum[v] / w
            } else {
                0.0
            }
        })
        .collect();
    let mut sums = pass(shift, true)?;
    if full {
        // Only the upper triangles were summed.
        for j in 0..k {
            let p = &mut sums.products[j * per..(j + 1) * per];
            for a in 0..d {
                for b in 0..a {
                    p[a * d + b] = p[b * d + a];
                }
            }
        }
    }
    Ok(sums)
}

/// The rows of `x` equal to `centroids` (chosen among the rows by a seeding), as labels: the
/// first row not taken yet that equals each centroid.
fn rows_of(x: Rows<'_>, centroids: ArrayView2<f64>) -> Vec<u32> {
    let mut labels = vec![u32::MAX; x.nrows()];
    for (j, c) in centroids.rows().into_iter().enumerate() {
        if let Some(i) = (0..x.nrows()).find(|&i| labels[i] == u32::MAX && x.row_equals(i, c)) {
            labels[i] = j as u32;
        }
    }
    labels
}

/// The parameters an initialisation starts from: the given ones, and an M-step on the
/// responsibilities of `opts.init` for the others (scikit-learn's `_initialize`: the weights
/// `n_k / n`).
fn initial(
    x: Rows<'_>,
    opts: &GaussianMixtureOptions,
    given_factor: Option<&Covariances>,
    seed: u64,
) -> Result<GaussianMixture> {
    let (n, k) = (x.nrows(), opts.n_components);
    let t = opts.covariance_type;
    if let (Some(w), Some(m), Some(p)) = (&opts.weights_init, &opts.means_init, given_factor) {
        return Ok(GaussianMixture {
            weights: w.clone(),
            means: m.clone(),
            covariances: mstep::covariances_of(t, p)?,
            precisions_cholesky: p.clone(),
        });
    }
    let seeding = |init: Init| -> Result<Vec<u32>> {
        let mut kopts = KmeansOptions::new(k);
        kopts.init = init;
        kopts.seed = seed;
        kopts.threads = Threads::Current;
        let c = Kmeans::initial_centroids_rows(x.reborrow(), None, &kopts)?;
        Ok(rows_of(x, c.view()))
    };
    let resp = match opts.init {
        GaussianInit::KMeans => {
            let mut kopts = KmeansOptions::new(k);
            kopts.max_iterations = 300;
            kopts.stop_threshold = 0.0;
            kopts.seed = seed;
            kopts.threads = Threads::Current;
            let km = Kmeans::fit_rows(x.reborrow(), None, &kopts)?.0;
            let labels = km.predict_rows(x.reborrow(), Threads::Current)?;
            Responsibilities::Labels(labels.iter().map(|&j| j as u32).collect())
        }
        GaussianInit::KMeansPlusPlus => Responsibilities::Labels(seeding(Init::KMeansPlusPlus)?),
        GaussianInit::RandomFromData => Responsibilities::Labels(seeding(Init::Random)?),
        GaussianInit::Random => Responsibilities::Random(seed),
    };
    let full = matches!(t, CovarianceType::Full | CovarianceType::Tied);
    let sums = responsibility_sums(x, &resp, k, full, &opts.cancel)?;
    let Estimates {
        nk,
        means,
        covariances,
    } = estimate(t, &sums, opts.reg_covar);
    let weights = match &opts.weights_init {
        Some(w) => w.clone(),
        None => nk.mapv(|v| v / n as f64),
    };
    let means = opts.means_init.clone().unwrap_or(means);
    let (covariances, precisions_cholesky) = match given_factor {
        Some(p) => (mstep::covariances_of(t, p)?, p.clone()),
        None => {
            let p = precisions_cholesky(&covariances)?;
            (covariances, p)
        }
    };
    Ok(GaussianMixture {
        weights,
        means,
        covariances,
        precisions_cholesky,
    })
}
