"""SIS rows for users and enrollments."""

from __future__ import annotations

from .enrollment_writes import default_section, enroll_user
from .model import User
from .sis_csv import ROLE_TYPES, truthy
from .sis_rows import SisRows


class PeopleRows(SisRows):
    """Creates, updates and removes users and enrollments from SIS rows."""

    def _user(self, name: str, row: dict[str, str]) -> None:
        inst = self.inst
        sis = row.get("user_id", "")
        if not sis:
            self.warn(name, "No user_id given for a user")
            return
        login = row.get("login_id", "").lower()
        if not login:
            self.warn(name, f"No login_id given for user {sis}, skipping")
            return
        status = self._status(name, "user", row, f"user {sis}")
        if status is None:
            return
        user = self._user_by_sis(sis)
        holder = next((u for u in inst.users if u.login_id == login), None)
        if holder is not None and holder is not user:
            self.warn(
                name,
                f"user {holder.sis_user_id or holder.id} has already claimed {sis}'s requested login information, skipping",
            )
            return
        first, last = row.get("first_name", ""), row.get("last_name", "")
        full = row.get("full_name") or " ".join(p for p in (first, last) if p)
        sortable = row.get("sortable_name") or (f"{last}, {first}" if last and first else full)
        short = row.get("short_name") or full
        if user is None:
            if status == "deleted":
                self.counts["users"] += 1
                return
            if not full:
                full = sortable = short = login
            email = row.get("email") or f"{login}@sis.sandbox.test"
            user = User(
                self.ids.next("user"),
                full,
                sortable,
                short,
                sis,
                row.get("integration_id") or None,
                login,
                email,
                self.now,
                None,
            )
            inst.users.append(user)
            inst.users_by_id[user.id] = user
            self.stats["Pseudonym"]["created"] += 1
            self.reindex = True
        else:
            if full:
                user.name, user.sortable_name, user.short_name = full, sortable, short
                self.reindex = True
            user.login_id = login
            if row.get("email"):
                user.email = row["email"]
            if row.get("integration_id"):
                user.integration_id = row["integration_id"]
        previous = self.user_status.get(user.id, "active")
        if status != previous:
            self.user_status[user.id] = status
            if status == "deleted":
                # removing the login removes the user's enrollments in this root account
                for c in inst.courses:
                    for e in c.enrollments:
                        if e.user.id == user.id and e.state != "deleted":
                            e.state, e.updated_at = "deleted", self.now
                self.stats["Pseudonym"]["deleted"] += 1
            elif previous == "deleted":
                self.stats["Pseudonym"]["restored"] += 1
        self.sis_touched.add(("user", user.id))
        self.counts["users"] += 1

    def _enrollment(self, name: str, row: dict[str, str]) -> None:
        inst = self.inst
        course_sis, section_sis = row.get("course_id", ""), row.get("section_id", "")
        user_sis, user_int = row.get("user_id", ""), row.get("user_integration_id", "")
        role = row.get("role", "").lower()
        where = f"(User ID: {user_sis or user_int}, Course ID: {course_sis}, Section ID: {section_sis}, Role: {role})"
        if not course_sis and not section_sis:
            self.warn(name, "No course_id or section_id given for an enrollment")
            return
        if not user_sis and not user_int:
            self.warn(name, "No user_id given for an enrollment")
            return
        status = self._status(name, "enrollment", row, "an enrollment")
        if status is None:
            return
        etype = ROLE_TYPES.get(role)
        if etype is None:
            self.warn(name, f'Improper role "{row.get("role", "")}" for an enrollment')
            return
        course = inst.courses_by_sis.get(course_sis) if course_sis else None
        found = self._section_by_sis(section_sis) if section_sis else None
        section = found[1] if found else None
        if course is None and found is None:
            self.warn(name, f"Neither course nor section existed for user enrollment {where}")
            return
        if section_sis and found is None:
            self.warn(name, f"An enrollment referenced a non-existent section {section_sis}")
            return
        if course is not None and found is not None and found[0] is not course:
            self.warn(
                name,
                f"An enrollment listed a section ({section_sis}) and a course ({course_sis}) that are unrelated for user ({user_sis})",
            )
            return
        course = course or found[0]  # type: ignore[index]
        user = self._user_by_sis(user_sis) if user_sis else self._user_by_integration(user_int)
        if user is None:
            self.warn(name, f"User not found for enrollment {where}")
            return
        associated = None
        if row.get("associated_user_id"):
            observed = self._user_by_sis(row["associated_user_id"])
            associated = observed.id if observed else None
        state = {"deleted_last_completed": "deleted"}.get(status, status)
        target = section or default_section(inst, self.ids, course, self.now)
        existing = next(
            (
                e
                for e in course.enrollments
                if e.user.id == user.id
                and e.type == etype
                and e.section.id == target.id
                and e.associated_user_id == associated
            ),
            None,
        )
        if existing is None and state == "deleted":
            self.counts["enrollments"] += 1
            return
        before = existing.state if existing else None
        limit = row.get("limit_section_privileges")
        enrollment, created = enroll_user(
            inst,
            self.ids,
            course,
            target,
            user,
            etype,
            state,
            self.now,
            associated_user_id=associated,
            limit_privileges=truthy(limit) if limit else None,
        )
        self._count_change("Enrollment", before, enrollment.state, created)
        self.supplied_ids["enrollment"].add(enrollment.id)
        self.sis_touched.add(("enrollment", enrollment.id))
        self.counts["enrollments"] += 1
