# make demo   builds, then fits the Old Faithful data
# make test   builds, then runs cargo test, clippy, the Rust examples and pytest
# make build  release build of the Python extension into .venv
# make bench  the benchmarks (see benches/)

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ORACLE := .venv-oracle
export VIRTUAL_ENV := $(abspath $(VENV))

.PHONY: all build demo test test-rust test-python oracle bench clean

all: build

$(VENV)/.created: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

build: $(VENV)/.created
	$(VENV)/bin/maturin develop --release --quiet

# The differential oracle (pomegranate 0.14.8). Optional: tests that need it skip without it.
$(ORACLE)/.created: requirements-oracle.txt
	$(PYTHON) -m venv $(ORACLE)
	$(ORACLE)/bin/python -m pip install --quiet -r requirements-oracle.txt || \
		echo "note: the pomegranate oracle could not be installed; its tests will skip"
	touch $@

oracle: $(ORACLE)/.created

demo: build
	$(PY) -m mixtura fit data/old_faithful.csv -k 2 --random-state 0 --output model.json

test-rust:
	cargo fmt --all -- --check
	cargo clippy --quiet --all-targets -- -D warnings
	cargo test --quiet
	cargo run --quiet --example fit_old_faithful > /dev/null

test-python: build oracle
	$(PY) -m pytest -q

test: test-rust test-python

bench: build
	$(PY) benches/bench.py

clean:
	rm -rf target $(VENV) $(ORACLE) python/mixtura/*.so
