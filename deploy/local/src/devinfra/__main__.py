"""Command line: `python -m devinfra up|down|status|env`.

Owns argument parsing and output only; what runs and where lives in `devinfra.stack`. `up`
says first, as comment lines, which MongoDB and RabbitMQ it uses, whether it started them, and
the database and queue names this checkout uses there.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from devinfra import stack
from devinfra.process import StartupError


def _up(state: Path, with_services: bool) -> int:
    provided = stack.up(state, with_services=with_services)
    for line in stack.provision_lines(provided):
        print(f"# {line}")  # a comment, so the output stays readable as an env file
    for key, value in stack.shareable(provided).items():
        print(f"{key}={value}")
    return 0


def _down(state: Path, with_services: bool) -> int:
    stopped = stack.down(state)
    print(
        f"stopped: {', '.join(stopped)}" if stopped else "nothing started by devinfra was running"
    )
    return 0


def _status(state: Path, with_services: bool) -> int:
    print(f"state dir: {state}")
    for name, description in stack.status(state).items():
        print(f"{name}: {description}")
    return 0


def _env(state: Path, with_services: bool) -> int:
    content = stack.read_env_file(state)
    if content is None:
        print(f"no {state / stack.ENV_FILE}; run `python -m devinfra up` first", file=sys.stderr)
        return 1
    print(content, end="")
    return 0


COMMANDS = {"up": _up, "down": _down, "status": _status, "env": _env}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devinfra", description="Local infrastructure without Docker."
    )
    parser.add_argument("command", choices=sorted(COMMANDS))
    parser.add_argument(
        "--services", action="store_true", help="with `up`: also start the three services"
    )
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](stack.state_dir(), args.services)
    except StartupError as exc:
        print(f"devinfra: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
