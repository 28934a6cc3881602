"""No token, client secret or refresh token reaches a log line, output, exception, trace, load package,
state file or warehouse table, on success and on every failure path, for both LMSs."""

from __future__ import annotations

import gzip
import logging
import os
import subprocess
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dlt
import duckdb
import pyarrow.parquet as pq
import pytest
from dlt.common.versioned_state import decompress_state
from dlt.pipeline.pipeline import Pipeline

from pipelines import brightspace_pipeline, canvas_pipeline, runner
from sandbox.brightspace import BrightspaceSandbox
from sandbox.brightspace.oauth import TokenReply, TokenService
from sandbox.canvas import CanvasSandbox
from sandbox.faults import FaultPlan, Scheduled
from sources.brightspace import BrightspaceSettings
from sources.canvas import CanvasSettings
from sources.lms_http.retry import RetryPolicy


class Collected(logging.Handler):
    """Every log record of every logger, formatted with its traceback."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record) + repr(record.args))


class SecretScan:
    """Text gathered from everywhere a secret could leak, checked at the end."""

    def __init__(self) -> None:
        self.texts: list[tuple[str, str]] = []
        self.secrets: set[str] = set()

    def add(self, where: str, text: str) -> None:
        self.texts.append((where, text))

    def add_exception(self, where: str, exc: BaseException) -> None:
        self.add(where, "".join(traceback.format_exception(exc)) + repr(exc) + str(exc))
        seen: BaseException | None = exc
        while seen is not None:  # every link of the chain, with its args
            self.add(where, f"{seen!r} {seen} {seen.args!r}")
            seen = seen.__cause__ or seen.__context__

    def add_files(self, where: str, root: Path) -> int:
        """Every file under `root`, decoded: gzip job files, parquet files, pickles and text."""
        count = 0
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            raw = path.read_bytes()
            texts = [raw.decode("utf-8", "replace")]
            if raw[:2] == b"\x1f\x8b":
                texts.append(gzip.decompress(raw).decode("utf-8", "replace"))
            if path.suffix == ".parquet":
                texts.append(repr(pq.read_table(path).to_pylist()))
            self.add(f"{where}:{path.relative_to(root)}", "\n".join(texts))
            count += 1
        return count

    def add_warehouse(self, where: str, db: Path) -> set[str]:
        """Every row of every table in the DuckDB file; `_dlt_pipeline_state` decoded too."""
        con = duckdb.connect(str(db), read_only=True)
        tables = con.execute("select table_schema, table_name from information_schema.tables").fetchall()
        for schema, table in tables:
            rows = con.execute(f'select * from "{schema}"."{table}"').fetchall()
            self.add(f"{where}:{schema}.{table}", repr(rows))
            if table == "_dlt_pipeline_state":
                for (state,) in con.execute(f'select state from "{schema}"."{table}"').fetchall():
                    self.add(f"{where}:{schema}.{table}(decoded)", repr(decompress_state(state)))
        con.close()
        return {t for _, t in tables}

    def add_trace(self, where: str, name: str) -> None:
        pipeline = dlt.attach(pipeline_name=name)
        trace = pipeline.last_trace
        assert trace is not None
        self.add(f"{where}:last_trace", str(trace) + repr(trace) + repr(trace.asdict()))

    def assert_clean(self) -> None:
        secrets = {s for s in self.secrets if s}
        assert len(secrets) >= 3
        leaks = [(where, s[:6] + "...") for where, text in self.texts for s in secrets if s in text]
        assert not leaks, f"secrets found in: {leaks[:20]}"


@pytest.fixture
def scan(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[SecretScan, Collected]]:
    """A scan plus a DEBUG handler on the root and on every existing logger."""
    monkeypatch.setenv("RUNTIME__LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("LOAD__DELETE_COMPLETED_JOBS", "false")  # keep completed packages to scan them
    handler = Collected()
    loggers = [logging.getLogger()] + [
        lg for lg in logging.root.manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]
    levels = [(lg, lg.level) for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
    logging.getLogger().addHandler(handler)
    logging.getLogger("dlt").addHandler(handler)
    yield SecretScan(), handler
    logging.getLogger().removeHandler(handler)
    logging.getLogger("dlt").removeHandler(handler)
    for lg, level in levels:
        lg.setLevel(level)


def _run(
    scan: SecretScan,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    where: str,
    main: Callable[[list[str]], int],
    argv: list[str],
) -> int | None:
    """Run a pipeline's main(); keep its output and every exception it met (clear or not)."""
    original = runner.clear_error

    def spy(exc: BaseException) -> BaseException | None:
        scan.add_exception(f"{where}:exception", exc)
        return original(exc)

    monkeypatch.setattr(runner, "clear_error", spy)
    try:
        code: int | None = main(argv)
    except Exception as exc:
        scan.add_exception(f"{where}:raised", exc)
        code = None
    out, err = capsys.readouterr()
    scan.add(f"{where}:stdout", out)
    scan.add(f"{where}:stderr", err)
    return code


