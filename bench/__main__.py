"""`python -m bench` (what `make bench` runs): every benchmark, one after the other."""

from __future__ import annotations

import asyncio
import importlib
import sys

BENCHMARKS = ("bench.outbox_latency", "bench.auth.run")


def main() -> int:
    for name in BENCHMARKS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not name.startswith(exc.name):
                raise
            print(f"{name}: not present", file=sys.stderr)
            continue
        print(f"== {name}")
        asyncio.run(module.main())
    return 0


if __name__ == "__main__":
    sys.exit(main())
