# ga-intel developer commands. `make help` lists them.
# Every target installs what it needs first (uv, then the locked environment).

SHELL := /bin/bash
.DEFAULT_GOAL := help

# uv from PATH, else the pip-installed module (a fresh machine has neither until `setup`).
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
export UV_COMPILE_BYTECODE := 1
GA := $(UV) run --frozen ga-intel
GA_INTEL_HOME ?= $(CURDIR)/.ga_intel
export GA_INTEL_HOME
DAGSTER_PORT ?= 3000
STREAMLIT_PORT ?= 8501
API_PORT ?= 8000
export DAGSTER_PORT STREAMLIT_PORT API_PORT

.PHONY: help setup dev test lint format services_start stop_services db_setup db_clean logs clean

help: ## list the commands
	@grep -hE '^[a-z_]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

setup: ## install uv and the locked environment (.venv)
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	@$(UV) sync --frozen --quiet

dev: setup ## run everything: embedded PostgreSQL, Dagster UI + daemon, dashboard, API (:8000/docs), demo tenant
	@$(GA) dev

test: setup lint ## lint, then the whole test suite (real PostgreSQL, sshd, SMTP, Redis, BigQuery emulator, Chromium)
	@$(UV) run --frozen pytest

lint: setup ## ruff: lint and format check (`make format` fixes what it can)
	@$(UV) run --frozen ruff check .
	@$(UV) run --frozen ruff format --check .

format: setup ## ruff: apply the formatter and the safe lint fixes
	@$(UV) run --frozen ruff check --fix .
	@$(UV) run --frozen ruff format .

services_start: setup ## start the embedded PostgreSQL (when GA_INTEL_DATABASE_URL is unset)
	@$(GA) db start

stop_services: setup ## stop the embedded PostgreSQL
	@$(GA) db stop

db_setup: setup ## create the databases and apply migrations
	@$(GA) db upgrade

db_clean: setup ## delete ALL ga-intel data (asks first)
	@$(GA) db drop

logs: ## follow the logs of `make dev`
	@mkdir -p "$(GA_INTEL_HOME)/logs"; touch "$(GA_INTEL_HOME)/logs/ga-intel.log"
	@tail -n 50 -F "$(GA_INTEL_HOME)"/logs/*.log

clean: ## remove caches and logs (keeps data: see db_clean)
	rm -rf .pytest_cache artifacts "$(GA_INTEL_HOME)/logs"
	find . -name __pycache__ -type d -not -path './.venv/*' -prune -exec rm -rf {} +
