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
# Two workers: the browser tests one after another on one, the other files beside them
# (tests/conftest.py schedules them). The API fuzz (schemathesis) sends no request under
# pytest-xdist: with no arguments it runs last, in a pass of its own without workers.
fuzz=tests/integration/test_api_fuzz.py
if [ "$#" -eq 0 ]; then
  .venv/bin/python -m pytest -q -n 2 --ignore="$fuzz"
  exec .venv/bin/python -m pytest -q "$fuzz"
fi
exec .venv/bin/python -m pytest -q -n 2 "$@"
