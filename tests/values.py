"""Compare a loaded table with a sandbox's truth row by row, on every column the sandbox serves.

Keys alone let a wrong score, a shifted timestamp or two swapped columns through. Here each served
field is looked up under the name dlt gives it (snake_case, nested objects flattened with `__`,
lists left to child tables) and compared after the casts the loaders make: ISO-8601 strings against
UTC timestamps, numbers against doubles or bigints, JSON columns parsed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import dlt

Row = dict[str, Any]


def _flatten(row: Mapping[str, Any], naming: Any, json_columns: set[str], prefix: str = "") -> Row:
    out: Row = {}
    for key, value in row.items():
        name = naming.normalize_path(key)  # a pre-flattened `a__b` keeps its separator
        path = f"{prefix}__{name}" if prefix else name
        if path in json_columns:
            out[path] = value
        elif isinstance(value, dict):
            out.update(_flatten(value, naming, json_columns, path))
        elif not isinstance(value, list):  # a list is a child table of its own
            out[path] = value
    return out


def _as_utc(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else None


def _same(expected: Any, loaded: Any) -> bool:
    """Whether a served value and its loaded form agree, through the loader's casts."""
    if isinstance(loaded, Decimal):
        loaded = float(loaded)
    if isinstance(loaded, datetime):
        if not isinstance(expected, str):
            return False
        served = _as_utc(expected)
        return served is not None and served == loaded.astimezone(UTC)
    if isinstance(expected, dict | list):
        if isinstance(loaded, str):
            loaded = json.loads(loaded)
        return bool(expected == loaded)
    if isinstance(loaded, str) and not isinstance(expected, str) and expected is not None:
        return str(expected) == loaded  # a number or flag served where the column is text
    if isinstance(expected, bool) or isinstance(loaded, bool):
        return expected is loaded or (expected is None and loaded is None)
    return bool(expected == loaded)


def loaded_rows(pipeline: dlt.Pipeline, table: str) -> list[Row]:
    """Every row of `table` in the pipeline's dataset, as dicts (DuckDB or Postgres)."""
    return list(pipeline.dataset()[table].arrow().to_pylist())


def assert_values_match(
    pipeline: dlt.Pipeline,
    sb: Any,
    table: str,
    *,
    truth: Iterable[Mapping[str, Any]] | None = None,
    not_loaded: Mapping[str, str] | None = None,
) -> int:
    """Assert that `table` holds the sandbox's rows, value for value.

    Args:
        pipeline: the pipeline that loaded the table.
        sb: a sandbox with `truth_rows(table)`.
        table: the table to compare.
        truth: the served rows, if not `sb.truth_rows(table)`.
        not_loaded: served fields the source leaves out on purpose, with the reason.

    Returns:
        How many values were compared (so a caller can see the comparison was not empty).
    """
    schema = pipeline.default_schema
    columns = schema.get_table_columns(table)
    key = [name for name, col in columns.items() if col.get("primary_key")]
    assert key, f"{table} has no primary key in the schema"
    json_columns = {name for name, col in columns.items() if col.get("data_type") == "json"}
    served = [
        _flatten(r, schema.naming, json_columns) for r in (sb.truth_rows(table) if truth is None else truth)
    ]
    skipped = set(not_loaded or {})
    served_columns = {c for r in served for c, v in r.items() if v is not None} - skipped
    missing = served_columns - set(columns)
    assert not missing, f"{table}: served fields never loaded: {sorted(missing)}"

    loaded = {tuple(r[k] for k in key): r for r in loaded_rows(pipeline, table)}
    expected = {tuple(r[k] for k in key): r for r in served}
    assert len(expected) == len(served), f"{table}: the truth repeats keys {key}"
    assert loaded.keys() == expected.keys(), (
        f"{table}: keys differ: {len(loaded.keys() - expected.keys())} extra, "
        f"{len(expected.keys() - loaded.keys())} missing"
    )
    wrong: list[str] = []
    compared = 0
    for k, want in expected.items():
        got = loaded[k]
        for column in sorted(served_columns):
            compared += 1
            served = want.get(column)
            if not _same(served, got.get(column)):
                wrong.append(f"{k} {column}: served {want.get(column)!r}, loaded {got.get(column)!r}")
    assert not wrong, f"{table}: {len(wrong)} values differ from the sandbox, e.g. {wrong[:5]}"
    return compared
