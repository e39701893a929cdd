"""``python -m rnnlab ...`` is the ``rnnlab`` command."""
import sys

try:
    from .cli import main
except KeyboardInterrupt:                 # Ctrl-C while starting up: no traceback
    sys.stderr.write("rnnlab: interrupted (SIGINT)\n")
    sys.exit(130)

sys.exit(main())
