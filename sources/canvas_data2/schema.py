"""DAP table schemas (JSON Schema, docs/canvas-data-2.md section 11) as dlt column hints, and how two
versions of a table compare."""

from __future__ import annotations

from typing import Any

from dlt.common.schema.typing import TColumnSchema

from .settings import DELETED_COLUMN, META_TS_COLUMN


def key_column(schema: dict[str, Any]) -> str:
    """The primary key: the first property of `key` (section 11; single-column keys only)."""
    return next(iter(schema["properties"]["key"]["properties"]))


def value_properties(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The value columns and their JSON Schema types."""
    return dict(schema["properties"].get("value", {}).get("properties", {}))


def dap_type(spec: dict[str, Any]) -> str:
    """A short, comparable name of a column's DAP type (e.g. `integer/int64`, `string/date-time`)."""
    kind = spec.get("type")
    if isinstance(kind, list):  # ["string", "null"]
        kind = next((k for k in kind if k != "null"), "string")
    if "enum" in spec:
        return "enum"
    if kind == "object":
        return "object"
    return f"{kind}/{spec.get('format', '')}".rstrip("/")


def dlt_column(name: str, spec: dict[str, Any], nullable: bool = True) -> TColumnSchema:
    """One column hint from a DAP column type (section 11's JSON Schema -> SQL mapping)."""
    kind = dap_type(spec)
    column: TColumnSchema = {"name": name, "nullable": nullable}
    if kind.startswith("integer"):
        column["data_type"] = "bigint"
        if kind == "integer/int32":
            column["precision"] = 32
        elif kind == "integer/int16":
            column["precision"] = 16
    elif kind.startswith("number"):
        column["data_type"] = "double"
    elif kind == "boolean":
        column["data_type"] = "bool"
    elif kind == "string/date-time":
        column["data_type"] = "timestamp"
        column["timezone"] = True
    elif kind == "string/date":
        column["data_type"] = "date"
    elif kind == "string/time":
        column["data_type"] = "time"
    elif kind in ("object", "array"):
        column["data_type"] = "json"
    else:  # text, uuid, enum (enums gain members over time: text keeps them loadable)
        column["data_type"] = "text"
    return column


def dlt_columns(schema: dict[str, Any]) -> dict[str, TColumnSchema]:
    """Every column of a DAP table as dlt hints: key, values, the commit time and the delete flag."""
    key = key_column(schema)
    columns = {key: dlt_column(key, schema["properties"]["key"]["properties"][key], nullable=False)}
    columns[key]["primary_key"] = True
    for name, spec in value_properties(schema).items():
        columns[name] = dlt_column(name, spec)
    columns[META_TS_COLUMN] = {
        "name": META_TS_COLUMN,
        "data_type": "timestamp",
        "timezone": True,
        "nullable": True,
    }
    columns[DELETED_COLUMN] = {
        "name": DELETED_COLUMN,
        "data_type": "bool",
        "nullable": True,
        "hard_delete": True,
    }
    return columns


def column_types(schema: dict[str, Any]) -> dict[str, str]:
    """Column name -> DAP type name, as kept in state to compare versions."""
    key = key_column(schema)
    out = {key: dap_type(schema["properties"]["key"]["properties"][key])}
    out.update({name: dap_type(spec) for name, spec in value_properties(schema).items()})
    return out


def incompatible_changes(old: dict[str, str], new: dict[str, str]) -> list[str]:
    """What a new schema version changed that merging cannot follow: removed columns and changed
    types (new columns are fine: dlt adds them)."""
    problems = [f"column {name} was removed" for name in old if name not in new]
    problems += [
        f"column {name} changed type from {old[name]} to {new[name]}"
        for name in old
        if name in new and old[name] != new[name]
    ]
    return problems
