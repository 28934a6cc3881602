"""Crash loop: SIGKILL the pipeline process at random points of extract, normalize and load; every next
run recovers and the warehouse ends equal to the sandbox's truth."""

from __future__ import annotations

import os
import queue
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pytest

from bench.sandbox_process import SandboxProcess
from sandbox.brightspace import BrightspaceSandbox
from sandbox.canvas import CanvasSandbox

ROOT = Path(__file__).resolve().parents[2]
# a line a run prints -> the stage that starts with it (pipelines/load.py, through the CLI's notify)
MARKERS = (
    ("Finishing the load left pending", "pending"),
    ("Finished the pending load", "extract"),
    ("Extracting from", "extract"),
    ("Extracting batch", "extract"),  # "Extracting batch 2 of 3 ...": a run loading its courses in batches
    ("Normalizing ...", "normalize"),
    ("Loading into", "load"),
    ("Storing the run report", "summary"),  # killed while storing its report (pipelines/load.py)
)
STAGES = ("extract", "normalize", "load")
# first guesses of each stage's length (seconds); replaced by what the runs show
GUESSED_SECONDS = {"extract": 1.0, "normalize": 0.8, "load": 1.5}
CANVAS_KEYS = {
    "accounts": ("id",),
    "terms": ("id",),
    "courses": ("id",),
    "sections": ("id",),
    "users": ("id",),
    "enrollments": ("id",),
    "assignment_groups": ("id",),
    "assignments": ("id",),
    "submissions": ("course_id", "assignment_id", "user_id"),
    "student_summaries": ("course_id", "user_id"),
    "course_activity": ("course_id", "date"),
}
RUN_TIMEOUT = 120.0


@dataclass
class RunOutcome:
    """One pipeline process: where it was killed (if it was), its exit code and output."""

    target: str | None
    stage_at_kill: str | None
    returncode: int
    output: str
    stage_seconds: dict[str, float] = field(default_factory=dict)
    # load packages the kill left behind: extracted (not normalized) and normalized (not loaded)
    left_extracted: int = 0
    left_normalized: int = 0


def _stage_of(line: str) -> str | None:
    for prefix, stage in MARKERS:
        if line.startswith(prefix):
            return stage
    return None


def run_pipeline(
    script: str, env: dict[str, str], cwd: Path, target: str | None, delay: float, rng: random.Random
) -> RunOutcome:
    """Run `script`; with a `target` stage, SIGKILL it `delay` seconds after that stage starts."""
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "pipelines" / script), "--no-transform"],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    events: queue.Queue[tuple[float, str | None]] = queue.Queue()
    lines: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            stage = _stage_of(line)
            if stage:
                events.put((time.monotonic(), stage))
        events.put((time.monotonic(), None))  # end of output

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    seen: list[tuple[float, str]] = []
    stage_at_kill: str | None = None
    deadline = time.monotonic() + RUN_TIMEOUT
    kill_at: float | None = None
    while True:
        timeout = max(0.0, (kill_at if kill_at is not None else deadline) - time.monotonic())
        try:
            at, stage = events.get(timeout=timeout)
        except queue.Empty:
            if kill_at is None:  # the run hung
                proc.kill()
                pytest.fail(f"{script} did not finish in {RUN_TIMEOUT}s:\n{''.join(lines)}")
            stage_at_kill = seen[-1][1] if seen else "startup"
            os.kill(proc.pid, signal.SIGKILL)
            break
        if stage is None:
            break
        seen.append((at, stage))
        if target is not None and kill_at is None and stage == target:
            kill_at = at + delay
    proc.wait(timeout=RUN_TIMEOUT)
    reader.join(timeout=10)
    if stage_at_kill is not None and proc.returncode != -signal.SIGKILL:
        stage_at_kill = None  # the process ended on its own just before the signal
    seconds = {a[1]: round(b[0] - a[0], 3) for a, b in zip(seen, seen[1:], strict=False) if a[1] in STAGES}
    return RunOutcome(target, stage_at_kill, proc.returncode, "".join(lines), seconds)


