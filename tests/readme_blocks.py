"""The README's fenced blocks and their tags, and how the README tests run a command block.

Every fenced block in the README (and each tagged block in docs/) carries a tag in the comment line
before it, `<!-- readme-test: KIND -->`:
- `demo`: the quick start; the install steps are what this test environment already did (checked
  word for word), the rest runs in a fresh folder;
- `run`: runs in that folder after the demo (the query blocks use the `duckdb` command);
- `run: postgres`: runs in a fresh folder of its own, against the local Postgres;
- `toml`: parsed as TOML;
- `skip: REASON`: not run here (the test command itself, a server that runs until stopped).
An untagged command block (bash, sh, toml, sql) fails the test, so a new README command is run or
explicitly skipped; listings (a fence without a language, or `text`) need no tag.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
# what the quick start's first steps do; this test runs in the environment they made
INSTALL_STEPS = ["python3.11 -m venv .venv", ". .venv/bin/activate", "pip install -q -e ."]
TAG = re.compile(r"^<!-- readme-test: (?P<kind>[a-z]+)(?::\s*(?P<detail>.*?))?\s*-->$")
FENCE = re.compile(r"^```(?P<lang>\w*)\s*$")


@dataclass
class Block:
    source: str  # file:line of the opening fence
    lang: str
    kind: str | None
    detail: str
    text: str


def blocks(path: Path) -> list[Block]:
    """The fenced blocks of a Markdown file, each with the tag on the line before it (if any)."""
    lines = path.read_text().splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
        tag = TAG.match(lines[i - 1].strip()) if i > 0 else None
        found.append(
            Block(
                source=f"{path.relative_to(ROOT)}:{i + 1}",
                lang=opening["lang"],
                kind=tag["kind"] if tag else None,
                detail=(tag["detail"] or "") if tag else "",
                text="\n".join(lines[i + 1 : end]) + "\n",
            )
        )
        i = end + 1
    return found


def readme_blocks() -> list[Block]:
    return blocks(README)


def docs_blocks() -> list[Block]:
    return [block for page in sorted(DOCS.glob("*.md")) for block in blocks(page) if block.kind]


def run_block(block: Block, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block.text],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, (
        f"{block.source} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    )
    assert "Traceback" not in result.stderr, f"{block.source}:\n{result.stderr}"
    return result


def prepare_folder(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A fresh folder laid out like the repository root for the commands, and their environment."""
    (tmp_path / "pipelines").symlink_to(ROOT / "pipelines")
    (tmp_path / ".dlt").mkdir()
    shutil.copy(ROOT / ".dlt" / "config.toml", tmp_path / ".dlt" / "config.toml")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "DESTINATION__"))}
    env.update(
        # this environment's python, duckdb and dlt commands, as the activated venv would give them
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        DLT_DATA_DIR=str(tmp_path / "dlt-data"),
        RUNTIME__DLTHUB_TELEMETRY="false",
    )
    return tmp_path, env
