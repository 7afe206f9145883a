//! Loads a model saved as JSON (by mixtura in Python or Rust, or by pomegranate 0.14) and, for
//! every row read from standard input (numbers separated by commas or spaces), prints the most
//! probable component, the log-density and the posterior probabilities.
//!
//! `cargo run --release --example predict -- model.json < rows.csv`

use std::error::Error;
use std::io::{self, BufRead, Write};

use mixtura::{GeneralMixtureModel, Threads};
use ndarray::Array2;

fn main() -> Result<(), Box<dyn Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: predict MODEL.json < rows")?;
    let model = GeneralMixtureModel::from_json(&std::fs::read_to_string(&path)?)?;
    let d = model.dim();
    let mut values = Vec::new();
    for (i, line) in io::stdin().lock().lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let row: Vec<f64> = line
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|f| !f.is_empty())
            .map(|f| f.parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|e| format!("line {}: {e}", i + 1))?;
        if row.len() != d {
            return Err(format!("line {}: expected {d} numbers, got {}", i + 1, row.len()).into());
        }
        values.extend(row);
    }
    let x = Array2::from_shape_vec((values.len() / d, d), values)?;
    let labels = model.predict(x.view(), Threads::Current)?;
    let logp = model.log_probability(x.view(), Threads::Current)?;
    let post = model.predict_proba(x.view(), Threads::Current)?;
    let mut out = io::stdout().lock();
    for i in 0..x.nrows() {
        // `{:?}` prints the shortest representation that reads back as the same float.
        let probs: Vec<String> = post.row(i).iter().map(|p| format!("{p:?}")).collect();
        writeln!(out, "{} {:?} {}", labels[i], logp[i], probs.join(" "))?;
    }
    Ok(())
}
