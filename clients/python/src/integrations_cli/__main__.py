"""`python -m integrations_cli ...`: the admin CLI (see `integrations_cli.app`)."""

from __future__ import annotations

import sys

from integrations_cli.app import main

if __name__ == "__main__":
    sys.exit(main())
