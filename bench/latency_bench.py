"""The realistic-latency row: a sandbox 100 ms away, under its LMS's default throttle, against the least time possible.

A hosted LMS answers in tens to hundreds of milliseconds, not the sub-millisecond of loopback, so at
the same concurrency the run is bound by round trips, and by the throttle where it bites. Ours is
our full sync against the sandbox with `LATENCY_SECONDS` of server-side delay per request and the
LMS's default throttle. The minimum is the larger of:

- the throttle minimum, computed as for the "throttled / minimum" row (canvas_bench.py,
  brightspace_bench.py) from this run's own requests: Canvas (total cost - high-water mark) /
  outflow, Brightspace one window per `credits_per_window` after the first;
- the latency floor: the floor contender (plain `requests`, same concurrency, same pages) against
  the same sandbox with the same delay, unthrottled (plain requests have no pacing, and a refused
  request would end it).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

from bench import brightspace_contenders, contenders
from bench.runner import in_child
from bench.sandbox_process import SandboxProcess
from bench.table import ratio_row

log = logging.getLogger(__name__)

LATENCY_SECONDS = 0.1
MEASURE = f"latency {LATENCY_SECONDS * 1000:.0f} ms, default throttle / minimum"
# sizes measured unless skipped: at large the Canvas throttle alone takes over 20 minutes
SIZES = ("small", "medium")


def bench_latency(lms: str, size: str, work: Path, rows: list[list[str]]) -> dict[str, Any]:
    """Measure the latency row for one LMS and size and append it; returns the raw results.

    Args:
        lms: "canvas" or "brightspace".
        size: the sandbox size.
        work: a scratch folder.
        rows: the table to append to.
    """
    if lms == "canvas":
        return _canvas(size, work, rows)
    if lms == "brightspace":
        return _brightspace(size, work, rows)
    raise ValueError(f"unknown LMS {lms!r}")


def _canvas(size: str, work: Path, rows: list[list[str]]) -> dict[str, Any]:
    from bench.canvas_bench import UNTHROTTLED
    from sandbox.canvas import ThrottleSettings

    log.info("canvas %s: floor at %.0f ms latency", size, LATENCY_SECONDS * 1000)
    throttle = ThrottleSettings(**UNTHROTTLED)
    with SandboxProcess("canvas", size=size, throttle=throttle, latency=LATENCY_SECONDS) as sb:
        floor = in_child(contenders.run_floor, sb.base_url, sb.token)
    log.info("canvas %s: ours at %.0f ms latency, default throttle", size, LATENCY_SECONDS * 1000)
    with SandboxProcess("canvas", size=size, throttle="default", latency=LATENCY_SECONDS) as sb:
        ours = in_child(contenders.run_ours, sb.base_url, sb.token, str(work / f"canvas-{size}-latency"))
        stats = sb.call("stats")
    settings = ThrottleSettings()
    cost = stats["total_cost"]
    bucket = (cost - settings.hwm) / settings.outflow
    minimum = max(bucket, floor["seconds"])
    rows.append(
        ratio_row(
            "canvas",
            size,
            MEASURE,
            ours["seconds"],
            minimum,
            f"latency floor {floor['seconds']:.1f} s ({floor['requests']} req), throttle minimum "
            f"{max(bucket, 0):.1f} s (cost {cost:.0f}); {ours['throttled']} throttled of "
            f"{ours['requests']} req, {ours['failed']} failed; extract {ours['extract_seconds']:.1f} s",
        )
    )
    return {"floor": floor, "ours": ours, "minimum": minimum}


def _brightspace(size: str, work: Path, rows: list[list[str]]) -> dict[str, Any]:
    from bench.brightspace_bench import UNLIMITED_ROUTES, _fresh
    from sandbox.brightspace.throttle import ThrottleSettings

    log.info("brightspace %s: floor at %.0f ms latency", size, LATENCY_SECONDS * 1000)
    deep = ThrottleSettings(credits_per_window=10**15)
    with SandboxProcess("brightspace", size=size, throttle=deep, latency=LATENCY_SECONDS) as sb:
        floor = in_child(brightspace_contenders.run_floor, _fresh(sb))
    log.info("brightspace %s: ours at %.0f ms latency, default throttle", size, LATENCY_SECONDS * 1000)
    with SandboxProcess("brightspace", size=size, throttle="default", latency=LATENCY_SECONDS) as sb:
        ours = in_child(
            brightspace_contenders.run_ours, _fresh(sb), str(work / f"brightspace-{size}-latency")
        )
        stats = sb.call("stats")
    limits = ThrottleSettings()
    charged = (
        stats["requests"] - stats["throttled"] - sum(stats["by_route"].get(r, 0) for r in UNLIMITED_ROUTES)
    )
    credits = charged * limits.cost_per_call
    windows = math.ceil(credits / limits.credits_per_window)
    window_minimum = (windows - 1) * limits.window_seconds
    minimum = max(window_minimum, floor["seconds"])
    rows.append(
        ratio_row(
            "brightspace",
            size,
            MEASURE,
            ours["seconds"],
            minimum,
            f"latency floor {floor['seconds']:.1f} s ({floor['requests']} req), throttle minimum "
            f"{window_minimum:.1f} s ({credits} credits, {windows} window(s)); "
            f"{stats['throttled']} throttled of {stats['requests']} req, {ours['failed']} failed; "
            f"extract {ours['extract_seconds']:.1f} s",
        )
    )
    return {"floor": floor, "ours": ours, "minimum": minimum}


__all__ = ["LATENCY_SECONDS", "MEASURE", "SIZES", "bench_latency"]
