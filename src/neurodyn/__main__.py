"""``python -m neurodyn …``: the same command line as the ``neurodyn`` script."""

from .cli import run

run()
