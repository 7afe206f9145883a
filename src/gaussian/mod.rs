//! Gaussian mixtures with scikit-learn's semantics (`sklearn.mixture.GaussianMixture`): four
//! covariance types, `reg_covar` added to the diagonal, the lower bound as the mean
//! log-likelihood per sample and `tol` on its change, `n_init` restarts keeping the best lower
//! bound, and warm starts.
//!
//! - `mod.rs` (this file): the model, its covariance types and options, prediction, sampling;
//! - `mstep.rs`: the M-step from weighted moments, the precisions' Cholesky factors;
//! - `fit.rs`: the EM loop, the initialisations and the one pass over the data per iteration.
//!
//! The E-step runs on the fused kernels of [`crate::kernels`]: `full` and `tied` as full
//! covariance forms (tied: every component hands the kernels the same factor), `diag` and
//! `spherical` as diagonal forms (spherical: one variance repeated over the features). Each
//! iteration is one pass over the data: the log-likelihood under the current parameters and the
//! moments of the next M-step come out of the same pass, in blocks whose sums merge in row order,
//! so results do not depend on the thread count.

mod fit;
mod mstep;

use ndarray::{s, Array1, Array2, Array3, ArrayView2};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::kernels::{Gaussian, Plan};
use crate::linalg::{cholesky, gemm, lower_triangular_inverse, Part};
use crate::parallel::{chunk_rows, Cancel, Threads, BLOCK_ROWS};
use crate::rng::{seeded, standard_normal, uniform01};
use crate::rows::{Element, Rows};
use crate::validate::{at_least_one, check_threads, non_negative, zeros_checked};

pub use fit::{GaussianEvent, GaussianFitReport};

/// How the components' covariances are parameterised (scikit-learn's `covariance_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CovarianceType {
    /// Each component has its own full covariance matrix.
    #[default]
    Full,
    /// All components share one full covariance matrix.
    Tied,
    /// Each component has its own diagonal covariance matrix.
    Diag,
    /// Each component has its own single variance.
    Spherical,
}

impl CovarianceType {
    /// The type for one of scikit-learn's names: `"full"`, `"tied"`, `"diag"`, `"spherical"`.
    pub fn from_name(name: &str) -> Result<Self> {
        match name {
            "full" => Ok(CovarianceType::Full),
            "tied" => Ok(CovarianceType::Tied),
            "diag" => Ok(CovarianceType::Diag),
            "spherical" => Ok(CovarianceType::Spherical),
            _ => Err(Error::param(
                "covariance_type",
                format!("must be one of 'full', 'tied', 'diag', 'spherical', got '{name}'"),
            )),
        }
    }

    /// scikit-learn's name of the type.
    pub fn name(self) -> &'static str {
        match self {
            CovarianceType::Full => "full",
            CovarianceType::Tied => "tied",
            CovarianceType::Diag => "diag",
            CovarianceType::Spherical => "spherical",
        }
    }
}

/// Arrays in the shape a covariance type gives its covariances, precisions or precisions'
/// Cholesky factors (scikit-learn's shapes).
#[derive(Debug, Clone, PartialEq)]
pub enum Covariances {
    /// `(n_components, n_features, n_features)`.
    Full(Array3<f64>),
    /// `(n_features, n_features)`.
    Tied(Array2<f64>),
    /// `(n_components, n_features)`.
    Diag(Array2<f64>),
    /// `(n_components,)`.
    Spherical(Array1<f64>),
}

impl Covariances {
    /// The covariance type of these arrays.
    pub fn covariance_type(&self) -> CovarianceType {
        match self {
            Covariances::Full(_) => CovarianceType::Full,
            Covariances::Tied(_) => CovarianceType::Tied,
            Covariances::Diag(_) => CovarianceType::Diag,
            Covariances::Spherical(_) => CovarianceType::Spherical,
        }
    }

    /// The shape these arrays must have for `k` components in `d` features.
    #[doc(hidden)]
    pub fn expected_shape(t: CovarianceType, k: usize, d: usize) -> Vec<usize> {
        match t {
            CovarianceType::Full => vec![k, d, d],
            CovarianceType::Tied => vec![d, d],
            CovarianceType::Diag => vec![k, d],
            CovarianceType::Spherical => vec![k],
        }
    }

