# GroundGame: `make run` sets up and runs everything; `make test` runs the suite.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
GG := $(VENV)/bin/groundgame

.PHONY: run test setup pwa lint bench soak clean

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

soak: setup
	@$(PY) scripts/soak.py $(SOAK_ARGS)

clean:
	rm -rf .data/test-*
