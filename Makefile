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

# All the benchmarks (docs/benchmarks.md), 15-20 minutes: agent selection, call setup and idle
# capacity beside the Node socket.io reference, the memory store beside Redis, recording; then
# bench/report.py writes their figures into docs/benchmarks.md. Installs what it needs (the venv,
# the `bench` extra, redis-server, the reference's npm packages).
bench:
	scripts/bootstrap.sh test
	.venv/bin/python -m pip install -q -e ".[bench]"
	.venv/bin/python bench/contact_center.py all
	.venv/bin/python bench/contact_center.py stores --rates 50,100
	.venv/bin/python bench/recording.py --out var/bench/recording.json
	.venv/bin/python bench/report.py