@dataclass
class CrashLoop:
    """Kill runs of one pipeline at random stage offsets, then run it to the end."""

    script: str
    env: dict[str, str]
    cwd: Path
    rng: random.Random
    expected: dict[str, float] = field(default_factory=lambda: dict(GUESSED_SECONDS))
    kills: list[RunOutcome] = field(default_factory=list)
    runs: list[RunOutcome] = field(default_factory=list)
    # Brightspace: a new refresh token (the operator's browser consent), and the env it goes in
    reconsent: Callable[[], dict[str, str]] | None = None
    reconsents: int = 0

    def _run(self, target: str | None, delay: float) -> RunOutcome:
        outcome = run_pipeline(self.script, self.env, self.cwd, target, delay, self.rng)
        killed_before = bool(self.runs) and self.runs[-1].stage_at_kill is not None
        if (
            self.reconsent is not None
            and outcome.stage_at_kill is None
            and outcome.returncode != 0
            and "invalid_grant" in outcome.output
            and killed_before
            and self.reconsents == 0
        ):
            # refresh tokens are single-use (brightspace-api.md section 7): a kill after the token
            # endpoint answered and before the new token reached its file loses the token, and the
            # run says to consent again and delete the token file; the loop does that, once
            self.reconsents += 1
            self.env.update(self.reconsent())
            Path(self.env["SOURCES__BRIGHTSPACE__REFRESH_TOKEN_FILE"]).unlink(missing_ok=True)
            self.runs.append(outcome)
            outcome = run_pipeline(self.script, self.env, self.cwd, target, delay, self.rng)
        return outcome

    def kill_once(self, target: str, scale: float = 0.9) -> RunOutcome:
        delay = self.rng.uniform(0.02, scale * self.expected[target])
        outcome = self._run(target, delay)
        self.runs.append(outcome)
        for stage, seconds in outcome.stage_seconds.items():
            self.expected[stage] = max(0.1, seconds)
        if outcome.stage_at_kill is None:
            # the run ended before the kill: it must have recovered and finished cleanly
            assert outcome.returncode == 0, outcome.output
        else:
            assert outcome.returncode == -signal.SIGKILL, outcome.output
            work = self.cwd / "dlt" / "pipelines" / self.script.removesuffix(".py")
            outcome.left_extracted = _packages(work / "normalize" / "extracted")
            outcome.left_normalized = _packages(work / "load" / "normalized")
            self.kills.append(outcome)
        return outcome

    def missing(self) -> list[str]:
        """Stages no kill has exercised yet."""
        done = {
            "extract": any(k.stage_at_kill == "extract" for k in self.kills),
            "normalize": any(k.stage_at_kill == "normalize" and k.left_extracted for k in self.kills),
            "load": any(k.stage_at_kill == "load" and k.left_normalized for k in self.kills),
        }
        return [stage for stage in STAGES if not done[stage]]

    def run(self, kills_per_stage: int, extra_attempts: int) -> Counter[str]:
        for _ in range(kills_per_stage):
            for target in STAGES:
                self.kill_once(target)
        # a stage that every kill missed gets more tries, earlier into the stage: missed means the
        # kill came after the stage (or the process) ended, or, for normalize and load, that it
        # left no extracted or no normalized package behind
        for _ in range(extra_attempts):
            missing = self.missing()
            if not missing:
                break
            self.kill_once(missing[0], scale=0.4)
        hit = Counter(k.stage_at_kill for k in self.kills)
        final = self._run(None, 0.0)
        self.runs.append(final)
        assert final.returncode == 0, final.output
        assert "run report" in final.output
        return hit


def _packages(folder: Path) -> int:
    return sum(1 for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else 0


def _base_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "DESTINATION__"))}
    env.update(
        RUNTIME__DLTHUB_TELEMETRY="false",
        DLT_DATA_DIR=str(tmp / "dlt"),
        PYTHONUNBUFFERED="1",
    )
    return env


def _dest_keys(con: duckdb.DuckDBPyConnection, table: str, columns: tuple[str, ...]) -> list[tuple[Any, ...]]:
    rows = con.execute(f"select {', '.join(columns)} from {table}").fetchall()
    return [tuple(str(v) if not isinstance(v, int) else v for v in row) for row in rows]


def _report_kills(loop: CrashLoop, seed: int, hit: Counter[str]) -> str:
    points = ", ".join(
        f"{k.target}->{k.stage_at_kill} (left {k.left_extracted} extracted, {k.left_normalized} normalized)"
        for k in loop.kills
    )
    consent = f"; a kill lost the refresh token {loop.reconsents} time(s)" if loop.reconsents else ""
    return f"seed {seed}: {len(loop.kills)} kills ({dict(hit)}): {points}{consent}"


