//! The discrete (categorical) distribution over a finite set of symbols.

use ndarray::ArrayView2;
use rand_core::RngCore;

use super::{Distribution, Statistics};
use crate::error::{Error, Result};
use crate::rng::uniform01;

/// A categorical distribution over named symbols (`keys`). In data, a symbol is given by its
/// code: the index of its key, as a float. A code that names no key (a symbol the distribution
/// has never seen) has log-probability `-inf`; NaN is a missing value (log-probability 0).
///
/// The keys are strings, as in pomegranate's JSON; `dtype` records the type the keys had
/// (`"str"`, `"int"`, `"float"`, `"bool"`, ...) so that a Python caller can convert them back.
#[derive(Debug, Clone, PartialEq)]
pub struct Discrete {
    keys: Vec<String>,
    probabilities: Vec<f64>,
    dtype: String,
    /// When true, `from_summaries` leaves the parameters as they are.
    pub frozen: bool,
}

/// The weighted count of every code.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscreteStats {
    /// `sum w` per code.
    pub counts: Vec<f64>,
}

impl Statistics for DiscreteStats {
    fn merge(&mut self, other: &Self) -> Result<()> {
        if self.counts.len() != other.counts.len() {
            return Err(Error::param(
                "summaries",
                "statistics of discrete distributions over different symbols cannot be merged",
            ));
        }
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        Ok(())
    }
}

impl Discrete {
    /// A distribution giving `probabilities[i]` to `keys[i]`; the keys must be distinct and the
    /// probabilities non-negative and sum to 1 (within 1e-6).
    pub fn new(
        keys: Vec<String>,
        probabilities: Vec<f64>,
        dtype: impl Into<String>,
    ) -> Result<Self> {
        if keys.len() != probabilities.len() {
            return Err(Error::param(
                "probabilities",
                format!(
                    "must give one probability per key ({}), got {}",
                    keys.len(),
                    probabilities.len()
                ),
            ));
        }
        if keys.is_empty() {
            return Err(Error::param(
                "probabilities",
                "must hold at least one symbol",
            ));
        }
        let mut sorted: Vec<&String> = keys.iter().collect();
        sorted.sort();
        if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
            return Err(Error::param(
                "keys",
                format!("the symbol {:?} appears twice", w[0]),
            ));
        }
        if probabilities.iter().any(|p| !(0.0..=1.0).contains(p)) {
            return Err(Error::param(
                "probabilities",
                "must each be between 0 and 1",
            ));
        }
        let total: f64 = probabilities.iter().sum();
        if (total - 1.0).abs() > 1e-6 {
            return Err(Error::param(
                "probabilities",
                format!("must sum to 1, got {total}"),
            ));
        }
        Ok(Discrete {
            keys,
            probabilities,
            dtype: dtype.into(),
            frozen: false,
        })
    }

    /// The uniform distribution over `k` symbols named `"0"`, ..., `"k-1"`.
    pub fn uniform(k: usize) -> Result<Self> {
        if k == 0 {
            return Err(Error::param(
                "keys",
                "a discrete distribution needs at least one symbol",
            ));
        }
        Self::new(
            (0..k).map(|i| i.to_string()).collect(),
            vec![1.0 / k as f64; k],
            "int",
        )
    }

    /// The symbols.
    pub fn keys(&self) -> &[String] {
        &self.keys
    }

    /// The probability of each symbol.
    pub fn probabilities(&self) -> &[f64] {
        &self.probabilities
    }

    /// The type the keys had.
    pub fn dtype(&self) -> &str {
        &self.dtype
    }

    fn code(&self, v: f64) -> Option<usize> {
        if v >= 0.0 && v.fract() == 0.0 && v < self.keys.len() as f64 {
            Some(v as usize)
        } else {
            None
        }
    }
}

impl Distribution for Discrete {
    type Stats = DiscreteStats;

    fn dim(&self) -> usize {
        1
    }

