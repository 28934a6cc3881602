"""Redaction exercised: secrets that do reach error text are gone from the run report and its table.

The secret scans in test_secrets.py run the pipelines against the sandboxes, whose errors never
carry a secret, so `redact()` there has nothing to do. Here a loopback server behaves like a careless
LMS or proxy: its error bodies echo the Authorization header, the refresh token and the URL with its
query string. Real `requests` and dlt failures are built from it (an HTTP error naming a URL with
`access_token=`, an error quoting an echoed body, `InvalidHeader` quoting a Bearer header, a failed
dlt run wrapping them); each is checked to hold the secret before the report is checked to hold none.
Our own clients, given the same server, keep the secrets out of their errors without redaction.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import dlt
import duckdb
import pytest
import requests

from pipelines.run_report import STATUS_FAILED, RunReport, redact, store_run_report
from sources.canvas import CanvasApi
from sources.lms_http.errors import LmsApiError
from sources.lms_http.oauth import MemoryTokenStore, OAuthRefreshError, RefreshTokenAuth
from sources.lms_http.retry import RetryPolicy

CANVAS_TOKEN = "7~" + "Kq3Zr8Vt" * 8  # the shape of a Canvas access token
ACCESS_TOKEN = "eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LXBheWxvYWQtZm9yLXRlc3Rz.c2lnbmF0dXJlLXRlc3Q"  # JWT-shaped
REFRESH_TOKEN = "rt.Zm9vYmFyLXJlZnJlc2gtdG9rZW4tZm9yLXRlc3Rz"
CLIENT_SECRET = "cs-" + "Yw7Pq2Lm" * 5
SECRETS = (CANVAS_TOKEN, ACCESS_TOKEN, REFRESH_TOKEN, CLIENT_SECRET)


class EchoingLms(BaseHTTPRequestHandler):
    """An LMS (or the proxy before it) whose error replies repeat what the request carried."""

    def log_message(self, format: str, *args: Any) -> None:  # the request line holds secrets
        pass

    def _reply(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self) -> None:
        port = self.server.server_address[1]
        if self.path.startswith("/api/v1/users"):
            if "page=2" not in self.path:
                # a next link that carries the token in its query (an old API-key style proxy)
                link = (
                    f'<http://127.0.0.1:{port}/api/v1/users?page=2&access_token={CANVAS_TOKEN}>; rel="next"'
                )
                self._reply(200, [{"id": 1}], {"Link": link})  # type: ignore[arg-type]
                return
            self._reply(500, {"errors": [{"message": f"upstream failed for {self.path}"}]})
            return
        auth = self.headers.get("Authorization", "")
        self._reply(401, {"errors": [{"message": f"Invalid access token (Authorization: {auth})"}]})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        form = dict(parse_qsl(self.rfile.read(length).decode()))
        self._reply(
            400,
            {
                "error": "invalid_grant",
                "error_description": f"refresh_token={form.get('refresh_token')} already used "
                f"(client_secret={form.get('client_secret')})",
            },
        )


@pytest.fixture
def lms() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), EchoingLms)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def failure(action: Callable[[], Any]) -> BaseException:
    with pytest.raises(Exception) as caught:
        action()
    return caught.value


def url_with_token(lms: str) -> BaseException:
    """`requests`' own HTTPError names the URL, query string and all."""
    response = requests.get(
        f"{lms}/api/v1/users", params={"page": 2, "access_token": CANVAS_TOKEN}, timeout=10
    )
    return failure(response.raise_for_status)


def echoed_body(lms: str) -> BaseException:
    """An error that quotes the LMS's reply, which echoes the Authorization header."""
    response = requests.get(
        f"{lms}/api/v1/courses", headers={"Authorization": f"Bearer {ACCESS_TOKEN}"}, timeout=10
    )
    return RuntimeError(f"LMS answered HTTP {response.status_code}: {response.text}")


def echoed_token_grant(lms: str) -> BaseException:
    """An error that quotes a token endpoint's reply echoing the refresh token and client secret."""
    data = {"grant_type": "refresh_token", "refresh_token": REFRESH_TOKEN, "client_secret": CLIENT_SECRET}
    response = requests.post(f"{lms}/core/connect/token", data=data, timeout=10)
    return RuntimeError(f"token refresh failed: {response.json()}")


