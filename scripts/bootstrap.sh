#!/usr/bin/env bash
# Install what is missing on a fresh Debian machine: system packages, the venv, Python and npm deps.
# Usage: scripts/bootstrap.sh [run|test]   (test also brings Chromium, PostgreSQL, redis-server
# and the test extras)
# Idempotent and quick when nothing changed: each step is skipped when its inputs are unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-run}"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=""
apt_install() {
  [ -n "$apt_updated" ] || { as_root apt-get update -qq; apt_updated=1; }
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

need=()
command -v python3 >/dev/null || need+=(python3)
python3 -c "import venv, ensurepip" 2>/dev/null || need+=(python3-venv)
command -v npm >/dev/null || need+=(nodejs npm)
if [ "$mode" = test ] && [ ! -x /usr/bin/chromium ]; then need+=(chromium); fi
# The suite starts a private PostgreSQL server from these binaries (tests/conftest.py).
if [ "$mode" = test ] && ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  need+=(postgresql)
fi
# The TURN tests start a private coturn relay on free ports.
if [ "$mode" = test ] && ! command -v turnserver >/dev/null; then need+=(coturn); fi
# The reverse-proxy tests put Debian's nginx in front of the server.
if [ "$mode" = test ] && ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then need+=(nginx); fi
# The HTTPS browser test trusts its test certificate authority in Chromium's own store (NSS).
if [ "$mode" = test ] && ! command -v certutil >/dev/null; then need+=(libnss3-tools); fi
# The suite starts a private redis-server, for the Redis store's tests (tests/conftest.py).
if [ "$mode" = test ] && ! command -v redis-server >/dev/null; then need+=(redis-server); fi
if [ ${#need[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need[*]}"
  apt_install "${need[@]}"
fi

python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "callcenter needs Python 3.11 or newer" >&2; exit 1; }

extras="media"; [ "$mode" = test ] && extras="test"
stamp=".venv/.installed-$extras-$(cat setup.cfg pyproject.toml | sha1sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  [ -x .venv/bin/python ] || python3 -m venv .venv
  echo "installing Python dependencies ($extras)"
  .venv/bin/python -m pip install -q --upgrade pip "setuptools>=69"
  .venv/bin/python -m pip install -q -e ".[$extras]"
  touch "$stamp"
fi

lock_stamp="web/node_modules/.installed-$(sha1sum < web/package-lock.json | cut -c1-12)"
if [ ! -f "$lock_stamp" ]; then
  echo "installing npm dependencies for web/"
  npm ci --prefix web --no-audit --no-fund --loglevel=error
  touch "$lock_stamp"
fi