    fn log_probability_into(&self, x: ArrayView2<f64>, out: &mut [f64]) -> Result<()> {
        for (o, &v) in out.iter_mut().zip(x.column(0).iter()) {
            *o = if v.is_nan() {
                0.0
            } else {
                self.code(v)
                    .map_or(f64::NEG_INFINITY, |c| self.probabilities[c].ln())
            };
        }
        Ok(())
    }

    fn new_stats(&self) -> DiscreteStats {
        DiscreteStats {
            counts: vec![0.0; self.keys.len()],
        }
    }

    fn accumulate(
        &self,
        x: ArrayView2<f64>,
        weights: &[f64],
        stats: &mut DiscreteStats,
    ) -> Result<()> {
        for (&v, &w) in x.column(0).iter().zip(weights) {
            if let Some(c) = self.code(v) {
                stats.counts[c] += w;
            }
        }
        Ok(())
    }

    fn from_summaries(&mut self, stats: &DiscreteStats, inertia: f64) -> Result<()> {
        self.from_summaries_smoothed(stats, inertia, 0.0)
    }

    fn from_summaries_smoothed(
        &mut self,
        stats: &DiscreteStats,
        inertia: f64,
        pseudocount: f64,
    ) -> Result<()> {
        if stats.counts.len() != self.keys.len() {
            return Err(Error::param(
                "summaries",
                "the statistics belong to a discrete distribution over other symbols",
            ));
        }
        let weight: f64 = stats.counts.iter().sum();
        if self.frozen || weight < 1e-8 && pseudocount == 0.0 {
            return Ok(());
        }
        let total = weight + pseudocount * self.keys.len() as f64;
        for (p, c) in self.probabilities.iter_mut().zip(&stats.counts) {
            *p = *p * inertia + (c + pseudocount) / total * (1.0 - inertia);
        }
        Ok(())
    }

    fn is_frozen(&self) -> bool {
        self.frozen
    }

    fn n_parameters(&self) -> Option<usize> {
        Some(if self.frozen { 0 } else { self.keys.len() - 1 })
    }

    fn sample_into(&self, rng: &mut dyn RngCore, out: &mut [f64]) {
        let target = uniform01(rng);
        let mut acc = 0.0;
        let mut last = 0;
        for (i, p) in self.probabilities.iter().enumerate() {
            if *p > 0.0 {
                last = i;
                acc += p;
                if target < acc {
                    out[0] = i as f64;
                    return;
                }
            }
        }
        out[0] = last as f64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn lookup_fit_and_smoothing() {
        let mut d = Discrete::new(
            vec!["A".into(), "B".into(), "C".into()],
            vec![0.5, 0.25, 0.25],
            "str",
        )
        .unwrap();
        let x = array![[0.0], [1.0], [7.0], [f64::NAN], [0.5]];
        let mut out = [0.0; 5];
        d.log_probability_into(x.view(), &mut out).unwrap();
        assert_eq!(out[0], 0.5f64.ln());
        assert_eq!(out[2], f64::NEG_INFINITY);
        assert_eq!(out[3], 0.0);
        assert_eq!(out[4], f64::NEG_INFINITY);
        let mut st = d.new_stats();
        d.accumulate(x.view(), &[1.0, 3.0, 1.0, 1.0, 1.0], &mut st)
            .unwrap();
        d.from_summaries_smoothed(&st, 0.0, 1.0).unwrap();
        assert_eq!(d.probabilities(), &[2.0 / 7.0, 4.0 / 7.0, 1.0 / 7.0]);
    }

    #[test]
    fn invalid() {
        assert!(Discrete::new(vec!["a".into()], vec![0.5], "str").is_err());
        assert!(Discrete::new(vec!["a".into(), "a".into()], vec![0.5, 0.5], "str").is_err());
        assert!(Discrete::new(vec![], vec![], "str").is_err());
    }
}
