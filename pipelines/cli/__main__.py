"""``python -m pipelines.cli``: the ``chatsync`` command."""

import sys

from . import main

sys.exit(main())
