"""``python -m tests.iossim --spec FILE``: see :mod:`tests.iossim.server`."""

import sys

from .server import main

sys.exit(main())
