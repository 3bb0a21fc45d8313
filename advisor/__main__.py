"""`python -m advisor` runs the same CLI as the `advisor` script."""

import sys

from advisor.cli import main

sys.exit(main())
