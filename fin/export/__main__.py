"""``python -m fin.export``: see :mod:`fin.export.cli`."""

import sys

from fin.export.cli import main

sys.exit(main())
