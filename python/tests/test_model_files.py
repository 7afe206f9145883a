"""Model documents: every malformed document is a clear ValueError, never a crash; fuzzed with
hypothesis."""

import json
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mixtura
from mixtura import (
    DiscreteDistribution,
    GeneralMixtureModel,
    IndependentComponentsDistribution,
    MultivariateGaussianDistribution,
    NormalDistribution,
)

VALID = GeneralMixtureModel(
    [
        MultivariateGaussianDistribution([0.0, 1.0], [[1.0, 0.2], [0.2, 2.0]]),
        MultivariateGaussianDistribution([3.0, -1.0], [[0.5, 0.0], [0.0, 0.5]]),
    ],
    weights=[0.4, 0.6],
).to_dict()


def variant(path, value):
    doc = json.loads(json.dumps(VALID))
    node = doc
    for key in path[:-1]:
        node = node[key]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return json.dumps(doc)


BAD = {
    "not json": "{",
    "not an object": "[1, 2]",
    "empty object": "{}",
    "unknown class": '{"class": "HiddenMarkovModel"}',
    "no distributions": variant(["distributions"], KeyError),
    "distributions not a list": variant(["distributions"], 5),
    "empty distributions": variant(["distributions"], []),
    "extra key": variant(["extra"], 1),
    "weights wrong count": variant(["weights"], [1.0]),
    "weights do not sum to 1": variant(["weights"], [0.3, 0.3]),
    "negative weight": variant(["weights"], [1.5, -0.5]),
    "weights strings": variant(["weights"], ["a", "b"]),
    "missing parameters": variant(["distributions", 0, "parameters"], KeyError),
    "wrong parameter count": variant(["distributions", 0, "parameters"], [[0.0, 0.0]]),
    "not positive definite": variant(["distributions", 0, "parameters", 1], [[1.0, 2.0], [2.0, 1.0]]),
    "asymmetric covariance": variant(["distributions", 0, "parameters", 1], [[1.0, 0.5], [0.0, 1.0]]),
    "ragged covariance": variant(["distributions", 0, "parameters", 1], [[1.0], [0.0, 1.0]]),
    "mismatched dimensions": variant(["distributions", 0, "parameters"], [[0.0], [[1.0]]]),
    "frozen not bool": variant(["distributions", 0, "frozen"], "yes"),
    "unknown distribution": variant(["distributions", 0, "name"], "CauchyDistribution"),
    "name not a string": variant(["distributions", 0, "name"], 3),
    "huge number": json.dumps(VALID).replace("3.0", "1e999"),
    "NaN parameter": json.dumps(VALID).replace("3.0", "NaN"),
    "infinite parameter": json.dumps(VALID).replace("3.0", "Infinity"),
    "negative scale": '{"class": "Distribution", "name": "NormalDistribution", "parameters": [0, -1], "frozen": false}',
    "zero scale": '{"class": "Distribution", "name": "NormalDistribution", "parameters": [0, 0], "frozen": false}',
    "discrete not summing to 1": '{"class": "Distribution", "dtype": "str", "name": "DiscreteDistribution", "parameters": [{"a": 0.2}], "frozen": false}',
    "symbols not of their dtype": '{"class": "Distribution", "dtype": "bool", "name": "DiscreteDistribution", "parameters": [{"a": 0.5, "b": 0.5}], "frozen": false}',
    "symbols not integers": '{"class": "Distribution", "dtype": "int", "name": "DiscreteDistribution", "parameters": [{"a": 0.5, "b": 0.5}], "frozen": false}',
    "deep nesting": "[" * 100_000 + "]" * 100_000,
    "deep distributions": '{"class": "Distribution", "name": "IndependentComponentsDistribution", "parameters": ['
    * 3000,
}


@pytest.mark.parametrize("name", list(BAD))
def test_malformed_documents_are_value_errors(name):
    for load in (mixtura.from_json, GeneralMixtureModel.from_json):
        with pytest.raises(ValueError):
            load(BAD[name])


