//! The JSON model format of pomegranate 0.14, defined once: documents, their text, and reading
//! them back with a clear error for anything malformed.
//!
//! A distribution is `{"class": "Distribution", "name": <class name>, "parameters": [...],
//! "frozen": <bool>}`; a mixture is `{"class": "GeneralMixtureModel", "distributions": [...],
//! "weights": [<probabilities>]}`. The text is what pomegranate writes (Python's `json.dumps` with
//! `separators=(',', ' : ')` and `indent=4`, floats as Python's `repr`), so files are
//! interchangeable both ways.

use std::collections::HashMap;
use std::fmt;

use ndarray::Array1;
use serde_json::Number;

use crate::distributions::{
    Bernoulli, Class, Component, Discrete, Exponential, Gamma, IndependentComponents, LogNormal,
    MultivariateGaussian, Normal, Poisson, Uniform,
};

use crate::error::{Error, Result};
use crate::kmeans::Kmeans;
use crate::mixture::GeneralMixtureModel;

/// Anything a model document can hold.
#[derive(Debug, Clone, PartialEq)]
pub enum Model {
    /// A `GeneralMixtureModel` document.
    Mixture(GeneralMixtureModel),
    /// A `Distribution` document.
    Distribution(Component),
    /// A `Kmeans` document.
    Kmeans(Kmeans),
}

/// How a document is laid out as text.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct JsonStyle {
    /// Spaces per nesting level; `None` puts everything on one line (default 4).
    pub indent: Option<usize>,
    /// Between items of a list or an object (default `","`).
    pub item_separator: String,
    /// Between a key and its value (default `" : "`).
    pub key_separator: String,
}

impl Default for JsonStyle {
    /// pomegranate's layout: indent 4, `","` and `" : "`.
    fn default() -> Self {
        JsonStyle {
            indent: Some(4),
            item_separator: ",".into(),
            key_separator: " : ".into(),
        }
    }
}

/// A JSON document whose objects keep their keys in the order they were written or read.
///
/// pomegranate's documents have a key order (`class`, `name`, `parameters`, `frozen`; a discrete
/// table in its symbols' order). `serde_json::Value` keeps it only with serde_json's
/// `preserve_order` feature, which would change the maps of every program that depends on this
/// crate; this type keeps it without any feature. Reading accepts the keys in any order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Array(Vec<Value>),
    Object(Map),
}

/// The keys and values of an object, in order; a key read twice keeps its first place and its
/// last value (as serde_json's ordered map).
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Map(Vec<(String, Value)>);

impl Map {
    fn new() -> Self {
        Map(Vec::new())
    }

    /// Appends a key (the documents written here never repeat one).
    fn insert(&mut self, key: &str, value: Value) {
        self.0.push((key.into(), value));
    }

    fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(k, _)| k)
    }

    fn iter(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Value {
    fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => n.as_f64(),
            _ => None,
        }
    }

    fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Number(n) => n.as_u64(),
            _ => None,
        }
    }

    fn as_array(&self) -> Option<&Vec<Value>> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    fn as_object(&self) -> Option<&Map> {
        match self {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }

    /// The document of a [`serde_json::Value`], in the order that value iterates its keys.
    pub(crate) fn from_json_value(v: &serde_json::Value) -> Value {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Number(n.clone()),
            serde_json::Value::String(s) => Value::String(s.clone()),
            serde_json::Value::Array(a) => {
                Value::Array(a.iter().map(Value::from_json_value).collect())
            }
            serde_json::Value::Object(o) => Value::Object(Map(o
                .iter()
                .map(|(k, v)| (k.clone(), Value::from_json_value(v)))
                .collect())),
        }
    }

    /// The same document as a [`serde_json::Value`] (whose key order is serde_json's).
    pub(crate) fn to_json_value(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => serde_json::Value::Number(n.clone()),
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::Array(a) => {
                serde_json::Value::Array(a.iter().map(Value::to_json_value).collect())
            }
            Value::Object(o) => serde_json::Value::Object(
                o.iter()
                    .map(|(k, v)| (k.clone(), v.to_json_value()))
                    .collect(),
            ),
        }
    }
}

/// Compact JSON, as serde_json's `Value` displays (used in error messages).
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Number(n) => write!(f, "{n}"),
            Value::String(s) => write!(f, "{}", serde_json::Value::String(s.clone())),
            Value::Array(a) => {
                f.write_str("[")?;
                for (i, x) in a.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{x}")?;
                }
                f.write_str("]")
            }
            Value::Object(o) => {
                f.write_str("{")?;
                for (i, (k, x)) in o.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{}:{x}", serde_json::Value::String(k.clone()))?;
                }
                f.write_str("}")
            }
        }
    }
}

