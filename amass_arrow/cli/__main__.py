"""`python -m amass_arrow.cli` (same as `amass-arrow` and `python -m amass_arrow`)."""

import sys

from amass_arrow.cli import main

sys.exit(main())
