//! Every rule on data, sample weights, labels and parameter values, written once. The error
//! names the argument as the Python API spells it, so both front ends report the same thing.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};

use crate::error::{Error, Result};
use crate::parallel::Threads;
use crate::rows::Element;

/// Checks that `x` has `d` columns, at least one row and no infinite value (NaN is a missing
/// value and allowed).
pub fn check_data<T: Element>(x: &ArrayView2<T>, d: usize) -> Result<()> {
    if x.ncols() != d {
        return Err(Error::data(
            "data",
            format!(
                "must have {d} columns (the model's dimension), got {}",
                x.ncols()
            ),
        ));
    }
    if x.nrows() == 0 {
        return Err(Error::data("data", "must have at least one row"));
    }
    if any_value(x, f64::is_infinite) {
        return Err(Error::data(
            "data",
            "contains an infinite value; use NaN for a missing value",
        ));
    }
    Ok(())
}

/// Whether `is` holds for a value of `x` (as `f64`): over a contiguous array (in either order),
/// by runs of 64 values that are each looked at whole (no branch per value: in vectors).
fn any_value<T: Element>(x: &ArrayView2<T>, is: impl Fn(f64) -> bool) -> bool {
    match x.as_slice_memory_order() {
        Some(xs) => xs
            .chunks(64)
            .any(|run| run.iter().fold(false, |a, v| a | is(v.to_f64()))),
        None => x.iter().any(|v| is(v.to_f64())),
    }
}

/// Checks data without missing values: [`check_data`]'s rules, and no NaN (scikit-learn's
/// Gaussian mixtures refuse missing values).
pub(crate) fn check_complete_data<T: Element>(x: &ArrayView2<T>, d: usize) -> Result<()> {
    check_data(x, d)?;
    if any_value(x, f64::is_nan) {
        return Err(Error::data(
            "data",
            "contains NaN; a Gaussian mixture needs every value",
        ));
    }
    Ok(())
}

/// Whether `x` holds an observed value (one that is not NaN, a missing value).
pub(crate) fn has_observed<T: Element>(x: &ArrayView2<T>) -> bool {
    x.iter().any(|v| !v.to_f64().is_nan())
}

/// The first rule on the data of a fit (all the rows, or the batches of an epoch): `observed`,
/// whether they hold a value that is not missing (`has_observed`). Data with none would fit
/// nothing (every component keeps its parameters, every log-density is 0).
pub fn check_observed(observed: bool) -> Result<()> {
    if !observed {
        return Err(Error::data(
            "data",
            "has no observed value (every value is NaN, a missing value); there is nothing to fit",
        ));
    }
    Ok(())
}

/// The second rule on the data of a fit, checked on the statistics of its first E-step:
/// `counted` is the weight of the rows that some component can produce (the sum of the
/// responsibilities), `unexplained` the weight of the rows that none can (density 0 under every
/// component, or so far out that it underflows to 0). Some rows of each kind are fine (the
/// second take no part in the statistics); rows of the second kind only are an error.
pub(crate) fn check_producible(counted: f64, unexplained: f64) -> Result<()> {
    if unexplained > 0.0 && !(counted > 0.0) {
        return Err(Error::data(
            "data",
            "no component can produce any row of the data (every row has density 0 under every \
             component); check the data against the components' supports",
        ));
    }
    Ok(())
}

/// Checks given k-means centroids (the parameter `name`): every value finite.
pub(crate) fn finite_centroids(name: &str, centroids: &Array2<f64>) -> Result<()> {
    if centroids.iter().any(|v| !v.is_finite()) {
        return Err(Error::param(name, "the centroids must be finite"));
    }
    Ok(())
}

/// Checks sample weights against `n` rows: finite, non-negative, not all zero.
pub fn check_weights(w: &ArrayView1<f64>, n: usize) -> Result<()> {
    if w.len() != n {
        return Err(Error::data(
            "weights",
            format!(
                "must have one weight per row of the data ({n}), got {}",
                w.len()
            ),
        ));
    }
    weight_values(w)?;
    if !w.iter().any(|v| *v > 0.0) {
        return Err(Error::data("weights", "must not all be zero"));
    }
    Ok(())
}

/// Checks the sample weights of one batch of `n` rows: one per row, finite and non-negative (a
/// batch may weigh nothing; the epoch's total is checked by the fit).
pub(crate) fn check_batch_weights(w: &ArrayView1<f64>, n: usize) -> Result<()> {
    if w.len() != n {
        return Err(Error::data(
            "weights",
            format!("a batch has {n} rows and {} weights", w.len()),
        ));
    }
    weight_values(w)
}