    /// The shape of the arrays.
    fn shape(&self) -> Vec<usize> {
        match self {
            Covariances::Full(a) => a.shape().to_vec(),
            Covariances::Tied(a) | Covariances::Diag(a) => a.shape().to_vec(),
            Covariances::Spherical(a) => a.shape().to_vec(),
        }
    }

    /// The values, in row-major order.
    fn values(&self) -> Vec<f64> {
        match self {
            Covariances::Full(a) => a.iter().copied().collect(),
            Covariances::Tied(a) | Covariances::Diag(a) => a.iter().copied().collect(),
            Covariances::Spherical(a) => a.to_vec(),
        }
    }
}

/// How the initial parameters are chosen (scikit-learn's `init_params`), when they are not all
/// given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GaussianInit {
    /// k-means (seeded by k-means++, Lloyd updates until the inertia stops decreasing), then an
    /// M-step from its hard labels.
    #[default]
    KMeans,
    /// k-means++ seeding alone: an M-step from the `n_components` rows it chose (responsibility
    /// 1 for the row chosen for a component, 0 for the others).
    KMeansPlusPlus,
    /// An M-step from uniformly random responsibilities, normalised per row.
    Random,
    /// An M-step from `n_components` distinct rows drawn uniformly.
    RandomFromData,
}

impl GaussianInit {
    /// The initialisation for one of scikit-learn's names: `"kmeans"`, `"k-means++"`,
    /// `"random"`, `"random_from_data"`.
    pub fn from_name(name: &str) -> Result<Self> {
        match name {
            "kmeans" => Ok(GaussianInit::KMeans),
            "k-means++" => Ok(GaussianInit::KMeansPlusPlus),
            "random" => Ok(GaussianInit::Random),
            "random_from_data" => Ok(GaussianInit::RandomFromData),
            _ => Err(Error::param(
                "init_params",
                format!(
                    "must be one of 'kmeans', 'k-means++', 'random', 'random_from_data', got '{name}'"
                ),
            )),
        }
    }
}

/// The options of [`GaussianMixture::fit`], with scikit-learn's names and defaults
/// ([`GaussianMixtureOptions::new`]); [`check`](Self::check) validates them.
///
/// Two options are equal when their values are; the [`cancel`](#structfield.cancel) flag is not
/// compared (see [`Cancel`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct GaussianMixtureOptions {
    /// The number of components (at least 1; given to [`new`](GaussianMixtureOptions::new), no
    /// default).
    pub n_components: usize,
    /// The covariance type (default `Full`).
    pub covariance_type: CovarianceType,
    /// Stop when the lower bound (mean log-likelihood per sample) changes by less than this in
    /// one iteration (default 1e-3).
    pub tol: f64,
    /// Added to the diagonal of every covariance (default 1e-6).
    pub reg_covar: f64,
    /// The most EM iterations per initialisation (default 100); 0 keeps the initial parameters.
    pub max_iter: u64,
    /// Initialisations to run; the one with the best final lower bound is kept (default 1).
    pub n_init: usize,
    /// How initial parameters that are not given are chosen (default k-means).
    pub init: GaussianInit,
    /// The initial weights, shape `(n_components,)`, in [0, 1] and summing to 1 (default
    /// `None`: from the initialisation).
    pub weights_init: Option<Array1<f64>>,
    /// The initial means, shape `(n_components, n_features)` (default `None`: from the
    /// initialisation).
    pub means_init: Option<Array2<f64>>,
    /// The initial precisions (inverse covariances), in the shape of the covariance type
    /// (default `None`: from the initialisation).
    pub precisions_init: Option<Covariances>,
    /// The seed of the random generator (ChaCha8) of the initialisations (default 0).
    pub seed: u64,
    /// The threads to use (default [`Threads::Current`]); the result does not depend on them.
    pub threads: Threads,
    /// A flag another thread can set to stop the fit (checked before every chunk of rows); a
    /// new flag by default. Clones of the options share it (see [`Cancel`]).
    pub cancel: Cancel,
}

setters!(GaussianMixtureOptions {
    n_components: usize,
    covariance_type: CovarianceType,
    tol: f64,
    reg_covar: f64,
    max_iter: u64,
    n_init: usize,
    init: GaussianInit,
    seed: u64,
    threads: Threads,
    cancel: Cancel,
} optional {
    weights_init: Array1<f64>,
    means_init: Array2<f64>,
    precisions_init: Covariances,
});

