"""Builds the requests session every LMS source uses: dlt's retrying client plus the governor."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any

from dlt.sources.helpers.requests import Client
from dlt.sources.helpers.requests.session import Session
from requests import HTTPError, PreparedRequest, RequestException, Response
from requests.adapters import HTTPAdapter
from tenacity import RetryCallState, Retrying, stop_after_attempt

from .governor import Governor
from .progress import RetryNotice
from .reply_check import check_reply
from .retry import RetryPolicy, ThrottleTest, backoff_seconds, response_of, retry_after_seconds, retry_cause
from .stats import RequestStats

logger = logging.getLogger(__name__)


class GovernedAdapter(HTTPAdapter):
    """Transport adapter that asks the governor before every wire request (retries included)."""

    def __init__(
        self, governor: Governor, stats: RequestStats, is_throttled: ThrottleTest, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.governor = governor
        self.stats = stats
        self.is_throttled = is_throttled

    def send(self, request: PreparedRequest, *args: Any, **kwargs: Any) -> Response:  # type: ignore[override]
        waits_before, waited_before = self.governor.waits, self.governor.waited_seconds
        ticket = self.governor.acquire()
        with self.stats._lock:
            self.stats.governor_waits += self.governor.waits - waits_before
            self.stats.governor_wait_seconds += self.governor.waited_seconds - waited_before
        try:
            response = super().send(request, *args, **kwargs)
        except Exception:
            self.governor.release(None, ticket=ticket)
            self.stats.record_connection_error()
            raise
        throttled = False
        if response.status_code in (403, 429):
            # the body decides whether a 403 is throttling; error bodies are small, read them now
            _ = response.content
            throttled = self.is_throttled(response)
        self.governor.release(response.headers, throttled=throttled, ticket=ticket)
        self.stats.record_response(response.status_code, throttled)
        return response


class GovernedClient(Client):
    """dlt's retrying `requests` client with our retry policy and a shared throttle governor.

    One instance per token; its `session` property hands each thread its own session, all of them
    mounted on the same adapter (connection pool) and governor.
    """

    def __init__(
        self,
        governor: Governor,
        is_throttled: ThrottleTest,
        *,
        policy: RetryPolicy | None = None,
        stats: RequestStats | None = None,
        request_timeout: float = 60.0,
        pool_size: int = 32,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        on_unauthorized: Callable[[PreparedRequest], bool] | None = None,
    ) -> None:
        super().__init__(request_timeout=request_timeout, raise_for_status=False, max_connections=pool_size)
        self.governor = governor
        self.policy = policy or RetryPolicy()
        self.stats = stats or RequestStats()
        self.is_throttled = is_throttled
        self._sleep = sleep
        self._rng = rng or random.Random()
        # OAuth2: refresh the access token once on a 401 and re-sign the request (returns True)
        self._on_unauthorized = on_unauthorized
        self._adapter = GovernedAdapter(
            governor, self.stats, is_throttled, pool_connections=4, pool_maxsize=pool_size
        )

    def _wait(self, state: RetryCallState) -> float:
        server_says = retry_after_seconds(response_of(state))
        if server_says is not None:
            return server_says
        return backoff_seconds(self.policy, state.attempt_number, self._rng)

    def _should_retry(self, state: RetryCallState) -> bool:
        cause = retry_cause(state, self.is_throttled)
        if cause is None:
            return False
        if state.attempt_number < self.policy.max_attempts:
            self.stats.record_retry(cause)
            logger.info("retrying after %s (attempt %d)", cause, state.attempt_number)
        else:
            self.stats.record_gave_up(cause)
        return True

    def _announce_retry(self, state: RetryCallState) -> None:
        """Tell the progress display which request waits to be retried, why, and for how long."""
        cause = retry_cause(state, self.is_throttled)
        if cause is None or state.next_action is None:
            return
        request = state.args[0] if state.args else None
        response = response_of(state)
        self.stats.announce_retry(
            RetryNotice.of(
                getattr(request, "method", None),
                getattr(request, "url", None),
                cause,
                next_attempt=state.attempt_number + 1,
                max_attempts=self.policy.max_attempts,
                wait_seconds=state.next_action.sleep,
                status=response.status_code if response is not None else None,
            )
        )

    def _make_session(self) -> Session:
        session = Session(**self._session_kwargs)  # type: ignore[arg-type]
        session.mount("http://", self._adapter)
        session.mount("https://", self._adapter)
        retrying = Retrying(
            wait=self._wait,
            retry=self._should_retry,
            stop=stop_after_attempt(self.policy.max_attempts),
            sleep=self._sleep,
            before_sleep=self._announce_retry,
            reraise=True,
            retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
        )
        send = self._checking(session.send)
        if self._on_unauthorized is not None:
            send = self._reauthorizing(send)
        session.send = retrying.wraps(send)  # type: ignore[method-assign]
        return session

    @staticmethod
    def _checking(send: Callable[..., Response]) -> Callable[..., Response]:
        """Wrap `send` so a 2xx reply that is not the API's JSON raises `BadReply` (and is retried)."""

        def send_checked(request: PreparedRequest, **kwargs: Any) -> Response:
            try:
                response = send(request, **kwargs)
            except RequestException as exc:
                # a body cut mid-read raises without its request: keep it, errors name its path
                if exc.request is None:
                    exc.request = request
                raise
            if not kwargs.get("stream"):
                check_reply(response)
            return response

        return send_checked

    def _reauthorizing(self, send: Callable[..., Response]) -> Callable[..., Response]:
        """Wrap `send` so one 401 triggers one token refresh and one resend, never more."""
        assert self._on_unauthorized is not None
        on_unauthorized = self._on_unauthorized

        def send_once_more_on_401(request: PreparedRequest, **kwargs: Any) -> Response:
            try:
                response = send(request, **kwargs)
            except HTTPError as exc:
                if exc.response is None or exc.response.status_code != 401 or not on_unauthorized(request):
                    raise
                self.stats.record_retry("unauthorized")
                return send(request, **kwargs)
            if response.status_code == 401 and on_unauthorized(request):
                self.stats.record_retry("unauthorized")
                return send(request, **kwargs)
            return response

        return send_once_more_on_401


__all__ = ["GovernedAdapter", "GovernedClient"]
