"""Benchmark: status poll latency at a fixed open-loop rate under gunicorn, SQLite and PostgreSQL.

Sends only to its own gunicorn on 127.0.0.1, a bounded number of requests; never judged from one
run, and never without the anchor measured by the same server in the same run.
"""

from __future__ import annotations

import asyncio
import math
import os
import statistics
import time
from dataclasses import dataclass

from .serve import HOST, WORKERS, Site, serve

RATE = 200  # requests per second, open loop
LOW_RATE = 20  # the status poll again at a rate 2 workers sustain here
SECONDS = 15
WARMUP_SECONDS = 3
TIMEOUT_S = 10.0  # a request not answered by then counts as an error
RUNS = 2
#: Status poll p99 before issue 7 (ms), by database.
BEFORE_P99_MS = {"sqlite": 24.0, "postgresql": 92.0}
CAPACITY_SECONDS = 5
CAPACITY_CONNECTIONS = 2 * WORKERS
ANCHOR_PATH = "/"  # the example site's root: a RedirectView through the whole middleware stack


@dataclass
class Phase:
    """One stretch of requests at the fixed rate: latencies from each scheduled send time."""

    latencies_ms: list[float]
    errors: int
    sent: int
    max_send_lag_ms: float  # how late the generator itself was to send (should stay small)

    def quantile(self, q: float) -> float:
        """Over every request sent: an error counts as slower than any answer (infinite)."""
        values = sorted(self.latencies_ms) + [math.inf] * self.errors
        if not values:
            return math.nan
        return values[min(len(values) - 1, math.ceil(q * len(values)) - 1)]

    @property
    def p50(self) -> float:
        return self.quantile(0.50)

    @property
    def p99(self) -> float:
        return self.quantile(0.99)

    @property
    def max(self) -> float:
        return math.inf if self.errors else max(self.latencies_ms, default=math.nan)


@dataclass
class PollRun:
    database: str
    run: int
    anchor: Phase
    status: Phase
    anchor_capacity: float  # answers per second with CAPACITY_CONNECTIONS in a closed loop
    status_capacity: float
    anchor_cpu_ms: float  # the workers' CPU time per answer in the closed loop
    status_cpu_ms: float
    status_low: Phase  # the status poll at LOW_RATE, under the capacity
    #: The poll a client makes while it waits: running transcripts only, at the rate.
    running: Phase
    running_capacity: float
    running_cpu_ms: float


async def _request(port: int, path: str, headers: str, expect: int) -> bool:
    """One GET on a new connection (gunicorn's sync workers close after each answer)."""
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\n{headers}Connection: close\r\n\r\n".encode()
        )
        await writer.drain()
        answer = await reader.read()  # until the server closes: the whole response
    finally:
        writer.close()
    status_line = answer.split(b"\r\n", 1)[0].split()
    return len(status_line) >= 2 and status_line[1] == str(expect).encode()


async def _phase(
    port: int, paths: list[str], token: str, expect: int, seconds: float, rate: float
) -> Phase:
    """Sends at fixed times (open loop), whatever the answers do; latency from the schedule."""
    headers = f"Authorization: Token {token}\r\nAccept: application/json\r\n"
    total = round(seconds * rate)
    latencies: list[float] = []
    errors = 0
    lag = 0.0

    async def one(i: int, scheduled: float) -> None:
        nonlocal errors
        try:
            ok = await asyncio.wait_for(
                _request(port, paths[i % len(paths)], headers, expect), TIMEOUT_S
            )
        except (OSError, TimeoutError):
            ok = False
        if ok:
            latencies.append((time.perf_counter() - scheduled) * 1000)
        else:
            errors += 1

    start = time.perf_counter() + 0.05
    tasks = []
    for i in range(total):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        lag = max(lag, time.perf_counter() - scheduled)
        tasks.append(asyncio.create_task(one(i, scheduled)))
    await asyncio.gather(*tasks)
    return Phase(latencies, errors, total, lag * 1000)