def test_a_valid_document_loads():
    text = json.dumps(VALID)
    assert GeneralMixtureModel.from_json(text).to_dict() == VALID


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=30,
)

names = st.sampled_from([
    "NormalDistribution", "LogNormalDistribution", "ExponentialDistribution", "GammaDistribution",
    "PoissonDistribution", "UniformDistribution", "BernoulliDistribution", "DiscreteDistribution",
    "MultivariateGaussianDistribution", "IndependentComponentsDistribution", "Nope",
])

distribution_docs = st.fixed_dictionaries(
    {"class": st.sampled_from(["Distribution", "GeneralMixtureModel", 1]), "name": names,
     "parameters": json_values, "frozen": st.booleans() | json_values},
    optional={"dtype": st.sampled_from(["str", "int", "float", "bool", "numpy.int64", 5])},
)

mixture_docs = st.fixed_dictionaries(
    {"class": st.just("GeneralMixtureModel"),
     "distributions": st.lists(distribution_docs, max_size=3),
     "weights": json_values},
)


kmeans_docs = st.fixed_dictionaries(
    {"class": st.sampled_from(["Kmeans", "kmeans"]),
     "k": st.integers(-1, 3) | json_values,
     "centroids": st.lists(st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=3),
                           max_size=3) | json_values},
)


def check_loads_or_raises(text):
    for load in (mixtura.from_json, GeneralMixtureModel.from_json, mixtura.Kmeans.from_json):
        try:
            model = load(text)
        except (ValueError, TypeError):
            continue
        again = type(model).from_json(model.to_json())
        assert again.to_json() == model.to_json()


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=json_values | distribution_docs | mixture_docs | kmeans_docs)
def test_fuzzed_documents_load_or_raise(doc):
    check_loads_or_raises(json.dumps(doc))


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_mutated_valid_documents_load_or_raise(data):
    text = json.dumps(VALID)
    i = data.draw(st.integers(0, len(text) - 1))
    j = data.draw(st.integers(i, min(len(text), i + 12)))
    insert = data.draw(st.text(alphabet='{}[]",:0123456789.-eE aNnIf', max_size=6))
    check_loads_or_raises(text[:i] + insert + text[j:])


def test_loaders_accept_files(tmp_path):
    path = tmp_path / "m.json"
    path.write_text(json.dumps(VALID))
    assert mixtura.from_json(str(path)).to_dict() == VALID
    with pytest.raises(ValueError):
        GeneralMixtureModel.from_json(str(tmp_path / "missing.json"))


def test_discrete_and_icd_documents_round_trip():
    m = GeneralMixtureModel([
        IndependentComponentsDistribution([NormalDistribution(0, 1), DiscreteDistribution({"a": 0.5, "b": 0.5})]),
        IndependentComponentsDistribution([NormalDistribution(2, 1), DiscreteDistribution({"a": 0.1, "b": 0.9})]),
    ])
    text = m.to_json()
    back = mixtura.from_json(text)
    assert back.to_json() == text
    X = np.array([[0.1, "a"], [2.0, "b"]], dtype=object)
    np.testing.assert_array_equal(back.predict_proba(X), m.predict_proba(X))


def test_every_key_a_document_needs_is_required():
    import json

    from mixtura import GeneralMixtureModel, NormalDistribution, from_json

    normal = {"class": "Distribution", "name": "NormalDistribution", "parameters": [0.0, 1.0],
              "frozen": False}
    discrete = {"class": "Distribution", "name": "DiscreteDistribution", "dtype": "str",
                "parameters": [{"a": 0.5, "b": 0.5}], "frozen": False}
    mixture = {"class": "GeneralMixtureModel", "distributions": [normal, normal],
               "weights": [0.5, 0.5]}
    assert GeneralMixtureModel.from_json(json.dumps(mixture)).n == 2
    assert from_json(json.dumps(discrete)).keys() == ["a", "b"]
    cases = [(mixture, k) for k in mixture] + [(normal, k) for k in normal] + [(discrete, "dtype")]
    for doc, key in cases:
        broken = {k: v for k, v in doc.items() if k != key}
        with pytest.raises(ValueError, match=f'"{key}"'):
            from_json(json.dumps(broken))
    with pytest.raises(ValueError, match="weights"):
        GeneralMixtureModel.from_json(json.dumps(dict(mixture, weights=None)))
    with pytest.raises(ValueError, match="frozen"):
        NormalDistribution.from_json(json.dumps(dict(normal, frozen=None)))


