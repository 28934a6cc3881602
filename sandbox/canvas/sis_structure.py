"""SIS rows for the account tree, terms, courses and sections."""

from __future__ import annotations

import hashlib

from .model import Account, Course, Section, Term
from .sis_rows import SisRows


class StructureRows(SisRows):
    """Creates, updates and deletes accounts, terms, courses and sections from SIS rows."""

    def _account(self, name: str, row: dict[str, str]) -> None:
        sis = row.get("account_id", "")
        if not sis:
            self.warn(name, "No account_id given for an account")
            return
        status = self._status(name, "account", row, f"account {sis}")
        if status is None:
            return
        parent = self.inst.root
        if row.get("parent_account_id"):
            found = self._account_by_sis(row["parent_account_id"])
            if found is None:
                self.warn(name, f"Parent account didn't exist for {sis}")
                return
            parent = found
        account = self._account_by_sis(sis)
        if account is None:
            if not row.get("name"):
                self.warn(name, f"No name given for account {sis}, skipping")
                return
            token = hashlib.sha1(f"account:{sis}".encode()).hexdigest()
            account = Account(
                self.ids.next("account"), row["name"], parent.id, self.inst.root.id, sis, token, self.now
            )
            self.inst.accounts.append(account)
            self.stats["Account"]["created"] += 1
            self.reindex = True
        else:
            if row.get("name"):
                account.name = row["name"]
            if account.parent_account_id != parent.id and account.id != self.inst.root.id:
                account.parent_account_id = parent.id
                self.reindex = True
        self.sis_touched.add(("account", account.id))
        self.counts["accounts"] += 1

    def _term(self, name: str, row: dict[str, str]) -> None:
        sis = row.get("term_id", "")
        if not sis:
            self.warn(name, "No term_id given for a term")
            return
        status = self._status(name, "term", row, f"term {sis}")
        if status is None:
            return
        start, end, _ = self._dates(name, row, f"term {sis}")
        term = self._term_by_sis(sis)
        if term is None:
            if not row.get("name"):
                self.warn(name, f"No name given for term {sis}, skipping")
                return
            term = Term(self.ids.next("term"), row["name"], sis, start, end, self.now)
            self.inst.terms.append(term)
            self.stats["EnrollmentTerm"]["created"] += 1
            self.reindex = True
        else:
            term.name = row.get("name") or term.name
            term.start_at, term.end_at = (
                start if start is not None else term.start_at,
                end if end is not None else term.end_at,
            )
        self.sis_touched.add(("term", term.id))
        self.counts["terms"] += 1

    def _course(self, name: str, row: dict[str, str]) -> None:
        inst = self.inst
        sis = row.get("course_id", "")
        if not sis:
            self.warn(name, "No course_id given for a course")
            return
        status = self._status(name, "course", row, f"course {sis}")
        if status is None:
            return
        account = inst.root
        if row.get("account_id"):
            found = self._account_by_sis(row["account_id"])
            if found is None:
                self.warn(name, f'Account not found "{row["account_id"]}" for course {sis}')
            else:
                account = found
        term = inst.terms[0]
        if row.get("term_id"):
            term = self._term_by_sis(row["term_id"]) or term
        start, end, _ = self._dates(name, row, f"course {sis}")
        course = inst.courses_by_sis.get(sis)
        if course is None:
            if not row.get("short_name"):
                self.warn(name, f"No short_name given for course {sis}, skipping")
                return
            if not row.get("long_name"):
                self.warn(name, f"No long_name given for course {sis}, skipping")
                return
            state = {"active": "unpublished", "published": "available"}.get(status, status)
            cid = self.ids.next("course")
            course = Course(
                id=cid,
                name=row["long_name"],
                course_code=row["short_name"],
                sis_course_id=sis,
                integration_id=row.get("integration_id") or None,
                account_id=account.id,
                enrollment_term_id=term.id,
                workflow_state=state,
                start_at=start,
                end_at=end,
                created_at=self.now,
                apply_assignment_group_weights=False,
                default_view="modules",
                is_public=False,
                uuid=hashlib.sha1(f"course:{cid}".encode()).hexdigest(),
                late_policy_pct=0.0,
                missing_policy_pct=None,
            )
            inst.courses.append(course)
            inst.courses_by_sis[sis] = course
            inst.courses_by_id[cid] = course
            self.stats["Course"]["created"] += 1
            self.reindex = True
        else:
            course.name = row.get("long_name") or course.name
            course.course_code = row.get("short_name") or course.course_code
            if row.get("account_id") and course.account_id != account.id:
                course.account_id = account.id
                self.reindex = True
            if row.get("term_id"):
                course.enrollment_term_id = term.id
            if start is not None:
                course.start_at = start
            if end is not None:
                course.end_at = end
            before = course.workflow_state
            if status == "active":
                if before == "deleted":
                    course.workflow_state = "unpublished"
                    self.stats["Course"]["restored"] += 1
                elif before == "completed":
                    course.workflow_state = "available"
                    self.stats["Course"]["restored"] += 1
            elif status == "published" and before != "available":
                course.workflow_state = "available"
            elif status == "completed" and before != "completed":
                course.workflow_state = "completed"
                self.stats["Course"]["concluded"] += 1
            elif status == "deleted" and before != "deleted":
                course.workflow_state = "deleted"
                self.stats["Course"]["deleted"] += 1
        self.supplied_ids["course"].add(course.id)
        self.sis_touched.add(("course", course.id))
        self.counts["courses"] += 1

    def _section(self, name: str, row: dict[str, str]) -> None:
        inst = self.inst
        sis = row.get("section_id", "")
        if not sis:
            self.warn(name, "No section_id given for a section")
            return
        if not row.get("course_id"):
            self.warn(name, f"No course_id given for a section {sis}")
            return
        status = self._status(name, "section", row, f"section {sis}")
        if status is None:
            return
        course = inst.courses_by_sis.get(row["course_id"])
        if course is None:
            self.warn(name, f"Section {sis} references course {row['course_id']} which doesn't exist")
            return
        start, end, _ = self._dates(name, row, f"section {sis}")
        found = self._section_by_sis(sis)
        if status == "deleted":
            if found is not None:
                self._delete_section(*found)
            self.counts["sections"] += 1
            return
        if found is None:
            if not row.get("name"):
                self.warn(name, f"No name given for section {sis} in course {row['course_id']}")
                return
            section = Section(
                self.ids.next("section"),
                course.id,
                row["name"],
                sis,
                row.get("integration_id") or None,
                start,
                end,
                self.now,
            )
            course.sections.append(section)
            inst.sections_by_id[section.id] = (course, section)
            inst.sections_by_sis[sis] = section.id
            self.stats["CourseSection"]["created"] += 1
        else:
            section = found[1]
            section.name = row.get("name") or section.name
            if start is not None:
                section.start_at = start
            if end is not None:
                section.end_at = end
        self.supplied_ids["section"].add(section.id)
        self.sis_touched.add(("section", section.id))
        self.counts["sections"] += 1

    def _delete_section(self, course: Course, section: Section) -> None:
        """A deleted section leaves the course, and its enrollments are deleted with it."""
        for e in course.enrollments:
            if e.section.id == section.id and e.state != "deleted":
                e.state = "deleted"
                e.updated_at = self.now
        course.sections = [s for s in course.sections if s.id != section.id]
        self.stats["CourseSection"]["deleted"] += 1
        self.reindex = True
