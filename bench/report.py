"""How every benchmark measures and reports: figures beside their baseline from the same run.

`load` drives concurrent callers for a while and returns throughput and latencies; `sequential`
times one call after another, `paired` times a subject and its baseline call by call in turn (so
a noisy neighbour slows both alike), `concurrently` times a fixed number of calls spread over a
fixed number of callers. `Figure` is one measured figure; `compare` prints it beside its baseline
with the ratio (and the goal, and whether it was met, when there is one) and also prints one
machine-readable JSON line per benchmark (`BENCH {...}`), so `make bench | grep ^BENCH` is the
data.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp

JSON_PREFIX = "BENCH "


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass(frozen=True)
class Latencies:
    values: list[float]
    failures: int = 0
    per_second: float | None = None

    @property
    def p50(self) -> float:
        return statistics.median(self.values)

    @property
    def p99(self) -> float:
        return percentile(self.values, 0.99)


async def load(
    call: Callable[[aiohttp.ClientSession], Awaitable[int]],
    *,
    seconds: float,
    concurrency: int,
    warmup_seconds: float = 1.0,
) -> Latencies:
    """`concurrency` callers for `seconds`; a call that answers other than 200 is a failure."""
    latencies: list[float] = []
    failures = 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        deadline = time.perf_counter() + warmup_seconds
        while time.perf_counter() < deadline:
            await call(session)

        async def caller() -> None:
            nonlocal failures
            while time.perf_counter() < stop:
                started = time.perf_counter()
                status = await call(session)
                latencies.append((time.perf_counter() - started) * 1000)
                failures += status != 200

        begun = time.perf_counter()
        stop = begun + seconds
        await asyncio.gather(*(caller() for _ in range(concurrency)))
        elapsed = time.perf_counter() - begun
    return Latencies(latencies, failures, len(latencies) / elapsed)


async def sequential(call: Callable[[], Awaitable[None]], count: int) -> Latencies:
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        await call()
        latencies.append((time.perf_counter() - started) * 1000)
    return Latencies(latencies)


async def paired(
    subject: Callable[[], Awaitable[None]],
    baseline: Callable[[], Awaitable[None]],
    count: int,
) -> tuple[Latencies, Latencies]:
    """`count` calls of each, alternating baseline then subject; (subject, baseline)."""
    timed: tuple[list[float], list[float]] = ([], [])
    for _ in range(count):
        for call, latencies in ((baseline, timed[1]), (subject, timed[0])):
            started = time.perf_counter()
            await call()
            latencies.append((time.perf_counter() - started) * 1000)
    return Latencies(timed[0]), Latencies(timed[1])


async def concurrently(
    call: Callable[[int], Awaitable[None]], count: int, concurrency: int
) -> float:
    """Calls `call(0)` .. `call(count - 1)` over `concurrency` callers; the seconds it took."""
    indices = iter(range(count))

    async def caller() -> None:
        for index in indices:
            await call(index)

    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(concurrency)))
    return time.perf_counter() - started


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    baseline: float
    unit: str
    goal: str | None = None
    met: bool | None = None

    @property
    def ratio(self) -> float:
        return self.value / self.baseline if self.baseline else float("inf")


def compare(benchmark: str, subject: str, baseline: str, figures: list[Figure]) -> None:
    print(f"{benchmark}: {subject} vs {baseline}")
    width = max([16, *(len(f.name) for f in figures)])
    for figure in figures:
        print(
            f"  {figure.name:<{width}} {figure.value:10.2f} {figure.unit:<6} beside "
            f"{figure.baseline:10.2f} {figure.unit:<6} ratio {figure.ratio:5.2f}x{_goal(figure)}"
        )
    line = {
        "benchmark": benchmark,
        "subject": subject,
        "baseline": baseline,
        "figures": {
            f.name: {
                "value": round(f.value, 3),
                "baseline": round(f.baseline, 3),
                "ratio": round(f.ratio, 3),
                "unit": f.unit,
                **({"goal": f.goal} if f.goal else {}),
                **({"met": f.met} if f.met is not None else {}),
            }
            for f in figures
        },
    }
    print(JSON_PREFIX + json.dumps(line, sort_keys=True), flush=True)


def _goal(figure: Figure) -> str:
    if not figure.goal:
        return ""
    verdict = {True: " (met)", False: " (MISSED)", None: ""}[figure.met]
    return f"   goal {figure.goal}{verdict}"


def latency_figures(
    subject: Latencies, baseline: Latencies, goal: str | None = None
) -> list[Figure]:
    figures = []
    if subject.per_second is not None and baseline.per_second is not None:
        figures.append(Figure("throughput", subject.per_second, baseline.per_second, "req/s", goal))
    figures += [
        Figure("p50", subject.p50, baseline.p50, "ms"),
        Figure("p99", subject.p99, baseline.p99, "ms"),
    ]
    return figures
