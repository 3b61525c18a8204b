"""`python -m leadql` is the `leadql` command."""

import sys

from leadql.cli import main

sys.exit(main())
