"""Brightspace HTTP client: OAuth2 refresh, credit-window pacing, version discovery, Valence paging."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from requests import HTTPError, RequestException, Response

from ..lms_http.client import GovernedClient
from ..lms_http.errors import LmsApiError, LmsNotFoundError, translate_http_error, translate_transport_error
from ..lms_http.jobs import JobPoller, PollPolicy
from ..lms_http.loop_guard import LoopGuard
from ..lms_http.oauth import FileTokenStore, RefreshTokenAuth, TokenStore
from ..lms_http.retry import RetryPolicy
from ..lms_http.shared_reads import SharedReads
from ..lms_http.stats import RequestStats
from ..lms_http.window_governor import CreditWindowGovernor, CreditWindowModel
from .paging import ValencePaginator, ValenceRestClient
from .settings import (
    CLIENT_HINT,
    CREDENTIAL_HINT,
    DEFAULT_REFRESH_TOKEN_FILE,
    PRODUCTS,
    REFRESH_TOKEN_HINT,
    CourseChild,
)

logger = logging.getLogger(__name__)


def is_brightspace_throttled(response: Response) -> bool:
    """Brightspace throttles with 429 + Retry-After (KB 1195)."""
    return response.status_code == 429


def host_root(base_url: str) -> str:
    """`https://school.brightspace.com` (with or without a trailing /d2l/api) -> the host root."""
    url = base_url.rstrip("/")
    for suffix in ("/d2l/api", "/d2l"):
        if url.endswith(suffix):
            url = url[: -len(suffix)]
    return url


class VersionError(LmsApiError):
    """The host does not offer an API version this source can use."""


def choose_versions(products: Any, override: Mapping[str, str] | None) -> dict[str, str]:
    """Pick one version per product (lp, le) from a `/d2l/api/versions/` reply.

    The latest version the host supports is used, unless `override` names one; an override the
    host does not support is an error naming the setting.

    Raises:
        VersionError: a product is missing, or an override is not supported by the host.
    """
    offered: dict[str, dict[str, Any]] = {}
    if isinstance(products, list):
        for block in products:
            if isinstance(block, dict) and block.get("ProductCode"):
                offered[str(block["ProductCode"]).lower()] = block
    chosen: dict[str, str] = {}
    for product in PRODUCTS:
        block = offered.get(product)
        wanted = (override or {}).get(product)
        if block is None:
            if wanted:
                chosen[product] = str(wanted)  # trust the user: the host did not list the product
                continue
            raise VersionError(
                f"Brightspace /d2l/api/versions/ lists no '{product}' product; set "
                f'[sources.brightspace] api_versions = {{{product} = "1.xx"}} to name the version.'
            )
        supported = [str(v) for v in block.get("SupportedVersions") or []]
        if wanted:
            if supported and str(wanted) not in supported:
                raise VersionError(
                    f"Brightspace does not support {product} {wanted} (it offers "
                    f"{supported[0]}..{supported[-1]}); fix [sources.brightspace] api_versions."
                )
            chosen[product] = str(wanted)
        else:
            latest = block.get("LatestVersion") or (supported[-1] if supported else None)
            if not latest:
                raise VersionError(f"Brightspace lists no version of '{product}'; set api_versions.")
            chosen[product] = str(latest)
    return chosen


class BrightspaceApi:
    """Reads Valence routes and Data Hub exports through one governed, retrying connection pool.

    Thread-safe: each worker thread gets its own RESTClient over the shared pool, credit-window
    governor, OAuth2 auth and statistics.
    """

    def __init__(
        self,
        base_url: str,
        auth: RefreshTokenAuth,
        *,
        api_versions: Mapping[str, str] | None = None,
        max_in_flight: int = 8,
        policy: RetryPolicy | None = None,
        window: CreditWindowModel | None = None,
        stats: RequestStats | None = None,
        request_timeout: float = 60.0,
        poll_policy: PollPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.base_url = host_root(base_url)
        self.request_timeout = request_timeout
        self.auth = auth
        self.stats = stats or RequestStats()
        self.governor = CreditWindowGovernor(window or CreditWindowModel(), max_in_flight=max_in_flight)
        extra: dict[str, Any] = {"sleep": sleep} if sleep is not None else {}
        self.http = GovernedClient(
            self.governor,
            is_brightspace_throttled,
            policy=policy,
            stats=self.stats,
            request_timeout=request_timeout,
            pool_size=max(8, max_in_flight * 2),
            on_unauthorized=auth.on_unauthorized,
            **extra,
        )
        self.poller = JobPoller(poll_policy, lms="Brightspace", **extra)
        self._override = dict(api_versions or {})
        self._versions: dict[str, str] | None = None
        self._versions_lock = threading.Lock()
        self._local = threading.local()
        self._data_set_ids: dict[str, str] | None = None

    @property
    def rest(self) -> ValenceRestClient:
        client = getattr(self._local, "rest", None)
        if client is None:
            client = ValenceRestClient(
                base_url=self.base_url,
                auth=self.auth,
                session=self.http.session,
                paginator=ValencePaginator(),
                data_selector="$",
            )
            self._local.rest = client
        return client

    # -- versions --------------------------------------------------------------------------------

    @property
    def versions(self) -> dict[str, str]:
        """The version used per product, discovered once from `/d2l/api/versions/`."""
        if self._versions is None:
            with self._versions_lock:
                if self._versions is None:
                    if all(self._override.get(p) for p in PRODUCTS):
                        self._versions = {p: str(self._override[p]) for p in PRODUCTS}
                    else:
                        self._versions = choose_versions(self.get("d2l/api/versions/"), self._override)
                    logger.info("Brightspace API versions: %s", self._versions)
        return self._versions

    def lp(self, path: str) -> str:
        """A Learning Platform route: `d2l/api/lp/<version>/<path>`."""
        return f"d2l/api/lp/{self.versions['lp']}/{path.lstrip('/')}"

    def le(self, path: str) -> str:
        """A Learning Environment route: `d2l/api/le/<version>/<path>`."""
        return f"d2l/api/le/{self.versions['le']}/{path.lstrip('/')}"

    # -- requests --------------------------------------------------------------------------------

    def _error(self, exc: RequestException) -> LmsApiError:
        if not isinstance(exc, HTTPError) or exc.response is None:
            return translate_transport_error(exc, lms="Brightspace", timeout=self.request_timeout)
        response = exc.response
        if response is not None and response.status_code == 404:
            path = (response.url or "").split("?", 1)[0]
            return LmsNotFoundError(
                f"Brightspace has no {path} (HTTP 404). Check the org unit id and base_url; an API "
                f"version the host lacks also answers 404 (in use: {self._versions}; see "
                "[sources.brightspace] api_versions).",
                404,
                path,
            )
        throttled = response is not None and is_brightspace_throttled(response)
        return translate_http_error(
            exc, lms="Brightspace", credential_hint=CREDENTIAL_HINT, is_throttled=throttled
        )

    def pages(self, path: str, params: dict[str, Any] | None = None) -> Iterator[list[dict[str, Any]]]:
        """Yield each page of a Valence list, whichever envelope the route answers with.

        Raises:
            LmsApiError: a clear error (auth, permission, not found, throttled) once retries ran out.
        """
        paginator = LoopGuard(ValencePaginator(), "Brightspace")
        try:
            for page in self.rest.paginate(path, params=dict(params or {}), paginator=paginator):
                yield list(page)
        except RequestException as exc:
            raise self._error(exc) from None

    def rows(self, path: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """All rows of a list as one list."""
        out: list[dict[str, Any]] = []
        for page in self.pages(path, params):
            out.extend(page)
        return out

    def _checked(self, response: Response) -> Response:
        try:
            response.raise_for_status()
        except RequestException as exc:
            raise self._error(exc) from None
        return response

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """One GET of a single JSON block, with the same retries and errors."""
        try:
            return self._checked(self.rest.get(path, params=params)).json()
        except RequestException as exc:
            raise self._error(exc) from None

    def post(self, path: str, body: Any) -> Any:
        """One POST of a JSON body (Data Hub job submission)."""
        try:
            return self._checked(self.rest.post(path, json=body)).json()
        except RequestException as exc:
            raise self._error(exc) from None

    def download(self, path: str) -> bytes:
        """GET a binary body (an export ZIP)."""
        try:
            return self._checked(self.rest.get(path)).content
        except RequestException as exc:
            raise self._error(exc) from None


class CourseReads:
    """The per-course routes of `COURSE_CHILDREN`, each list read once per run for all its readers.

    The `enrollments` resource and the grade values sync both need a course's enrollments, and
    `grade_objects` and the sync its grade objects (`GRADE_VALUES_READS`): whichever asks first
    sends the requests, the other takes its rows, waiting if the read is still in flight
    (`SharedReads`). Both ask with the route and parameters of the one `CourseChild`, so they ask
    for the same thing. The blocks handed out are shared: readers must not change them.

    Make one per source instance (one run), so a read no second reader took never reaches a later run.
    """

    def __init__(self, api: BrightspaceApi) -> None:
        self.api = api
        self.shared = SharedReads()

    def route(self, child: CourseChild, org_unit_id: int) -> str:
        """The child's route for one course: `d2l/api/<product>/<version>/<path>`."""
        path = child.path.format(ou=org_unit_id)
        return self.api.lp(path) if child.product == "lp" else self.api.le(path)

    def rows(self, child: CourseChild, org_unit_id: int, readers: int) -> list[dict[str, Any]]:
        """Every block of the child's list for one course, read once for `readers` callers of this run.

        Raises:
            LmsApiError: as `BrightspaceApi.rows`, to every reader waiting on the failed read.
        """
        route = self.route(child, org_unit_id)
        params = dict(child.params)
        key = (route, tuple(sorted(params.items())))
        return self.shared.get(key, lambda: self.api.rows(route, params), uses=readers)


