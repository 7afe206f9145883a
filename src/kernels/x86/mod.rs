//! The kernels in x86-64 vector instructions: [`avx2`] (AVX2 and FMA) and [`avx512`]
//! (AVX-512 foundation). Each is compiled for its instruction set with `#[target_feature]` and
//! run only on the kernel paths ([`Isa`](super::dispatch::Isa)) that have it; each lane does the
//! portable kernels' operations in their order.

pub(crate) mod avx2;
pub(crate) mod avx512;
pub(crate) mod single;
