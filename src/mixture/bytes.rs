//! The statistics of a mixture as bytes, so that they can travel between processes (the
//! partitions of a distributed fit are summarised where they live and merged on the way back).
//!
//! The layout is a sequence of little-endian `f64`: a version, the number of components, each
//! component's statistics (a tag, then its numbers; counts and dimensions as whole numbers), the
//! responsibility sums, the log-likelihood and the unexplained weight. Every number is kept
//! exactly, infinities and NaN included.

use ndarray::{Array1, Array2};

use crate::distributions::{
    ComponentStats, DiscreteStats, GammaStats, MeanStats, MultivariateGaussianStats, NormalStats,
    PairwiseStats, RangeStats,
};
use crate::error::{Error, Result};

use super::MixtureStats;

const VERSION: f64 = 1.0;

const NORMAL: f64 = 1.0;
const MEAN: f64 = 2.0;
const GAMMA: f64 = 3.0;
const RANGE: f64 = 4.0;
const DISCRETE: f64 = 5.0;
const MULTIVARIATE_GAUSSIAN: f64 = 6.0;
const INDEPENDENT: f64 = 7.0;
const EXTERNAL: f64 = 8.0;

/// Deeper nesting of independent components than this is refused when reading.
const MAX_DEPTH: usize = 64;

fn encode(stats: &ComponentStats, out: &mut Vec<f64>) {
    use ComponentStats as S;
    match stats {
        S::Normal(s) => out.extend([NORMAL, s.shift, s.weight, s.sum, s.sum_squares]),
        S::Mean(s) => out.extend([MEAN, s.weight, s.sum]),
        S::Gamma(s) => out.extend([GAMMA, s.scale, s.weight, s.sum, s.sum_log]),
        S::Range(s) => out.extend([RANGE, s.weight, s.min, s.max]),
        S::Discrete(s) => {
            out.extend([DISCRETE, s.counts.len() as f64]);
            out.extend(&s.counts);
        }
        S::MultivariateGaussian(s) => {
            out.extend([MULTIVARIATE_GAUSSIAN, s.shift.len() as f64]);
            out.extend(s.shift.iter());
            out.push(s.weight);
            out.extend(s.sum.iter());
            out.extend(s.sum_products.iter());
            match &s.missing {
                None => out.push(0.0),
                Some(p) => {
                    out.push(1.0);
                    out.extend(p.weight.iter());
                    out.extend(p.sum.iter());
                    out.extend(p.sum_products.iter());
                }
            }
        }
        S::IndependentComponents(children) => {
            out.extend([INDEPENDENT, children.len() as f64]);
            for c in children {
                encode(c, out);
            }
        }
        S::External => out.push(EXTERNAL),
    }
}

/// Reads numbers one by one; every error says the bytes are not statistics.
struct Reader<'a> {
    values: std::slice::ChunksExact<'a, u8>,
}

fn malformed(what: &str) -> Error {
    Error::param(
        "summaries",
        format!("the bytes are not mixture statistics: {what}"),
    )
}

