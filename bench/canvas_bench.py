"""Canvas rows of the benchmark: floor, peers, incremental reruns and the throttled run, for one size."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from bench import contenders
from bench.runner import in_child
from bench.sandbox_process import SandboxProcess
from bench.table import ratio_row

log = logging.getLogger(__name__)

# a bucket so deep that the sandbox never signals pressure: measures raw speed, not pacing
UNTHROTTLED = {"hwm": 1e12, "maximum": 2e12}
CHANGED_FRACTION = 0.01  # share of submissions changed before the second incremental rerun


def bench_canvas(size: str, work: Path, rows: list[list[str]], skip: set[str]) -> dict[str, Any]:
    """Measure one Canvas size and append its rows; returns the raw results by contender.

    Args:
        size: the sandbox size.
        work: a scratch folder.
        rows: the table to append to.
        skip: measures to leave out: "peers", "incremental", "throttled".
    """
    from sandbox.canvas import ThrottleSettings

    results: dict[str, Any] = {}
    log.info("canvas %s: building the sandbox", size)
    with SandboxProcess("canvas", size=size, throttle=ThrottleSettings(**UNTHROTTLED)) as sb:
        log.info("canvas %s: floor", size)
        floor = in_child(contenders.run_floor, sb.base_url, sb.token)
        log.info("canvas %s: ours, full sync", size)
        full_dir = str(work / f"canvas-{size}-full")
        ours = in_child(contenders.run_ours, sb.base_url, sb.token, full_dir)
        results.update(floor=floor, ours=ours)
        rows.append(
            ratio_row(
                "canvas",
                size,
                "full sync / floor",
                ours["seconds"],
                floor["seconds"],
                f"{ours['requests']} vs {floor['requests']} req, {ours['rows']} rows, "
                f"extract {ours['extract_seconds']:.1f} s, normalize {ours['normalize_seconds']:.1f} s, "
                f"load {ours['load_seconds']:.1f} s",
            )
        )
        if "peers" not in skip:
            log.info("canvas %s: sequential peer", size)
            seq = in_child(
                contenders.run_sequential_peer, sb.base_url, sb.token, str(work / f"canvas-{size}-seq")
            )
            rows.append(
                ratio_row(
                    "canvas",
                    size,
                    "sequential peer / ours",
                    seq["seconds"],
                    ours["seconds"],
                    "higher is better",
                )
            )
            log.info("canvas %s: dlt rest_api peer", size)
            rest = in_child(
                contenders.run_rest_api_peer, sb.base_url, sb.token, str(work / f"canvas-{size}-rest")
            )
            rows.append(
                ratio_row(
                    "canvas",
                    size,
                    "dlt rest_api / ours",
                    rest["seconds"],
                    ours["seconds"],
                    f"higher is better, {rest['rows']} rows",
                )
            )
        if "incremental" not in skip:
            log.info("canvas %s: rerun with no change", size)
            again = in_child(contenders.run_ours, sb.base_url, sb.token, full_dir)
            rows.append(
                ratio_row(
                    "canvas",
                    size,
                    "rerun, no change / full",
                    again["seconds"],
                    ours["seconds"],
                    f"{again['rows']} rows loaded, {again['requests']} req",
                )
            )
            total = sb.call("truth")["submissions"]
            changes = sb.call("change_submissions", CHANGED_FRACTION)
            log.info("canvas %s: rerun after %s submissions changed", size, changes["changed_submissions"])
            inc = in_child(contenders.run_ours, sb.base_url, sb.token, full_dir)
            rows.append(
                ratio_row(
                    "canvas",
                    size,
                    f"rerun, {CHANGED_FRACTION:.0%} submissions changed / full",
                    inc["seconds"],
                    ours["seconds"],
                    f"{inc['rows']} rows loaded, {changes['changed_submissions']} of {total} submissions changed",
                )
            )
    if "throttled" not in skip:
        log.info("canvas %s: ours under the default throttle", size)
        with SandboxProcess("canvas", size=size, throttle="default") as sb:
            throttled = in_child(
                contenders.run_ours, sb.base_url, sb.token, str(work / f"canvas-{size}-throttled")
            )
            stats = sb.call("stats")
        settings = ThrottleSettings()
        cost = stats["total_cost"]
        # the bucket starts empty and only throttles at the high-water mark, so the first `hwm`
        # units pass unpaced; below that the best time is the unthrottled floor's
        minimum = max((cost - settings.hwm) / settings.outflow, floor["seconds"])
        rows.append(
            ratio_row(
                "canvas",
                size,
                "throttled / minimum",
                throttled["seconds"],
                minimum,
                f"cost {cost:.0f}, (cost-{settings.hwm:.0f})/{settings.outflow:.0f}/s; "
                f"{throttled['throttled']} throttled of {throttled['requests']} req, {throttled['failed']} failed; "
                f"cost/outflow {cost / settings.outflow:.1f} s",
            )
        )
    return results
