"""`python -m bench` (what `make bench` runs): every benchmark, one after the other."""

from __future__ import annotations

import asyncio
import sys

from bench import outbox_latency
from bench.auth import run as auth

BENCHMARKS = (outbox_latency, auth)


def main() -> int:
    for module in BENCHMARKS:
        print(f"== {module.__name__}")
        asyncio.run(module.main())
    return 0


if __name__ == "__main__":
    sys.exit(main())
