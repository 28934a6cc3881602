"""The README's commands run as written: its tagged shell, TOML and query blocks, against the sandbox.

How blocks are tagged: tests/readme_blocks.py. The Postgres block runs in test_readme_postgres.py
(a file of its own, so the two long runs can go to two workers).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from tests.readme_blocks import (
    INSTALL_STEPS,
    ROOT,
    Block,
    docs_blocks,
    prepare_folder,
    readme_blocks,
    run_block,
)


@pytest.fixture
def folder(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    return prepare_folder(tmp_path)


def test_every_readme_block_is_tagged_and_every_tag_is_known() -> None:
    kinds = {"demo", "run", "toml", "skip"}
    for block in readme_blocks() + docs_blocks():
        if block.lang in ("", "text") and block.kind is None:
            continue
        assert block.kind in kinds, f"{block.source}: tag it <!-- readme-test: run|toml|skip: why -->"
        if block.kind == "skip":
            assert block.detail, f"{block.source}: say why the block is skipped"
        if block.kind == "run":
            assert block.lang == "bash" and block.detail in ("", "postgres"), block.source
    assert [b.kind for b in readme_blocks()].count("demo") == 1


def test_the_toml_blocks_parse() -> None:
    for block in readme_blocks() + docs_blocks():
        if block.kind == "toml":
            assert tomllib.loads(block.text), block.source


def test_ci_runs_the_readme_test_command() -> None:
    (command,) = [b.text.strip() for b in readme_blocks() if b.kind == "skip" and "pytest" in b.text]
    assert command.endswith("&& pytest")
    ci = [
        line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith("#")
    ]
    assert ci[-1] == command


def test_the_readme_commands_run_as_written(folder: tuple[Path, dict[str, str]]) -> None:
    cwd, env = folder
    tagged = readme_blocks() + docs_blocks()
    (demo,) = [b for b in tagged if b.kind == "demo"]
    steps = demo.text.strip().split(" && ")
    assert steps[: len(INSTALL_STEPS)] == INSTALL_STEPS, "the quick start's install steps changed"
    run_block(Block(demo.source, "bash", "demo", "", " && ".join(steps[len(INSTALL_STEPS) :])), cwd, env)
    assert (cwd / "canvas_pipeline.duckdb").is_file()

    outputs = {}
    for block in [b for b in tagged if b.kind == "run" and not b.detail]:
        outputs[block.source] = out = run_block(block, cwd, env).stdout
        if "duckdb canvas_pipeline.duckdb" in block.text:
            assert not re.search(r"(?m)^\s*0 rows", out), f"{block.source}: a query came back empty:\n{out}"
    queries = outputs[next(b.source for b in readme_blocks() if b.kind == "run")]
    # what each README query selects is in its output, from the demo's warehouse
    for expected in ("StudentEnrollment", "lms_current_score", "attendance_pct"):
        assert expected in queries, expected
