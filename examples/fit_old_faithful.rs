//! Fits a two-component Gaussian mixture to the Old Faithful data and prints the model.
//!
//! `cargo run --release --example fit_old_faithful [CSV FILE]`

use std::error::Error;

use mixtura::{Component, Components, Family, FromSamplesOptions, GeneralMixtureModel, Threads};
use ndarray::Array2;

fn read_csv(path: &str) -> Result<Array2<f64>, Box<dyn Error>> {
    let text = std::fs::read_to_string(path)?;
    let mut values = Vec::new();
    let mut width = 0;
    for (i, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let parsed: Result<Vec<f64>, _> = fields.iter().map(|f| f.parse::<f64>()).collect();
        match parsed {
            Ok(row) => {
                if width == 0 {
                    width = row.len();
                } else if row.len() != width {
                    return Err(format!("{path}:{}: expected {width} values", i + 1).into());
                }
                values.extend(row);
            }
            Err(_) if i == 0 => continue, // a header row
            Err(e) => return Err(format!("{path}:{}: {e}", i + 1).into()),
        }
    }
    Ok(Array2::from_shape_vec(
        (values.len() / width.max(1), width),
        values,
    )?)
}

fn main() -> Result<(), Box<dyn Error>> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/data/old_faithful.csv").into());
    let x = read_csv(&path)?;
    let mut opts = FromSamplesOptions::new(2);
    opts.seed = 0;
    opts.fit.threads = Threads::Count(2);
    let (model, report) = GeneralMixtureModel::from_samples(
        &Components::Each(Family::MultivariateGaussian),
        x.view(),
        None,
        &opts,
    )?;
    println!(
        "{} rows, {} EM iterations, log-likelihood {:.6}",
        x.nrows(),
        report.n_iterations(),
        report.log_probability
    );
    for (j, (dist, w)) in model
        .distributions()
        .iter()
        .zip(model.weights())
        .enumerate()
    {
        if let Component::MultivariateGaussian(g) = dist {
            println!("component {j}: weight {w:.5}, means {:.5}", g.means());
            println!("  covariance {:.5}", g.covariance());
        }
    }
    println!("{}", model.to_json());
    Ok(())
}