/// Checks that sample weights are finite and non-negative.
fn weight_values(w: &ArrayView1<f64>) -> Result<()> {
    if w.iter().any(|v| !v.is_finite() || *v < 0.0) {
        return Err(Error::data("weights", "must be finite and non-negative"));
    }
    Ok(())
}

/// Checks labels against `n` rows and `k` components: each in `-1..k`.
pub fn check_labels(labels: &[i64], n: usize, k: usize) -> Result<()> {
    if labels.len() != n {
        return Err(Error::data(
            "labels",
            format!(
                "must have one label per row of the data ({n}), got {}",
                labels.len()
            ),
        ));
    }
    if let Some(bad) = labels.iter().find(|&&l| l < -1 || l >= k as i64) {
        return Err(Error::data(
            "labels",
            format!("labels must be component indices 0..{k} or -1 for unlabelled rows, got {bad}"),
        ));
    }
    Ok(())
}

/// Checks a number of clusters or components `k` (the parameter `name`) against the `n` rows
/// it is drawn from.
pub(crate) fn check_clusters(name: &str, k: usize, n: usize) -> Result<()> {
    at_least_one(name, Some(k))?;
    if n < k {
        return Err(Error::data(
            "data",
            format!("has {n} rows, fewer than {name} ({k})"),
        ));
    }
    Ok(())
}

/// Checks a thread count: [`Threads::Count`] of at least 1.
pub(crate) fn check_threads(threads: Threads) -> Result<()> {
    if threads == Threads::Count(0) {
        return Err(Error::param("threads", "must be at least 1"));
    }
    Ok(())
}

/// Mixture weights normalised to sum to 1, one per component (`k`); they must be finite,
/// non-negative and not all zero. Weights that already sum to 1 up to rounding are kept exactly
/// as they are.
pub(crate) fn normalised_weights(weights: &[f64], k: usize) -> Result<Array1<f64>> {
    if weights.len() != k {
        return Err(Error::param(
            "weights",
            format!(
                "must have one weight per distribution ({k}), got {}",
                weights.len()
            ),
        ));
    }
    non_negative_all("weights", weights)?;
    let total: f64 = weights.iter().sum();
    if !(total > 0.0) || !total.is_finite() {
        return Err(Error::param("weights", "must have a positive, finite sum"));
    }
    if (total - 1.0).abs() <= 4.0 * f64::EPSILON * k as f64 {
        return Ok(Array1::from(weights.to_vec()));
    }
    Ok(weights.iter().map(|w| w / total).collect())
}

/// Checks that every value of a parameter vector is finite and non-negative.
pub(crate) fn non_negative_all(name: &str, values: &[f64]) -> Result<()> {
    if values.iter().any(|v| !v.is_finite() || *v < 0.0) {
        return Err(Error::param(name, "must be finite and non-negative"));
    }
    Ok(())
}

/// Checks that a value is in [0, 1].
pub fn unit(name: &str, v: f64) -> Result<f64> {
    if !(0.0..=1.0).contains(&v) {
        return Err(Error::param(
            name,
            format!("must be between 0 and 1, got {v}"),
        ));
    }
    Ok(v)
}

/// Checks that a value is finite.
pub(crate) fn finite(name: &str, v: f64) -> Result<f64> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(Error::param(name, format!("must be finite, got {v}")))
    }
}

/// Checks that a value is positive and finite.
pub(crate) fn positive(name: &str, v: f64) -> Result<f64> {
    if v > 0.0 && v.is_finite() {
        Ok(v)
    } else {
        Err(Error::param(
            name,
            format!("must be positive and finite, got {v}"),
        ))
    }
}

/// Checks that a value is non-negative and finite.
pub fn non_negative(name: &str, v: f64) -> Result<f64> {
    // `!(v >= 0.0)` also rejects NaN.
    if !(v >= 0.0) || !v.is_finite() {
        return Err(Error::param(
            name,
            format!("must be non-negative and finite, got {v}"),
        ));
    }
    Ok(v)
}

/// Checks that a value is a number (not NaN); infinities are allowed.
pub fn not_nan(name: &str, v: f64) -> Result<f64> {
    if v.is_nan() {
        return Err(Error::param(name, "must be a number, got NaN"));
    }
    Ok(v)
}

/// Checks that a count is at least 1 (`None` means "not set" and passes).
pub(crate) fn at_least_one(name: &str, v: Option<usize>) -> Result<()> {
    if v == Some(0) {
        return Err(Error::param(name, "must be at least 1"));
    }
    Ok(())
}

