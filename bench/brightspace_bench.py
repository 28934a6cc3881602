"""Brightspace rows of the benchmark: full sync against the floor, and the throttled run, for one size."""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

from bench import brightspace_contenders as contenders
from bench.runner import in_child
from bench.sandbox_process import SandboxProcess
from bench.table import ratio_row

log = logging.getLogger(__name__)

UNLIMITED_ROUTES = ("token", "versions", "product_versions")  # no credits spent (sandbox app.py)


def _fresh(sb: SandboxProcess) -> dict[str, Any]:
    """Connection details with a refresh token no client has used yet (they are single use)."""
    return {**sb.info, "refresh_token": sb.call("issue_refresh_token")}


def bench_brightspace(size: str, work: Path, rows: list[list[str]], skip: set[str]) -> dict[str, Any]:
    """Measure one Brightspace size and append its rows; returns the raw results by contender.

    Args:
        size: the sandbox size.
        work: a scratch folder.
        rows: the table to append to.
        skip: measures to leave out ("throttled").
    """
    log.info("brightspace %s: building the sandbox", size)
    from sandbox.brightspace.throttle import ThrottleSettings

    # "off" still counts credits down in the headers, so our governor would wait for the window;
    # a bucket this deep never runs low: raw speed, not pacing
    with SandboxProcess("brightspace", size=size, throttle=ThrottleSettings(credits_per_window=10**15)) as sb:
        log.info("brightspace %s: floor", size)
        floor = in_child(contenders.run_floor, _fresh(sb))
        log.info("brightspace %s: ours, full sync", size)
        ours = in_child(contenders.run_ours, _fresh(sb), str(work / f"brightspace-{size}-full"))
    rows.append(
        ratio_row(
            "brightspace",
            size,
            "full sync / floor",
            ours["seconds"],
            floor["seconds"],
            f"{ours['requests']} vs {floor['requests']} req, {ours['rows']} rows, "
            f"extract {ours['extract_seconds']:.1f} s, normalize {ours['normalize_seconds']:.1f} s, "
            f"load {ours['load_seconds']:.1f} s",
        )
    )
    results: dict[str, Any] = {"floor": floor, "ours": ours}
    if "throttled" in skip:
        return results
    log.info("brightspace %s: ours under the default credit window", size)
    with SandboxProcess("brightspace", size=size, throttle="default") as sb:
        throttled = in_child(contenders.run_ours, _fresh(sb), str(work / f"brightspace-{size}-throttled"))
        stats = sb.call("stats")
    limits = ThrottleSettings()
    charged = (
        stats["requests"] - stats["throttled"] - sum(stats["by_route"].get(r, 0) for r in UNLIMITED_ROUTES)
    )
    credits = charged * limits.cost_per_call
    # the window starts full; each further window's credits come `window_seconds` later
    windows = math.ceil(credits / limits.credits_per_window)
    minimum = max((windows - 1) * limits.window_seconds, floor["seconds"])
    rows.append(
        ratio_row(
            "brightspace",
            size,
            "throttled / minimum",
            throttled["seconds"],
            minimum,
            f"{credits} credits in {windows} window(s) of {limits.credits_per_window}/{limits.window_seconds:.0f}s; "
            f"{stats['throttled']} throttled of {stats['requests']} req, {throttled['failed']} failed",
        )
    )
    results["throttled"] = throttled
    return results
