# The two commands (see README): `make run` serves the demo, `make test` runs the whole suite.
.PHONY: run test lint bench

run:
	scripts/run.sh

test:
	scripts/test.sh

lint:
	.venv/bin/ruff check callcenter plugins tests bench
	.venv/bin/lint-imports
	web/node_modules/.bin/eslint --config web/eslint.config.js web

# Contact-center benchmarks (docs/benchmarks.md): ours and the Node socket.io reference, a few
# minutes. Installs the venv, the `bench` extra (matplotlib) and the reference's npm packages.
bench:
	scripts/bootstrap.sh run
	.venv/bin/python -m pip install -q -e ".[bench]"
	.venv/bin/python bench/contact_center.py all
