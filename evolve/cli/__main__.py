"""``python -m evolve.cli``: the ``adrs`` command without its installed script."""

import sys

from evolve.cli.main import main

sys.exit(main())