def _cli_trace(scan: SecretScan, tmp: Path, name: str) -> None:
    """`dlt pipeline <name> trace` (and `info`), as an operator would read them."""
    env = {**os.environ, "DLT_DATA_DIR": str(tmp / "dlt"), "RUNTIME__DLTHUB_TELEMETRY": "false"}
    for command in ("trace", "info"):
        result = subprocess.run(
            [sys.executable, "-m", "dlt", "pipeline", "-v", name, command],
            cwd=tmp,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        scan.add(f"cli {command} {name}", result.stdout + result.stderr)


def _fail_first_load(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """The next load of pipeline `name` dies (a crash after normalize: a pending package)."""
    original = Pipeline.load
    state = {"failed": False}

    def load(self: Pipeline, *args: Any, **kwargs: Any) -> Any:
        if self.pipeline_name == name and not state["failed"]:
            state["failed"] = True
            raise RuntimeError("simulated crash before the load")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Pipeline, "load", load)


def _scan_outputs(
    found: SecretScan, logs: Collected, dlt_dir: Path, pipeline: str, dataset: str, data_table: str
) -> list[str]:
    """Add the CLI trace, the logs, every pipeline file and every warehouse table to the scan;
    returns the run reports' statuses, oldest first."""
    _cli_trace(found, dlt_dir, pipeline)
    found.add("logs", "\n".join(logs.lines))
    assert found.add_files("pipelines", dlt_dir / "dlt") > 20
    tables = found.add_warehouse("warehouse", dlt_dir / f"{pipeline}.duckdb")
    assert {"_dlt_pipeline_state", "run_reports", data_table} <= tables
    con = duckdb.connect(str(dlt_dir / f"{pipeline}.duckdb"), read_only=True)
    try:
        rows = con.execute(f"select status from {dataset}.run_reports order by started_at").fetchall()
    finally:
        con.close()
    return [r[0] for r in rows]


def test_canvas_never_leaks_its_tokens(
    dlt_dir: Path,
    scan: tuple[SecretScan, Collected],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    found, logs = scan
    argv = ["--no-transform"]
    with CanvasSandbox(size="small", seed=7, throttle="off") as sb:
        monkeypatch.setenv("SOURCES__CANVAS__BASE_URL", sb.base_url)

        def use(token: str) -> None:
            found.secrets.add(token)
            monkeypatch.setenv("SOURCES__CANVAS__ACCESS_TOKEN", token)

        use(sb.admin_token)
        assert _run(found, capsys, monkeypatch, "success", canvas_pipeline.main, argv) == 0
        # a crash after normalize leaves a pending package; the files are scanned while it is pending
        _fail_first_load(monkeypatch, "canvas_pipeline")
        assert _run(found, capsys, monkeypatch, "crash", canvas_pipeline.main, argv) is None
        assert dlt.attach(pipeline_name="canvas_pipeline").has_pending_data
        found.add_files("pending", dlt_dir / "dlt")
        assert _run(found, capsys, monkeypatch, "recovery", canvas_pipeline.main, argv) == 0
        # a token revoked mid-run
        use(sb.issue_token())
        sb.faults = FaultPlan(schedule=[Scheduled("revoke", at=30)])
        assert _run(found, capsys, monkeypatch, "revoked", canvas_pipeline.main, argv) == 1
        found.add_trace("revoked", "canvas_pipeline")
        # 5xx until the retries run out (the backoff does not wait for real)
        use(sb.admin_token)
        sb.faults = FaultPlan(schedule=[Scheduled("503", path="/users", count=100)])
        monkeypatch.setattr(CanvasSettings, "retry_policy", _fast_retries)
        assert _run(found, capsys, monkeypatch, "5xx", canvas_pipeline.main, argv) == 1
        found.add_trace("5xx", "canvas_pipeline")
        sb.faults = None
        # a wrong token (what a user may paste by mistake must not leak either)
        use("7~" + "W" * 64)
        assert _run(found, capsys, monkeypatch, "bad token", canvas_pipeline.main, argv) == 1
        found.add_trace("bad token", "canvas_pipeline")
    statuses = _scan_outputs(found, logs, dlt_dir, "canvas_pipeline", "canvas", "submissions")
    # the failures were recorded, so their texts were scanned too
    assert statuses == ["succeeded", "failed", "succeeded", "failed", "failed", "failed"]
    assert any("DEBUG" in line for line in logs.lines)
    found.assert_clean()


def _fast_retries(settings: Any) -> RetryPolicy:
    return RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0, jitter=False)


def test_brightspace_never_leaks_its_secrets(
    dlt_dir: Path,
    scan: tuple[SecretScan, Collected],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    found, logs = scan
    argv = ["--no-transform"]
    original = TokenService.token_request

    def record(self: TokenService, form: Any, authorization: str | None) -> TokenReply:
        reply = original(self, form, authorization)
        found.secrets.update(str(reply.body.get(k, "")) for k in ("access_token", "refresh_token"))
        return reply

    monkeypatch.setattr(TokenService, "token_request", record)
    monkeypatch.setattr(
        BrightspaceSettings,
        "retry_policy",
        lambda settings: RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0),
    )
    token_file = dlt_dir / "brightspace_refresh.token"
    with BrightspaceSandbox(size="small", seed=11, throttle="off", job_step_seconds=0.0) as sb:
        found.secrets.update({sb.client_secret, sb.initial_refresh_token})
        env = {
            "BASE_URL": sb.base_url,
            "CLIENT_ID": sb.client_id,
            "CLIENT_SECRET": sb.client_secret,
            "REFRESH_TOKEN": sb.initial_refresh_token,
            "TOKEN_URL": sb.token_url,
            "REFRESH_TOKEN_FILE": str(token_file),
        }
        for key, value in env.items():
            monkeypatch.setenv(f"SOURCES__BRIGHTSPACE__{key}", value)
        assert _run(found, capsys, monkeypatch, "success", brightspace_pipeline.main, argv) == 0
        # access tokens revoked mid-run: one refresh, and the run completes
        sb.faults = FaultPlan(schedule=[Scheduled("revoke", at=40)])
        assert _run(found, capsys, monkeypatch, "revoked", brightspace_pipeline.main, argv) == 0
        # 5xx until the retries run out
        sb.faults = FaultPlan(schedule=[Scheduled("503", path="/users", count=100)])
        assert _run(found, capsys, monkeypatch, "5xx", brightspace_pipeline.main, argv) == 1
        found.add_trace("5xx", "brightspace_pipeline")
        sb.faults = None
        # a crash leaving a pending package, then the recovery
        _fail_first_load(monkeypatch, "brightspace_pipeline")
        assert _run(found, capsys, monkeypatch, "crash", brightspace_pipeline.main, argv) is None
        assert dlt.attach(pipeline_name="brightspace_pipeline").has_pending_data
        found.add_files("pending", dlt_dir / "dlt")
        assert _run(found, capsys, monkeypatch, "recovery", brightspace_pipeline.main, argv) == 0
        # a wrong client secret, then a wrong refresh token (the stored one gone)
        wrong_secret = "wrong-" + "S" * 40
        found.secrets.add(wrong_secret)
        monkeypatch.setenv("SOURCES__BRIGHTSPACE__CLIENT_SECRET", wrong_secret)
        assert _run(found, capsys, monkeypatch, "bad secret", brightspace_pipeline.main, argv) == 1
        found.add_trace("bad secret", "brightspace_pipeline")
        monkeypatch.setenv("SOURCES__BRIGHTSPACE__CLIENT_SECRET", sb.client_secret)
        token_file.unlink()
        wrong_refresh = "rt.wrong-" + "R" * 40
        found.secrets.add(wrong_refresh)
        monkeypatch.setenv("SOURCES__BRIGHTSPACE__REFRESH_TOKEN", wrong_refresh)
        assert _run(found, capsys, monkeypatch, "bad refresh", brightspace_pipeline.main, argv) == 1
        found.add_trace("bad refresh", "brightspace_pipeline")
    statuses = _scan_outputs(found, logs, dlt_dir, "brightspace_pipeline", "brightspace", "grade_values")
    assert statuses == ["succeeded", "succeeded", "failed", "failed", "succeeded", "failed", "failed"]
    # access and refresh tokens were issued (and recorded) several times over
    assert len(found.secrets) >= 8
    found.assert_clean()
