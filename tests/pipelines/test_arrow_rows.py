"""Arrow pages (sources/arrow_rows.py): typed conversion, the fallback to dict rows, and warehouses
identical to the JSON path's for Canvas submissions and Brightspace grade values."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import dlt
import duckdb
import pyarrow as pa
import pytest

from sandbox.brightspace import BrightspaceSandbox
from sandbox.canvas import CanvasSandbox
from sources.arrow_rows import MIN_ROWS, Fallback, RowsToArrow, StaticHintsResource, arrow_pages
from sources.brightspace import brightspace_source, connect
from sources.brightspace.settings import COLUMNS as BRIGHTSPACE_COLUMNS
from sources.canvas import CanvasApi, canvas_source
from sources.lms_http.jobs import PollPolicy
from sources.lms_http.retry import RetryPolicy

FAST = RetryPolicy(max_attempts=10, base_delay=0.05, max_delay=1.0)
FAST_POLL = PollPolicy(first_delay=0.05, factor=2.0, max_delay=0.5, timeout=30.0)
ARROW_SWITCH = "SOURCES__ARROW_PAGES"
# the sandbox tests turn every item into Arrow, the small reruns' delete markers too
ARROW_MIN_ROWS = "SOURCES__ARROW_PAGES_MIN_ROWS"

HINTS: dict[str, dict[str, Any]] = {
    "id": {"data_type": "bigint", "nullable": False},
    "score": {"data_type": "double", "nullable": True},
    "grade": {"data_type": "text", "nullable": True},
    "late": {"data_type": "bool", "nullable": True},
    "graded_at": {"data_type": "timestamp", "timezone": True, "nullable": True},
    "due_on": {"data_type": "date", "nullable": True},
    "gone": {"data_type": "bool", "nullable": True, "hard_delete": True},
}
ROW = {
    "id": 1,
    "score": 7.5,
    "grade": "B",
    "late": False,
    "graded_at": "2026-01-05T12:00:00Z",
    "due_on": "2026-01-09",
}
# ISO forms Canvas and Brightspace send, and offsets: all must land as the same instant dlt stores
STAMPS = [
    "2026-01-05T12:00:00Z",
    "2026-01-05T12:00:00.000Z",
    "2026-01-05T12:00:00.123456Z",
    "2026-01-05T12:00:00.5+02:00",
    "2026-01-05T07:30:00-05:30",
    "2026-01-05 12:00:00Z",
]


def converter(hints: dict[str, dict[str, Any]] = HINTS) -> RowsToArrow:
    return RowsToArrow("t", hints, min_rows=1)


# -- conversion --------------------------------------------------------------------------------


def test_rows_become_a_table_typed_by_the_hints_in_their_order() -> None:
    rows = [ROW, {"id": 2, "score": 2.5, "graded_at": "2026-01-05T12:00:00.5+02:00"}, {"id": 3, "gone": True}]
    table = converter().to_table(rows)
    assert table.schema == pa.schema(
        [
            pa.field("id", pa.int64(), nullable=False),
            pa.field("score", pa.float64()),
            pa.field("grade", pa.string()),
            pa.field("late", pa.bool_()),
            pa.field("graded_at", pa.timestamp("us", tz="UTC")),
            pa.field("due_on", pa.date32()),
            pa.field("gone", pa.bool_()),
        ]
    )
    assert table.to_pylist() == [
        {
            "id": 1,
            "score": 7.5,
            "grade": "B",
            "late": False,
            "graded_at": datetime(2026, 1, 5, 12, tzinfo=UTC),
            "due_on": date(2026, 1, 9),
            "gone": None,
        },
        {
            "id": 2,
            "score": 2.5,
            "grade": None,
            "late": None,
            "graded_at": datetime(2026, 1, 5, 10, 0, 0, 500000, tzinfo=UTC),
            "due_on": None,
            "gone": None,
        },
        # a delete marker: keys and the hard-delete flag only
        {
            "id": 3,
            "score": None,
            "grade": None,
            "late": None,
            "graded_at": None,
            "due_on": None,
            "gone": True,
        },
    ]


def test_items_under_the_minimum_stay_dict_rows() -> None:
    step = RowsToArrow("t", HINTS)
    small = [{**ROW, "id": i} for i in range(MIN_ROWS - 1)]
    assert step(small) is small
    assert isinstance(step([*small, {**ROW, "id": MIN_ROWS}]), pa.Table)
    assert (step.converted, step.kept) == (1, 0)


def test_camel_case_keys_get_the_snake_case_names_of_the_hints() -> None:
    step = RowsToArrow("grade_values", BRIGHTSPACE_COLUMNS["grade_values"], min_rows=1)
    row = {
        "OrgUnitId": 7,
        "GradeObjectId": 3,
        "UserId": 9,
        "OrgDefinedId": "S9",
        "LastModified": "2026-01-05T12:00:00.000Z",
        "PointsNumerator": 8,
        "DeletedInLms": None,
    }
    table = step([row])
    assert isinstance(table, pa.Table)
    assert table.column_names == list(BRIGHTSPACE_COLUMNS["grade_values"])
    got = table.to_pylist()[0]
    assert (got["org_unit_id"], got["org_defined_id"], got["points_numerator"]) == (7, "S9", 8.0)
    assert got["last_modified"] == datetime(2026, 1, 5, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"sticker": "x"}, "'sticker' has no column hint"),
        ({"score": "7"}, "values of mixed"),  # a number that turned into text
        ({"grade": {"text": "B"}}, "values of mixed"),  # a nested object
        ({"grade": 5}, "values of mixed"),
        ({"score": True}, "'score' holds bools among numbers"),
        ({"id": 2.5}, "'id' holds double, not bigint"),  # pyarrow alone would truncate it to 2
        ({"late": 1}, "values of mixed"),
        ({"graded_at": "2026-01-05T12:00:00"}, "'graded_at' does not convert"),  # no zone: dlt decides
        ({"graded_at": "2026-01-05T12:00:00.1234567Z"}, "'graded_at' does not convert"),
        ({"due_on": "2026-01-09T10:00:00Z"}, "'due_on' does not convert"),
        ({"id": None}, "'id' holds nulls but is not nullable"),
        ({"id": 2**63}, "values of mixed"),
    ],
)
def test_a_page_that_does_not_fit_the_hints_stays_dict_rows(change: dict[str, Any], why: str) -> None:
    step = converter()
    page = [ROW, {**ROW, "id": 2, **change}]
    with pytest.raises(Fallback, match=why.replace("(", r"\(")):
        step.to_table(page)
    assert step(page) is page
    assert (step.converted, step.kept) == (0, 1)


@pytest.mark.parametrize(
    ("page", "why"),
    [
        ([{"id": 1, "grade": {"text": "B"}}], "'grade' holds struct"),  # every row's value nested
        ([{"id": 1, "score": "7"}], "'score' holds string, not double"),
        ([{"score": 1.0}], "'id' is missing but not nullable"),
    ],
)
def test_a_page_whose_column_is_all_of_another_type_stays_dict_rows(
    page: list[dict[str, Any]], why: str
) -> None:
    step = converter()
    with pytest.raises(Fallback, match=why):
        step.to_table(page)
    assert step(page) is page


def duckdb_pipeline(dlt_dir: Path, name: str) -> dlt.Pipeline:
    return dlt.pipeline(
        name, destination=dlt.destinations.duckdb(str(dlt_dir / f"{name}.duckdb")), dataset_name="lms"
    )


def query(pipeline: dlt.Pipeline, sql: str) -> list[tuple[Any, ...]]:
    with pipeline.sql_client() as client:
        return [tuple(r) for r in client.execute_sql(sql)]


def column_types(pipeline: dlt.Pipeline, table: str) -> list[tuple[Any, ...]]:
    """(name, type, nullable) of each column of `table`, in order."""
    return query(
        pipeline,
        "select column_name, data_type, is_nullable from information_schema.columns "
        f"where table_schema = '{pipeline.dataset_name}' and table_name = '{table}' order by ordinal_position",
    )


def extracted_formats(pipeline: dlt.Pipeline, table: str) -> set[str]:
    """File formats the last extract wrote for `table`: parquet for Arrow items, typed-jsonl for dicts."""
    metrics = pipeline.last_trace.last_extract_info.metrics
    return {
        job.split(".")[2]
        for load in metrics.values()
        for step in load
        for job in step["job_metrics"]
        if job.split(".")[0] == table
    }


def assert_same_tables(arrow: dlt.Pipeline, plain: dlt.Pipeline, table: str, ordered: bool = True) -> None:
    """Identical columns (names, types, nullability, and order unless not `ordered`) and identical
    rows both ways, leaving out dlt's own columns (load ids differ, `_dlt_id`s are random), which
    Arrow rows hold too."""
    if ordered:
        assert column_types(arrow, table) == column_types(plain, table)
    else:
        assert sorted(column_types(arrow, table)) == sorted(column_types(plain, table))
    names = ", ".join(c[0] for c in column_types(plain, table) if not c[0].startswith("_dlt_"))
    con = duckdb.connect()
    try:
        tables = []
        for alias, pipeline in (("arrow", arrow), ("plain", plain)):
            path = pipeline.destination_client().config.credentials.database
            con.execute(f"attach '{path}' as {alias} (read_only)")
            tables.append(f"{alias}.{pipeline.dataset_name}.{table}")
        for a, b in (tables, tables[::-1]):
            extra = con.execute(
                f"select count(*) from (select {names} from {a} except all select {names} from {b})"
            )
            assert extra.fetchall() == [(0,)], f"{a} has rows {b} lacks"
        unset = con.execute(f"select count(*) from {tables[0]} where _dlt_load_id is null or _dlt_id is null")
        assert unset.fetchall() == [(0,)]
    finally:
        con.close()


def tiny_load(dlt_dir: Path, pages: list[list[dict[str, Any]]], arrow: bool) -> dlt.Pipeline:
    """Load `pages` (one item each) into DuckDB through dlt, with or without Arrow pages."""

    @dlt.resource(name="t", primary_key="id", write_disposition="merge", columns=HINTS)
    def rows() -> Iterator[list[dict[str, Any]]]:
        yield from pages

    resources = arrow_pages([rows()], ["t"], min_rows=1) if arrow else [rows()]
    pipeline = duckdb_pipeline(dlt_dir, f"tiny_{arrow}")
    assert not pipeline.run(resources, loader_file_format="parquet").has_failed_jobs
    return pipeline


def test_timestamps_and_values_equal_what_the_json_path_stores(dlt_dir: Path) -> None:
    page = [{**ROW, "id": i, "graded_at": stamp} for i, stamp in enumerate(STAMPS)]
    page.append({"id": 99, "score": None, "late": True})
    plain = tiny_load(dlt_dir, [page], arrow=False)
    arrow = tiny_load(dlt_dir, [page], arrow=True)
    assert extracted_formats(arrow, "t") == {"parquet"} and extracted_formats(plain, "t") == {"typed-jsonl"}
    assert ("graded_at", "TIMESTAMP WITH TIME ZONE", "YES") in column_types(arrow, "t")
    assert_same_tables(arrow, plain, "t")
    stamps = dict(query(arrow, "select id, graded_at from t where id < 99"))
    assert {i: s.astimezone(UTC) for i, s in stamps.items()} == {
        0: datetime(2026, 1, 5, 12, tzinfo=UTC),
        1: datetime(2026, 1, 5, 12, tzinfo=UTC),
        2: datetime(2026, 1, 5, 12, 0, 0, 123456, tzinfo=UTC),
        3: datetime(2026, 1, 5, 10, 0, 0, 500000, tzinfo=UTC),
        4: datetime(2026, 1, 5, 13, tzinfo=UTC),
        5: datetime(2026, 1, 5, 12, tzinfo=UTC),
    }


def test_drifted_pages_load_as_dicts_beside_arrow_pages(dlt_dir: Path) -> None:
    # page 2 gains a column, page 3 turns a number into text: the JSON path types both
    pages = [
        [ROW, {**ROW, "id": 2}],
        [{**ROW, "id": 3, "new_field": "n"}],
        [{**ROW, "id": 4, "score": "seven"}],
    ]
    plain = tiny_load(dlt_dir, pages, arrow=False)
    arrow = tiny_load(dlt_dir, pages, arrow=True)
    assert extracted_formats(arrow, "t") == {"parquet", "typed-jsonl"}
    names = [c[0] for c in column_types(arrow, "t")]
    assert "new_field" in names and "score__v_text" in names
    # where the table is created from dicts with new columns and Arrow items at once, `_dlt_id`
    # lands before or after the new columns, as dlt happens to normalize the files
    assert_same_tables(arrow, plain, "t", ordered=False)
    # the next run: a delete marker (Arrow) and a changed row (Arrow) merge into the drifted table
    rerun = [[{"id": 2, "gone": True}, {**ROW, "id": 3, "grade": "A"}]]
    plain = tiny_load(dlt_dir, rerun, arrow=False)
    arrow = tiny_load(dlt_dir, rerun, arrow=True)
    assert extracted_formats(arrow, "t") == {"parquet"}
    assert_same_tables(arrow, plain, "t", ordered=False)
    assert query(arrow, "select id, grade, new_field from t order by id") == [
        (1, "B", None),
        (3, "A", None),
        (4, "B", None),
    ]


def test_the_table_schema_is_computed_once_per_set_of_hints(monkeypatch: pytest.MonkeyPatch) -> None:
    @dlt.resource(name="t", primary_key="id", write_disposition="merge", columns=HINTS)
    def rows() -> Iterator[list[dict[str, Any]]]:
        yield [ROW]

    resource = arrow_pages([rows()], ["t"], min_rows=1)[0]
    assert type(resource) is StaticHintsResource
    computed: list[Any] = []
    dlt_compute = dlt.sources.DltResource.compute_table_schema

    def counting(self: Any, item: Any = None, meta: Any = None) -> Any:
        computed.append(meta)
        return dlt_compute(self, item, meta)

    monkeypatch.setattr(dlt.sources.DltResource, "compute_table_schema", counting)
    first = resource.compute_table_schema()
    again = resource.compute_table_schema()
    assert again == first and again is not first and again["columns"] is not first["columns"]
    assert computed == [None]
    # a copy is handed out: changing it leaves the kept schema as dlt computed it
    again["columns"]["score"]["data_type"] = "text"
    assert resource.compute_table_schema()["columns"]["score"]["data_type"] == "double"
    assert computed == [None]
    # new hints, a new schema; a clone keeps the behaviour
    resource.apply_hints(columns={"extra": {"data_type": "text", "nullable": True}})
    assert "extra" in resource.compute_table_schema()["columns"]
    assert computed == [None, None]
    assert type(resource._clone()) is StaticHintsResource
    # items with metadata (table variants) take dlt's own path every time
    resource.compute_table_schema(meta=dlt.mark.make_hints(table_name="other"))
    resource.compute_table_schema(meta=dlt.mark.make_hints(table_name="other"))
    assert len(computed) == 4


# -- end to end against the sandboxes ----------------------------------------------------------


def load_both(
    pipelines: dict[bool, dlt.Pipeline], make_source: Any, table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run the source into the Arrow pipeline and, with Arrow pages off, into the plain one."""
    monkeypatch.setenv(ARROW_MIN_ROWS, "1")
    for arrow, pipeline in pipelines.items():
        monkeypatch.setenv(ARROW_SWITCH, str(arrow).lower())
        info = pipeline.run(make_source(), loader_file_format="parquet")
        assert not info.has_failed_jobs
    assert extracted_formats(pipelines[True], table) == {"parquet"}
    assert extracted_formats(pipelines[False], table) == {"typed-jsonl"}
    assert_same_tables(pipelines[True], pipelines[False], table)