impl PartialEq for GaussianMixtureOptions {
    fn eq(&self, other: &Self) -> bool {
        // Every field but the flag, named so that a new field is not forgotten here.
        let GaussianMixtureOptions {
            n_components,
            covariance_type,
            tol,
            reg_covar,
            max_iter,
            n_init,
            init,
            weights_init,
            means_init,
            precisions_init,
            seed,
            threads,
            cancel: _,
        } = self;
        *n_components == other.n_components
            && *covariance_type == other.covariance_type
            && *tol == other.tol
            && *reg_covar == other.reg_covar
            && *max_iter == other.max_iter
            && *n_init == other.n_init
            && *init == other.init
            && *weights_init == other.weights_init
            && *means_init == other.means_init
            && *precisions_init == other.precisions_init
            && *seed == other.seed
            && *threads == other.threads
    }
}

impl GaussianMixtureOptions {
    /// scikit-learn's defaults for `n_components` components.
    pub fn new(n_components: usize) -> Self {
        GaussianMixtureOptions {
            n_components,
            covariance_type: CovarianceType::Full,
            tol: 1e-3,
            reg_covar: 1e-6,
            max_iter: 100,
            n_init: 1,
            init: GaussianInit::KMeans,
            weights_init: None,
            means_init: None,
            precisions_init: None,
            seed: 0,
            threads: Threads::Current,
            cancel: Cancel::default(),
        }
    }

    /// Checks the options that do not depend on the data; the error names the offending one.
    pub fn check(&self) -> Result<()> {
        at_least_one("n_components", Some(self.n_components))?;
        if self.tol.is_nan() || self.tol < 0.0 {
            return Err(Error::param(
                "tol",
                format!("must be non-negative, got {}", self.tol),
            ));
        }
        non_negative("reg_covar", self.reg_covar)?;
        at_least_one("n_init", Some(self.n_init))?;
        if let Some(p) = &self.precisions_init {
            if p.covariance_type() != self.covariance_type {
                return Err(Error::param(
                    "precisions_init",
                    format!(
                        "must have the shape of covariance_type '{}', got arrays of '{}'",
                        self.covariance_type.name(),
                        p.covariance_type().name()
                    ),
                ));
            }
        }
        check_threads(self.threads)
    }
}

/// A fitted Gaussian mixture in scikit-learn's parameterisation: weights, means, covariances and
/// the Cholesky factors of the precisions (`precisions_cholesky`: for full and tied covariance
/// an upper-triangular `U` with `precision = U U^T`; for diagonal and spherical covariance
/// `1 / sqrt(variance)`).
///
/// ```
/// use mixtura::{CovarianceType, GaussianMixture, GaussianMixtureOptions, Threads};
/// use ndarray::array;
///
/// let x = array![[0.0, 0.1], [0.2, -0.1], [-0.1, 0.0], [5.0, 5.1], [5.2, 4.9], [4.9, 5.0]];
/// let mut opts = GaussianMixtureOptions::new(2);
/// opts.covariance_type = CovarianceType::Tied;
/// let (model, report) = GaussianMixture::fit(x.view(), &opts)?;
/// assert!(report.converged);
/// let labels = model.predict(x.view(), Threads::Current)?;
/// assert_eq!(labels[0], labels[1]);
/// assert_ne!(labels[0], labels[3]);
/// assert_eq!(model.means().dim(), (2, 2));
/// # Ok::<(), mixtura::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct GaussianMixture {
    weights: Array1<f64>,
    means: Array2<f64>,
    covariances: Covariances,
    precisions_cholesky: Covariances,
}

/// A shape as Python writes a tuple: `(2,)`, `(2, 3)`.
fn tuple(shape: &[usize]) -> String {
    match shape {
        [one] => format!("({one},)"),
        _ => {
            let parts: Vec<String> = shape.iter().map(|v| v.to_string()).collect();
            format!("({})", parts.join(", "))
        }
    }
}

/// The shape error of a parameter `name` (called `what` in scikit-learn's message).
#[doc(hidden)]
pub fn shape_error(name: &str, what: &str, expected: &[usize], got: &[usize]) -> Error {
    Error::param(
        name,
        format!(
            "The parameter '{what}' should have the shape of {}, but got {}",
            tuple(expected),
            tuple(got)
        ),
    )
}

