"""``python -m tx_transport``: the command line (same as ``tx-transport``)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
