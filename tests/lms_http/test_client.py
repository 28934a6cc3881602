"""The governed, retrying client against a scripted loopback server (sleep injected, no waiting)."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from werkzeug.wrappers import Request, Response

from sandbox.serving import ServerThread
from sources.canvas.helpers import CanvasApi, is_canvas_throttled
from sources.lms_http.client import GovernedClient
from sources.lms_http.errors import LmsAuthError, LmsPermissionError, LmsThrottledError
from sources.lms_http.governor import LeakyBucketModel, ThrottleGovernor
from sources.lms_http.retry import RetryPolicy, backoff_seconds

THROTTLED_403 = (403, "403 Forbidden (Rate Limit Exceeded)\n", {"x-rate-limit-remaining": "0.0"})
OK = (200, "[]", {"x-rate-limit-remaining": "590.0", "x-request-cost": "0.5"})


class Script:
    """Replies from a list, one per request; the last reply repeats."""

    def __init__(self) -> None:
        self.replies: list[tuple[int, str, dict[str, str]]] = [OK]
        self.seen: list[str] = []

    def __call__(self, environ: dict, start_response: object) -> object:
        request = Request(environ)
        self.seen.append(request.headers.get("Authorization", ""))
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


def make(base_url: str, sleeps: list[float], **kwargs: object) -> CanvasApi:
    # a bucket that leaks instantly: these tests are about retries, not pacing
    kwargs.setdefault("bucket", LeakyBucketModel(outflow=1e9))
    api = CanvasApi(base_url, "secret-token", policy=RetryPolicy(max_attempts=4, base_delay=1.0), **kwargs)  # type: ignore[arg-type]
    api.http._sleep = sleeps.append
    return api


def test_throttled_403_and_429_are_retried_then_succeed(server: tuple[Script, str]) -> None:
    script, url = server
    script.replies = [THROTTLED_403, (429, "", {}), (503, "", {}), OK]
    sleeps: list[float] = []
    api = make(url, sleeps)
    assert api.rows("courses") == []
    assert len(script.seen) == 4
    assert api.stats.retries == {"throttled": 2, "server_error": 1}
    assert api.stats.throttled == 2
    assert len(sleeps) == 3 and all(0 < s <= 4.0 for s in sleeps)


def test_throttling_that_never_ends_gives_a_clear_error(server: tuple[Script, str]) -> None:
    script, url = server
    script.replies = [THROTTLED_403]
    api = make(url, [])
    with pytest.raises(LmsThrottledError, match="kept throttling"):
        api.rows("courses")
    assert len(script.seen) == 4  # max_attempts, then stop


def test_permission_403_and_bad_token_401_fail_at_once(server: tuple[Script, str]) -> None:
    script, url = server
    script.replies = [(403, '{"status":"unauthorized"}', {})]
    api = make(url, [])
    with pytest.raises(LmsPermissionError):
        api.rows("courses/1/sections")
    script.replies = [
        (
            401,
            '{"errors":[{"message":"Invalid access token."}]}',
            {"WWW-Authenticate": 'Bearer realm="canvas-lms"'},
        )
    ]
    with pytest.raises(LmsAuthError) as info:
        api.rows("courses")
    assert "secret-token" not in str(info.value) and "access_token" in str(info.value)
    assert len(script.seen) == 2  # one request each, no retries
    assert api.stats.retries.total() == 0


def test_retry_after_is_honoured_when_sent(server: tuple[Script, str]) -> None:
    script, url = server
    script.replies = [(429, "", {"Retry-After": "7"}), OK]
    sleeps: list[float] = []
    make(url, sleeps).rows("x")
    assert sleeps == [7.0]


def test_backoff_is_exponential_capped_and_jittered() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=10.0)
    rng = random.Random(1)
    delays = [backoff_seconds(policy, n, rng) for n in range(1, 7)]
    ceilings = [1, 2, 4, 8, 10, 10]
    assert all(c / 10 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert len(set(delays)) == len(delays)  # jittered, not lock-step
    assert backoff_seconds(RetryPolicy(jitter=False), 3) == 4.0


def test_one_401_refreshes_once_and_resends(server: tuple[Script, str]) -> None:
    script, url = server
    script.replies = [(401, "", {"WWW-Authenticate": "Bearer"}), OK]
    refreshed: list[int] = []

    def on_unauthorized(request: object) -> bool:
        refreshed.append(1)
        request.headers["Authorization"] = "Bearer fresh"  # type: ignore[attr-defined]
        return True

    client = GovernedClient(ThrottleGovernor(), is_canvas_throttled, on_unauthorized=on_unauthorized)
    response = client.session.get(url + "/x", headers={"Authorization": "Bearer stale"})
    assert response.status_code == 200
    assert refreshed == [1]
    assert script.seen == ["Bearer stale", "Bearer fresh"]
    # a second 401 after the refresh is not refreshed again
    script.replies = [(401, "", {"WWW-Authenticate": "Bearer"})]
    assert client.session.get(url + "/x").status_code == 401
    assert refreshed == [1, 1]


def test_a_checked_json_reply_is_parsed_once() -> None:
    from requests import Response

    from sources.lms_http.reply_check import check_reply

    response = Response()
    response.status_code = 200
    response.headers["Content-Type"] = "application/json"
    response._content = b'{"Items": [{"Id": 1}], "PagingInfo": {"Bookmark": "1", "HasMoreItems": false}}'
    check_reply(response)
    first = response.json()
    assert first == {"Items": [{"Id": 1}], "PagingInfo": {"Bookmark": "1", "HasMoreItems": False}}
    assert response.json() is first  # the paginator and the data selector share one parse