/// scikit-learn's name of the precisions of a covariance type in its messages.
#[doc(hidden)]
pub fn precision_name(t: CovarianceType) -> String {
    format!("{} precision", t.name())
}

/// `J a J`, `a` with its rows and columns in reverse order.
fn reversed(a: &ArrayView2<f64>) -> Array2<f64> {
    a.slice(s![..;-1, ..;-1]).to_owned()
}

/// The upper-triangular `U` with `p = U U^T` (scikit-learn's factor of given precisions): the
/// Cholesky factor of `p` with its rows and columns reversed, reversed back.
fn upper_factor(name: &str, what: &str, p: ArrayView2<f64>) -> Result<Array2<f64>> {
    let d = p.nrows();
    let not_spd = || {
        Error::param(
            name,
            format!("'{what}' should be symmetric, positive-definite"),
        )
    };
    for a in 0..d {
        for b in 0..a {
            let (u, v) = (p[[a, b]], p[[b, a]]);
            if (u - v).abs() > 1e-8 + 1e-5 * v.abs() {
                return Err(not_spd());
            }
        }
    }
    let l = cholesky(reversed(&p).view())?.ok_or_else(not_spd)?;
    Ok(reversed(&l.view()))
}

/// `U U^T` (the packed products: the same bits on every kernel path).
fn times_transpose(u: ArrayView2<f64>) -> Array2<f64> {
    let mut out = Array2::zeros((u.nrows(), u.nrows()));
    gemm(1.0, u, u.t(), out.view_mut(), Part::Whole);
    out
}

impl GaussianMixture {
    /// A mixture from its parameters: `weights`, shape `(k,)` (in [0, 1], summing to 1 within
    /// 1e-8), `means`, shape `(k, d)`, and `precisions` (inverse covariances) in the shape of
    /// their covariance type; errors name `weights_init`, `means_init` and `precisions_init`.
    pub fn from_parameters(
        weights: Array1<f64>,
        means: Array2<f64>,
        precisions: Covariances,
    ) -> Result<Self> {
        let (k, d) = means.dim();
        non_empty(k, d)?;
        check_weights_init(&weights, k)?;
        check_means_init(&means, k, d)?;
        let t = precisions.covariance_type();
        let precisions_cholesky = precisions_factor(&precisions, k, d)?;
        let covariances = mstep::covariances_of(t, &precisions_cholesky)?;
        Ok(GaussianMixture {
            weights,
            means,
            covariances,
            precisions_cholesky,
        })
    }

    /// A mixture from fitted parameters as [`GaussianMixture`]'s accessors give them (for
    /// example a saved model): `weights`, shape `(k,)`, `means`, shape `(k, d)`, and the
    /// covariances and the precisions' Cholesky factors in the shape of one covariance type,
    /// taken as they are (the factors must have a positive diagonal; nothing is recomputed, so
    /// the model predicts exactly as the one saved).
    pub fn from_parts(
        weights: Array1<f64>,
        means: Array2<f64>,
        covariances: Covariances,
        precisions_cholesky: Covariances,
    ) -> Result<Self> {
        let (k, d) = means.dim();
        non_empty(k, d)?;
        if weights.len() != k {
            return Err(shape_error("weights", "weights", &[k], &[weights.len()]));
        }
        if weights.iter().any(|w| !(w.is_finite() && *w >= 0.0)) {
            return Err(Error::param("weights", "must be finite and non-negative"));
        }
        if means.iter().any(|v| !v.is_finite()) {
            return Err(Error::param("means", "must be finite"));
        }
        let t = covariances.covariance_type();
        let want = Covariances::expected_shape(t, k, d);
        for (name, a) in [
            ("covariances", &covariances),
            ("precisions_cholesky", &precisions_cholesky),
        ] {
            if a.covariance_type() != t {
                return Err(Error::param(
                    name,
                    format!("must be of covariance type '{}'", t.name()),
                ));
            }
            if a.shape() != want {
                return Err(shape_error(name, name, &want, &a.shape()));
            }
            if a.values().iter().any(|v| !v.is_finite()) {
                return Err(Error::param(name, "must be finite"));
            }
        }
        let diagonal_positive = match &precisions_cholesky {
            Covariances::Full(u) => u.outer_iter().all(|f| (0..d).all(|l| f[[l, l]] > 0.0)),
            Covariances::Tied(u) => (0..d).all(|l| u[[l, l]] > 0.0),
            Covariances::Diag(u) => u.iter().all(|v| *v > 0.0),
            Covariances::Spherical(u) => u.iter().all(|v| *v > 0.0),
        };
        if !diagonal_positive {
            return Err(Error::param(
                "precisions_cholesky",
                "must have a positive diagonal",
            ));
        }
        Ok(GaussianMixture {
            weights,
            means,
            covariances,
            precisions_cholesky,
        })
    }

