"""Canvas HTTP client (Link-header paging, throttle governor) and row shaping."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

from dlt.sources.helpers.rest_client.auth import BearerTokenAuth
from dlt.sources.helpers.rest_client.paginators import HeaderLinkPaginator
from requests import HTTPError, RequestException, Response

from ..lms_http.client import GovernedClient
from ..lms_http.errors import LmsApiError, header_token, translate_http_error, translate_transport_error
from ..lms_http.governor import LeakyBucketModel, ThrottleGovernor
from ..lms_http.loop_guard import LoopGuard
from ..lms_http.rest_client import LmsRestClient
from ..lms_http.retry import RetryPolicy
from ..lms_http.stats import RequestStats
from .settings import GRADE_SCORES, GRADE_TEXTS, PER_PAGE

logger = logging.getLogger(__name__)

CREDENTIAL_HINT = "[sources.canvas] access_token in .dlt/secrets.toml (or SOURCES__CANVAS__ACCESS_TOKEN)"


def is_canvas_throttled(response: Response) -> bool:
    """Canvas throttles with 429 (hosted, since Oct 2025) or 403 + 'Rate Limit Exceeded' (open source)."""
    if response.status_code == 429:
        return True
    return response.status_code == 403 and "Rate Limit Exceeded" in response.text


def api_root(base_url: str) -> str:
    """`https://school.instructure.com` or `.../api/v1` -> the API root ending in /api/v1/."""
    url = base_url.rstrip("/")
    if not url.endswith("/api/v1"):
        url += "/api/v1"
    return url + "/"


class CanvasApi:
    """Reads Canvas collections page by page through one governed, retrying connection pool.

    Thread-safe: each worker thread gets its own RESTClient over the shared pool, governor and
    statistics, so parallel course fetches share one throttle budget per token.
    """

    def __init__(
        self,
        base_url: str,
        access_token: str,
        *,
        max_in_flight: int = 8,
        policy: RetryPolicy | None = None,
        bucket: LeakyBucketModel | None = None,
        stats: RequestStats | None = None,
        request_timeout: float = 60.0,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        """Connect (lazily) to a Canvas host.

        Args:
            base_url: the Canvas host, with or without /api/v1.
            access_token: the API token (sent as a Bearer header, never logged).
            max_in_flight: most requests in flight at once for this token.
            policy: retries of throttled, 5xx, connection and bad-reply failures.
            bucket: the leaky-bucket model the governor paces by.
            stats: counters to share (default: new ones).
            request_timeout: seconds before a request is abandoned and retried.
            sleep: how backoff waits (tests pass a fake; never sleep for real in tests).
        """
        self.base_url = api_root(base_url)
        self.request_timeout = request_timeout
        self._auth = BearerTokenAuth(token=header_token(access_token, CREDENTIAL_HINT))
        self.stats = stats or RequestStats()
        self.governor = ThrottleGovernor(bucket or LeakyBucketModel(), max_in_flight=max_in_flight)
        self.http = GovernedClient(
            self.governor,
            is_canvas_throttled,
            policy=policy,
            stats=self.stats,
            request_timeout=request_timeout,
            pool_size=max(8, max_in_flight * 2),
            **({"sleep": sleep} if sleep is not None else {}),
        )
        self._local = threading.local()

    @property
    def rest(self) -> LmsRestClient:
        client = getattr(self._local, "rest", None)
        if client is None:
            client = LmsRestClient(
                base_url=self.base_url,
                auth=self._auth,
                session=self.http.session,
                paginator=HeaderLinkPaginator(),
                data_selector="$",
            )
            self._local.rest = client
        return client

    def pages(
        self, path: str, params: dict[str, Any] | None = None, data_selector: str = "$"
    ) -> Iterator[list[dict[str, Any]]]:
        """Yield each page of a Canvas collection, following the `link` header's rel="next".

        Raises:
            LmsApiError: a clear error (auth, permission, not found, throttled, LMS unavailable,
                pagination loop) once retries ran out.
        """
        query = {"per_page": PER_PAGE, **(params or {})}
        paginator = LoopGuard(HeaderLinkPaginator(), "Canvas")
        try:
            for page in self.rest.paginate(
                path.lstrip("/"), params=query, paginator=paginator, data_selector=data_selector
            ):
                yield list(page)
        except RequestException as exc:
            raise self._error(exc) from None

    def _error(self, exc: RequestException) -> LmsApiError:
        if isinstance(exc, HTTPError) and exc.response is not None:
            throttled = is_canvas_throttled(exc.response)
            return translate_http_error(
                exc, lms="Canvas", credential_hint=CREDENTIAL_HINT, is_throttled=throttled
            )
        return translate_transport_error(exc, lms="Canvas", timeout=self.request_timeout)

    def rows(
        self, path: str, params: dict[str, Any] | None = None, data_selector: str = "$"
    ) -> list[dict[str, Any]]:
        """All rows of a collection as one list."""
        out: list[dict[str, Any]] = []
        for page in self.pages(path, params, data_selector):
            out.extend(page)
        return out

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """One non-paginated GET, with the same retries and errors."""
        try:
            response = self.rest.get(path.lstrip("/"), params=params)
            response.raise_for_status()
        except RequestException as exc:
            raise self._error(exc) from None
        return response.json()

    def graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """One POST to Canvas's GraphQL endpoint (/api/graphql, beside /api/v1), same retries and errors."""
        url = self.base_url[: -len("v1/")] + "graphql"
        try:
            response = self.rest.session.post(
                url,
                json={"query": query, "variables": variables},
                auth=self._auth,
                timeout=self.request_timeout,
            )
            response.raise_for_status()
        except RequestException as exc:
            raise self._error(exc) from None
        return response.json()


# -- row shaping ---------------------------------------------------------------------------------
# Embedded objects that duplicate other tables (and personal data) are dropped; small nested
# objects the models use are flattened to named columns.

_EMBEDDED = ("user", "assignment", "course", "submission_history", "submission_comments", "rubric_assessment")


def _without(row: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """A copy of `row` without `keys`, in the row's key order (a C-level copy, then a few pops:
    cheaper than rebuilding the row key by key)."""
    row = dict(row)
    for key in keys:
        row.pop(key, None)
    return row


def shape_enrollment(row: dict[str, Any]) -> dict[str, Any]:
    row = _without(row, _EMBEDDED)
    grades = row.pop("grades", None) or {}
    # every key of the Grade object, present (null) when Canvas leaves it out
    for key in (*GRADE_SCORES, *GRADE_TEXTS):
        row[f"grades__{key}"] = grades.get(key)
    return row


def shape_assignment_group(row: dict[str, Any], course_id: int) -> dict[str, Any]:
    row = _without(row, ("assignments",))
    rules = row.pop("rules", None) or {}
    row["course_id"] = course_id
    row["drop_lowest"] = rules.get("drop_lowest", 0)
    row["drop_highest"] = rules.get("drop_highest", 0)
    row["never_drop"] = rules.get("never_drop") or []
    return row


def shape_child(row: dict[str, Any], course_id: int) -> dict[str, Any]:
    row = _without(row, _EMBEDDED)
    row["course_id"] = course_id
    return row


def shape_submission(row: dict[str, Any], course_id: int) -> dict[str, Any]:
    """A submission row as loaded; changes `row` in place (a page's rows are read by no one else)."""
    for key in _EMBEDDED:
        row.pop(key, None)
    row["course_id"] = course_id
    return row