/// Writes the document with its keys in order.
impl serde::Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Number(n) => n.serialize(s),
            Value::String(t) => s.serialize_str(t),
            Value::Array(a) => {
                let mut seq = s.serialize_seq(Some(a.len()))?;
                for x in a {
                    seq.serialize_element(x)?;
                }
                seq.end()
            }
            Value::Object(o) => {
                let mut map = s.serialize_map(Some(o.0.len()))?;
                for (k, x) in o.iter() {
                    map.serialize_entry(k, x)?;
                }
                map.end()
            }
        }
    }
}

/// Reads any JSON value, keeping the order of every object's keys.
impl<'de> serde::Deserialize<'de> for Value {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> serde::de::Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> std::result::Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> std::result::Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> std::result::Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> std::result::Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> std::result::Result<Value, E> {
        Ok(Value::String(v.into()))
    }

    fn visit_string<E>(self, v: String) -> std::result::Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> std::result::Result<Value, D::Error> {
        serde::Deserialize::deserialize(d)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(x) = seq.next_element()? {
            out.push(x);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Value, A::Error> {
        let mut entries: Vec<(String, Value)> = Vec::new();
        let mut places: HashMap<String, usize> = HashMap::new();
        while let Some((k, v)) = map.next_entry::<String, Value>()? {
            match places.get(&k) {
                Some(&i) => entries[i].1 = v,
                None => {
                    places.insert(k.clone(), entries.len());
                    entries.push((k, v));
                }
            }
        }
        Ok(Value::Object(Map(entries)))
    }
}

fn float(v: f64) -> Value {
    Number::from_f64(v).map_or(Value::Null, Value::Number)
}

fn floats<'a>(v: impl IntoIterator<Item = &'a f64>) -> Value {
    Value::Array(v.into_iter().map(|x| float(*x)).collect())
}

fn distribution_doc(name: &str, parameters: Vec<Value>, frozen: bool) -> Value {
    let mut m = Map::new();
    m.insert("class", Value::String("Distribution".into()));
    m.insert("name", Value::String(name.into()));
    m.insert("parameters", Value::Array(parameters));
    m.insert("frozen", Value::Bool(frozen));
    Value::Object(m)
}

/// The document of a component.
pub(crate) fn component_to_value(c: &Component) -> Value {
    let name = c.name();
    let doc = |params: Vec<Value>, frozen: bool| distribution_doc(&name, params, frozen);
    match c {
        Component::Normal(d) => doc(vec![float(d.mean()), float(d.std())], d.frozen),
        Component::LogNormal(d) => doc(vec![float(d.mu()), float(d.sigma())], d.frozen),
        Component::Exponential(d) => doc(vec![float(d.rate())], d.frozen),
        Component::Gamma(d) => doc(vec![float(d.alpha()), float(d.beta())], d.frozen),
        Component::Poisson(d) => doc(vec![float(d.lambda())], d.frozen),
        Component::Uniform(d) => doc(vec![float(d.start()), float(d.end())], d.frozen),
        Component::Bernoulli(d) => doc(vec![float(d.p())], d.frozen),
        Component::Discrete(d) => {
            let mut table = Map::new();
            for (k, p) in d.keys().iter().zip(d.probabilities()) {
                table.insert(k, float(*p));
            }
            let mut m = Map::new();
            m.insert("class", Value::String("Distribution".into()));
            m.insert("dtype", Value::String(d.dtype().into()));
            m.insert("name", Value::String(name.clone()));
            m.insert("parameters", Value::Array(vec![Value::Object(table)]));
            m.insert("frozen", Value::Bool(d.frozen));
            Value::Object(m)
        }
        Component::MultivariateGaussian(d) => doc(
            vec![
                floats(d.means().iter()),
                Value::Array(
                    d.covariance()
                        .rows()
                        .into_iter()
                        .map(|r| floats(r.iter()))
                        .collect(),
                ),
            ],
            d.frozen,
        ),
        Component::IndependentComponents(d) => doc(
            vec![
                Value::Array(d.distributions().iter().map(component_to_value).collect()),
                floats(d.weights().iter()),
            ],
            d.frozen,
        ),
        // The implementor's text keeps its own key order.
        Component::External(e) => {
            parse(&e.0.to_json()).unwrap_or_else(|_| Value::from_json_value(&e.0.to_value()))
        }
    }
}

/// The document of a mixture.
pub(crate) fn mixture_to_value(m: &GeneralMixtureModel) -> Value {
    let mut o = Map::new();
    o.insert("class", Value::String("GeneralMixtureModel".into()));
    o.insert(
        "distributions",
        Value::Array(m.distributions().iter().map(component_to_value).collect()),
    );
    o.insert("weights", floats(m.weights().iter()));
    Value::Object(o)
}

fn number(v: &Value, what: &str) -> Result<f64> {
    let x = v
        .as_f64()
        .ok_or_else(|| Error::format(format!("{what} must be a number, got {v}")))?;
    if !x.is_finite() {
        return Err(Error::format(format!("{what} must be finite, got {x}")));
    }
    Ok(x)
}

fn array<'a>(v: &'a Value, what: &str) -> Result<&'a Vec<Value>> {
    v.as_array()
        .ok_or_else(|| Error::format(format!("{what} must be a list, got {}", kind(v))))
}