    /// The covariance type.
    pub fn covariance_type(&self) -> CovarianceType {
        self.covariances.covariance_type()
    }

    /// The number of components.
    pub fn n_components(&self) -> usize {
        self.means.nrows()
    }

    /// The number of features.
    pub fn n_features(&self) -> usize {
        self.means.ncols()
    }

    /// The weights of the components, shape `(n_components,)`.
    pub fn weights(&self) -> &Array1<f64> {
        &self.weights
    }

    /// The means, shape `(n_components, n_features)`.
    pub fn means(&self) -> &Array2<f64> {
        &self.means
    }

    /// The covariances, in the shape of the covariance type.
    pub fn covariances(&self) -> &Covariances {
        &self.covariances
    }

    /// The Cholesky factors of the precisions, in the shape of the covariance type.
    pub fn precisions_cholesky(&self) -> &Covariances {
        &self.precisions_cholesky
    }

    /// The precisions (inverse covariances), in the shape of the covariance type:
    /// `U U^T` of the factors, or their squares.
    pub fn precisions(&self) -> Covariances {
        match &self.precisions_cholesky {
            Covariances::Full(u) => {
                let mut p = u.clone();
                for (mut o, f) in p.outer_iter_mut().zip(u.outer_iter()) {
                    o.assign(&times_transpose(f));
                }
                Covariances::Full(p)
            }
            Covariances::Tied(u) => Covariances::Tied(times_transpose(u.view())),
            Covariances::Diag(u) => Covariances::Diag(u.mapv(|v| v * v)),
            Covariances::Spherical(u) => Covariances::Spherical(u.mapv(|v| v * v)),
        }
    }

    /// The number of free parameters (scikit-learn's `_n_parameters`).
    pub fn n_parameters(&self) -> usize {
        let (k, d) = self.means.dim();
        let cov = match self.covariance_type() {
            CovarianceType::Full => k * d * (d + 1) / 2,
            CovarianceType::Tied => d * (d + 1) / 2,
            CovarianceType::Diag => k * d,
            CovarianceType::Spherical => k,
        };
        cov + k * d + k - 1
    }

    /// The plan of the fused kernels for these parameters.
    fn plan(&self) -> Result<Plan> {
        let (k, d) = self.means.dim();
        let half_log_2pi = 0.5 * (2.0 * std::f64::consts::PI).ln();
        let log_weights: Vec<f64> = self.weights.iter().map(|w| w.ln()).collect();
        let means = self.means.as_standard_layout();
        let mean = |j: usize| &means.as_slice().expect("standard layout")[j * d..(j + 1) * d];
        let log_det = |u: ArrayView2<f64>| (0..d).map(|l| u[[l, l]].ln()).sum::<f64>();
        let plan = match &self.precisions_cholesky {
            Covariances::Full(u) => {
                // The kernels take `A` with `|A (x - mu)|^2` the quadratic form: `A = U^T`.
                let a: Vec<Array2<f64>> = u.outer_iter().map(|f| f.t().to_owned()).collect();
                let norms: Vec<f64> = u
                    .outer_iter()
                    .map(|f| log_det(f) - d as f64 * half_log_2pi)
                    .collect();
                Plan::new(
                    (0..k).map(|j| {
                        Some(Gaussian::Full {
                            means: mean(j),
                            inv_chol: a[j].view(),
                            log_norm: norms[j],
                        })
                    }),
                    &log_weights,
                )?
            }
            Covariances::Tied(u) => {
                let a = u.t().to_owned();
                let norm = log_det(u.view()) - d as f64 * half_log_2pi;
                Plan::new(
                    (0..k).map(|j| {
                        Some(Gaussian::Full {
                            means: mean(j),
                            inv_chol: a.view(),
                            log_norm: norm,
                        })
                    }),
                    &log_weights,
                )?
            }
            Covariances::Diag(u) => Plan::new(
                (0..k).map(|j| {
                    let f = u.row(j);
                    Some(Gaussian::Diagonal {
                        means: mean(j).to_vec(),
                        half_inv_var: f.iter().map(|v| 0.5 * v * v).collect(),
                        log_norm: f.iter().map(|v| v.ln()).sum::<f64>() - d as f64 * half_log_2pi,
                    })
                }),
                &log_weights,
            )?,
            Covariances::Spherical(u) => Plan::new(
                (0..k).map(|j| {
                    let f = u[j];
                    Some(Gaussian::Diagonal {
                        means: mean(j).to_vec(),
                        half_inv_var: vec![0.5 * f * f; d],
                        log_norm: d as f64 * (f.ln() - half_log_2pi),
                    })
                }),
                &log_weights,
            )?,
        };
        plan.ok_or_else(|| {
            Error::data(
                "data",
                "the covariances are too large or too small to evaluate (a precision factor or \
                 its log-determinant is not finite, or a variance is above about 1e153); scale \
                 the data or increase reg_covar",
            )
        })
    }

