"""``python -m raven_devserver``: the same as ``raven serve``."""

import sys

from .cli import main

sys.exit(main())