fn numbers(v: &Value, what: &str) -> Result<Vec<f64>> {
    array(v, what)?
        .iter()
        .enumerate()
        .map(|(i, x)| number(x, &format!("{what}[{i}]")))
        .collect()
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn object<'a>(v: &'a Value, what: &str) -> Result<&'a Map> {
    v.as_object()
        .ok_or_else(|| Error::format(format!("{what} must be an object, got {}", kind(v))))
}

fn only_keys(o: &Map, allowed: &[&str], what: &str) -> Result<()> {
    if let Some(k) = o.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(Error::format(format!(
            "{what} has an unknown key \"{k}\" (expected {})",
            allowed.join(", ")
        )));
    }
    Ok(())
}

fn field<'a>(o: &'a Map, key: &str, what: &str) -> Result<&'a Value> {
    o.get(key)
        .ok_or_else(|| Error::format(format!("{what} has no \"{key}\"")))
}

fn parameters(p: &[Value], count: usize, name: &str) -> Result<()> {
    if p.len() != count {
        return Err(Error::format(format!(
            "{name} needs {count} parameters, got {}",
            p.len()
        )));
    }
    Ok(())
}

/// Reads the document of a distribution of a class the crate does not know (one of the
/// caller's); see [`GeneralMixtureModel::from_json_with`].
type ReadOther<'a> = Option<&'a dyn Fn(&serde_json::Value) -> Result<Component>>;

/// Reads a component from its document.
pub(crate) fn component_from_value(v: &Value) -> Result<Component> {
    component_from_value_with(v, None)
}

