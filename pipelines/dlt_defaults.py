"""dlt settings the load library changes from dlt's own defaults; any explicit setting still wins."""

from __future__ import annotations

from typing import ClassVar

import dlt
from dlt.common.configuration.providers import DictionaryProvider


class LoadDefaults(DictionaryProvider):
    """A configuration provider consulted after all others (environment, .dlt/config.toml and
    secrets first), holding the load library's defaults:

    - `[data_writer] disable_compression = true`: dlt gzips the files an extract writes for
      normalize to read back, at gzip's slowest level. They live only until the package is
      normalized; in a Canvas medium full sync the gzip was about 9% of the main thread's samples
      (py-spy), and without it the run used about 4% less CPU (three runs each). dlt resolves the extract's writer settings in the source's sections
      (`sources.<section>.<name>.data_writer`, then `data_writer`), not under `extract`, so the
      default is the global one;
    - `[normalize.data_writer] disable_compression = false`: normalize's own output, which
      destinations load, stays as dlt writes it.
    """

    NAME: ClassVar[str] = "lms-elt load defaults"

    def __init__(self) -> None:
        super().__init__()
        self._config_doc = {
            "data_writer": {"disable_compression": True},
            "normalize": {"data_writer": {"disable_compression": False}},
        }


def use_load_defaults() -> None:
    """Register `LoadDefaults` once per dlt run context (a default in dlt's configuration, not the
    environment, which child processes and every other reader would inherit)."""
    if LoadDefaults.NAME not in {provider.name for provider in dlt.config.config_providers}:
        dlt.config.register_provider(LoadDefaults())
