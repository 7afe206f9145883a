//! The general mixture model.
//!
//! - `model.rs`: [`GeneralMixtureModel`], its components and weights, criteria and sampling;
//! - `stats.rs`: [`MixtureStats`], the statistics that merge, and the M-step;
//! - `predict.rs`: log-densities, posteriors and labels of rows;
//! - `estep.rs`: the E-step over chunks of rows (fused kernels or the components' methods);
//! - `bytes.rs`: statistics as bytes, to travel between processes.

mod bytes;
mod estep;
mod model;
mod predict;
mod stats;

pub(crate) use estep::Labels;
pub use model::GeneralMixtureModel;
pub use stats::MixtureStats;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distributions::{Component, Normal};
    use crate::parallel::Threads;
    use ndarray::array;
    use ndarray::Array2;

    fn two_normals() -> GeneralMixtureModel {
        GeneralMixtureModel::new(
            vec![
                Component::Normal(Normal::new(5.0, 2.0).unwrap()),
                Component::Normal(Normal::new(1.0, 1.0).unwrap()),
            ],
            None,
        )
        .unwrap()
    }

    #[test]
    fn posteriors_match_the_documented_example() {
        let m = two_normals();
        let p = m
            .predict_proba(array![[5.0], [7.0], [1.0]].view(), Threads::Current)
            .unwrap();
        assert!((p[[0, 0]] - 0.99932952).abs() < 1e-8);
        assert!((p[[2, 1]] - 0.93662106).abs() < 1e-8);
        for row in p.rows() {
            assert!((row.sum() - 1.0).abs() < 1e-12);
        }
        assert_eq!(
            m.predict(array![[5.0], [7.0], [1.0]].view(), Threads::Current)
                .unwrap(),
            array![0, 0, 1]
        );
    }

    #[test]
    fn missing_rows_get_the_prior() {
        let m = GeneralMixtureModel::new(
            vec![
                Component::Normal(Normal::new(0.0, 1.0).unwrap()),
                Component::Normal(Normal::new(1.0, 1.0).unwrap()),
            ],
            Some(&[0.25, 0.75]),
        )
        .unwrap();
        let x = array![[f64::NAN]];
        assert!(m.log_probability(x.view(), Threads::Current).unwrap()[0].abs() < 1e-15);
        let p = m.predict_proba(x.view(), Threads::Current).unwrap();
        assert!((p[[0, 0]] - 0.25).abs() < 1e-15);
    }

    #[test]
    fn rejects_bad_construction() {
        assert!(GeneralMixtureModel::<Component>::new(vec![], None).is_err());
        let n = Component::Normal(Normal::blank());
        assert!(GeneralMixtureModel::new(vec![n.clone(), n.clone()], Some(&[1.0])).is_err());
        assert!(GeneralMixtureModel::new(vec![n.clone(), n.clone()], Some(&[-1.0, 2.0])).is_err());
        assert!(GeneralMixtureModel::new(vec![n.clone(), n], Some(&[0.0, 0.0])).is_err());
    }

    #[test]
    fn a_part_may_weigh_nothing() {
        let m = two_normals();
        let x = array![[1.0], [2.0]];
        let zero = array![0.0, 0.0];
        assert!(m
            .summarize(x.view(), Some(zero.view()), Threads::Current)
            .is_err());
        let part = m
            .summarize_part(x.view(), Some(zero.view()), Threads::Current)
            .unwrap();
        assert_eq!(part.responsibilities, vec![0.0, 0.0]);
        let negative = array![1.0, -1.0];
        assert!(m
            .summarize_part(x.view(), Some(negative.view()), Threads::Current)
            .is_err());
        assert!(m
            .summarize_part(array![[f64::INFINITY]].view(), None, Threads::Current)
            .is_err());
    }

    #[test]
    fn rejects_bad_data() {
        let m = two_normals();
        assert!(m
            .log_probability(array![[1.0, 2.0]].view(), Threads::Current)
            .is_err());
        assert!(m
            .log_probability(Array2::<f64>::zeros((0, 1)).view(), Threads::Current)
            .is_err());
        assert!(m
            .log_probability(array![[f64::INFINITY]].view(), Threads::Current)
            .is_err());
        let w = array![1.0, -1.0];
        assert!(m
            .summarize(
                array![[1.0], [2.0]].view(),
                Some(w.view()),
                Threads::Current
            )
            .is_err());
    }
}
