"""Fuzzes the model loaders (JSON and YAML) with atheris (coverage-guided): every input must
load or raise ValueError/TypeError, never crash or hang.

    .venv/bin/python -m pip install atheris
    .venv/bin/python fuzz/fuzz_json.py fuzz/corpus -atheris_runs=200000

The seeds in fuzz/corpus are valid documents written by mixtura, so the fuzzer starts near the
format. (Only the Python layer is coverage-instrumented; the Rust parser is exercised blind.)
"""

import sys

import atheris

with atheris.instrument_imports():
    import mixtura


def test_one(data):
    text = data.decode("utf-8", errors="replace")
    loaders = (mixtura.from_json, mixtura.GeneralMixtureModel.from_json,
               mixtura.Distribution.from_json, mixtura.GeneralMixtureModel.from_yaml,
               mixtura.Distribution.from_yaml, mixtura.Kmeans.from_json,
               mixtura.Kmeans.from_yaml)
    for load in loaders:
        try:
            model = load(text)
        except (ValueError, TypeError):
            continue
        except OSError:
            # The JSON loaders read a file when the text names one.
            if load in loaders[:3] or load is mixtura.Kmeans.from_json:
                continue
            raise
        # Whatever loads must write back and load again to the same document.
        again = type(model).from_json(model.to_json())
        assert again.to_json() == model.to_json()


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one)
    atheris.Fuzz()
