"""``python -m pipelines.cli``: the ``chatsync`` command."""

import sys

from .main import main

sys.exit(main())