/// The error of a work space that does not fit in memory: `what` names it, as in
/// `too_large("data", "a 20000 x 20000 covariance")`.
pub fn too_large(name: &str, what: impl std::fmt::Display) -> Error {
    Error::param(name, format!("{what} does not fit in memory"))
}

/// `len` copies of `value`, or `err()` when they cannot be allocated (instead of aborting the
/// process): the vectors of a value per row, which a large data set may not have room for.
pub fn filled<T: Clone>(len: usize, value: T, err: impl Fn() -> Error) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| err())?;
    v.resize(len, value);
    Ok(v)
}

/// The values of `values` in a new vector, or `err()` when it cannot be allocated.
pub fn collected<I>(values: I, err: impl Fn() -> Error) -> Result<Vec<I::Item>>
where
    I: IntoIterator,
    I::IntoIter: ExactSizeIterator,
{
    let values = values.into_iter();
    let mut v = Vec::new();
    v.try_reserve_exact(values.len()).map_err(|_| err())?;
    v.extend(values);
    Ok(v)
}

/// A vector of `dims` multiplied together default values (zeros), or `err()` when it cannot be
/// allocated (instead of aborting the process). Every array whose size grows with the number of
/// features or of components is allocated here (or by [`zeroed`], [`square`] or [`reserved`]),
/// once per plan, chunk or fit, never per row.
pub(crate) fn zeroed_vec<T: Clone + Default>(
    dims: &[usize],
    err: impl Fn() -> Error,
) -> Result<Vec<T>> {
    let len = dims
        .iter()
        .try_fold(1usize, |a, &b| a.checked_mul(b))
        .ok_or_else(&err)?;
    // A fallible probe, then zeroed memory from the allocator: large blocks come as fresh pages,
    // zero without being written, so the threads that fill the array touch them first.
    let mut probe: Vec<T> = Vec::new();
    probe.try_reserve_exact(len).map_err(|_| err())?;
    drop(probe);
    Ok(vec![T::default(); len])
}

/// An empty vector with room for `len` values, to be filled by the caller, or `err()` when it
/// cannot be allocated; a large one is backed by huge pages (see [`advise_huge_pages`]).
pub(crate) fn reserved(len: usize, err: impl Fn() -> Error) -> Result<Vec<f64>> {
    let mut values = Vec::new();
    values.try_reserve_exact(len).map_err(|_| err())?;
    advise_huge_pages(&values);
    Ok(values)
}

