"""Brightspace source against the sandbox: exact counts, keys, incremental grade values, OAuth rotation."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import dlt
import pytest
import requests

from sandbox.brightspace import BrightspaceSandbox, ThrottleSettings
from sources.brightspace import BrightspaceApi, brightspace_source, connect
from sources.lms_http.errors import LmsApiError, LmsPermissionError
from sources.lms_http.jobs import JobFailedError, PollPolicy
from sources.lms_http.oauth import FileTokenStore, OAuthRefreshError, TokenStore
from sources.lms_http.retry import RetryPolicy

KEYS: dict[str, tuple[str, ...]] = {
    "org_units": ("org_unit_id",),
    "courses": ("org_unit_id",),
    "users": ("user_id",),
    "enrollments": ("org_unit_id", "user_id"),
    "classlists": ("org_unit_id", "user_id"),
    "grade_categories": ("org_unit_id", "category_id"),
    "grade_objects": ("org_unit_id", "grade_object_id"),
    "grade_values": ("org_unit_id", "grade_object_id", "user_id"),
    "final_grades": ("org_unit_id", "user_id"),
    "grade_setup": ("org_unit_id",),
    "attendance_registers": ("attendance_register_id",),
    "attendance_sessions": ("attendance_session_id",),
    "attendance_user_sessions": ("user_id", "attendance_session_id"),
}
TABLES = list(KEYS)
# a smaller run that still spans REST lists, per-course children, grade values and an export job
CORE = ["courses", "enrollments", "grade_objects", "grade_values", "attendance_registers"]
# fast retries and polls: the sandbox's windows and job steps pass in real time
FAST = RetryPolicy(max_attempts=10, base_delay=0.05, max_delay=1.0)
FAST_POLL = PollPolicy(first_delay=0.05, factor=2.0, max_delay=0.5, timeout=30.0)


class SimulatedCrash(RuntimeError):
    """Stands in for the process dying."""


class CrashAfterSave(FileTokenStore):
    """A file store that 'kills the process' right after the n-th refresh token reached disk."""

    def __init__(self, path: Path, crash_on: int) -> None:
        super().__init__(path)
        self.crash_on = crash_on
        self.saves = 0

    def save(self, refresh_token: str) -> None:
        super().save(refresh_token)
        self.saves += 1
        if self.saves == self.crash_on:
            raise SimulatedCrash("process killed right after persisting the rotated refresh token")


def make_api(
    sb: BrightspaceSandbox,
    store: TokenStore | None = None,
    refresh_token: str | None = "initial",
    token_file: Path | None = None,
    **kwargs: Any,
) -> BrightspaceApi:
    return connect(
        sb.base_url,
        sb.client_id,
        sb.client_secret,
        sb.initial_refresh_token if refresh_token == "initial" else refresh_token,
        token_url=sb.token_url,
        token_store=store,
        refresh_token_file=str(token_file) if token_file else None,
        policy=FAST,
        poll_policy=FAST_POLL,
        **kwargs,
    )


def load(
    pipeline: dlt.Pipeline,
    api: BrightspaceApi,
    resources: list[str] | None = None,
    loader_file_format: Any = None,
    **kwargs: Any,
) -> Any:
    source = brightspace_source(api=api, **kwargs)
    if resources:
        source = source.with_resources(*resources)
    info = pipeline.run(source, loader_file_format=loader_file_format)
    assert not info.has_failed_jobs
    return info


def keys_in(pipeline: dlt.Pipeline, table: str, where: str = "") -> list[tuple[Any, ...]]:
    cols = ", ".join(KEYS[table])
    with pipeline.sql_client() as client:
        return [tuple(r) for r in client.execute_sql(f"select {cols} from {table} {where}")]


def assert_matches_truth(pipeline: dlt.Pipeline, sb: BrightspaceSandbox, tables: list[str] = TABLES) -> None:
    truth = sb.truth()
    for table in tables:
        keys = keys_in(pipeline, table)
        assert len(keys) == len(set(keys)), f"duplicate keys in {table}"
        assert len(keys) == truth[table], f"{table}: {len(keys)} rows, sandbox holds {truth[table]}"
        assert set(keys) == sb.truth_keys(table), f"{table}: keys differ from the sandbox"


def find_cause(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    seen: BaseException | None = exc
    while seen is not None and not isinstance(seen, kind):
        seen = seen.__cause__ or seen.__context__
    return seen


def test_full_load_equals_sandbox_truth_and_is_typed(
    sandbox: BrightspaceSandbox, pipeline: dlt.Pipeline, dlt_dir: Path
) -> None:
    api = make_api(sandbox, token_file=dlt_dir / "tokens" / "bs.token")
    load(pipeline, api)
    assert_matches_truth(pipeline, sandbox)
    assert api.stats.throttled == 0
    assert api.stats.as_dict()["by_status"] == {"200": api.stats.requests}
    assert api.versions == {"lp": "1.53", "le": "1.92"}  # the latest /d2l/api/versions/ offers
    # attendance schemes, the fourth attendance data set, arrive too
    with pipeline.sql_client() as client:
        assert client.execute_sql("select count(*) from attendance_schemes")[0][0] == 6
        # Grade Results (the data set carrying IsExempt) holds one row per value record, like the API
        results = client.execute_sql("select org_unit_id, grade_object_id, user_id from grade_results")
    assert len(results) == len(set(results)) == sandbox.truth()["grade_values"]
    assert {tuple(r) for r in results} == sandbox.truth_keys("grade_values")

    schema = pipeline.default_schema
    for table in [*TABLES, "attendance_schemes", "grade_results"]:
        columns = schema.get_table_columns(table)
        assert not [c for c in columns if "__v_" in c], f"variant columns in {table}"
        for name in KEYS.get(table, ()):
            assert columns[name]["data_type"] == "bigint", (table, name)
    values = schema.get_table_columns("grade_values")
    assert values["last_modified"]["data_type"] == "timestamp"
    assert values["points_numerator"]["data_type"] == "double"
    assert values["displayed_grade"]["data_type"] == "text"
    assert schema.get_table_columns("attendance_user_sessions")["last_modified"]["data_type"] == "timestamp"
    with pipeline.sql_client() as client:
        (kind,) = client.execute_sql("select typeof(last_modified) from grade_values limit 1")[0]
        assert kind == "TIMESTAMP WITH TIME ZONE"
        # the SIS key travels with every grade row that has one
        mismatched = client.execute_sql(
            "select count(*) from grade_values g join users u on u.user_id = g.user_id "
            "where g.org_defined_id is distinct from u.org_defined_id"
        )[0][0]
        assert mismatched == 0
        assert (
            client.execute_sql("select count(*) from grade_values where org_defined_id is not null")[0][0] > 0
        )


def test_second_run_adds_nothing_and_an_incremental_run_loads_exactly_the_changes(
    sandbox: BrightspaceSandbox, pipeline: dlt.Pipeline, dlt_dir: Path
) -> None:
    token_file = dlt_dir / "bs.token"
    load(pipeline, make_api(sandbox, token_file=token_file))
    # the configured token is spent; the second run continues from the stored, rotated one
    load(pipeline, make_api(sandbox, token_file=token_file))
    assert_matches_truth(pipeline, sandbox)
    assert pipeline.last_trace.last_normalize_info.row_counts.get("grade_values", 0) == 0
    assert sandbox.stats["refreshes_rejected"] == 0

    # two days (no new weekly Full): grades, a dropped student, attendance marks
    changes = sandbox.advance(2 * 86_400)
    assert (
        changes.changed_grade_values and changes.removed_grade_values and changes.new_attendance_user_sessions
    )
    load(pipeline, make_api(sandbox, token_file=token_file))
    assert_matches_truth(pipeline, sandbox)
    last = pipeline.last_trace.last_normalize_info.loads_ids[-1]
    touched = set(keys_in(pipeline, "grade_values", f"where _dlt_load_id = '{last}'"))
    assert touched == set(changes.changed_grade_values)
    assert not set(keys_in(pipeline, "grade_values")) & set(changes.removed_grade_values)
    # attendance came as a BDS differential: the new marks, not the whole data set again
    new_marks = set(keys_in(pipeline, "attendance_user_sessions", f"where _dlt_load_id = '{last}'"))
    assert new_marks >= set(changes.new_attendance_user_sessions)
    assert len(new_marks) < sandbox.truth()["attendance_user_sessions"]


def test_strict_throttle_completes_with_nothing_lost(dlt_dir: Path) -> None:
    # the "strict" preset's budget (100 credits = 10 calls) per window, with a 1 s window so the
    # test does not wait out real minutes; the governor paces from X-Rate-Limit-* headers
    strict = ThrottleSettings(credits_per_window=100, window_seconds=1.0)
    with BrightspaceSandbox(size="small", seed=11, throttle=strict) as sb:
        pipeline = dlt.pipeline(
            "bs_strict",
            destination=dlt.destinations.duckdb(str(dlt_dir / "strict.duckdb")),
            dataset_name="bs",
        )
        # another client of the same app empties the bucket first: our first call meets a 429
        other = requests.post(
            sb.token_url,
            data={"grant_type": "refresh_token", "refresh_token": sb.issue_refresh_token()},
            auth=(sb.client_id, sb.client_secret),
            timeout=10,
        ).json()["access_token"]
        with requests.Session() as session:
            while (
                session.get(
                    f"{sb.base_url}/d2l/api/lp/1.53/users/whoami",
                    headers={"Authorization": f"Bearer {other}"},
                ).status_code
                != 429
            ):
                pass
        api = make_api(sb, token_file=dlt_dir / "bs.token")
        load(pipeline, api, resources=CORE)
        assert_matches_truth(pipeline, sb, CORE)
        assert api.stats.governor_waits > 0
        # the 429 was waited out (Retry-After) and retried; the governor kept further ones rare
        assert 1 <= api.stats.throttled <= 3
        assert api.stats.retries["throttled"] == api.stats.throttled


def test_run_spanning_many_token_expiries_and_rotations(dlt_dir: Path) -> None:
    # 2 s access tokens: refreshed proactively (a quarter of the lifetime early: 0.5 s leaves room
    # for a busy machine between the check and the request), each refresh
    # rotating the refresh token; the crash test below covers tokens dying before `expires_in`
    with BrightspaceSandbox(size="small", seed=11, access_token_ttl=2.0) as sb:
        sb.latency = 0.12  # with two requests in flight, the run spans several token lifetimes
        pipeline = dlt.pipeline(
            "bs_ttl", destination=dlt.destinations.duckdb(str(dlt_dir / "ttl.duckdb")), dataset_name="bs"
        )
        token_file = dlt_dir / "bs.token"
        api = make_api(sb, token_file=token_file, max_in_flight=2)
        load(pipeline, api, resources=CORE)
        assert_matches_truth(pipeline, sb, CORE)
        assert api.auth.refreshes >= 3, api.auth.refreshes
        assert api.auth.reactive_refreshes == 0  # never waited for a 401
        assert sb.stats["refreshes_rejected"] == 0 and sb.stats["token_requests"] == api.auth.refreshes
        # the stored refresh token is the live one: the token endpoint accepts it
        stored = FileTokenStore(token_file).load()
        assert stored and stored != sb.initial_refresh_token
        reply = requests.post(
            sb.token_url,
            data={"grant_type": "refresh_token", "refresh_token": stored},
            auth=(sb.client_id, sb.client_secret),
            timeout=10,
        )
        assert reply.status_code == 200


def test_crash_right_after_a_refresh_then_rerun_from_the_persisted_token(dlt_dir: Path) -> None:
    with BrightspaceSandbox(size="small", seed=11, access_token_ttl=2.0) as sb:
        sb.latency = (
            0.15  # long enough a run for three refreshes (about 3 token lifetimes; 0.06 was not always)
        )
        pipeline = dlt.pipeline(
            "bs_crash", destination=dlt.destinations.duckdb(str(dlt_dir / "crash.duckdb")), dataset_name="bs"
        )
        token_file = dlt_dir / "bs.token"
        crashing = CrashAfterSave(token_file, crash_on=3)
        with pytest.raises(Exception) as info:
            load(pipeline, make_api(sb, store=crashing, max_in_flight=2), resources=CORE)
        assert find_cause(info.value, SimulatedCrash) is not None
        persisted = FileTokenStore(token_file).load()
        # (other workers of the 'killed' run may still refresh once from the file before it stops)
        assert persisted and crashing.saves >= 3
        # a new process: the configured token is long spent, the file holds the live one
        sb.reset_stats()
        api = make_api(sb, token_file=token_file)
        load(pipeline, api, resources=CORE)
        assert_matches_truth(pipeline, sb, CORE)
        assert sb.stats["refreshes_rejected"] == 0


def test_revoked_access_token_mid_run_is_healed_by_one_refresh(
    sandbox: BrightspaceSandbox, pipeline: dlt.Pipeline, dlt_dir: Path
) -> None:
    api = make_api(sandbox, token_file=dlt_dir / "bs.token")
    rows = api.rows
    calls = {"n": 0}
    lock = threading.Lock()

    def rows_revoking_once(*args: Any, **kwargs: Any) -> Any:
        with lock:
            calls["n"] += 1
            if calls["n"] == 12:
                sandbox.revoke_access_tokens()
        return rows(*args, **kwargs)

    api.rows = rows_revoking_once  # type: ignore[method-assign]
    load(pipeline, api)
    assert_matches_truth(pipeline, sandbox)
    assert api.auth.reactive_refreshes == 1
    assert sandbox.stats["token_requests"] == 2  # the first token and the one healing refresh
    assert 1 <= api.stats.as_dict()["by_status"].get("401", 0) <= 8


def test_invalid_refresh_token_fails_fast_with_a_clear_error(
    sandbox: BrightspaceSandbox, pipeline: dlt.Pipeline, dlt_dir: Path
) -> None:
    token_file = dlt_dir / "bs.token"
    api = make_api(sandbox, refresh_token="rt.not-a-real-token", token_file=token_file)
    with pytest.raises(Exception) as info:
        load(pipeline, api, resources=CORE)
    err = find_cause(info.value, OAuthRefreshError)
    assert isinstance(err, OAuthRefreshError)
    message = str(err)
    assert "invalid_grant" in message and "[sources.brightspace] refresh_token" in message
    assert str(token_file) in message
    assert "rt.not-a-real-token" not in message and sandbox.client_secret not in message
    stats = sandbox.stats
    assert stats["token_requests"] == 1 and stats["refreshes_rejected"] == 1
    assert stats["requests"] <= 2  # the token request and at most the public versions route
    assert not token_file.exists()


def test_tokens_never_reach_state_trace_logs_or_files(
    sandbox: BrightspaceSandbox, pipeline: dlt.Pipeline, dlt_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    token_file = dlt_dir / "tokens" / "bs.token"
    api = make_api(sandbox, token_file=token_file)
    with caplog.at_level(logging.DEBUG):
        load(pipeline, api, resources=CORE)
        load(pipeline, make_api(sandbox, token_file=token_file), resources=CORE)
    secrets = {
        sandbox.client_secret,
        sandbox.initial_refresh_token,
        FileTokenStore(token_file).load(),
        api.auth._access_token,
    }
    assert None not in secrets
    texts = [
        str(pipeline.state),
        str(pipeline.last_trace),
        repr(pipeline.last_trace),
        caplog.text,
        repr(api.auth),
    ]
    for secret in secrets:
        assert all(secret not in text for text in texts)
    files = [p for p in Path(pipeline.working_dir).rglob("*") if p.is_file()] + [dlt_dir / "bs.duckdb"]
    for path in files:
        data = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in data, path
    assert oct(token_file.stat().st_mode & 0o777) == "0o600"


def test_export_job_error_is_a_clear_error(sandbox: BrightspaceSandbox, pipeline: dlt.Pipeline) -> None:
    sandbox.fail_next_export = True
    with pytest.raises(Exception) as info:
        load(pipeline, make_api(sandbox), resources=["ads_all_grades"], ads_data_sets=["All Grades"])
    err = find_cause(info.value, JobFailedError)
    assert isinstance(err, JobFailedError)
    assert "All Grades" in str(err) and err.job_id in str(err) and "Error" in str(err)


def test_org_unit_shard_loads_only_its_courses(sandbox: BrightspaceSandbox, pipeline: dlt.Pipeline) -> None:
    courses = sorted(k[0] for k in sandbox.truth_keys("courses"))
    api = make_api(sandbox)
    shard = courses[:2]
    load(pipeline, api, resources=CORE, org_unit_ids=shard)
    assert sorted(k[0] for k in keys_in(pipeline, "courses")) == shard
    expected = {k for k in sandbox.truth_keys("grade_values") if k[0] in shard}
    assert set(keys_in(pipeline, "grade_values")) == expected
    with pipeline.sql_client() as client:
        registers = {r[0] for r in client.execute_sql("select org_unit_id from attendance_registers")}
    assert registers == set(courses)  # Brightspace Data Sets are organisation-wide: a shard loads them whole
    # a second shard into the same dataset leaves the first one's rows alone
    load(pipeline, api, resources=CORE, org_unit_ids=courses[2:4])
    expected |= {k for k in sandbox.truth_keys("grade_values") if k[0] in courses[2:4]}
    assert set(keys_in(pipeline, "grade_values")) == expected


def test_api_version_override_is_used_and_checked(
    sandbox: BrightspaceSandbox, pipeline: dlt.Pipeline
) -> None:
    api = make_api(sandbox, api_versions={"le": "1.80"})
    assert api.versions == {"lp": "1.53", "le": "1.80"}
    load(pipeline, api, resources=["courses", "grade_setup"])
    assert len(keys_in(pipeline, "grade_setup")) == sandbox.truth()["grade_setup"]
    with pytest.raises(LmsApiError, match="api_versions"):
        _ = make_api(sandbox, api_versions={"lp": "9.99"}).versions


@pytest.mark.postgres
def test_postgres_load_gives_the_same_counts(
    sandbox: BrightspaceSandbox, dlt_dir: Path, postgres_dataset: str
) -> None:
    from tests.conftest import POSTGRES_DSN

    pipeline = dlt.pipeline(
        "brightspace_pg", destination=dlt.destinations.postgres(POSTGRES_DSN), dataset_name=postgres_dataset
    )
    token_file = dlt_dir / "bs.token"
    load(pipeline, make_api(sandbox, token_file=token_file))
    assert_matches_truth(pipeline, sandbox)
    sandbox.advance()
    load(pipeline, make_api(sandbox, token_file=token_file))
    assert_matches_truth(pipeline, sandbox)


def test_forbidden_course_is_skipped_and_reported_or_fails_in_strict_mode(
    sandbox: BrightspaceSandbox, pipeline: dlt.Pipeline
) -> None:
    shard = sorted(k[0] for k in sandbox.truth_keys("courses"))[:2]
    sandbox.fail_next(1, 403)  # the first course route called answers 403 (no permission)
    api = make_api(sandbox, max_in_flight=1)
    load(pipeline, api, resources=["courses", "grade_setup"], org_unit_ids=shard)
    skipped = api.stats.skipped
    assert [s["resource"] for s in skipped] == ["courses"]
    forbidden = skipped[0]["org_unit_id"]
    loaded = [k[0] for k in keys_in(pipeline, "courses")]
    assert loaded == [ou for ou in shard if ou != forbidden]
    assert [k[0] for k in keys_in(pipeline, "grade_setup")] == loaded  # no children of a skipped course
    course = forbidden
    sandbox.fail_next(1, 403)
    with pytest.raises(Exception) as info:
        load(pipeline, make_api(sandbox), resources=["courses"], org_unit_ids=[course], strict=True)
    assert isinstance(find_cause(info.value, LmsPermissionError), LmsPermissionError)


def test_source_reads_its_settings_from_dlt_config(
    sandbox: BrightspaceSandbox, pipeline: dlt.Pipeline, dlt_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token_file = dlt_dir / "secret" / "bs.token"
    for name, value in {
        "BASE_URL": sandbox.base_url,
        "CLIENT_ID": sandbox.client_id,
        "CLIENT_SECRET": sandbox.client_secret,
        "REFRESH_TOKEN": sandbox.initial_refresh_token,
        "TOKEN_URL": sandbox.token_url,
        "REFRESH_TOKEN_FILE": str(token_file),
    }.items():
        monkeypatch.setenv(f"SOURCES__BRIGHTSPACE__{name}", value)
    info = pipeline.run(brightspace_source().with_resources("courses", "grade_setup"))
    assert not info.has_failed_jobs
    assert len(keys_in(pipeline, "grade_setup")) == sandbox.truth()["grade_setup"]
    assert FileTokenStore(token_file).load() not in (None, sandbox.initial_refresh_token)
    assert sandbox.client_secret not in str(pipeline.last_trace)