yaml = pytest.importorskip("yaml")

BILLION_LAUGHS = 'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
)


@pytest.mark.parametrize("text, match", [
    ("a: [1, 2", "while parsing"),
    ("\tclass: Distribution", "cannot start any token"),
    ("!!python/tuple [1, 2]", "python/tuple"),
    ("class: Distribution\nname: NormalDistribution\nparameters: !!python/tuple [0, 1]\n"
     "frozen: false", "python/tuple"),
    ("2001-01-01", "mapping"),
    ("a: 2001-01-01", "date"),
    (BILLION_LAUGHS, "anchors and aliases"),
    ("[" * 100_000 + "]" * 100_000, "nested deeper"),
    ("{a: " * 5_000 + "1" + "}" * 5_000, "nested deeper"),
])
def test_bad_yaml_is_a_value_error_quickly(text, match):
    for load in (GeneralMixtureModel.from_yaml, NormalDistribution.from_yaml):
        started = time.perf_counter()
        with pytest.raises(mixtura.MixturaError, match=match):
            load(text)
        assert time.perf_counter() - started < 5


def test_deep_json_is_a_value_error():
    for text in ("[" * 100_000 + "]" * 100_000, '{"a": ' * 100_000 + "1" + "}" * 100_000):
        for load in (mixtura.from_json, GeneralMixtureModel.from_json, NormalDistribution.from_json):
            with pytest.raises(ValueError):
                load(text)
    deep: dict = {}
    for _ in range(100_000):
        deep = {"a": deep}
    with pytest.raises(ValueError, match="nested too deeply"):
        mixtura.from_dict(deep)


def test_yaml_round_trips_and_reads_streams():
    import io

    m = GeneralMixtureModel.from_json(json.dumps(VALID))
    text = m.to_yaml()
    assert GeneralMixtureModel.from_yaml(text).to_json() == m.to_json()
    assert GeneralMixtureModel.from_yaml(io.StringIO(text)).to_json() == m.to_json()


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_mutated_and_truncated_yaml_loads_or_raises(data):
    text = yaml.safe_dump(VALID)
    i = data.draw(st.integers(0, len(text) - 1))
    j = data.draw(st.integers(i, len(text)))
    insert = data.draw(st.text(alphabet="{}[]:-&*!|>#'\" \t\n0123456789.aeNn", max_size=8))
    mutated = text[:i] + insert + (text[j:] if data.draw(st.booleans()) else "")
    for load in (GeneralMixtureModel.from_yaml, mixtura.Distribution.from_yaml):
        try:
            model = load(mutated)
        except (ValueError, TypeError):
            continue
        assert type(model).from_json(model.to_json()).to_json() == model.to_json()


def test_yaml_refuses_base_60_numbers_wrong_types_and_non_mappings(tmp_path, monkeypatch):
    started = time.perf_counter()
    with pytest.raises(mixtura.MixturaError, match="base-60"):
        GeneralMixtureModel.from_yaml("a: " + ":".join(["1"] * 100_000))
    assert time.perf_counter() - started < 5
    for bad in (5, None, [1]):
        with pytest.raises(TypeError):
            GeneralMixtureModel.from_yaml(bad)
    # A document that is not a mapping is refused, never taken for a file name.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "5").write_text(json.dumps(VALID))
    with pytest.raises(mixtura.MixturaError, match="mapping"):
        GeneralMixtureModel.from_yaml("5")
    with pytest.raises(mixtura.MixturaError, match="mapping"):
        mixtura.from_dict("5")
