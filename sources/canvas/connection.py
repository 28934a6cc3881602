"""The Canvas connection settings, resolved once by dlt's configuration (`[sources.canvas]`)."""

from __future__ import annotations

from typing import Any

from dlt.common.configuration import configspec
from dlt.common.configuration.specs import BaseConfiguration
from dlt.common.typing import TSecretStrValue

from ..lms_http.retry import RetryPolicy
from ..settings_errors import resolve_settings
from .helpers import CanvasApi

SECTIONS = ("sources", "canvas")


@configspec
class CanvasSettings(BaseConfiguration):
    """Where Canvas is and how hard to press it: `[sources.canvas]` in .dlt/config.toml and
    .dlt/secrets.toml, or env `SOURCES__CANVAS__<NAME>`.

    Attributes:
        base_url: the Canvas host, e.g. `https://school.instructure.com` (with or without /api/v1).
        access_token: an account-admin API token (a secret: never logged or stored in state).
        max_in_flight: most requests in flight at once for this token.
        retry_max_attempts: attempts per request for throttled, 5xx and connection failures.
        retry_base_delay: first backoff delay in seconds (doubles, with jitter).
        request_timeout: seconds before a request is abandoned and retried.
    """

    base_url: str = None
    access_token: TSecretStrValue = None
    max_in_flight: int = 8
    retry_max_attempts: int = 8
    retry_base_delay: float = 1.0
    request_timeout: float = 60.0

    def retry_policy(self) -> RetryPolicy:
        """The retries `retry_max_attempts` and `retry_base_delay` describe."""
        return RetryPolicy(max_attempts=self.retry_max_attempts, base_delay=self.retry_base_delay)

    def client(self, policy: RetryPolicy | None = None) -> CanvasApi:
        """A client for one run (its own request statistics)."""
        return CanvasApi(
            self.base_url,
            self.access_token,
            max_in_flight=self.max_in_flight,
            policy=policy
            or RetryPolicy(max_attempts=self.retry_max_attempts, base_delay=self.retry_base_delay),
            request_timeout=self.request_timeout,
        )


def canvas_settings(**given: Any) -> CanvasSettings:
    """The Canvas settings: `given` values (None ones left out) over dlt's config, secrets and env.

    Raises:
        SettingValueError: a setting is of the wrong kind (the message names where it is set).
        ConfigFieldMissingException: base_url or access_token is set nowhere.
    """
    return resolve_settings(CanvasSettings(), SECTIONS, given)
