# The two commands (see README): `make run` serves the demo, `make test` runs the whole suite.
.PHONY: run test lint

run:
	scripts/run.sh

test:
	scripts/test.sh

lint:
	.venv/bin/ruff check callcenter plugins tests