def test_canvas_survives_sigkill_in_every_stage(tmp_path: Path, soak: bool) -> None:
    seed = int(os.environ.get("LMS_CRASH_SEED", random.randrange(1_000_000)))
    rng = random.Random(seed)
    # the truth is computed on a local copy of the same institution, advanced in step with the served one
    local = CanvasSandbox(size="small", seed=7, throttle="off")
    with SandboxProcess("canvas", size="small", seed=7, throttle="off") as sb:
        env = _base_env(tmp_path)
        env.update(SOURCES__CANVAS__BASE_URL=sb.base_url, SOURCES__CANVAS__ACCESS_TOKEN=str(sb.token))
        # 12 courses in batches of 5: kills land between and inside the three load packages of a run
        # (Brightspace's loop below keeps the default, one package at small)
        env.update(LOAD__BATCH_COURSES="5")
        loop = CrashLoop("canvas_pipeline.py", env, tmp_path, rng)
        rounds = 10 if soak else 2
        for round_no in range(rounds):
            if round_no:  # data changes between rounds: incremental submissions must follow
                sb.call("advance")
                local.advance()
            hit = loop.run(kills_per_stage=1, extra_attempts=4)
        assert sb.call("truth") == local.truth()
    print(_report_kills(loop, seed, hit))
    assert all(hit[s] for s in STAGES) and not loop.missing(), _report_kills(loop, seed, hit)
    _assert_both_pending_kinds_recovered(loop, seed, hit)

    con = duckdb.connect(str(tmp_path / "canvas_pipeline.duckdb"), read_only=True)
    con.execute("set schema 'canvas'")
    for table, columns in CANVAS_KEYS.items():
        keys = _dest_keys(con, table, columns)
        assert len(keys) == len(set(keys)), f"{table}: duplicate keys"
        truth = {tuple(str(v) if not isinstance(v, int) else v for v in k) for k in local.truth_keys(table)}
        assert set(keys) == truth, table
    # the incremental submissions carry the latest grades, not the ones of a killed run
    dest = {
        (c, a, u): (state, score)
        for c, a, u, state, score in con.execute(
            "select course_id, assignment_id, user_id, workflow_state, score from submissions"
        ).fetchall()
    }
    truth_rows = {
        (r["course_id"], r["assignment_id"], r["user_id"]): (r["workflow_state"], r["score"])
        for r in local.truth_rows("submissions")
    }
    assert dest == truth_rows
    # one report per run that got as far as storing it; a run killed while storing its report has its
    # report loaded by the next run (never twice)
    (rows, runs, statuses) = con.execute(
        "select count(*), count(distinct run_id), list(distinct status) from run_reports"
    ).fetchone()  # type: ignore[misc]
    stored = sum("stored in table canvas.run_reports" in r.output for r in loop.runs)
    killed_while_storing = sum(k.stage_at_kill == "summary" for k in loop.kills)
    assert rows == runs and statuses == ["succeeded"]
    unstored = "\n\n".join(
        f"run {i} (killed in {r.stage_at_kill}, exit {r.returncode}):\n{r.output[-2500:]}"
        for i, r in enumerate(loop.runs)
        if "stored in table canvas.run_reports" not in r.output and r.stage_at_kill is None
    )
    assert rounds <= stored <= rows <= stored + killed_while_storing, (
        f"{rounds} rounds, {stored} stored, {rows} rows; runs that ended without storing:\n{unstored}"
    )
    con.close()


def _assert_both_pending_kinds_recovered(loop: CrashLoop, seed: int, hit: Counter[str]) -> None:
    """Kills left an extracted-only package and a normalized-only package; later runs finished both."""
    message = _report_kills(loop, seed, hit)
    assert any(k.left_extracted for k in loop.kills), message
    assert any(k.left_normalized for k in loop.kills), message
    work = loop.cwd / "dlt" / "pipelines" / loop.script.removesuffix(".py")
    assert _packages(work / "normalize" / "extracted") == _packages(work / "load" / "normalized") == 0


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def test_brightspace_survives_sigkill_in_every_stage(tmp_path: Path, soak: bool) -> None:
    from sandbox.brightspace.truth import KEYS

    seed = int(os.environ.get("LMS_CRASH_SEED", random.randrange(1_000_000)))
    rng = random.Random(seed)
    with SandboxProcess("brightspace", size="small", seed=11, throttle="off", job_step_seconds=0.0) as sb:
        info = sb.info
        env = _base_env(tmp_path)
        env.update(
            SOURCES__BRIGHTSPACE__BASE_URL=sb.base_url,
            SOURCES__BRIGHTSPACE__CLIENT_ID=info["client_id"],
            SOURCES__BRIGHTSPACE__CLIENT_SECRET=info["client_secret"],
            SOURCES__BRIGHTSPACE__REFRESH_TOKEN=info["refresh_token"],
            SOURCES__BRIGHTSPACE__TOKEN_URL=info["token_url"],
            SOURCES__BRIGHTSPACE__REFRESH_TOKEN_FILE=str(tmp_path / "brightspace_refresh.token"),
        )
        loop = CrashLoop(
            "brightspace_pipeline.py",
            env,
            tmp_path,
            rng,
            reconsent=lambda: {"SOURCES__BRIGHTSPACE__REFRESH_TOKEN": sb.call("issue_refresh_token")},
        )
        hit = loop.run(kills_per_stage=5 if soak else 1, extra_attempts=4)
        truth = sb.initial_truth
    print(_report_kills(loop, seed, hit))
    assert all(hit[s] for s in STAGES) and not loop.missing(), _report_kills(loop, seed, hit)
    _assert_both_pending_kinds_recovered(loop, seed, hit)

    local = BrightspaceSandbox(size="small", seed=11)
    con = duckdb.connect(str(tmp_path / "brightspace_pipeline.duckdb"), read_only=True)
    con.execute("set schema 'brightspace'")
    for table, columns in KEYS.items():
        keys = _dest_keys(con, table, tuple(_snake(c) for c in columns))
        assert len(keys) == len(set(keys)) == truth[table], table
        expected = {
            tuple(str(v) if not isinstance(v, int) else v for v in k) for k in local.truth_keys(table)
        }
        assert set(keys) == expected, table
    con.close()
