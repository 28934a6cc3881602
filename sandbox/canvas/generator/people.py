"""Accounts, terms and users, and the shuffled cycle students are enrolled from."""

from __future__ import annotations

import math

from ..catalog import COLLEGES, FIRST_NAMES, LAST_NAMES
from ..institution import TERMS
from ..model import Account, Term, User
from ..timestamps import DAY, HOUR, epoch
from .seeded import GeneratorPart


class PeopleGenerator(GeneratorPart):
    """The account tree, the terms, and every user (staff, students, observers) with their ability."""

    leaves: list[tuple[Account, tuple]]
    teachers: list[User]
    tas: list[User]
    designers: list[User]
    observers: list[User]
    students: list[User]
    abilities: dict[int, float]
    student_cycle: list[User]
    cycle_pos: int

    def build_accounts(self) -> list[Account]:
        """Root, colleges and (for medium/large) departments; returns the leaf accounts."""
        inst, spec = self.inst, self.spec
        created = epoch(2019, 7, 1, 15)
        root = Account(
            self.next_id("account"), "Sandbox State University", None, None, None, self.token(40), created
        )
        inst.accounts.append(root)
        leaves: list[tuple[Account, tuple]] = []
        for c_idx, college in enumerate(COLLEGES[: spec.colleges]):
            acc = Account(
                self.next_id("account"),
                college.name,
                root.id,
                root.id,
                f"COL-{college.code}",
                self.token(40),
                created + (c_idx + 1) * DAY,
            )
            inst.accounts.append(acc)
            if spec.departments_per_college == 0:
                leaves.append((acc, college.departments))
                continue
            for d_idx, dept in enumerate(college.departments[: spec.departments_per_college]):
                sub = Account(
                    self.next_id("account"),
                    f"Department of {dept.name}",
                    acc.id,
                    root.id,
                    f"DEPT-{dept.subject}",
                    self.token(40),
                    created + (c_idx + 1) * DAY + (d_idx + 1) * HOUR,
                )
                inst.accounts.append(sub)
                leaves.append((sub, (dept,)))
        self.leaves = leaves
        return [leaf for leaf, _ in leaves]

    def build_terms(self) -> None:
        inst = self.inst
        inst.terms.append(Term(self.next_id("term"), "Default Term", None, None, None, epoch(2019, 7, 1, 15)))
        for name, sis, start, end in TERMS:
            inst.terms.append(Term(self.next_id("term"), name, sis, start, end, start - 120 * DAY))

    def make_user(self, first: str, last: str, sis: str | None, domain: str, created: int) -> User:
        uid = self.next_id("user")
        login = f"{first[0]}{last}{uid % 100_000:05d}".lower()
        integration = f"INT-{uid}" if sis and self.rng.random() < 0.03 else None
        last_login = self.between(self.now - 20 * DAY, self.now - 60) if self.rng.random() < 0.9 else None
        user = User(
            uid,
            f"{first} {last}",
            f"{last}, {first}",
            f"{first} {last}",
            sis,
            integration,
            login,
            f"{login}@{domain}",
            created,
            last_login,
        )
        self.inst.users.append(user)
        return user

    def build_users(self) -> None:
        rng, spec = self.rng, self.spec
        early, late = epoch(2024, 5, 1), epoch(2025, 12, 1)

        def name() -> tuple[str, str]:
            return rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)

        admin = self.make_user("Sandbox", "Admin", None, "sandbox.test", epoch(2019, 7, 1, 16))
        api = self.make_user("Integration", "Tester", None, "sandbox.test", epoch(2024, 1, 8, 16))
        self.inst.admin_user_id, self.inst.api_user_id = admin.id, api.id
        self.teachers = [
            self.make_user(*name(), f"T{100_000 + i:06d}", "faculty.sandbox.test", rng.randint(early, late))
            for i in range(spec.teachers)
        ]
        self.tas = [
            self.make_user(
                *name(), f"S{9_000_000 + i:07d}", "students.sandbox.test", rng.randint(early, late)
            )
            for i in range(max(2, spec.courses // 3))
        ]
        self.designers = [
            self.make_user(*name(), f"E{200_000 + i:06d}", "staff.sandbox.test", rng.randint(early, late))
            for i in range(max(1, spec.courses // 20))
        ]
        self.observers = [
            self.make_user(*name(), None, "parents.sandbox.test", rng.randint(early, late))
            for _ in range(max(2, spec.students // 50))
        ]
        self.students = []
        for i in range(spec.students):
            sis = f"S{1_000 + i * 7:07d}" if rng.random() >= 0.02 else None  # a few without SIS id
            self.students.append(
                self.make_user(*name(), sis, "students.sandbox.test", rng.randint(early, late))
            )
        self.abilities = {u.id: 0.55 + 0.45 * math.sqrt(rng.random()) for u in self.students}
        order = self.students[:]
        rng.shuffle(order)
        self.student_cycle = order
        self.cycle_pos = 0

    # -- courses ------------------------------------------------------------------------------
    def pick_students(self, k: int) -> list[User]:
        """The next k distinct students from a shuffled cycle (so nearly everyone is enrolled)."""
        picked: dict[int, User] = {}
        n = len(self.student_cycle)
        while len(picked) < min(k, n):
            user = self.student_cycle[self.cycle_pos % n]
            self.cycle_pos += 1
            picked.setdefault(user.id, user)
        return list(picked.values())
