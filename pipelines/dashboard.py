"""The line that tells a user how to open dlt's dashboard, or what to install first.

`dlt pipeline <name> show` without the `dashboard` extra starts nothing: dlt prints one warning and
exits 0, which reads like success. Our commands check for the extra and say which line to run.
"""

from __future__ import annotations

from importlib.util import find_spec

# what dlt 1.31's `show` needs: dlt[hub] (the `dlthub` package) to start, marimo to serve the app
DASHBOARD_MODULES = ("dlthub", "marimo")
INSTALL_LINE = 'pip install -e ".[dashboard]"'


def dashboard_installed() -> bool:
    """Whether `dlt pipeline <name> show` can start here."""
    return all(find_spec(module) is not None for module in DASHBOARD_MODULES)


def dashboard_hint(pipeline_name: str) -> str:
    """`dashboard: dlt pipeline <name> show`, preceded by the install line when the extra is missing."""
    show = f"dlt pipeline {pipeline_name} show"
    if dashboard_installed():
        return f"dashboard: {show}"
    return (
        f"dashboard: {INSTALL_LINE} first (dlt[hub] is under the dltHub EULA: see docs/inspect.md), "
        f"then {show}"
    )


__all__ = ["dashboard_hint", "dashboard_installed"]
