"""`python -m bench` (what `make bench` runs): every benchmark, one after the other.

`python -m bench NAME [NAME ...]` runs only those (e.g. `python -m bench outbox runs`). A
benchmark that fails is reported and the others still run; the exit status is then 1.
"""

from __future__ import annotations

import asyncio
import sys
import traceback
from types import ModuleType

from bench import flows, memory, outbox, runs
from bench.auth import run as auth

BENCHMARKS: dict[str, ModuleType] = {
    "outbox": outbox,
    "auth": auth,
    "flows": flows,
    "runs": runs,
    "memory": memory,
}


def main(names: list[str]) -> int:
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
        return 2
    failed = []
    for name in names or list(BENCHMARKS):
        module = BENCHMARKS[name]
        print(f"== {module.__name__}", flush=True)
        try:
            asyncio.run(module.main())
        except Exception:
            traceback.print_exc()
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
