"""What applying SIS rows shares: the run's counts, statistics and messages, and finding objects by
SIS id. The appliers per kind are in sis_structure.py and sis_people.py."""

from __future__ import annotations

from collections import Counter, defaultdict

from .institution import Institution
from .jobs import IdAllocator
from .model import Account, Course, Section, Term, User
from .sis_csv import COUNT_KEYS, STATUSES, parse_date, truthy


class SisRows:
    """The state one import's rows change, and the checks every kind of row makes."""

    def __init__(
        self,
        inst: Institution,
        ids: IdAllocator,
        params: dict[str, str],
        user_status: dict[int, str],
        sis_touched: set[tuple[str, int]],
    ) -> None:
        self.inst = inst
        self.ids = ids
        self.user_status = user_status
        self.sis_touched = sis_touched
        self.now = inst.clock
        self.counts: Counter[str] = Counter({k: 0 for k in COUNT_KEYS})
        self.stats: dict[str, Counter[str]] = defaultdict(Counter)
        self.warnings: list[list[str]] = []
        self.errors: list[list[str]] = []
        self.reindex = False
        self.skip_deletes = truthy(params.get("skip_deletes"))
        self.supplied_ids: dict[str, set[int]] = defaultdict(set)

    def warn(self, name: str, message: str) -> None:
        self.warnings.append([name, message])

    # ---- lookups -------------------------------------------------------------------------------
    def _user_by_sis(self, sis: str) -> User | None:
        return next((u for u in self.inst.users if u.sis_user_id == sis), None)

    def _user_by_integration(self, integration: str) -> User | None:
        return next((u for u in self.inst.users if u.integration_id == integration), None)

    def _account_by_sis(self, sis: str) -> Account | None:
        return next((a for a in self.inst.accounts if a.sis_account_id == sis), None)

    def _term_by_sis(self, sis: str) -> Term | None:
        return next((t for t in self.inst.terms if t.sis_term_id == sis), None)

    def _section_by_sis(self, sis: str) -> tuple[Course, Section] | None:
        for c in self.inst.courses:
            for s in c.sections:
                if s.sis_section_id == sis:
                    return c, s
        return None

    def _status(self, name: str, kind: str, row: dict[str, str], label: str) -> str | None:
        status = row.get("status", "").lower()
        if status not in STATUSES[kind]:
            self.warn(name, f'Improper status "{row.get("status", "")}" for {label}, skipping')
            return None
        if self.skip_deletes and status.startswith("deleted"):
            return None
        return status

    def _dates(self, name: str, row: dict[str, str], label: str) -> tuple[int | None, int | None, bool]:
        out: list[int | None] = []
        ok = True
        for col in ("start_date", "end_date"):
            raw = row.get(col, "")
            if not raw:
                out.append(None)
                continue
            try:
                out.append(parse_date(raw))
            except ValueError:
                self.warn(name, f"Bad date format for {label}")
                out.append(None)
                ok = False
        return out[0], out[1], ok

    def _count_change(self, cls: str, before: str | None, after: str, created: bool) -> None:
        if created:
            self.stats[cls]["created"] += 1
        elif before != after:
            label = {"completed": "concluded", "inactive": "deactivated", "deleted": "deleted"}.get(
                after, "restored"
            )
            self.stats[cls][label] += 1
