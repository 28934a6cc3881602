"""Retry notices: each retry is announced before its wait, with the request, the cause and the try count."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from werkzeug.wrappers import Request, Response

from sandbox.serving import ServerThread
from sources.canvas.helpers import CanvasApi
from sources.lms_http.errors import LmsServerError
from sources.lms_http.governor import LeakyBucketModel
from sources.lms_http.progress import RetryNotice
from sources.lms_http.retry import RetryPolicy

OK = (200, "[]", {"x-rate-limit-remaining": "590.0"})


class Script:
    """Replies from a list, one per request; the last reply repeats. Records each request's path."""

    def __init__(self) -> None:
        self.replies: list[tuple[int, str, dict[str, str]]] = [OK]
        self.paths: list[str] = []

    def __call__(self, environ: dict, start_response: object) -> object:
        self.paths.append(Request(environ).full_path)
        status, body, headers = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        return Response(body, status=status, headers=headers, content_type="application/json")(
            environ, start_response
        )


@pytest.fixture
def server() -> Iterator[tuple[Script, str]]:
    script = Script()
    thread = ServerThread(script).start()
    yield script, thread.base_url
    thread.stop()


def make(base_url: str, sleeps: list[float]) -> CanvasApi:
    api = CanvasApi(
        base_url,
        "secret-token",
        policy=RetryPolicy(max_attempts=4, base_delay=1.0),
        bucket=LeakyBucketModel(outflow=1e9),  # pacing is not under test
    )
    api.http._sleep = sleeps.append  # never wait for real
    return api


def test_each_retry_is_announced_with_its_try_number_cause_and_wait(server: tuple[Script, str]) -> None:
    script, url = server
    script.replies = [(503, "", {}), (429, "", {"Retry-After": "7"}), OK]
    sleeps: list[float] = []
    api = make(url, sleeps)
    notices: list[RetryNotice] = []
    stop = api.http.stats.listen(notices.append)
    assert api.rows("courses") == []
    stop()
    path = script.paths[0].split("?")[0]
    assert len(script.paths) == 3 and len(sleeps) == 2
    assert [(n.method, n.path, n.cause, n.status, n.next_attempt, n.max_attempts) for n in notices] == [
        ("GET", path, "server_error", 503, 2, 4),
        ("GET", path, "throttled", 429, 3, 4),
    ]
    # the wait announced is the wait slept: our jittered backoff, then the server's Retry-After
    assert [n.wait_seconds for n in notices] == sleeps and sleeps[1] == 7.0
    assert (
        notices[1].describe()
        == f"retrying GET {path} after a throttled reply (HTTP 429): try 3 of 4 in 7.0 s"
    )
    assert "secret-token" not in repr(notices) and "?" not in notices[0].path


def test_a_stopped_or_failing_listener_never_fails_the_request(server: tuple[Script, str]) -> None:
    script, url = server
    sleeps: list[float] = []
    api = make(url, sleeps)
    heard: list[RetryNotice] = []
    api.http.stats.listen(heard.append)()  # stopped at once

    def broken(notice: RetryNotice) -> None:
        raise RuntimeError("display gone")

    api.http.stats.listen(broken)
    script.replies = [(502, "", {}), OK]
    assert api.rows("courses") == []
    assert heard == [] and len(sleeps) == 1 and api.http.stats.as_dict()["retries"] == {"server_error": 1}


def test_the_last_try_is_not_announced_as_a_retry(server: tuple[Script, str]) -> None:
    script, url = server
    script.replies = [(503, "", {})]
    sleeps: list[float] = []
    api = make(url, sleeps)
    notices: list[RetryNotice] = []
    api.http.stats.listen(notices.append)
    with pytest.raises(LmsServerError):
        api.rows("courses")
    assert [n.next_attempt for n in notices] == [2, 3, 4] and len(script.paths) == 4
    assert api.http.stats.as_dict()["gave_up"] == {"server_error": 1}
