"""`python -m bench.auth`: run the auth-service benchmarks."""

from __future__ import annotations

import asyncio

from bench.auth.run import main

if __name__ == "__main__":
    asyncio.run(main())
