"""The README's Postgres block runs as written against the local Postgres (tagged `run: postgres`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import postgres_available
from tests.readme_blocks import docs_blocks, prepare_folder, readme_blocks, run_block


def test_the_readme_postgres_load_runs_as_written(tmp_path: Path) -> None:
    cwd, env = prepare_folder(tmp_path)
    tagged = readme_blocks() + docs_blocks()
    postgres = [b for b in tagged if b.kind == "run" and b.detail == "postgres"]
    assert postgres, "the README shows a Postgres load"
    if not postgres_available():
        pytest.fail(
            "the local Postgres at 127.0.0.1:5432 (database test) is not reachable; .ci/run starts it"
        )
    for block in postgres:
        out = run_block(block, cwd, env).stdout
        assert "(succeeded) stored in table canvas.run_reports" in out, out
