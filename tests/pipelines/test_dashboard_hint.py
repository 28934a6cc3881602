"""The dashboard hint names the install line exactly when dlt's `show` could not start."""

from __future__ import annotations

import importlib.util

import pytest

from pipelines import dashboard


def test_with_the_extra_installed_the_hint_is_the_show_command() -> None:
    # the dev extra (the test environment) includes the dashboard extra
    assert dashboard.dashboard_installed()
    assert dashboard.dashboard_hint("canvas_pipeline") == "dashboard: dlt pipeline canvas_pipeline show"


@pytest.mark.parametrize("missing", ["dlthub", "marimo"])
def test_without_the_extra_the_hint_names_the_install_line(
    missing: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the extra cannot be uninstalled inside the test run: hide one of its modules instead
    real = importlib.util.find_spec
    monkeypatch.setattr(dashboard, "find_spec", lambda name: None if name == missing else real(name))
    hint = dashboard.dashboard_hint("brightspace_pipeline")
    assert hint.startswith('dashboard: pip install -e ".[dashboard]" first')
    assert hint.endswith("then dlt pipeline brightspace_pipeline show")