def header_in_exception(lms: str) -> BaseException:
    """`requests` refuses a header value with a newline and quotes it, Bearer token and all."""
    return failure(
        lambda: requests.get(
            f"{lms}/api/v1/courses", headers={"Authorization": f"Bearer {CANVAS_TOKEN}\n"}, timeout=10
        )
    )


def headers_in_args(lms: str) -> BaseException:
    """An exception whose args carry the request's headers (its repr shows them)."""
    headers = {"Authorization": f"Bearer {ACCESS_TOKEN}", "Accept": "application/json"}
    requests.get(f"{lms}/api/v1/courses", headers=headers, timeout=10)
    return RuntimeError("request failed", headers)


SCENARIOS = {
    "url-query": url_with_token,
    "echoed-body": echoed_body,
    "echoed-grant": echoed_token_grant,
    "invalid-header": header_in_exception,
    "headers-in-args": headers_in_args,
}


def secrets_in(text: str) -> list[str]:
    return [s[:6] + "..." for s in SECRETS if s in text]


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_a_secret_in_a_foreign_error_never_reaches_the_run_report(lms: str, scenario: str) -> None:
    error = SCENARIOS[scenario](lms)
    assert secrets_in(repr(error) + str(error)), "the scenario must put a secret in the error's text"
    report = RunReport(pipeline_name="redaction_test", lms="canvas")
    report.finish(STATUS_FAILED, error)
    assert report.error_message and report.error_class == type(error).__name__
    assert not secrets_in(repr(report.as_row())), report.error_message


@pytest.mark.parametrize("scenario", ["url-query", "echoed-body", "invalid-header"])
def test_a_failed_dlt_run_quoting_a_secret_stores_a_clean_report(
    dlt_dir: Path, lms: str, scenario: str
) -> None:
    """A resource that fails with a secret in its error: dlt wraps it (step, trace), the report is clean."""

    @dlt.resource(name="courses")
    def courses() -> Iterator[dict[str, Any]]:
        yield {"id": 1}
        raise SCENARIOS[scenario](lms)

    db = dlt_dir / "warehouse.duckdb"
    pipeline = dlt.pipeline("redaction_run", destination=dlt.destinations.duckdb(str(db)), dataset_name="lms")
    error = failure(lambda: pipeline.run(courses()))
    trace = str(pipeline.last_trace)
    assert secrets_in(str(error)) and secrets_in(trace), "dlt must carry the secret into its error and trace"
    assert not secrets_in(redact(trace)), "a trace quoted in a report must come out clean"

    report = RunReport(pipeline_name=pipeline.pipeline_name, lms="canvas", dataset_name="lms")
    report.finish(STATUS_FAILED, error)
    store_run_report(pipeline, report)
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = [
            t
            for (t,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'lms'"
            ).fetchall()
        ]
        assert "run_reports" in tables
        stored = {t: con.execute(f'select * from lms."{t}"').fetchall() for t in tables}
    finally:
        con.close()
    assert stored["run_reports"] and stored["run_reports"][0]
    assert not secrets_in(repr(stored))


def test_our_clients_keep_echoed_secrets_out_of_their_errors(lms: str) -> None:
    """No redaction needed: the clients never quote bodies, query strings or headers."""
    fast = RetryPolicy(max_attempts=2, base_delay=0.0, max_delay=0.0, jitter=False)
    canvas = CanvasApi(lms, CANVAS_TOKEN, policy=fast)
    errors: list[BaseException] = [
        failure(lambda: canvas.rows("courses")),  # 401 echoing the Bearer header
        failure(lambda: canvas.rows("users")),  # a next link with the token in its query, then 500s
    ]
    auth = RefreshTokenAuth(
        f"{lms}/core/connect/token",
        "client",
        CLIENT_SECRET,
        REFRESH_TOKEN,
        MemoryTokenStore(),
        sleep=lambda s: None,
    )
    errors.append(failure(auth.access_token))  # 400 invalid_grant echoing the refresh token
    assert all(isinstance(e, LmsApiError) for e in errors) and isinstance(errors[2], OAuthRefreshError)
    for error in errors:
        text = "".join(f"{e!r} {e} {e.args!r}" for e in _chain(error))
        assert not secrets_in(text), text


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: BaseException | None = error
    while seen is not None:
        yield seen
        seen = seen.__cause__ or seen.__context__
