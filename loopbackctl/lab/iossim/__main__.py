"""``python -m loopbackctl.lab.iossim --spec FILE``: see :mod:`loopbackctl.lab.iossim.server`."""

import sys

from .server import main

sys.exit(main())
