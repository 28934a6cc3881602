"""Canvas requests of any method and file downloads over CanvasApi's governed, retrying session.

The read side needs this too: an account report starts with a POST and ends with a download.
The write-back package (`writeback.canvas.write_api`) builds its writer on `CanvasSender`.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from requests import HTTPError, Response

from ..lms_http.errors import LmsApiError, translate_http_error
from .helpers import CREDENTIAL_HINT, CanvasApi, is_canvas_throttled

logger = logging.getLogger(__name__)

# Statuses where Canvas refuses one write for a reason of its own (bad parameter, unknown user,
# concluded course, wrong state); the caller reports it and carries on with the next write.
REFUSAL_STATUSES = (400, 404, 409, 422)


class CanvasWriteError(LmsApiError):
    """Canvas refused one write; `canvas_message` is Canvas's own explanation."""

    def __init__(self, message: str, status: int, url: str, canvas_message: str) -> None:
        super().__init__(message, status, url)
        self.canvas_message = canvas_message


def canvas_message(response: Response) -> str:
    """Canvas's error text from any of its error shapes: `{"message"}`, `{"error"}`,
    `{"errors": [{"message"}]}` or `{"errors": {field: ...}}`."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:300]
    if isinstance(body, dict):
        if isinstance(body.get("message"), str):
            return body["message"]
        if isinstance(body.get("error"), str):
            return body["error"]
        errors = body.get("errors")
        if isinstance(errors, list):
            return "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors)
        if isinstance(errors, dict):
            return "; ".join(f"{k}: {v}" for k, v in errors.items())
    return str(body)[:300]


class CanvasSender:
    """Sends requests through the same connection pool, throttle governor and retry policy as reads.

    Retries happen only for throttled replies, 5xx and connection failures (the shared policy).
    """

    def __init__(self, api: CanvasApi) -> None:
        self.api = api

    def _url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self.api.base_url + path.lstrip("/")

    def send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        data: Any = None,
        files: Any = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """One request; returns the decoded JSON reply.

        Raises:
            CanvasWriteError: Canvas refused this request (400/404/409/422), with its message.
            LmsApiError: auth, permission, throttling or server failures (clear, typed errors).
        """
        rest = self.api.rest
        response = rest.session.request(
            method,
            self._url(path),
            params=params,
            data=data,
            files=files,
            json=json,
            headers=headers,
            auth=rest.auth,
        )
        return self._decode(response)

    def _decode(self, response: Response) -> Any:
        try:
            response.raise_for_status()
        except HTTPError as exc:
            url = (response.url or "").split("?", 1)[0]
            if response.status_code in REFUSAL_STATUSES:
                message = canvas_message(response)
                raise CanvasWriteError(
                    f"Canvas refused {response.request.method} {url} (HTTP {response.status_code}): {message}",
                    response.status_code,
                    url,
                    message,
                ) from None
            raise translate_http_error(
                exc, lms="Canvas", credential_hint=CREDENTIAL_HINT, is_throttled=is_canvas_throttled(response)
            ) from None
        if not response.content:
            return None
        return response.json()

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.send("POST", path, **kwargs)

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.send("GET", path, params=params)

    def download(self, url: str) -> bytes:
        """The bytes behind a Canvas file URL. The token is sent only to the Canvas host itself,
        never to a storage host a file URL may point at."""
        rest = self.api.rest
        same_host = urlsplit(url).netloc == urlsplit(self.api.base_url).netloc
        response = rest.session.get(url, auth=rest.auth if same_host else None)
        try:
            response.raise_for_status()
        except HTTPError as exc:
            raise translate_http_error(
                exc, lms="Canvas", credential_hint=CREDENTIAL_HINT, is_throttled=is_canvas_throttled(response)
            ) from None
        return response.content
