"""The admin CLI of the integrations platform, on `integrations_client`.

`python -m integrations_cli COMMAND ...` (or the `integrations-cli` script): apps,
integrations, profiles, links, credentials, access-token, authorizations, templates,
installations, tasks, runs, tools. `--json` prints the bodies, otherwise readable tables;
exit statuses tell usage (2), refusal (3) and unavailability (4) apart (see `app`).
"""

from __future__ import annotations

from integrations_cli.app import (
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_UNAVAILABLE,
    EXIT_UNEXPECTED,
    EXIT_USAGE,
    main,
    run,
)

__all__ = [
    "EXIT_OK",
    "EXIT_REFUSED",
    "EXIT_UNAVAILABLE",
    "EXIT_UNEXPECTED",
    "EXIT_USAGE",
    "main",
    "run",
]
