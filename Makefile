# Helionyx. `make run` and `make test` work on a fresh clone with Python 3.11 and make.
ENV ?= dev
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

ifeq ($(filter $(ENV),dev staging live),)
$(error ENV must be one of dev, staging, live (got '$(ENV)'))
endif

.PHONY: install lock setup run migrate test test-unit test-integration test-e2e lint verify \
        rebuild import-chatgpt accept-log status stop config bench backup restore clean \
        export import-log deploy start restart logs install-unit

$(STAMP): requirements.lock pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install exactly what requirements.lock pins

lock: install ## re-resolve requirements.lock from pyproject.toml (after changing dependencies)
	$(PY) -m pip install --quiet --disable-pip-version-check uv
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --python-version 3.11 \
	    --generate-hashes --quiet -o requirements.lock

# dev: the example with a fresh API token. staging, live: fresh secrets, every other value
# blank, and a stop naming what to fill in (app/env_file.py).
.env.%:
	@umask 077 && $(PYTHON) -m app.env_file $*

setup: install .env.$(ENV) ## install and create .env.<tier> if missing

migrate: setup ## bring the tier's database to the latest schema
	$(PY) -m app.cli --env $(ENV) migrate

run: migrate ## migrate, then serve the tier (ENV=dev|staging|live)
	exec $(PY) -m app.main --env $(ENV)

# One pytest-xdist worker per core, at most 4. Every test has its own files, ports and
# PostgreSQL databases; the few that share something on the server or in the checkout
# are grouped into one worker (xdist_group in tests/conftest.py). `make test
# PYTEST_PARALLEL=` runs them all in one process.
PYTEST_PARALLEL ?= -n auto --maxprocesses 4 --dist loadgroup

test: install ## every test; PostgreSQL ones need HELIONYX_TEST_POSTGRES_URL
	$(PY) -m pytest $(PYTEST_PARALLEL)

test-unit: install
	$(PY) -m pytest tests/unit

test-integration: install
	$(PY) -m pytest $(PYTEST_PARALLEL) tests/integration

test-e2e: install
	$(PY) -m pytest $(PYTEST_PARALLEL) tests/e2e

lint: install ## ruff (rules and formatting), mypy (strict on domain/, every body checked elsewhere) and the import contract (domain/ imports only the standard library)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

verify: install ## the chain, the rows, the digests and the idempotency records; exit 1 names every problem (FILE=export.jsonl: check an export offline)
	$(PY) -m app.cli --env $(ENV) verify $(if $(FILE),--file "$(FILE)")

accept-log: setup ## accept a contradicted log as it is now (after make verify): YES=1 REASON="..."
	$(PY) -m app.cli --env $(ENV) accept-log $(if $(YES),--yes) $(if $(REASON),--reason "$(REASON)")

rebuild: setup ## replay the event log into empty read models (todos, notes, ...)
	$(PY) -m app.cli --env $(ENV) rebuild

import-chatgpt: setup ## import a ChatGPT export: make import-chatgpt FILE=path/to/conversations.json
	@test -n "$(FILE)" || { echo "FILE is required: make import-chatgpt FILE=path/to/conversations.json ENV=$(ENV)" >&2; exit 2; }
	$(PY) -m app.cli --env $(ENV) import-chatgpt "$(FILE)"

export: setup ## the log as JSON Lines (every column, hashes) or the objects as Markdown: [FORMAT=jsonl|markdown] [OUT=path, - for stdout]
	$(PY) -m app.cli --env $(ENV) export $(if $(FORMAT),--format "$(FORMAT)") $(if $(OUT),--out "$(OUT)")

import-log: setup ## load a JSON Lines export into the tier's empty database: make import-log FILE=export.jsonl
	@test -n "$(FILE)" || { echo "FILE is required: make import-log FILE=var/exports/dev/helionyx-....jsonl ENV=$(ENV)" >&2; exit 2; }
	$(PY) -m app.cli --env $(ENV) import-log "$(FILE)"

# status, stop: the checkout's own service (`make run`), or the deployed tier's when one is
# deployed under HELIONYX_DEPLOY_ROOT on the same port and the checkout's is not running
# (app/cli/deploy.py, docs/DEPLOYMENT.md).
status: install ## is the service running? health, database, event log head, bot
	$(PY) -m app.cli --env $(ENV) status

stop: install ## stop the tier's running service cleanly (SIGTERM, waits for it to exit)
	$(PY) -m app.cli --env $(ENV) stop

# Deployed tiers: $(HELIONYX_DEPLOY_ROOT)/<tier>/ (default /opt/helionyx), docs/DEPLOYMENT.md.
DEPLOY_FLAGS = $(if $(DEPLOY_TIMEOUT),--timeout "$(DEPLOY_TIMEOUT)") \
    $(if $(MIGRATE_TIMEOUT),--migrate-timeout "$(MIGRATE_TIMEOUT)") \
    $(if $(VENV_FROM),--venv-from "$(VENV_FROM)")

deploy: install ## deploy HEAD to the tier, rolling back if it does not come up: [DEPLOY_TIMEOUT=60] [MIGRATE_TIMEOUT=600] [VENV_FROM=dir]
	$(PY) -m app.cli --env $(ENV) deploy $(strip $(DEPLOY_FLAGS))

start: install ## start the deployed tier's service and wait until it is ready [DEPLOY_TIMEOUT=60]
	$(PY) -m app.cli --env $(ENV) start $(if $(DEPLOY_TIMEOUT),--timeout "$(DEPLOY_TIMEOUT)")

restart: install ## stop (draining), then start the deployed tier's service [DEPLOY_TIMEOUT=60]
	$(PY) -m app.cli --env $(ENV) restart $(if $(DEPLOY_TIMEOUT),--timeout "$(DEPLOY_TIMEOUT)")

logs: install ## the deployed tier's service log: [LINES=100] [FOLLOW=1]
	$(PY) -m app.cli --env $(ENV) logs $(if $(LINES),--lines "$(LINES)") $(if $(FOLLOW),--follow)

install-unit: install ## as root, where systemd runs: install and enable the tier's unit [DEPLOY_USER=] [DEPLOY_GROUP=]
	$(PY) -m app.cli --env $(ENV) install-unit $(if $(DEPLOY_USER),--user "$(DEPLOY_USER)") $(if $(DEPLOY_GROUP),--group "$(DEPLOY_GROUP)")

config: install ## print the effective configuration, secrets redacted
	$(PY) -m app.cli --env $(ENV) config

bench: install ## the benchmark (bench/README.md): QUICK=1 for the smoke run, EVENTS=N for the large log
	$(PY) -m bench.run $(if $(QUICK),--quick) $(if $(EVENTS),--events $(EVENTS))

backup: setup ## write a verified, consistent copy of the tier's database to var/backups/<tier>/ (DIR= elsewhere)
	$(PY) -m app.cli --env $(ENV) backup $(if $(DIR),--dir "$(DIR)")

restore: setup ## verify a backup, then restore it, keeping the replaced database (stop the service first): make restore FILE=... [YES=1] (live: CONFIRM=live)
	@test -n "$(FILE)" || { echo "FILE is required: make restore FILE=var/backups/$(ENV)/helionyx-....sqlite3 ENV=$(ENV) [YES=1 to replace a database that holds events; on live CONFIRM=live instead]" >&2; exit 2; }
	$(PY) -m app.cli --env $(ENV) restore "$(FILE)" $(if $(YES),--yes-overwrite) $(if $(CONFIRM),--confirm "$(CONFIRM)")

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
