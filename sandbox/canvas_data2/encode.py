"""Query results as files: JSONL, CSV, TSV (gzip) and Parquet, laid out as docs/canvas-data-2.md section 8.

- JSONL: `{"key": {...}, "value": {...}, "meta": {...}}` per line; a delete has no `value`; nulls
  are omitted (the client's reading of section 8).
- TSV: header `meta.ts`, `meta.action` (incrementals only, section 8), `key.<pk>`, `value.<col>`;
  NULL is `\\N`, PostgreSQL COPY escapes.
- CSV: RFC 4180 with the same header; NULL is an empty unquoted field, the empty string `""`.
- Parquet: the same flat column names, typed; not gzip-wrapped (section 5: inference).
Condensed mode writes a nested object as one JSON column; expanded mode gives one dotted column per
property (section 3). Arrays are JSON in both.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .lake import Record
from .tables import Table

FORMATS = ("jsonl", "csv", "tsv", "parquet")
EXTENSIONS = {"jsonl": "json.gz", "csv": "csv.gz", "tsv": "tsv.gz", "parquet": "parquet"}
_TSV_ESCAPES = str.maketrans(
    {"\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}
)


def ts_text(ts: int) -> str:
    """A commit time as DAP writes it (UTC with a zone: the client rejects naive times, section 13)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def encode(table: Table, records: list[Record], fmt: str, mode: str, incremental: bool) -> bytes:
    """The object bytes of `records` in `fmt` (gzip except parquet)."""
    if fmt == "jsonl":
        return gzip.compress(_jsonl(table, records, incremental), compresslevel=5)
    if fmt == "parquet":
        return _parquet(table, records, mode, incremental)
    header, rows = _tabular(table, records, mode, incremental)
    text = _tsv(header, rows) if fmt == "tsv" else _csv(header, rows)
    return gzip.compress(text.encode(), compresslevel=5)


def write_parts(
    table: Table,
    records: Iterable[Record],
    fmt: str,
    mode: str,
    incremental: bool,
    directory: Path,
    rows_per_part: int,
) -> list[Path]:
    """Encode `records` into object files of at most `rows_per_part` records each, one part in
    memory at a time (at least one file: an empty result is one empty object)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    chunk: list[Record] = []

    def flush() -> None:
        path = directory / f"part-{len(paths):05d}.{EXTENSIONS[fmt]}"
        path.write_bytes(encode(table, chunk, fmt, mode, incremental))
        paths.append(path)
        chunk.clear()

    for record in records:
        chunk.append(record)
        if len(chunk) >= rows_per_part:
            flush()
    if chunk or not paths:
        flush()
    return paths


def _jsonl(table: Table, records: list[Record], incremental: bool) -> bytes:
    key_name = table.key[0]
    out = io.StringIO()
    for r in records:
        meta: dict[str, Any] = {"ts": ts_text(r.ts)}
        if incremental:
            meta["action"] = r.action
        line: dict[str, Any] = {"key": {key_name: r.key}}
        if r.value is not None:
            line["value"] = {k: v for k, v in r.value.items() if v is not None}
        line["meta"] = meta
        out.write(json.dumps(line, separators=(",", ":")))
        out.write("\n")
    return out.getvalue().encode()


def _columns(table: Table, mode: str) -> list[tuple[str, str, tuple[str, ...]]]:
    """(header name, value column, nested path) per value column; expanded mode splits objects."""
    out = []
    for name, spec in table.value_columns.items():
        if mode == "expanded" and spec.get("type") == "object" and spec.get("properties"):
            out.extend((f"value.{name}.{prop}", name, (prop,)) for prop in spec["properties"])
        else:
            out.append((f"value.{name}", name, ()))
    return out


def _tabular(
    table: Table, records: list[Record], mode: str, incremental: bool
) -> tuple[list[str], Iterable[list[Any]]]:
    columns = _columns(table, mode)
    header = ["meta.ts", *(["meta.action"] if incremental else []), f"key.{table.key[0]}"]
    header += [c[0] for c in columns]

    def rows() -> Iterable[list[Any]]:
        for r in records:
            row: list[Any] = [ts_text(r.ts), *([r.action] if incremental else []), r.key]
            value = r.value or {}
            for _, name, path in columns:
                v = value.get(name)
                if path and isinstance(v, dict):
                    v = v.get(path[0])
                elif path:
                    v = None
                row.append(v)
            yield row

    return header, rows()


def _cell(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (dict, list)):
        return json.dumps(v, separators=(",", ":"))
    return str(v)


def _tsv(header: list[str], rows: Iterable[list[Any]]) -> str:
    out = ["\t".join(header)]
    for row in rows:
        out.append("\t".join("\\N" if v is None else _cell(v).translate(_TSV_ESCAPES) for v in row))
    return "\n".join(out) + "\n"


def _csv_field(v: Any) -> str:
    # NULL is an empty unquoted field, the empty string is quoted (section 8)
    if v is None:
        return ""
    text = _cell(v)
    if text == "" or any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _csv(header: list[str], rows: Iterable[list[Any]]) -> str:
    out = [",".join(header)]
    out.extend(",".join(_csv_field(v) for v in row) for row in rows)
    return "\n".join(out) + "\n"


def _parquet(table: Table, records: list[Record], mode: str, incremental: bool) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    # column by column: a `large` log is millions of rows
    arrays: dict[str, Any] = {
        "meta.ts": pa.array([r.ts * 1_000_000 for r in records], pa.int64()).cast(
            pa.timestamp("us", tz="UTC")
        )
    }
    if incremental:
        arrays["meta.action"] = pa.array([r.action for r in records], pa.string())
    arrays[f"key.{table.key[0]}"] = _arrow_array(pa, [r.key for r in records], table.key[1])
    values = [r.value or {} for r in records]
    for header, name, path in _columns(table, mode):
        column = [v.get(name) for v in values]
        if path:
            column = [c.get(path[0]) if isinstance(c, dict) else None for c in column]
        spec = table.value_columns[name]
        arrays[header] = _arrow_array(pa, column, {"type": "string"} if path else spec)
    buf = io.BytesIO()
    pq.write_table(pa.table(arrays), buf)
    return buf.getvalue()


def _arrow_array(pa: Any, values: list[Any], spec: dict[str, Any]) -> Any:
    kind, fmt = spec.get("type"), spec.get("format")
    if kind == "string" and fmt == "date-time":  # ISO-8601 text with a zone: Arrow parses it
        return pa.array(values, pa.string()).cast(pa.timestamp("us", tz="UTC"))
    if kind == "integer":
        return pa.array(values, pa.int32() if fmt == "int32" else pa.int64())
    if kind == "number":
        return pa.array(values, pa.float64())
    if kind == "boolean":
        return pa.array(values, pa.bool_())
    if any(isinstance(v, (dict, list, bool, int, float)) for v in values):
        values = [None if v is None else _cell(v) for v in values]
    return pa.array(values, pa.string())
