//! The choice of the kernel path: the only place that asks the processor what it has.
//!
//! The kernels come in three instruction sets ([`Level`]): portable Rust, AVX2 with FMA, and
//! AVX-512 (foundation and vector length) where a kernel has a 512-bit version (the quadratic
//! forms, centring and products of full covariance, the small-dimension E-step and the linear
//! algebra's matrix products, and of the `f32` kernels the centring, quadratic forms and
//! products of the moments of full covariance and the moments of diagonal Gaussians) or uses
//! its 32 registers (the other `f32` kernels of full covariance), the AVX2 kernels elsewhere.
//! Every path does the same IEEE operations in the same order, so the results are the same bits
//! on all of them; the choice changes only the speed.
//!
//! The processor's features are detected once, the first time a kernel path is asked for, and
//! the path is chosen then:
//!
//! - by default, the best the processor has: AVX-512 on a processor with AVX-512F and VL, AVX2
//!   and FMA (one with AVX-512F but not VL, a Xeon Phi, takes AVX2); AVX2 on one with AVX2 and
//!   FMA; portable otherwise (and on other architectures);
//! - the environment variable `MIXTURA_KERNEL` forces a path: `portable`, `avx2` or `avx512`
//!   (case and surrounding spaces ignored), capped at what the processor has (`avx512` on a
//!   processor with only AVX2 gives AVX2); any other value is ignored (the default choice).
//!   It is read once, with the detection: a change after the first fit has no effect.
//!
//! A kernel path is an [`Isa`]: a level the processor has. A [`Plan`](super::plan::Plan) keeps
//! the path it was made with (so a fit's E-steps take one path from start to end); the k-means
//! kernels take [`Isa::current`] at each call.

use std::sync::OnceLock;

/// An instruction set of the kernels, from the least to the most capable. Any code may name one;
/// only an [`Isa`] (made here, for what the processor has) lets the kernels run on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Portable Rust (fused multiply-adds as `f64::mul_add`).
    Portable,
    /// AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    Avx2,
    /// AVX-512 (foundation and vector length) for the kernels that have a 512-bit version (or
    /// use its 32 registers), AVX2 and FMA for the others.
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

impl Level {
    /// The level's name, as `MIXTURA_KERNEL` spells it.
    #[doc(hidden)]
    pub fn name(self) -> &'static str {
        match self {
            Level::Portable => "portable",
            #[cfg(target_arch = "x86_64")]
            Level::Avx2 => "avx2",
            #[cfg(target_arch = "x86_64")]
            Level::Avx512 => "avx512",
        }
    }
}

/// Every level, from the least to the most capable.
pub(crate) const LEVELS: &[Level] = &[
    Level::Portable,
    #[cfg(target_arch = "x86_64")]
    Level::Avx2,
    #[cfg(target_arch = "x86_64")]
    Level::Avx512,
];

/// A kernel path: a [`Level`] the processor has. Values are made only in this module, from
/// what the processor reports, so that holding one is what makes the kernels' calls of
/// functions compiled for its instruction set sound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Isa(Level);

/// The processor's best level and the chosen one, found once.
static CHOICE: OnceLock<(Level, Level)> = OnceLock::new();

fn choice() -> (Level, Level) {
    *CHOICE.get_or_init(|| {
        let cpu = detect();
        let forced = std::env::var("MIXTURA_KERNEL").ok();
        (cpu, choose(cpu, forced.as_deref()))
    })
}

/// The best level of this processor.
fn detect() -> Level {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        // Every processor with AVX2 that we know of also has FMA; both are required.
        if has!("avx2") && has!("fma") {
            return if has!("avx512f") && has!("avx512vl") {
                Level::Avx512
            } else {
                Level::Avx2
            };
        }
    }
    Level::Portable
}

/// The level for a processor whose best is `cpu`, given the value of `MIXTURA_KERNEL` (if set).
pub(crate) fn choose(cpu: Level, forced: Option<&str>) -> Level {
    let wanted = forced.map(|v| v.trim().to_ascii_lowercase());
    let Some(rank) = wanted.and_then(|v| LEVELS.iter().position(|level| level.name() == v)) else {
        return cpu;
    };
    let available = LEVELS.iter().filter(|&&level| level <= cpu).count();
    LEVELS[rank.min(available - 1)]
}

impl Isa {
    /// The kernel path of this process: the processor's best, or the one `MIXTURA_KERNEL`
    /// forces (see the [module docs](self)).
    #[inline]
    #[doc(hidden)]
    pub fn current() -> Isa {
        Isa(choice().1)
    }

    /// The best kernel path the processor has, whatever `MIXTURA_KERNEL` says.
    #[inline]
    #[doc(hidden)]
    pub fn cpu() -> Isa {
        Isa(choice().0)
    }

    /// The portable path (every processor has it).
    #[cfg(test)]
    pub(crate) fn portable() -> Isa {
        Isa(Level::Portable)
    }

    /// Every kernel path the processor can run, from portable up.
    #[cfg(test)]
    pub(crate) fn supported() -> impl Iterator<Item = Isa> {
        let cpu = choice().0;
        LEVELS
            .iter()
            .filter(move |&&level| level <= cpu)
            .map(|&level| Isa(level))
    }

    /// The instruction set of the path.
    #[inline(always)]
    #[doc(hidden)]
    pub fn level(self) -> Level {
        self.0
    }

    /// Whether the path runs the AVX2 kernels (AVX-512 does where it has no kernel of its own).
    #[cfg(test)]
    pub(crate) fn avx2(self) -> bool {
        self.0 != Level::Portable
    }

    /// Whether the path runs the AVX-512 kernels.
    #[inline(always)]
    pub(crate) fn avx512(self) -> bool {
        #[cfg(target_arch = "x86_64")]
        return self.0 == Level::Avx512;
        #[cfg(not(target_arch = "x86_64"))]
        return false;
    }
}
