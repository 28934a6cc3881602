"""Dagster resources: the LMS connections and the warehouse every shard loads into."""

import threading
from typing import Any, Optional

import dlt
from dagster import ConfigurableResource
from dlt.pipeline.pipeline import Pipeline

from pipelines.shards import Shard, duckdb_destination, shard_pipeline_name
from sources.brightspace import BrightspaceApi, connect
from sources.brightspace.settings import DEFAULT_REFRESH_TOKEN_FILE, DEFAULT_TOKEN_URL
from sources.canvas import CanvasApi

DEFAULT_DUCKDB_FILE = "lms.duckdb"


class ConnectionNotConfigured(RuntimeError):
    """An LMS connection setting is missing from both the resource config and dlt's config."""


def _setting(value: str | None, key: str, secret: bool, hint: str) -> str:
    if value:
        return value
    try:
        found = (dlt.secrets if secret else dlt.config).get(key)
    except Exception:  # a provider that cannot read the key has no value for it
        found = None
    if not found:
        raise ConnectionNotConfigured(
            f"{key} is not set: give it in the Dagster resource config ({hint}, e.g. with "
            f"EnvVar) or in .dlt/{'secrets' if secret else 'config'}.toml / env {key.upper().replace('.', '__')}"
        )
    return str(found)


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

    def connection(self) -> tuple[str, str]:
        """(base_url, access_token)."""
        base_url = _setting(self.base_url, "sources.canvas.base_url", False, "CanvasConnection.base_url")
        token = _setting(
            self.access_token, "sources.canvas.access_token", True, "CanvasConnection.access_token"
        )
        return base_url, token

    def api(self) -> CanvasApi:
        """A client for one shard run (its own request statistics; the throttle is the server's)."""
        base_url, token = self.connection()
        return CanvasApi(base_url, token, max_in_flight=self.max_in_flight)


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

    def api(self) -> BrightspaceApi:
        """The process's client for this app (shared by concurrent shard runs)."""
        base_url = _setting(
            self.base_url, "sources.brightspace.base_url", False, "BrightspaceConnection.base_url"
        )
        client_id = _setting(
            self.client_id, "sources.brightspace.client_id", True, "BrightspaceConnection.client_id"
        )
        key = (base_url, client_id, self.refresh_token_file)
        with _BRIGHTSPACE_LOCK:
            if key not in _BRIGHTSPACE_CLIENTS:
                secret = _setting(
                    self.client_secret,
                    "sources.brightspace.client_secret",
                    True,
                    "BrightspaceConnection.client_secret",
                )
                try:
                    refresh = self.refresh_token or dlt.secrets.get("sources.brightspace.refresh_token")
                except Exception:
                    refresh = self.refresh_token
                _BRIGHTSPACE_CLIENTS[key] = connect(
                    base_url,
                    client_id,
                    secret,
                    refresh,
                    token_url=self.token_url,
                    refresh_token_file=self.refresh_token_file,
                    max_in_flight=self.max_in_flight,
                )
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

    def pipeline(self, base_name: str, shard: Shard, dataset_name: str) -> Pipeline:
        """The dlt pipeline of one shard: its own name (own local and destination state), this destination."""
        return dlt.pipeline(
            pipeline_name=shard_pipeline_name(base_name, shard),
            destination=self.dlt_destination(),
            dataset_name=dataset_name,
        )
