"""The benchmark's printed table: one row per measure, a over b and their ratio."""

from __future__ import annotations

HEADER = ["lms", "size", "measure", "a", "b", "a/b", "detail"]


def ratio_row(
    lms: str, size: str, measure: str, a: float, b: float, detail: str, unit: str = "s"
) -> list[str]:
    """A row comparing `a` with `b` (seconds unless `unit` says otherwise)."""
    ratio = a / b if b else float("nan")
    fmt = "{:.2f} s" if unit == "s" else "{:.0f} " + unit
    return [lms, size, measure, fmt.format(a), fmt.format(b), f"{ratio:.2f}", detail]


def render(rows: list[list[str]]) -> str:
    """The rows as an aligned plain-text table with a header."""
    widths = [max(len(r[i]) for r in [HEADER, *rows]) for i in range(len(HEADER))]
    lines = [HEADER, ["-" * w for w in widths], *rows]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in lines)