def _cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time of the processes so far, from /proc/<pid>/stat."""
    ticks = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return ticks / os.sysconf("SC_CLK_TCK")


async def _capacity(site: Site, paths: list[str], expect: int) -> tuple[float, float]:
    """Answers per second with a few connections each sending as soon as its last is answered,
    and the workers' CPU time per answer (ms): a figure the other load on the machine hardly moves.
    """
    port, token, workers = site.port, site.token, site.workers()
    headers = f"Authorization: Token {token}\r\nAccept: application/json\r\n"
    answered = 0
    deadline = time.perf_counter() + CAPACITY_SECONDS

    async def loop(k: int) -> None:
        nonlocal answered
        i = k
        while time.perf_counter() < deadline:
            try:
                ok = await asyncio.wait_for(
                    _request(port, paths[i % len(paths)], headers, expect), TIMEOUT_S
                )
            except (OSError, TimeoutError):
                ok = False
            answered += ok
            i += CAPACITY_CONNECTIONS

    start, cpu = time.perf_counter(), _cpu_seconds(workers)
    await asyncio.gather(*(loop(k) for k in range(CAPACITY_CONNECTIONS)))
    cpu = _cpu_seconds(workers) - cpu
    return answered / (time.perf_counter() - start), 1000 * cpu / max(answered, 1)


def load(site: Site, seconds: float = SECONDS, rate: float = RATE) -> PollRun:
    """Warm-up, each one's closed-loop capacity, the status poll at LOW_RATE, then the anchor and
    the status poll at the rate: last, as a status poll over capacity leaves a queue behind it.
    """
    status_paths = [f"/api/transcripts/{pk}/" for pk in site.ids]
    running_paths = [f"/api/transcripts/{pk}/" for pk in site.running]

    async def run() -> PollRun:
        await _phase(site.port, [ANCHOR_PATH], site.token, 302, WARMUP_SECONDS, rate / 4)
        await _phase(site.port, status_paths, site.token, 200, WARMUP_SECONDS, rate / 4)
        anchor_capacity, anchor_cpu = await _capacity(site, [ANCHOR_PATH], 302)
        status_capacity, status_cpu = await _capacity(site, status_paths, 200)
        slow = await _phase(site.port, status_paths, site.token, 200, seconds, LOW_RATE)
        anchor = await _phase(site.port, [ANCHOR_PATH], site.token, 302, seconds, rate)
        status = await _phase(site.port, status_paths, site.token, 200, seconds, rate)
        await asyncio.sleep(TIMEOUT_S)  # what an over-capacity poll left queued drains first
        running_capacity, running_cpu = await _capacity(site, running_paths, 200)
        running = await _phase(site.port, running_paths, site.token, 200, seconds, rate)
        return PollRun(
            "",
            0,
            anchor,
            status,
            anchor_capacity,
            status_capacity,
            anchor_cpu,
            status_cpu,
            slow,
            running,
            running_capacity,
            running_cpu,
        )

    return asyncio.run(run())


def measure(runs: int = RUNS, seconds: float = SECONDS) -> list[PollRun]:
    """Each database in turn, alternating, each run on a fresh site and database."""
    out = []
    for run in range(1, runs + 1):
        for database in ("sqlite", "postgresql"):
            with serve(database) as site:
                figures = load(site, seconds)
            figures.database, figures.run = database, run
            out.append(figures)
    return out


def _fmt(ms: float) -> str:
    if math.isinf(ms):
        return f"> {TIMEOUT_S:.0f} s (error)"
    return f"{ms:.1f} ms" if ms < 100 else f"{ms:.0f} ms"


def report(runs: list[PollRun] | None = None) -> list[str]:
    """The markdown section for BENCHMARKS.md."""
    runs = measure() if runs is None else runs
    lines = [
        f"## Status poll at {RATE} requests/s under gunicorn",
        "",
        f"The example site under gunicorn ({WORKERS} sync workers, `DJANGO_DEBUG=0`) on "
        "127.0.0.1, on a fresh database: SQLite in a temporary folder (WAL, as the example's "
        "settings), or a PostgreSQL database created on 127.0.0.1:5432 and dropped afterwards "
        "(`CONN_MAX_AGE=60`, as the example's settings). A `manage.py shell` script makes one "
        f"user with an API token and 50 transcripts through the ORM: 25 running (12 chunks, "
        f"some saved) and 25 done (20 segments of 10 timed words). The load generator "
        "(`bench/poll.py`, Python asyncio, raw HTTP/1.1 on a new connection per request, as "
        f"the sync workers close each one) sends at fixed times, {RATE} requests/s for "
        f"{SECONDS} s (open loop, as wrk2; Debian's `wrk` is closed-loop and not installed), "
        "and times each request from its scheduled send to the last byte of the answer, so a "
        "stalled server counts its queue (no coordinated omission). The anchor is the site's "
        "`GET /` (a RedirectView through the whole middleware stack, no database), at the same "
        "rate on the same server just before the status poll "
        "(`GET /api/transcripts/<id>/`, round-robin over the 50, `Authorization: Token`); "
        f"{WARMUP_SECONDS} s of each at a quarter of the rate first, not counted. Errors: "
        f"any other status, a refused connection or no answer within {TIMEOUT_S:.0f} s. "
        "The machine has 2 cores shared with other engineers' test runs, and the generator "
        "runs on them too: compare the status poll with its anchor of the same row. "
        "Quantiles are over every request sent, an error counting as slower than any answer. "
        f"Before the two, each one's capacity: answers per second over {CAPACITY_SECONDS} s "
        f"with {CAPACITY_CONNECTIONS} connections each sending when its last was answered "
        "(closed loop): the rate the server can sustain here, and the workers' CPU time "
        "(`/proc/<pid>/stat`) per answer in it, which the other load on the machine hardly "
        "moves. "
        f"The status poll also runs alone at {LOW_RATE} requests/s first, for its latency when "
        "the server is not over capacity. Last, the poll a client makes while it waits for its "
        f"transcript: the 25 running ones only, at {RATE} requests/s, with its own capacity "
        "and CPU per answer (a done transcript's answer also carries its result: 20 segments "
        "and 200 timed words).",
        "",
        f"| database | run | anchor p50 / p99 / max | status p50 / p99 / max | status p99 "
        "before issue 7 | errors anchor, status | capacity anchor, status | CPU per answer "
        f"anchor, status | status at {LOW_RATE}/s p50 / p99 / max (errors) | running only at "
        f"{RATE}/s p50 / p99 / max (errors) | capacity, CPU per answer, running only | "
        "generator's worst lag |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in runs:
        a, s, lo, ru = r.anchor, r.status, r.status_low, r.running
        lag = max(p.max_send_lag_ms for p in (a, s, lo, ru))
        lines.append(
            f"| {r.database} | {r.run} | {_fmt(a.p50)} / {_fmt(a.p99)} / {_fmt(a.max)} | "
            f"{_fmt(s.p50)} / **{_fmt(s.p99)}** / {_fmt(s.max)} | "
            f"{BEFORE_P99_MS[r.database]:.0f} ms | {a.errors} of {a.sent}, {s.errors} of "
            f"{s.sent} | {r.anchor_capacity:.0f}/s, {r.status_capacity:.0f}/s | "
            f"{r.anchor_cpu_ms:.1f} ms, {r.status_cpu_ms:.1f} ms | {_fmt(lo.p50)} / "
            f"{_fmt(lo.p99)} / {_fmt(lo.max)} ({lo.errors}) | {_fmt(ru.p50)} / "
            f"**{_fmt(ru.p99)}** / {_fmt(ru.max)} ({ru.errors}) | "
            f"{r.running_capacity:.0f}/s, {r.running_cpu_ms:.1f} ms | "
            f"{_fmt(lag)} |"
        )
    cpu = statistics.median(r.status_cpu_ms for r in runs)
    cores = os.cpu_count() or 1
    lines += [
        "",
        f"The status poll costs {cpu:.0f} ms of worker CPU per answer (median of the rows), so "
        f"{RATE} requests/s ask for {RATE * cpu / 1000:.1f} cores' worth of CPU"
        + (
            f": more than this machine's {cores}, so at {RATE}/s the queue grows for the whole "
            "run and the quantiles measure the queue, not the view."
            if RATE * cpu / 1000 > cores
            else f", within this machine's {cores}."
        ),
        "",
    ]
    return lines


if __name__ == "__main__":
    print("\n".join(report()))
