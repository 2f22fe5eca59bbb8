"""For testing a deployment or a plugin with the Python client: synthetic media tracks
(`tracks`) and the payload keys of every request, for fuzzing (`protocol`).

Nothing in the product imports this package (held by import-linter); the project's own tests and
benchmarks use it as a third party would. docs/plugins.md, "Testing".
"""