def connect(
    base_url: str,
    client_id: str,
    client_secret: str,
    refresh_token: str | None,
    *,
    token_url: str,
    token_store: TokenStore | None = None,
    refresh_token_file: str | None = None,
    api_versions: Mapping[str, str] | None = None,
    max_in_flight: int = 8,
    policy: RetryPolicy | None = None,
    request_timeout: float = 60.0,
    poll_policy: PollPolicy | None = None,
    client_auth: str = "body",
    sleep: Callable[[float], None] | None = None,
) -> BrightspaceApi:
    """A ready client: OAuth2 refresh-token auth (rotating, persisted) over the governed session.

    Args:
        base_url: the Brightspace host.
        client_id: the OAuth2 app's client id.
        client_secret: the OAuth2 app's client secret.
        refresh_token: the configured refresh token (the stored one wins once it exists).
        token_url: the token endpoint.
        token_store: where rotated refresh tokens are kept (default: `refresh_token_file`).
        refresh_token_file: path of the token file (mode 0600) when no store is given.
        api_versions: per-product version overrides, e.g. {"lp": "1.49"}.
        max_in_flight: most concurrent requests.
        policy: retry policy for throttled / 5xx / connection failures.
        request_timeout: seconds per request.
        poll_policy: Data Hub job polling (backoff, timeout).
        client_auth: "body" (client_id/client_secret form fields) or "basic" (HTTP Basic).
        sleep: how backoff and job polling wait (tests pass a fake; never sleep for real in tests).
    """
    missing = [
        name
        for name, value in (
            ("base_url", base_url),
            ("client_id", client_id),
            ("client_secret", client_secret),
        )
        if not value
    ]
    if missing:
        raise LmsApiError(f"Brightspace is not configured: set {', '.join(missing)} in {CREDENTIAL_HINT}.")
    store = token_store or FileTokenStore(refresh_token_file or DEFAULT_REFRESH_TOKEN_FILE)
    auth = RefreshTokenAuth(
        token_url,
        client_id,
        client_secret,
        refresh_token,
        store,
        lms="Brightspace",
        credential_hint=REFRESH_TOKEN_HINT,
        client_hint=CLIENT_HINT,
        client_auth=client_auth,
        request_timeout=min(request_timeout, 60.0),
    )
    return BrightspaceApi(
        base_url,
        auth,
        api_versions=api_versions,
        max_in_flight=max_in_flight,
        policy=policy,
        request_timeout=request_timeout,
        poll_policy=poll_policy,
        sleep=sleep,
    )


__all__ = [
    "BrightspaceApi",
    "CourseReads",
    "connect",
    "VersionError",
    "choose_versions",
    "host_root",
    "is_brightspace_throttled",
]