def test_canvas_submissions_are_identical_with_and_without_arrow(
    dlt_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipelines = {arrow: duckdb_pipeline(dlt_dir, f"canvas_{arrow}") for arrow in (True, False)}
    key = "select course_id, assignment_id, user_id from submissions"
    with CanvasSandbox(size="small", seed=7) as sb:

        def source() -> Any:
            api = CanvasApi(sb.base_url, sb.admin_token, policy=FAST)
            return canvas_source(api=api).with_resources("courses", "submissions")

        for step in range(2):
            if step:
                changes = sb.advance()
                assert changes.changed_submissions and changes.removed_submissions
            load_both(pipelines, source, "submissions", monkeypatch)
            keys = query(pipelines[True], key)
            assert len(keys) == len(set(keys)) == sb.truth()["submissions"]
            assert set(keys) == sb.truth_keys("submissions")
    # the rerun merged exactly the changed rows (removed ones were hard-deleted: see the truth)
    last = pipelines[True].last_trace.last_normalize_info.loads_ids[-1]
    assert set(query(pipelines[True], f"{key} where _dlt_load_id = '{last}'")) == changes.changed_submissions


def test_brightspace_grade_values_are_identical_with_and_without_arrow(
    dlt_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipelines = {arrow: duckdb_pipeline(dlt_dir, f"brightspace_{arrow}") for arrow in (True, False)}
    key = "select org_unit_id, grade_object_id, user_id from grade_values"
    with BrightspaceSandbox(size="small", seed=11) as sb:

        def source() -> Any:
            # one token file: each run takes the refresh token the previous run rotated in
            api = connect(
                sb.base_url,
                sb.client_id,
                sb.client_secret,
                sb.initial_refresh_token,
                token_url=sb.token_url,
                refresh_token_file=str(dlt_dir / "bs.token"),
                policy=FAST,
                poll_policy=FAST_POLL,
            )
            return brightspace_source(api=api).with_resources("courses", "grade_values")

        for step in range(2):
            if step:
                changes = sb.advance(7 * 86_400)
                assert changes.changed_grade_values and changes.removed_grade_values
            load_both(pipelines, source, "grade_values", monkeypatch)
            keys = query(pipelines[True], key)
            assert len(keys) == len(set(keys)) == sb.truth()["grade_values"]
            assert set(keys) == sb.truth_keys("grade_values")
    last = pipelines[True].last_trace.last_normalize_info.loads_ids[-1]
    assert set(query(pipelines[True], f"{key} where _dlt_load_id = '{last}'")) == set(
        changes.changed_grade_values
    )
