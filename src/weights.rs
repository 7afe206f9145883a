//! Sample weights as the passes over the rows read them: the caller's, or a weight of 1 for every
//! row, without a vector of them in memory (a vector of ones is 8 bytes per row: twice the data
//! of one `f32` column).

use std::borrow::Cow;
use std::ops::Range;

use ndarray::ArrayView1;

use crate::error::Result;
use crate::parallel::BLOCK_ROWS;
use crate::validate::{check_weights, collected, too_large};

/// The weights of a block of rows without given weights.
static ONES: [f64; BLOCK_ROWS] = [1.0; BLOCK_ROWS];

/// The weights of `len()` rows.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Weights<'a> {
    /// A weight of 1 for each of so many rows.
    Ones(usize),
    /// One given weight per row.
    Given(&'a [f64]),
}

impl<'a> Weights<'a> {
    /// The caller's weights (`given`, contiguous) or a weight of 1 for each of `n` rows.
    pub(crate) fn new(given: Option<&'a [f64]>, n: usize) -> Self {
        given.map_or(Weights::Ones(n), Weights::Given)
    }

    /// The weight of row `i`.
    ///
    /// # Panics
    ///
    /// When there is no row `i`.
    pub(crate) fn get(&self, i: usize) -> f64 {
        match self {
            Weights::Ones(n) => {
                assert!(i < *n, "row {i} of {n} weights");
                1.0
            }
            Weights::Given(w) => w[i],
        }
    }

    /// The weights of the rows in `rows`.
    ///
    /// # Panics
    ///
    /// When `rows` goes past the last row.
    pub(crate) fn slice(&self, rows: Range<usize>) -> Self {
        match self {
            Weights::Ones(n) => {
                assert!(
                    rows.start <= rows.end && rows.end <= *n,
                    "rows of {n} weights"
                );
                Weights::Ones(rows.len())
            }
            Weights::Given(w) => Weights::Given(&w[rows]),
        }
    }

    /// The weights of a block of at most [`BLOCK_ROWS`] rows, as a slice.
    ///
    /// # Panics
    ///
    /// When `rows` goes past the last row, or is longer than a block for weights of 1.
    pub(crate) fn block(&self, rows: Range<usize>) -> &'a [f64] {
        match self {
            Weights::Ones(n) => {
                assert!(
                    rows.start <= rows.end && rows.end <= *n,
                    "rows of {n} weights"
                );
                &ONES[..rows.len()]
            }
            Weights::Given(w) => &w[rows],
        }
    }

    /// The weights in row order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = f64> + Clone + 'a {
        let (given, ones) = match *self {
            Weights::Ones(n) => (None, n),
            Weights::Given(w) => (Some(w.iter().copied()), 0),
        };
        given
            .into_iter()
            .flatten()
            .chain(std::iter::repeat_n(1.0, ones))
    }
}

/// The caller's weights of `n` rows after their checks ([`check_weights`]), as a slice: read in
/// place when they are contiguous, copied otherwise (an error when the copy does not fit in
/// memory); `None` without weights.
pub(crate) fn contiguous_weights(
    weights: Option<ArrayView1<'_, f64>>,
    n: usize,
) -> Result<Option<Cow<'_, [f64]>>> {
    let Some(w) = weights else {
        return Ok(None);
    };
    check_weights(&w, n)?;
    if let Some(values) = w.to_slice() {
        return Ok(Some(Cow::Borrowed(values)));
    }
    let copy = collected(w.iter().copied(), || {
        too_large("weights", "a copy of the weights")
    })?;
    Ok(Some(Cow::Owned(copy)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{s, Array1};

    #[test]
    fn weights_of_one_read_as_a_vector_of_ones() {
        let ones = vec![1.0; 700];
        let (implicit, given) = (Weights::Ones(700), Weights::Given(&ones));
        for w in [implicit, given] {
            assert_eq!(w.get(699), 1.0);
            assert_eq!(w.iter().collect::<Vec<_>>(), ones);
            let part = w.slice(100..650);
            assert_eq!(part.block(290..290 + BLOCK_ROWS), &ones[..BLOCK_ROWS]);
            assert_eq!(part.block(549..550), &[1.0]);
        }
    }

    #[test]
    fn given_weights_are_read_in_row_order() {
        let w: Vec<f64> = (0..10).map(f64::from).collect();
        let w = Weights::Given(&w);
        assert_eq!(
            w.slice(3..7).iter().collect::<Vec<_>>(),
            [3.0, 4.0, 5.0, 6.0]
        );
        assert_eq!(w.slice(3..7).get(1), 4.0);
        assert_eq!(w.slice(2..9).block(1..3), &[3.0, 4.0]);
    }

    #[test]
    #[should_panic(expected = "rows of 5 weights")]
    fn a_block_past_the_rows_is_a_bug() {
        Weights::Ones(5).block(3..6);
    }

    #[test]
    fn contiguous_weights_are_read_in_place_and_others_copied() {
        let w = Array1::from_shape_fn(8, |i| 1.0 + i as f64);
        let inplace = contiguous_weights(Some(w.view()), 8).unwrap().unwrap();
        assert!(matches!(inplace, Cow::Borrowed(_)));
        let strided = w.slice(s![..;2]);
        let copy = contiguous_weights(Some(strided), 4).unwrap().unwrap();
        assert!(matches!(copy, Cow::Owned(_)));
        assert_eq!(&copy[..], &[1.0, 3.0, 5.0, 7.0]);
        assert!(contiguous_weights(None, 8).unwrap().is_none());
        // Checked as any weights are.
        assert!(contiguous_weights(Some(w.view()), 7).is_err());
        assert!(contiguous_weights(Some(Array1::zeros(3).view()), 3).is_err());
    }
}
