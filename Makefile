# costdb: one command for each thing a developer or CI does. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: help postgres node citus registry test test-fast lint fmt lock manifest bench up down status clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/costdb: pyproject.toml
	@PYTHON=$(PYTHON) bash scripts/provision-python.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

postgres:  ## install PostgreSQL + pgvector from Debian's packages if missing (asks for sudo)
	@bash scripts/provision-postgres.sh

node:  ## install Node.js + npm from Debian's packages if missing (the TypeScript client checks)
	@bash scripts/provision-node.sh

citus:  ## build the Citus extension from source if missing (CITUS_SOURCE=tarball or URL; asks for sudo)
	@bash scripts/provision-citus.sh

registry:  ## install the CNCF Distribution registry (Debian's docker-registry) if missing: the pull test
	@bash scripts/provision-registry.sh

test: $(BIN)/costdb postgres node  ## provision PostgreSQL + pgvector, Node.js, Citus (and, with Docker, a registry), run every test
	@bash scripts/provision-citus.sh \
	  || echo "make test: Citus could not be built; the Citus-mode tests will be skipped" >&2
	@if command -v docker >/dev/null; then bash scripts/provision-registry.sh; fi
	$(BIN)/pytest $(PYTEST_ARGS)

test-fast: $(BIN)/costdb postgres  ## the quick lane: no cluster or container of a test's own
	$(BIN)/pytest -m "not slow and not docker" $(PYTEST_ARGS)

lint: $(BIN)/costdb  ## ruff, mypy, squawk on each migration's SQL, hadolint, Compose/workflow schemas
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/costdb migrate --sql > /dev/null
	rm -rf $(VENV)/migrations-sql && $(BIN)/python -m testsupport.migration_sql $(VENV)/migrations-sql
	$(BIN)/squawk $(VENV)/migrations-sql/*.sql
	$(BIN)/hadolint Dockerfile docker/citus/Dockerfile
	$(BIN)/check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(BIN)/check-jsonschema --builtin-schema vendor.dependabot .github/dependabot.yml
	$(BIN)/kubernetes-validate --strict --quiet deploy/kubernetes/db.yaml deploy/kubernetes/health.yaml deploy/kubernetes/maintenance.yaml
	bash -n scripts/*.sh initdb/*.sh docker/*.sh

fmt: $(BIN)/costdb  ## format and fix what ruff can
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(BIN)/costdb postgres  ## run the benchmarks (BENCH_ARGS=--quick for a smoke run): bench/RESULTS.md
	@bash scripts/provision-bench.sh
	$(BIN)/python -m bench $(BENCH_ARGS)

lock: $(BIN)/costdb  ## pin the images' Python dependencies (with hashes) after changing pyproject.toml
	@{ sed -n '1,2p' requirements.lock; $(BIN)/uv pip compile pyproject.toml --universal \
	  --python-version 3.11 --generate-hashes --no-header --quiet; } > requirements.lock.new
	mv requirements.lock.new requirements.lock
	@{ sed -n '1p' docker/sbom/requirements.lock; $(BIN)/uv pip compile docker/sbom/requirements.in \
	  --universal --python-version 3.11 --generate-hashes --no-header --quiet; } > docker/sbom/requirements.lock.new
	mv docker/sbom/requirements.lock.new docker/sbom/requirements.lock

manifest: $(BIN)/costdb postgres  ## regenerate the probe's manifest after a new migration (a throwaway server)
	$(BIN)/python -m testsupport.manifest_writer

up: $(BIN)/costdb postgres  ## the stack natively: PostgreSQL + migrate + health server (Ctrl-C stops)
	$(BIN)/costdb local up

down: $(BIN)/costdb  ## stop a detached local stack (`costdb local up --detach`)
	$(BIN)/costdb local down

status: $(BIN)/costdb  ## is the local stack running, at which revision, ready?
	$(BIN)/costdb local status

clean:  ## remove the virtualenv (not the local database's data)
	rm -rf $(VENV)
