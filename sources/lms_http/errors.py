"""Errors the HTTP layer raises, each saying what went wrong and which setting to fix."""

from __future__ import annotations

from requests import HTTPError, Response


class LmsApiError(Exception):
    """An LMS request failed in a way retrying cannot fix."""

    def __init__(self, message: str, status: int | None = None, url: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.url = url


class LmsAuthError(LmsApiError):
    """The credentials were rejected (invalid, expired or revoked token)."""


class LmsPermissionError(LmsApiError):
    """The credentials are valid but may not read this scope (a course, an account)."""


class LmsThrottledError(LmsApiError):
    """The LMS kept throttling after every retry."""


class LmsNotFoundError(LmsApiError):
    """The object or route does not exist (wrong id, or an API version the host lacks)."""


def _safe_url(response: Response) -> str:
    # never echo query strings: they may carry access_token or client_secret
    url = response.url or ""
    return url.split("?", 1)[0]


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
        return LmsApiError(f"{lms} request failed: {type(exc).__name__}")
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
    return LmsApiError(f"{lms} request to {url} failed with HTTP {status}.", status, url)
