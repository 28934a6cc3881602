"""A kill inside dlt's normalize commit: the extracted copy of a package dlt already passed on to the
load step is left behind, whole or in part. The next runs finish cleanly and load nothing twice."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from dlt.common.storages import PackageStorage

from pipelines import canvas_pipeline
from pipelines.load import LoadRequest, run_load
from sandbox.canvas import CanvasSandbox
from sources.canvas import canvas_settings

KEYS = {
    "submissions": ("course_id", "assignment_id", "user_id"),
    "student_summaries": ("course_id", "user_id"),
    "course_activity": ("course_id", "date"),
}


def _assert_equals_truth(path: Path, truth: dict[str, int]) -> None:
    con = duckdb.connect(str(path), read_only=True)
    try:
        for table, count in truth.items():
            key = ", ".join(KEYS.get(table, ("id",)))
            (rows, keys) = con.execute(  # type: ignore[misc]
                f"select count(*), count(distinct ({key})) from canvas.{table}"
            ).fetchone()
            assert (rows, keys) == (count, count), table
    finally:
        con.close()


def _by_cli() -> bool:
    return canvas_pipeline.main(["--no-transform"]) == 0


def _by_load_library() -> bool:
    # what Dagster and the bench call: the same repair must run without the CLI around it
    outcome = run_load(LoadRequest(lms="canvas", client=canvas_settings().client(), models=None))
    return not outcome.failed and outcome.report_stored


@pytest.mark.parametrize("load", [_by_cli, _by_load_library], ids=["cli", "run_load"])
def test_a_kill_between_normalize_commit_and_cleanup_costs_nothing(
    load: Callable[[], bool],
    dlt_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    stash = dlt_dir / "stash"
    delete_package = PackageStorage.delete_package

    def keep_a_copy(self: PackageStorage, load_id: str, not_exists_ok: bool = False) -> None:
        # dlt deletes the extracted copy right after committing the normalized package: keep what a
        # kill at that moment would have left
        if Path(self.storage.storage_path).name == "extracted":
            shutil.copytree(self.storage.make_full_path(self.get_package_path(load_id)), stash / load_id)
        delete_package(self, load_id, not_exists_ok)

    with CanvasSandbox(size="small", seed=7, throttle="off") as sb:
        monkeypatch.setenv("SOURCES__CANVAS__BASE_URL", sb.base_url)
        monkeypatch.setenv("SOURCES__CANVAS__ACCESS_TOKEN", sb.admin_token)
        truth = sb.truth()
        truth.update(sb.truth(["student_summaries", "course_activity"]))
        with monkeypatch.context() as patch:
            patch.setattr(PackageStorage, "delete_package", keep_a_copy)
            assert load()
        working = dlt_dir / "dlt" / "pipelines" / "canvas_pipeline"
        extracted = working / "normalize" / "extracted"
        # copies of every package dlt deleted from `extracted`: those it committed, and empty ones
        left = sorted(p.name for p in stash.iterdir())
        committed = [load_id for load_id in left if (working / "load" / "loaded" / load_id).is_dir()]
        assert committed, "the run committed no package"

        # the kill came before dlt deleted anything, then after it had deleted the jobs
        for partial in (False, True):
            for load_id in left:
                shutil.copytree(stash / load_id, extracted / load_id)
                if partial:
                    shutil.rmtree(extracted / load_id / PackageStorage.NEW_JOBS_FOLDER)
            caplog.clear()
            with caplog.at_level(logging.WARNING, logger="pipelines.recovery"):
                assert load()
            assert [p.name for p in extracted.iterdir()] == []
            warned = " ".join(r.getMessage() for r in caplog.records)
            assert all(f"extracted load package {load_id}" in warned for load_id in committed)
            _assert_equals_truth(dlt_dir / "canvas_pipeline.duckdb", truth)
