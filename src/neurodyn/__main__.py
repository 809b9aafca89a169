"""``python -m neurodyn …``: the same command line as the ``neurodyn`` script."""

import sys

from .cli import main

sys.exit(main())