fn component_from_value_with(v: &Value, read_other: ReadOther<'_>) -> Result<Component> {
    let o = object(v, "a distribution")?;
    // A class of the caller's is read by the caller's reader, its document as it is (its own
    // keys and parameters, which the checks below would hold to the built-in layout).
    if let (Some(read), Some(name)) = (read_other, o.get("name").and_then(Value::as_str)) {
        if Class::from_name(name).is_none() {
            return read(&v.to_json_value());
        }
    }
    only_keys(
        o,
        &["class", "dtype", "name", "parameters", "frozen"],
        "a distribution",
    )?;
    let class = field(o, "class", "a distribution")?;
    if class.as_str() != Some("Distribution") {
        return Err(Error::format(format!(
            "a distribution must have \"class\": \"Distribution\", got {class}"
        )));
    }
    let name = field(o, "name", "a distribution")?
        .as_str()
        .ok_or_else(|| Error::format("a distribution's \"name\" must be a string"))?;
    let frozen = match field(o, "frozen", "a distribution")? {
        Value::Bool(b) => *b,
        other => {
            return Err(Error::format(format!(
                "\"frozen\" must be true or false, got {other}"
            )))
        }
    };
    let p = array(field(o, "parameters", "a distribution")?, "\"parameters\"")?;
    let with_context = |e: Error| match e {
        Error::Format(m) => Error::format(format!("{name}: {m}")),
        other => Error::format(format!("{name}: {other}")),
    };
    let Some(class) = Class::from_name(name) else {
        let known: Vec<&str> = Class::ALL.iter().map(|c| c.name()).collect();
        return Err(Error::format(format!(
            "unknown distribution \"{name}\" (known: {}); {UNKNOWN_HINT}",
            known.join(", ")
        )));
    };
    parameters(p, class.n_parameters(), name)?;
    let one = |what: &str| number(&p[0], what);
    let two =
        |a: &str, b: &str| -> Result<(f64, f64)> { Ok((number(&p[0], a)?, number(&p[1], b)?)) };
    let mut c = match class {
        Class::Normal => {
            let (m, s) = two("mean", "std")?;
            Component::Normal(Normal::new(m, s).map_err(with_context)?)
        }
        Class::LogNormal => {
            let (m, s) = two("mu", "sigma")?;
            Component::LogNormal(LogNormal::new(m, s).map_err(with_context)?)
        }
        Class::Exponential => {
            Component::Exponential(Exponential::new(one("rate")?).map_err(with_context)?)
        }
        Class::Gamma => {
            let (a, b) = two("alpha", "beta")?;
            Component::Gamma(Gamma::new(a, b).map_err(with_context)?)
        }
        Class::Poisson => Component::Poisson(Poisson::new(one("lambda")?).map_err(with_context)?),
        Class::Uniform => {
            let (a, b) = two("start", "end")?;
            Component::Uniform(Uniform::new(a, b).map_err(with_context)?)
        }
        Class::Bernoulli => Component::Bernoulli(Bernoulli::new(one("p")?).map_err(with_context)?),
        Class::Discrete => {
            let table = object(&p[0], "the symbol table")?;
            let keys: Vec<String> = table.keys().cloned().collect();
            let probs = table
                .iter()
                .map(|(k, v)| number(v, &format!("the probability of {k:?}")))
                .collect::<Result<Vec<_>>>()?;
            let dtype = match field(o, "dtype", "a DiscreteDistribution")? {
                Value::String(t) => t.clone(),
                other => {
                    return Err(Error::format(format!(
                        "\"dtype\" must be a string, got {other}"
                    )))
                }
            };
            Component::Discrete(Discrete::new(keys, probs, dtype).map_err(with_context)?)
        }
        Class::MultivariateGaussian => {
            let means = numbers(&p[0], "means")?;
            let rows = array(&p[1], "covariance")?;
            let d = means.len();
            if rows.len() != d {
                return Err(Error::format(format!(
                    "{name}: covariance must have {d} rows to match means, got {}",
                    rows.len()
                )));
            }
            // Every row's length first: then the d x d matrix is no larger than the document.
            if let Some((i, r)) = rows
                .iter()
                .enumerate()
                .find(|(_, r)| r.as_array().is_none_or(|r| r.len() != d))
            {
                let got = r
                    .as_array()
                    .map_or_else(|| kind(r).to_string(), |r| format!("{} values", r.len()));
                return Err(Error::format(format!(
                    "{name}: covariance row {i} must have {d} values, got {got}"
                )));
            }
            let mut cov = crate::validate::square("covariance", "covariance", d)?;
            for (i, r) in rows.iter().enumerate() {
                let r = numbers(r, &format!("covariance[{i}]"))?;
                cov.row_mut(i).assign(&Array1::from(r));
            }
            Component::MultivariateGaussian(
                MultivariateGaussian::new(Array1::from(means), cov).map_err(with_context)?,
            )
        }
        Class::IndependentComponents => {
            let children = array(&p[0], "distributions")?
                .iter()
                .map(|c| component_from_value_with(c, read_other))
                .collect::<Result<Vec<_>>>()?;
            let weights = numbers(&p[1], "weights")?;
            Component::IndependentComponents(
                IndependentComponents::new(children, Some(weights)).map_err(with_context)?,
            )
        }
    };
    c.set_frozen(frozen);
    Ok(c)
}

/// The end of the message for a distribution name the crate does not know.
pub const UNKNOWN_HINT: &str = "a distribution of your own is read back by \
    from_json_with, given a function that rebuilds it from its document";

/// Reads a mixture from its document.
pub(crate) fn mixture_from_value(v: &Value) -> Result<GeneralMixtureModel> {
    mixture_from_value_with(v, None)
}

fn mixture_from_value_with(v: &Value, read_other: ReadOther<'_>) -> Result<GeneralMixtureModel> {
    let o = object(v, "a model")?;
    only_keys(
        o,
        &["class", "distributions", "weights"],
        "a GeneralMixtureModel",
    )?;
    let class = field(o, "class", "a model")?;
    if class.as_str() != Some("GeneralMixtureModel") {
        return Err(Error::format(format!(
            "expected \"class\": \"GeneralMixtureModel\", got {class}"
        )));
    }
    let dists = array(
        field(o, "distributions", "a GeneralMixtureModel")?,
        "\"distributions\"",
    )?
    .iter()
    .map(|c| component_from_value_with(c, read_other))
    .collect::<Result<Vec<_>>>()?;
    let weights = numbers(field(o, "weights", "a GeneralMixtureModel")?, "weights")?;
    let total: f64 = weights.iter().sum();
    if weights.iter().any(|v| *v < 0.0) || (total - 1.0).abs() > 1e-6 {
        return Err(Error::format(format!(
            "\"weights\" must be probabilities that sum to 1, got a sum of {total}"
        )));
    }
    GeneralMixtureModel::new(dists, Some(&weights)).map_err(|e| match e {
        Error::Format(m) => Error::Format(m),
        other => Error::format(other.to_string()),
    })
}

