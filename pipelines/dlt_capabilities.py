"""dlt's destination capabilities without resolving a configuration they do not read.

Asked for a destination's capabilities without a configuration, dlt's `Destination.capabilities`
first resolves one (every field through every provider and section) only to hand it to the
factory's `adjust_capabilities`. The base `adjust_capabilities`, which DuckDB and Postgres keep,
reads the naming convention and never the configuration. A Canvas Data 2 no-change rerun asks 18
times without a configuration (its extracts, normalizes, loads and SQL clients), and those
resolutions were about a fifth of the rerun's samples (py-spy).
"""

from __future__ import annotations

from typing import Any

from dlt.common.destination.reference import Destination

_BASE_ADJUST = Destination.adjust_capabilities.__func__  # type: ignore[attr-defined]
_stock_capabilities = Destination.capabilities


def _capabilities(self: Destination, config: Any = None, naming: Any = None) -> Any:
    """dlt's `Destination.capabilities`, skipping the configuration where nothing reads it."""
    adjust = getattr(type(self).adjust_capabilities, "__func__", None)
    if config is not None or adjust is not _BASE_ADJUST:
        return _stock_capabilities(self, config, naming)
    # what dlt does from here on, with no configuration: the base adjustment does not read one
    caps = self._raw_capabilities()
    caps.update(self.caps_params)
    caps = self.adjust_capabilities(caps, None, naming)  # type: ignore[arg-type]
    caps.update(self.caps_params)  # explicit capabilities win, as in dlt
    return caps


def capabilities_without_unused_config() -> None:
    """Replace dlt's `Destination.capabilities` with `_capabilities` (for the whole process; calling
    it again changes nothing). A destination whose factory adjusts capabilities from its
    configuration (Snowflake, MSSQL, filesystem...) still gets dlt's own."""
    Destination.capabilities = _capabilities  # type: ignore[method-assign,assignment]
