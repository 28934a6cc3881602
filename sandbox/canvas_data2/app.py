"""The DAP Query API as a WSGI app: login, tables, schemas, query jobs, object URLs and downloads.

Routes, bodies and errors follow docs/canvas-data-2.md sections 2-6 and 13: every API reply (errors
too) is `application/json`; errors are `{"error": {"type", "uuid", "message", ...}}`; objects carry
no fields beyond the documented ones (the official client's parser is strict).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import threading
import uuid
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from .auth import RouteLimits, Tokens
from .encode import EXTENSIONS, FORMATS, ts_text, write_parts
from .lake import Lake, OutOfRange, SnapshotRequired
from .tables import NAMESPACES, Table

JOB_LIFETIME = 24 * 3600  # section 4: jobs and objects are deleted 24 hours after the start
_ROUTES = Map(
    [
        Rule("/ids/auth/login", endpoint="login", methods=["POST"]),
        Rule("/dap/query/<namespace>/table", endpoint="list_tables", methods=["GET"]),
        Rule("/dap/query/<namespace>/table/<table>/schema", endpoint="schema", methods=["GET"]),
        Rule("/dap/query/<namespace>/table/<table>/data", endpoint="create_job", methods=["POST"]),
        Rule("/dap/job/<job_id>", endpoint="get_job", methods=["GET"]),
        Rule("/dap/object/url", endpoint="object_url", methods=["POST"]),
        Rule("/objects/<path:object_id>", endpoint="download", methods=["GET"]),
    ]
)


class DapError(Exception):
    """An error reply (section 6)."""

    def __init__(
        self,
        status: int,
        error_type: str,
        message: str,
        headers: Iterable[tuple[str, str]] = (),
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status, self.kind, self.message, self.extra = status, error_type, message, extra
        self.headers = list(headers)


@dataclass
class Job:
    """A query job: its object files are written when it is created (so its records are fixed)."""

    id: str
    table: Table
    fmt: str
    mode: str
    files: list[Path]
    schema_version: int
    started: float
    since: int | None = None  # incremental
    until: int = 0  # incremental until, or the snapshot's `at`
    polls_left: int = 0
    fail: bool = False
    polls: int = 0
    objects: list[str] = field(default_factory=list)

    @property
    def incremental(self) -> bool:
        return self.since is not None


@dataclass
class Settings:
    """Server knobs the sandbox exposes."""

    client_id: str
    client_secret: str
    job_polls: int = 2  # GETs of a job before it completes: waiting, then running, then complete
    object_rows: int = 100_000  # records per object file
    fail_jobs: int = 0  # the next n jobs end `failed`


class DapApp:
    """The WSGI app over a lake and a table registry."""

    def __init__(
        self,
        lake: Lake,
        tables: dict[tuple[str, str], Table],
        settings: Settings,
        tokens: Tokens,
        limits: RouteLimits,
        clock: Callable[[], float],
        *,
        workdir: Path,
        hold_rows: Callable[[], AbstractContextManager[Any]],
    ) -> None:
        self.lake, self.tables, self.settings = lake, tables, settings
        self.tokens, self.limits, self.clock = tokens, limits, clock
        self.workdir, self.hold_rows = workdir, hold_rows
        self.jobs: dict[str, Job] = {}
        # the object files of a query already answered since the latest refresh: DAP may hand an
        # identical query its existing job (section 4, "re-used jobs"); here it shares the files
        self._results: dict[tuple[Any, ...], list[Path]] = {}
        self.requests: dict[str, int] = {}
        self._lock = threading.Lock()
        self._signing_key = hashlib.sha256(settings.client_secret.encode() + b":objects").digest()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        try:
            endpoint, args = _ROUTES.bind_to_environ(environ).match()
        except HTTPException:
            response = _error(DapError(404, "NotFoundError", "The requested resource does not exist."))
            return response(environ, start_response)
        with self._lock:
            self.requests[endpoint] = self.requests.get(endpoint, 0) + 1
        try:
            response = getattr(self, f"_{endpoint}")(request, **args)
        except DapError as exc:
            response = _error(exc)
        return response(environ, start_response)

    # ---- auth ----------------------------------------------------------------------------------
    def _login(self, request: Request) -> Response:
        # section 2: Basic base64(id:secret), form grant_type=client_credentials
        header = request.headers.get("Authorization", "")
        try:
            client_id, _, secret = base64.b64decode(header.removeprefix("Basic ")).decode().partition(":")
        except ValueError:
            client_id, secret = "", ""
        if not header.startswith("Basic ") or (client_id, secret) != (
            self.settings.client_id,
            self.settings.client_secret,
        ):
            raise DapError(401, "AuthenticationError", "Invalid client credentials.")
        if request.form.get("grant_type") != "client_credentials":
            raise DapError(400, "ValidationError", "grant_type must be client_credentials.")
        return _json(
            {
                "access_token": self.tokens.issue(client_id),
                "expires_in": self.tokens.lifetime,
                "scope": f"urn:dap:sandbox principal:{client_id} partner:sandbox region:local",
                "token_type": "bearer",
            }
        )

    def _client(self, request: Request, route: str) -> str:
        header = request.headers.get("Authorization", "")
        subject = self.tokens.subject(header[7:]) if header[:7].lower() == "bearer " else None
        if subject is None:
            raise DapError(401, "AuthenticationError", "Missing, invalid or expired access token.")
        wait = self.limits.admit(subject, route)
        if wait is not None:
            # section 7: the client waits Retry-After on a 429 (the body's type is UNCONFIRMED)
            raise DapError(
                429,
                "TooManyRequests",
                f"Rate limit exceeded: at most {self.limits.limits[route]} calls a minute to this route.",
                headers=[("Retry-After", str(math.ceil(wait)))],
            )
        return subject

    # ---- tables and schemas ----------------------------------------------------------------------
    def _table(self, namespace: str, name: str) -> Table:
        if namespace not in NAMESPACES:
            raise DapError(
                404, "NotFoundError", f"Namespace {namespace} does not exist.", id=namespace, kind="namespace"
            )
        table = self.tables.get((namespace, name))
        if table is None:
            raise DapError(404, "NotFoundError", f"Table {name} does not exist.", id=name, kind="table")
        return table

    def _list_tables(self, request: Request, namespace: str) -> Response:
        self._client(request, "list_tables")
        if namespace not in NAMESPACES:
            raise DapError(
                404, "NotFoundError", f"Namespace {namespace} does not exist.", id=namespace, kind="namespace"
            )
        return _json({"tables": sorted(n for ns, n in self.tables if ns == namespace)})

    def _schema(self, request: Request, namespace: str, table: str) -> Response:
        self._client(request, "schema")
        t = self._table(namespace, table)
        return _json({"schema": t.json_schema(), "version": t.version})

    # ---- jobs ----------------------------------------------------------------------------------
    def _create_job(self, request: Request, namespace: str, table: str) -> Response:
        self._client(request, "create_job")
        t = self._table(namespace, table)
        query = _body(request)
        if not isinstance(query, dict):
            raise DapError(400, "ValidationError", "The query must be a JSON object.")
        unknown = set(query) - {"format", "mode", "since", "until"}
        if unknown:  # section 3: `filter` is not implemented and must be omitted
            raise DapError(400, "ValidationError", f"Unsupported query fields: {sorted(unknown)}.")
        fmt = query.get("format")
        if fmt not in FORMATS:
            raise DapError(400, "ValidationError", f"format must be one of {list(FORMATS)}.")
        mode = query.get("mode") or "expanded"
        if mode not in ("expanded", "condensed"):
            raise DapError(400, "ValidationError", "mode must be expanded or condensed.")
        job_id = str(uuid.uuid4())
        s = self.settings
        if query.get("since") is None:
            with self.hold_rows():
                at = self.lake.refreshed_at
                files = self._files(t, fmt, mode, None, at)
            job = Job(job_id, t, fmt, mode, files, t.version, self.clock(), until=at)
        else:
            since = _instant(query["since"], "since")
            until = None if query.get("until") is None else _instant(query["until"], "until")
            try:
                with self.hold_rows():
                    end = self.lake.check_incremental(t, since, until)
                    files = self._files(t, fmt, mode, since, end)
            except SnapshotRequired:
                raise DapError(
                    400,
                    "SnapshotRequired",
                    "The table was reloaded recently. A new snapshot is required.",
                    since=query["since"],
                    until=query.get("until"),
                ) from None
            except OutOfRange:
                raise DapError(
                    400,
                    "OutOfRange",
                    "The table was queried outside of the allowed time range.",
                    since=query["since"],
                    until=query.get("until"),
                ) from None
            job = Job(job_id, t, fmt, mode, files, t.version, self.clock(), since=int(since), until=end)
        with self._lock:
            job.polls_left = s.job_polls
            if s.fail_jobs > 0:
                s.fail_jobs -= 1
                job.fail = True
            job.objects = [f"{job_id}/part-{i:05d}.{EXTENSIONS[fmt]}" for i in range(len(files))]
            self.jobs[job_id] = job
        return _json(self._job_json(job))

    def _files(self, table: Table, fmt: str, mode: str, since: float | None, end: int) -> list[Path]:
        """The object files of a query (call with the institution's rows held): written once per
        query and refresh, `object_rows` records each, one part in memory at a time. How many
        objects a job has is the server's choice (docs/canvas-data-2.md sections 4-5 give no
        count; the client downloads every listed object), so a big table comes as many parts."""
        incremental = since is not None
        key = (table.namespace, table.name, table.version, fmt, mode, since, end, self.lake.refreshed_at)
        files = self._results.get(key)
        if files is None:
            records = self.lake.records(table, since, end if incremental else None)
            directory = self.workdir / uuid.uuid4().hex
            files = write_parts(table, records, fmt, mode, incremental, directory, self.settings.object_rows)
            self._results[key] = files
        return files

    def _get_job(self, request: Request, job_id: str) -> Response:
        self._client(request, "get_job")
        job = self._job(job_id)
        with self._lock:
            job.polls += 1
            job.polls_left = max(0, job.polls_left - 1)
        return _json(self._job_json(job))

    def _job(self, job_id: str) -> Job:
        job = self.jobs.get(job_id)
        if job is None or self.clock() > job.started + JOB_LIFETIME:
            raise DapError(
                404, "NotFoundError", f"Job {job_id} does not exist or has expired.", id=job_id, kind="job"
            )
        return job

    def _job_json(self, job: Job) -> dict[str, Any]:
        # section 4: the shape is picked by the fields present, so no extra fields
        expires = ts_text(int(job.started + JOB_LIFETIME))
        if job.polls_left >= 2:
            return {"id": job.id, "status": "waiting", "expires_at": expires}
        if job.polls_left == 1:
            return {"id": job.id, "status": "running", "expires_at": expires}
        if job.fail:
            return {
                "id": job.id,
                "status": "failed",
                "expires_at": expires,
                "error": {"type": "ProcessingError", "uuid": job.id, "message": "Internal server error"},
            }
        out: dict[str, Any] = {
            "id": job.id,
            "status": "complete",
            "expires_at": expires,
            "objects": [{"id": o} for o in job.objects],
            "schema_version": job.schema_version,
        }
        if job.incremental:
            out["since"] = ts_text(job.since or 0)
            out["until"] = ts_text(job.until)
        else:
            out["at"] = ts_text(job.until)
        return out

    # ---- objects -------------------------------------------------------------------------------
    def _object_url(self, request: Request) -> Response:
        self._client(request, "object_url")
        body = _body(request)
        if not isinstance(body, list) or not all(isinstance(o, dict) and "id" in o for o in body):
            raise DapError(400, "ValidationError", 'The body must be a list of {"id": <object id>}.')
        base = request.host_url.rstrip("/")
        urls = {}
        for item in body:
            object_id = str(item["id"])
            self._object(object_id)
            urls[object_id] = {"url": f"{base}/objects/{object_id}?sig={self._sign(object_id)}"}
        return _json({"urls": urls})

    def _sign(self, object_id: str) -> str:
        return hmac.new(self._signing_key, object_id.encode(), hashlib.sha256).hexdigest()[:32]

    def _object(self, object_id: str) -> tuple[Job, int]:
        job_id, _, name = object_id.partition("/")
        job = self.jobs.get(job_id)
        if job is None or object_id not in job.objects or job.polls_left or job.fail:
            raise DapError(
                404,
                "NotFoundError",
                f"Object {object_id} does not exist or has expired.",
                id=object_id,
                kind="object",
            )
        return job, job.objects.index(object_id)

    def _download(self, request: Request, object_id: str) -> Response:
        # pre-signed: no Authorization header, the signature is the permission (section 3, route 6)
        if not hmac.compare_digest(request.args.get("sig", ""), self._sign(object_id)):
            return Response(b"AccessDenied", status=403, content_type="application/xml")
        job, index = self._object(object_id)
        data = job.files[index].read_bytes()
        content_type = {
            "jsonl": "application/jsonlines",
            "csv": "text/csv",
            "tsv": "text/plain",
            "parquet": "application/octet-stream",
        }[job.fmt]  # section 5's media types
        return Response(data, content_type=content_type)


def _json(payload: Any, status: int = 200, headers: Iterable[tuple[str, str]] = ()) -> Response:
    return Response(
        json.dumps(payload), status=status, headers=list(headers), content_type="application/json"
    )


def _error(exc: DapError) -> Response:
    body = {"error": {"type": exc.kind, "uuid": str(uuid.uuid4()), "message": exc.message, **exc.extra}}
    return _json(body, exc.status, exc.headers)


def _body(request: Request) -> Any:
    try:
        return json.loads(request.get_data() or b"null")
    except json.JSONDecodeError:
        raise DapError(
            400,
            "ValidationError",
            "The body is not valid JSON.",
            location={"line": 1, "column": 1, "character": 0},
        ) from None


def _instant(text: Any, name: str) -> float:
    """An ISO-8601 time with a zone, as epoch seconds."""
    try:
        parsed = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise DapError(400, "ValidationError", f"{name} is not an ISO-8601 time.") from None
    if parsed.tzinfo is None:
        raise DapError(400, "ValidationError", f"{name} needs a time zone.")
    return parsed.timestamp()
