//! Seeded random streams: ChaCha8 generators from a `u64` seed (the same numbers on every
//! machine), uniform and normal draws, and weighted choice.

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

/// The generator of a seed: every random stream of the crate starts here.
pub fn seeded(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// A uniform draw in (0, 1): the top 53 bits of a `u64`, centred in their interval.
pub(crate) fn uniform01(rng: &mut dyn RngCore) -> f64 {
    ((rng.next_u64() >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
}

/// A standard normal draw (Box-Muller; one of the pair is used, which keeps the draw count per
/// sample fixed and the streams reproducible).
pub(crate) fn standard_normal(rng: &mut dyn RngCore) -> f64 {
    let u1 = uniform01(rng);
    let u2 = uniform01(rng);
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Picks an index with probability proportional to its (non-negative) weight.
pub(crate) fn choose_weighted(
    weights: impl Iterator<Item = f64> + Clone,
    rng: &mut dyn RngCore,
) -> usize {
    let total: f64 = weights.clone().sum();
    let target = uniform01(rng) * total;
    let mut acc = 0.0;
    let mut last_positive = 0;
    for (i, w) in weights.enumerate() {
        if w > 0.0 {
            last_positive = i;
            acc += w;
            if target < acc {
                return i;
            }
        }
    }
    last_positive
}

/// A uniform draw in [0, 1) for row `i` of a sampling round, from the round's seed alone, so
/// that the rows chosen do not depend on how the rows are split between threads (SplitMix64).
pub(crate) fn row_uniform(seed: u64, i: usize) -> f64 {
    let mut z = seed.wrapping_add((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// Values in `[-0.5, 0.5)` from a fixed xorshift generator (`seed` not 0), for tests that need
/// data of no particular distribution.
#[cfg(test)]
pub(crate) fn test_draws(seed: u64) -> impl FnMut() -> f64 {
    let mut state = seed;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_seeded_and_in_range() {
        let (mut a, mut b) = (seeded(7), seeded(7));
        for _ in 0..1000 {
            let u = uniform01(&mut a);
            assert!(u > 0.0 && u < 1.0);
            assert_eq!(u.to_bits(), uniform01(&mut b).to_bits());
        }
    }

    #[test]
    fn weighted_choice_skips_zero_weights() {
        let mut rng = seeded(1);
        for _ in 0..200 {
            let i = choose_weighted([0.0, 2.0, 0.0, 1.0].into_iter(), &mut rng);
            assert!(i == 1 || i == 3);
        }
    }
}
