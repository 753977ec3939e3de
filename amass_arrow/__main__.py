"""`python -m amass_arrow ...` is the `amass-arrow` command."""

import sys

from amass_arrow.cli import main

sys.exit(main())
