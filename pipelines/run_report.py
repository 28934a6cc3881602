"""The closing summary of a pipeline run: rows per table, requests, throttling, time per stage."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from dlt.common.pipeline import LoadInfo
from dlt.pipeline.pipeline import Pipeline


@dataclass
class StageTimer:
    """Wall-clock seconds per named stage."""

    seconds: dict[str, float] = field(default_factory=dict)

    def run(self, name: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            self.seconds[name] = round(time.perf_counter() - start, 3)


def rows_loaded(pipeline: Pipeline) -> dict[str, int]:
    """Rows written per data table by the last normalize step (dlt's own tables left out)."""
    info = pipeline.last_trace.last_normalize_info if pipeline.last_trace else None
    if info is None:
        return {}
    return {t: n for t, n in sorted(info.row_counts.items()) if not t.startswith("_dlt")}


def table_counts(pipeline: Pipeline, tables: list[str]) -> dict[str, int]:
    """Live row counts in the destination for `tables` (those that exist)."""
    existing = set(pipeline.default_schema.data_table_names())
    counts: dict[str, int] = {}
    with pipeline.sql_client() as client:
        for table in tables:
            if table in existing:
                rows = client.execute_sql(f"select count(*) from {client.make_qualified_table_name(table)}")
                counts[table] = int(rows[0][0])
    return counts


def format_summary(
    title: str,
    load_info: LoadInfo,
    loaded: dict[str, int],
    totals: dict[str, int],
    http: dict[str, Any],
    timer: StageTimer,
) -> str:
    """A short human-readable report of one run."""
    lines = [f"== {title} =="]
    lines.append(f"destination: {load_info.destination_name}  dataset: {load_info.dataset_name}")
    lines.append(f"{'table':<26}{'rows this run':>14}{'rows in table':>15}")
    for table in sorted(set(loaded) | set(totals)):
        lines.append(f"{table:<26}{loaded.get(table, 0):>14}{totals.get(table, 0):>15}")
    retries = ", ".join(f"{k} {v}" for k, v in sorted(http.get("retries", {}).items())) or "none"
    lines.append(
        f"requests: {http.get('requests', 0)}  throttled replies: {http.get('throttled', 0)}  "
        f"retries: {retries}  governor waits: {http.get('governor_waits', 0)}"
    )
    stages = "  ".join(f"{k} {v:.2f}s" for k, v in timer.seconds.items())
    lines.append(f"time: {stages}  total {sum(timer.seconds.values()):.2f}s")
    return "\n".join(lines)
