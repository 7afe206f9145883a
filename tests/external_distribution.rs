//! A distribution that keeps its statistics itself ([`ExternalDistribution`]): clones are
//! models of their own, equality compares parameters, and documents read back through
//! `from_json_with`.

use std::sync::Mutex;

use mixtura::{
    Component, Error, External, ExternalDistribution, FitOptions, GeneralMixtureModel,
    IndependentComponents, Normal, Result,
};
use ndarray::{array, ArrayView2};

/// An exponential distribution whose statistics (weight, weighted sum) live inside it.
struct Rate {
    state: Mutex<(f64, f64, f64)>, // rate, weight, sum
}

impl Rate {
    fn new(rate: f64) -> Self {
        Rate {
            state: Mutex::new((rate, 0.0, 0.0)),
        }
    }

    fn rate(&self) -> f64 {
        self.state.lock().unwrap().0
    }
}

impl ExternalDistribution for Rate {
    fn name(&self) -> String {
        "RateDistribution".into()
    }
    fn dim(&self) -> usize {
        1
    }
    fn log_probability(&self, x: ArrayView2<f64>, out: &mut [f64]) -> Result<()> {
        let rate = self.rate();
        for (o, v) in out.iter_mut().zip(x.column(0)) {
            *o = if *v < 0.0 {
                f64::NEG_INFINITY
            } else {
                rate.ln() - rate * v
            };
        }
        Ok(())
    }
    fn summarize(&self, x: ArrayView2<f64>, weights: &[f64]) -> Result<()> {
        let mut s = self.state.lock().unwrap();
        for (v, w) in x.column(0).iter().zip(weights) {
            s.1 += w;
            s.2 += w * v;
        }
        Ok(())
    }
    fn from_summaries(&self, inertia: f64) -> Result<()> {
        let mut s = self.state.lock().unwrap();
        if s.1 > 0.0 {
            s.0 = inertia * s.0 + (1.0 - inertia) * s.1 / s.2;
        }
        s.1 = 0.0;
        s.2 = 0.0;
        Ok(())
    }
    fn clear_summaries(&self) {
        let mut s = self.state.lock().unwrap();
        s.1 = 0.0;
        s.2 = 0.0;
    }
    fn is_frozen(&self) -> bool {
        false
    }
    fn n_parameters(&self) -> Option<usize> {
        Some(1)
    }
    fn to_value(&self) -> serde_json::Value {
        serde_json::json!({"class": "Distribution", "name": self.name(),
            "parameters": [self.rate()], "frozen": false})
    }
    fn to_json(&self) -> String {
        // The key order of pomegranate's documents (to_value's would be sorted).
        format!(
            r#"{{"class": "Distribution", "name": "RateDistribution", "parameters": [{}], "frozen": false}}"#,
            serde_json::Value::from(self.rate())
        )
    }
    fn sample(&self, _seed: u64) -> Vec<f64> {
        vec![1.0 / self.rate()]
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn boxed_clone(&self) -> Box<dyn ExternalDistribution> {
        Box::new(Rate {
            state: Mutex::new(*self.state.lock().unwrap()),
        })
    }
}

fn read_rate(doc: &serde_json::Value) -> Result<Component> {
    let rate = doc["parameters"][0]
        .as_f64()
        .ok_or_else(|| Error::format("a RateDistribution needs a rate"))?;
    Ok(Component::External(External::new(Rate::new(rate))))
}

fn model() -> GeneralMixtureModel {
    GeneralMixtureModel::new(
        vec![
            Component::External(External::new(Rate::new(1.0))),
            Component::Normal(Normal::new(5.0, 1.0).unwrap()),
        ],
        None,
    )
    .unwrap()
}

fn rate_of(m: &GeneralMixtureModel) -> f64 {
    let Component::External(e) = &m.distributions()[0] else {
        unreachable!()
    };
    e.0.as_any().downcast_ref::<Rate>().unwrap().rate()
}

#[test]
fn a_clone_is_a_model_of_its_own() {
    let original = model();
    let mut copy = original.clone();
    assert_eq!(copy, original);
    let x = array![[0.1], [0.3], [0.2], [5.2], [4.7], [0.05]];
    let opts = FitOptions::default().max_iterations(5);
    copy.fit(x.view(), None, &opts).unwrap();
    assert_eq!(rate_of(&original), 1.0);
    assert_ne!(rate_of(&copy), 1.0);
    assert_ne!(copy, original);
}

#[test]
fn documents_of_distributions_of_ones_own_read_back_through_a_reader() {
    let m = model();
    let text = m.to_json();
    assert!(text.contains(
        "{\n            \"class\" : \"Distribution\",\n            \"name\" : \"RateDistribution\""
    ));
    let err = GeneralMixtureModel::from_json(&text).unwrap_err();
    assert!(matches!(err, Error::Format(_)));
    assert!(err
        .to_string()
        .contains("unknown distribution \"RateDistribution\""));
    assert!(err.to_string().contains("from_json_with"), "{err}");
    let back = GeneralMixtureModel::from_json_with(&text, read_rate).unwrap();
    assert_eq!(back, m);
    assert_eq!(back.to_json(), text);
    // Inside an IndependentComponents too.
    let icd = Component::IndependentComponents(
        IndependentComponents::new(
            vec![
                Component::External(External::new(Rate::new(2.5))),
                Component::Normal(Normal::new(0.0, 1.0).unwrap()),
            ],
            None,
        )
        .unwrap(),
    );
    let text = icd.to_json();
    assert!(Component::from_json(&text).is_err());
    assert_eq!(Component::from_json_with(&text, read_rate).unwrap(), icd);
    // A class of the caller's may write keys and parameters of its own: the reader sees them.
    let own = r#"{"class" : "GeneralMixtureModel", "distributions" : [
        {"class" : "Distribution", "name" : "RateDistribution", "parameters" : null,
         "frozen" : false, "version" : 2}], "weights" : [1.0]}"#;
    assert!(GeneralMixtureModel::from_json(own).is_err());
    let seen = Mutex::new(Vec::new());
    let read_own = |v: &serde_json::Value| -> Result<Component> {
        seen.lock()
            .unwrap()
            .push((v["version"].clone(), v["parameters"].clone()));
        Ok(Component::External(External::new(Rate::new(1.5))))
    };
    let m = GeneralMixtureModel::from_json_with(own, read_own).unwrap();
    assert_eq!(m.n_components(), 1);
    assert_eq!(
        *seen.lock().unwrap(),
        vec![(serde_json::json!(2), serde_json::Value::Null)]
    );
    // The reader's own errors come back as they are.
    let refuse = |_: &serde_json::Value| -> Result<Component> { Err(Error::format("no")) };
    assert_eq!(
        Component::from_json_with(&text, refuse).unwrap_err(),
        Error::format("no")
    );
}
