"""Errors the HTTP layer raises, each saying what went wrong and which setting to fix."""

from __future__ import annotations

from requests import HTTPError, Response
from requests.exceptions import Timeout

from .reply_check import BadReply


class LmsApiError(Exception):
    """An LMS request failed in a way retrying cannot fix."""

    def __init__(self, message: str, status: int | None = None, url: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.url = url


class LmsAuthError(LmsApiError):
    """The credentials were rejected (invalid, expired or revoked token)."""


def header_token(token: str, setting: str) -> str:
    """`token` ready for an Authorization header: surrounding whitespace (a pasted line break)
    removed. A space, line break or control character inside it would make the HTTP library raise
    an error quoting the whole header, token included; this error names the setting instead.

    Raises:
        LmsAuthError: the token has such a character inside it.
    """
    cleaned = token.strip()
    if any(ch.isspace() or not ch.isprintable() for ch in cleaned):
        raise LmsAuthError(
            f"the token in {setting} has a space, line break or control character inside it: "
            "copy it again (the token itself is not shown)"
        )
    return cleaned


class LmsPermissionError(LmsApiError):
    """The credentials are valid but may not read this scope (a course, an account)."""


class LmsThrottledError(LmsApiError):
    """The LMS kept throttling after every retry."""


class LmsNotFoundError(LmsApiError):
    """The object or route does not exist (wrong id, or an API version the host lacks)."""


class LmsUnavailableError(LmsApiError):
    """The LMS kept failing for reasons on its side or the network's (5xx, resets, timeouts, bad replies)."""


class LmsServerError(LmsUnavailableError):
    """The LMS kept answering 5xx after every retry."""


class LmsConnectionError(LmsUnavailableError):
    """Connections kept dropping or timing out after every retry."""


class LmsBadReplyError(LmsUnavailableError):
    """The LMS kept sending a reply that is not the JSON it documents (truncated, malformed, HTML)."""


class LmsPaginationLoopError(LmsApiError):
    """A listing sent a next page (link or bookmark) that this listing had already read."""


def safe_path(url: str | None) -> str:
    """The path of a URL only: query strings may carry access_token or client_secret."""
    return (url or "").split("?", 1)[0]


def _safe_url(response: Response) -> str:
    # never echo query strings: they may carry access_token or client_secret
    return safe_path(response.url)


def translate_http_error(
    exc: HTTPError, *, lms: str, credential_hint: str, is_throttled: bool = False
) -> LmsApiError:
    """Turn a requests HTTPError into one of our clear errors.

    Args:
        exc: the error raised by the response hook after retries ran out.
        lms: "Canvas" or "Brightspace", used in the message.
        credential_hint: where the user sets the credential, e.g. "[sources.canvas] access_token".
        is_throttled: whether the final reply was a throttling reply.

    Returns:
        An `LmsApiError` subclass with a message naming what to fix.
    """
    response = exc.response
    if response is None:
        return LmsApiError(
            f"{lms} request failed: {type(exc).__name__}", url=safe_path(exc.request and exc.request.url)
        )
    status = response.status_code
    url = _safe_url(response)
    if is_throttled:
        return LmsThrottledError(
            f"{lms} kept throttling requests to {url} (HTTP {status}) after all retries. "
            "Lower the concurrency (max_in_flight) or run outside peak hours.",
            status,
            url,
        )
    if status == 401 and "www-authenticate" in {k.lower() for k in response.headers}:
        return LmsAuthError(
            f"{lms} rejected the access token (HTTP 401, invalid or expired) on {url}. "
            f"Set a valid token in {credential_hint}; nothing was retried.",
            status,
            url,
        )
    if status == 401:
        return LmsPermissionError(
            f"{lms} says the token's user is not authorized for {url} (HTTP 401). "
            "Use a token of an account admin, or leave this scope out of the run.",
            status,
            url,
        )
    if status == 403:
        return LmsPermissionError(
            f"{lms} refused {url} (HTTP 403, no permission). "
            "Use a token with access to this scope, or leave it out of the run.",
            status,
            url,
        )
    if status == 404:
        return LmsNotFoundError(f"{lms} has no {url} (HTTP 404). Check the id or base_url.", status, url)
    if status >= 500:
        return LmsServerError(
            f"{lms} kept failing on {url} (HTTP {status}) after all retries. The LMS or its proxy is "
            "having trouble: rerun later (nothing partial was kept from the failed listing).",
            status,
            url,
        )
    return LmsApiError(f"{lms} request to {url} failed with HTTP {status}.", status, url)


def translate_transport_error(exc: Exception, *, lms: str, timeout: float | None = None) -> LmsApiError:
    """Turn a connection failure or a bad reply that outlasted every retry into a clear error.

    Args:
        exc: a requests `ConnectionError` / `Timeout` / `ChunkedEncodingError`, or a `BadReply`.
        lms: "Canvas" or "Brightspace", used in the message.
        timeout: the client's request timeout in seconds, named when a read timed out.

    Returns:
        An `LmsUnavailableError` subclass naming the URL path (never its query) and what to do.
    """
    request = getattr(exc, "request", None)
    response = getattr(exc, "response", None)
    url = safe_path(
        (request.url if request is not None else None) or (response.url if response is not None else None)
    )
    if isinstance(exc, BadReply):
        return LmsBadReplyError(
            f"{lms} kept answering {url} with {exc.what} instead of JSON after all retries. The LMS or a "
            "proxy in front of it is failing: rerun later; if it persists, check base_url points at the API.",
            exc.status,
            url,
        )
    if isinstance(exc, Timeout):
        limit = f" (request_timeout={timeout:g}s)" if timeout else ""
        return LmsConnectionError(
            f"{lms} did not answer {url} in time{limit} after all retries. Rerun later, or raise "
            "request_timeout if the LMS is just slow.",
            None,
            url,
        )
    return LmsConnectionError(
        f"{lms} connections kept dropping on {url} ({type(exc).__name__}) after all retries. Check the "
        "network and base_url, then rerun.",
        None,
        url,
    )
