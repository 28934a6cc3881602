"""The Brightspace connection settings, resolved once by dlt's configuration (`[sources.brightspace]`)."""

from __future__ import annotations

from typing import Any, Optional

from dlt.common.configuration import configspec
from dlt.common.typing import TSecretStrValue

from ..lms_http.jobs import PollPolicy
from ..lms_http.oauth import TokenStore
from ..lms_http.retry import RetryPolicy
from ..lms_http.settings import ClientSettings
from ..settings_errors import resolve_settings
from .helpers import BrightspaceApi, connect
from .settings import DEFAULT_REFRESH_TOKEN_FILE, DEFAULT_TOKEN_URL

SECTIONS = ("sources", "brightspace")


@configspec
class BrightspaceSettings(ClientSettings):
    """The Brightspace host and OAuth2 app: `[sources.brightspace]` in .dlt/config.toml and
    .dlt/secrets.toml, or env `SOURCES__BRIGHTSPACE__<NAME>`; concurrency and retries as in `ClientSettings`.

    Attributes:
        base_url: the Brightspace host, e.g. `https://school.brightspace.com`.
        client_id: the OAuth2 app's client id.
        client_secret: the OAuth2 app's client secret (never logged or stored in state).
        refresh_token: the first refresh token (one browser consent); rotated tokens are kept in
            `refresh_token_file`, which wins over this setting once it exists.
        token_url: the OAuth2 token endpoint (D2L's global one by default).
        refresh_token_file: where the rotated refresh token is kept (mode 0600, git-ignored).
        api_versions: per-product version overrides, e.g. {"lp": "1.49", "le": "1.82"}.
    """

    base_url: str = None
    client_id: TSecretStrValue = None
    client_secret: TSecretStrValue = None
    refresh_token: Optional[TSecretStrValue] = None  # noqa: UP045 (dlt reads Optional as not required)
    token_url: str = DEFAULT_TOKEN_URL
    refresh_token_file: str = DEFAULT_REFRESH_TOKEN_FILE
    api_versions: Optional[dict[str, str]] = None  # noqa: UP045

    def client(
        self,
        policy: RetryPolicy | None = None,
        poll_policy: PollPolicy | None = None,
        token_store: TokenStore | None = None,
    ) -> BrightspaceApi:
        """A client for this app (share one per process: refresh tokens are single use).

        Args:
            policy: retries (default: from `retry_max_attempts` and `retry_base_delay`).
            poll_policy: how Data Hub export jobs are polled (default: the client's).
            token_store: where rotated refresh tokens go (default: `refresh_token_file`).
        """
        return connect(
            self.base_url,
            self.client_id,
            self.client_secret,
            self.refresh_token,
            token_url=self.token_url,
            refresh_token_file=self.refresh_token_file,
            api_versions=self.api_versions,
            max_in_flight=self.max_in_flight,
            policy=policy or self.retry_policy(),
            request_timeout=self.request_timeout,
            poll_policy=poll_policy,
            token_store=token_store,
        )


def brightspace_settings(**given: Any) -> BrightspaceSettings:
    """The Brightspace settings: `given` values (None ones left out) over dlt's config, secrets and env.

    Raises:
        SettingValueError: a setting is of the wrong kind (the message names where it is set).
        ConfigFieldMissingException: base_url, client_id or client_secret is set nowhere.
    """
    return resolve_settings(BrightspaceSettings(), SECTIONS, given)
