# `make test` and `make demo` bootstrap .venv on a fresh machine (only PyPI is needed).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-tests
DEV_STAMP := $(VENV)/.installed-dev
PYTEST_ARGS ?=

.PHONY: setup test demo fuzz lint type bench bench-sandbox bench-cassettes bench-replay bench-specdiff bench-capture bench-swarm sandbox cassettes clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[tests,fast]'
	touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[tests,dev,fast]'
	touch $@

setup: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The main job: replay the committed cassettes against embedded sandboxes and print the summary.
demo: $(STAMP)
	$(BIN)/talon-contracts replay cassettes

# Nightly: the property tests under the `thorough` profile, then `st run` (every phase) against a
# sandbox. FUZZ_ARGS="--url URL --api-key KEY" points both at another target.
FUZZ_ARGS ?=
fuzz: $(STAMP)
	$(BIN)/python tools/fuzz.py $(FUZZ_ARGS)

lint: $(DEV_STAMP)
	$(BIN)/ruff check contracts replay tests bench tools
	$(BIN)/ruff format --check contracts replay tests bench tools

type: $(DEV_STAMP)
	$(BIN)/mypy
	$(BIN)/mypy contracts/client.py  # (beside its stub, the module itself is checked only when named)

bench: $(STAMP)
	$(BIN)/python bench/bench_validation.py
	$(BIN)/python bench/bench_sandbox.py
	$(BIN)/python bench/bench_cassettes.py
	$(BIN)/python bench/bench_replay.py
	$(BIN)/python bench/bench_specdiff.py
	$(BIN)/python bench/bench_capture.py

bench-sandbox: $(STAMP)
	$(BIN)/python bench/bench_sandbox.py

bench-cassettes: $(STAMP)
	$(BIN)/python bench/bench_cassettes.py

bench-replay: $(STAMP)
	$(BIN)/python bench/bench_replay.py

bench-specdiff: $(STAMP)
	$(BIN)/python bench/bench_specdiff.py

bench-capture: $(STAMP)
	$(BIN)/python bench/bench_capture.py

# replay over 1, 2 and 4 Locust workers against bench_replay's canned-answer server, next to the local engine
bench-swarm: $(STAMP)
	$(BIN)/python bench/bench_swarm.py

# Re-record the committed corpus against the embedded sandbox (review the diff before committing).
cassettes: $(STAMP)
	$(BIN)/talon-contracts record --all --out cassettes

sandbox: $(STAMP)
	$(BIN)/talon-contracts sandbox

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
