"""The Canvas Data 2 connection settings, resolved once by dlt's configuration (`[sources.canvas_data2]`)."""

from __future__ import annotations

from typing import Any

from dlt.common.configuration import configspec
from dlt.common.typing import TSecretStrValue

from ..lms_http.jobs import PollPolicy
from ..settings_errors import resolve_settings
from .client import DapClient
from .settings import DEFAULT_BASE_URL, DOWNLOAD_WORKERS, JOBS_PER_MINUTE

SECTIONS = ("sources", "canvas_data2")


@configspec
class CanvasData2Settings:
    """Where DAP is and the client's credentials: `[sources.canvas_data2]` in .dlt/config.toml and
    .dlt/secrets.toml, or env `SOURCES__CANVAS_DATA2__<NAME>`.

    Attributes:
        client_id: DAP client id.
        client_secret: DAP client secret (a secret: never logged or stored in state).
        base_url: the DAP API gateway (Instructure's by default).
        jobs_per_minute: job creations allowed per minute (DAP's limit: 5).
        download_workers: objects downloaded at once.
        poll_seconds: seconds between job status polls.
    """

    client_id: str = None
    client_secret: TSecretStrValue = None
    base_url: str = DEFAULT_BASE_URL
    jobs_per_minute: int = JOBS_PER_MINUTE
    download_workers: int = DOWNLOAD_WORKERS
    poll_seconds: float = 5.0

    def client(self) -> DapClient:
        """A client for one run (its own request statistics)."""
        return DapClient(
            self.base_url,
            self.client_id,
            self.client_secret,
            jobs_per_minute=self.jobs_per_minute,
            download_workers=self.download_workers,
            poll=PollPolicy(first_delay=self.poll_seconds, factor=1.0, max_delay=max(self.poll_seconds, 0.0)),
        )


def canvas_data2_settings(**given: Any) -> CanvasData2Settings:
    """The settings: `given` values (None ones left out) over dlt's config, secrets and env.

    Raises:
        ConfigFieldMissingException: client_id or client_secret is set nowhere.
    """
    return resolve_settings(CanvasData2Settings(), SECTIONS, given)
