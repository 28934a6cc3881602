"""dlt's DuckDB statements with their parameters written as SQL literals, so that none imports pandas.

DuckDB's Python client (1.5) imports pandas, where it is installed, the first time a statement binds
a parameter of any type but None: 0.23-0.45 s on the machines this project is measured on, once per
process. dlt binds parameters on every DuckDB connection (`SET SESSION search_path = ?`, the
`[warehouse] duckdb_settings`) and in its state, schema and `_dlt_loads` statements, so every run
paid it, and a no-change Canvas Data 2 rerun (about 1 s) spent a third of its time there. pandas is
not one of our dependencies, but the dashboard extra brings it, and the dev install with it.

`inline_duckdb_parameters()` makes dlt's DuckDB client write parameters of plain types (str, int,
finite float, bool, None, date and datetime) as literals before DuckDB sees the statement; a
statement with any other parameter, named parameters, or placeholders that do not match its
parameters one for one is bound as before. Strings are quoted the standard SQL way (a quote is
doubled; DuckDB reads backslashes in a standard string as themselves), and
`tests/pipelines/test_duckdb_literals.py` checks each type against the value DuckDB binds.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from dlt.destinations.impl.duckdb.configuration import DuckDbConnectionPool
from dlt.destinations.impl.duckdb.sql_client import DuckDbSqlClient

_PLACEHOLDER = "%s"  # dlt's DB-API style, which its DuckDB client turns into `?` when it binds


class NotLiteral(ValueError):
    """A parameter with no literal form here: the statement is bound as dlt binds it."""


def sql_literal(value: Any) -> str:
    """`value` as a DuckDB SQL literal; `NotLiteral` for a type without one here."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):  # before int: bool is an int
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NotLiteral(value)
        return f"CAST('{value!r}' AS DOUBLE)"  # a bare 0.1 would be read as a DECIMAL
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, datetime.datetime):
        kind = "TIMESTAMP" if value.tzinfo is None else "TIMESTAMPTZ"
        return f"{kind} '{value.isoformat()}'"
    if isinstance(value, datetime.date):
        return f"DATE '{value.isoformat()}'"
    raise NotLiteral(value)


def with_literals(query: str, args: Sequence[Any]) -> str:
    """`query` with each `%s` replaced by the literal of the parameter in its place.

    Raises `NotLiteral` when a parameter has no literal form or the placeholders and parameters do
    not pair up one for one (a `%s` inside a quoted string, say).
    """
    parts = query.split(_PLACEHOLDER)
    if len(parts) != len(args) + 1:
        raise NotLiteral(query)
    literals = [sql_literal(value) for value in args]
    return parts[0] + "".join(literal + part for literal, part in zip(literals, parts[1:], strict=True))


def inline_duckdb_parameters() -> None:
    """Have dlt's DuckDB client write plain parameters as literals (once per process)."""
    if getattr(DuckDbSqlClient.execute_query, "_writes_literals", False):
        return
    DuckDbSqlClient.execute_query = _literal_execute_query(DuckDbSqlClient.execute_query)  # type: ignore[method-assign]
    DuckDbConnectionPool._apply_config = staticmethod(  # type: ignore[method-assign]
        _literal_apply_config(DuckDbConnectionPool._apply_config)
    )


def _literal_execute_query(bound: Callable[..., Any]) -> Callable[..., Any]:
    @contextmanager
    def execute_query(self: DuckDbSqlClient, query: Any, *args: Any, **kwargs: Any) -> Iterator[Any]:
        if args and not kwargs and isinstance(query, str):
            try:
                query, args = with_literals(query, args), ()
            except NotLiteral:
                pass
        with bound(self, query, *args, **kwargs) as cursor:
            yield cursor

    execute_query._writes_literals = True  # type: ignore[attr-defined]
    return execute_query


def _literal_apply_config(bound: Callable[..., None]) -> Callable[..., None]:
    import duckdb

    def apply_config(conn: Any, scope: str, config: dict[str, Any]) -> None:
        for key, value in config.items():
            try:
                statement = f"SET {scope} {key} = {sql_literal(value)}"
            except NotLiteral:
                bound(conn, scope, {key: value})
                continue
            try:
                conn.execute(statement)
            except duckdb.CatalogException:
                if key != "search_path":  # as dlt: a search path may name a schema not made yet
                    raise

    return apply_config