    /// Checks rows to evaluate: `d` columns, at least one row, every value finite.
    fn check_rows(&self, x: &Rows<'_>) -> Result<()> {
        x.check_complete_data(self.n_features())
    }

    /// `log w_j + log p_j(x_i)` of every row of `x` passed to `per_row` with the row's index,
    /// in parallel over chunks, each chunk writing its rows of `out` (`width` values per row).
    fn rows_into(
        &self,
        x: Rows<'_>,
        out: &mut [f64],
        width: usize,
        per_row: impl Fn(&[f64], &mut [f64]) + Sync,
    ) -> Result<()> {
        let (n, k) = (x.nrows(), self.n_components());
        let plan = self.plan()?;
        let size = chunk_rows(n);
        out.par_chunks_mut(size * width)
            .enumerate()
            .try_for_each(|(c, part)| -> Result<()> {
                let start = c * size;
                let end = (start + size).min(n);
                let mut s = plan.scratch()?;
                let mut joint = vec![0.0; k];
                for b0 in (start..end).step_by(BLOCK_ROWS) {
                    let block = b0..(b0 + BLOCK_ROWS).min(end);
                    let xb = x.slice(block.clone());
                    let m = block.len();
                    if !plan.load(xb, &mut s) {
                        return Err(far_rows());
                    }
                    plan.log_joint(xb, &mut s);
                    for (b, i) in block.enumerate() {
                        for (j, v) in joint.iter_mut().enumerate() {
                            *v = s.lp[j * m + b];
                        }
                        per_row(
                            &joint,
                            &mut part[(i - start) * width..(i - start + 1) * width],
                        );
                    }
                }
                Ok(())
            })
    }

    /// The log-density of each row of `x`, shape `(n, d)` -> `(n,)` (scikit-learn's
    /// `score_samples`).
    pub fn score_samples<T: Element>(
        &self,
        x: ArrayView2<T>,
        threads: Threads,
    ) -> Result<Array1<f64>> {
        let x = Rows::from(x);
        self.check_rows(&x)?;
        let mut out = zeros_checked(x.nrows(), 1)?;
        let flat = out.as_slice_mut().expect("a new array is contiguous");
        threads.install(|| {
            self.rows_into(x, flat, 1, |joint, row| {
                let (m, log_s) = log_sum_exp(joint);
                row[0] = m + log_s;
            })
        })??;
        Ok(out.into_shape_with_order(x.nrows()).expect("n values"))
    }

    /// The mean log-density of the rows of `x` (scikit-learn's `score`).
    pub fn score<T: Element>(&self, x: ArrayView2<T>, threads: Threads) -> Result<f64> {
        let s = self.score_samples(x, threads)?;
        Ok(s.sum() / s.len() as f64)
    }

    /// The posterior probability of each component for each row of `x`, shape `(n, d)` ->
    /// `(n, n_components)`.
    pub fn predict_proba<T: Element>(
        &self,
        x: ArrayView2<T>,
        threads: Threads,
    ) -> Result<Array2<f64>> {
        let x = Rows::from(x);
        self.check_rows(&x)?;
        let k = self.n_components();
        let mut out = zeros_checked(x.nrows(), k)?;
        let flat = out.as_slice_mut().expect("a new array is contiguous");
        threads.install(|| {
            self.rows_into(x, flat, k, |joint, row| {
                let (m, log_s) = log_sum_exp(joint);
                for (o, v) in row.iter_mut().zip(joint) {
                    *o = ((v - m) - log_s).exp();
                }
            })
        })??;
        Ok(out)
    }

