"""dlt's dashboard on our Canvas load, served headless and read in headless Chromium: tables and row counts."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.dashboard.conftest import PIPELINE_NAME, ROOT, LoadedPipeline

if TYPE_CHECKING:
    from playwright.sync_api import Page

SCREENSHOT = ROOT / "test-output" / "dashboard" / f"{PIPELINE_NAME}.png"
# the machine has no outside network: nothing that phones home, and a profile of its own per run
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
DASHBOARD_START_S = 90.0
UI_TIMEOUT_MS = 60_000


def chromium_path() -> str | None:
    """Debian's chromium (`.ci/run` installs it), or the browser named by CHROMIUM_PATH."""
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")


def missing_requirement() -> str | None:
    """Why this machine cannot run the browser test, or None when it can."""
    if chromium_path() is None:
        return "Chromium is not installed (Debian: apt-get install chromium; .ci/run does it)"
    for module, package in [("playwright", "playwright"), ("marimo", "marimo"), ("ibis", "ibis-framework")]:
        if importlib.util.find_spec(module) is None:
            return f"{package} is not installed: pip install -e '.[dev,dashboard]'"
    import dlt.hub

    if not dlt.hub.__found__:
        return "dlt[hub] (the dlthub package) is not installed: pip install -e '.[dashboard]'"
    return None


MISSING = missing_requirement()
pytestmark = pytest.mark.skipif(MISSING is not None, reason=f"dashboard browser test skipped: {MISSING}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def dashboard_command(loaded: LoadedPipeline, port: int) -> list[str]:
    """The marimo command `dlt pipeline canvas_pipeline show` runs, headless on 127.0.0.1:`port`."""
    from dlt._workspace.helpers.dashboard.runner import run_dashboard_command

    command = run_dashboard_command(
        PIPELINE_NAME, pipelines_dir=str(loaded.pipelines_dir), port=port, host="127.0.0.1", headless=True
    )
    assert command[:2] == ["marimo", "run"], command
    return [sys.executable, "-m", "marimo", *command[1:]]


def wait_until_serving(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + DASHBOARD_START_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the dashboard exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"the dashboard did not answer at {url}:\n{log.read_text(errors='replace')}")


@pytest.fixture
def dashboard_url(loaded_canvas: LoadedPipeline) -> Iterator[str]:
    """The dashboard for canvas_pipeline, started from the load's folder; always stopped afterwards."""
    port = free_port()
    log = loaded_canvas.cwd / "dashboard.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            dashboard_command(loaded_canvas, port),
            cwd=loaded_canvas.cwd,  # the destination resolves to canvas_pipeline.duckdb here, as from the repo root
            env=loaded_canvas.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:
            url = f"http://127.0.0.1:{port}/"
            wait_until_serving(proc, url, log)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def shown_row_counts(page: Page, names: list[str]) -> dict[str, int | None]:
    """Open the table browser, load row counts and read {table: row_count} off the table list."""
    from playwright.sync_api import expect

    table_list = page.locator("table").filter(has=page.locator("th", has_text="write_disposition"))
    table_list.wait_for()  # the app has rendered the pipeline's table list
    # all tables on one page first: a later change of page size re-runs the cell, which drops
    # the row counts again (marimo's run button is true for one run only)
    page.get_by_role("button", name=re.compile(r"^\d+ \/ page$")).click()
    page.get_by_role("menuitem", name="100", exact=True).click()
    expect(page.get_by_role("button", name="100 / page")).to_be_visible(timeout=UI_TIMEOUT_MS)
    page.get_by_role("button", name="Load row counts").click()
    expect(table_list.locator("th", has_text="row_count")).to_be_visible(timeout=UI_TIMEOUT_MS)
    # marimo's table cells carry data-cell-id="<row>_<column>"
    name_cells = table_list.locator('td[data-cell-id$="_name"]')
    for name in names:
        expect(name_cells.filter(has_text=re.compile(f"^{name}$"))).to_have_count(1, timeout=UI_TIMEOUT_MS)
    shown: dict[str, int | None] = {}
    for row in table_list.locator("tbody tr").all():
        name = row.locator('td[data-cell-id$="_name"]').inner_text().strip()
        count = row.locator('td[data-cell-id$="_row_count"]').inner_text().strip().replace(",", "")
        shown[name] = int(count) if count.isdigit() else None
    return shown


def test_dashboard_shows_our_tables_and_row_counts(loaded_canvas: LoadedPipeline, dashboard_url: str) -> None:
    from playwright.sync_api import sync_playwright

    expected = loaded_canvas.truth
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile, sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            profile,
            executable_path=chromium_path(),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 1300},
        )
        try:
            page = browser.new_page()
            page.set_default_timeout(UI_TIMEOUT_MS)
            page.goto(dashboard_url, wait_until="domcontentloaded")
            page.get_by_text(f"Pipeline {PIPELINE_NAME}").first.wait_for()
            try:
                shown = shown_row_counts(page, sorted(expected))
            except Exception:  # keep what the page showed, for whoever reads the failure
                page.screenshot(path=str(SCREENSHOT.with_name(f"{PIPELINE_NAME}-failed.png")), full_page=True)
                raise
            page.screenshot(path=str(SCREENSHOT), full_page=True)
        finally:
            browser.close()
    assert {table: shown.get(table) for table in expected} == expected
    assert SCREENSHOT.stat().st_size > 10_000