/// Asks the kernel to back the memory of `values` (its capacity) by huge pages when it is at
/// least 4 MB, as numpy does for its arrays: the pages not yet touched are then faulted in 2 MB
/// at a time instead of 4 kB, which makes a fresh matrix of many megabytes much quicker to
/// fill. Only a hint, for the `d x d` matrices of a component (ignored where transparent huge
/// pages are off, and outside Linux); no value changes.
fn advise_huge_pages<T>(values: &Vec<T>) {
    #[cfg(target_os = "linux")]
    {
        let bytes = values.capacity() * std::mem::size_of::<T>();
        let page = page_size();
        let start = values.as_ptr() as usize;
        // The whole pages within the allocation.
        let skip = (page - start % page) % page;
        if bytes >= 4 << 20 && bytes - skip >= page {
            let length = (bytes - skip) / page * page;
            // SAFETY: the range is whole pages inside the vector's own allocation, and
            // MADV_HUGEPAGE only changes how the kernel backs pages, never their contents.
            unsafe {
                libc::madvise(
                    values.as_ptr().cast::<u8>().wrapping_add(skip) as *mut libc::c_void,
                    length,
                    libc::MADV_HUGEPAGE,
                );
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = values;
}

/// The size of the system's memory pages.
#[cfg(target_os = "linux")]
fn page_size() -> usize {
    static PAGE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *PAGE.get_or_init(|| {
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        usize::try_from(page)
            .ok()
            .filter(|&p| p > 0)
            .unwrap_or(4096)
    })
}

/// A `(rows, cols)` array of zeros, or `err()` when it cannot be allocated (see
/// [`zeroed_vec`]).
pub(crate) fn zeroed(rows: usize, cols: usize, err: impl Fn() -> Error) -> Result<Array2<f64>> {
    let v = zeroed_vec(&[rows, cols], &err)?;
    Array2::from_shape_vec((rows, cols), v).map_err(|_| err())
}

/// A copy of `a` in row-major order, or `err()` when it cannot be allocated (instead of
/// aborting the process). Its memory is written once, by the copy.
pub fn copied(a: ArrayView2<f64>, err: impl Fn() -> Error) -> Result<Array2<f64>> {
    let mut values = reserved(a.len(), &err)?;
    match a.as_slice() {
        Some(all) => values.extend_from_slice(all),
        None => {
            for row in a.rows() {
                match row.as_slice() {
                    Some(row) => values.extend_from_slice(row),
                    None => values.extend(row.iter().copied()),
                }
            }
        }
    }
    Array2::from_shape_vec(a.dim(), values).map_err(|_| err())
}

/// A `d x d` array of zeros for a matrix of a component (a covariance, its Cholesky factor or
/// its inverse, statistics), or an error naming the parameter `name` and saying what `what`
/// (`"covariance"`, ...) does not fit.
pub(crate) fn square(name: &str, what: &str, d: usize) -> Result<Array2<f64>> {
    let err = || too_large(name, format!("a {d} x {d} {what}"));
    let values = zeroed_vec(&[d, d], err)?;
    advise_huge_pages(&values);
    Array2::from_shape_vec((d, d), values).map_err(|_| err())
}

/// An `(n, d)` array of zeros, or an error naming `n` when it cannot be allocated (instead of
/// aborting the process).
pub fn zeros_checked(n: usize, d: usize) -> Result<Array2<f64>> {
    zeroed(n, d, || {
        Error::param(
            "n",
            format!("{n} samples of {d} features do not fit in memory"),
        )
    })
}

/// The labels of rows written as `f64` (each the exact value of a label) as `usize`, or an
/// error when they do not fit in memory.
pub(crate) fn labels_of(values: &[f64]) -> Result<ndarray::Array1<usize>> {
    let labels = collected(values.iter().map(|&j| j as usize), || {
        too_large("data", format!("a label for each of {} rows", values.len()))
    })?;
    Ok(ndarray::Array1::from_vec(labels))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn vectors_that_do_not_fit_are_errors() {
        let err = || too_large("data", "a value for each row");
        assert_eq!(filled(3, 1.5, err).unwrap(), vec![1.5; 3]);
        assert_eq!(collected(2..6u32, err).unwrap(), vec![2, 3, 4, 5]);
        for len in [usize::MAX, usize::MAX / 8] {
            let e = filled(len, 0.0f64, err).unwrap_err().to_string();
            assert!(e.contains("does not fit in memory"), "{e}");
            assert!(collected((0..len).map(|_| 0.0f64), err).is_err());
        }
    }

    #[test]
    fn copies_are_row_major_in_every_layout() {
        let a = Array2::from_shape_fn((5, 7), |(i, j)| (i * 10 + j) as f64 - 0.5);
        let fortran = a.t().as_standard_layout().into_owned().reversed_axes();
        let strided = Array2::from_shape_fn((10, 14), |(i, j)| {
            if i % 2 == 0 && j % 2 == 0 {
                a[[i / 2, j / 2]]
            } else {
                f64::NAN
            }
        });
        let strided = strided.slice(ndarray::s![..;2, ..;2]);
        for view in [a.view(), fortran.view(), strided] {
            let c = copied(view, || unreachable!()).unwrap();
            assert_eq!(c, a);
            assert!(c.is_standard_layout());
        }
        // Negative strides, a broadcast row, rows contiguous within a wider matrix, no values.
        let c = copied(a.t(), || unreachable!()).unwrap();
        assert_eq!(c, a.t());
        let c = copied(a.slice(ndarray::s![..;-1, ..;-2]), || unreachable!()).unwrap();
        assert_eq!(c, a.slice(ndarray::s![..;-1, ..;-2]));
        let row = ndarray::Array1::from_vec(vec![1.5, -2.0, 3.0]);
        let c = copied(row.broadcast((4, 3)).unwrap(), || unreachable!()).unwrap();
        assert_eq!(c, row.broadcast((4, 3)).unwrap());
        let c = copied(a.slice(ndarray::s![.., 1..6]), || unreachable!()).unwrap();
        assert_eq!(c, a.slice(ndarray::s![.., 1..6]));
        for empty in [Array2::<f64>::zeros((0, 3)), Array2::<f64>::zeros((3, 0))] {
            assert_eq!(copied(empty.view(), || unreachable!()).unwrap(), empty);
        }
        // Larger than the huge-page hint's threshold: the values all the same.
        let big = Array2::from_shape_fn((1024, 700), |(i, j)| (i * 700 + j) as f64);
        assert_eq!(copied(big.view(), || unreachable!()).unwrap(), big);
        assert_eq!(
            square("x", "matrix", 725).unwrap(),
            Array2::<f64>::zeros((725, 725))
        );
        // The hint changes no value, whatever the vector's length beside its capacity.
        let mut v: Vec<f64> = Vec::with_capacity(1 << 20);
        v.extend((0..1000).map(|i| i as f64));
        advise_huge_pages(&v);
        assert!(v.iter().enumerate().all(|(i, x)| *x == i as f64));
        v.extend((1000..1 << 20).map(|i| i as f64));
        advise_huge_pages(&v);
        assert!(v.iter().enumerate().all(|(i, x)| *x == i as f64));
    }

    #[test]
    fn data_rules() {
        let x = array![[1.0, f64::NAN], [2.0, 3.0]];
        assert!(check_data(&x.view(), 2).is_ok());
        assert!(check_data(&x.view(), 3).is_err());
        assert!(check_data(&array![[f64::INFINITY, 0.0]].view(), 2).is_err());
        assert!(check_data(&Array2::<f64>::zeros((0, 2)).view(), 2).is_err());
        assert!(has_observed(&x.view()));
        assert!(!has_observed(&array![[f64::NAN], [f64::NAN]].view()));
        let e = check_observed(false).unwrap_err();
        assert!(e.to_string().contains("data: has no observed value"), "{e}");
        assert!(check_observed(true).is_ok());
        let e = check_producible(0.0, 2.0).unwrap_err();
        assert!(
            e.to_string().contains("no component can produce any row"),
            "{e}"
        );
        assert!(check_producible(1.0, 2.0).is_ok());
        assert!(check_producible(1.0, 0.0).is_ok());
        assert!(check_producible(0.0, 0.0).is_ok());
        assert!(finite_centroids("init", &array![[0.0, f64::NAN]]).is_err());
        assert!(finite_centroids("init", &array![[0.0, 1.0]]).is_ok());
    }

    #[test]
    fn weight_rules() {
        assert!(check_weights(&array![1.0, 0.0].view(), 2).is_ok());
        assert!(check_weights(&array![1.0].view(), 2).is_err());
        assert!(check_weights(&array![-1.0, 2.0].view(), 2).is_err());
        assert!(check_weights(&array![0.0, 0.0].view(), 2).is_err());
        assert!(check_weights(&array![f64::NAN, 1.0].view(), 2).is_err());
        assert_eq!(
            normalised_weights(&[1.0, 3.0], 2).unwrap(),
            array![0.25, 0.75]
        );
        assert!(normalised_weights(&[0.0, 0.0], 2).is_err());
        assert!(normalised_weights(&[1.0], 2).is_err());
    }

    #[test]
    fn value_rules() {
        assert!(unit("inertia", 1.0).is_ok());
        assert!(unit("inertia", f64::NAN).is_err());
        assert!(unit("inertia", -0.1).is_err());
        assert!(non_negative("pseudocount", 0.0).is_ok());
        assert!(non_negative("pseudocount", f64::NAN).is_err());
        assert!(non_negative("pseudocount", f64::INFINITY).is_err());
        assert!(positive("std", 0.0).is_err());
        assert!(finite("mean", f64::NEG_INFINITY).is_err());
        assert!(not_nan("stop_threshold", f64::INFINITY).is_ok());
        assert!(at_least_one("batch_size", Some(0)).is_err());
        assert!(at_least_one("batch_size", None).is_ok());
        let e = check_clusters("k", 3, 2).unwrap_err();
        assert!(e.to_string().contains("fewer than k (3)"), "{e}");
        assert!(check_threads(Threads::Count(0)).is_err());
        assert!(check_threads(Threads::Current).is_ok());
        assert!(check_batch_weights(&array![0.0, 0.0].view(), 2).is_ok());
        assert!(check_batch_weights(&array![0.0].view(), 2).is_err());
        assert!(check_clusters("k", 0, 2).is_err());
        assert!(check_labels(&[0, -1, 2], 3, 3).is_ok());
        assert!(check_labels(&[0, 3], 2, 3).is_err());
        assert!(zeros_checked(usize::MAX, 2).is_err());
        let e = square("covariance", "covariance", 1 << 40).unwrap_err();
        assert!(
            e.to_string()
                .contains("a 1099511627776 x 1099511627776 covariance does not fit in memory"),
            "{e}"
        );
        assert!(zeroed_vec::<f64>(&[1 << 31, 1 << 31, 8], || too_large("k", "k")).is_err());
        assert_eq!(
            zeroed_vec::<f64>(&[2, 3], || too_large("k", "k"))
                .unwrap()
                .len(),
            6
        );
    }
}
