"""dlt's destination capabilities without the configuration nothing reads (pipelines/dlt_capabilities.py):
the same capabilities as dlt's own, without resolving a configuration."""

from __future__ import annotations

import functools
from typing import Any

import dlt
import pytest
from dlt.common.destination.reference import Destination
from dlt.common.normalizers.naming import snake_case, sql_cs_v1

from pipelines import dlt_capabilities
from pipelines.dlt_capabilities import capabilities_without_unused_config

DESTINATIONS = {
    "duckdb": lambda: dlt.destinations.duckdb(":memory:"),
    "postgres": lambda: dlt.destinations.postgres("postgresql://postgres:postgres@127.0.0.1:5432/test"),
    "duckdb with explicit caps": lambda: dlt.destinations.duckdb(
        ":memory:", max_identifier_length=40, recommended_file_size=1000
    ),
}
NAMINGS = {
    "none": None,
    "snake_case": snake_case.NamingConvention(),
    "case sensitive": sql_cs_v1.NamingConvention(),
}


@pytest.fixture
def resolutions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The destinations whose configuration is resolved while the test runs."""
    seen: list[str] = []
    stock = Destination.configuration

    def counted(self: Destination, *args: Any, **kwargs: Any) -> Any:
        seen.append(self.destination_name)
        return stock(self, *args, **kwargs)

    monkeypatch.setattr(Destination, "configuration", counted)
    monkeypatch.setattr(Destination, "capabilities", dlt_capabilities._stock_capabilities)
    return seen


def _as_dict(caps: Any) -> dict[str, Any]:
    """The capabilities, a `functools.partial` (made anew at each call) as what it calls."""
    return {
        key: (value.func, value.args, value.keywords) if isinstance(value, functools.partial) else value
        for key, value in ((key, caps[key]) for key in caps)
    }


@pytest.mark.parametrize("naming", NAMINGS.values(), ids=NAMINGS.keys())
@pytest.mark.parametrize("make", DESTINATIONS.values(), ids=DESTINATIONS.keys())
def test_the_capabilities_are_dlts_without_a_resolved_configuration(
    make: Any, naming: Any, resolutions: list[str]
) -> None:
    destination = make()
    stock = _as_dict(destination.capabilities(naming=naming))
    assert resolutions == [destination.destination_name]  # dlt's own resolves one each time

    capabilities_without_unused_config()
    ours = _as_dict(destination.capabilities(naming=naming))
    assert ours == stock
    assert resolutions == [destination.destination_name]  # ours resolved none
    if naming is not None and naming.is_case_sensitive:
        assert ours["casefold_identifier"] is str
    for name, value in destination.caps_params.items():  # explicit capabilities still win
        assert ours[name] == value


def test_a_destination_that_adjusts_from_its_configuration_still_gets_dlts(
    resolutions: list[str], tmp_path: Any
) -> None:
    capabilities_without_unused_config()
    destination = dlt.destinations.filesystem(str(tmp_path))
    destination.capabilities()
    assert resolutions == [destination.destination_name]


def test_given_a_configuration_dlts_own_runs(resolutions: list[str], tmp_path: Any) -> None:
    capabilities_without_unused_config()
    destination = dlt.destinations.duckdb(str(tmp_path / "given.duckdb"))
    config = destination.configuration(destination.spec(), accept_partial=True)
    resolutions.clear()
    assert _as_dict(destination.capabilities(config)) == _as_dict(
        dlt_capabilities._stock_capabilities(destination, config)
    )
    assert resolutions == []  # the configuration given is used, not resolved again
