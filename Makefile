# make demo   builds, then fits the Old Faithful data
# make test   builds, then runs cargo test, clippy, the Rust examples, the determinism tests on
#             every kernel path, the Python linters and pytest (python/tests)
# make build  release build of the Python extension into .venv
# make wheel  the abi3 wheel (CPython 3.9 and later) and the sdist, into target/wheels
# make docs   the API reference from the docstrings (pdoc), into target/docs/api
# make readme-image  redraws docs/old_faithful.png, the README's picture of the Old Faithful fit
# make bench  the benchmarks (see benches/)

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ORACLE := .venv-oracle
export VIRTUAL_ENV := $(abspath $(VENV))

.PHONY: all build demo test test-rust test-kernel-paths lint-python test-python test-wheel wheel docs \
	readme-image oracle bench bench-peers clean

all: build

$(VENV)/.created: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# The extension is built for the stable ABI (_core.abi3.so); a version-specific build left from
# before would be imported first, so it goes.
build: $(VENV)/.created
	rm -f python/mixtura/_core.cpython-*.so
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

test-rust: $(VENV)/.created
	cargo fmt --all -- --check
	cargo clippy --quiet --workspace --all-targets -- -D warnings
	cargo test --quiet
	RUSTDOCFLAGS="-D warnings" cargo doc --quiet --no-deps
	@# The library pulls in neither PyO3 nor numpy: those are the extension's (bindings/).
	@! cargo tree --package mixtura --edges normal | grep -E "^.* (pyo3|numpy) v" || \
		(echo "error: pyo3/numpy in the library's dependency tree"; false)
	@# The crate keeps pomegranate's key order itself: serde_json's preserve_order would change
	@# the maps of every program that depends on it.
	@! cargo tree --quiet --package mixtura --edges features --invert serde_json | grep -q preserve_order || \
		(echo "error: serde_json's preserve_order feature is turned on"; false)
	cargo run --quiet --example fit_old_faithful | sed -n '/^{/,$$p' > target/old_faithful.json
	tail -n +2 data/old_faithful.csv | cargo run --quiet --example predict -- target/old_faithful.json > /dev/null

# ruff and mypy on the package (their settings are in pyproject.toml), and the stubs of the
# extension checked against the built module.
lint-python: build
	$(VENV)/bin/ruff check
	$(VENV)/bin/mypy
	$(PY) -m mypy.stubtest mixtura._core

test-python: lint-python oracle
	$(PY) -m pytest -q

# The determinism tests once more on each kernel path that MIXTURA_KERNEL forces (portable, AVX2,
# AVX-512; each capped at what the processor has). Beside these, python/tests/test_kernel_paths.py
# (in test-python) checks that each forced path is taken and compares their results bit for bit.
test-kernel-paths: build
	for path in portable avx2 avx512; do \
		echo "kernel path $$path:"; \
		MIXTURA_KERNEL=$$path cargo test --quiet -- thread || exit 1; \
		MIXTURA_KERNEL=$$path $(PY) -m pytest -q -p no:cacheprovider python/tests \
			-k "n_jobs or determinism or bitwise or thread" || exit 1; \
	done

# The wheel and the sdist (maturin). The extension is built for CPython's stable ABI (pyo3's
# abi3-py39 feature, set in pyproject.toml), so one wheel serves CPython 3.9 and later.
WHEELS := target/wheels

wheel: $(VENV)/.created
	rm -rf $(WHEELS)
	$(VENV)/bin/maturin build --release --quiet --out $(WHEELS)
	$(VENV)/bin/maturin sdist --out $(WHEELS)
	@ls $(WHEELS)

# The wheel installed into fresh environments of the oldest and newest CPython (3.9 or later)
# on the machine, with a smoke test (fit, predict, JSON round trip, the command line); skipped
# with a note where none is found. WHEEL_PYTHONS="python3.9 python3.13" chooses them.
test-wheel: wheel
	scripts/test-wheel.sh $(WHEELS)

# The API reference from the docstrings; a warning from pdoc fails the build.
DOCS_API := target/docs/api

docs: $(VENV)/.created
	rm -rf $(DOCS_API)
	$(PY) -W error::UserWarning -m pdoc --docformat numpy -o $(DOCS_API) \
		mixtura mixtura.plot mixtura.distributions mixtura.gmm mixtura.kmeans mixtura.callbacks \
		mixtura.io mixtura.neural mixtura.utils mixtura.cli mixtura.sklearn mixtura.numpy_ml \
		mixtura.dask 2> target/pdoc.log || \
		(cat target/pdoc.log; false)
	@if grep -qi "warn" target/pdoc.log; then cat target/pdoc.log; echo "error: pdoc warned"; false; fi
	@echo "API reference in $(DOCS_API)/index.html"

# The README's picture: the two-component fit of the Old Faithful data (make demo's model).
readme-image: build
	$(PY) -m mixtura fit data/old_faithful.csv -k 2 --random-state 0 --output target/old_faithful_model.json > /dev/null
	$(PY) -m mixtura plot target/old_faithful_model.json data/old_faithful.csv -o docs/old_faithful.png
	@ls -l docs/old_faithful.png

test: test-rust test-kernel-paths test-python test-wheel docs

# The benchmarks' peers: scikit-learn is in $(VENV); oneDAL (daal4py) gets its own environment;
# pomegranate is the oracle's. A peer whose install fails is reported as "not installed" in the
# results (the reason is kept in <venv>/install-failed), not an error; the install is retried on
# the next run. BENCH_ARGS passes options, e.g. make bench BENCH_ARGS="--quick --cases A,D".
BENCH_ONEDAL := .venv-bench-onedal
BENCH_ARGS ?=

$(BENCH_ONEDAL)/.created: benches/requirements-onedal.txt
	rm -rf $(BENCH_ONEDAL)
	$(PYTHON) -m venv $(BENCH_ONEDAL)
	if $(BENCH_ONEDAL)/bin/python -m pip install --quiet -r benches/requirements-onedal.txt \
			> $(BENCH_ONEDAL)/install.log 2>&1; then \
		touch $@; \
	else \
		tail -n 20 $(BENCH_ONEDAL)/install.log > $(BENCH_ONEDAL)/install-failed; \
		echo "note: oneDAL could not be installed (see $(BENCH_ONEDAL)/install-failed); the benchmark reports it"; \
	fi

bench-peers: oracle
	@$(MAKE) --no-print-directory $(BENCH_ONEDAL)/.created || true

bench: build bench-peers
	$(PY) benches/bench.py --write-results $(BENCH_ARGS)
	$(PY) benches/large_d.py --append-to benches/RESULTS.md

clean:
	rm -rf target $(VENV) $(ORACLE) python/mixtura/*.so