/// The document of a k-means model, as pomegranate 0.14's `Kmeans.to_dict`.
pub(crate) fn kmeans_to_value(m: &Kmeans) -> Value {
    let mut o = Map::new();
    o.insert("class", Value::String("Kmeans".into()));
    o.insert("k", Value::Number(m.centroids().nrows().into()));
    o.insert(
        "centroids",
        Value::Array(
            m.centroids()
                .rows()
                .into_iter()
                .map(|r| floats(r.iter()))
                .collect(),
        ),
    );
    Value::Object(o)
}

/// Reads a k-means model from its document: `"k"` centroids of the same length, every
/// coordinate finite.
pub(crate) fn kmeans_from_value(v: &Value) -> Result<Kmeans> {
    let o = object(v, "a model")?;
    only_keys(o, &["class", "k", "centroids"], "a Kmeans")?;
    let class = field(o, "class", "a model")?;
    if class.as_str() != Some("Kmeans") {
        return Err(Error::format(format!(
            "expected \"class\": \"Kmeans\", got {class}"
        )));
    }
    let k = field(o, "k", "a Kmeans")?;
    let k = k
        .as_u64()
        .filter(|k| *k >= 1)
        .ok_or_else(|| Error::format(format!("\"k\" must be a positive integer, got {k}")))?;
    let rows = array(field(o, "centroids", "a Kmeans")?, "\"centroids\"")?;
    if rows.len() as u64 != k {
        return Err(Error::format(format!(
            "\"centroids\" must hold k = {k} centroids, got {}",
            rows.len()
        )));
    }
    let rows = rows
        .iter()
        .enumerate()
        .map(|(j, r)| numbers(r, &format!("centroids[{j}]")))
        .collect::<Result<Vec<_>>>()?;
    let d = rows[0].len();
    if d == 0 || rows.iter().any(|r| r.len() != d) {
        return Err(Error::format(
            "\"centroids\" must be lists of the same positive length",
        ));
    }
    let flat: Vec<f64> = rows.into_iter().flatten().collect();
    let c = ndarray::Array2::from_shape_vec((k as usize, d), flat)
        .map_err(|e| Error::format(e.to_string()))?;
    Kmeans::new(c).map_err(|e| Error::format(e.to_string()))
}

/// Reads any model document, dispatching on its `"class"`.
pub(crate) fn model_from_value(v: &Value) -> Result<Model> {
    let o = object(v, "a model")?;
    match o.get("class").and_then(Value::as_str) {
        Some("GeneralMixtureModel") => Ok(Model::Mixture(mixture_from_value(v)?)),
        Some("Distribution") => Ok(Model::Distribution(component_from_value(v)?)),
        Some("Kmeans") => Ok(Model::Kmeans(kmeans_from_value(v)?)),
        Some(other) => Err(Error::format(format!(
            "unknown model class \"{other}\" (known: GeneralMixtureModel, Distribution, Kmeans)"
        ))),
        None => Err(Error::format("a model document needs a string \"class\"")),
    }
}

/// Parses JSON text into a document.
pub(crate) fn parse(text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| Error::format(format!("not valid JSON: {e}")))
}

impl Model {
    /// Reads any model document (a mixture or a single distribution) from JSON text, dispatching
    /// on its `"class"`, as pomegranate's `from_json` does.
    pub fn from_json(text: &str) -> Result<Model> {
        model_from_value(&parse(text)?)
    }
}