    /// The most probable component of each row of `x`, shape `(n, d)` -> `(n,)`: the argmax of
    /// `log w_j + log p_j(x)` (the first on ties).
    pub fn predict<T: Element>(&self, x: ArrayView2<T>, threads: Threads) -> Result<Array1<usize>> {
        let x = Rows::from(x);
        self.check_rows(&x)?;
        let mut out = zeros_checked(x.nrows(), 1)?;
        let flat = out.as_slice_mut().expect("a new array is contiguous");
        threads.install(|| {
            self.rows_into(x, flat, 1, |joint, row| {
                let mut best = 0;
                for j in 1..joint.len() {
                    if joint[j] > joint[best] {
                        best = j;
                    }
                }
                row[0] = best as f64;
            })
        })??;
        crate::validate::labels_of(flat)
    }

    /// Bayesian information criterion on `x`: `-2 log L + p log n`.
    pub fn bic<T: Element>(&self, x: ArrayView2<T>, threads: Threads) -> Result<f64> {
        let n = x.nrows() as f64;
        Ok(-2.0 * self.score(x, threads)? * n + self.n_parameters() as f64 * n.ln())
    }

    /// Akaike information criterion on `x`: `-2 log L + 2 p`.
    pub fn aic<T: Element>(&self, x: ArrayView2<T>, threads: Threads) -> Result<f64> {
        let n = x.nrows() as f64;
        Ok(-2.0 * self.score(x, threads)? * n + 2.0 * self.n_parameters() as f64)
    }

    /// `n_samples` rows drawn from the mixture with the seed `seed`, and the component of each,
    /// grouped by component in order (as scikit-learn's `sample` returns them).
    pub fn sample(&self, n_samples: usize, seed: u64) -> Result<(Array2<f64>, Array1<usize>)> {
        if n_samples < 1 {
            return Err(Error::param(
                "n_samples",
                "the sampling requires at least one sample",
            ));
        }
        let (k, d) = self.means.dim();
        let mut rng = seeded(seed);
        let mut counts = vec![0usize; k];
        let total: f64 = self.weights.sum();
        for _ in 0..n_samples {
            let target = uniform01(&mut rng) * total;
            let (mut acc, mut pick) = (0.0, k - 1);
            for (j, &w) in self.weights.iter().enumerate() {
                acc += w;
                if target < acc {
                    pick = j;
                    break;
                }
            }
            counts[pick] += 1;
        }
        // The factor `L` of each covariance (`x = mu + L z`), or the standard deviations.
        let factor = |c: ArrayView2<f64>| -> Result<Array2<f64>> {
            cholesky(c)?.ok_or_else(|| Error::NotPositiveDefinite {
                name: "covariances".into(),
            })
        };
        let mut x = zeros_checked(n_samples, d)?;
        let mut labels = Array1::zeros(n_samples);
        let mut i = 0;
        let tied = match &self.covariances {
            Covariances::Tied(c) => Some(factor(c.view())?),
            _ => None,
        };
        for (j, &count) in counts.iter().enumerate() {
            let full = match &self.covariances {
                Covariances::Full(c) => Some(factor(c.slice(s![j, .., ..]))?),
                _ => tied.clone(),
            };
            for _ in 0..count {
                let z: Vec<f64> = (0..d).map(|_| standard_normal(&mut rng)).collect();
                for l in 0..d {
                    let spread = match (&full, &self.covariances) {
                        (Some(f), _) => (0..=l).map(|m| f[[l, m]] * z[m]).sum::<f64>(),
                        (None, Covariances::Diag(c)) => c[[j, l]].sqrt() * z[l],
                        (None, Covariances::Spherical(c)) => c[j].sqrt() * z[l],
                        _ => unreachable!("full and tied covariances have a factor"),
                    };
                    x[[i, l]] = self.means[[j, l]] + spread;
                }
                labels[i] = j;
                i += 1;
            }
        }
        Ok((x, labels))
    }
}

