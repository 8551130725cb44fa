# One entry point for every development task.  `make test` is what CI runs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The exact versions every install here uses (pyproject.toml holds ranges).
CONSTRAINTS := constraints.txt
PIP := pip install -q -c $(CONSTRAINTS)
RUNTIME_STAMP := $(VENV)/.runtime
STAMP := $(VENV)/.installed
# The other Python versions CI covers (the full suite runs on $(PY), 3.11).
OTHER_PYTHONS ?= 3.12 3.13

.PHONY: run test test-pythons lint bench fuzz constraints clean

# The runtime only (every extra but the dev tools): what `make run` needs.
$(RUNTIME_STAMP): pyproject.toml $(CONSTRAINTS)
	$(PY) -m venv $(VENV)
	$(BIN)/$(PIP) --upgrade pip
	$(BIN)/$(PIP) -e '.[server,postgres,execute,mcp]'
	touch $(RUNTIME_STAMP)

$(STAMP): $(RUNTIME_STAMP)
	$(BIN)/$(PIP) -e '.[dev]'
	touch $(STAMP)

## run: opsgate's main job — the control plane and web console on http://127.0.0.1:8470 (SQLite in ~/.opsgate, no other setup)
run: $(RUNTIME_STAMP)
	@echo "opsgate is installed at $(abspath $(BIN))/opsgate — see README.md for the tour."
	$(BIN)/opsgate serve

## test: the whole suite on $(PY) on every core (unit tests and corpora, then the rest a file per process), then the unit tests and the packaging test on 3.12 and 3.13 (what .ci/run runs)
test: $(STAMP)
	$(BIN)/pytest -n auto tests/unit tests/test_corpus.py
	$(BIN)/pytest -n auto --dist loadfile --ignore=tests/unit --ignore=tests/test_corpus.py
	$(MAKE) --no-print-directory test-pythons

## test-pythons: the unit tests and the wheel's packaging test on each of $(OTHER_PYTHONS), in .venv-3.X
test-pythons:
	@for version in $(OTHER_PYTHONS); do \
	    python=$$(.ci/find-python $$version) || exit 1; \
	    if [ -z "$$python" ]; then continue; fi; \
	    venv=.venv-$$version; \
	    if [ ! -f $$venv/.installed ] || [ pyproject.toml -nt $$venv/.installed ] \
	        || [ $(CONSTRAINTS) -nt $$venv/.installed ]; then \
	        echo "== installing the test environment for Python $$version ($$python)"; \
	        rm -rf $$venv && $$python -m venv $$venv \
	        && $$venv/bin/$(PIP) --upgrade pip \
	        && $$venv/bin/$(PIP) -e '.[server,postgres,execute,mcp,test]' \
	        && touch $$venv/.installed || exit 1; \
	    fi; \
	    echo "== Python $$version: unit tests and the wheel's packaging test"; \
	    $$venv/bin/pytest -p no:cacheprovider -n auto tests/unit || exit 1; \
	    OPSGATE_PACKAGING=wheel $$venv/bin/pytest -p no:cacheprovider \
	        tests/integration/test_packaging.py || exit 1; \
	done

## lint: ruff and strict mypy
lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

## bench: reproducible latency and accuracy benchmarks (see benchmarks/README.md); SCORER=… CORPUS=… also runs an external scorer against the hook
bench: $(STAMP)
	cd benchmarks && ../$(BIN)/python corpus_eval.py | grep '^\['
	cd benchmarks && ../$(BIN)/python bench_decide.py
	cd benchmarks && ../$(BIN)/python bench_hook.py
	cd benchmarks && ../$(BIN)/python bench_audit.py
	cd benchmarks && ../$(BIN)/python bench_server.py --races 1000
	cd benchmarks && ../$(BIN)/python bench_web.py
	cd benchmarks && ../$(BIN)/python bench_execute.py
	cd benchmarks && ../$(BIN)/python bench_http_hook.py
	cd benchmarks && ../$(BIN)/python bench_login_flood.py
	cd benchmarks && ../$(BIN)/python bench_pg_restart.py
	cd benchmarks && ../$(BIN)/python agent_protocols.py
	@if [ -n "$(SCORER)" ] && [ -n "$(CORPUS)" ]; then \
	    python3 $(SCORER) --hook '$(abspath $(BIN))/opsgate hook claude' \
	        --corpus $(CORPUS) --max-list 10 | tail -8; \
	else echo "external scorer skipped (make bench SCORER=path/to/score.py CORPUS=path/to/corpus.jsonl)"; fi

## fuzz: 100,000 generated hook inputs in process, then 1,000 through the native client against working, dead, killed and broken services; any crash, signal or malformed answer fails
fuzz: $(STAMP)
	$(BIN)/python benchmarks/fuzz_hook.py --examples 100000
	$(BIN)/python benchmarks/fuzz_native.py --runs 1000

## constraints: re-resolve every dependency to the newest version pyproject.toml allows and pin it in constraints.txt
constraints:
	rm -rf .venv-lock
	$(PY) -m venv .venv-lock
	.venv-lock/bin/pip install -q --upgrade pip
	.venv-lock/bin/pip install -q '.[dev]'
	{ sed -n '1,/^$$/p' $(CONSTRAINTS); \
	  .venv-lock/bin/pip freeze --all --exclude opsgate --exclude setuptools --exclude wheel; \
	} > $(CONSTRAINTS).new
	mv $(CONSTRAINTS).new $(CONSTRAINTS)
	rm -rf .venv-lock

clean:
	rm -rf $(VENV) .venv-3.* build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
