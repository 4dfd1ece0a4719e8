"""``python -m pipeline.train``: see :mod:`pipeline.train.cli`."""

import sys

from pipeline.train.cli import main

if __name__ == "__main__":
    sys.exit(main())
