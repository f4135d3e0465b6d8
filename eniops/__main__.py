"""`python -m eniops`: the command line."""

from .cli import run

run()
