"""Slow clients against a running gateway: do other clients still get answers?

Opens ``--connections`` connections that trickle their request (half send the
headers a byte at a time, half send complete headers and then a body a byte at
a time), keeps them open for ``--seconds``, and meanwhile probes ``GET /healthz``
and ``POST /pram/rice`` (a real job submission) once a second from a fresh
connection each. Prints every probe's latency and a summary::

    python benchmarks/slow_clients.py http://127.0.0.1:7777 --connections 200 --seconds 20

``tests/web/test_front.py`` runs :func:`run` against ``qed up``.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

RICE = {"inputs": {"mai": 0.056, "area": 10000, "dsed": 0.01, "pb": 1300, "dw": 0.1,
                   "osed": 0.509, "kd": 757}}


@dataclass
class Report:
    probes: list[tuple[str, float, int]] = field(default_factory=list)  # (what, seconds, status)
    slow_open: int = 0          # slow connections the server still held at the end
    slow_refused: int = 0       # slow connections refused or closed by the server

    def worst(self, what: str) -> float:
        return max((s for w, s, _ in self.probes if w == what), default=float("inf"))

    def summary(self) -> str:
        lines = []
        for what in ("healthz", "submit"):
            times = [s for w, s, _ in self.probes if w == what]
            codes = sorted({c for w, _, c in self.probes if w == what})
            if times:
                lines.append(f"{what}: {len(times)} probes, median {statistics.median(times) * 1000:.1f} ms, "
                             f"worst {max(times) * 1000:.1f} ms, statuses {codes}")
        lines.append(f"slow connections still open at the end: {self.slow_open}; "
                     f"closed by the server: {self.slow_refused}")
        return "\n".join(lines)


async def _slow_one(host: str, port: int, kind: str, until: float, report: Report, pause: float) -> None:
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError:
        report.slow_refused += 1
        return
    if kind == "headers":
        head = (f"GET /healthz HTTP/1.1\r\nHost: {host}\r\nUser-Agent: slow\r\n"
                + "".join(f"X-Slow-{i}: {'a' * 20}\r\n" for i in range(200)))
        pieces = [c.encode() for c in head]
    else:
        body_len = 1_000_000
        head = (f"POST /pram/rice HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {body_len}\r\n\r\n")
        pieces = [head.encode()] + [b" "] * body_len
    try:
        for piece in pieces:
            if time.monotonic() >= until:
                break
            writer.write(piece)
            await writer.drain()
            if reader.at_eof():
                report.slow_refused += 1
                return
            await asyncio.sleep(pause)
        else:
            return
        report.slow_open += 0 if reader.at_eof() else 1
    except (ConnectionError, OSError):
        report.slow_refused += 1
    finally:
        writer.close()


def _probe(base: str, report: Report, stop: threading.Event, timeout: float, headers: dict[str, str]) -> None:
    while not stop.is_set():
        for what, request in (
                ("healthz", urllib.request.Request(base + "/healthz", headers=headers)),
                ("submit", urllib.request.Request(base + "/pram/rice", data=json.dumps(RICE).encode(),
                                                  headers={"Content-Type": "application/json", **headers}))):
            start = time.monotonic()
            try:
                with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 - our URL
                    answer.read()
                    code = answer.status
            except urllib.error.HTTPError as exc:
                code = exc.code
            except OSError:
                code = 0  # no answer within the timeout
            report.probes.append((what, time.monotonic() - start, code))
        stop.wait(1.0)


async def _all_slow(host: str, port: int, connections: int, seconds: float, report: Report) -> None:
    until = time.monotonic() + seconds
    tasks = [_slow_one(host, port, "headers" if i % 2 == 0 else "body", until, report, pause=0.5)
             for i in range(connections)]
    await asyncio.gather(*tasks)


def run(base: str, connections: int = 200, seconds: float = 20.0, probe_timeout: float = 5.0,
        headers: dict[str, str] | None = None) -> Report:
    """Hold ``connections`` slow connections for ``seconds`` while probing; the report."""
    parts = urlsplit(base)
    report = Report()
    stop = threading.Event()
    prober = threading.Thread(target=_probe, args=(base, report, stop, probe_timeout, headers or {}),
                              daemon=True)
    prober.start()
    try:
        asyncio.run(_all_slow(parts.hostname or "127.0.0.1", parts.port or 80, connections, seconds, report))
    finally:
        stop.set()
        prober.join(probe_timeout + 2)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base", help="the gateway's URL, e.g. http://127.0.0.1:7777")
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--key", help="an API key, when keys are on")
    args = parser.parse_args()
    headers = {"X-API-Key": args.key} if args.key else {}
    report = run(args.base.rstrip("/"), args.connections, args.seconds, headers=headers)
    for what, seconds, code in report.probes:
        print(f"{what:8} {seconds * 1000:8.1f} ms  {code}")
    print(report.summary())


if __name__ == "__main__":
    main()
