"""Plant known bugs (mutants) in a copy of the tree, run the tests meant to catch each, print who killed it.

On demand, never in CI (slow: each mutant runs its tests). Run from the repository root:

    python tests/mutation/run_mutants.py            # every mutant
    python tests/mutation/run_mutants.py --list     # names only
    python tests/mutation/run_mutants.py --check    # every anchor still found? (no tests run)
    python tests/mutation/run_mutants.py --only cursor-overlap-0 --only redact-unchanged

Each mutant names a file, an exact snippet of it and the snippet's replacement, so it survives code
being moved around: if the file is gone or no longer holds the snippet, the snippet is looked for in
every tracked file of the same kind, and a snippet found nowhere (or in two places) is reported as
ANCHOR NOT FOUND (exit status 2) rather than silently skipped. The tests first run unmutated: a
test that already fails there could not tell a mutant apart.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Edit:
    """Replace the one occurrence of `original` in `file` by `replacement`."""

    file: str
    original: str
    replacement: str


@dataclass(frozen=True)
class Mutant:
    """A planted bug: its edits and the tests (paths or node ids) that should kill it."""

    name: str
    what: str
    edits: tuple[Edit, ...]
    tests: tuple[str, ...]


CURSOR_TESTS = ("tests/canvas/test_canvas_cursor.py",)
TOKEN_TESTS = (
    "tests/brightspace/test_token_persistence.py",
    "tests/lms_http/test_oauth.py",
)
REDACTION_TESTS = ("tests/reliability/test_redaction.py",)

MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        "submissions-first-page-only",
        "submissions paging stops after the first page",
        (
            Edit(
                "sources/canvas/submissions.py",
                "for r in self.api.rows(self.path, params)]",
                "for r in next(iter(self.api.pages(self.path, params)), [])]",
            ),
        ),
        (
            "tests/canvas/test_canvas_source.py::test_full_load_equals_sandbox_truth",
            "tests/canvas/test_canvas_values.py::test_every_table_equals_the_sandbox_after_full_and_incremental_runs",
        ),
    ),
    Mutant(
        "drop-lowest-keeps-one-more",
        "a drop-lowest rule keeps one row too many (SQL)",
        (
            Edit(
                "sql/models/intermediate/int_canvas_assignment_groups_dropped.sql",
                "else least(drop_lowest, droppable_count - 1)",
                "else least(drop_lowest - 1, droppable_count - 1)",
            ),
        ),
        ("tests/sql/test_grade_calculation.py",),
    ),
    Mutant(
        "privacy-drop-keeps-field",
        "privacy `drop` keeps the field",
        (
            Edit(
                "sources/privacy.py",
                "if action == DROP:\n                del out[key]",
                "if action == DROP:\n                pass",
            ),
        ),
        ("tests/privacy/test_drop.py",),
    ),
    Mutant(
        "redact-unchanged",
        "`redact()` returns its text unchanged",
        (
            Edit(
                "pipelines/run_report.py",
                "    for pattern, replacement in _SECRET_PATTERNS:\n        text = pattern.sub(replacement, text)\n",
                "",
            ),
        ),
        REDACTION_TESTS + ("tests/reliability/test_secrets.py",),
    ),
    Mutant(
        "redact-no-bearer",
        "`redact()` forgets Bearer headers",
        (
            Edit(
                "pipelines/run_report.py",
                '    (re.compile(r"(?i)(bearer\\s+)[^\\s\'\\",;]+"), r"\\1***"),\n',
                "",
            ),
        ),
        REDACTION_TESTS,
    ),
    Mutant(
        "cursor-overlap-0",
        "submissions cursor overlap set to 0",
        (Edit("sources/canvas/settings.py", "DEFAULT_OVERLAP_SECONDS = 300", "DEFAULT_OVERLAP_SECONDS = 0"),),
        CURSOR_TESTS,
    ),
    Mutant(
        "cursor-300s-past-unread",
        "submissions cursor moved 300 s past unread rows",
        (
            Edit(
                "sources/canvas/submissions.py",
                "since = _parse(self.state.get(field) or EPOCH) - self.overlap",
                "since = _parse(self.state.get(field) or EPOCH) + self.overlap",
            ),
        ),
        CURSOR_TESTS,
    ),
    Mutant(
        "cursor-from-real-clock",
        "submissions cursor set from the real clock",
        (
            Edit(
                "sources/canvas/submissions.py",
                "return _fmt(best) if best else current",
                "return _fmt(datetime.now(UTC)) if best else current",
            ),
        ),
        CURSOR_TESTS,
    ),
    Mutant(
        "overlap-rows-reloaded",
        "rows re-read unchanged in the overlap window are loaded again",
        (
            Edit(
                "sources/canvas/submissions.py",
                "changed = [r for r in found.values() if row_fingerprint(r) not in boundary]",
                "changed = list(found.values())",
            ),
        ),
        CURSOR_TESTS,
    ),
    Mutant(
        "refresh-token-saved-after-use",
        "the new refresh token saved after the new access token's first use (hook moved with it)",
        (
            Edit(
                "sources/lms_http/oauth.py",
                "            self.store.save(new_refresh)\n"
                "            self._refresh_token, self._from_store = new_refresh, True\n"
                "            if self._on_refresh is not None:\n"
                "                self._on_refresh()\n",
                "            self._refresh_token, self._from_store = new_refresh, True\n"
                "            self._unsaved = new_refresh\n",
            ),
            Edit(
                "sources/lms_http/oauth.py",
                '        request.headers["Authorization"] = f"Bearer {self.access_token()}"\n        return request\n',
                '        request.headers["Authorization"] = f"Bearer {self.access_token()}"\n'
                '        unsaved, self._unsaved = getattr(self, "_unsaved", None), None\n'
                "        if unsaved:\n"
                "            def save_after_use(response, **kwargs):\n"
                "                self.store.save(unsaved)\n"
                "                if self._on_refresh is not None:\n"
                "                    self._on_refresh()\n"
                "                return response\n"
                '            request.register_hook("response", save_after_use)\n'
                "        return request\n",
            ),
        ),
        TOKEN_TESTS,
    ),
    Mutant(
        "stored-refresh-token-ignored",
        "the configured refresh token wins over the stored (rotated) one",
        (
            Edit(
                "sources/lms_http/oauth.py",
                "            stored = self.store.load()\n            if stored:\n",
                "            stored = self.store.load()\n            if False and stored:\n",
            ),
        ),
        TOKEN_TESTS,
    ),
    Mutant(
        "points-numerator-from-denominator",
        "Brightspace grade values and final grades take PointsNumerator from PointsDenominator",
        (
            Edit(
                "sources/brightspace/shaping.py",
                "    row = {k: value.get(k) for k in _VALUE_FIELDS}\n",
                "    row = {k: value.get(k) for k in _VALUE_FIELDS}\n"
                '    row["PointsNumerator"] = value.get("PointsDenominator")\n',
            ),
        ),
        (
            "tests/brightspace/test_brightspace_values.py::test_every_table_equals_the_sandbox_after_full_and_incremental_runs",
        ),
    ),
    Mutant(
        "enrollment-current-score-from-final",
        "Canvas enrollments load final_* grades into the current_* columns",
        (
            Edit(
                "sources/canvas/helpers.py",
                'row[f"grades__{key}"] = grades.get(key)',
                'row[f"grades__{key}"] = grades.get(key.replace("current", "final"))',
            ),
        ),
        (
            "tests/canvas/test_canvas_values.py::test_every_table_equals_the_sandbox_after_full_and_incremental_runs",
        ),
    ),
    Mutant(
        "submission-graded-at-from-submitted-at",
        "Canvas submissions load submitted_at into graded_at (a swapped column)",
        (
            Edit(
                "sources/canvas/helpers.py",
                '        row.pop(key, None)\n    row["course_id"] = course_id\n',
                "        row.pop(key, None)\n"
                '    row["course_id"] = course_id\n'
                '    row["graded_at"] = row.get("submitted_at") or row.get("graded_at")\n',
            ),
        ),
        (
            "tests/canvas/test_canvas_values.py::test_every_table_equals_the_sandbox_after_full_and_incremental_runs",
        ),
    ),
)


def tracked_files() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [line for line in out.splitlines() if line and (ROOT / line).is_file()]


def locate(tree: Path, edit: Edit, files: list[str]) -> tuple[str | None, str]:
    """The file holding `edit.original` exactly once (its own, or wherever it moved), and a note."""
    own = tree / edit.file
    if own.is_file() and own.read_text().count(edit.original) == 1:
        return edit.file, ""
    suffix = Path(edit.file).suffix
    holders = [
        f
        for f in files
        if f.endswith(suffix) and (tree / f).read_text(errors="replace").count(edit.original) == 1
    ]
    if len(holders) == 1:
        return holders[0], f"(moved to {holders[0]})"
    where = "nowhere" if not holders else f"in {len(holders)} files"
    return None, f"ANCHOR NOT FOUND: {edit.file}: {edit.original.strip().splitlines()[0][:60]!r} ({where})"


def run_tests(tree: Path, tests: tuple[str, ...], report: Path) -> tuple[int, list[str]]:
    """Run `tests` in `tree`; the exit status and the tests that failed or errored."""
    env = {**os.environ, "RUNTIME__DLTHUB_TELEMETRY": "false", "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONPATH", None)
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-n",
        "0",
        "-q",
        "-p",
        "no:cacheprovider",
        f"--junitxml={report}",
        *tests,
    ]
    done = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True)
    failed: list[str] = []
    if report.exists():
        for case in ET.parse(report).getroot().iter("testcase"):
            if case.find("failure") is not None or case.find("error") is not None:
                module = case.get("classname", "").rsplit(".", 1)[-1]
                failed.append(f"{module}::{case.get('name', '?')}")
    return done.returncode, failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--only", action="append", default=[], help="run only this mutant (repeatable)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary tree (printed)")
    parser.add_argument("--check", action="store_true", help="only check that every anchor is found")
    args = parser.parse_args(argv)
    chosen = [m for m in MUTANTS if not args.only or m.name in args.only]
    unknown = set(args.only) - {m.name for m in MUTANTS}
    if unknown:
        print(f"unknown mutant(s): {', '.join(sorted(unknown))}; see --list", file=sys.stderr)
        return 2
    if args.list:
        for m in MUTANTS:
            print(f"{m.name}: {m.what}")
        return 0

    files = tracked_files()
    if args.check:
        problems = [note for m in chosen for e in m.edits for path, note in [locate(ROOT, e, files)] if note]
        for note in problems:
            print(note)
        print(
            f"{len(chosen)} mutants, {sum(len(m.edits) for m in chosen)} anchors: {len(problems)} moved or missing"
        )
        return 2 if any(n.startswith("ANCHOR NOT FOUND") for n in problems) else 0
    tree = Path(tempfile.mkdtemp(prefix="mutants-"))
    for name in files:
        target = tree / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    # the copy, not the editable install, must be what the tests import
    probe = subprocess.run(
        [sys.executable, "-c", "import sources; print(sources.__file__)"],
        cwd=tree,
        capture_output=True,
        text=True,
    )
    if not probe.stdout.strip().startswith(str(tree)):
        print(f"the copy's packages do not come first on sys.path ({probe.stdout.strip()})", file=sys.stderr)
        return 2

    rows: list[tuple[str, str, str]] = []
    anchors_missing = False
    try:
        baseline_tests = tuple(dict.fromkeys(t for m in chosen for t in m.tests))
        status, failed = run_tests(tree, baseline_tests, tree / "baseline.xml")
        if status != 0:
            print(
                f"the tests fail without any mutant ({', '.join(failed) or f'exit {status}'}); fix that first"
            )
            return 2
        for m in chosen:
            originals: dict[str, str] = {}
            notes: list[str] = []
            for edit in m.edits:
                path, note = locate(tree, edit, files)
                if path is None:
                    notes.append(note)
                    continue
                notes.extend([note] if note else [])
                target = tree / path
                originals.setdefault(path, target.read_text())
                target.write_text(target.read_text().replace(edit.original, edit.replacement, 1))
            if any(n.startswith("ANCHOR NOT FOUND") for n in notes):
                anchors_missing = True
                rows.append((m.name, m.what, "; ".join(notes)))
            else:
                print(f"running {m.name} ...", flush=True)
                status, failed = run_tests(tree, m.tests, tree / f"{m.name}.xml")
                verdict = (
                    ", ".join(failed)
                    if failed
                    else ("SURVIVED" if status == 0 else f"killed (exit {status})")
                )
                rows.append((m.name, m.what, verdict + (" " + " ".join(notes) if notes else "")))
            for path, text in originals.items():
                (tree / path).write_text(text)
    finally:
        if args.keep:
            print(f"tree kept at {tree}")
        else:
            shutil.rmtree(tree, ignore_errors=True)

    print()
    print("| mutant | planted bug | killed by |")
    print("|---|---|---|")
    for name, what, verdict in rows:
        print(f"| {name} | {what} | {verdict} |")
    survived = [name for name, _, verdict in rows if verdict.startswith("SURVIVED")]
    return 2 if anchors_missing else 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
