# GroundGame: `make run` sets up and runs everything; `make test` runs the suite.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
GG := $(VENV)/bin/groundgame

.PHONY: run test setup pwa lint bench soak fuzz clean

setup:
	@bash scripts/bootstrap.sh

pwa: setup
	@bash scripts/build_pwa.sh

run: setup pwa
	@exec $(GG) up

test: setup pwa
	@bash scripts/test.sh

lint: setup
	$(VENV)/bin/ruff check app tests bench scripts migrations
	$(VENV)/bin/mypy app tests

bench: setup pwa
	@$(PY) -m bench.run

FUZZ_EXAMPLES ?= 100
FUZZ_SEQUENCES ?= 200
FUZZ_COVERAGE ?= 0

fuzz: setup
	GG_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) GG_FUZZ_COVERAGE=$(FUZZ_COVERAGE) GG_FUZZ_STATEFUL_EXAMPLES=$(FUZZ_SEQUENCES) GG_FUZZ_STATEFUL_STEPS=12 \
		$(PY) -m pytest tests/reliability/test_fuzz.py tests/reliability/test_fuzz_stateful.py -q

soak: setup
	@$(PY) scripts/soak.py $(SOAK_ARGS)

clean:
	rm -rf .data/test-*
