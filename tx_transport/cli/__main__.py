"""``python -m tx_transport.cli``: the command line (same as ``tx-transport``)."""

import sys

from . import main

if __name__ == "__main__":
    sys.exit(main())
