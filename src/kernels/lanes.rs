//! The lanes of the generic kernels: the [`Lanes`] trait, one-lane `f64` and the portable
//! [`Quad`] (the vector lanes are in [`x86`](super::x86)).

use super::math::{exp_nonpositive, ln_positive};

/// `f64` lanes and the operations of the generic kernels on them (the small-dimension E-step,
/// the quadratic forms, the products and the centring of full covariance, and the register
/// tiles of the linear algebra's matrix products): the portable [`Quad`] and, on x86-64, AVX2
/// vectors (four lanes), and for the small-dimension E-step and the matrix products also
/// AVX-512 vectors (eight), each lane doing the same IEEE operation whichever it is.
pub(crate) trait Lanes: Copy {
    /// The number of lanes.
    const WIDTH: usize;
    /// All lanes `v`.
    fn splat(v: f64) -> Self;
    /// `s[..WIDTH]`.
    fn load(s: &[f64]) -> Self;
    /// Into `s[..WIDTH]`.
    fn store(self, s: &mut [f64]);
    /// `self + o`.
    fn add(self, o: Self) -> Self;
    /// `self - o`.
    fn sub(self, o: Self) -> Self;
    /// `self * o`.
    fn mul(self, o: Self) -> Self;
    /// `self * a + b`, rounded once (a fused multiply-add).
    fn mul_add(self, a: Self, b: Self) -> Self;
    /// `self / o`.
    fn div(self, o: Self) -> Self;
    /// `if self > o { self } else { o }`.
    fn max_of(self, o: Self) -> Self;
    /// NaN lanes made `-inf`.
    fn nan_to_neg_inf(self) -> Self;
    /// `if f == 0 { 0 } else { self * f }`.
    fn times_unless_zero(self, f: Self) -> Self;
    /// [`exp_nonpositive`] of each lane.
    fn exp(self) -> Self;
    /// [`ln_positive`] of each lane.
    fn ln(self) -> Self;
}

/// One lane: the scalar functions' arithmetic.
impl Lanes for f64 {
    const WIDTH: usize = 1;
    #[inline(always)]
    fn splat(v: f64) -> Self {
        v
    }
    #[inline(always)]
    fn load(s: &[f64]) -> Self {
        s[0]
    }
    #[inline(always)]
    fn store(self, s: &mut [f64]) {
        s[0] = self;
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        self + o
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        self - o
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        self * o
    }
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        f64::mul_add(self, a, b)
    }
    #[inline(always)]
    fn div(self, o: Self) -> Self {
        self / o
    }
    #[inline(always)]
    fn max_of(self, o: Self) -> Self {
        if self > o {
            self
        } else {
            o
        }
    }
    #[inline(always)]
    fn nan_to_neg_inf(self) -> Self {
        if self.is_nan() {
            f64::NEG_INFINITY
        } else {
            self
        }
    }
    #[inline(always)]
    fn times_unless_zero(self, f: Self) -> Self {
        if f == 0.0 {
            0.0
        } else {
            self * f
        }
    }
    #[inline(always)]
    fn exp(self) -> Self {
        exp_nonpositive(self)
    }
    #[inline(always)]
    fn ln(self) -> Self {
        ln_positive(self)
    }
}

/// Portable [`Lanes`].
#[derive(Clone, Copy)]
pub(crate) struct Quad([f64; 4]);

impl Lanes for Quad {
    const WIDTH: usize = 4;
    #[inline(always)]
    fn splat(v: f64) -> Self {
        Quad([v; 4])
    }
    #[inline(always)]
    fn load(s: &[f64]) -> Self {
        Quad(s[..4].try_into().expect("four lanes"))
    }
    #[inline(always)]
    fn store(self, s: &mut [f64]) {
        s[..4].copy_from_slice(&self.0);
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        self.zip(o, <f64 as Lanes>::add)
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        self.zip(o, <f64 as Lanes>::sub)
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        self.zip(o, <f64 as Lanes>::mul)
    }
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        let mut v = self.0;
        for ((x, a), b) in v.iter_mut().zip(a.0).zip(b.0) {
            *x = x.mul_add(a, b);
        }
        Quad(v)
    }
    #[inline(always)]
    fn div(self, o: Self) -> Self {
        self.zip(o, <f64 as Lanes>::div)
    }
    #[inline(always)]
    fn max_of(self, o: Self) -> Self {
        self.zip(o, <f64 as Lanes>::max_of)
    }
    #[inline(always)]
    fn nan_to_neg_inf(self) -> Self {
        Quad(self.0.map(<f64 as Lanes>::nan_to_neg_inf))
    }
    #[inline(always)]
    fn times_unless_zero(self, f: Self) -> Self {
        self.zip(f, <f64 as Lanes>::times_unless_zero)
    }
    #[inline(always)]
    fn exp(self) -> Self {
        Quad(self.0.map(exp_nonpositive))
    }
    #[inline(always)]
    fn ln(self) -> Self {
        Quad(self.0.map(ln_positive))
    }
}

impl Quad {
    /// `f` of the lanes of `self` and `o`, lane by lane (the one-lane operations of `f64`).
    #[inline(always)]
    fn zip(self, o: Self, f: impl Fn(f64, f64) -> f64) -> Self {
        let mut v = self.0;
        for (a, b) in v.iter_mut().zip(o.0) {
            *a = f(*a, b);
        }
        Quad(v)
    }
}