impl Reader<'_> {
    fn remaining(&self) -> usize {
        self.values.len()
    }

    fn next(&mut self) -> Result<f64> {
        let bytes = self
            .values
            .next()
            .ok_or_else(|| malformed("they end early"))?;
        Ok(f64::from_le_bytes(bytes.try_into().expect("8 bytes")))
    }

    /// A count of things of `size` numbers each, which must all be there still.
    fn count(&mut self, size: usize) -> Result<usize> {
        let v = self.next()?;
        if !(v >= 0.0 && v == v.trunc() && v <= self.remaining() as f64) {
            return Err(malformed("a count is not a whole number of what follows"));
        }
        let n = v as usize;
        if n.checked_mul(size).is_none_or(|m| m > self.remaining()) {
            return Err(malformed("a count is larger than what follows"));
        }
        Ok(n)
    }

    fn vec(&mut self, n: usize) -> Result<Vec<f64>> {
        (0..n).map(|_| self.next()).collect()
    }

    fn square(&mut self, d: usize) -> Result<Array2<f64>> {
        let v = self.vec(d * d)?;
        Ok(Array2::from_shape_vec((d, d), v).expect("d * d values"))
    }

    fn component(&mut self, depth: usize) -> Result<ComponentStats> {
        use ComponentStats as S;
        let tag = self.next()?;
        Ok(if tag == NORMAL {
            S::Normal(NormalStats {
                shift: self.next()?,
                weight: self.next()?,
                sum: self.next()?,
                sum_squares: self.next()?,
            })
        } else if tag == MEAN {
            S::Mean(MeanStats {
                weight: self.next()?,
                sum: self.next()?,
            })
        } else if tag == GAMMA {
            S::Gamma(GammaStats {
                scale: self.next()?,
                weight: self.next()?,
                sum: self.next()?,
                sum_log: self.next()?,
            })
        } else if tag == RANGE {
            S::Range(RangeStats {
                weight: self.next()?,
                min: self.next()?,
                max: self.next()?,
            })
        } else if tag == DISCRETE {
            let n = self.count(1)?;
            S::Discrete(DiscreteStats {
                counts: self.vec(n)?,
            })
        } else if tag == MULTIVARIATE_GAUSSIAN {
            let d = self.count(1)?;
            // At least the d x d products follow.
            if d.checked_mul(d).is_none_or(|m| m > self.remaining()) {
                return Err(malformed("a dimension is larger than what follows"));
            }
            let shift = Array1::from(self.vec(d)?);
            let weight = self.next()?;
            let sum = Array1::from(self.vec(d)?);
            let sum_products = self.square(d)?;
            let flag = self.next()?;
            let missing = if flag == 0.0 {
                None
            } else if flag == 1.0 {
                if d.checked_mul(d)
                    .and_then(|m| m.checked_mul(3))
                    .is_none_or(|m| m > self.remaining())
                {
                    return Err(malformed("they end early"));
                }
                Some(PairwiseStats {
                    weight: self.square(d)?,
                    sum: self.square(d)?,
                    sum_products: self.square(d)?,
                })
            } else {
                return Err(malformed("an unknown flag"));
            };
            S::MultivariateGaussian(MultivariateGaussianStats {
                shift,
                weight,
                sum,
                sum_products,
                missing,
            })
        } else if tag == INDEPENDENT {
            if depth >= MAX_DEPTH {
                return Err(malformed("they nest too deeply"));
            }
            let n = self.count(1)?;
            S::IndependentComponents(
                (0..n)
                    .map(|_| self.component(depth + 1))
                    .collect::<Result<_>>()?,
            )
        } else if tag == EXTERNAL {
            S::External
        } else {
            return Err(malformed("an unknown kind of statistics"));
        })
    }
}