/// A float as Python's `repr` writes it (shortest round-trip digits; scientific notation below
/// 1e-4 and from 1e16 on), which is how pomegranate's files write numbers.
pub fn python_float_repr(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    // `{:e}` gives the shortest digits that round-trip, e.g. "-1.2345e-5".
    let s = format!("{v:e}");
    let (mantissa, exp) = s.split_once('e').expect("exponent");
    let exp: i32 = exp.parse().expect("integer exponent");
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if (-4..16).contains(&exp) {
        if exp >= 0 {
            let point = exp as usize + 1;
            let (int, frac) = if digits.len() > point {
                (digits[..point].to_string(), digits[point..].to_string())
            } else {
                (format!("{digits:0<point$}"), "0".to_string())
            };
            format!("{sign}{int}.{frac}")
        } else {
            format!("{sign}0.{}{digits}", "0".repeat((-exp - 1) as usize))
        }
    } else {
        let rest = if digits.len() > 1 {
            format!(".{}", &digits[1..])
        } else {
            String::new()
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{}{rest}e{esign}{:02}", &digits[..1], exp.abs())
    }
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_value(out: &mut String, v: &Value, style: &JsonStyle, level: usize) {
    let newline = |out: &mut String, level: usize| {
        if let Some(indent) = style.indent {
            out.push('\n');
            out.push_str(&" ".repeat(indent * level));
        }
    };
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) if !n.is_f64() => out.push_str(&i.to_string()),
            (_, Some(u)) if !n.is_f64() => out.push_str(&u.to_string()),
            _ => out.push_str(&python_float_repr(n.as_f64().unwrap_or(f64::NAN))),
        },
        Value::String(s) => write_string(out, s),
        Value::Array(a) => {
            if a.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(&style.item_separator);
                }
                newline(out, level + 1);
                write_value(out, x, style, level + 1);
            }
            newline(out, level);
            out.push(']');
        }
        Value::Object(o) => {
            if o.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push('{');
            for (i, (k, x)) in o.iter().enumerate() {
                if i > 0 {
                    out.push_str(&style.item_separator);
                }
                newline(out, level + 1);
                write_string(out, k);
                out.push_str(&style.key_separator);
                write_value(out, x, style, level + 1);
            }
            newline(out, level);
            out.push('}');
        }
    }
}

/// A document as text in the given layout.
pub(crate) fn to_json_string(v: &Value, style: &JsonStyle) -> String {
    let mut out = String::new();
    write_value(&mut out, v, style, 0);
    out
}

impl GeneralMixtureModel {
    /// The model as pomegranate 0.14 JSON text: Python (mixtura, or pomegranate 0.14) reads it,
    /// and [`from_json`](Self::from_json) reads it back bit for bit.
    ///
    /// ```
    /// use mixtura::{Component, GeneralMixtureModel, Normal};
    ///
    /// let model = GeneralMixtureModel::new(
    ///     vec![Component::Normal(Normal::new(0.0, 1.0)?), Component::Normal(Normal::new(3.0, 0.5)?)],
    ///     Some(&[0.25, 0.75]),
    /// )?;
    /// let path = std::env::temp_dir().join(format!("mixtura-doc-{}.json", std::process::id()));
    /// std::fs::write(&path, model.to_json())?;
    /// let loaded = GeneralMixtureModel::from_json(&std::fs::read_to_string(&path)?)?;
    /// std::fs::remove_file(&path)?;
    /// assert_eq!(loaded, model);
    /// # Ok::<(), mixtura::Error>(())
    /// ```
    pub fn to_json(&self) -> String {
        self.to_json_with(&JsonStyle::default())
    }

    /// The model as JSON text in the given layout (Python's `json.dumps` with its `indent` and
    /// `separators`).
    pub fn to_json_with(&self, style: &JsonStyle) -> String {
        to_json_string(&mixture_to_value(self), style)
    }

    /// A model from pomegranate 0.14 JSON text. A distribution whose class the crate does
    /// not know (one of the caller's, say) is an error; [`from_json_with`](Self::from_json_with)
    /// reads those.
    pub fn from_json(text: &str) -> Result<Self> {
        mixture_from_value(&parse(text)?)
    }

    /// A model from JSON text whose distributions may include classes of the caller's:
    /// `read_other` is given the document of each distribution whose `"name"` is not a
    /// built-in family (as [`ExternalDistribution::to_json`](crate::ExternalDistribution::to_json)
    /// wrote it, whatever its keys and parameters; as a `serde_json::Value`, its objects list
    /// their keys in serde_json's order) and returns the component, usually a
    /// [`Component::External`].
    pub fn from_json_with(
        text: &str,
        read_other: impl Fn(&serde_json::Value) -> Result<Component>,
    ) -> Result<Self> {
        mixture_from_value_with(&parse(text)?, Some(&read_other))
    }
}

