"""dlt's DuckDB statements with their parameters written as literals (pipelines/duckdb_literals.py): the
same values as DuckDB binds, and no pandas import at the first bound statement."""

from __future__ import annotations

import datetime
import importlib.util
import math
from pathlib import Path

import dlt
import duckdb
import pytest

from pipelines.duckdb_literals import NotLiteral, inline_duckdb_parameters, sql_literal, with_literals
from tests.fresh_python import run_python

VALUES = [
    "plain",
    "it's",
    "''",
    "back\\slash \\' and \\n",
    "ünïcödé ✓",
    "",
    "%s and ? in text",
    "line\nbreak\ttab",
    0,
    -5,
    2**62,
    1.5,
    -0.1,
    1e300,
    True,
    False,
    None,
    datetime.date(2026, 12, 7),
    datetime.datetime(2026, 12, 7, 1, 2, 3, 456789),
    datetime.datetime(2026, 12, 7, 1, 2, 3, 456789, tzinfo=datetime.UTC),
    datetime.datetime(2026, 12, 7, 1, 2, 3, tzinfo=datetime.timezone(datetime.timedelta(hours=-5))),
]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_a_literal_reads_back_as_the_bound_value(value: object) -> None:
    conn = duckdb.connect()
    conn.execute("SET TimeZone = 'UTC'")
    literal = conn.execute(f"select {sql_literal(value)}").fetchone()
    bound = conn.execute("select ?", [value]).fetchone()
    assert literal is not None and bound is not None
    assert literal == bound and type(literal[0]) is type(bound[0])
    assert literal[0] == value


@pytest.mark.parametrize(
    "value",
    [math.nan, math.inf, b"bytes", [1], {"a": 1}, object()],
    ids=["nan", "inf", "bytes", "list", "dict", "object"],
)
def test_a_value_without_a_literal_form_is_refused(value: object) -> None:
    with pytest.raises(NotLiteral):
        sql_literal(value)


def test_placeholders_pair_up_with_the_parameters() -> None:
    assert with_literals("select %s, %s", ["a'b", 3]) == "select 'a''b', 3"
    with pytest.raises(NotLiteral):
        with_literals("select %s, '%s'", ["a", "b", "c"])  # a %s in a quoted string: one too many
    with pytest.raises(NotLiteral):
        with_literals("select %s", [])


def test_dlt_client_writes_literals_and_binds_the_rest(tmp_path: Path) -> None:
    inline_duckdb_parameters()
    inline_duckdb_parameters()  # once: a second call does not wrap the wrapper
    pipeline = dlt.pipeline(
        "literals",
        destination=dlt.destinations.duckdb(str(tmp_path / "l.duckdb")),
        dataset_name="lit",
        pipelines_dir=str(tmp_path / "dlt"),
    )
    pipeline.run([{"id": 1, "name": "o'neil"}, {"id": 2, "name": None}], table_name="people")
    with pipeline.sql_client() as client:
        assert client.execute_sql("select name from people where name = %s", "o'neil") == [("o'neil",)]
        assert client.execute_sql("select %s, %s, %s", "a'b", 3, None) == [("a'b", 3, None)]
        # bytes have no literal here: bound by DuckDB as before
        assert client.execute_sql("select %s", b"\x00\x01") == [(b"\x00\x01",)]
        assert client.execute_sql("select current_setting('search_path')")[0][0] == "lit"


NO_PANDAS_RUN = """
import sys
import dlt
if sys.argv[1] == "inline":
    from pipelines.duckdb_literals import inline_duckdb_parameters
    inline_duckdb_parameters()
pipeline = dlt.pipeline("np", destination=dlt.destinations.duckdb("run.duckdb"), dataset_name="np")
for _ in range(2):  # the second run reads the state and schema back with bound parameters
    pipeline.run(dlt.resource([{"id": 1}], name="t", primary_key="id", write_disposition="merge"))
pipeline.sync_destination()
print("pandas imported" if "pandas" in sys.modules else "no pandas")
"""


@pytest.mark.skipif(
    importlib.util.find_spec("pandas") is None, reason="DuckDB imports pandas only where installed"
)
@pytest.mark.parametrize("mode", ["inline", "bound"])
def test_a_dlt_run_with_literals_imports_no_pandas(tmp_path: Path, mode: str) -> None:
    done = run_python(NO_PANDAS_RUN, tmp_path, mode)
    assert done.returncode == 0, done.stderr[-2000:]
    # the control: dlt as it comes binds its parameters, and DuckDB imports pandas at the first one
    assert done.stdout.strip() == ("no pandas" if mode == "inline" else "pandas imported")