impl MixtureStats<ComponentStats> {
    /// The statistics as bytes, read back exactly by [`from_bytes`](Self::from_bytes).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut values = vec![VERSION, self.components.len() as f64];
        for c in &self.components {
            encode(c, &mut values);
        }
        values.extend(&self.responsibilities);
        values.extend([self.log_likelihood, self.unexplained]);
        values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    /// Statistics from the bytes of [`to_bytes`](Self::to_bytes); an error (naming
    /// `summaries`) for bytes that are not such statistics.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if !bytes.len().is_multiple_of(8) {
            return Err(malformed("their length is not a whole number of numbers"));
        }
        let mut r = Reader {
            values: bytes.chunks_exact(8),
        };
        if r.next()? != VERSION {
            return Err(malformed("an unknown version"));
        }
        let k = r.count(1)?;
        let components = (0..k).map(|_| r.component(0)).collect::<Result<Vec<_>>>()?;
        let responsibilities = r.vec(k)?;
        let log_likelihood = r.next()?;
        let unexplained = r.next()?;
        if r.remaining() != 0 {
            return Err(malformed("they go on after the end"));
        }
        Ok(MixtureStats {
            components,
            responsibilities,
            log_likelihood,
            unexplained,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distributions::{Component, Normal};
    use crate::mixture::GeneralMixtureModel;
    use crate::parallel::Threads;
    use ndarray::array;

    fn every_kind() -> MixtureStats<ComponentStats> {
        use ComponentStats as S;
        let mvg = |missing: bool| {
            S::MultivariateGaussian(MultivariateGaussianStats {
                shift: array![1.0, -2.0],
                weight: 3.5,
                sum: array![0.25, f64::MIN_POSITIVE],
                sum_products: array![[1.0, 2.0], [2.0, 5.0]],
                missing: missing.then(|| PairwiseStats {
                    weight: array![[1.0, 0.5], [0.5, 2.0]],
                    sum: array![[0.1, 0.2], [0.3, 0.4]],
                    sum_products: array![[9.0, 8.0], [8.0, 7.0]],
                }),
            })
        };
        MixtureStats {
            components: vec![
                S::Normal(NormalStats {
                    shift: 0.1,
                    weight: 2.0,
                    sum: -0.3,
                    sum_squares: 1e300,
                }),
                S::Mean(MeanStats {
                    weight: 1.0,
                    sum: 7.0,
                }),
                S::Gamma(GammaStats {
                    scale: 2.0,
                    weight: 1.0,
                    sum: 3.0,
                    sum_log: -4.0,
                }),
                S::Range(RangeStats {
                    weight: 0.0,
                    min: f64::INFINITY,
                    max: f64::NEG_INFINITY,
                }),
                S::Discrete(DiscreteStats {
                    counts: vec![1.0, 0.0, 2.5],
                }),
                mvg(false),
                mvg(true),
                S::IndependentComponents(vec![
                    S::Mean(MeanStats {
                        weight: 1.0,
                        sum: 1.0,
                    }),
                    S::IndependentComponents(vec![S::External]),
                ]),
            ],
            responsibilities: vec![1.0, 2.0, 3.0, 0.0, 4.0, 5.0, 6.0, 7.0],
            log_likelihood: -123.456,
            unexplained: 0.5,
        }
    }

    #[test]
    fn bytes_come_back_exactly() {
        let s = every_kind();
        assert_eq!(MixtureStats::from_bytes(&s.to_bytes()).unwrap(), s);
        let m = GeneralMixtureModel::new(
            vec![
                Component::Normal(Normal::new(0.0, 1.0).unwrap()),
                Component::Normal(Normal::new(3.0, 2.0).unwrap()),
            ],
            None,
        )
        .unwrap();
        let x = array![[0.5], [1.0], [4.0], [f64::NAN]];
        let s = m.summarize(x.view(), None, Threads::Current).unwrap();
        assert_eq!(MixtureStats::from_bytes(&s.to_bytes()).unwrap(), s);
    }

    #[test]
    fn other_bytes_are_an_error() {
        let good = every_kind().to_bytes();
        // Every truncation, and every single-number change of a count or tag to nonsense.
        for n in 0..good.len() {
            assert!(MixtureStats::from_bytes(&good[..n]).is_err(), "{n}");
        }
        let mut longer = good.clone();
        longer.extend(0.0f64.to_le_bytes());
        assert!(MixtureStats::from_bytes(&longer).is_err());
        for i in 0..good.len() / 8 {
            for v in [-1.0, 0.5, 1e18, f64::NAN, 99.0] {
                let mut bad = good.clone();
                bad[i * 8..i * 8 + 8].copy_from_slice(&f64::to_le_bytes(v));
                // Must not panic; may or may not be an error (a changed number is still a number).
                let _ = MixtureStats::from_bytes(&bad);
            }
        }
    }
}