impl Kmeans {
    /// The model as pomegranate 0.14 JSON text (`{"class" : "Kmeans", "k" : ..., "centroids" :
    /// ...}`).
    pub fn to_json(&self) -> String {
        self.to_json_with(&JsonStyle::default())
    }

    /// The model as JSON text in the given layout.
    pub fn to_json_with(&self, style: &JsonStyle) -> String {
        to_json_string(&kmeans_to_value(self), style)
    }

    /// A model from pomegranate 0.14 JSON text.
    pub fn from_json(text: &str) -> Result<Self> {
        kmeans_from_value(&parse(text)?)
    }
}

impl Component {
    /// The distribution as pomegranate 0.14 JSON text.
    pub fn to_json(&self) -> String {
        self.to_json_with(&JsonStyle::default())
    }

    /// The distribution as JSON text in the given layout.
    pub fn to_json_with(&self, style: &JsonStyle) -> String {
        to_json_string(&component_to_value(self), style)
    }

    /// A distribution from pomegranate 0.14 JSON text (a built-in family; see
    /// [`from_json_with`](Self::from_json_with) for others).
    pub fn from_json(text: &str) -> Result<Self> {
        component_from_value(&parse(text)?)
    }

    /// A distribution from JSON text, whose classes the crate does not know are read by
    /// `read_other` (see [`GeneralMixtureModel::from_json_with`]).
    pub fn from_json_with(
        text: &str,
        read_other: impl Fn(&serde_json::Value) -> Result<Component>,
    ) -> Result<Self> {
        component_from_value_with(&parse(text)?, Some(&read_other))
    }
}

/// Serialises as the pomegranate 0.14 document (`{"class": "GeneralMixtureModel", ...}`).
impl serde::Serialize for GeneralMixtureModel {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        mixture_to_value(self).serialize(s)
    }
}

