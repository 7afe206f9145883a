//! Data rows of either element type, `f64` or `f32`, read where they are.
//!
//! The public functions that take data are generic over [`Element`] (`f64` and `f32`), and turn
//! their argument into [`Rows`] at once, so that the code behind them exists once. A block of
//! `f32` rows is converted to `f64` (exactly: every `f32` is an `f64`) when a block is read, at
//! most [`BLOCK_ROWS`](crate::parallel::BLOCK_ROWS) rows at a time into a work space of the
//! reader (a reader that asks for a whole batch in one block, such as the E-step of components
//! written in Python, gets the batch converted; a single distribution's densities, statistics
//! and fits take blocks of [`conversion_rows`] rows, see [`for_f64_blocks`]), and a fit of
//! `f32` rows computes the same bits as a fit of the same values as `f64`, except where the
//! fused kernels compute in `f32` lanes (the E-step and the predictions of mixtures of diagonal Gaussians in eight features or
//! more, see [`kernels::single`](crate::kernels::single), and of full-covariance Gaussians in
//! fewer than 128, see [`kernels::single_full`](crate::kernels::single_full)), which take a
//! block of `f32` rows as [`Rows`] itself.

use std::ops::Range;

use ndarray::{s, Array1, Array2, ArrayView2};

mod sealed {
    /// Only the crate's element types.
    pub trait Sealed {}
    impl Sealed for f64 {}
    impl Sealed for f32 {}
}

/// The element types of data: `f64` and `f32` (model parameters are always `f64`).
pub trait Element: Copy + Send + Sync + 'static + sealed::Sealed {
    /// The value as an `f64` (exact).
    fn to_f64(self) -> f64;
    /// The rows `x` as the crate reads them.
    #[doc(hidden)]
    fn rows(x: ArrayView2<'_, Self>) -> Rows<'_>;
}

impl Element for f64 {
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
    fn rows(x: ArrayView2<'_, f64>) -> Rows<'_> {
        Rows::F64(x)
    }
}

impl Element for f32 {
    #[inline(always)]
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    fn rows(x: ArrayView2<'_, f32>) -> Rows<'_> {
        Rows::F32(x)
    }
}

/// Rows of data, shape `(n, d)`, of either element type, in any layout.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub enum Rows<'a> {
    /// `f64` rows.
    F64(ArrayView2<'a, f64>),
    /// `f32` rows.
    F32(ArrayView2<'a, f32>),
}

impl<'a, T: Element> From<ArrayView2<'a, T>> for Rows<'a> {
    fn from(x: ArrayView2<'a, T>) -> Self {
        T::rows(x)
    }
}

/// Calls `$f` with the view inside `$x`, whichever its element type.
macro_rules! each_type {
    ($x:expr, $v:ident => $f:expr) => {
        match $x {
            Rows::F64($v) => $f,
            Rows::F32($v) => $f,
        }
    };
}
pub(crate) use each_type;

/// Calls `f` with rows of `x` as `f64` and their range, in order: `x` itself, all at once,
/// when it is `f64`; blocks of [`conversion_rows`] rows converted in turn into one work space
/// when it is `f32`, so that no copy of the whole of `x` is made. An error when the work space
/// does not fit in memory, or the first error of `f`.
pub(crate) fn for_f64_blocks<T: Element>(
    x: ArrayView2<'_, T>,
    mut f: impl FnMut(Range<usize>, ArrayView2<'_, f64>) -> crate::error::Result<()>,
) -> crate::error::Result<()> {
    let (n, d) = x.dim();
    let rows = T::rows(x);
    if let Rows::F64(x) = rows {
        return f(0..n, x);
    }
    let step = conversion_rows(d);
    let mut buf = Vec::new();
    buf.try_reserve_exact(step.min(n) * d)
        .map_err(|_| crate::validate::too_large("data", "a block of rows converted to f64"))?;
    if n == 0 {
        // No rows: one empty block, as for `f64` (the callee's checks see it).
        return f(0..0, rows.block(0..0, &mut buf));
    }
    for start in (0..n).step_by(step) {
        let range = start..(start + step).min(n);
        f(range.clone(), rows.block(range, &mut buf))?;
    }
    Ok(())
}

/// The rows of a block of [`for_f64_blocks`] of `d` features: up to 8192 features, a multiple
/// of the rows the multivariate Gaussian's products take at a time ([`CHUNK_ROWS`], so that its
/// statistics of `f32` rows are those of the same rows in `f64`), about `2^18` values (2 MB)
/// when that is more; for wider rows, fewer rows (at most 32 MB), whose products may then round
/// differently from those of all the rows at once.
///
/// [`CHUNK_ROWS`]: crate::linalg::CHUNK_ROWS
pub(crate) fn conversion_rows(d: usize) -> usize {
    let chunk = crate::linalg::CHUNK_ROWS;
    let d = d.max(1);
    if d * chunk <= 1 << 22 {
        ((1 << 18) / (d * chunk)).max(1) * chunk
    } else {
        ((1 << 22) / d).max(1)
    }
}

impl<'a> Rows<'a> {
    /// The number of rows.
    pub fn nrows(&self) -> usize {
        each_type!(self, v => v.nrows())
    }

    /// The number of columns.
    pub fn ncols(&self) -> usize {
        each_type!(self, v => v.ncols())
    }

    /// `(rows, columns)`.
    pub fn dim(&self) -> (usize, usize) {
        each_type!(self, v => v.dim())
    }

    /// Whether the rows are `f32`.
    pub fn is_f32(&self) -> bool {
        matches!(self, Rows::F32(_))
    }

    /// The rows of `range` as `f64`: a view of the rows themselves for `f64`, else their values
    /// converted into `buf` (row-major; `buf` grows to the block's size once and is reused).
    pub fn block<'b>(&'b self, range: Range<usize>, buf: &'b mut Vec<f64>) -> ArrayView2<'b, f64> {
        match self {
            Rows::F64(x) => x.slice(s![range, ..]),
            Rows::F32(x) => {
                let xb = x.slice(s![range, ..]);
                buf.clear();
                match xb.as_slice() {
                    Some(xs) => buf.extend(xs.iter().map(|&v| f64::from(v))),
                    None => buf.extend(xb.iter().map(|&v| f64::from(v))),
                }
                ArrayView2::from_shape(xb.dim(), &buf[..]).expect("the block's shape")
            }
        }
    }

    /// The same rows, borrowed for a shorter lifetime (views are invariant in theirs).
    pub fn reborrow(&self) -> Rows<'_> {
        match self {
            Rows::F64(x) => Rows::F64(x.view()),
            Rows::F32(x) => Rows::F32(x.view()),
        }
    }

    /// The rows of `range`, as they are.
    pub fn slice(&self, range: Range<usize>) -> Rows<'a> {
        match self {
            Rows::F64(x) => Rows::F64(x.slice_move(s![range, ..])),
            Rows::F32(x) => Rows::F32(x.slice_move(s![range, ..])),
        }
    }

