"""Benchmarks: `python -m bench [--sizes small,medium] [--lms canvas,brightspace] [--skip peers,...]`.

Prints one table of ratios measured side by side in one run, against the sandboxes on loopback
(each in its own process; every contender in a fresh process). Rows per LMS and size:
  full sync / floor        our full sync (extract, normalize, load into DuckDB) over the same pages
                           fetched by plain concurrent requests
  sequential peer / ours   a requests loop in the seed scripts' style (Canvas; higher = we are faster)
  dlt rest_api / ours      dlt's declarative rest_api source on the same endpoints (Canvas)
  rerun, ... / full        a rerun with no changes, and after 1% of submissions changed (Canvas)
  throttled / minimum      our full sync under the LMS's default throttle over the theoretical
                           minimum (cost over outflow past the free headroom, or the floor)
  peak RSS medium / small  our pipeline process's peak memory at medium and at large over small
  peak RSS large / small   (with small and that size in --sizes)
  snapshot / floor         Canvas Data 2 (--lms cd2): our snapshot into DuckDB over downloading and
                           decompressing the same objects; also a no-change rerun / full (the
                           median of three reruns), and
                           `dap initdb`+`syncdb` / ours into the same Postgres (skip name `dap`)
  latency 100 ms, ...      our full sync with 100 ms per request and the default throttle over the
                           larger of the throttle minimum and the floor at that latency (small and
                           medium; `latency` in --skip leaves it out)
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.brightspace_bench import bench_brightspace
from bench.canvas_bench import bench_canvas
from bench.cd2_bench import bench_cd2
from bench.latency_bench import SIZES as LATENCY_SIZES
from bench.latency_bench import bench_latency
from bench.table import ratio_row, render

MEASURES = ("peers", "incremental", "throttled", "latency", "dap")
BENCHES = {"canvas": bench_canvas, "brightspace": bench_brightspace, "cd2": bench_cd2}
# the REST LMSs get the latency row (Canvas Data 2 has no per-request pacing to measure)
LATENCY_LMS = ("canvas", "brightspace")


def _machine() -> str:
    mem = ""
    if hasattr(os, "sysconf") and "SC_PHYS_PAGES" in os.sysconf_names:
        mem = f", {os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') / 2**30:.0f} GiB"
    return f"{platform.machine()}, {os.cpu_count()} cores{mem}, Python {platform.python_version()}"


def peak_rss_rows(results: dict[tuple[str, str], dict[str, Any]]) -> list[list[str]]:
    """Peak memory of our run at medium and at large over small, per LMS in `results` (any LMS
    whose results give `["ours"]["rss_mb"]`), for the sizes measured."""
    rows: list[list[str]] = []
    for lms in dict.fromkeys(name for name, _ in results):
        small = results.get((lms, "small"), {}).get("ours", {}).get("rss_mb")
        for size in ("medium", "large"):
            bigger = results.get((lms, size), {}).get("ours", {}).get("rss_mb")
            if small and bigger:
                rows.append(
                    ratio_row(
                        lms,
                        f"{size}/small",
                        "peak RSS of our run",
                        bigger,
                        small,
                        "pipeline process only",
                        "MB",
                    )
                )
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benchmarks and print the table."""
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", default="small,medium", help="comma-separated sandbox sizes (small,medium,large)"
    )
    parser.add_argument(
        "--lms", default="canvas,brightspace", help="comma-separated: canvas, brightspace, cd2"
    )
    parser.add_argument(
        "--skip",
        default="",
        help=f"comma-separated measures to leave out: {', '.join(MEASURES)}; prefix LMS: and/or SIZE: "
        "to skip it there only (e.g. large:peers,canvas:large:throttled); `all` skips an LMS or size "
        "entirely (e.g. cd2:large:all)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(asctime)s %(message)s"
    )
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "ERROR")  # dlt's schema hints would bury the table
    sizes = [s for s in args.sizes.split(",") if s]
    lms_list = [x for x in args.lms.split(",") if x]
    skip = [m.split(":") for m in args.skip.split(",") if m]
    unknown = (set(lms_list) - set(BENCHES)) | ({m[-1] for m in skip} - {*MEASURES, "all"})
    if unknown:
        parser.error(f"unknown --lms or --skip value(s): {', '.join(sorted(unknown))}")
    rows: list[list[str]] = []
    results: dict[tuple[str, str], dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="lms-bench-") as tmp:
        for lms in lms_list:
            for size in sizes:
                skipped = {m[-1] for m in skip if set(m[:-1]) <= {lms, size}}
                if "all" in skipped:
                    continue
                try:
                    results[lms, size] = BENCHES[lms](size, Path(tmp), rows, skipped)
                except Exception as exc:  # keep the rows measured so far; say what broke
                    logging.exception("%s %s failed", lms, size)
                    rows.append([lms, size, "FAILED", "", "", "", f"{type(exc).__name__}: {exc}"[:200]])
                if "latency" not in skipped and size in LATENCY_SIZES and lms in LATENCY_LMS:
                    try:
                        bench_latency(lms, size, Path(tmp), rows)
                    except Exception as exc:
                        logging.exception("%s %s latency failed", lms, size)
                        rows.append([lms, size, "FAILED", "", "", "", f"{type(exc).__name__}: {exc}"[:200]])
                logging.info("table so far:\n%s", render(rows))
    rows.extend(peak_rss_rows(results))
    print(f"machine: {_machine()}")
    print(render(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