/// Reads the pomegranate 0.14 document, with the same checks as [`GeneralMixtureModel::from_json`].
impl<'de> serde::Deserialize<'de> for GeneralMixtureModel {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        mixture_from_value(&Value::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// Serialises as the pomegranate 0.14 document (`{"class": "Distribution", ...}`).
impl serde::Serialize for Component {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        component_to_value(self).serialize(s)
    }
}

/// Reads the pomegranate 0.14 document, with the same checks as [`Component::from_json`].
impl<'de> serde::Deserialize<'de> for Component {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        component_from_value(&Value::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// Reads any model document, dispatching on `"class"`.
impl<'de> serde::Deserialize<'de> for Model {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        model_from_value(&Value::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_repr_is_pythons() {
        let cases = [
            (0.0, "0.0"),
            (1.0, "1.0"),
            (0.25, "0.25"),
            (-3.5, "-3.5"),
            (0.1, "0.1"),
            (1e-4, "0.0001"),
            (1e-5, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (123456789.0, "123456789.0"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.2345e100, "1.2345e+100"),
            (6.657_135_910_139_075_5, "6.6571359101390755"),
            (2.0 / 3.0, "0.6666666666666666"),
        ];
        for (v, want) in cases {
            assert_eq!(python_float_repr(v), want, "{v}");
        }
    }

    #[test]
    fn pomegranate_layout() {
        let m = GeneralMixtureModel::new(
            vec![
                Component::Normal(Normal::new(0.0, 1.0).unwrap()),
                Component::Normal(Normal::new(3.0, 1.0).unwrap()),
            ],
            Some(&[0.25, 0.75]),
        )
        .unwrap();
        let want = r#"{
    "class" : "GeneralMixtureModel",
    "distributions" : [
        {
            "class" : "Distribution",
            "name" : "NormalDistribution",
            "parameters" : [
                0.0,
                1.0
            ],
            "frozen" : false
        },
        {
            "class" : "Distribution",
            "name" : "NormalDistribution",
            "parameters" : [
                3.0,
                1.0
            ],
            "frozen" : false
        }
    ],
    "weights" : [
        0.25,
        0.75
    ]
}"#;
        assert_eq!(m.to_json(), want);
        assert_eq!(GeneralMixtureModel::from_json(want).unwrap(), m);
    }

    #[test]
    fn key_order_is_pomegranates_and_reading_takes_any_order() {
        // A discrete table keeps its symbols' order (not sorted), in the text and through serde.
        let d = Component::Discrete(
            Discrete::new(
                vec!["zebra".into(), "apple".into(), "mango".into()],
                vec![0.5, 0.25, 0.25],
                "str",
            )
            .unwrap(),
        );
        let m = GeneralMixtureModel::new(vec![d.clone(), d], None).unwrap();
        let compact = JsonStyle {
            indent: None,
            item_separator: ",".into(),
            key_separator: ":".into(),
        };
        let one = r#"{"class":"Distribution","dtype":"str","name":"DiscreteDistribution","parameters":[{"zebra":0.5,"apple":0.25,"mango":0.25}],"frozen":false}"#;
        let want = format!(
            r#"{{"class":"GeneralMixtureModel","distributions":[{one},{one}],"weights":[0.5,0.5]}}"#
        );
        assert_eq!(m.to_json_with(&compact), want);
        // serde writes the same document, with serde_json's own separators.
        assert_eq!(serde_json::to_string(&m).unwrap(), want);
        let back = GeneralMixtureModel::from_json(&want).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.to_json_with(&compact), want);
        // The keys of any object may come in any order.
        let shuffled = r#"{"weights": [1.0], "distributions": [{"frozen": true,
            "parameters": [2.0, 0.5], "name": "NormalDistribution", "class": "Distribution"}],
            "class": "GeneralMixtureModel"}"#;
        let read = GeneralMixtureModel::from_json(shuffled).unwrap();
        let mut n = Component::Normal(Normal::new(2.0, 0.5).unwrap());
        n.set_frozen(true);
        assert_eq!(read.distributions(), &[n]);
        let k = r#"{"centroids": [[1.0, 2.0]], "k": 1, "class": "Kmeans"}"#;
        assert_eq!(
            Kmeans::from_json(k).unwrap().to_json_with(&compact),
            r#"{"class":"Kmeans","k":1,"centroids":[[1.0,2.0]]}"#
        );
        // A key given twice keeps its first place and its last value, as before.
        let twice = r#"{"class": "Distribution", "name": "DiscreteDistribution", "dtype": "str",
            "parameters": [{"b": 0.9, "a": 0.5, "b": 0.5}], "frozen": false}"#;
        let Component::Discrete(t) = Component::from_json(twice).unwrap() else {
            unreachable!()
        };
        assert_eq!(t.keys(), &["b".to_string(), "a".to_string()]);
        assert_eq!(t.probabilities(), &[0.5, 0.5]);
    }

    #[test]
    fn messages_show_values_as_compact_json() {
        let e = Model::from_json(
            r#"{"class": "Distribution", "name": "NormalDistribution",
            "parameters": [{"b": 1, "a": [1.5, "x", null, true]}, 1], "frozen": false}"#,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"invalid model document: mean must be a number, got {"b":1,"a":[1.5,"x",null,true]}"#
        );
    }

    #[test]
    fn malformed_documents_are_errors() {
        let bad = [
            "",
            "[]",
            "{\"class\": \"GeneralMixtureModel\"}",
            "{\"class\": \"GeneralMixtureModel\", \"distributions\": [], \"weights\": []}",
            "{\"class\": \"Distribution\", \"name\": \"NormalDistribution\", \"parameters\": [0, -1]}",
            "{\"class\": \"Distribution\", \"name\": \"NormalDistribution\", \"parameters\": [0]}",
            "{\"class\": \"Distribution\", \"name\": \"NormalDistribution\", \"parameters\": [0, \"a\"]}",
            "{\"class\": \"Distribution\", \"name\": \"Nope\", \"parameters\": []}",
            "{\"class\": \"Distribution\", \"name\": \"NormalDistribution\", \"parameters\": [0, 1], \"extra\": 1}",
            "{\"class\": \"Distribution\", \"name\": \"MultivariateGaussianDistribution\", \"parameters\": [[0, 0], [[1, 2], [2, 1]]]}",
            "{\"class\": \"Distribution\", \"name\": \"NormalDistribution\", \"parameters\": [1e999, 1]}",
        ];
        for b in bad {
            assert!(Model::from_json(b).is_err(), "{b}");
        }
        let deep = "[".repeat(100_000);
        assert!(Model::from_json(&deep).is_err());
    }

    #[test]
    fn serde_round_trip() {
        let m = GeneralMixtureModel::new(
            vec![Component::Normal(Normal::new(0.5, 2.0).unwrap())],
            None,
        )
        .unwrap();
        let text = serde_json::to_string(&m).unwrap();
        let back: GeneralMixtureModel = serde_json::from_str(&text).unwrap();
        assert_eq!(back, m);
        let any: Model = serde_json::from_str(&text).unwrap();
        assert_eq!(any, Model::Mixture(m));
        assert!(serde_json::from_str::<GeneralMixtureModel>("{\"class\": 1}").is_err());
    }
}
