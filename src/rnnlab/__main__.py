"""``python -m rnnlab ...`` is the ``rnnlab`` command."""
import sys

from .cli import main

sys.exit(main())
