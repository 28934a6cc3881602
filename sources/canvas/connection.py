"""The Canvas connection settings, resolved once by dlt's configuration (`[sources.canvas]`)."""

from __future__ import annotations

from typing import Any

from dlt.common.configuration import configspec
from dlt.common.typing import TSecretStrValue

from ..lms_http.retry import RetryPolicy
from ..lms_http.settings import ClientSettings
from ..settings_errors import resolve_settings
from .helpers import CanvasApi

SECTIONS = ("sources", "canvas")


@configspec
class CanvasSettings(ClientSettings):
    """Where Canvas is and how hard to press it: `[sources.canvas]` in .dlt/config.toml and
    .dlt/secrets.toml, or env `SOURCES__CANVAS__<NAME>`; concurrency and retries as in `ClientSettings`.

    Attributes:
        base_url: the Canvas host, e.g. `https://school.instructure.com` (with or without /api/v1).
        access_token: an account-admin API token (a secret: never logged or stored in state).
    """

    base_url: str = None
    access_token: TSecretStrValue = None

    def client(self, policy: RetryPolicy | None = None) -> CanvasApi:
        """A client for one run (its own request statistics)."""
        return CanvasApi(
            self.base_url,
            self.access_token,
            max_in_flight=self.max_in_flight,
            policy=policy or self.retry_policy(),
            request_timeout=self.request_timeout,
        )


def canvas_settings(**given: Any) -> CanvasSettings:
    """The Canvas settings: `given` values (None ones left out) over dlt's config, secrets and env.

    Raises:
        SettingValueError: a setting is of the wrong kind (the message names where it is set).
        ConfigFieldMissingException: base_url or access_token is set nowhere.
    """
    return resolve_settings(CanvasSettings(), SECTIONS, given)
