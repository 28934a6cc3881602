"""Sharded Canvas runs from the command line: own pipeline names, one warehouse, rows side by side."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import dlt
import duckdb
import pytest

from pipelines import canvas_pipeline
from pipelines.shards import Shard, ShardKeyError, shard_pipeline_name
from pipelines.warehouse import warehouse_write_lock
from sandbox.canvas import CanvasSandbox


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[CanvasSandbox]:
    with CanvasSandbox(size="small", seed=7, throttle="off") as sb:
        monkeypatch.setenv("SOURCES__CANVAS__BASE_URL", sb.base_url)
        monkeypatch.setenv("SOURCES__CANVAS__ACCESS_TOKEN", sb.admin_token)
        yield sb


def test_shard_keys_round_trip_and_name_pipelines() -> None:
    shard = Shard.parse("account=12, terms=5+6")
    assert shard == Shard(account="12", terms=(5, 6))
    assert Shard.parse(shard.key) == shard and shard.key == "account=12,terms=5+6"
    assert shard_pipeline_name("canvas_pipeline", shard) == "canvas_pipeline__account_12__terms_5_6"
    assert shard_pipeline_name("canvas_pipeline", Shard.parse("all")) == "canvas_pipeline"
    many = Shard(courses=tuple(range(100, 110)))
    assert shard_pipeline_name("canvas_pipeline", many).startswith("canvas_pipeline__courses_")
    assert len(shard_pipeline_name("canvas_pipeline", many)) < 50
    for bad in ("term=5", "courses=1,x", "courses=a+b"):
        with pytest.raises(ShardKeyError):
            Shard.parse(bad)


def test_two_shards_share_the_warehouse_and_a_rerun_leaves_the_other_alone(
    sandbox: CanvasSandbox, dlt_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    courses = sandbox.truth_rows("courses")
    in_account = {c["id"] for c in courses if c["account_id"] == 2}
    term = min(c["enrollment_term_id"] for c in courses if c["id"] not in in_account)
    in_term = {c["id"] for c in courses if c["enrollment_term_id"] == term}
    submissions = sandbox.truth_keys("submissions")

    def submission_keys() -> set[tuple[int, int, int]]:
        with duckdb.connect(str(dlt_dir / "canvas_pipeline.duckdb")) as con:
            rows = con.execute("select course_id, assignment_id, user_id from canvas.submissions").fetchall()
        assert len(rows) == len(set(rows)), "duplicate submissions"
        return {tuple(r) for r in rows}  # type: ignore[misc]

    base = ["--no-transform", "--resources", "accounts,terms,courses,submissions"]
    assert canvas_pipeline.main([*base, "--account", "2"]) == 0
    assert canvas_pipeline.main([*base, "--terms", str(term)]) == 0
    out = capsys.readouterr().out
    assert "pipeline canvas_pipeline__account_2)" in out and f"pipeline canvas_pipeline__terms_{term})" in out
    # both shards in the one default file, each with its own state
    assert not list(dlt_dir.glob("canvas_pipeline__*.duckdb"))
    union = in_account | in_term
    assert submission_keys() == {k for k in submissions if k[0] in union}
    with duckdb.connect(str(dlt_dir / "canvas_pipeline.duckdb")) as con:
        names = {r[0] for r in con.execute("select pipeline_name from canvas._dlt_pipeline_state").fetchall()}
    assert names == {"canvas_pipeline__account_2", f"canvas_pipeline__terms_{term}"}

    # Canvas changes everywhere; only the term shard runs again
    sandbox.advance()
    now = sandbox.truth_keys("submissions")
    assert now != submissions
    assert canvas_pipeline.main([*base, "--terms", str(term)]) == 0
    after = submission_keys()
    assert {k for k in after if k[0] in in_term} == {k for k in now if k[0] in in_term}
    # the account shard's other courses keep the rows of its own (earlier) run
    only_account = in_account - in_term
    assert only_account
    assert {k for k in after if k[0] in only_account} == {k for k in submissions if k[0] in only_account}
    assert {k[0] for k in after} == union


def test_loads_into_one_duckdb_file_take_turns(dlt_dir: Path) -> None:
    destination = dlt.destinations.duckdb(str(dlt_dir / "shared.duckdb"))
    first = dlt.pipeline("lock_a", destination=destination, dataset_name="d")
    second = dlt.pipeline("lock_b", destination=destination, dataset_name="d")
    first.run([{"id": 1}], table_name="t")
    second.run([{"id": 2}], table_name="t")
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with warehouse_write_lock(first):
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(30)
        with pytest.raises(TimeoutError, match="shared.duckdb.lock"):
            with warehouse_write_lock(second, timeout=0.3):
                pass
    finally:
        release.set()
        holder.join()
    with warehouse_write_lock(second, timeout=5):  # free again once the first load is done
        pass


def test_full_refresh_is_refused_on_a_shard_and_loads_nothing(dlt_dir: Path, sandbox: CanvasSandbox) -> None:
    courses = sorted(sandbox.truth_keys("courses"))[:1]
    shard = str(courses[0][0])
    with pytest.raises(SystemExit, match=r"--full-refresh drops the tables every shard shares"):
        canvas_pipeline.run(
            canvas_pipeline.parse_args(["--courses", shard, "--full-refresh", "--no-transform"])
        )
    assert not (dlt_dir / "canvas_pipeline.duckdb").exists()
