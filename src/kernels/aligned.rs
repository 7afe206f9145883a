//! Work space of the kernels whose first value is at a multiple of [`LINE`] bytes (a cache line,
//! and one AVX-512 vector), wherever the allocator puts it: the kernels' rows of whole vectors
//! (rows of a transposed block a multiple of eight or sixteen values apart) then never straddle
//! two cache lines, and the time of a fit does not depend on where its scratch landed.

use crate::error::{Error, Result};
use crate::validate::zeroed_vec;
use std::ops::{Deref, DerefMut};

/// The alignment of an [`Aligned`]'s first value, in bytes.
pub(crate) const LINE: usize = 64;

/// A vector of `len` values, the first at a multiple of [`LINE`] bytes (of the `LINE / size`
/// values more that it holds, those before that place are never read).
#[derive(Debug)]
pub(crate) struct Aligned<T> {
    buf: Vec<T>,
    at: usize,
    len: usize,
}

impl<T> Default for Aligned<T> {
    fn default() -> Self {
        Aligned {
            buf: Vec::new(),
            at: 0,
            len: 0,
        }
    }
}

impl<T: Copy + Default> Aligned<T> {
    /// `len` zeros (see [`zeroed_vec`]), or `err()` when they cannot be allocated.
    pub fn zeroed(len: usize, err: impl Fn() -> Error) -> Result<Aligned<T>> {
        let spare = LINE / std::mem::size_of::<T>().max(1);
        let buf: Vec<T> = zeroed_vec(&[len.checked_add(spare).ok_or_else(&err)?], &err)?;
        let at = if len == 0 {
            0
        } else {
            // At most `spare - 1` for values whose size divides `LINE` (those of the kernels).
            buf.as_ptr().align_offset(LINE).min(spare)
        };
        Ok(Aligned { buf, at, len })
    }

    /// The values of `values` in place of those held (no allocation: at most as many as the
    /// vector was made with), the length then theirs.
    pub fn refill(&mut self, values: impl ExactSizeIterator<Item = T>) -> &[T] {
        let room = &mut self.buf[self.at..];
        assert!(
            values.len() <= room.len(),
            "more values than the vector holds"
        );
        let len = values.len();
        for (o, v) in room.iter_mut().zip(values) {
            *o = v;
        }
        self.len = len;
        &self.buf[self.at..self.at + len]
    }
}

impl<T> Deref for Aligned<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.buf[self.at..self.at + self.len]
    }
}

impl<T> DerefMut for Aligned<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.buf[self.at..self.at + self.len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    fn err() -> Error {
        crate::validate::too_large("n", "n")
    }

    #[test]
    fn values_start_at_a_line_and_refills_keep_the_place() {
        for len in [0usize, 1, 7, 100, 5000] {
            let mut a = Aligned::<f32>::zeroed(len, err).unwrap();
            let b = Aligned::<f64>::zeroed(len, err).unwrap();
            assert_eq!((a.len(), b.len()), (len, len));
            assert!(a.iter().all(|&v| v == 0.0) && b.iter().all(|&v| v == 0.0));
            if len > 0 {
                assert_eq!(a.as_ptr() as usize % LINE, 0);
                assert_eq!(b.as_ptr() as usize % LINE, 0);
            }
            let at = a.as_ptr();
            let m = len / 2;
            assert_eq!(a.refill((0..m).map(|i| i as f32)).len(), m);
            assert_eq!((a.len(), a.as_ptr()), (m, at));
            assert!(a.iter().enumerate().all(|(i, &v)| v == i as f32));
            assert_eq!(a.refill((0..len).map(|_| 1.0)).len(), len);
        }
        assert!(Aligned::<f64>::zeroed(usize::MAX, err).is_err());
        assert!(Aligned::<f64>::zeroed(usize::MAX / 16, err).is_err());
    }
}
