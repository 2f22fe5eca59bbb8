#!/usr/bin/env bash
# Install what the tests need (Python test extras, npm deps, Debian's chromium), then run them all:
# lint, unit, integration (real server processes) and browser tests (Playwright + Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh test
.venv/bin/ruff check callcenter plugins tests bench
# The layer rules (.importlinter): the domain imports no framework, the media worker never the
# server, stock plugins only the public plugin API.
.venv/bin/lint-imports
web/node_modules/.bin/eslint --config web/eslint.config.js web
exec .venv/bin/python -m pytest -q "$@"
