# The project's commands. Each target installs and starts what it needs, so a fresh clone on a
# fresh Debian machine works with no step done by hand.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV := $(shell deploy/local/bootstrap.sh)
IDP_DIR := deploy/local/idp
PYTEST_ARGS ?=

.PHONY: help setup infra run stop test lint unit integration e2e bench demo

help:
	@echo "make run    start RabbitMQ, the MongoDB-compatible server and the three services"
	@echo "make stop   stop everything 'make run' started"
	@echo "make test   lint, type-check and run every test tier (starts what it needs)"
	@echo "make bench  run the benchmarks, printing ratios against a baseline from the same run"
	@echo "make demo   walk the whole story against the system that make run started"

setup:
	@$(UV) sync --frozen --quiet
	@if [ -f $(IDP_DIR)/package-lock.json ] && [ ! -d $(IDP_DIR)/node_modules ]; then \
		npm ci --prefix $(IDP_DIR) --no-audit --no-fund --loglevel=error; fi
	@if [ -f tools/asyncapi/package-lock.json ] && [ ! -d tools/asyncapi/node_modules ]; then npm ci --prefix tools/asyncapi --no-audit --no-fund --loglevel=error; fi

infra: setup
	@$(UV) run --frozen python -m devinfra up >/dev/null

run: setup
	@$(UV) run --frozen python -m devinfra up --services
	@echo "OpenAPI: http://127.0.0.1:8081/openapi.json http://127.0.0.1:8082/openapi.json http://127.0.0.1:8083/openapi.json http://127.0.0.1:8084/openapi.json; MCP: http://127.0.0.1:8084/mcp"

stop:
	@$(UV) run --frozen python -m devinfra down

lint: setup
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen mypy shared/src services/*/src deploy/local/src clients/python/src tests bench

test: lint infra
	$(UV) run --frozen pytest $(PYTEST_ARGS)

bench: infra
	$(UV) run --frozen python -m bench

demo: setup
	$(UV) run --frozen python -m devinfra.demo
