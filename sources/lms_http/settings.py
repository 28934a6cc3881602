"""Settings every LMS client shares, resolved by dlt's configuration in the LMS's own section."""

from __future__ import annotations

from dlt.common.configuration import configspec
from dlt.common.configuration.specs import BaseConfiguration

from .retry import RetryPolicy


@configspec
class ClientSettings(BaseConfiguration):
    """How hard a client presses its LMS.

    Attributes:
        max_in_flight: most requests in flight at once for this token or app.
        retry_max_attempts: attempts per request for throttled, 5xx and connection failures.
        retry_base_delay: first backoff delay in seconds (doubles, with jitter).
        request_timeout: seconds before a request is abandoned and retried.
    """

    max_in_flight: int = 8
    retry_max_attempts: int = 8
    retry_base_delay: float = 1.0
    request_timeout: float = 60.0

    def retry_policy(self) -> RetryPolicy:
        """The retries `retry_max_attempts` and `retry_base_delay` describe."""
        return RetryPolicy(max_attempts=self.retry_max_attempts, base_delay=self.retry_base_delay)
