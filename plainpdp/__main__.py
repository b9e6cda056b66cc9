"""``python -m plainpdp`` runs the command line."""

from .cli import run

run()