    /// A copy of the rows `rows`, in that order, as `f64`.
    pub fn select(&self, rows: &[usize]) -> Array2<f64> {
        let d = self.ncols();
        each_type!(self, v => Array2::from_shape_fn((rows.len(), d), |(i, c)| v[[rows[i], c]].to_f64()))
    }

    /// Whether row `i` equals `c`, value by value (NaN equals nothing).
    pub fn row_equals(&self, i: usize, c: ndarray::ArrayView1<'_, f64>) -> bool {
        each_type!(self, v => v.ncols() == c.len()
            && v.row(i).iter().zip(c.iter()).all(|(a, b)| a.to_f64() == *b))
    }

    /// A copy of row `i` as `f64`.
    pub fn row(&self, i: usize) -> Array1<f64> {
        each_type!(self, v => v.row(i).mapv(Element::to_f64))
    }

    /// [`check_data`](crate::validate::check_data) of the rows.
    pub fn check_data(&self, d: usize) -> crate::error::Result<()> {
        each_type!(self, v => crate::validate::check_data(v, d))
    }

    /// [`check_complete_data`](crate::validate::check_complete_data) of the rows.
    pub fn check_complete_data(&self, d: usize) -> crate::error::Result<()> {
        each_type!(self, v => crate::validate::check_complete_data(v, d))
    }

    /// Whether some value is not NaN (an observed value).
    pub fn has_observed(&self) -> bool {
        each_type!(self, v => crate::validate::has_observed(v))
    }

    /// Asks the processor to bring the first `max_values` values of `range`'s rows into its
    /// caches (see [`prefetch`](crate::kernels::prefetch)), when the rows are contiguous.
    pub fn prefetch_head(&self, range: Range<usize>, max_values: usize) {
        each_type!(self, v => {
            if let Some(xs) = v.as_slice() {
                let d = v.ncols();
                let a = (range.start * d).min(xs.len());
                let b = (range.end * d).min(xs.len()).min(a + max_values);
                crate::kernels::prefetch(&xs[a..b]);
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array2, ShapeBuilder};

    #[test]
    fn blocks_of_f32_rows_are_their_values_in_any_layout() {
        let x32: Array2<f32> = array![[1.5, -2.25], [3.0, 1e-7], [f32::NAN, 7.0]];
        let mut fortran = Array2::<f32>::zeros((3, 2).f());
        fortran.assign(&x32);
        let x64 = x32.mapv(f64::from);
        for x in [x32.view(), fortran.view(), x32.slice(s![..;-1, ..])] {
            let rows = Rows::from(x);
            let mut buf = Vec::new();
            let b = rows.block(1..3, &mut buf);
            let want = x.slice(s![1..3, ..]).mapv(f64::from);
            assert_eq!(b.dim(), (2, 2));
            for (a, w) in b.iter().zip(want.iter()) {
                assert_eq!(a.to_bits(), w.to_bits());
            }
            assert!(b.is_standard_layout());
        }
        let rows = Rows::from(x64.view());
        let mut buf = Vec::new();
        assert_eq!(rows.block(0..2, &mut buf), x64.slice(s![0..2, ..]));
        assert!(buf.is_empty(), "f64 rows are read where they are");
        assert!(Rows::from(x32.view()).has_observed());
        assert!(Rows::from(array![[f32::NAN]].view()).check_data(1).is_ok());
        assert!(!Rows::from(array![[f32::NAN]].view()).has_observed());
        assert!(Rows::from(x32.view()).check_complete_data(2).is_err());
        assert!(Rows::from(array![[f32::INFINITY]].view())
            .check_data(1)
            .is_err());
    }
}
