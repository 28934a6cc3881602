"""Dagster resources: the LMS connections and the warehouse every shard loads into."""

import threading
from collections.abc import Callable
from typing import Any, Optional, TypeVar

import dlt
from dagster import ConfigurableResource
from dlt.common.configuration.exceptions import ConfigFieldMissingException

from pipelines.warehouse import duckdb_destination
from sources.brightspace import BrightspaceApi, BrightspaceSettings, brightspace_settings
from sources.brightspace.settings import DEFAULT_REFRESH_TOKEN_FILE, DEFAULT_TOKEN_URL
from sources.canvas import CanvasApi, CanvasSettings, canvas_settings

DEFAULT_DUCKDB_FILE = "lms.duckdb"
Settings = TypeVar("Settings")


class ConnectionNotConfigured(RuntimeError):
    """An LMS connection setting is missing from both the resource config and dlt's config."""


def _resolved(resolve: Callable[..., Settings], resource: str, lms: str, **given: Any) -> Settings:
    """The LMS settings: the resource's fields over dlt's config; a missing one names both places."""
    try:
        return resolve(**given)
    except ConfigFieldMissingException as exc:
        missing = ", ".join(exc.fields)
        env = " / ".join(f"SOURCES__{lms.upper()}__{name.upper()}" for name in exc.fields)
        raise ConnectionNotConfigured(
            f"{missing} not set: give it in the Dagster resource config ({resource}, e.g. with EnvVar) "
            f"or under [sources.{lms}] in .dlt/config.toml / .dlt/secrets.toml (env {env})"
        ) from None


class CanvasConnection(ConfigurableResource):
    """Where Canvas is and the token to read it; unset fields come from dlt config (`[sources.canvas]`).

    Attributes:
        base_url: the Canvas host.
        access_token: an account-admin token; pass it with `EnvVar`, never as a literal.
        max_in_flight: most concurrent requests per shard run.
    """

    base_url: Optional[str] = None  # noqa: UP045 (Dagster's config schema needs Optional)
    access_token: Optional[str] = None  # noqa: UP045
    max_in_flight: int = 8

    def settings(self) -> CanvasSettings:
        """The Canvas settings: this resource's fields over `[sources.canvas]`."""
        return _resolved(
            canvas_settings,
            "CanvasConnection",
            "canvas",
            base_url=self.base_url,
            access_token=self.access_token,
            max_in_flight=self.max_in_flight,
        )

    def connection(self) -> tuple[str, str]:
        """(base_url, access_token)."""
        settings = self.settings()
        return settings.base_url, settings.access_token

    def api(self) -> CanvasApi:
        """A client for one shard run (its own request statistics; the throttle is the server's)."""
        return self.settings().client()


# Brightspace refresh tokens are single use: every shard run in this process shares one client, so
# one refresh serves them all (runs in other processes take turns through the token file's lock)
_BRIGHTSPACE_CLIENTS: dict[tuple[str, str, str], BrightspaceApi] = {}
_BRIGHTSPACE_LOCK = threading.Lock()


class BrightspaceConnection(ConfigurableResource):
    """The Brightspace host and OAuth2 app; unset fields come from dlt config (`[sources.brightspace]`).

    Attributes:
        base_url: the Brightspace host.
        client_id: the OAuth2 app's client id.
        client_secret: the OAuth2 app's secret; pass it with `EnvVar`.
        refresh_token: the first refresh token (rotated ones are kept in `refresh_token_file`).
        token_url: the OAuth2 token endpoint.
        refresh_token_file: where rotated refresh tokens are kept (mode 0600).
        max_in_flight: most concurrent requests.
    """

    base_url: Optional[str] = None  # noqa: UP045
    client_id: Optional[str] = None  # noqa: UP045
    client_secret: Optional[str] = None  # noqa: UP045
    refresh_token: Optional[str] = None  # noqa: UP045
    token_url: str = DEFAULT_TOKEN_URL
    refresh_token_file: str = DEFAULT_REFRESH_TOKEN_FILE
    max_in_flight: int = 8

    def settings(self) -> BrightspaceSettings:
        """The Brightspace settings: this resource's fields over `[sources.brightspace]`."""
        return _resolved(
            brightspace_settings,
            "BrightspaceConnection",
            "brightspace",
            base_url=self.base_url,
            client_id=self.client_id,
            client_secret=self.client_secret,
            refresh_token=self.refresh_token,
            token_url=self.token_url,
            refresh_token_file=self.refresh_token_file,
            max_in_flight=self.max_in_flight,
        )

    def api(self) -> BrightspaceApi:
        """The process's client for this app (shared by concurrent shard runs)."""
        settings = self.settings()
        key = (settings.base_url, settings.client_id, settings.refresh_token_file)
        with _BRIGHTSPACE_LOCK:
            if key not in _BRIGHTSPACE_CLIENTS:
                _BRIGHTSPACE_CLIENTS[key] = settings.client()
            return _BRIGHTSPACE_CLIENTS[key]


class Warehouse(ConfigurableResource):
    """The destination every shard loads into and the SQL models are built in.

    Attributes:
        destination: a dlt destination name, `duckdb` or `postgres` (credentials from dlt config,
            e.g. env DESTINATION__POSTGRES__CREDENTIALS).
        duckdb_path: the DuckDB file (default: dlt's configured credentials, else `lms.duckdb`).
        canvas_dataset: schema of the Canvas tables.
        brightspace_dataset: schema of the Brightspace tables.
        analytics_schema: schema of the marts.
    """

    destination: str = "duckdb"
    duckdb_path: Optional[str] = None  # noqa: UP045
    canvas_dataset: str = "canvas"
    brightspace_dataset: str = "brightspace"
    analytics_schema: str = "analytics"

    def dlt_destination(self) -> Any:
        """The destination for `dlt.pipeline`: one DuckDB file for every shard and both LMSs."""
        if self.destination != "duckdb":
            return self.destination
        if self.duckdb_path:
            return duckdb_destination(self.duckdb_path)
        try:
            configured = dlt.secrets.get("destination.duckdb.credentials") or dlt.config.get(
                "destination.duckdb.credentials"
            )
        except Exception:
            configured = None
        return "duckdb" if configured else duckdb_destination(DEFAULT_DUCKDB_FILE)