/// Checks that a model has at least one component and one feature.
fn non_empty(k: usize, d: usize) -> Result<()> {
    if k == 0 || d == 0 {
        return Err(Error::param(
            "means",
            format!("must have at least one component and one feature, got shape ({k}, {d})"),
        ));
    }
    Ok(())
}

/// The error of rows so far out that the kernels cannot centre them.
fn far_rows() -> Error {
    Error::data(
        "data",
        "a row is so far from the components' means that its distance overflows",
    )
}

/// `log sum_j exp(v_j)` as `(m, log s)`, the maximum and the log of the shifted sum.
fn log_sum_exp(v: &[f64]) -> (f64, f64) {
    let m = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        return (m, 0.0);
    }
    (m, v.iter().map(|x| (x - m).exp()).sum::<f64>().ln())
}

/// Checks initial weights for `k` components: shape `(k,)`, every value in [0, 1], summing to 1
/// within 1e-8 (scikit-learn's rules).
fn check_weights_init(w: &Array1<f64>, k: usize) -> Result<()> {
    if w.len() != k {
        return Err(shape_error("weights_init", "weights", &[k], &[w.len()]));
    }
    if w.iter().any(|v| !(0.0..=1.0).contains(v)) {
        let max = w.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let min = w.iter().copied().fold(f64::INFINITY, f64::min);
        return Err(Error::param(
            "weights_init",
            format!(
                "The parameter 'weights' should be in the range [0, 1], but got max value \
                 {max:.5}, min value {min:.5}"
            ),
        ));
    }
    let total: f64 = w.sum();
    if !((1.0 - total).abs() <= 1e-8) {
        return Err(Error::param(
            "weights_init",
            format!(
                "The parameter 'weights' should be normalized, but got sum(weights) = {total:.5}"
            ),
        ));
    }
    Ok(())
}

/// Checks initial means: shape `(k, d)`, every value finite.
fn check_means_init(m: &Array2<f64>, k: usize, d: usize) -> Result<()> {
    if m.dim() != (k, d) {
        return Err(shape_error("means_init", "means", &[k, d], m.shape()));
    }
    if m.iter().any(|v| !v.is_finite()) {
        return Err(Error::param("means_init", "must be finite"));
    }
    Ok(())
}

/// The Cholesky factors of initial precisions (scikit-learn's): checked for shape, finiteness,
/// symmetry and positive definiteness (full, tied) or positivity (diag, spherical).
fn precisions_factor(p: &Covariances, k: usize, d: usize) -> Result<Covariances> {
    let name = "precisions_init";
    let what = precision_name(p.covariance_type());
    let want = Covariances::expected_shape(p.covariance_type(), k, d);
    if p.shape() != want {
        return Err(shape_error(name, &what, &want, &p.shape()));
    }
    if p.values().iter().any(|v| !v.is_finite()) {
        return Err(Error::param(name, "must be finite"));
    }
    let positive = |v: &f64| *v > 0.0;
    let not_positive = || Error::param(name, format!("'{what}' should be positive"));
    Ok(match p {
        Covariances::Full(a) => {
            let mut u = a.clone();
            for (mut o, f) in u.outer_iter_mut().zip(a.outer_iter()) {
                o.assign(&upper_factor(name, &what, f)?);
            }
            Covariances::Full(u)
        }
        Covariances::Tied(a) => Covariances::Tied(upper_factor(name, &what, a.view())?),
        Covariances::Diag(a) => {
            if !a.iter().all(positive) {
                return Err(not_positive());
            }
            Covariances::Diag(a.mapv(f64::sqrt))
        }
        Covariances::Spherical(a) => {
            if !a.iter().all(positive) {
                return Err(not_positive());
            }
            Covariances::Spherical(a.mapv(f64::sqrt))
        }
    })
}

/// The inverse of an upper-triangular factor's product `(U U^T)^-1 = U^-T U^-1`: the covariance
/// of a precision given by its factor.
fn covariance_of_factor(u: ArrayView2<f64>) -> Result<Array2<f64>> {
    // With `M = U^T` (lower triangular): `(U U^T)^-1 = (M^T M)^-1 = M^-1 M^-T`.
    let li = lower_triangular_inverse(u.t())?;
    Ok(times_transpose(li.view()))
}

#[cfg(test)]
mod tests;
