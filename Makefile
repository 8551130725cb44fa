# One entry point for every development task.  `make test` is what CI runs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench fuzz clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

## run: opsgate's main job — the control plane and web console on http://127.0.0.1:8470 (SQLite in ~/.opsgate, no other setup)
run: $(STAMP)
	@echo "opsgate is installed at $(abspath $(BIN))/opsgate — see README.md for the tour."
	$(BIN)/opsgate serve

## test: the whole suite (what .ci/run runs)
test: $(STAMP)
	$(BIN)/pytest

## lint: ruff and strict mypy
lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

## bench: reproducible latency and accuracy benchmarks (see benchmarks/README.md)
bench: $(STAMP)
	cd benchmarks && ../$(BIN)/python corpus_eval.py | grep '^\['
	cd benchmarks && ../$(BIN)/python bench_decide.py
	cd benchmarks && ../$(BIN)/python bench_hook.py
	cd benchmarks && ../$(BIN)/python bench_audit.py
	cd benchmarks && ../$(BIN)/python bench_server.py --races 1000
	cd benchmarks && ../$(BIN)/python bench_web.py
	cd benchmarks && ../$(BIN)/python bench_execute.py
	cd benchmarks && ../$(BIN)/python bench_http_hook.py
	cd benchmarks && ../$(BIN)/python agent_protocols.py
	python3 ../shared/eval/score.py --hook '$(abspath $(BIN))/opsgate hook claude' \
	    --corpus ../shared/corpus/agent-actions.jsonl --max-list 10 | tail -8

## fuzz: 100,000 generated hook inputs in process, then 1,000 through the native client against working, dead, killed and broken services; any crash, signal or malformed answer fails
fuzz: $(STAMP)
	$(BIN)/python benchmarks/fuzz_hook.py --examples 100000
	$(BIN)/python benchmarks/fuzz_native.py --runs 1000

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
