"""The load library's dlt defaults: an extract writes its files for normalize uncompressed (normalize's
own files for the load stay compressed), unless the configuration says otherwise; the rows come
through either way."""

from __future__ import annotations

from pathlib import Path

from tests.fresh_python import run_python

# one extract in a fresh process (dlt keeps its configuration providers per process): the first
# bytes of each file the extract wrote, then the rows a full run loads
CHECK = """
import sys
from pathlib import Path
import dlt
from pipelines.dlt_defaults import use_load_defaults

if sys.argv[1] == "defaults":
    use_load_defaults()
    use_load_defaults()  # registered once
rows = [{"id": i, "name": f"row {i}"} for i in range(500)]
pipeline = dlt.pipeline("defaults_check", destination=dlt.destinations.duckdb("check.duckdb"), dataset_name="d")
pipeline.extract(dlt.resource(rows, name="items"))
extracted = Path(pipeline.working_dir) / "normalize" / "extracted"


def kind(files):
    heads = {f.read_bytes()[:2] for f in files}
    return "gzip" if heads == {bytes([0x1F, 0x8B])} else "plain" if heads and bytes([0x1F, 0x8B]) not in heads else heads


print(kind(extracted.rglob("items.*")))
pipeline.normalize()  # its files for the load: insert statements for DuckDB by default
print(kind((Path(pipeline.working_dir) / "load" / "normalized").rglob("items.*")))
pipeline.load()
with pipeline.sql_client() as client:
    print(client.execute_sql("select count(*), count(distinct id) from items")[0])
"""


def _extract(tmp_path: Path, mode: str, **env: str) -> list[str]:
    out = run_python(CHECK, tmp_path, mode, **env)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.split("\n")[:3]


def test_the_extract_writes_plain_files_with_the_load_defaults(tmp_path: Path) -> None:
    assert _extract(tmp_path, "defaults") == ["plain", "gzip", "(500, 500)"]


def test_dlt_compresses_them_without_the_defaults(tmp_path: Path) -> None:
    # the check itself: dlt's own default is gzip, so "plain" above comes from the provider
    assert _extract(tmp_path, "dlt") == ["gzip", "gzip", "(500, 500)"]


def test_a_setting_in_the_environment_wins_over_the_defaults(tmp_path: Path) -> None:
    env = {"DATA_WRITER__DISABLE_COMPRESSION": "false"}
    assert _extract(tmp_path, "defaults", **env) == ["gzip", "gzip", "(500, 500)"]
