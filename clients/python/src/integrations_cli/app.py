"""`run(argv)`: parse, settle the settings, call the service through the client, print, and
answer an exit status that says which kind of failure it was.

| status | meaning |
|---|---|
| 0 | done |
| 1 | the service answered something the contract does not say (a bug somewhere) |
| 2 | usage: bad arguments or settings; nothing was sent |
| 3 | refused by the service: a problem answer (4xx), its code and detail on stderr |
| 4 | unavailable: no answer, or 5xx (503 after the client's retries) |

Errors go to stderr as `error: <code>: <detail>` (plus each bad field of a validation_error,
or the missing scopes of insufficient_scope); stdout carries only results, so `--json` output
pipes cleanly into `jq`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import Mapping, Sequence
from typing import TextIO

import aiohttp
from pydantic import ValidationError as PydanticValidationError

from integrations_cli.commands import Handler, add_commands
from integrations_cli.output import Shown, to_json
from integrations_cli.settings import Settings, UsageError, load_settings
from integrations_client import (
    IntegrationsClient,
    JwtMinter,
    ProblemError,
    RetryPolicy,
    ServiceUnreachable,
    UnexpectedResponse,
)
from integrations_client.errors import InsufficientScope, ValidationError

__all__ = [
    "EXIT_OK",
    "EXIT_REFUSED",
    "EXIT_UNAVAILABLE",
    "EXIT_UNEXPECTED",
    "EXIT_USAGE",
    "build_parser",
    "main",
    "run",
]

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_USAGE = 2
EXIT_REFUSED = 3
EXIT_UNAVAILABLE = 4
EXIT_INTERRUPTED = 130
PROG = "python -m integrations_cli"


def _common_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    # On every leaf too, so `apps get APP --json` works as well as `--json apps get APP`;
    # SUPPRESS keeps a leaf from overwriting what was given before the command.
    default = None if top else argparse.SUPPRESS
    parser.add_argument(
        "--json",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="print the JSON bodies instead of tables",
    )
    parser.add_argument("--auth-url", default=default, help="auth-service (AUTH_SERVICE_URL)")
    parser.add_argument(
        "--integration-url",
        default=default,
        help="integration-service (INTEGRATION_SERVICE_URL)",
    )
    parser.add_argument(
        "--template-url", default=default, help="template-service (TEMPLATE_SERVICE_URL)"
    )
    parser.add_argument(
        "--jwt-secret-file",
        metavar="PATH",
        default=default,
        help="a file holding the JWT secret (else PLATFORM_JWT_SECRET)",
    )
    parser.add_argument("--subject", default=default, help="the JWT's sub (PLATFORM_JWT_SUBJECT)")
    parser.add_argument("--timeout", type=float, default=default, help="seconds per attempt (30)")
    parser.add_argument(
        "--attempts",
        type=int,
        default=default,
        help="tries in all when a service is unavailable (4; 1 disables retries)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Administer the integrations platform through its contract API.",
        epilog="Exit status: 0 done, 1 unexpected answer, 2 usage, 3 refused, 4 unavailable.",
    )
    _common_options(parser, top=True)
    common = argparse.ArgumentParser(add_help=False)
    _common_options(common, top=False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    add_commands(commands, common)
    return parser


def _client(settings: Settings) -> IntegrationsClient:
    # per_app: each token may touch only the app the command names, whatever the secret allows.
    minter = JwtMinter(settings.jwt_secret, subject=settings.subject, per_app=True)
    retry = RetryPolicy(attempts=settings.attempts)
    return IntegrationsClient(settings.urls, minter, retry=retry, timeout=settings.timeout)


def _problem_lines(error: ProblemError) -> list[str]:
    lines = [f"error: {error.code or f'HTTP {error.status}'}: {error.detail}"]
    if isinstance(error, ValidationError):
        lines += [f"  {item.field}: {item.message or item.type or ''}" for item in error.errors]
    if isinstance(error, InsufficientScope) and error.missing_scopes:
        lines.append(f"  missing scopes: {', '.join(error.missing_scopes)}")
    return lines


def _request_problems(error: PydanticValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in item['loc']) or 'value'}: {item['msg']}"
        for item in error.errors(include_url=False, include_input=False, include_context=False)
    )


async def _execute(handler: Handler, settings: Settings, args: argparse.Namespace) -> Shown:
    async with _client(settings) as client:
        return await handler(client, args)


async def run(
    argv: Sequence[str],
    *,
    environ: Mapping[str, str] | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run one command; returns its exit status (never raises for a failed call)."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    env = os.environ if environ is None else environ

    def fail(status: int, *lines: str) -> int:
        for line in lines:
            print(line, file=err)
        return status

    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            args = build_parser().parse_args(list(argv))
    except SystemExit as exit_:
        # argparse has printed the usage or the help already.
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    handler: Handler = args.handler
    try:
        settings = load_settings(args, env)
        shown = await _execute(handler, settings, args)
    except UsageError as exc:
        return fail(EXIT_USAGE, f"error: {exc}")
    except PydanticValidationError as exc:
        return fail(EXIT_USAGE, f"error: invalid request: {_request_problems(exc)}")
    except (ValueError, aiohttp.InvalidURL) as exc:
        return fail(EXIT_USAGE, f"error: {exc}")
    except ProblemError as exc:
        status = EXIT_UNAVAILABLE if exc.status >= 500 else EXIT_REFUSED
        return fail(status, *_problem_lines(exc))
    except ServiceUnreachable as exc:
        return fail(EXIT_UNAVAILABLE, f"error: unavailable: {exc}")
    except UnexpectedResponse as exc:
        return fail(EXIT_UNEXPECTED, f"error: unexpected answer: {exc}")
    if args.json:
        if shown.data is not None:
            print(to_json(shown.data), file=out)
    else:
        print(shown.text, file=out)
        if shown.note:
            print(shown.note, file=err)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return asyncio.run(run(sys.argv[1:] if argv is None else argv))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
