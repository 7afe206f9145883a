//! The kernels: the fused E-step of mixtures of Gaussians and the distance kernels of k-means,
//! each in portable Rust and in x86-64 vector instructions, with the same results bit for bit.
//!
//! **The fused E-step.** When every component of a mixture is a Gaussian with full covariance
//! ([`MultivariateGaussian`](crate::MultivariateGaussian)) or every component is a product of
//! normals (a [`Normal`](crate::Normal), or an
//! [`IndependentComponents`](crate::IndependentComponents) of normals with unit weights, that
//! is a diagonal Gaussian), a block of rows without missing values goes through one fused
//! pass: log-densities of all components, log-sum-exp, responsibilities and sufficient
//! statistics. The components give their parameters as [`Gaussian`] forms (see
//! [`forms`]); [`plan::Plan`] lays them out for the kernels and chooses once the path of the
//! blocks ([`plan::Path`]):
//!
//! - full covariance in at most four features: tiles of eight rows kept in registers through
//!   every stage ([`small`]);
//! - full covariance: the block transposed (one feature per row), so that every inner loop runs
//!   over the rows of the block and vectorises; quadratic forms with the inverse Cholesky
//!   factors, then the moments by centring and products ([`portable`], [`x86`]);
//! - diagonal in fewer than eight features: the block transposed, as above;
//! - diagonal in eight features or more: the rows as they are (a row fills whole vectors).
//!
//! Blocks of `f32` rows on the row-major diagonal path take `f32` lanes ([`single`]), and so do
//! those of full covariance in fewer than [`single_full::MAX_FEATURES`] features (small or not,
//! [`single_full`]), the sums that outlive a block in `f64`; those of the other paths (and blocks
//! beyond the `f32` kernels' range, and plans whose parameters do not suit them) are converted to
//! `f64`.
//!
//! The moments go back to the components as [`GaussianMoments`].
//!
//! **k-means.** The squared distances of rows to centroids, the passes of k-means++ and the
//! nearest centroids and sums of a Lloyd pass's blocks ([`distance`]).
//!
//! **Arithmetic.** The kernels use only additions, multiplications, divisions and, in the quadratic
//! forms and products of full covariance and the `f32` kernels (and their `exp`), fused
//! multiply-adds, in a fixed order (and their own `exp` and `ln`, [`math`]), so results do not
//! depend on the number of threads, and are the same on every kernel path ([`dispatch::Isa`]: portable, AVX2 and FMA,
//! AVX-512): the generic kernels are written once over [`lanes::Lanes`] and instantiated in
//! portable and vector lanes, each lane doing the same IEEE operation; the portable loops' fused
//! multiply-adds are `f64::mul_add` (`f32::mul_add`), rounded once as the processor's are, only
//! slower where the processor has no FMA. The path is chosen once, at run time, by [`dispatch`]
//! (the only module that asks the processor what it has; the environment variable `MIXTURA_KERNEL`
//! forces one).
//!
//! The kernels depend on nothing else in the crate but [`BLOCK_ROWS`](crate::parallel::BLOCK_ROWS)
//! (the rows of a block, which sizes their work spaces), the crate's checked allocation (a
//! plan's arrays and work spaces that do not fit in memory are an error) and
//! [`Rows`](crate::rows::Rows) (a block of `f64` or `f32` rows): the components reach them
//! through the forms, and take back the moments.

pub(crate) mod aligned;
pub(crate) mod dispatch;
pub(crate) mod distance;
pub(crate) mod forms;
pub(crate) mod lanes;
pub(crate) mod math;
pub(crate) mod plan;
pub(crate) mod portable;
pub(crate) mod single;
pub(crate) mod single_full;
pub(crate) mod small;
#[cfg(target_arch = "x86_64")]
pub(crate) mod x86;

#[cfg(test)]
mod tests;

pub(crate) use distance::{
    any_nan, assign_block, lane_distance, nearest_rows, prefetch, AssignScratch,
};
pub use forms::{Gaussian, GaussianMoments};
pub(crate) use math::exp_nonpositive;
pub(crate) use plan::{Moments, Plan, Scratch};
