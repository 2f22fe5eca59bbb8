#!/usr/bin/env bash
# Install what is missing, then serve the demo (config/callcenter.toml) on http://localhost:5000.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh run

# The demo app's secret is generated once and kept out of the repository.
mkdir -p var
if [ ! -f var/secrets.env ]; then
  umask 077
  echo "CALLCENTER_DEMO_SECRET=$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(32))')" \
    > var/secrets.env
fi
set -a; . var/secrets.env; set +a

port="${PORT:-5000}"
shop_port=$(sed -n 's/^shop_demo_port *= *\([0-9]*\).*/\1/p' config/callcenter.toml)
cat <<MSG
callcenter is starting on http://localhost:$port
  agent console:                            http://localhost:$port/console
      demo agents: ann / demo (queues sales, support), ben / demo (support)
      supervisor:  sue / demo (the same page shows the supervisor view)
  a shop page with the customer widget:     http://localhost:${shop_port:-5001}  (another origin)
  1:1 call demo (two tabs call each other): http://localhost:$port/demo
  REST API, browsable:                      http://localhost:$port/api/docs
  browser SDK:                              http://localhost:$port/sdk/callcenter.js
MSG
exec .venv/bin/callcenter serve --config config/callcenter.toml --host 127.0.0.1 --port "$port"
