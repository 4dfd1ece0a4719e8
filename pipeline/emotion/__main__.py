"""``python -m pipeline.emotion IN [IN ...] --out-dir DIR``: the same as ``python -m pipeline.convert``
(emotion conversion of files; see :mod:`pipeline.convert` for the options)."""

import sys

from pipeline.convert import main

if __name__ == "__main__":
    sys.exit(main())
