"""Canvas benchmarks: `python bench/canvas_bench.py [--sizes small,medium] [--large]`.

Prints one table of ratios measured side by side in one run, against the sandbox on loopback
(run in its own process). Rows:
  floor        our full sync / the same pages fetched by plain concurrent requests
  throttled    our full sync under Canvas's default throttle / the theoretical minimum
               (total request cost / outflow, or the unthrottled floor if larger)
  peers        sequential requests loop / ours and dlt rest_api / ours (higher = we are faster)
  incremental  a rerun with no changes, and after one advance() step, / the full run
  memory       peak RSS of a large run / a small run (with --large)
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import contenders  # noqa: E402
from bench.sandbox_process import SandboxProcess  # noqa: E402

# a bucket so deep that the sandbox never signals pressure: measures raw speed, not pacing
UNTHROTTLED = {"hwm": 1e12, "maximum": 2e12}


def in_child(fn: Any, *args: Any) -> dict[str, Any]:
    """Run one contender in a fresh process (own memory peak, no shared interpreter state)."""
    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def unthrottled(size: str) -> SandboxProcess:
    from sandbox.canvas import ThrottleSettings

    return SandboxProcess("canvas", size=size, throttle=ThrottleSettings(**UNTHROTTLED))


def bench_size(size: str, work: Path, rows: list[list[str]]) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with unthrottled(size) as sb:
        floor = in_child(contenders.run_floor, sb.base_url, sb.token)
        ours = in_child(contenders.run_ours, sb.base_url, sb.token, str(work / f"{size}-full"))
        rows.append(row(size, "full sync / floor", ours["seconds"], floor["seconds"], f"{ours['requests']} req, {ours['rows']} rows"))
        seq = in_child(contenders.run_sequential_peer, sb.base_url, sb.token, str(work / f"{size}-seq"))
        rows.append(row(size, "sequential peer / ours", seq["seconds"], ours["seconds"], "higher is better for us"))
        rest = in_child(contenders.run_rest_api_peer, sb.base_url, sb.token, str(work / f"{size}-rest"))
        rows.append(row(size, "dlt rest_api / ours", rest["seconds"], ours["seconds"], f"{rest['rows']} rows"))
        again = in_child(contenders.run_ours, sb.base_url, sb.token, str(work / f"{size}-full"))
        rows.append(row(size, "rerun, no change / full", again["seconds"], ours["seconds"], f"{again['rows']} rows loaded"))
        changes = sb.call("advance")
        inc = in_child(contenders.run_ours, sb.base_url, sb.token, str(work / f"{size}-full"))
        rows.append(
            row(
                size,
                "rerun, 1 step changed / full",
                inc["seconds"],
                ours["seconds"],
                f"{inc['rows']} rows loaded, {changes['changed_submissions']} submissions changed",
            )
        )
        results["ours"] = ours
    with SandboxProcess("canvas", size=size, throttle="default") as sb:
        throttled = in_child(contenders.run_ours, sb.base_url, sb.token, str(work / f"{size}-throttled"))
        stats = sb.call("stats")
        minimum = max(stats["total_cost"] / 10.0, floor["seconds"])
        rows.append(
            row(
                size,
                "throttled / minimum",
                throttled["seconds"],
                minimum,
                f"cost {stats['total_cost']:.0f}, {throttled['throttled']} throttled of {throttled['requests']}, "
                f"{throttled['failed']} failed",
            )
        )
    return results


def row(size: str, measure: str, ours: float, reference: float, detail: str) -> list[str]:
    ratio = ours / reference if reference else float("nan")
    return [size, measure, f"{ours:.2f}", f"{reference:.2f}", f"{ratio:.2f}", detail]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="small,medium", help="comma-separated sandbox sizes")
    parser.add_argument("--large", action="store_true", help="also run large and report memory large/small")
    args = parser.parse_args()
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    sizes = [s for s in args.sizes.split(",") if s]
    if args.large and "large" not in sizes:
        sizes.append("large")
    rows: list[list[str]] = []
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="lms-bench-") as tmp:
        for size in sizes:
            results[size] = bench_size(size, Path(tmp), rows)
    if "small" in results and "large" in results:
        small, large = results["small"]["ours"]["rss_mb"], results["large"]["ours"]["rss_mb"]
        rows.append(["large/small", "peak RSS", f"{large:.0f} MB", f"{small:.0f} MB", f"{large / small:.2f}", ""])
    header = ["size", "measure", "a (s)", "b (s)", "a/b", "detail"]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    for r in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
