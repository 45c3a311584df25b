# `make app` and `make test` set everything up on a fresh machine, then run.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export PYTENSOR_FLAGS ?= blas__ldflags=-lopenblas
export PYTHONHASHSEED := 0

.PHONY: app test test-fast bench bench-fits lint system-deps screenshots

app: $(STAMP) system-deps
	$(PY) -m streamlit run app/streamlit_app.py

test: $(STAMP) system-deps
	$(PY) -m pytest -q --durations=15

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow and not browser"

# The README's pictures of the app: the browser test, also writing its screenshots to docs/screenshots/.
screenshots: $(STAMP) system-deps
	PRICING_SCREENSHOTS=docs/screenshots $(PY) -m pytest -q -m browser tests/app/test_browser.py

bench: $(STAMP) system-deps
	$(PY) benchmarks/bench_simulate.py
	$(PY) benchmarks/bench_app.py
	$(PY) benchmarks/bench_app_browser.py

# The model-fitting benchmarks: several minutes (the mixed logit alone takes about two).
bench-fits: $(STAMP) system-deps
	$(PY) -m pip install -q -e ".[test,bench]"
	$(PY) benchmarks/bench_wtp.py
	$(PY) benchmarks/bench_choice.py

lint: $(STAMP)
	$(VENV)/bin/ruff check pricing app tests benchmarks
	$(VENV)/bin/ruff format --check pricing app tests benchmarks

$(VENV)/bin/python:
	python3 -m venv $(VENV)

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test]"
	touch $@

# Debian packages: OpenBLAS for PyTensor, Chromium for the browser test.
system-deps:
	@bash .ci/system-deps
