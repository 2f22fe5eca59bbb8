"""`python -m callcenter` runs the command-line interface."""

from callcenter.cli import main

main()
